"""One rule id, two severities (rule book 6.5: antiviral-prophylaxis-missing is W with daratumumab, I otherwise).

Written as two named shapes with the same pv:ruleId and different sh:severity. The catalogue accepts that
and only that; everything keyed by rule id copes: the catalogue entry, --list-rules, SARIF, the SHACL
report, and the per-rule levels of [tool.protovalidate.rules].
"""

from __future__ import annotations

import json

import pytest
from rdflib import Graph, URIRef

from chemo_protovalidate.check.engine import PyshaclEngine
from chemo_protovalidate.check.knowledge import KnowledgeBase
from chemo_protovalidate.check.pipeline import Pipeline, rule_infos
from chemo_protovalidate.check.rules import Catalogue, CatalogueError
from chemo_protovalidate.model.findings import FileResult, OrderResult, Severity, apply_severity_overrides
from chemo_protovalidate.model.vocabulary import SH
from chemo_protovalidate.report import RENDERERS, Report, shacl as shacl_report

ORDER = "<https://w3id.org/protovalidate/ontology#ChemotherapyOrder>"
PREFIXES = """@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix dct: <http://purl.org/dc/terms/> .
@prefix pv: <https://w3id.org/protovalidate/ontology#> .
"""
RULE = "prophylaxis-missing"
# The warning where the order has the agent "strong", information otherwise; neither with "prophylaxis".
# (Literals: an order's own IRIs are renamed apart in a batch, so a query never names one.)
SHAPES = """
ex:prophylaxis-missing-strong a sh:NodeShape ; pv:ruleId "prophylaxis-missing" ;
    rdfs:comment "With the strong agent: prophylaxis is required." ; dct:source ex:label-strong ;
    sh:targetClass pv:ChemotherapyOrder ; sh:severity sh:Warning ;
    sh:sparql [ sh:message "no prophylaxis (strong)" ; sh:select '''
        SELECT $this WHERE { $this a %(order)s ; <http://example.org/agent> "strong" .
                             FILTER NOT EXISTS { $this <http://example.org/agent> "prophylaxis" } }''' ] .
ex:prophylaxis-missing-weak a sh:NodeShape ; pv:ruleId "prophylaxis-missing" ;
    rdfs:comment "Otherwise: prophylaxis is to be considered." ; dct:source ex:label-weak ;
    sh:targetClass pv:ChemotherapyOrder ; sh:severity sh:Info ;
    sh:sparql [ sh:message "no prophylaxis (consider)" ; sh:select '''
        SELECT $this WHERE { $this a %(order)s .
                             FILTER NOT EXISTS { $this <http://example.org/agent> "strong" }
                             FILTER NOT EXISTS { $this <http://example.org/agent> "prophylaxis" } }''' ] .
ex:other a sh:NodeShape ; pv:ruleId "other-rule" ; rdfs:comment "Another rule." ;
    sh:targetClass pv:ChemotherapyOrder ; sh:severity sh:Violation ;
    sh:sparql [ sh:message "never" ; sh:select "SELECT $this WHERE { $this a %(order)s ; <http://example.org/never> 1 }" ] .
""" % {"order": ORDER}
DATA = """ex:label-strong a pv:RuleSource ; rdfs:label "Strong label" .
ex:label-weak a pv:RuleSource ; rdfs:label "Weak label" ."""
ORDERS = {
    "strong": 'ex:o1 a pv:ChemotherapyOrder ; ex:agent "strong" .',
    "weak": 'ex:o2 a pv:ChemotherapyOrder ; ex:agent "weak" .',
    "covered": 'ex:o3 a pv:ChemotherapyOrder ; ex:agent "strong", "prophylaxis" .',
}


def _graph(turtle: str) -> Graph:
    return Graph().parse(data=PREFIXES + turtle, format="turtle")


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.from_graphs(_graph(DATA), _graph(SHAPES), context={})


@pytest.fixture(scope="module")
def validator(kb) -> Pipeline:
    return Pipeline(kb)


@pytest.fixture(scope="module")
def found(validator) -> dict[str, list]:
    checked = validator.engine.check_many([_graph(o) for o in ORDERS.values()])
    return dict(zip(ORDERS, checked))


def test_one_id_may_name_shapes_of_different_severities(validator):
    rules = [r for r in validator.catalogue.rules if r.rule_id == RULE]
    assert sorted((r.iri, r.severity) for r in rules) == [
        ("http://example.org/prophylaxis-missing-strong", Severity.WARNING),
        ("http://example.org/prophylaxis-missing-weak", Severity.INFO)]


