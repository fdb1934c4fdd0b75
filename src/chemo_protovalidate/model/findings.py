"""The ground floor: what every room shares. A finding, its severity and its source; the results of a
file and of its orders; what a rule is and which knowledge base judged: readers, checks, reports, the
authoring tools and every front door speak of these, and this module imports none of them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import NamedTuple

from chemo_protovalidate.model.vocabulary import SH


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @classmethod
    def from_shacl(cls, iri) -> "Severity":
        # SHACL allows any IRI as a severity; unknown ones are information.
        return {SH.Violation: cls.ERROR, SH.Warning: cls.WARNING}.get(iri, cls.INFO)

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]

    def fails(self, fail_on: "Severity") -> bool:
        """Whether a finding of this severity fails a run that fails on ``fail_on``. Information never does
        (rule book v2, C26), whatever ``fail_on`` says: the one place that decides it."""
        return self is not Severity.INFO and self.rank >= fail_on.rank


@dataclass(frozen=True)
class Source:
    """Where a rule comes from, as a finding quotes it."""

    iri: str
    label: str
    url: str | None = None


@dataclass(frozen=True)
class KnowledgeBaseVersion:
    """What judged the orders (rule book v2, C25): the rule book version the knowledge base implements and
    the knowledge base's own release, as ontology/release.ttl states them on the ontology node."""

    rule_book: str
    release: str

    def __str__(self) -> str:
        return f"knowledge base {self.release} (rule book v{self.rule_book})"


@dataclass(frozen=True)
class RuleInfo:
    rule_id: str
    severity: Severity
    description: str
    source: Source | None = None
    shape: str | None = None
    """The SHACL shape's IRI, for rules that are shapes (of several shapes of one id: the one described)."""
    severities: tuple[Severity, ...] = ()
    """Every severity the rule reports at, highest first, when its id names several shapes (rules.py);
    ``severity``, its default, is then the highest and the description and source are that shape's."""

    @property
    def levels(self) -> tuple[Severity, ...]:
        return self.severities or (self.severity,)


@dataclass(frozen=True)
class ExpectedDose:
    """The amount a dose rule computed, as data beside its message (dose-amount-mismatch: level × basis), for
    the CDS Hooks suggestion (docs/cds-hooks.md 5.6); the message shows the same numbers rounded."""

    amount_mg: float
    """Unrounded: the level times the basis (the BSA capped where the agent has a cap)."""
    level: str
    level_unit: str
    basis: str
    """What the level was multiplied by, as shown: "BSA 1.84 m2", "weight 72 kg"."""
    days: tuple[int, ...] = ()
    """The administration's days."""


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
    path: str | None = None
    """The result path (SHACL sh:resultPath), an IRI: a rule's ?path, when its query binds one."""
    shape: str | None = None
    """The shape that found it (rules.Rule.iri), for findings of the shapes: one rule id may name several
    shapes, one per severity (rules.py)."""
    days: tuple[int, ...] = ()
    """Of a finding that stands for the same finding on several days (report.common.by_days): each day;
    ``day`` is then the first, and the message lists them all."""
    fhir_path: str | None = None
    """On a FHIR input, the FHIR path of the element it points at (docs/fhir.md): Bundle.entry[1].resource..."""
    expected: ExpectedDose | None = None
    """Of a rule whose query computes an amount (binds ?computedMg): that amount and its terms. Filled by the
    engine the command uses (OxigraphEngine); the reference engine reads no solution rows and leaves it None."""


class Place(NamedTuple):
    """Where in the file a finding points: a tuple (line, column), as every reader's positions are, with the
    FHIR path of the element on a FHIR input."""

    line: int
    column: int
    fhir_path: str | None = None


def placed(finding: "Finding", place: "tuple[int, int] | Place | None") -> "Finding":
    """The finding at a place (a reader's (line, column), or a Place that also names a FHIR path)."""
    if not place:
        return finding
    fhir_path = place.fhir_path if isinstance(place, Place) else None
    return replace(finding, line=place[0], column=place[1], fhir_path=fhir_path or finding.fhir_path)


@dataclass(frozen=True)
class Administration:
    """What an order administers, as a report shows it (not what the rules read: they read the graph)."""

    agent: str
    route: str | None
    days: tuple[int, ...]
    dose_level: str | None
    dose: str | None
    line: int | None = None


@dataclass
class OrderResult:
    label: str
    """The order's @id, or its position in the file when it has none."""
    regimen: str | None = None
    cycle: int | None = None
    findings: list[Finding] = field(default_factory=list)
    administrations: list[Administration] = field(default_factory=list)
    checked: bool = True
    """False for a FHIR order that could not be read (its converter findings say why; docs/fhir.md)."""
    fhir: dict | None = None
    """Of an order read from FHIR: where it is and what it was made of (docs/fhir.md, the JSON report)."""

    def conforms(self, fail_on: Severity) -> bool:
        return not any(f.severity.fails(fail_on) for f in self.findings)


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
        return not any(f.severity.fails(fail_on) for f in self.all_findings())


def apply_severity_overrides(result: FileResult, levels: dict[str, str]) -> FileResult:
    """A site's per-rule levels (error, warning, info, or off to drop the rule)."""
    if not levels:
        return result

    def adjusted(findings: list[Finding]) -> list[Finding]:
        return [f if f.rule_id not in levels else replace(f, severity=Severity(levels[f.rule_id]))
                for f in findings if levels.get(f.rule_id) != "off"]

    return replace(result, findings=adjusted(result.findings),
                   orders=[replace(o, findings=adjusted(o.findings)) for o in result.orders])
