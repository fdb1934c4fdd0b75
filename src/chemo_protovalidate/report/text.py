"""`--format text`: one finding per line, compiler style, so terminals and editors link to the place."""

from __future__ import annotations

from chemo_protovalidate.model.findings import Severity
from chemo_protovalidate.report.common import Report, described, place

# Only the place and the severity word are coloured: the rest must read the same without colour.
_BOLD, _RESET = "\x1b[1m", "\x1b[0m"
_SEVERITY_COLOUR = {Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.INFO: "\x1b[36m"}


def render(report: Report) -> str:
    paint = (lambda text, code: f"{code}{text}{_RESET}") if report.color else (lambda text, code: text)
    lines = []
    for result in report.results:
        if result.tool_error:
            lines.append(f"{paint(result.path, _BOLD)}: tool error: {result.tool_error}")
    for result, order, finding in report.findings():
        severity = paint(finding.severity.value, _SEVERITY_COLOUR[finding.severity])
        lines.append(f"{paint(place(result.path, finding), _BOLD)}: {severity}[{finding.rule_id}] "
                     f"{described(order, finding)}")
    return "".join(line + "\n" for line in lines)
