"""Engines run the rule catalogue over orders, each judged on its own triples.

Both engines take the same shapes. ``OxigraphEngine`` is the one the command
uses: the knowledge base is loaded once, and each SHACL-SPARQL query runs once
per batch of orders with ``$this`` left free, instead of once per focus node
as SHACL's definition (and pyshacl) does. That is the
same answer as long as the shapes keep the house rule written at the top of
shapes/derivations.ttl; ``PyshaclEngine`` evaluates by the book and
tests/test_engine_parity.py holds the two to the same findings. A shape that
does not promise the house rule (no pv:ruleId) is evaluated by the book here
too: once per focus node, $this pre-bound (tests/test_w3c_shacl.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator, Protocol, Sequence

import pyoxigraph as ox
from rdflib import RDF, BNode, Graph, URIRef

from chemo_protovalidate.check.knowledge import KnowledgeBase
from chemo_protovalidate.check.rules import Catalogue, Rule
from chemo_protovalidate.model.findings import ExpectedDose, Finding
from chemo_protovalidate.model.terms import text as _text, to_ox as _to_ox, to_rdflib
from chemo_protovalidate.model.vocabulary import SH

_KB_GRAPH = ox.NamedNode("urn:protovalidate:graph:knowledge-base")
_ORDER_GRAPH = ox.NamedNode("urn:protovalidate:graph:order")
_PLACEHOLDER = re.compile(r"\{[?$](\w+)\}")
BLANK_VALUE = "an object"
# Orders per batch: enough that parsing the queries costs little per order (bench/bench_speed.py).
BATCH_SIZE = 64


Triples = Iterable[tuple]
"""An order: its triples, as an rdflib Graph or as a list of (subject, predicate, object) Oxigraph terms."""


class Engine(Protocol):
    def check(self, order: Triples) -> list[Finding]:
        """The findings of every rule on one order (its triples only)."""

    def check_many(self, orders: Sequence[Triples]) -> list[list[Finding]]:
        """The findings of each order, each judged on its own triples only, as ``check`` would give them."""


class OxigraphEngine:
    """Runs many orders per query: the queries cost as much to parse as to run on one order.

    Orders checked together share one store, so they must not see each other: each order's own
    nodes (its IRIs and blank nodes) are renamed apart for the run, and named back in what it
    reports. An order that speaks of a knowledge-base node (says something about pv:KRd, say)
    or puts a literal where a rule expects a node could reach the others through it: it is
    checked alone. Each finding goes to the order its focus node belongs to. A batch costs in
    proportion to its orders only while each query starts from the focus node: the house rule
    in shapes/derivations.ttl keeps it so, and bench/bench_speed.py measures it.
    """

    def __init__(self, kb: KnowledgeBase, catalogue: Catalogue, batch_size: int = BATCH_SIZE):
        self.kb = kb
        self.catalogue = catalogue
        self.batch_size = batch_size
        knowledge = ox.Store()
        knowledge.load(kb.ntriples.encode(), ox.RdfFormat.N_TRIPLES, to_graph=_KB_GRAPH)
        # Each batch gets a new store: one store emptied and filled again grows slower with every batch
        # (Oxigraph keeps what was removed), 60 % slower after ten batches. Copying the knowledge base in
        # costs about 2 ms a batch.
        self._kb_quads = list(knowledge)
        self._kb_nodes = frozenset(q.subject for q in self._kb_quads
                                   if isinstance(q.subject, ox.NamedNode))
        self._node_predicates = frozenset(ox.NamedNode(p) for rule in catalogue.rules
                                          for p in rule.targets.objects_of)
        self._lists = {c.select: _concatenated(c.select) for rule in catalogue.rules for c in rule.constraints}
        # The derivations run inside the store: their CONSTRUCTs as SPARQL INSERTs into the orders' graph.
        self._inserts = [_as_insert(d.construct) for d in catalogue.derivations]
        self._prebinding = {c.select: _for_prebinding(c.select) for rule in catalogue.rules if rule.prebound
                            for c in rule.constraints}
        self.result_terms: dict[Finding, set[tuple]] | None = None
        """Set to a dict to have each finding's (focus, ?path, value) RDF terms, as the store holds them, and
        the last batch's store in ``result_store`` (tests, one thread)."""
        self.result_store: ox.Store | None = None

    def check(self, order: Triples) -> list[Finding]:
        return self.check_many([order])[0]

    def check_many(self, orders: Sequence[Triples]) -> list[list[Finding]]:
        prepared = [self._prepare(order) for order in orders]
        findings: list[list[Finding]] = [[] for _ in orders]
        # A shape that does not promise the house rule may read the whole store: each order alone then.
        size = 1 if any(rule.prebound for rule in self.catalogue.rules) else self.batch_size
        for batch in _batches(list(enumerate(prepared)), size):
            for index, found in zip([i for i, _ in batch], self._run([p for _, p in batch])):
                findings[index] = found
        return findings

    def _prepare(self, order: Triples) -> "_Prepared":
        # A list holds Oxigraph terms already (documents.py); anything else (an rdflib Graph) is converted.
        triples = order if isinstance(order, list) else [tuple(map(_to_ox, triple)) for triple in order]
        own, alone = set(), False
        kb_nodes, node_predicates = self._kb_nodes, self._node_predicates
        for subject, predicate, obj in triples:
            if subject in kb_nodes:
                alone = True
            else:
                own.add(subject)
            if isinstance(obj, ox.Literal):
                alone = alone or predicate in node_predicates
            elif predicate != _TYPE:
                if obj in kb_nodes:
                    alone = True
                else:
                    own.add(obj)
        return _Prepared(triples, frozenset(own), alone)

    def _run(self, batch: list["_Prepared"]) -> list[list[Finding]]:
        owner, original, aliases = {}, {}, {}
        quads = []
        for index, order in enumerate(batch):
            renamed = {node: _renamed(node, index) for node in order.own}
            owner.update((new, index) for new in renamed.values())
            original.update((new, _text(node)) for node, new in renamed.items())
            for node, new in renamed.items():
                aliases.setdefault(node, []).append(new)
            quads += [ox.Quad(renamed.get(s, s), p, renamed.get(o, o), _ORDER_GRAPH) for s, p, o in order.triples]
        # The batch's own store: one Pipeline (and its engine) may check from several threads at once.
        store = ox.Store()
        store.extend(self._kb_quads)
        store.extend(quads)
        for insert in self._inserts:
            store.update(insert)
        if self.result_terms is not None:
            self.result_store = store
        findings: list[list[Finding]] = [[] for _ in batch]
        targets = _TargetSets(store, aliases)
        for rule in self.catalogue.rules:
            for constraint in rule.constraints:
                for focus, row in self._solutions(store, rule, constraint, targets):
                    values = {name: _shown(name, term, original) for name, term in row.items()}
                    for name, separator in self._lists.get(constraint.select, ()):
                        if name in values:
                            values[name] = separator.join(sorted(values[name].split(separator), key=_natural))
                    # SHACL 5.3.2: sh:resultPath from ?path when it is an IRI.
                    path = values.get("path") if isinstance(row.get("path"), ox.NamedNode) else None
                    finding = _finding(self.kb, rule, constraint.message, values, path=path,
                                       focus=original.get(focus) or _unbatched(_text(focus)))
                    if self.result_terms is not None:
                        self.result_terms.setdefault(finding, set()).add(
                            (focus, row.get("path"), row.get("value", focus if rule.prebound else None)))
                    # A focus no order owns (a knowledge-base node) concerns each order alike.
                    for i in [owner[focus]] if focus in owner else range(len(batch)):
                        findings[i].append(finding)
        return [_unique(found) for found in findings]

    def _solutions(self, store: ox.Store, rule: Rule, constraint, targets: "_TargetSets") -> Iterator[tuple]:
        """(focus node, {variable: term}) of each solution of a constraint on a focus node of its rule.

        A rule with a pv:ruleId keeps the house rule: its query runs once, $this free, and its
        solutions are kept for the focus nodes of the rule's targets. Any other shape is evaluated by
        SHACL's definition: once per focus node, $this pre-bound (SEP-0007 substitution).
        """
        if rule.prebound:
            for focus in sorted(targets.of(rule), key=str):
                solutions = _query(store, self._prebinding[constraint.select], this=focus)
                names = [v.value for v in solutions.variables]
                for row in solutions:
                    yield focus, _bound(row, names)
            return
        solutions = _query(store, constraint.select)
        names = [v.value for v in solutions.variables]
        for row in solutions:
            focus = row["this"]
            if focus in targets.of(rule):
                yield focus, _bound(row, names)


