"""The W3C SHACL test suite, run through our own engine (OxigraphEngine), not pyshacl.

Every test of sparql/node, sparql/pre-binding, sparql/property, sparql/component and
core/targets (their manifests' entries; the files are copied unchanged into
tests/data/w3c-shacl/, see its README.md). A test's data graph and shapes graph become a
knowledge base; the engine checks one empty order, so that every focus node is a
data-graph node (a finding on a node no order owns goes to each order of the batch).

Each test ends one of three ways:

- passed: the results, as a set of (focus node, result path, value, source shape,
  severity), equal the expected sh:ValidationReport's; terms are compared as RDF terms,
  a blank node by its triples (Oxigraph renames blank nodes on loading);
- failure expected: the suite expects a failure (sht:Failure) and the catalogue refuses
  the shapes with CatalogueError;
- refused: the shapes use a feature the engine does not implement, and loading them
  fails with CatalogueError naming it (REFUSED says which, so a new refusal is a failure).

The tally is printed at the end of the module.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Namespace, URIRef
from rdflib.collection import Collection

from chemo_protovalidate.check.engine import OxigraphEngine
from chemo_protovalidate.check.knowledge import KnowledgeBase
from chemo_protovalidate.check.pipeline import Pipeline, rule_infos
from chemo_protovalidate.check.rules import Catalogue, CatalogueError, prebinding_problem
from chemo_protovalidate.model.findings import FileResult, Finding, OrderResult, Severity
from chemo_protovalidate.model.terms import text, to_rdflib
from chemo_protovalidate.model.vocabulary import SH
from chemo_protovalidate.report import Report, shacl as shacl_report
from conftest import ROOT

SUITE = Path(__file__).parent / "data" / "w3c-shacl"
FOLDERS = ("sparql/node", "sparql/pre-binding", "sparql/property", "sparql/component", "core/targets")
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")

# Tests the engine refuses, and the feature its CatalogueError names. The sht:Failure tests
# are here too: refusing them is what the suite expects.
REFUSED = {
    "sparql/pre-binding/pre-binding-006": "a nested SELECT that does not project $this",
    "sparql/pre-binding/shapesGraph-001": "$shapesGraph",
    "sparql/pre-binding/unsupported-sparql-001": "MINUS",
    "sparql/pre-binding/unsupported-sparql-002": "VALUES",
    "sparql/pre-binding/unsupported-sparql-003": "SERVICE",
    "sparql/pre-binding/unsupported-sparql-004": "a nested SELECT that does not project $this",
    "sparql/pre-binding/unsupported-sparql-005": "$this bound with AS",
    # The suite's reason is the ASK validator's BIND (... AS ?value); ours comes earlier: the shape's
    # sh:property (and the SPARQL-based constraint component its property shapes use).
    "sparql/pre-binding/unsupported-sparql-006": "sh:property",
    "sparql/property/sparql-001": "sh:PropertyShape",
    "sparql/component/optional-001": "SPARQL-based constraint component",
    "sparql/component/propertyValidator-select-001": "sh:property",
    "sparql/component/validator-001": "SPARQL-based constraint component",
    "core/targets/multipleTargets-001": "sh:in",
    "core/targets/targetClass-001": "sh:property",
    "core/targets/targetClassImplicit-001": "sh:in",
    "core/targets/targetNode-001": "sh:property",
    "core/targets/targetObjectsOf-001": "sh:datatype",
    "core/targets/targetSubjectsOf-001": "sh:property",
    "core/targets/targetSubjectsOf-002": "sh:property",
}
TALLY: dict[str, str] = {}


def _entries() -> list[tuple[str, Path, URIRef]]:
    entries = []
    for folder in FOLDERS:
        manifest = Graph().parse(SUITE / folder / "manifest.ttl", format="turtle")
        for include in sorted(manifest.objects(None, MF.include)):
            path = Path(include.removeprefix("file://"))
            graph = Graph().parse(path, format="turtle")
            for head in graph.objects(None, MF.entries):
                for entry in Collection(graph, head):
                    entries.append((f"{folder}/{entry.rsplit('/', 1)[-1]}", path, entry))
    return entries


ENTRIES = _entries()


@pytest.fixture(scope="module", autouse=True)
def tally(request):
    yield
    counts = Counter(outcome.split(":")[0] for outcome in TALLY.values())
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    lines = [f"W3C SHACL tests through the Oxigraph engine: {counts['passed']} passed, "
             f"{counts['failure expected']} failure expected (refused), {counts['refused']} refused, "
             f"{counts['failed']} failed"]
    lines += [f"  {test_id}: {outcome}" for test_id, outcome in sorted(TALLY.items())]
    with capture.global_and_fixture_disabled():  # shown whatever -s says
        print("\n" + "\n".join(lines))


def test_the_suite_copy_is_complete():
    assert len(ENTRIES) == 29, [test_id for test_id, _, _ in ENTRIES]
    assert set(REFUSED) <= {test_id for test_id, _, _ in ENTRIES}


@pytest.mark.parametrize("test_id, path, entry", ENTRIES, ids=[e[0] for e in ENTRIES])
def test_w3c(test_id, path, entry):
    TALLY[test_id] = "failed"
    graphs: dict[URIRef, Graph] = {}
    manifest = graphs.setdefault(URIRef(path.as_uri()), Graph().parse(path, format="turtle"))
    action = manifest.value(entry, MF.action)
    data = _graph(graphs, manifest.value(action, SHT.dataGraph))
    shapes = _graph(graphs, manifest.value(action, SHT.shapesGraph))
    expected = manifest.value(entry, MF.result)

    if expected == SHT.Failure or test_id in REFUSED:
        with pytest.raises(CatalogueError) as refusal:
            Catalogue.from_shapes(shapes)
        feature = REFUSED.get(test_id)
        assert feature is not None and feature in str(refusal.value), str(refusal.value)
        assert any(_name(node) in str(refusal.value) for node in set(shapes.subjects())), "it names the shape"
        TALLY[test_id] = ("failure expected: refused: " if expected == SHT.Failure else "refused: ") + feature
        return

    catalogue = Catalogue.from_shapes(shapes)
    assert all(rule.prebound for rule in catalogue.rules), "no W3C shape carries a pv:ruleId"
    engine = OxigraphEngine(KnowledgeBase(graph=data, shapes=shapes, context={}), catalogue)
    engine.result_terms = {}
    findings = engine.check([])
    got = set()
    for finding in findings:
        rule = next(r for r in catalogue.rules if r.rule_id == finding.rule_id)
        for focus, path, value in engine.result_terms[finding]:
            path = path if isinstance(path, ox.NamedNode) else None
            assert finding.focus == text(focus) and finding.value == text(value)
            assert finding.path == (path.value if path is not None else None)
            got.add((_key(engine, focus), to_rdflib(path), _key(engine, value), rule.iri, finding.severity))
    results = list(manifest.objects(expected, SH.result))
    want = {(_expected_key(data, manifest.value(r, SH.focusNode)), manifest.value(r, SH.resultPath),
             _expected_key(data, manifest.value(r, SH.value)), _name(manifest.value(r, SH.sourceShape)),
             Severity.from_shacl(manifest.value(r, SH.resultSeverity))) for r in results}
    assert got == want
    assert (not findings) == manifest.value(expected, SH.conforms).value
    TALLY[test_id] = "passed"


def _graph(graphs: dict, name) -> Graph:
    if name not in graphs:
        graphs[name] = Graph().parse(str(name).removeprefix("file://"), format="turtle")
    return graphs[name]


def _name(node) -> str:
    return f"_:{node}" if isinstance(node, BNode) else str(node)


def _key(engine: OxigraphEngine, term):
    """An RDF term as compared: itself, or for a blank node (Oxigraph renames them) its triples."""
    if not isinstance(term, ox.BlankNode):
        return to_rdflib(term)
    return ("blank", frozenset((to_rdflib(q.predicate), None if isinstance(q.object, ox.BlankNode) else to_rdflib(q.object))
                               for q in engine.result_store.quads_for_pattern(term, None, None)))


def _expected_key(graph: Graph, term):
    if not isinstance(term, BNode):
        return term
    return ("blank", frozenset((p, None if isinstance(o, BNode) else o) for p, o in graph.predicate_objects(term)))


# --- what the catalogue implements beside the suite --------------------------------------------------------------

PREFIXES = """@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix pv: <https://w3id.org/protovalidate/ontology#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""


