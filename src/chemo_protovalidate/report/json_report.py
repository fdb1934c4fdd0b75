"""`--format json`: the versioned report of docs/report-format.md (schema: src/chemo_protovalidate/report/schema/report-v1.json).

Version 1 only ever gains keys (docs/report-format.md, Versioning): inside ``tool``, and the FHIR keys of
docs/fhir.md (``results[].fhirPath``, ``orders[].checked``, ``orders[].fhir``).
"""

from __future__ import annotations

import json

from chemo_protovalidate.model.findings import Finding, OrderResult
from chemo_protovalidate.report.common import Report, summary

VERSION = 1


SUMMARY = ("files", "orders", "errors", "warnings")
"""The counts of version 1's summary, a closed object: information is counted from the results."""


def render(report: Report) -> str:
    counts = summary(report.results)
    tool = {"name": "protovalidate", "version": report.tool_version}
    if report.knowledge_base is not None:
        tool["knowledgeBase"] = {"ruleBookVersion": report.knowledge_base.rule_book,
                                 "release": report.knowledge_base.release}
    document = {
        "version": VERSION,
        "tool": tool,
        "failOn": report.fail_on.value,
        "summary": {**{key: counts[key] for key in SUMMARY},
                    "conforms": all(report.conforms(r) for r in report.results)},
        "files": [{
            "path": r.path,
            "conforms": report.conforms(r),
            "error": r.tool_error,
            "results": [_result(f, None) for f in r.findings],
            "orders": [{
                "id": o.label, "regimen": o.regimen, "cycle": o.cycle,
                "conforms": o.conforms(report.fail_on), "checked": o.checked, "fhir": o.fhir,
                "results": [_result(f, o) for f in o.findings],
            } for o in r.orders],
        } for r in report.results],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _result(finding: Finding, order: OrderResult | None) -> dict:
    return {
        "rule": finding.rule_id,
        "severity": finding.severity.value,
        "message": finding.message,
        "order": order.label if order else None,
        "agent": finding.agent,
        "cycle": finding.cycle if finding.cycle is not None else (order.cycle if order else None),
        "day": finding.day,
        "value": finding.value,
        "line": finding.line,
        "column": finding.column,
        "fhirPath": finding.fhir_path,
        "source": None if finding.source is None else {
            "id": finding.source.iri, "label": finding.source.label, "url": finding.source.url},
    }
