"""The same order graph gives the same verdict in JSON-LD, Turtle, N-Triples and RDF/XML."""

from __future__ import annotations

import json

import pytest
from rdflib import Graph

from chemo_protovalidate import jsonld
from chemo_protovalidate.documents import ORDER_SUFFIXES
from conftest import EXAMPLES, check_file

SYNTAXES = {"turtle": ".ttl", "nt": ".nt", "xml": ".rdf"}
# Orders whose findings come from the shapes (the RDF side): format findings
# are about JSON text and have no counterpart in another syntax.
ORDERS = sorted(p for folder in ("valid", "invalid") for p in (EXAMPLES / folder).glob("*.jsonld"))


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
    if graph is None:
        pytest.skip("a JSON-level finding: nothing to compare in other syntaxes")
    expected = _verdict(check_file(validator, path))
    for syntax, suffix in SYNTAXES.items():
        copy = tmp_path / (path.stem + suffix)
        copy.write_text(graph.serialize(format=syntax), "utf-8")
        assert _verdict(check_file(validator, copy)) == expected, syntax


def test_syntaxes_are_compared_on_real_findings(validator):
    checked = [p for p in ORDERS if p.parent.name == "invalid" and _as_graph(validator, p) is not None]
    assert len(checked) >= 15
    assert ".ttl" in ORDER_SUFFIXES and ".nt" in ORDER_SUFFIXES and ".rdf" in ORDER_SUFFIXES