def _query(store: ox.Store, sparql: str, **substitutions):
    return store.query(sparql, use_default_graph_as_union=True,
                       substitutions={ox.Variable(k): v for k, v in substitutions.items()} or None)


class _TargetSets:
    """The focus nodes of each rule's targets in one batch: each set selected once, and only when asked for."""

    def __init__(self, store: ox.Store, aliases: dict):
        self.store, self.aliases, self.sets = store, aliases, {}

    def of(self, rule: Rule) -> set:
        targets = rule.targets
        if targets not in self.sets:
            found = set()
            if targets.sparql():
                found.update(row["this"] for row in _query(self.store, targets.sparql()))
            if targets.node_sparql():
                # A target node that is an order's own node has been renamed apart in each order naming it.
                for row in _query(self.store, targets.node_sparql()):
                    found.update(self.aliases.get(row["this"], [row["this"]]))
            self.sets[targets] = found
        return self.sets[targets]


# pyoxigraph 0.5's substitution misses two forms SEP-0007 (and SHACL's pre-binding) define: BOUND($this) is
# false, and an expression that is $this alone, as in BIND ($this AS ?x), leaves ?x unbound. Written
# otherwise, they mean the same for a pre-bound $this; the W3C tests pre-binding-003 to -005 need them.
_BOUND_THIS = re.compile(r"\bBOUND\s*\(\s*[?$]this\s*\)", re.IGNORECASE)
_BARE_THIS = re.compile(r"\(\s*[?$]this\s+AS\b", re.IGNORECASE)


