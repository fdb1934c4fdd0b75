"""From a file's bytes to the orders in it, each as its own RDF graph.

JSON-LD goes through the strict reader in ``jsonld`` and is converted by
Oxigraph (a tenth of rdflib's time); Turtle, N-Triples and RDF/XML are parsed
by rdflib as they are. A file may hold several orders: each gets the triples
reachable from it, so that it is judged alone. JSON orders that share a patient
@id are converted one by one, so that each is judged with its own patient data
(its weight, not the other order's); where their data disagree, each order's
patient carries pv:patientDataInAnotherOrder, which patient-data-conflict reports.
An order's triples are Oxigraph terms.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePath
from typing import Callable, Iterable

from xml.sax import SAXParseException

import pyoxigraph as ox
from rdflib import OWL, RDF, BNode, Graph, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.plugins.parsers.notation3 import BadSyntax
from rdflib.term import Node

from chemo_protovalidate.model.findings import Finding
from chemo_protovalidate.model.terms import to_ox, to_rdflib
from chemo_protovalidate.model.vocabulary import PV
from chemo_protovalidate.read import fhir, jsonld
from chemo_protovalidate.read.jsonld import format_finding, pointer_join

JSON_SUFFIXES = {".jsonld", ".json"}
RDF_SUFFIXES = {".ttl": "turtle", ".nt": "nt", ".n3": "n3", ".rdf": "xml", ".owl": "xml", ".xml": "xml"}
ORDER_SUFFIXES = JSON_SUFFIXES | set(RDF_SUFFIXES)

Locator = Callable[[Finding], "tuple[int, int] | None"]


@dataclass
class OrderInput:
    label: str
    root: ox.NamedNode | ox.BlankNode
    triples: list[tuple]
    """(subject, predicate, object), Oxigraph terms: what the engine loads."""
    locate: Locator = lambda finding: None
    fhir: dict | None = None
    """Of an order read from FHIR: its FHIR summary for the JSON report (read/fhir_document.py)."""

    def objects(self, subject, predicate: str) -> list:
        return self._index.get((subject, str(predicate)), [])

    def value(self, subject, predicate: str):
        """One value; of several (an RDF order may state two regimens), the same one in every run."""
        return min(self.objects(subject, predicate), key=lambda term: (not isinstance(term, ox.Literal), str(term)),
                   default=None)

    @cached_property
    def _index(self) -> dict:
        index: dict = {}
        for s, p, o in self.triples:
            index.setdefault((s, p.value), []).append(o)
        return index

    @cached_property
    def graph(self) -> Graph:
        """The order as an rdflib graph, for the reference engine."""
        graph = Graph()
        for triple in self.triples:
            graph.add(tuple(map(to_rdflib, triple)))
        return graph


@dataclass
class Document:
    findings: list[Finding] = field(default_factory=list)
    """Findings about the file; complete once ``orders`` has been gone through."""
    orders: Iterable[OrderInput] = field(default_factory=list)
    """The orders, each with its own graph; for JSON-LD produced lazily, to be gone through once."""
    unchecked: list[tuple[str, dict]] = field(default_factory=list)
    """FHIR orders that could not be read: (label, FHIR summary); their findings are the document's."""


def read_document(name: str, data: bytes, project_context: dict, max_administrations: int | None = None,
                  input_kind: str = "auto", fhir_map=None, arrival_time: str | None = None) -> Document:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return Document([format_finding("unreadable-file", f"the file is not UTF-8 text ({error.reason} at byte {error.start})")])
    suffix = PurePath(name).suffix.lower()
    if suffix in JSON_SUFFIXES or (suffix not in RDF_SUFFIXES and text.lstrip()[:1] in ("{", "[")):
        if input_kind == "jsonld":
            return _read_json(text, project_context, max_administrations)
        loaded, finding = jsonld.load_json(text)
        if finding is not None:
            return Document([finding])
        if input_kind == "fhir" or fhir.kind(loaded) is not None:
            from chemo_protovalidate.read import fhir_document  # only when a FHIR document is read

            return fhir_document.read(text, loaded, project_context, max_administrations, fhir_map, arrival_time)
        return _read_json(text, project_context, max_administrations, loaded)
    if input_kind == "auto" and text.lstrip()[:1] == "<" and _FHIR_XML.search(text[:4096]):
        from chemo_protovalidate.read.fhir_document import xml_not_supported

        return Document([xml_not_supported()])
    return _read_rdf(text, RDF_SUFFIXES.get(suffix, "turtle"))