def _check(shapes_ttl: str, data_ttl: str = "", orders: list[str] | None = None) -> list[list[Finding]]:
    shapes = Graph().parse(data=PREFIXES + shapes_ttl, format="turtle")
    data = Graph().parse(data=PREFIXES + data_ttl, format="turtle")
    engine = OxigraphEngine(KnowledgeBase(graph=data, shapes=shapes, context={}), Catalogue.from_shapes(shapes))
    return engine.check_many([Graph().parse(data=PREFIXES + o, format="turtle") for o in orders or [""]])


def test_our_own_shapes_load_and_all_promise_the_house_rule(validator):
    assert validator.catalogue.rules and not any(rule.prebound for rule in validator.catalogue.rules)


def test_target_node_implicit_class_target_and_deactivated():
    shapes = """
        ex:ByNode a sh:NodeShape ; sh:targetNode ex:a, "lit" ;
            sh:sparql [ sh:select "SELECT $this WHERE { }" ; sh:message "node {$this}" ] .
        ex:Thing a sh:NodeShape, rdfs:Class ;
            sh:sparql [ sh:select "SELECT $this ?value WHERE { $this <http://example.org/p> ?value }" ;
                        sh:message "class {?value}" ] .
        ex:Off a sh:NodeShape ; sh:targetNode ex:a ; sh:deactivated true ; sh:property [ sh:path ex:p ] .
        ex:OffConstraint a sh:NodeShape ; sh:targetNode ex:a ;
            sh:sparql [ sh:select "SELECT $this WHERE { }" ; sh:deactivated true ] .
    """
    data = "ex:Sub rdfs:subClassOf ex:Thing . ex:b a ex:Sub ; ex:p 1 ."
    (found,) = _check(shapes, data)
    assert sorted((f.rule_id, f.focus, f.message, f.value) for f in found) == [
        ("http://example.org/ByNode", "http://example.org/a", "node http://example.org/a", "http://example.org/a"),
        ("http://example.org/ByNode", "lit", "node lit", "lit"),
        ("http://example.org/Thing", "http://example.org/b", "class 1", "1"),
    ]


