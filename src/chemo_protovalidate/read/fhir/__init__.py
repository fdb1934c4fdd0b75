"""FHIR R4 in (docs/fhir.md): a RequestGroup, a MedicationRequest, a Bundle or a CDS Hooks request body,
read as the order-format orders it maps to, each element of which remembers the FHIR element it came from.

The converter works on the JSON value (read by read.jsonld.load_json, so that a key twice and NaN are
found as for any order) and answers in JSON pointers into the file; read.documents places them (line,
column, FHIR path) and hands the mapped orders to the order-format reader, so that a FHIR order is judged
exactly as the order it maps to. The pipeline imports this package for the FHIR rules (rules.json); the
converter itself (interface.py, convert.py and the rest) is imported only when a FHIR document is read.
"""

from __future__ import annotations

import json
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


# The converter's interface (read/fhir/interface.py), loaded when first used: the pipeline imports this
# package for FHIR_CONTRACT and fhir_rules() on every run, and a JSON-LD run never needs the rest.
_INTERFACE = {"Issue", "MappedRequest", "MappedOrder", "Conversion", "SiteMap"}
# (convert() is read.fhir.interface.convert: the name `convert` here is the converter's module, convert.py.)


def __getattr__(name: str):
    if name in _INTERFACE:
        from chemo_protovalidate.read.fhir import interface

        return getattr(interface, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
