"""What a run's settings and release.ttl put into the knowledge base (rule book v2: C23, C25).

--weight-change-threshold replaces pv:percent on every pv:WeightChangeSetting, as --tolerance does on every
pv:DoseTolerance; the knowledge base's version is read from the ontology node, exactly one of each.
"""

from __future__ import annotations

from decimal import Decimal

import json

import pytest
from rdflib import RDF, Graph, Literal, URIRef

from chemo_protovalidate.check.knowledge import KnowledgeBase, KnowledgeBaseError, read_version
from chemo_protovalidate.check.pipeline import Pipeline
from chemo_protovalidate.model.findings import KnowledgeBaseVersion
from chemo_protovalidate.model.vocabulary import ONTOLOGY, PV
from chemo_protovalidate.settings import ConfigError, load_settings
from conftest import EXAMPLES, ROOT

KB = "https://w3id.org/protovalidate/kb/"
DATA = f"""@prefix pv: <{PV}> . @prefix kb: <{KB}> .
kb:tolerance a pv:DoseTolerance ; pv:percent 5 .
kb:institutional a pv:WeightChangeSetting ; pv:percent 10 .
kb:second-setting a pv:WeightChangeSetting ; pv:percent 10 .
kb:carfilzomib-weight-change a pv:WeightChangeLimit ; pv:percent 20 .
"""
RELEASE = f'<{ONTOLOGY}> <{PV.ruleBookVersion}> "2" ; <{PV.knowledgeBaseRelease}> "2.0.0" .\n'


def _percents(kb: KnowledgeBase) -> dict[str, Decimal]:
    return {str(s)[len(KB):]: o.toPython() for s, o in kb.graph.subject_objects(PV.percent)}


def _kb(data: str = DATA, **settings) -> KnowledgeBase:
    return KnowledgeBase.from_graphs(Graph().parse(data=data, format="turtle"), Graph(), {}, **settings)


def test_the_weight_change_setting_replaces_every_institutional_threshold_and_nothing_else():
    assert _percents(_kb()) == {"tolerance": 5, "institutional": 10, "second-setting": 10,
                                "carfilzomib-weight-change": 20}
    assert _percents(_kb(weight_change_percent=12.5)) == {
        "tolerance": 5, "institutional": Decimal("12.5"), "second-setting": Decimal("12.5"),
        "carfilzomib-weight-change": 20}, "a label figure (carfilzomib's 20 %) is no setting"
    assert _percents(_kb(tolerance_percent=7, weight_change_percent=0)) == {
        "tolerance": 7, "institutional": 0, "second-setting": 0, "carfilzomib-weight-change": 20}


def test_a_setting_is_one_literal_however_it_was_written():
    graph = _kb(weight_change_percent=15.0).graph
    assert graph.value(URIRef(KB + "institutional"), PV.percent) == Literal(Decimal("15"))
    assert len(list(graph.objects(URIRef(KB + "institutional"), PV.percent))) == 1


def test_the_shipped_knowledge_base_holds_the_settings_the_option_replaces():
    kb = KnowledgeBase.load(weight_change_percent=33)
    settings = set(kb.graph.subjects(RDF.type, PV.WeightChangeSetting))
    assert settings, "the institutional threshold of rule book 2.2 (daratumumab IV, cyclophosphamide)"
    assert all(kb.graph.value(s, PV.percent).toPython() == 33 for s in settings)
    tolerances = set(kb.graph.subjects(RDF.type, PV.DoseTolerance))
    assert tolerances and not tolerances & settings


def test_the_version_is_read_from_the_ontology_node():
    kb = _kb(DATA + RELEASE)
    assert kb.version == KnowledgeBaseVersion("2", "2.0.0")
    assert str(kb.version) == "knowledge base 2.0.0 (rule book v2)"
    assert _kb().version is None, "a graph without the ontology (a test's, a template's) has none"


@pytest.mark.parametrize("release, problem", [
    (f'<{ONTOLOGY}> <{PV.ruleBookVersion}> "2" .', "knowledgeBaseRelease"),
    (f'<{ONTOLOGY}> <{PV.knowledgeBaseRelease}> "2.0.0" .', "ruleBookVersion"),
    (RELEASE + f'<{ONTOLOGY}> <{PV.knowledgeBaseRelease}> "2.0.1" .', "'2.0.0', '2.0.1'"),
    (f'<{ONTOLOGY}> <{PV.ruleBookVersion}> " " ; <{PV.knowledgeBaseRelease}> "2.0.0" .', "ruleBookVersion"),
], ids=["no-release", "no-rule-book", "two-releases", "blank"])
def test_an_ontology_that_does_not_say_which_it_is_cannot_judge_an_order(release, problem):
    with pytest.raises(KnowledgeBaseError, match=problem):
        _kb(DATA + release)


