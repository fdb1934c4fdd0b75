"""The converter's data, read once: the contract's tables (mapping.json) and the R4 element names the structure
checks know (r4-elements.json), turned into the sets and dicts the converter looks up (no list scan per element)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class ElementSpec:
    """What R4 defines for one element type: its keys and what the structure check does with each, the required
    elements the converter needs, the STU3 keys, and the choice elements."""

    keys: frozenset
    plan: dict
    """Key -> (is a list, complex child type or None, primitive type or None, the JSON types any of whose values
    but "" that primitive takes as it is): what the structure check does with each key, worked out once (one
    lookup per key of every element)."""
    plain: dict
    """Key -> those JSON types, for the keys that hold one primitive value: the commonest key's whole check."""
    required: tuple
    earlier_version: frozenset
    choices: tuple = ()
    """(names in R4's order, the same as a set) for each choice element: an Observation's value[x] has eleven."""


def _read(name: str) -> Any:
    return json.loads((resources.files(__package__) / name).read_text("utf-8"))


_SETS = ("marker_agents", "per_body_units", "snomed_auc", "route_texts", "observation_status_used", "bundle_types",
         "ignored_resources", "earlier_version_resources", "top_level_resources", "egfr_loinc", "egfr_units",
         "rxnorm_sc_only")
"""The tables read as sets: looked up per element."""


@lru_cache(maxsize=1)
def mapping() -> dict:
    data = _read("mapping.json")
    for name in _SETS:
        data[name] = frozenset(data[name])
    prefix = data["urls"]["extension_prefix"]
    data["project_extensions"] = {prefix + name: name for name in data["extensions"]}
    data["loinc_keys"] = {code: key for key, spec in data["observations"].items() for code in spec["loinc"]}
    return data


@lru_cache(maxsize=1)
def elements() -> dict[str, ElementSpec]:
    raw = _read("r4-elements.json")
    specs = {}
    for name, spec in raw.items():
        if name == "about":
            continue
        base = raw.get(spec.get("base", ""), {})
        children = dict(spec.get("children", {}))
        for key in ("extension", "modifierExtension"):
            if key in spec["keys"] or key in base.get("keys", ()):
                children.setdefault(key, "Extension")
        keys = frozenset(spec["keys"]) | frozenset(base.get("keys", ()))
        lists = frozenset(spec["lists"]) | frozenset(base.get("lists", ()))
        primitives = {**base.get("primitives", {}), **spec.get("primitives", {})}
        specs[name] = ElementSpec(
            keys=keys,
            plan={key: (key in lists, children.get(key), primitives.get(key),
                        ACCEPTED_AS_IS.get(primitives.get(key), frozenset())) for key in keys},
            plain={key: ACCEPTED_AS_IS[primitives[key]] for key in keys
                   if key not in lists and primitives.get(key) in ACCEPTED_AS_IS},
            required=tuple(tuple(alternatives) for alternatives in spec.get("required", ())),
            earlier_version=frozenset(spec.get("earlier_version", ())),
            choices=tuple((tuple(names), frozenset(names)) for names in spec.get("choices", ())),
        )
    return specs


def string(value: Any) -> str | None:
    """A JSON value when it is a string, else None: what the table lookups take (a list or an object where a
    code is expected must not reach a dict lookup)."""
    return value if isinstance(value, str) else None


ACCEPTED_AS_IS = {"string": frozenset({str}), "code": frozenset({str}), "uri": frozenset({str}),
                  "integer": frozenset({int}), "decimal": frozenset({int, float}), "boolean": frozenset({bool})}
"""The JSON types (of load_json, which admits no NaN) any value of which but "" a primitive type takes, with no
grammar or range to check: the structure check's fast path (a day is an integer; most values are)."""

# FHIR's own value grammars (R4 datatypes page); compiled once, used once per value.
ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
DATE = re.compile(r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?")
DATE_TIME = re.compile(
    r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])"
    r"(T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00)))?)?)?")
INSTANT = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))")
ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+")