_FHIR_XML = re.compile(r'<\w+[^>]*\sxmlns\s*=\s*["\']http://hl7\.org/fhir["\']')


def _read_json(text: str, project_context: dict, max_administrations: int | None, loaded=jsonld.NOT_LOADED,
               places=None, labels: dict[str, str] | None = None, extra: dict[str, dict] | None = None) -> Document:
    """The orders of a JSON-LD text. A FHIR document's mapped orders come here too: ``places`` puts each
    element where the FHIR element it came from is written, ``labels`` (by the order's JSON pointer) names
    each order as docs/fhir.md does."""
    parsed = jsonld.read(text, project_context, max_administrations, loaded=loaded, places=places)
    document = Document(list(parsed.findings))

    def locator(order_pointer: str) -> Locator:
        return lambda finding: locate(finding, order_pointer)

    def locate(finding: Finding, order_pointer: str) -> tuple[int, int] | None:
        places = parsed.node_pointers.get(finding.focus or "", [])
        inside = [p for p in places if p == order_pointer or p.startswith(order_pointer + "/")]
        pointer = (inside or places or [None])[0]
        if pointer is None:
            return _literal_place(finding, order_pointer)
        for key in _keys_for(finding.key):
            child = pointer_join(pointer, key)
            try:
                value = parsed.value_at(child)
            except (KeyError, IndexError, TypeError):
                continue
            if isinstance(value, list) and finding.day in value:
                child = pointer_join(child, value.index(finding.day))
            return parsed.position(child)
        return parsed.position(pointer)

    def _literal_place(finding: Finding, order_pointer: str) -> tuple[int, int] | None:
        """A finding whose focus is a value, not a node (a bare number where a quantity is expected):
        placed at the key that holds that value in the order."""
        if not finding.key or finding.focus is None:
            return None
        candidates = []
        for places in parsed.node_pointers.values():
            for pointer in places:
                if pointer != order_pointer and not pointer.startswith(order_pointer + "/"):
                    continue
                child = pointer_join(pointer, finding.key)
                try:
                    value = parsed.value_at(child)
                except (KeyError, IndexError, TypeError):
                    continue
                if not isinstance(value, dict):
                    candidates.append((_same_value(value, finding.focus), child))
        if not candidates:
            return None
        return parsed.position(sorted(candidates, key=lambda c: (not c[0], c[1]))[0][1])

    conflicts = _patient_conflicts([o for o in parsed.orders if o.data is not None])

    def orders():
        # Orders become RDF one at a time, and are handed on one by one: a file of many orders never
        # holds all their graphs at once. Orders that share a patient are converted apart too: each is
        # judged with its own patient data; their disagreements were found above, from the JSON.
        for order in [o for o in parsed.orders if o.data is not None]:
            try:
                triples = _named_blank_nodes([(q.subject, q.predicate, q.object) for q in ox.parse(
                    json.dumps(order.data).encode(), format=ox.RdfFormat.JSON_LD)], parsed.node_pointers)
            except Exception as error:  # the converter's every error is the document's fault here
                document.findings.append(format_finding("not-rdf", f"the JSON-LD does not convert to RDF: {error}"))
                continue
            by_subject = _by_subject(triples)
            root = ox.BlankNode(order.node[2:]) if order.node.startswith("_:") else ox.NamedNode(order.node)
            if root in by_subject:
                own = _reachable(triples, root, by_subject)
                if order.node in conflicts:
                    patient = ox.NamedNode(order.patient)
                    own += [(patient, _IN_ANOTHER_ORDER, ox.Literal(text)) for text in conflicts[order.node]]
                yield OrderInput((labels or {}).get(order.pointer, order.label), root, own, locator(order.pointer),
                                 (extra or {}).get(order.pointer))
            else:  # never a silent pass: an order that says nothing in RDF is not checked, and says so
                document.findings.append(format_finding(
                    "not-rdf", f"{order.label} states nothing once converted to RDF; it was not checked",
                    parsed.position(order.pointer)))

    document.orders = orders()
    return document


