"""`--format operationoutcome` (docs/fhir.md): one Bundle of OperationOutcomes, one issue per finding.

The reports come from the real Pipeline on example orders, from the repository's root (as the command
runs). The snapshot is tests/snapshots/report.operationoutcome.json; `UPDATE_SNAPSHOTS=1 pytest
tests/test_operationoutcome.py` writes it when missing or changed, otherwise a difference fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from chemo_protovalidate.model.findings import FileResult, Finding, KnowledgeBaseVersion, OrderResult, Severity
from chemo_protovalidate.read.fhir import fhir_rules
from chemo_protovalidate.read.jsonld import FORMAT_RULES
from chemo_protovalidate.report import RENDERERS, Report, operationoutcome
from chemo_protovalidate.report.common import described
from conftest import ROOT

SNAPSHOT = Path(__file__).parent / "snapshots" / "report.operationoutcome.json"
SNAPSHOT_KB = KnowledgeBaseVersion("0", "0.0.0-snapshot")
EXECUTABLE = shutil.which("protovalidate", path=str(Path(sys.executable).parent)) or "protovalidate"
RULE_SYSTEM = "https://w3id.org/protovalidate/fhir/CodeSystem/rule"
LINE = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line"
COL = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-col"
SOURCE_FILE = "https://w3id.org/protovalidate/fhir/StructureDefinition/source-file"
KNOWLEDGE_BASE = "https://w3id.org/protovalidate/fhir/StructureDefinition/knowledge-base"

# FHIR R4 IssueType (http://hl7.org/fhir/issue-type, 4.0.1): every code an issue may carry.
ISSUE_TYPES = {
    "invalid", "structure", "required", "value", "invariant", "security", "login", "unknown", "expired",
    "forbidden", "suppressed", "processing", "not-supported", "duplicate", "multiple-matches", "not-found",
    "deleted", "too-long", "code-invalid", "extension", "too-costly", "business-rule", "conflict", "transient",
    "lock-error", "no-store", "exception", "timeout", "incomplete", "throttled", "informational",
}

# One example order of each kind of rule (docs/fhir.md, '--format operationoutcome'), and the code its
# finding must carry: the protocol and patient rules, the lookups, the missing, the document's values,
# the reader's sizes, duplicates and structure.
CODE_CASES = [
    ("invalid/dose-level-above-protocol.jsonld", "dose-level-above-protocol", "business-rule"),
    ("warning/dose-level-reduced.jsonld", "dose-level-reduced", "business-rule"),
    ("info/antiviral-prophylaxis-missing-carfilzomib.jsonld", "antiviral-prophylaxis-missing", "business-rule"),
    ("invalid/unknown-agent.jsonld", "unknown-agent", "code-invalid"),
    ("invalid/unknown-regimen.jsonld", "unknown-regimen", "code-invalid"),
    ("invalid/order-missing-field.jsonld", "order-missing-field", "required"),
    ("invalid/administration-missing-field.jsonld", "administration-missing-field", "required"),
    ("invalid/missing-patient-data-weight.jsonld", "missing-patient-data", "required"),
    ("invalid/no-order.jsonld", "no-order", "required"),
    ("invalid/unit-not-allowed.jsonld", "unit-not-allowed", "value"),
    ("invalid/not-a-number.jsonld", "not-a-number", "value"),
    ("invalid/day-out-of-range.jsonld", "day-out-of-range", "value"),
    ("invalid/duplicate-key.jsonld", "duplicate-key", "duplicate"),
    ("invalid/duplicate-order-id.jsonld", "duplicate-order-id", "duplicate"),
    ("invalid/remote-context.jsonld", "remote-context", "not-supported"),
    ("invalid/not-json.jsonld", "not-json", "structure"),
    ("invalid/undefined-key.jsonld", "undefined-key", "structure"),
]


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def _report(validator, *paths: str, **given) -> Report:
    results = [validator.check(p, (ROOT / p).read_bytes()) for p in paths]
    return Report(results, Severity.ERROR, validator.rules(), knowledge_base=validator.kb.version, **given)


def _rendered(report: Report) -> dict:
    return json.loads(operationoutcome.render(report))


def _outcomes(report: Report) -> list[dict]:
    return [entry["resource"] for entry in _rendered(report)["entry"]]


def _extension(element: dict, url: str):
    found = [e for e in element.get("extension", []) if e["url"] == url]
    assert len(found) <= 1, element
    return next((value for e in found for key, value in e.items() if key.startswith("value")), None)


def _example(name: str) -> str:
    return f"examples/orders/{name}"


# --- the Bundle --------------------------------------------------------------------------------------


def test_one_bundle_of_one_outcome_per_file_in_the_order_read(validator):
    paths = [_example("invalid/dose-level-above-protocol.jsonld"), _example("valid/KRd-cycle1.jsonld"),
             _example("invalid/not-json.jsonld")]
    report = _report(validator, *paths)
    bundle = _rendered(report)
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    outcomes = [entry["resource"] for entry in bundle["entry"]]
    assert [o["resourceType"] for o in outcomes] == ["OperationOutcome"] * 3
    assert [_extension(o, SOURCE_FILE) for o in outcomes] == paths
    kb = validator.kb.version
    assert {_extension(o, KNOWLEDGE_BASE) for o in outcomes} == {f"{kb.release} (rule book v{kb.rule_book})"}


def test_a_single_file_is_still_a_bundle(validator):
    bundle = _rendered(_report(validator, _example("valid/KRd-cycle1.jsonld")))
    assert bundle["resourceType"] == "Bundle" and len(bundle["entry"]) == 1


def test_a_run_of_no_file_is_a_bundle_without_an_empty_entry_list():
    """FHIR JSON has no empty arrays: the Bundle of no file has no entry at all."""
    assert _rendered(Report([])) == {"resourceType": "Bundle", "type": "collection"}


def test_without_a_knowledge_base_the_outcome_names_only_its_file():
    [outcome] = _outcomes(Report([FileResult("a.jsonld")]))
    assert [e["url"] for e in outcome["extension"]] == [SOURCE_FILE]


# --- one issue per finding ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", [
    "invalid/dose-level-above-protocol.jsonld",  # one finding on two days: two issues, as json counts them
    "invalid/duplicate-order-id.jsonld",
    "warning/premedication-missing.jsonld",
    "invalid/not-json.jsonld",  # a finding about the file, no order
])
def test_one_issue_per_finding_in_report_order(validator, name):
    report = _report(validator, _example(name))
    expected = [(order, f) for _, order, f in report.findings(by_day=False)]
    assert expected, f"{name} gives no finding: the test would check nothing"
    [outcome] = _outcomes(report)
    assert [i["details"]["coding"] for i in outcome["issue"]] == [
        [{"system": RULE_SYSTEM, "code": f.rule_id}] for _, f in expected]
    assert [i["diagnostics"] for i in outcome["issue"]] == [described(order, replace(f, fhir_path=None))
                                                             for order, f in expected]


def test_the_diagnostics_are_the_text_line_after_its_place(validator):
    report = _report(validator, _example("invalid/dose-level-above-protocol.jsonld"))
    [outcome] = _outcomes(report)
    diagnostics = outcome["issue"][0]["diagnostics"]
    assert diagnostics.startswith("order urn:example:order:0001 (KRd, cycle 1): carfilzomib on cycle 1 day 1: ")
    assert diagnostics.endswith("<https://www.kyprolis-hcp.com/kd-dosing/>]")


def test_a_file_without_findings_has_one_information_issue(validator):
    [outcome] = _outcomes(_report(validator, _example("valid/KRd-cycle1.jsonld")))
    assert outcome["issue"] == [{"severity": "information", "code": "informational", "diagnostics": "no findings"}]


def test_a_tool_error_is_fatal_exception():
    report = Report([FileResult("orders/missing.jsonld", tool_error="no such file or directory")])
    [outcome] = _outcomes(report)
    assert outcome["issue"] == [{"severity": "fatal", "code": "exception",
                                 "diagnostics": "tool error: no such file or directory"}]


# --- severities and codes ----------------------------------------------------------------------------


@pytest.mark.parametrize("severity, fhir", [(Severity.ERROR, "error"), (Severity.WARNING, "warning"),
                                            (Severity.INFO, "information")])
def test_severities(severity, fhir):
    order = OrderResult("urn:example:order:1", "KRd", 1, [Finding("dose-omitted", severity, "a message")])
    [outcome] = _outcomes(Report([FileResult("a.jsonld", orders=[order])]))
    assert [i["severity"] for i in outcome["issue"]] == [fhir]


@pytest.mark.parametrize("name, rule, code", CODE_CASES)
def test_the_code_of_each_kind_of_rule_on_a_real_run(validator, name, rule, code):
    [outcome] = _outcomes(_report(validator, _example(name)))
    codes = {i["code"] for i in outcome["issue"] if i["details"]["coding"][0]["code"] == rule}
    assert codes == {code}, f"{name}: {rule} gave {codes or 'no issue'}"


@pytest.mark.parametrize("rule", sorted(fhir_rules()))
def test_a_fhir_rule_carries_the_code_of_its_contract(rule):
    """Set by hand (each FHIR rule's finding as the converter will give it): the code of rules.json."""
    finding = Finding(rule, Severity(fhir_rules()[rule]["level"]), "a converter finding",
                      fhir_path="Bundle.entry[0].resource")
    [outcome] = _outcomes(Report([FileResult("a.json", findings=[finding])]))
    [issue] = outcome["issue"]
    assert issue["code"] == fhir_rules()[rule]["code"]


def test_the_codes_table_copies_the_fhir_rules_exactly():
    """The renderer may not import read/ (tests/test_architecture.py): its copy of the codes must follow
    rules.json, a rule added or re-coded there included."""
    table = json.loads((ROOT / "src/chemo_protovalidate/report/operationoutcome-codes.json").read_text("utf-8"))
    assert table["fhir"] == {rule: about["code"] for rule, about in fhir_rules().items()}


def test_the_codes_table_names_every_reader_rule_and_no_rule_twice():
    table = json.loads((ROOT / "src/chemo_protovalidate/report/operationoutcome-codes.json").read_text("utf-8"))
    listed = [rule for rules in table["groups"].values() for rule in rules] + list(table["fhir"])
    assert len(listed) == len(set(listed)), sorted({r for r in listed if listed.count(r) > 1})
    missing = set(FORMAT_RULES) - set(listed)
    assert not missing, f"reader rules without a code in operationoutcome-codes.json: {sorted(missing)}"


def _shape_rules(name: str) -> set[str]:
    import re
    return set(re.findall(r'pv:ruleId "([^"]+)"', (ROOT / "shapes" / name).read_text("utf-8")))


def test_only_protocol_and_patient_rules_fall_to_business_rule(validator):
    """A rule the table does not name is a business rule: that must stay true only of the protocol and
    patient shapes, so that a new document or reader rule fails here until it has its 8.2 code."""
    defaulted = {rule for rule in validator.rules() if rule not in operationoutcome.codes()}
    assert defaulted <= _shape_rules("protocol.ttl") | _shape_rules("patient.ttl"), (
        sorted(defaulted - _shape_rules("protocol.ttl") - _shape_rules("patient.ttl")))
    assert not _shape_rules("document.ttl") - set(operationoutcome.codes()), "a document rule falls to business-rule"
    assert operationoutcome.default_code() == "business-rule"


def test_every_rule_has_a_code_fhir_defines(validator):
    assert {operationoutcome.issue_code(rule) for rule in validator.rules()} <= ISSUE_TYPES
    assert set(operationoutcome.codes().values()) <= ISSUE_TYPES


# --- where an issue points ---------------------------------------------------------------------------


def test_line_and_column_as_the_core_extensions(validator):
    report = _report(validator, _example("invalid/dose-level-above-protocol.jsonld"))
    [outcome] = _outcomes(report)
    places = [(_extension(i, LINE), _extension(i, COL)) for i in outcome["issue"]]
    assert places == [(f.line, f.column) for _, _, f in report.findings(by_day=False)]
    assert places == [(16, 6), (16, 6)]


def test_no_place_no_extension():
    finding = Finding("not-json", Severity.ERROR, "not JSON")
    [outcome] = _outcomes(Report([FileResult("a.json", findings=[finding])]))
    assert "extension" not in outcome["issue"][0]
    [outcome] = _outcomes(Report([FileResult("a.json", findings=[replace(finding, line=3)])]))
    assert outcome["issue"][0]["extension"] == [{"url": LINE, "valueInteger": 3}]


def test_expression_only_with_a_fhir_path(validator):
    report = _report(validator, _example("invalid/dose-level-above-protocol.jsonld"))
    assert all("expression" not in i for i in _outcomes(report)[0]["issue"]), "a JSON-LD input has no FHIR path"
    path = "Bundle.entry[1].resource.dosageInstruction[0].doseAndRate[1].doseQuantity"
    result = report.results[0]
    order = replace(result.orders[0], findings=[replace(f, fhir_path=path) for f in result.orders[0].findings])
    [outcome] = _outcomes(replace(report, results=[replace(result, orders=[order])]))
    assert [i["expression"] for i in outcome["issue"]] == [[path], [path]]
    assert not any(path in i["diagnostics"] for i in outcome["issue"]), "the path is the expression, not words"


def test_the_contracts_worked_issue_word_for_word():
    """docs/fhir.md's one fault, set by hand: the issue the contract prints."""
    from chemo_protovalidate.model.findings import Source
    source = Source("https://w3id.org/protovalidate/kb/source-eastern-health",
                    "Institutional practice: 5 % variance between ordered and calculated dose (Eastern Health)",
                    "http://www.easternhealth.ca/WebInWeb.aspx?d=3&id=1729&p=1727")
    message = ("carfilzomib: BSA 1.84 m2 (Mosteller) × 56 mg/m2 = 103.3 mg; ordered 113.6 mg (+10 %); "
               "allowed 98.1–108.4 mg.")
    path = "Bundle.entry[1].resource.dosageInstruction[0].doseAndRate[1].doseQuantity"
    finding = Finding("dose-amount-mismatch", Severity.ERROR, message, source, agent="carfilzomib", cycle=1,
                      value="113.6", line=87, column=17, fhir_path=path)
    order = OrderResult("urn:example:order:0001", "KRd", 1, [finding])
    [outcome] = _outcomes(Report([FileResult("bundle.json", orders=[order])]))
    assert outcome["issue"] == [{
        "extension": [{"url": LINE, "valueInteger": 87}, {"url": COL, "valueInteger": 17}],
        "severity": "error",
        "code": "business-rule",
        "details": {"coding": [{"system": RULE_SYSTEM, "code": "dose-amount-mismatch"}]},
        "diagnostics": "order urn:example:order:0001 (KRd, cycle 1): " + message + " [source: Institutional "
                       "practice: 5 % variance between ordered and calculated dose (Eastern Health) "
                       "<http://www.easternhealth.ca/WebInWeb.aspx?d=3&id=1729&p=1727>]",
        "expression": [path],
    }]


# --- the command and the snapshot --------------------------------------------------------------------


def test_registered_and_given_by_the_command():
    assert RENDERERS["operationoutcome"] is operationoutcome.render
    done = subprocess.run([EXECUTABLE, "--format", "operationoutcome", _example("invalid/off-schedule.jsonld")],
                          capture_output=True, cwd=ROOT, timeout=120)
    assert done.returncode == 1, done.stderr.decode()
    [entry] = json.loads(done.stdout)["entry"]
    assert [i["details"]["coding"][0]["code"] for i in entry["resource"]["issue"]] == ["off-schedule"]


def test_snapshot(validator):
    report = _report(validator, _example("invalid/dose-level-above-protocol.jsonld"))
    report = replace(report, tool_version="0.0.0-snapshot", knowledge_base=SNAPSHOT_KB)
    actual = operationoutcome.render(report)
    assert actual == operationoutcome.render(report), "two renderings of one report differ"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        if not SNAPSHOT.exists() or SNAPSHOT.read_text(encoding="utf-8") != actual:
            SNAPSHOT.write_text(actual, encoding="utf-8")
        return
    assert SNAPSHOT.exists(), f"no snapshot {SNAPSHOT}: run with UPDATE_SNAPSHOTS=1 and review it"
    assert actual == SNAPSHOT.read_text(encoding="utf-8"), f"the output differs from {SNAPSHOT.name}"


# --- FHIR inputs (docs/fhir.md: a FHIR order's findings point at its elements) -----------------------

FHIR_EXAMPLES = ROOT / "examples" / "fhir"
CONVERTER = importlib.util.find_spec("chemo_protovalidate.read.fhir.convert") is not None
needs_fhir = pytest.mark.skipif(not CONVERTER or not FHIR_EXAMPLES.is_dir(),
                                reason="the FHIR converter and examples/fhir/ are not in the project yet")


@needs_fhir
def test_a_fhir_bundle_with_one_fault_gives_the_contracts_issue(validator):
    """The contract's worked fault (fhir.md 9.4): among the order's five issues, dose-amount-mismatch at
    line 87, column 17, with the FHIR path of the doseQuantity as its expression."""
    report = _report(validator, "examples/fhir/KRd-cycle1-bundle-dose-mismatch.json")
    [outcome] = _outcomes(report)
    findings = [f for _, _, f in report.findings(by_day=False)]
    assert len(outcome["issue"]) == len(findings) == 5
    assert [i["expression"] for i in outcome["issue"]] == [[f.fhir_path] for f in findings]
    [issue] = [i for i in outcome["issue"] if i["details"]["coding"][0]["code"] == "dose-amount-mismatch"]
    assert (issue["severity"], issue["code"]) == ("error", "business-rule")
    assert (_extension(issue, LINE), _extension(issue, COL)) == (87, 17)
    assert issue["expression"] == ["Bundle.entry[1].resource.dosageInstruction[0].doseAndRate[1].doseQuantity"]
    assert "(at " not in issue["diagnostics"], "the path is the expression, not words of the diagnostics"


@needs_fhir
def test_a_converter_finding_carries_its_fhir_code(validator):
    """The RequestGroup without its cycle-number: the converter's findings, with rules.json's codes."""
    order = json.loads((FHIR_EXAMPLES / "KRd-cycle1-requestgroup.json").read_text("utf-8"))
    order["extension"] = [e for e in order["extension"] if not e["url"].endswith("/cycle-number")] or None
    if order["extension"] is None:
        del order["extension"]
    result = validator.check("no-cycle.json", json.dumps(order, indent=2).encode())
    [outcome] = _outcomes(Report([result]))
    coded = {i["details"]["coding"][0]["code"]: i for i in outcome["issue"]}
    assert coded["fhir-cycle-missing"]["code"] == "required"
    assert coded["fhir-order-not-checked"]["code"] == "incomplete"
    assert coded["fhir-cycle-missing"]["expression"] == ["RequestGroup"]
    assert set(coded) == {"fhir-cycle-missing", "fhir-order-not-checked"}, "an order not checked has no clinical finding"
