"""What the reader says about an order that is wrong in its form: the key, what was given, what the format
expects, in a pharmacist's words (issue 12, section 3). The examples in examples/orders/invalid/ hold the
rows; these hold the words."""

from __future__ import annotations

import copy
import json
import re

import pytest

from chemo_protovalidate.read.jsonld import KEY_SHAPES
from conftest import EXAMPLES, ROOT

BASE = json.loads((EXAMPLES / "valid" / "KRd-cycle2.jsonld").read_text("utf-8"))


def _check(validator, order) -> list:
    result = validator.check("order.jsonld", json.dumps(order, indent=1).encode())
    return result.all_findings()


def _messages(findings, rule: str) -> list[str]:
    return [f.message for f in findings if f.rule_id == rule]


def test_every_key_of_the_format_has_its_shape():
    """KEY_SHAPES is the format's table: every key of the context, and only those."""
    context = json.loads((ROOT / "ontology" / "context" / "v1.jsonld").read_text("utf-8"))["@context"]
    keys = {k for k, v in context.items() if not k.startswith("@") and k not in ("pv", "ChemotherapyOrder")}
    assert set(KEY_SHAPES) == keys


def test_every_key_in_the_format_document_is_a_key_of_the_reader():
    documented = set(re.findall(r"^\| `(\w+)`", (ROOT / "docs" / "order-format.md").read_text("utf-8"), re.M))
    assert documented - {"error", "warning", "info"} <= set(KEY_SHAPES)


@pytest.mark.parametrize("place, change, words", [
    ("administration", {"doseReduction": "neuropathy"}, ['"doseReduction" is a text ("neuropathy")', "an object"]),
    ("administration", {"route": ["IV", "SC"]}, ['"route" is a list', "one route"]),
    ("order", {"regimen": ["KRd", "Kd"]}, ['"regimen" is a list', "one regimen identifier"]),
    ("order", {"patient": "urn:example:patient:03"}, ['"patient" is a text', "an object"]),
    ("patient", {"weight": [{"value": 60, "unit": "kg"}, {"value": 61, "unit": "kg"}]}, ['"weight" is a list']),
    ("patient", {"doseBasis": 80}, ['"doseBasis" is a number (80)', "an object"]),
])
def test_a_value_of_the_wrong_shape_names_the_key_what_was_given_and_the_shape(validator, place, change, words):
    order = copy.deepcopy(BASE)
    target = {"order": order, "patient": order["patient"], "administration": order["administrations"][0]}[place]
    target.update(change)
    messages = _messages(_check(validator, order), "wrong-shape")
    assert len(messages) == 1 and all(w in messages[0] for w in words) and "expects" in messages[0], messages


def test_a_misspelt_key_names_the_administration_and_the_nearest_key(validator):
    order = copy.deepcopy(BASE)
    order["administrations"][1]["dosee"] = order["administrations"][1].pop("dose")
    order["patient"]["wieght"] = order["patient"].pop("weight")
    findings = _check(validator, order)
    messages = _messages(findings, "undefined-key")
    assert sorted(messages) == sorted([
        'urn:example:order:krd-c2, administration 2 (lenalidomide): "dosee" is not a key of the order format, '
        'so it is not read; did you mean "dose"?',
        'urn:example:order:krd-c2, the patient: "wieght" is not a key of the order format, so it is not read; '
        'did you mean "weight"?'])
    assert all("JSON-LD" not in f.message and "context" not in f.message for f in findings if f.rule_id == "undefined-key")
    assert all(f.line and f.column for f in findings)


def test_a_key_far_from_any_lists_the_keys_of_its_place(validator):
    order = copy.deepcopy(BASE)
    order["administrations"][0]["zzz"] = 1
    [message] = _messages(_check(validator, order), "undefined-key")
    assert "did you mean" not in message and "agent, day, days, doseLevel" in message


def test_a_bare_number_for_a_quantity_is_placed_and_says_what_it_is(validator):
    order = copy.deepcopy(BASE)
    order["patient"]["height"] = 158
    findings = _check(validator, order)
    lines = json.dumps(order, indent=1).splitlines()
    line = next(n for n, text in enumerate(lines, start=1) if '"height": 158' in text)
    [incomplete] = [f for f in findings if f.rule_id == "quantity-incomplete"]
    assert (incomplete.line, incomplete.column) == (line, lines[line - 1].index('"height"') + 1) and "height is 158, a bare value" in incomplete.message
    assert all(f.line and f.column for f in findings)
    assert not any("has no height" in f.message and "it can use" not in f.message for f in findings)