_IN_ANOTHER_ORDER = ox.NamedNode(str(PV.patientDataInAnotherOrder))


def _patient_conflicts(orders: list) -> dict[str, list[str]]:
    """For each order whose patient @id another order of the file shares: "key|values" for every patient key
    on which the orders disagree (72 and 72.0 kg agree). The values read as the shape words them for one
    RDF graph that gives the patient two weights ("72 kg and 75 kg"): the same verdict in every syntax."""
    by_patient: dict[str, list] = {}
    for order in orders:
        if order.patient is not None:
            by_patient.setdefault(order.patient, []).append(order)
    conflicts: dict[str, list[str]] = {}
    for group in by_patient.values():
        if len(group) < 2:
            continue
        for key in sorted({k for order in group for k in order.data["patient"] if not k.startswith("@")}):
            given = [order.data["patient"][key] for order in group if key in order.data["patient"]]
            if len({_canonical(value) for value in given}) < 2:
                continue
            shown = sorted({_shown(value) for value in given})
            for order in group:
                if key in order.data["patient"]:
                    conflicts.setdefault(order.node, []).append(f"{key}|{shown[0]} and {shown[-1]}")
    return conflicts


def _canonical(value):
    """A patient value as compared across orders: numbers as floats, objects without their given @id."""
    if isinstance(value, bool) or not isinstance(value, (int, float, dict, list)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, (int, float)):
        return repr(float(value))
    if isinstance(value, list):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    return "{" + ",".join(f"{k}:{_canonical(v)}" for k, v in sorted(value.items())
                          if k != "@id" or not str(v).startswith("_:")) + "}"


def _shown(value) -> str:
    """A patient value as a pharmacist reads it: 72 kg, 64, true."""
    if isinstance(value, dict) and set(value) - {"@id"} == {"value", "unit"}:
        amount = value["value"]
        amount = f"{amount:g}" if isinstance(amount, (int, float)) and not isinstance(amount, bool) else json.dumps(amount)
        return f"{amount} {value['unit']}"
    if isinstance(value, dict):
        return json.dumps({k: v for k, v in value.items() if not (k == "@id" and str(v).startswith("_:"))},
                          ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)


def _same_value(value, text: str) -> bool:
    """Whether a JSON value is the literal a finding's focus names (80 and "80", 72.0 and "72.0")."""
    if isinstance(value, bool):
        return text == str(value).lower()
    if isinstance(value, (int, float)):
        try:
            return float(text) == float(value)
        except ValueError:
            return False
    return text == str(value)


def _keys_for(key: str | None) -> list[str]:
    if key is None:
        return []
    return ["day", "days"] if key == "day" else [key]


