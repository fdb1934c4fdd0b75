"""The one finding model every reader, engine and renderer shares."""

from __future__ import annotations

from dataclasses import dataclass, field

from .knowledge import Source
from .rules import Severity


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: Severity
    message: str
    source: Source | None = None
    agent: str | None = None
    cycle: int | None = None
    day: int | None = None
    value: str | None = None
    line: int | None = None
    column: int | None = None
    # Where the engine found it; used to place the finding, not shown.
    focus: str | None = None
    key: str | None = None


@dataclass
class OrderResult:
    label: str
    """The order's @id, or its position in the file when it has none."""
    regimen: str | None = None
    cycle: int | None = None
    findings: list[Finding] = field(default_factory=list)

    def conforms(self, fail_on: Severity) -> bool:
        return not any(f.severity.rank >= fail_on.rank for f in self.findings)


@dataclass
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    """Findings about the file as a whole: not JSON, a remote context, ..."""
    orders: list[OrderResult] = field(default_factory=list)
    tool_error: str | None = None
    """Set when the file could not be checked at all (exit status 2)."""

    def all_findings(self) -> list[Finding]:
        return self.findings + [f for o in self.orders for f in o.findings]

    def conforms(self, fail_on: Severity) -> bool:
        return not any(f.severity.rank >= fail_on.rank for f in self.all_findings())
