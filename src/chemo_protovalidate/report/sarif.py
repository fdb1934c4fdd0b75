"""`--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

What GitHub needs (docs "SARIF support for code scanning"; SARIF multitool GH rules):
stable rule ids with help text, `region.startLine` on every result, paths
relative to the repository (we use the working directory: CI runs from the
checkout), and fingerprints that stay put across runs. Keys are sorted and
nothing depends on the clock, so the same run gives the same bytes.

The knowledge base that judged the orders (rule book v2, C25) is a tool
extension (SARIF 3.19.3, `tool.extensions`: a toolComponent whose `version`
is the knowledge base's release) and a property bag of the driver. A rule id
that names several shapes (one per severity) is one rule, its default level
the highest; each result carries its own level.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePath
from urllib.parse import quote

from chemo_protovalidate.model.findings import FileResult, Finding, OrderResult, RuleInfo, Severity
from chemo_protovalidate.report.common import Report, order_title, repo_path

SCHEMA = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://w3id.org/protovalidate"
KNOWLEDGE_BASE = "protovalidate-knowledge-base"
FINGERPRINT = "protovalidate/v1"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render(report: Report) -> str:
    rules = _rules(report)
    index = {rule["id"]: n for n, rule in enumerate(rules)}
    results = [_result(file, order, finding, index) for file, order, finding in report.findings()]
    notifications = [{
        "level": "error",
        "message": {"text": f"{file.path}: {file.tool_error}"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact_uri(file.path)}}}],
    } for file in report.results if file.tool_error]
    driver = {
        "name": "protovalidate",
        "version": report.tool_version,
        "informationUri": INFORMATION_URI,
        "rules": rules,
    }
    tool: dict = {"driver": driver}
    if report.knowledge_base is not None:
        kb = report.knowledge_base
        driver["properties"] = {"knowledgeBase": {"ruleBookVersion": kb.rule_book, "release": kb.release}}
        tool["extensions"] = [{
            "name": KNOWLEDGE_BASE,
            "fullName": f"protovalidate {kb}",
            "version": kb.release,
            "informationUri": INFORMATION_URI,
            "properties": {"ruleBookVersion": kb.rule_book},
        }]
    run = {
        "tool": tool,
        "invocations": [{
            "executionSuccessful": not notifications,
            **({"toolExecutionNotifications": notifications} if notifications else {}),
        }],
        # Columns count characters of the decoded text (Python str indexes).
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    document = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def artifact_uri(path: str) -> str:
    """`artifactLocation.uri`: a relative URI reference for files under the working directory."""
    relative = repo_path(path)
    if PurePath(relative).is_absolute():
        return Path(relative).as_uri()
    return quote(relative, safe="/")


def fingerprint(finding: Finding, path: str, order: OrderResult | None) -> str:
    """Stable across runs and machines: no line numbers, so inserting a line above keeps the match."""
    parts = (finding.rule_id, repo_path(path), order.label if order else "", finding.agent or "",
             "" if finding.day is None else str(finding.day), finding.message)
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def _rules(report: Report) -> list[dict]:
    infos = dict(report.rules)
    for _, _, finding in report.findings():  # a finding whose rule the catalogue does not list still needs one
        infos.setdefault(finding.rule_id, RuleInfo(finding.rule_id, finding.severity, finding.rule_id))
    return [_rule(infos[rule_id]) for rule_id in sorted(infos)]


def _rule(info: RuleInfo) -> dict:
    source = info.source
    help_text = info.description
    if source is not None:
        help_text += f"\n\nSource: {source.label}" + (f" <{source.url}>" if source.url else "")
    if info.severities:
        help_text += (f"\n\nReported as {' or '.join(LEVELS[s] for s in info.severities)}, by the order; each "
                      "result gives its level. The description and source above are those of the highest level.")
    rule = {
        "id": info.rule_id,
        "name": info.rule_id,
        "shortDescription": {"text": info.description},
        "fullDescription": {"text": info.description},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": LEVELS[info.severity]},
    }
    if source is not None and source.url:
        rule["helpUri"] = source.url
    levels = [LEVELS[s] for s in info.severities] or None  # only for an id with several severities
    properties = {key: value for key, value in (("shape", info.shape), ("source", source.iri if source else None),
                                                ("levels", levels)) if value}
    if properties:
        rule["properties"] = properties
    return rule


def _result(file: FileResult, order: OrderResult | None, finding: Finding, index: dict[str, int]) -> dict:
    subject = f"{order_title(order)}: " if order is not None else ""
    region = {"startLine": finding.line or 1}  # GitHub places no result without a startLine
    if finding.line and finding.column:
        region["startColumn"] = finding.column
    result = {
        "ruleId": finding.rule_id,
        "ruleIndex": index[finding.rule_id],
        "level": LEVELS[finding.severity],
        "message": {"text": subject + finding.message},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": artifact_uri(file.path)},
            "region": region,
        }, **({"logicalLocations": [{"fullyQualifiedName": finding.fhir_path, "kind": "element"}]}
              if finding.fhir_path else {})}],
        "partialFingerprints": {FINGERPRINT: fingerprint(finding, file.path, order)},
    }
    properties = {
        "order": order.label if order else None,
        "agent": finding.agent,
        "cycle": finding.cycle if finding.cycle is not None else (order.cycle if order else None),
        "day": finding.day,
        "days": list(finding.days) or None,
        "value": finding.value,
    }
    properties = {key: value for key, value in properties.items() if value is not None}
    if properties:
        result["properties"] = properties
    return result
