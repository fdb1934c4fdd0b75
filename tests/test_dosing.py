"""Patient arithmetic: the rule book's worked examples, and random patients.

For any patient, the amount computed from the protocol level passes and an
amount beyond the tolerance fails; the carfilzomib BSA cap is applied.
"""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chemo_protovalidate.check.pipeline import Pipeline


def _order(weight_kg: float, height_cm: float, dose_mg: float | None, level: float | None = 56,
           bsa: float | None = None) -> bytes:
    """Kd-twice-weekly-56, cycle 2: carfilzomib, dexamethasone and the antiviral prophylaxis, nothing else needed."""
    patient = {"age": 60, "weight": {"value": weight_kg, "unit": "kg"}, "height": {"value": height_cm, "unit": "cm"}}
    if bsa is not None:
        patient["bsa"] = {"value": bsa, "unit": "m2"}
    carfilzomib = {"agent": "carfilzomib", "days": [1, 2, 8, 9, 15, 16], "route": "IV",
                   "infusionDuration": {"value": 30, "unit": "min"}}
    if level is not None:
        carfilzomib["doseLevel"] = {"value": level, "unit": "mg/m2"}
    if dose_mg is not None:
        carfilzomib["dose"] = {"value": dose_mg, "unit": "mg"}
    return json.dumps({
        "@context": "https://w3id.org/protovalidate/context/v1.jsonld", "@type": "ChemotherapyOrder",
        "regimen": "Kd-twice-weekly-56", "cycle": 2, "patient": patient,
        "administrations": [carfilzomib, {"agent": "dexamethasone", "days": [1, 8, 15, 22],
                                          "dose": {"value": 40, "unit": "mg"}, "route": "PO"},
                            {"agent": "acyclovir", "days": list(range(1, 29)), "dose": {"value": 400, "unit": "mg"},
                             "route": "PO"}],
    }).encode()


def _rules(validator: Pipeline, data: bytes) -> list[str]:
    return sorted(f.rule_id for f in validator.check("order.jsonld", data).all_findings())


def _mosteller(weight_kg: float, height_cm: float) -> float:
    return math.sqrt(height_cm * weight_kg / 3600)


# Rule book v2, 8.3: "Mosteller, cap"

def test_worked_example_mosteller(validator):
    assert round(_mosteller(72, 170), 3) == 1.844
    for amount in (103.3, 98.1, 108.4):
        assert _rules(validator, _order(72, 170, amount)) == [], amount
    assert _rules(validator, _order(72, 170, 97.9)) == ["dose-amount-mismatch"]
    assert _rules(validator, _order(72, 170, 108.6)) == ["dose-amount-mismatch"]


def test_worked_example_bsa_cap(validator):
    assert _rules(validator, _order(120, 190, 123.2)) == []
    findings = validator.check("order.jsonld", _order(120, 190, 140)).all_findings()
    assert [f.rule_id for f in findings] == ["dose-amount-mismatch"]
    message = findings[0].message
    assert "capped at 2.2 m2" in message and "= 123.2 mg" in message and "ordered 140 mg (+13.6 %)" in message
    assert "allowed 117–129.4 mg" in message


def test_a_dose_without_level_is_judged_against_the_protocol_level(validator):
    assert _rules(validator, _order(120, 190, 123.2, level=None)) == []
    assert _rules(validator, _order(120, 190, 140, level=None)) == ["dose-level-above-protocol"] * 6


def test_tolerance_is_a_setting():
    loose = Pipeline(tolerance_percent=15)
    assert _rules(loose, _order(120, 190, 140)) == []
    assert _rules(loose, _order(120, 190, 142)) == ["dose-amount-mismatch"]


patients = st.tuples(st.floats(40, 160), st.floats(140, 205))
within = st.floats(0.95 + 1e-6, 1.05 - 1e-6)
beyond = st.one_of(st.floats(1.05 + 1e-4, 2.0), st.floats(0.3, 0.95 - 1e-4))
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(patient=patients, factor=within)
def test_any_patient_the_computed_amount_passes(validator, patient, factor):
    weight, height = patient
    amount = 56 * min(_mosteller(weight, height), 2.2) * factor
    assert _rules(validator, _order(weight, height, amount)) == []


@SETTINGS
@given(patient=patients, factor=beyond)
def test_any_patient_an_amount_beyond_tolerance_fails(validator, patient, factor):
    weight, height = patient
    amount = 56 * min(_mosteller(weight, height), 2.2) * factor
    assert _rules(validator, _order(weight, height, amount)) == ["dose-amount-mismatch"]


@SETTINGS
@given(patient=patients, factor=st.floats(1.05 + 1e-4, 1.5))
def test_ignoring_the_cap_is_caught_whenever_it_matters(validator, patient, factor):
    """An amount computed on the uncapped BSA passes only where the cap does not bite."""
    weight, height = patient
    bsa = _mosteller(weight, height)
    amount = 56 * bsa
    expected = [] if bsa <= 2.2 * 1.05 else ["dose-amount-mismatch"]
    assert _rules(validator, _order(weight, height, amount)) == expected