def test_the_shipped_release_file_states_both_once():
    release = Graph().parse(ROOT / "ontology" / "release.ttl")
    version = read_version(release)
    assert version.rule_book == "2"
    assert KnowledgeBase.load().version == version


@pytest.mark.parametrize("value", ["60", "-1", '"10"', "true", "nan"])
def test_pyproject_weight_change_threshold_is_a_percentage_from_0_to_50(tmp_path, value):
    (tmp_path / "pyproject.toml").write_text(f"[tool.protovalidate]\nweight-change-threshold = {value}\n", "utf-8")
    with pytest.raises(ConfigError, match="weight-change-threshold is a percentage from 0 to 50"):
        load_settings(tmp_path)


def test_pyproject_weight_change_threshold_is_read(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.protovalidate]\nweight-change-threshold = 12.5\n", "utf-8")
    assert load_settings(tmp_path).weight_change_threshold == 12.5


@pytest.mark.parametrize("value", ['"info"', '"off"', '"Warning"'])
def test_pyproject_fail_on_never_accepts_information(tmp_path, value):
    (tmp_path / "pyproject.toml").write_text(f"[tool.protovalidate]\nfail-on = {value}\n", "utf-8")
    with pytest.raises(ConfigError, match="fail-on is error or warning"):
        load_settings(tmp_path)


@pytest.fixture(scope="module")
def drifted_kcyd() -> bytes:
    """Rule book 8.3's dose-basis example on KCyD: basis 80 kg / 2.0 m2, 68 kg now (r = 15 %), cyclophosphamide
    300 mg/m2 from the basis (600 mg), carfilzomib 56 mg/m2 (112 mg)."""
    order = json.loads((EXAMPLES / "valid" / "KCyD-cycle2.jsonld").read_text("utf-8"))
    order["patient"]["weight"] = {"value": 68, "unit": "kg"}
    order["patient"]["doseBasis"] = {"weight": {"value": 80, "unit": "kg"}, "bsa": {"value": 2.0, "unit": "m2"}}
    for administration in order["administrations"]:
        amount = {"carfilzomib": 112, "cyclophosphamide": 600}.get(administration["agent"])
        if amount is not None:
            administration["dose"]["value"] = amount
    return json.dumps(order).encode()


@pytest.mark.parametrize("threshold, recalculate", [(None, True), (14.9, True), (15, False), (20, False)],
                         ids=["default-10", "14.9", "15-exactly", "20"])
def test_the_weight_change_threshold_decides_for_cyclophosphamide_not_carfilzomib(drifted_kcyd, threshold, recalculate):
    result = Pipeline(weight_change_percent=threshold).check("drift.jsonld", drifted_kcyd)
    agents = sorted(f.agent for f in result.all_findings() if f.rule_id == "weight-change-recalculate")
    assert agents == (["cyclophosphamide"] if recalculate else []), [f.message for f in result.all_findings()]


def test_pyproject_rule_ids_are_held_to_the_rules_the_check_has(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.protovalidate.rules]\ninfusion-too-short = "warning"\ninfusion-too-shrt = "off"\n', "utf-8")
    settings = load_settings(tmp_path)
    known = Pipeline().rules()
    with pytest.raises(ConfigError, match=r"infusion-too-shrt \(did you mean infusion-too-short\?\)") as refused:
        settings.check_rule_ids(known)
    assert "infusion-too-short " not in str(refused.value).replace("mean infusion-too-short?", "")
    settings.check_rule_ids([*known, "infusion-too-shrt"])  # a known id passes


def test_pyproject_regimen_folders_are_relative_to_the_file_and_must_exist(tmp_path):
    (tmp_path / "site-regimens").mkdir()
    (tmp_path / "deeper").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.protovalidate]\nregimens = ["site-regimens"]\n', "utf-8")
    assert load_settings(tmp_path / "deeper").regimens == (tmp_path / "site-regimens",)
    (tmp_path / "pyproject.toml").write_text('[tool.protovalidate]\nregimens = ["site-regimen"]\n', "utf-8")
    with pytest.raises(ConfigError, match="regimens: no such folder .*site-regimen$"):
        load_settings(tmp_path)
