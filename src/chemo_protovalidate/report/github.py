"""`--format github`: GitHub Actions workflow commands, one annotation per finding.

`::error file=PATH,line=L,col=C,title=protovalidate (RULE)::MESSAGE`; warning →
`::warning`, info → `::notice`. Escaping as actions/toolkit
`packages/core/src/command.ts` does it: data `%` `\\r` `\\n`; properties also `:` `,`.
"""

from __future__ import annotations

from chemo_protovalidate.model.findings import Severity
from chemo_protovalidate.report.common import Report, described, repo_path

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render(report: Report) -> str:
    lines = []
    for result in report.results:
        if result.tool_error:
            lines.append(_command("error", {"file": repo_path(result.path), "title": "protovalidate (tool error)"},
                                  f"tool error: {result.tool_error}"))
    for result, order, finding in report.findings():
        properties = {"file": repo_path(result.path)}
        if finding.line:
            properties["line"] = str(finding.line)
            if finding.column:
                properties["col"] = str(finding.column)
        properties["title"] = f"protovalidate ({finding.rule_id})"
        lines.append(_command(COMMANDS[finding.severity], properties, described(order, finding)))
    return "".join(line + "\n" for line in lines)


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(name: str, properties: dict[str, str], message: str) -> str:
    given = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name} {given}::{escape_data(message)}"
