"""How a FHIR document reaches the rules and the reports (read/fhir_document.py, docs/fhir.md 7.1, 8.1),
apart from the converter: a Conversion made by hand stands in for it, so that these tests say whether the
mapped order is judged as its order-format twin and every finding lands on the FHIR element it came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chemo_protovalidate.read import fhir
from chemo_protovalidate.read.fhir import Conversion, Issue, MappedOrder, MappedRequest, interface
from chemo_protovalidate.report import RENDERERS, Report
from chemo_protovalidate.settings import ConfigError, Settings, open_pipeline
from conftest import EXAMPLES, check_file

TWIN = EXAMPLES / "invalid" / "dose-level-above-protocol.jsonld"

# A RequestGroup-shaped file; what matters is where its elements are written.
FILE = """{
  "resourceType": "RequestGroup",
  "id": "rg",
  "contained": [
    {"resourceType": "MedicationRequest", "id": "cfz-1",
     "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 56}}]}]},
    {"resourceType": "MedicationRequest", "id": "cfz-2"}
  ],
  "action": [{"action": [{"extension": [{"url": "days", "extension": [{"url": "day", "valueInteger": 1},
                                                                   {"url": "day", "valueInteger": 2}]}]}]}]
}
"""
DOSE = "/contained/0/dosageInstruction/0/doseAndRate/0/doseQuantity"
DAY_2 = "/action/0/action/0/extension/0/extension/1"


def _conversion(value) -> Conversion:
    order = json.loads(TWIN.read_text("utf-8"))
    del order["patient"]["@id"]
    places = {"": "", "/administrations/0": "/contained/0", "/administrations/0/doseLevel": DOSE,
              "/administrations/0/days/1": DAY_2, "/administrations/1": "/contained/1"}
    return Conversion(
        issues=[Issue("fhir-rate-not-read", "a rate in doseAndRate is not read", "/contained/0/dosageInstruction/0"),
                Issue("fhir-cycle-missing", "no cycle-number on order 2", "/contained/1")],
        orders=[MappedOrder("urn:example:order:0001", "", order, places,
                            [MappedRequest("/contained/0", "carfilzomib", "checked")], "2026-12-01T08:00:00Z", {}),
                MappedOrder("order 2", "/contained/1", None)])


@pytest.fixture
def stand_in(monkeypatch):
    monkeypatch.setattr(interface, "convert", lambda value, *args, **kwargs: _conversion(value))


def _position(pointer: str) -> tuple[int, int]:
    """Where the pointer's key (or item) starts in FILE, found independently of the reader."""
    from json_source_map import calculate

    entry = calculate(FILE)[pointer]
    start = entry.key_start or entry.value_start
    return start.line + 1, start.column + 1


def test_a_mapped_order_is_judged_as_its_twin_and_placed_on_the_fhir_elements(validator, stand_in):
    result = validator.check("order.json", FILE.encode())
    twin = check_file(validator, TWIN)
    (order, unchecked) = result.orders
    assert [(f.rule_id, f.agent, f.day) for f in order.findings] == [
        (f.rule_id, f.agent, f.day) for f in twin.orders[0].findings]
    day_1, day_2 = order.findings
    # A day without a place of its own falls back to the nearest element listed: the dose level's.
    assert (day_1.line, day_1.column) == _position(DOSE)
    assert day_1.fhir_path == "RequestGroup.contained[0].dosageInstruction[0].doseAndRate[0].doseQuantity"
    assert order.label == "urn:example:order:0001" and order.checked and order.fhir["requests"] == [
        {"path": "RequestGroup.contained[0]", "agent": "carfilzomib", "status": "checked"}]
    assert (unchecked.label, unchecked.checked, unchecked.findings) == ("order 2", False, [])
    rate, cycle = result.findings
    assert (rate.rule_id, rate.severity.value, rate.fhir_path, (rate.line, rate.column)) == (
        "fhir-rate-not-read", "warning", "RequestGroup.contained[0].dosageInstruction[0]",
        _position("/contained/0/dosageInstruction/0"))
    assert cycle.severity.value == "error" and cycle.source.iri == fhir.FHIR_CONTRACT
    assert "FHIR R4 contract" in cycle.source.label


def test_every_report_names_the_fhir_path(validator, stand_in):
    result = validator.check("order.json", FILE.encode())
    report = Report([result], rules=validator.rules(), knowledge_base=validator.kb.version)
    path = "RequestGroup.contained[0].dosageInstruction[0].doseAndRate[0].doseQuantity"
    text = RENDERERS["text"](report)
    assert f"(at {path}) [source:" in text
    document = json.loads(RENDERERS["json"](report))
    orders = document["files"][0]["orders"]
    assert [r["fhirPath"] for r in orders[0]["results"]] == [path, path]
    assert [(o["id"], o["checked"]) for o in orders] == [("urn:example:order:0001", True), ("order 2", False)]
    sarif = json.loads(RENDERERS["sarif"](report))
    logical = [loc.get("logicalLocations") for r in sarif["runs"][0]["results"] for loc in r["locations"]]
    assert {"fullyQualifiedName": path, "kind": "element"} in [entry for found in logical if found for entry in found]
    for name in ("github", "junit", "html"):
        assert path in RENDERERS[name](report), name


def test_a_json_ld_report_says_null_where_fhir_would_speak(validator):
    report = Report([check_file(validator, TWIN)], rules=validator.rules())
    order = json.loads(RENDERERS["json"](report))["files"][0]["orders"][0]
    assert (order["checked"], order["fhir"]) == (True, None)
    assert {r["fhirPath"] for r in order["results"]} == {None}


def test_a_fhir_error_rule_cannot_be_relevelled_but_a_warning_can():
    with pytest.raises(ConfigError, match="fhir-cycle-missing: a FHIR error rule cannot be re-levelled"):
        open_pipeline(Settings(rules={"fhir-cycle-missing": "warning"}))
    assert open_pipeline(Settings(rules={"fhir-rate-not-read": "off"})).levels == {"fhir-rate-not-read": "off"}


@pytest.mark.parametrize("fhir_map, words", [
    ({"regimens": {"https://example.org/PlanDefinition/krd": "KRd27"}}, "holds no regimen KRd27 (did you mean KRd-27?)"),
    ({"agents": {"http://www.nlm.nih.gov/research/umls/rxnorm": {"1302966": "lenalidomide"}}},
     "the contract maps this to 'carfilzomib'"),
    ({"routes": {"https://example.org/route": {"IVPB": "IM"}}}, "a route is one of IV, SC, PO"),
    ({"drugs": {}}, "has no table drugs"),
])
def test_a_site_map_the_knowledge_base_or_the_contract_refuses_is_a_configuration_error(tmp_path, fhir_map, words):
    import tomllib  # noqa: F401  (the map is written as the TOML a site would write)

    from chemo_protovalidate.settings import check_fhir_map

    with pytest.raises(ConfigError, match=None) as raised:
        check_fhir_map(fhir_map, "site.toml")
        open_pipeline(Settings(fhir_map=fhir_map, fhir_map_origin="site.toml"))
    assert words in str(raised.value)


def test_a_good_site_map_reaches_the_reader():
    site = {"regimens": {"https://example.org/PlanDefinition/krd": "KRd"},
            "agents": {"https://nzulm.org.nz/nzmt": {"10238921000116102": "dexamethasone"}},
            "routes": {"https://example.org/route": {"IVPB": "IV"}}}
    pipeline = open_pipeline(Settings(fhir_map=site))
    assert pipeline.fhir_map == fhir.SiteMap(site["regimens"], site["agents"], site["routes"])


def test_fhir_xml_is_refused_and_other_xml_is_read_as_rdf(validator):
    xml = b'<?xml version="1.0"?>\n<RequestGroup xmlns="http://hl7.org/fhir"><id value="x"/></RequestGroup>\n'
    assert [f.rule_id for f in validator.check("order.xml", xml).findings] == ["fhir-xml-not-supported"]
    rdf = b'<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"></rdf:RDF>\n'
    assert [f.rule_id for f in validator.check("order.rdf", rdf).findings] == ["no-order"]


# --- the command: convert, --input, --fhir-map --------------------------------------------------------------------

ROOT = EXAMPLES.parents[1]
BUNDLE = ROOT / "examples" / "fhir" / "KRd-cycle1-bundle.json"


def _run(*args: str, cwd=None):
    import subprocess
    import sys

    return subprocess.run([str(Path(sys.executable).parent / "protovalidate"), *args], cwd=cwd or ROOT,
                          capture_output=True, text=True, check=False)


def test_convert_prints_what_the_contract_says_the_bundle_maps_to():
    done = _run("convert", str(BUNDLE))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads((ROOT / "tests/data/fhir/contract/mapped-9.3.json").read_text())


def test_convert_refuses_what_is_not_fhir_unless_told():
    done = _run("convert", str(TWIN))
    assert done.returncode == 2 and "not a FHIR document" in done.stderr
    forced = _run("convert", "--input", "fhir", str(TWIN))
    assert forced.returncode == 1 and json.loads(forced.stdout) == []
    assert "error[fhir-resource-not-supported]" in forced.stderr


def test_input_decides_what_a_json_file_is():
    assert _run(str(BUNDLE)).returncode == 0                            # auto: FHIR by its resourceType
    as_jsonld = _run("--input", "jsonld", str(BUNDLE))
    assert as_jsonld.returncode == 1 and "order-missing-type" in as_jsonld.stdout
    as_fhir = _run("--input", "fhir", str(TWIN))
    assert as_fhir.returncode == 1 and "fhir-resource-not-supported" in as_fhir.stdout


def test_a_fhir_map_file_replaces_the_pyproject_map(tmp_path):
    bundle = json.loads(BUNDLE.read_text("utf-8"))
    text = json.dumps(bundle).replace("https://w3id.org/protovalidate/fhir/PlanDefinition/KRd",
                                      "https://fhir.example-hospital.org/PlanDefinition/myeloma-krd")
    (tmp_path / "order.json").write_text(text, "utf-8")
    unmapped = _run(str(tmp_path / "order.json"))
    assert unmapped.returncode == 1 and "fhir-regimen-missing" in unmapped.stdout
    (tmp_path / "map.toml").write_text('[regimens]\n"https://fhir.example-hospital.org/PlanDefinition/myeloma-krd" '
                                       '= "KRd"\n', "utf-8")
    assert _run("--fhir-map", str(tmp_path / "map.toml"), str(tmp_path / "order.json")).returncode == 0
    (tmp_path / "bad.toml").write_text('[regimens]\n"https://example.org/x" = "KRd-99"\n', "utf-8")
    refused = _run("--fhir-map", str(tmp_path / "bad.toml"), str(tmp_path / "order.json"))
    assert refused.returncode == 2 and "holds no regimen KRd-99" in refused.stderr