def test_a_target_node_that_is_an_orders_own_node_is_found_in_any_batch():
    shapes = """ex:S a sh:NodeShape ; sh:targetNode ex:order ;
        sh:sparql [ sh:select "SELECT $this WHERE { $this <http://example.org/late> true }" ; sh:message "late" ] ."""
    found = _check(shapes, orders=["ex:order ex:late true .", "ex:other ex:late true .", "ex:order ex:late true ."])
    assert [[f.focus for f in order] for order in found] == [["http://example.org/order"], [],
                                                            ["http://example.org/order"]]


def test_a_shape_without_rule_id_is_evaluated_with_this_pre_bound_and_one_with_it_free():
    query = "SELECT $this WHERE { FILTER ($this = ex:a) }"
    shapes = f"""ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:sparql [ sh:prefixes ex:p ; sh:select "{query}" ] .
        ex:p sh:declare [ sh:prefix "ex" ; sh:namespace "http://example.org/"^^xsd:anyURI ] ."""
    assert [f.focus for f in _check(shapes)[0]] == ["http://example.org/a"]
    # The same query under the house rule's promise runs once with $this free, and finds nothing:
    # which is why a pv:ruleId is a promise, and the house rule forbids such a query.
    assert _check(shapes.replace("ex:S a sh:NodeShape ;", "ex:S a sh:NodeShape ; pv:ruleId 'r' ;")) == [[]]


def test_path_fills_the_finding_and_the_shacl_report():
    shapes = """ex:S a sh:NodeShape ; sh:targetNode ex:a ;
        sh:sparql [ sh:select "SELECT $this ?path ?value WHERE { $this ?path ?value }" ; sh:message "{?path}" ] ."""
    (found,) = _check(shapes, "ex:a ex:p 1 .")
    assert [(f.path, f.value) for f in found] == [("http://example.org/p", "1")]
    catalogue = Catalogue.from_shapes(Graph().parse(data=PREFIXES + shapes, format="turtle"))
    kb = KnowledgeBase(graph=Graph(), shapes=Graph(), context={})
    report = Report([FileResult("x.ttl", orders=[OrderResult("o", findings=found)])], Severity.ERROR,
                    rule_infos(kb, catalogue))
    graph = shacl_report.graph(report)
    result = URIRef("urn:protovalidate:result:1")
    assert graph.value(result, SH.resultPath) == URIRef("http://example.org/p")
    assert graph.value(result, SH.sourceShape) == URIRef("http://example.org/S")


