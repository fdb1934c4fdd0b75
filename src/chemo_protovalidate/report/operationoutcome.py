"""`--format operationoutcome`: the findings as FHIR R4 (docs/fhir.md, '--format operationoutcome').

One Bundle of type collection holds one OperationOutcome per file, in the order the files were read, so
that an EHR or an integration engine reads a run of many files as one resource. Each finding is one
issue, in report order and one per day (as the json report counts them, not as the text report groups
them). The issue codes are data (operationoutcome-codes.json): this room may import only the model, so
the FHIR rules' codes are kept there as a copy of read/fhir/rules.json, which a test holds it to.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import lru_cache
from importlib import resources

from chemo_protovalidate.model.findings import FileResult, Finding, OrderResult, Severity
from chemo_protovalidate.report.common import Report, described

PROJECT = "https://w3id.org/protovalidate/fhir"
RULE_SYSTEM = f"{PROJECT}/CodeSystem/rule"
SOURCE_FILE = f"{PROJECT}/StructureDefinition/source-file"
KNOWLEDGE_BASE = f"{PROJECT}/StructureDefinition/knowledge-base"
ISSUE_LINE = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line"
ISSUE_COL = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-col"

SEVERITIES = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "information"}
"""FHIR's IssueSeverity for each of ours; `fatal` is kept for a file the tool could not check."""


@lru_cache(maxsize=1)
def codes() -> dict[str, str]:
    """rule id -> OperationOutcome issue.code, for every rule the table names (the others: default_code())."""
    table = _table()
    by_rule = {rule: code for code, rules in table["groups"].items() for rule in rules}
    by_rule.update(table["fhir"])
    return by_rule


def default_code() -> str:
    """The code of a rule the table does not name: the protocol and patient rules (business-rule)."""
    return _table()["default"]


def issue_code(rule_id: str) -> str:
    return codes().get(rule_id, default_code())


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads((resources.files(__package__) / "operationoutcome-codes.json").read_text("utf-8"))


def render(report: Report) -> str:
    found: dict[int, list[tuple[OrderResult | None, Finding]]] = {id(r): [] for r in report.results}
    for result, order, finding in report.findings(by_day=False):
        found[id(result)].append((order, finding))
    bundle: dict = {"resourceType": "Bundle", "type": "collection"}
    if report.results:  # FHIR JSON forbids an empty array: a run of no file is a Bundle without entry
        bundle["entry"] = [{"resource": _outcome(report, r, found[id(r)])} for r in report.results]
    return json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"


def _outcome(report: Report, result: FileResult, findings: list[tuple[OrderResult | None, Finding]]) -> dict:
    extension = [{"url": SOURCE_FILE, "valueString": result.path}]
    if report.knowledge_base is not None:
        kb = report.knowledge_base
        extension.append({"url": KNOWLEDGE_BASE, "valueString": f"{kb.release} (rule book v{kb.rule_book})"})
    issues = []
    if result.tool_error:  # exit status 2: the file was not checked, which no finding's severity says
        issues.append({"severity": "fatal", "code": "exception", "diagnostics": f"tool error: {result.tool_error}"})
    issues += [_issue(order, finding) for order, finding in findings]
    if not issues:  # an OperationOutcome needs one issue at least (R4: issue 1..*)
        issues.append({"severity": "information", "code": "informational", "diagnostics": "no findings"})
    return {"resourceType": "OperationOutcome", "extension": extension, "issue": issues}


def _issue(order: OrderResult | None, finding: Finding) -> dict:
    issue: dict = {}
    place = [{"url": url, "valueInteger": n} for url, n in ((ISSUE_LINE, finding.line), (ISSUE_COL, finding.column))
             if n]
    if place:
        issue["extension"] = place
    issue["severity"] = SEVERITIES[finding.severity]
    issue["code"] = issue_code(finding.rule_id)
    issue["details"] = {"coding": [{"system": RULE_SYSTEM, "code": finding.rule_id}]}
    # The text line's words without its "(at PATH)": an issue gives the path as its expression.
    issue["diagnostics"] = described(order, replace(finding, fhir_path=None))
    if finding.fhir_path:  # JSON-LD and RDF inputs have no FHIR path: their issues carry line and column only
        issue["expression"] = [finding.fhir_path]
    return issue