def _for_prebinding(select: str) -> str:
    return _BARE_THIS.sub('(COALESCE($this, "pre-bound") AS', _BOUND_THIS.sub("(true)", select))


def _bound(row, names: list[str]) -> dict:
    return {name: row[name] for name in names if row[name] is not None}


@dataclass(frozen=True)
class _Prepared:
    """One order's triples as Oxigraph terms."""

    triples: list
    own: frozenset
    """Its IRIs and blank nodes, renamed apart from the other orders of its batch."""
    alone: bool
    """It names a knowledge-base node or puts a literal where a rule expects a node: no company."""


_TYPE = ox.NamedNode(str(RDF.type))
_BATCH_IRI = "urn:protovalidate:batch:"
_BATCH_IRI_TEXT = re.compile(re.escape(_BATCH_IRI) + r"\d+:")


def _renamed(node, index: int):
    if isinstance(node, ox.BlankNode):
        return ox.BlankNode(f"o{index}x{node.value}")
    return ox.NamedNode(f"{_BATCH_IRI}{index}:{node.value}")


def _as_insert(construct: str) -> str:
    """CONSTRUCT { T } WHERE { W }, prefixes kept, as INSERT { GRAPH <orders> { T } } over both graphs."""
    start = construct.index("CONSTRUCT")
    opening = construct.index("{", start)
    depth, end = 0, opening
    for end in range(opening, len(construct)):
        depth += {"{": 1, "}": -1}.get(construct[end], 0)
        if depth == 0:
            break
    template = construct[opening + 1:end]
    return (f"{construct[:start]}INSERT {{ GRAPH <{_ORDER_GRAPH.value}> {{{template}}} }}\n"
            f"USING <{_KB_GRAPH.value}> USING <{_ORDER_GRAPH.value}>\n{construct[end + 1:]}")


def _shown(name: str, term, original: dict) -> str | None:
    """A solution's term as a finding shows it, named back from its batch. A blank node where a value
    belongs (a day written as an object) is shown as what it is: its label differs from one syntax of
    the same order to another, and means nothing to a pharmacist."""
    if name != "this" and isinstance(term, ox.BlankNode):
        return BLANK_VALUE
    return original.get(term) or _unbatched(_text(term))