def test_two_shapes_of_one_id_at_one_severity_are_refused():
    same = SHAPES.replace("sh:severity sh:Info", "sh:severity sh:Warning")
    with pytest.raises(CatalogueError, match=f"rule id {RULE} names more than one shape at severity warning"):
        Catalogue.from_shapes(_graph(same))
    third = """ex:third a sh:NodeShape ; pv:ruleId "prophylaxis-missing" ; sh:targetClass pv:ChemotherapyOrder ;
        sh:severity sh:Warning ; sh:sparql [ sh:select "SELECT $this WHERE { $this a %s }" ] .""" % ORDER
    with pytest.raises(CatalogueError, match=r"\(http://example.org/prophylaxis-missing-strong, http://example.org/third\)"):
        Catalogue.from_shapes(_graph(SHAPES + third))


def test_each_shape_reports_at_its_own_severity_in_both_engines(kb, found):
    shown = {name: [(f.rule_id, f.severity, f.message, f.shape) for f in findings] for name, findings in found.items()}
    assert shown == {
        "strong": [(RULE, Severity.WARNING, "no prophylaxis (strong)", "http://example.org/prophylaxis-missing-strong")],
        "weak": [(RULE, Severity.INFO, "no prophylaxis (consider)", "http://example.org/prophylaxis-missing-weak")],
        "covered": [],
    }
    assert [f.source.label for f in found["strong"] + found["weak"]] == ["Strong label", "Weak label"]
    by_the_book = PyshaclEngine(kb, Catalogue.from_shapes(kb.shapes)).check_many([_graph(o) for o in ORDERS.values()])
    assert [[(f.rule_id, f.severity, f.message, f.shape, f.focus) for f in findings] for findings in by_the_book] == [
        [(f.rule_id, f.severity, f.message, f.shape, f.focus) for f in findings] for findings in found.values()]


def test_the_catalogue_entry_is_the_highest_severity_shape(kb, validator):
    info = rule_infos(kb, validator.catalogue)[RULE]
    assert info.severity is Severity.WARNING and info.levels == (Severity.WARNING, Severity.INFO)
    assert info.description == "With the strong agent: prophylaxis is required."
    assert info.source.label == "Strong label" and info.shape == "http://example.org/prophylaxis-missing-strong"
    assert rule_infos(kb, validator.catalogue)["other-rule"].levels == (Severity.ERROR,)
    assert validator.rules()[RULE] == info


def test_list_rules_has_one_line_per_shape_highest_first(validator):
    listed = [(r.rule_id, r.severity, r.source.label if r.source else None) for r in validator.listing()
              if r.rule_id in (RULE, "other-rule")]
    assert listed == [("other-rule", Severity.ERROR, None), (RULE, Severity.WARNING, "Strong label"),
                      (RULE, Severity.INFO, "Weak label")]


def _report(validator, found, levels: dict[str, str] | None = None) -> Report:
    results = [FileResult(f"{name}.ttl", orders=[OrderResult(f"urn:example:{name}", findings=findings)])
               for name, findings in found.items()]
    results = [apply_severity_overrides(r, levels or {}) for r in results]
    return Report(results, Severity.ERROR, validator.rules())


def test_sarif_lists_the_rule_once_and_each_result_has_its_level(validator, found):
    run = json.loads(RENDERERS["sarif"](_report(validator, found)))["runs"][0]
    [rule] = [r for r in run["tool"]["driver"]["rules"] if r["id"] == RULE]
    assert rule["defaultConfiguration"]["level"] == "warning"
    assert rule["properties"]["levels"] == ["warning", "note"]
    assert "Reported as warning or note" in rule["help"]["text"]
    assert [(r["ruleId"], r["level"]) for r in run["results"]] == [(RULE, "warning"), (RULE, "note")]
    index = [r["id"] for r in run["tool"]["driver"]["rules"]].index(RULE)
    assert {r["ruleIndex"] for r in run["results"]} == {index}


def test_the_shacl_report_names_the_shape_that_found_each(validator, found):
    graph = shacl_report.graph(_report(validator, found))
    shapes = sorted((str(graph.value(r, SH.resultSeverity)), str(graph.value(r, SH.sourceShape)))
                    for r in graph.subjects(SH.sourceShape, None))
    assert shapes == [(str(SH.Info), "http://example.org/prophylaxis-missing-weak"),
                      (str(SH.Warning), "http://example.org/prophylaxis-missing-strong")]
    assert URIRef("http://example.org/prophylaxis-missing-weak") in set(graph.objects(None, SH.sourceShape))


@pytest.mark.parametrize("level", ["error", "warning", "info"])
def test_a_per_rule_level_applies_to_every_shape_of_the_id(validator, found, level):
    report = _report(validator, found, {RULE: level})
    assert sorted(f.severity.value for _, _, f in report.findings()) == [level, level]


def test_a_rule_switched_off_is_off_in_every_shape(validator, found):
    assert list(_report(validator, found, {RULE: "off"}).findings()) == []
