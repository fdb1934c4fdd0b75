"""The same order graph gives the same verdict in JSON-LD, Turtle, N-Triples and RDF/XML."""

from __future__ import annotations

import json

import pytest
from rdflib import Graph

from chemo_protovalidate.read import jsonld
from chemo_protovalidate.read.documents import ORDER_SUFFIXES
from chemo_protovalidate.read.jsonld import FORMAT_RULES
from conftest import EXAMPLES, check_file
from expected import expected_path, read_expected

SYNTAXES = {"turtle": ".ttl", "nt": ".nt", "xml": ".rdf"}


def _about_the_graph(order) -> bool:
    """Valid orders, and invalid ones whose findings come from the shapes: format
    findings are about the JSON text and have no counterpart in another syntax.
    Nor have orders of one file that share a patient @id: the JSON reader judges
    each with its own patient data, where one RDF graph gives the patient both
    orders' weights (examples/orders/invalid/patient-data-conflict-two-weights.ttl)."""
    if _shares_a_patient(order):
        return False
    if order.parent.name == "valid":
        return True
    return not any(row[2] in FORMAT_RULES for row in read_expected(expected_path(order)))


def _shares_a_patient(order) -> bool:
    try:
        document = json.loads(order.read_text("utf-8"))
    except ValueError:      # a file that is not JSON has no patient to share
        return False
    orders = document.get("@graph", [document]) if isinstance(document, dict) else document
    orders = orders if isinstance(orders, list) else []
    patients = [o["patient"].get("@id") for o in orders if isinstance(o, dict) and isinstance(o.get("patient"), dict)]
    named = [p for p in patients if p]
    return len(named) != len(set(named))


ORDERS = sorted(p for folder in ("valid", "invalid", "warning", "info") for p in (EXAMPLES / folder).glob("*.jsonld")
                if _about_the_graph(p))


def _verdict(result):
    return sorted((f.rule_id, f.severity.value, f.agent, f.day, f.message) for f in result.all_findings())


def _as_graph(validator, path) -> Graph | None:
    parsed = jsonld.read(path.read_text("utf-8"), validator.kb.context)
    if parsed.findings or parsed.expanded_input is None:
        return None
    graph = Graph()
    graph.parse(data=json.dumps(parsed.expanded_input), format="json-ld")
    return graph


@pytest.mark.parametrize("path", ORDERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_syntax_gives_the_same_verdict(validator, path, tmp_path):
    graph = _as_graph(validator, path)
    assert graph is not None, "the order should convert to RDF"
    expected = _verdict(check_file(validator, path))
    for syntax, suffix in SYNTAXES.items():
        copy = tmp_path / (path.stem + suffix)
        copy.write_text(graph.serialize(format=syntax), "utf-8")
        assert _verdict(check_file(validator, copy)) == expected, syntax


def test_syntaxes_are_compared_on_real_findings():
    assert len([p for p in ORDERS if p.parent.name == "invalid"]) >= 30
    assert {suffix for suffix in SYNTAXES.values()} <= ORDER_SUFFIXES