@pytest.mark.parametrize("shapes, feature", [
    ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:minCount 1 ] .", "sh:property"),
    ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:class ex:D .", "sh:class"),
    ("ex:S sh:targetNode ex:a ; sh:datatype xsd:string .", "sh:datatype"),  # a shape by its target alone
    ("ex:S a sh:PropertyShape ; sh:path ex:p ; sh:targetClass ex:C .", "sh:PropertyShape"),
    ("ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:sparql [ sh:ask 'ASK {}' ] .", "sh:ask"),
    ("ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:target [ a sh:SPARQLTarget ; sh:select 'SELECT ?this {}' ] .",
     "sh:target"),
    ("ex:S a sh:NodeShape ; sh:targetNode ex:a ; "
     "sh:sparql [ sh:select 'SELECT $this WHERE { GRAPH $shapesGraph { $currentShape ?p ?o } }' ] .", "$shapesGraph"),
    ("ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:sparql [ sh:select 'SELECT ?x WHERE { ?x ?p ?o }' ] .",
     "a SELECT that does not project $this"),
    ("ex:S a sh:NodeShape ; sh:targetNode ex:a ; "
     "sh:sparql [ sh:select 'SELECT $this WHERE { $this ?p ?o } VALUES ?o { 1 }' ] .", "VALUES"),
    ("ex:S a sh:NodeShape ; sh:targetNode _:n ; sh:sparql [ sh:select 'SELECT $this WHERE { }' ] .",
     "a blank node as sh:targetNode"),
    ("ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:rule [ a sh:TripleRule ; sh:subject sh:this ] .", "sh:subject"),
    ("ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:rule [ a sh:SPARQLRule ; sh:construct 'CONSTRUCT {} WHERE {}' ;"
     " sh:condition ex:T ] .", "sh:condition"),
    ("ex:C a sh:ConstraintComponent ; sh:parameter [ sh:path ex:lang ] ;"
     " sh:validator [ a sh:SPARQLAskValidator ; sh:ask 'ASK {}' ] . ex:S a sh:NodeShape ; ex:lang 'en' .",
     "SPARQL-based constraint component http://example.org/C"),
])
def test_a_feature_the_engine_lacks_is_refused_naming_the_shape(shapes, feature):
    with pytest.raises(CatalogueError) as refusal:
        Catalogue.from_shapes(Graph().parse(data=PREFIXES + shapes, format="turtle"))
    assert feature in str(refusal.value)
    assert "http://example.org/S" in str(refusal.value)


@pytest.mark.parametrize("query, problem", [
    ("SELECT $this WHERE { $this ?p ?o }", None),
    ("SELECT * WHERE { $this ?p ?o }", None),
    ("SELECT $this WHERE { { SELECT $this WHERE { $this ?p ?o } } }", None),
    ("SELECT $this WHERE { { SELECT * WHERE { $this ?p ?o } } }", None),
    ("SELECT $this WHERE { FILTER NOT EXISTS { $this ?p ?o MINUS { ?o ?q ?r } } }", "MINUS"),
    ("SELECT $this WHERE { { SELECT * WHERE { FILTER ($this = ?x) } } }", "a nested SELECT that does not project $this"),
    ("SELECT $this WHERE { { SELECT (?o AS $this) WHERE { ?s ?p ?o } } }", "$this bound with AS"),
    ("ASK { }", "a AskQuery where a SELECT query is expected"),
])
def test_prebinding_rules(query, problem):
    assert prebinding_problem(query) == problem


def test_site_shapes_the_engine_refuses_are_a_tool_error_not_a_traceback(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "extra.ttl").write_text(PREFIXES + "ex:S a sh:NodeShape ; sh:targetClass pv:ChemotherapyOrder ;"
                                    " sh:property [ sh:path pv:cycle ; sh:minCount 1 ] .", "utf-8")
    executable = shutil.which("protovalidate", path=str(Path(sys.executable).parent)) or "protovalidate"
    done = subprocess.run([executable, "check", "--regimens", str(site),
                           "examples/orders/valid/KRd-cycle1.jsonld"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert "http://example.org/S" in done.stderr and "sh:property" in done.stderr


def test_validator_turns_a_catalogue_error_into_a_knowledge_base_error():
    from chemo_protovalidate.check.knowledge import KnowledgeBaseError

    shapes = Graph().parse(data=PREFIXES + "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:in ( ex:a ) .",
                           format="turtle")
    with pytest.raises(KnowledgeBaseError, match="sh:in"):
        Pipeline(KnowledgeBase(graph=Graph(), shapes=shapes, context={}))
