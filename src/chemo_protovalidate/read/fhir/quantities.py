"""A FHIR Quantity as an order-format quantity (docs/fhir.md 3.7): the unit by the first matching row, the value
copied as written."""

from __future__ import annotations

from typing import Any

from chemo_protovalidate.read.fhir import tables
from chemo_protovalidate.read.jsonld import pointer_join


def _is_auc(quantity: dict) -> bool:
    data = tables.mapping()
    if quantity.get("system") == data["urls"]["snomed"] and tables.string(quantity.get("code")) in data["snomed_auc"]:
        return True
    for key in ("code", "unit"):
        text = quantity.get(key)
        if isinstance(text, str) and "auc" in text.lower():
            return True
    extensions = quantity.get("extension")
    if isinstance(extensions, list):
        for extension in extensions:
            url = extension.get("url") if isinstance(extension, dict) else None
            if isinstance(url, str) and "auc" in url.lower():
                return True
    return False


def read_quantity(quantity: Any, pointer: str, name: str, report, dosage: bool) -> dict | None:
    """The order-format quantity {"value", "unit"} of a FHIR Quantity (a key absent when its source is), or
    None after a finding when the unit cannot be read (fhir-auc-dose, fhir-unit-not-coded, fhir-unit-unknown,
    fhir-invalid-value). ``dosage``: the SNOMED CT dose units are accepted (doses only)."""
    if not isinstance(quantity, dict):
        report("fhir-invalid-value", f"{name} is not a Quantity object", pointer)
        return None
    data = tables.mapping()
    urls = data["urls"]
    result: dict = {}
    ok = True
    if "value" in quantity:
        value = quantity["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            report("fhir-invalid-value", f"{name}.value is {value!r}; FHIR R4 wants a number (not a string)",
                   pointer_join(pointer, "value"))
            ok = False
        else:
            result["value"] = value
    if "comparator" in quantity:
        report("fhir-invalid-value", f"{name} has comparator {quantity['comparator']!r}; an order states one amount, "
               "not a bound", pointer_join(pointer, "comparator"))
        ok = False
    system, code, unit = quantity.get("system"), quantity.get("code"), quantity.get("unit")
    if system == urls["ucum"] and isinstance(code, str) and code:
        result["unit"] = code
    elif dosage and system == urls["snomed"] and tables.string(code) in data["snomed_dose_units"]:
        result["unit"] = data["snomed_dose_units"][code]
    elif _is_auc(quantity):
        written = f"{system}|{code}" if system is not None or code is not None else f"unit {unit!r}"
        report("fhir-auc-dose", f"{name} is an AUC dose ({written}, or an AUC extension); protovalidate does not "
               "check AUC dosing", pointer)
        ok = False
    elif unit is not None and system is None and code is None or (code is None) != (system is None):
        written = (f"unit {unit!r}" if unit is not None else f"code {code!r}" if code is not None
                   else f"system {system!r}")
        report("fhir-unit-not-coded", f"{name} has {written} without a UCUM system and code; protovalidate reads "
               f"the unit from system {urls['ucum']} and code (display text is not read)", pointer)
        ok = False
    elif system is not None or code is not None:
        report("fhir-unit-unknown", f"{name} has the unit {system}|{code}, which protovalidate does not read; it wants "
               f"UCUM ({urls['ucum']})" + (" or a SNOMED CT dose unit of docs/fhir.md 3.7" if dosage else ""), pointer)
        ok = False
    return result if ok else None
