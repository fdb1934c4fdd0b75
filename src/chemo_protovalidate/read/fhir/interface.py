"""The FHIR converter's interface (docs/fhir.md): what it returns, and the site map it is given. Kept apart from
the package's __init__ so that reading an order-format file never pays for these classes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Issue:
    """A converter finding before it is placed: a rule id (a FHIR rule, or one of the order reader's:
    duplicate-key, repeated-day, no-order, order-too-large, duplicate-order-id), its words, and the JSON
    pointer of the element it names in the file ("" the top; None: the file as a whole)."""

    rule_id: str
    message: str
    pointer: str | None = None


@dataclass
class MappedRequest:
    """One MedicationRequest of an order, for the JSON report's orders[].fhir.requests."""

    pointer: str
    agent: str | None
    status: str
    """checked, left-out or skipped."""


@dataclass
class MappedOrder:
    label: str
    """The order's id (docs/fhir.md 2.5): what every report names it by."""
    pointer: str
    """The order's RequestGroup, or its first MedicationRequest."""
    order: dict | None
    """The order-format order it maps to (keys in the order of docs/order-format.md; "@context" the project's;
    "@id" only when the label is an absolute IRI; no patient "@id"). None: the order is not checked."""
    places: dict[str, str] = field(default_factory=dict)
    """For each element of ``order``, by its JSON pointer within the order ("" the order, "/regimen",
    "/patient/weight", "/administrations/0", "/administrations/0/days/2", "/administrations/0/dose"): the JSON
    pointer, in the file, of the FHIR element it came from (docs/fhir.md 7.1). An element without an entry
    is placed at its nearest listed ancestor."""
    requests: list[MappedRequest] = field(default_factory=list)
    reference_time: str | None = None
    """T (docs/fhir.md 4.1) as written, or None."""
    patient_data: dict[str, dict] = field(default_factory=dict)
    """Per patient key given: {"value", "unit", "pointer", "effective"} ("age": {"value", "pointer"})."""


@dataclass
class Conversion:
    issues: list[Issue] = field(default_factory=list)
    orders: list[MappedOrder] = field(default_factory=list)
    """Every order of the file in the order of its first resource, checked or not."""


@dataclass(frozen=True)
class SiteMap:
    """A site's own canonicals and codes (docs/fhir.md 5.3), checked by settings.py before any file is read."""

    regimens: dict[str, str] = field(default_factory=dict)
    """Canonical (before any "|") -> regimen id."""
    agents: dict[str, dict[str, str]] = field(default_factory=dict)
    """Coding system -> code -> agent id."""
    routes: dict[str, dict[str, str]] = field(default_factory=dict)
    """Coding system -> code -> IV, SC or PO."""


def convert(value: Any, site_map: SiteMap | None = None, max_administrations: int = 500,
            arrival_time: str | None = None) -> Conversion:
    """The orders a FHIR document or CDS Hooks body maps to, and every converter finding (docs/fhir.md).
    ``value`` is the file's JSON value (read.jsonld.load_json); with --input fhir it may be anything: what is
    neither FHIR nor a CDS Hooks body is fhir-resource-not-supported. ``arrival_time``: the service's
    reference time when an order has no authoredOn (4.1); None on the command line."""
    from chemo_protovalidate.read.fhir.convert import convert_document

    return convert_document(value, site_map or SiteMap(), max_administrations, arrival_time)