def test_a_lab_in_a_wrong_unit_never_holds_as_if_the_unit_were_right(validator):
    order = copy.deepcopy(BASE)
    order["patient"]["neutrophils"] = {"value": 0.3, "unit": "/uL"}   # below every hold, if it were 10*9/L
    findings = _check(validator, order)
    holds = _messages(findings, "lab-hold")
    assert holds and all("could not be checked" in m and '"/uL"' in m for m in holds), holds
    assert not [f for f in findings if f.rule_id == "cycle-start-count-low"]


def _two_orders_of_one_patient(second_daratumumab_mg: float) -> dict:
    """Two KdD cycle-2 orders in one @graph, one patient @id, weights 63 and 70 kg; the first order's doses
    are right for 63 kg, the second's carfilzomib for 70 kg (BSA 1.76 m2 x 56 = 98.8 mg)."""
    first = json.loads((EXAMPLES / "valid" / "KdD-cycle2.jsonld").read_text("utf-8"))
    first.pop("@context")
    second = copy.deepcopy(first)
    first["@id"], second["@id"] = "urn:example:order:kdd-c2-first", "urn:example:order:kdd-c2-second"
    second["patient"]["weight"] = {"value": 70, "unit": "kg"}
    for administration in second["administrations"]:
        if administration["agent"] == "carfilzomib":
            administration["dose"] = {"value": 98.8, "unit": "mg"}
        if administration["agent"] == "daratumumab":
            administration["dose"] = {"value": second_daratumumab_mg, "unit": "mg"}
    return {"@context": "https://w3id.org/protovalidate/context/v1.jsonld", "@graph": [first, second]}


def _by_order(validator, document) -> dict:
    result = validator.check("two.jsonld", json.dumps(document, indent=1).encode())
    return {o.label: o.findings for o in result.orders}


def test_two_orders_sharing_a_patient_are_each_judged_with_their_own_weight(validator):
    """(One JSON file of orders: one RDF graph stating both would give the patient both weights, so this
    cannot be an example that every syntax reads alike, tests/test_rdf_syntaxes.py.)"""
    by_order = _by_order(validator, _two_orders_of_one_patient(1120))       # 70 kg x 16 mg/kg: right
    assert {label: [(f.rule_id, f.message) for f in found] for label, found in by_order.items()} == {
        label: [("patient-data-conflict", "The patient has conflicting values for weight (63 kg and 70 kg): which "
                 "one is right must be settled before the order goes ahead.")]
        for label in ("urn:example:order:kdd-c2-first", "urn:example:order:kdd-c2-second")}


def test_the_second_order_of_a_shared_patient_is_computed_with_its_own_weight(validator):
    by_order = _by_order(validator, _two_orders_of_one_patient(1008))       # the first order's 63 kg x 16
    first, second = by_order["urn:example:order:kdd-c2-first"], by_order["urn:example:order:kdd-c2-second"]
    assert [f.rule_id for f in first] == ["patient-data-conflict"]
    mismatch = [f.message for f in second if f.rule_id == "dose-amount-mismatch"]
    assert len(mismatch) == 1 and "70 kg" in mismatch[0] and "1120" in mismatch[0], mismatch


@pytest.mark.parametrize("change, removed, words", [
    ({"weight": {"value": 9.45, "unit": "[stone_av]"}}, None, 'the weight given is in "[stone_av]"'),
    ({"height": {"value": 5.2, "unit": "[ft_i]"}}, None, 'the height given is in "[ft_i]"'),
    ({"bsa": {"value": 1.6, "unit": "cm2"}}, "height", 'the bsa given is in "cm2"'),
    ({"weight": 60}, None, "the weight given is not a quantity"),
    ({"doseBasis": {"weight": {"value": 9, "unit": "[stone_av]"}, "bsa": {"value": 1.6, "unit": "m2"}}}, None,
     'the doseBasis weight is in "[stone_av]"'),
])
def test_a_measure_in_a_unit_not_accepted_is_never_a_missing_one(validator, change, removed, words):
    """The unit finding, and the dose that needs the measure says it could not be checked because of it."""
    order = copy.deepcopy(BASE)
    order["patient"].update(change)
    if removed:
        del order["patient"][removed]
    findings = _check(validator, order)
    missing = _messages(findings, "missing-patient-data")
    assert missing and all("it can use" in m for m in missing) and any(words in m for m in missing), missing
    assert {f.rule_id for f in findings} & {"unit-not-allowed", "quantity-incomplete"}
