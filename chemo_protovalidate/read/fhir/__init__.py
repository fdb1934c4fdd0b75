"""FHIR R4 in (docs/fhir.md): a RequestGroup, a MedicationRequest, a Bundle or a CDS Hooks request body,
read as the order-format orders it maps to, each element of which remembers the FHIR element it came from.

The converter works on the JSON value (read by read.jsonld.load_json, so that a key twice and NaN are
found as for any order) and answers in JSON pointers into the file; read.documents places them (line,
column, FHIR path) and hands the mapped orders to the order-format reader, so that a FHIR order is judged
exactly as the order it maps to. This module is imported only when a FHIR document is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Callable

FHIR_CONTRACT = "https://w3id.org/protovalidate/spec/fhir"
"""The source every FHIR rule cites (a name, never fetched)."""


@lru_cache(maxsize=1)
def fhir_rules() -> dict[str, dict[str, str]]:
    """The FHIR rules of docs/fhir.md: rule id -> level (error, warning, info), OperationOutcome code, when, effect."""
    data = json.loads((resources.files(__package__) / "rules.json").read_text("utf-8"))
    return data["rules"]


@lru_cache(maxsize=1)
def mapping() -> dict[str, Any]:
    """The contract's tables (mapping.json): URLs, codes, units, routes, carriers."""
    return json.loads((resources.files(__package__) / "mapping.json").read_text("utf-8"))


def contract_codes() -> dict[str, Callable[[Any], str | None]]:
    """What the contract itself maps a site-map key to (None: nothing), by table: a site map may add codes,
    never redefine these (docs/fhir.md, the site map)."""
    tables = mapping()
    urls = tables["urls"]

    def regimen(canonical: str) -> str | None:
        prefix = urls["plan_definition_prefix"]
        return canonical[len(prefix):] if canonical.startswith(prefix) else None

    def agent(key: tuple[str, str]) -> str | None:
        system, code = key
        if system == urls["agent_system"]:
            return code
        return tables["rxnorm"].get(code) if system == urls["rxnorm"] else None

    def route(key: tuple[str, str]) -> str | None:
        system, code = key
        return tables["routes"].get(system, {}).get(code)

    return {"regimens": regimen, "agents": agent, "routes": route}


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


def kind(value: Any) -> str | None:
    """What a JSON document is, by docs/fhir.md section 1 under --input auto: "fhir" (a FHIR resource at the
    top: RequestGroup, MedicationRequest, Bundle, or any other resourceType, which convert() refuses with its
    finding), "cds-hooks" (an object whose context holds draftOrders), None (order-format orders)."""
    if not isinstance(value, dict) or "@context" in value or "@graph" in value:
        return None
    if "resourceType" in value:
        return "fhir"
    context = value.get("context")
    if isinstance(context, dict) and "draftOrders" in context:
        return "cds-hooks"
    return None


def convert(value: Any, site_map: SiteMap | None = None, max_administrations: int = 500,
            arrival_time: str | None = None) -> Conversion:
    """The orders a FHIR document or CDS Hooks body maps to, and every converter finding (docs/fhir.md).
    ``value`` is the file's JSON value (read.jsonld.load_json); with --input fhir it may be anything: what is
    neither FHIR nor a CDS Hooks body is fhir-resource-not-supported. ``arrival_time``: the service's
    reference time when an order has no authoredOn (4.1); None on the command line."""
    from chemo_protovalidate.read.fhir.convert import convert_document

    return convert_document(value, site_map or SiteMap(), max_administrations, arrival_time)