def _unbatched(text: str | None) -> str | None:
    """A text with any renamed IRI in it (a message that quotes one) named back."""
    return _BATCH_IRI_TEXT.sub("", text) if text and _BATCH_IRI in text else text


def _batches(orders: list[tuple[int, _Prepared]], size: int) -> Iterator[list[tuple[int, _Prepared]]]:
    """Orders in batches of at most ``size``; an order that must be alone, alone."""
    together = [item for item in orders if not item[1].alone]
    for start in range(0, len(together), size):
        yield together[start:start + size]
    for item in orders:
        if item[1].alone:
            yield [item]


_GROUP_CONCAT = re.compile(r'GROUP_CONCAT\s*\((?:[^;()]|\([^()]*\))*;\s*separator\s*=\s*"([^"]*)"\s*\)[^?$]*?\bAS\s*[?$](\w+)',
                           re.IGNORECASE)


def _concatenated(select: str) -> list[tuple[str, str]]:
    """The variables a query fills with GROUP_CONCAT, and their separators.

    A list's order is whatever order the store yields its rows in, which depends on what else
    is in the store: a message lists its items sorted, so that it reads the same in any batch.
    """
    return [(name, separator) for separator, name in _GROUP_CONCAT.findall(select)]


def _natural(text: str):
    return [(0, float(part), "") if part.replace(".", "", 1).isdigit() else (1, 0.0, part)
            for part in re.split(r"(\d+(?:\.\d+)?)", text) if part]


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

    def check_many(self, orders: Sequence[Triples]) -> list[list[Finding]]:
        return [self.check(order) for order in orders]

    def check(self, order: Triples) -> list[Finding]:
        import pyshacl  # imported here: only tests and benchmarks use this engine

        data = Graph()
        for triple in self.kb.graph:
            data.add(triple)
        for triple in order:
            data.add(tuple(map(to_rdflib, triple)))
        _, report, _ = pyshacl.validate(data, shacl_graph=self.kb.shapes, advanced=True,
                                        inference="none", allow_warnings=True)
        findings = []
        for result in report.subjects(RDF.type, SH.ValidationResult):
            rule = self.catalogue.rule(_text(report.value(result, SH.sourceShape)))
            value = report.value(result, SH.value)
            path = report.value(result, SH.resultPath)
            message = str(report.value(result, SH.resultMessage) or "")
            if isinstance(value, BNode):  # pyshacl prints a blank node's label; findings say what it is
                message = message.replace(str(value), BLANK_VALUE)
            findings.append(_finding(
                self.kb, rule, None,
                {"value": BLANK_VALUE if isinstance(value, BNode) else _text(value)} if value is not None else {},
                focus=_text(report.value(result, SH.focusNode)), message=message,
                path=str(path) if isinstance(path, URIRef) else None))
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
             focus: str, message: str | None = None, path: str | None = None) -> Finding:
    if message is None:  # SHACL 5.3.2: ?message if the solution binds it, else sh:message with {?var} / {$var} filled
        message = row.get("message") or _PLACEHOLDER.sub(lambda m: row.get(m.group(1), ""), template or "")
    # SHACL's sh:value is the focus node where ?value is unbound; our own rules show a value only when they bind one.
    value = row.get("value", focus if rule.prebound else None)
    return Finding(
        rule_id=rule.rule_id, severity=rule.severity, message=message,
        source=kb.source(row.get("source") or rule.source),
        agent=row.get("agentId"), cycle=_integer(row.get("cycle")), day=_integer(row.get("day")),
        value=value, focus=focus, key=row.get("key"), path=path, shape=rule.iri, expected=_expected(row))


def _expected(row: dict[str, str]) -> ExpectedDose | None:
    """A dose rule's computed amount as data: ?computedMg, with ?level, ?levelUnit, ?basisShown and ?days."""
    try:
        return ExpectedDose(float(row["computedMg"]), row["level"], row["levelUnit"], row["basisShown"],
                            tuple(int(day) for day in row.get("days", "").split(", ") if day))
    except (KeyError, ValueError):
        return None


def _unique(findings: list[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))


def _integer(text: str | None) -> int | None:
    try:
        return int(float(text)) if text is not None else None
    except (ValueError, OverflowError):  # a day of 1e309 is no day (its rule says so)
        return None
