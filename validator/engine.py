"""Engines run the rule catalogue over one order at a time.

Both engines take the same shapes. ``OxigraphEngine`` is the one the command
uses: the knowledge base is loaded into an Oxigraph store once, and each
SHACL-SPARQL query runs once per order with ``$this`` left free, instead of
once per focus node as SHACL's definition (and pyshacl) does. That is the
same answer as long as the shapes keep the house rule written at the top of
shapes/derivations.ttl; ``PyshaclEngine`` evaluates by the book and
tests/test_engine_parity.py holds the two to the same findings.
"""

from __future__ import annotations

import re
from typing import Protocol

import pyoxigraph as ox
from rdflib import RDF, BNode, Graph, Literal, URIRef

from .findings import Finding
from .knowledge import KnowledgeBase
from .rules import Catalogue, Rule
from .vocabulary import SH

_KB_GRAPH = ox.NamedNode("urn:protovalidate:graph:knowledge-base")
_ORDER_GRAPH = ox.NamedNode("urn:protovalidate:graph:order")
_PLACEHOLDER = re.compile(r"\{[?$](\w+)\}")


class Engine(Protocol):
    def check(self, order: Graph) -> list[Finding]:
        """The findings of every rule on one order (its triples only)."""


class OxigraphEngine:
    def __init__(self, kb: KnowledgeBase, catalogue: Catalogue):
        self.kb = kb
        self.catalogue = catalogue
        self.store = ox.Store()
        # Loaded in a fixed order: GROUP_CONCAT lists follow the store's order,
        # and the same order must give the same report, byte for byte.
        self.store.bulk_extend(ox.Quad(*map(_to_ox, triple), _KB_GRAPH) for triple in sorted(kb.graph))

    def check(self, order: Graph) -> list[Finding]:
        self.store.extend([ox.Quad(*map(_to_ox, triple), _ORDER_GRAPH) for triple in sorted(order)])
        try:
            for derivation in self.catalogue.derivations:
                derived = list(self._query(derivation.construct))
                self.store.extend([ox.Quad(t.subject, t.predicate, t.object, _ORDER_GRAPH) for t in derived])
            findings = []
            targets: dict = {}  # many rules share their targets: select each set once
            for rule in self.catalogue.rules:
                if rule.targets not in targets:
                    targets[rule.targets] = {row["this"] for row in self._query(rule.targets.sparql())}
                focus_nodes = targets[rule.targets]
                if not focus_nodes:
                    continue
                for constraint in rule.constraints:
                    solutions = self._query(constraint.select)
                    names = [v.value for v in solutions.variables]
                    for row in solutions:
                        if row["this"] in focus_nodes:
                            values = {name: _text(row[name]) for name in names if row[name] is not None}
                            findings.append(_finding(self.kb, rule, constraint.message, values,
                                                     focus=values["this"]))
            return _unique(findings)
        finally:
            self.store.clear_graph(_ORDER_GRAPH)

    def _query(self, sparql: str):
        return self.store.query(sparql, use_default_graph_as_union=True)


class PyshaclEngine:
    """The reference: pyshacl over the same shapes, one call per order.

    pyshacl hands rdflib each SHACL-SPARQL query as text once per focus node,
    and rdflib parses it anew every time: 80 % of a call. Parsing is pure, so
    this engine memoises rdflib's parse-and-translate step; what is evaluated,
    and so every verdict, stays pyshacl's.
    """

    def __init__(self, kb: KnowledgeBase, catalogue: Catalogue):
        self.kb = kb
        self.catalogue = catalogue
        _memoise_rdflib_query_translation()

    def check(self, order: Graph) -> list[Finding]:
        import pyshacl  # imported here: only tests and benchmarks use this engine

        data = Graph()
        for triple in self.kb.graph:
            data.add(triple)
        for triple in order:
            data.add(triple)
        _, report, _ = pyshacl.validate(data, shacl_graph=self.kb.shapes, advanced=True,
                                        inference="none", allow_warnings=True)
        findings = []
        for result in report.subjects(RDF.type, SH.ValidationResult):
            rule = self.catalogue.rule(str(report.value(result, SH.sourceShape)))
            value = report.value(result, SH.value)
            findings.append(_finding(
                self.kb, rule, None,
                {"value": _text(value)} if value is not None else {},
                focus=_text(report.value(result, SH.focusNode)),
                message=str(report.value(result, SH.resultMessage) or "")))
        return _unique(findings)


def _memoise_rdflib_query_translation() -> None:
    from rdflib.plugins.sparql import processor

    if getattr(processor, "_protovalidate_memoised", False):
        return
    translated: dict = {}
    original_query = processor.SPARQLProcessor.query

    def query(self, strOrQuery, initBindings=None, initNs=None, base=None, DEBUG=False):
        if isinstance(strOrQuery, str):
            key = (strOrQuery, base, tuple(sorted((initNs or {}).items())))
            if key not in translated:
                translated[key] = processor.translateQuery(processor.parseQuery(strOrQuery), base, initNs)
            strOrQuery = translated[key]
        return original_query(self, strOrQuery, initBindings, initNs, base, DEBUG)

    processor.SPARQLProcessor.query = query
    processor._protovalidate_memoised = True


def _finding(kb: KnowledgeBase, rule: Rule, template: str | None, row: dict[str, str],
             focus: str, message: str | None = None) -> Finding:
    if message is None:
        message = _PLACEHOLDER.sub(lambda m: row.get(m.group(1), ""), template or "")
    return Finding(
        rule_id=rule.rule_id, severity=rule.severity, message=message,
        source=kb.source(row.get("source") or rule.source),
        agent=row.get("agentId"), cycle=_integer(row.get("cycle")), day=_integer(row.get("day")),
        value=row.get("value"), focus=focus, key=row.get("key"))


def _unique(findings: list[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))


def _integer(text: str | None) -> int | None:
    try:
        return int(float(text)) if text is not None else None
    except ValueError:
        return None


def _text(term) -> str | None:
    """A term as a message shows it: numbers in their shortest form."""
    if term is None:
        return None
    if isinstance(term, (ox.Literal, Literal)):
        datatype = str(term.datatype.value if isinstance(term, ox.Literal) else term.datatype or "")
        lexical = term.value if isinstance(term, ox.Literal) else str(term)
        if datatype.endswith(("#double", "#float", "#decimal", "#integer")):
            try:
                return f"{float(lexical):.10g}"
            except ValueError:
                return lexical
        return lexical
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, BNode):
        return f"_:{term}"
    if isinstance(term, ox.NamedNode):
        return term.value
    return str(term)


def _to_ox(term):
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")
