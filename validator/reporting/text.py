"""`--format text`: one finding per line, compiler style, so terminals and editors link to the place."""

from __future__ import annotations

from .model import Report, order_title, source_text


def render(report: Report) -> str:
    lines = []
    for result in report.results:
        if result.tool_error:
            lines.append(f"{result.path}: tool error: {result.tool_error}")
    for result, order, finding in report.findings():
        place = result.path + "".join(f":{n}" for n in (finding.line, finding.column) if n)
        subject = f"{order_title(order)}: " if order is not None else ""
        source = f" [source: {source_text(finding)}]" if finding.source is not None else ""
        lines.append(f"{place}: {finding.severity.value}[{finding.rule_id}] {subject}{finding.message}{source}")
    return "".join(line + "\n" for line in lines)
