"""Renderers: one finding model in, one format out. They only render."""

from __future__ import annotations

import json
from typing import Callable

from . import __version__
from .findings import FileResult, Finding, OrderResult
from .rules import Severity

REPORT_VERSION = 1


def render_text(results: list[FileResult], fail_on: Severity) -> str:
    lines = []
    for result in results:
        if result.tool_error:
            lines.append(f"{result.path}: tool error: {result.tool_error}")
        for finding in result.findings:
            lines.append(_text_line(result.path, None, finding))
        for order in result.orders:
            for finding in order.findings:
                lines.append(_text_line(result.path, order, finding))
    return "".join(line + "\n" for line in lines)


def _text_line(path: str, order: OrderResult | None, finding: Finding) -> str:
    place = path + "".join(f":{n}" for n in (finding.line, finding.column) if n)
    subject = ""
    if order is not None:
        what = ", ".join(x for x in (order.regimen, f"cycle {order.cycle}" if order.cycle else None) if x)
        subject = f"order {order.label}" + (f" ({what})" if what else "") + ": "
    source = ""
    if finding.source is not None:
        source = f" [source: {finding.source.label}" + (f" <{finding.source.url}>" if finding.source.url else "") + "]"
    return f"{place}: {finding.severity.value}[{finding.rule_id}] {subject}{finding.message}{source}"


def render_json(results: list[FileResult], fail_on: Severity) -> str:
    def result_json(finding: Finding, order: OrderResult | None) -> dict:
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
            "source": None if finding.source is None else {
                "id": finding.source.iri, "label": finding.source.label, "url": finding.source.url},
        }

    counts = summary(results)
    document = {
        "version": REPORT_VERSION,
        "tool": {"name": "protovalidate", "version": __version__},
        "failOn": fail_on.value,
        "summary": {**counts, "conforms": all(r.conforms(fail_on) and not r.tool_error for r in results)},
        "files": [{
            "path": r.path,
            "conforms": r.conforms(fail_on) and not r.tool_error,
            "error": r.tool_error,
            "results": [result_json(f, None) for f in r.findings],
            "orders": [{
                "id": o.label, "regimen": o.regimen, "cycle": o.cycle,
                "conforms": o.conforms(fail_on),
                "results": [result_json(f, o) for f in o.findings],
            } for o in r.orders],
        } for r in results],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def summary(results: list[FileResult]) -> dict[str, int]:
    findings = [f for r in results for f in r.all_findings()]
    return {
        "files": len(results),
        "orders": sum(len(r.orders) for r in results),
        "errors": sum(f.severity is Severity.ERROR for f in findings),
        "warnings": sum(f.severity is Severity.WARNING for f in findings),
    }


def summary_line(results: list[FileResult], fail_on: Severity) -> str:
    counts = summary(results)
    failing = sum(not r.conforms(fail_on) or bool(r.tool_error) for r in results)
    tally = f"{_plural(counts['errors'], 'error')}, {_plural(counts['warnings'], 'warning')}"
    return (f"protovalidate: {tally} in {failing} of {_plural(counts['files'], 'file')} failing "
            f"(fail on {fail_on.value}); {_plural(counts['orders'], 'order')} checked")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


RENDERERS: dict[str, Callable[[list[FileResult], Severity], str]] = {
    "text": render_text,
    "json": render_json,
}