def _read_rdf(text: str, syntax: str) -> Document:
    graph = Graph()
    try:
        graph.parse(data=text, format=syntax)
    except Exception as error:  # a parser error is a finding about the file
        why, line = parse_error(error)
        return Document([format_finding("not-rdf", f"not valid {_SYNTAX_NAMES[syntax]}: {why}", line)])
    document = Document()
    for imported in sorted({_name(node) for node in graph.objects(None, OWL.imports)}):
        document.findings.append(format_finding(
            "remote-import", f"the order imports {imported} (owl:imports); protovalidate never fetches a document, "
            "so an order must state everything it says itself"))
    typed = list(dict.fromkeys(graph.subjects(RDF.type, PV.ChemotherapyOrder)))
    untyped = [s for s in dict.fromkeys(list(graph.subjects(PV.administration)) + list(graph.subjects(PV.regimen)))
               if s not in typed]
    for node in untyped:
        document.findings.append(format_finding(
            "order-missing-type", f"{_name(node)} has administrations or a regimen but no rdf:type pv:ChemotherapyOrder"))
    try:
        triples = [tuple(map(to_ox, triple)) for triple in graph]
    except ValueError as error:  # rdflib lets through IRIs and tags that RDF does not allow (<urn:x y>)
        document.findings.append(format_finding("not-rdf", f"not valid {_SYNTAX_NAMES[syntax]}: {error}"))
        return document
    by_subject = _by_subject(triples)
    for index, root in enumerate(typed + untyped, start=1):
        label = str(root) if isinstance(root, URIRef) else f"order {index}"
        document.orders.append(OrderInput(label, *_canonical_blank_nodes(
            to_ox(root), _reachable(triples, to_ox(root), by_subject))))
    if not document.orders:
        document.findings.append(format_finding("no-order", "the file holds no order (a pv:ChemotherapyOrder)"))
    return document


_SYNTAX_NAMES = {"turtle": "Turtle", "nt": "N-Triples", "n3": "N3", "xml": "RDF/XML"}


def parse_error(error: Exception) -> tuple[str, tuple[int, int] | None]:
    """What went wrong and where, from the error of whichever rdflib parser ran."""
    if isinstance(error, BadSyntax):  # Turtle, N3: lines counts the lines before the error
        return str(error._why), (error.lines + 1, 1)
    if isinstance(error, SAXParseException):  # RDF/XML
        return error.getMessage(), (error.getLineNumber(), error.getColumnNumber() + 1)
    return str(error), None


def _name(node: Node) -> str:
    """A node as a message names it: an IRI, or what it is (a parser's blank-node label changes every run)."""
    if isinstance(node, URIRef):
        return f"<{node}>"
    return "a node" if isinstance(node, BNode) else f'"{node}"'


def _canonical_blank_nodes(root, triples: list[tuple]) -> tuple:
    """The order with blank-node labels from its content: a parser's random labels must not reach a report."""
    if not any(isinstance(term, ox.BlankNode) for triple in triples for term in triple):
        return root, triples
    marker = URIRef("urn:protovalidate:order-root")
    marked = Graph()
    for triple in triples:
        marked.add(tuple(map(to_rdflib, triple)))
    marked.add((marker, marker, to_rdflib(root)))
    stable = [tuple(map(to_ox, triple)) for triple in to_canonical_graph(marked)]
    new_root = next(o for s, p, o in stable if s == to_ox(marker) and p == to_ox(marker))
    return new_root, [t for t in stable if t[0] != to_ox(marker)]


_TYPE = ox.NamedNode(str(RDF.type))


def _named_blank_nodes(triples: list[tuple], named: dict) -> list[tuple]:
    """A blank node the reader did not name gets a name by its first place: the converter's are random.

    The reader names every node object of the JSON (jsonld.py), so this is a guard: a report never
    carries a label that changes from run to run.
    """
    if all(f"_:{term.value}" in named for s, _, o in triples for term in (s, o) if isinstance(term, ox.BlankNode)):
        return triples
    labels: dict = {}

    def stable(term):
        if not isinstance(term, ox.BlankNode) or f"_:{term.value}" in named:
            return term
        return labels.setdefault(term, ox.BlankNode(f"pvunnamed{len(labels) + 1}"))

    return [(stable(s), p, stable(o)) for s, p, o in triples]


def _reachable(triples: list[tuple], root, by_subject: dict) -> list[tuple]:
    """The triples of one order: everything reachable from it."""
    kept, pending, seen = [], [root], {root}
    while pending:
        for triple in by_subject.get(pending.pop(), ()):
            kept.append(triple)
            obj = triple[2]
            if isinstance(obj, ox.Literal) or obj in seen or triple[1] == _TYPE:
                continue
            seen.add(obj)
            pending.append(obj)
    return kept


def _by_subject(triples: list[tuple]) -> dict:
    index: dict = {}
    for triple in triples:
        index.setdefault(triple[0], []).append(triple)
    return index
