"""What every renderer receives: the results of a run and what the rules are."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import PurePath

from chemo_protovalidate.model.findings import FileResult, Finding, KnowledgeBaseVersion, OrderResult, RuleInfo, Severity
from chemo_protovalidate.model.version import __version__


@dataclass
class Report:
    results: list[FileResult]
    fail_on: Severity = Severity.ERROR
    rules: dict[str, RuleInfo] = field(default_factory=dict)
    color: bool = False
    """ANSI colour in formats meant for a terminal (text)."""
    tool_version: str = __version__
    knowledge_base: KnowledgeBaseVersion | None = None
    """The rule book version and release of the knowledge base that judged the orders: every format names it."""

    def __post_init__(self) -> None:
        if self.fail_on is Severity.INFO:  # rule book v2, C26; the command line and pyproject refuse it too
            raise ValueError("information never fails a run: fail on error or warning")

    def findings(self, by_day: bool = True):
        """Every finding with its file and order (None for findings about the file as a whole). The formats
        a person reads give findings that differ only by their day once, with the days listed (by_days);
        the json and shacl reports keep one result per day (by_day=False), as consumers count them."""
        for result in self.results:
            for finding in result.findings:
                yield result, None, finding
            for order in result.orders:
                for finding in (by_days(order.findings) if by_day else order.findings):
                    yield result, order, finding

    def conforms(self, result: FileResult) -> bool:
        return result.conforms(self.fail_on) and not result.tool_error


def by_days(findings: list[Finding]) -> list[Finding]:
    """Findings that differ only by their day, as one finding that lists the days (in the message: "day 8"
    becomes "days 8, 9, 15, 16"), in the place of the first. The same finding means: the same rule,
    severity, agent, cycle, administration (focus), key and source, and the same message and value once
    the day is taken out of them. A finding whose message does not name its day stands alone."""
    groups: dict[tuple, list[Finding]] = {}
    for index, finding in enumerate(findings):
        groups.setdefault(_without_day(finding) or (index,), []).append(finding)
    shown = []
    for same in groups.values():
        first = same[0]
        days = sorted({f.day for f in same})
        if len(days) == 1:
            shown += same
            continue
        listed = ", ".join(map(str, days))
        shown.append(replace(first, message=_day_named(first.day).sub(f"days {listed}", first.message, count=1),
                             day=days[0], days=tuple(days),
                             value=listed if first.value == str(first.day) else first.value))
    return shown


def _day_named(day: int) -> re.Pattern:
    return re.compile(rf"\bday {day}\b")


def _without_day(finding: Finding) -> tuple | None:
    if finding.day is None or not _day_named(finding.day).search(finding.message):
        return None
    value = None if finding.value == str(finding.day) else finding.value
    return (finding.rule_id, finding.severity, finding.agent, finding.cycle, finding.focus, finding.key,
            finding.source, _day_named(finding.day).sub("day ?", finding.message, count=1), value)


def summary(results: list[FileResult]) -> dict[str, int]:
    findings = [f for r in results for f in r.all_findings()]
    return {
        "files": len(results),
        "orders": sum(len(r.orders) for r in results),
        "errors": sum(f.severity is Severity.ERROR for f in findings),
        "warnings": sum(f.severity is Severity.WARNING for f in findings),
        "infos": sum(f.severity is Severity.INFO for f in findings),
    }


def summary_line(results: list[FileResult], fail_on: Severity,
                 knowledge_base: KnowledgeBaseVersion | None = None) -> str:
    counts = summary(results)
    failing = sum(not r.conforms(fail_on) or bool(r.tool_error) for r in results)
    tally = f"{_plural(counts['errors'], 'error')}, {_plural(counts['warnings'], 'warning')}, {counts['infos']} info"
    tool_errors = sum(bool(r.tool_error) for r in results)
    if tool_errors:  # a file the tool could not read fails without a finding: the count says why it fails
        tally += f", {_plural(tool_errors, 'tool error')}"
    judged = f"; {knowledge_base}" if knowledge_base is not None else ""
    return (f"protovalidate: {tally} in {failing} of {_plural(counts['files'], 'file')} failing "
            f"(fail on {fail_on.value}); {_plural(counts['orders'], 'order')} checked{judged}")


def order_title(order: OrderResult) -> str:
    """`order urn:… (KRd, cycle 1)`: how every format names an order."""
    what = ", ".join(x for x in (order.regimen, f"cycle {order.cycle}" if order.cycle else None) if x)
    return f"order {order.label}" + (f" ({what})" if what else "")


def source_text(finding: Finding) -> str:
    if finding.source is None:
        return ""
    return finding.source.label + (f" <{finding.source.url}>" if finding.source.url else "")


def described(order: OrderResult | None, finding: Finding, with_path: bool = True) -> str:
    """The message with its order before it and its source after it: what every line-oriented format says;
    on a FHIR input the FHIR path of its element before the source (docs/fhir.md)."""
    subject = f"{order_title(order)}: " if order is not None else ""
    at = f" (at {finding.fhir_path})" if finding.fhir_path and with_path else ""
    source = f" [source: {source_text(finding)}]" if finding.source is not None else ""
    return subject + finding.message + at + source


def place(path: str, finding: Finding) -> str:
    """`path:line:column`, as far as the finding knows them."""
    return path + "".join(f":{n}" for n in (finding.line, finding.column) if n)


def finding_line(path: str, order: OrderResult | None, finding: Finding) -> str:
    """The text format's line for one finding."""
    return f"{place(path, finding)}: {finding.severity.value}[{finding.rule_id}] {described(order, finding)}"


def repo_path(path: str) -> str:
    """The path relative to the working directory when it lies inside it (POSIX separators), else as given."""
    absolute = os.path.abspath(path)
    try:
        return PurePath(absolute).relative_to(os.getcwd()).as_posix()
    except ValueError:
        return PurePath(path).as_posix()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
