"""serve/cards.py: the pipeline's findings for a CDS Hooks request as cards (docs/cds-hooks.md 5).

Every input is a request written here (a variant of examples/cds-hooks) and checked by the real pipeline,
as the service checks it; the expected answers of the contract's 10.2 and 10.3 are copied from it into
tests/data/cds-hooks/. One case is built otherwise, and says why (a dose from an untyped element).
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from chemo_protovalidate.check.pipeline import Pipeline
from chemo_protovalidate.model.findings import Severity
from chemo_protovalidate.serve import cards as cards_module
from chemo_protovalidate.serve.cards import cards_for, not_checked_card
from service_harness import without_uuids

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "cds-hooks"
EXAMPLES = ROOT / "examples" / "cds-hooks"
SOURCE_URL = "https://w3id.org/protovalidate"
KB = "2.0.0 (rule book v2)"
SIGNED = "order-sign-KRd-cycle1.json"                  # the request of 10.1
MISMATCH = "order-sign-KRd-cycle1-dose-mismatch.json"  # the request of 10.3
UCUM = "http://unitsofmeasure.org"
ITEM = re.compile(r"^- \*\*(Violation|Warning|Note)\*\* `([a-z0-9-]+)`: (.*)$", re.M)
LEVELS = {"Violation": "error", "Warning": "warning", "Note": "info"}
SPECIAL = set("\\`*_[]<>|~#")


@pytest.fixture(scope="module")
def pipeline():
    return Pipeline(administrations=False, input_kind="fhir")


def request(name: str = SIGNED) -> dict:
    return json.loads((EXAMPLES / name).read_text("utf-8"))


def entries(body: dict) -> list[dict]:
    return body["context"]["draftOrders"]["entry"]


def answer(pipeline: Pipeline, body: dict, tolerance: float | None = None) -> list[dict]:
    """The cards for a request, checked by the pipeline (the service's: --input fhir, no administrations)."""
    result = pipeline.check("cds-hooks-request.json", json.dumps(body).encode())
    tolerance = tolerance if tolerance is not None else pipeline.kb.dose_tolerance_percent()
    cards = cards_for(result, body, knowledge_base=KB, source_url=SOURCE_URL, tolerance_percent=tolerance)
    for card in cards:
        assert_well_formed(card)
    assert len({card["uuid"] for card in cards}) == len(cards), "a new uuid per card"
    return cards


def assert_well_formed(card: dict) -> None:
    """What every card is (5.1, 5.2, 5.3, 5.5): a version-4 uuid, a summary of at most 139 code points, no
    null or empty field, the source, the five override reasons in order."""
    assert uuid.UUID(card["uuid"]).version == 4
    assert 0 < len(card["summary"]) <= 139
    assert card["indicator"] in ("critical", "warning")
    assert card["source"] == {"label": "protovalidate", "url": SOURCE_URL}
    assert [r["code"] for r in card["overrideReasons"]] == [
        "documented-dose-reduction", "protocol-deviation-approved", "clinical-trial", "patient-data-incorrect",
        "checked-manually"]
    assert {r["system"] for r in card["overrideReasons"]} == {
        "https://w3id.org/protovalidate/fhir/CodeSystem/override-reason"}
    assert ("suggestions" in card) == ("selectionBehavior" in card)
    assert "systemActions" not in card
    assert_no_empty(card)


def assert_no_empty(value, where: str = "card") -> None:
    assert value is not None and value != "" and value != [] and value != {}, f"{where} is null or empty"
    if isinstance(value, dict):
        for key, item in value.items():
            assert_no_empty(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            assert_no_empty(item, f"{where}[{i}]")


def items(card: dict) -> list[tuple[str, str]]:
    """(level, rule) of each item of a card's detail, in order (5.4)."""
    return [(LEVELS[level], rule) for level, rule, _ in ITEM.findall(card["detail"])]


def paragraphs(card: dict) -> list[str]:
    return card["detail"].split("\n\n")


def shape(value):
    """The structure of a JSON value: its keys and list lengths, each leaf as its type."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


# --- the contract's answers (10.2, 10.3) ---------------------------------------------------------------------


@pytest.mark.parametrize("name, expected", [(SIGNED, "answer-10.2.json"), (MISMATCH, "answer-10.3.json")])
def test_the_contract_s_answers(pipeline, name, expected):
    """What 10.3 says is exact: the structure, indicator, summary, the detail's (level, rule) items in
    order, the override reasons and the suggestion; the Data used line too (the data are the request's)."""
    wanted = json.loads((DATA / expected).read_text("utf-8"))["cards"]
    got = answer(pipeline, request(name))
    assert shape(got) == shape(wanted)
    for card, want in zip(got, wanted):
        assert list(card) == list(want), "the fields, in the contract's order"
        assert card["indicator"] == want["indicator"]
        assert card["summary"] == want["summary"]
        assert items(card) == items(want)
        assert card["overrideReasons"] == want["overrideReasons"]
        assert card["source"] == want["source"]
        assert without_uuids(card.get("suggestions")) == without_uuids(want.get("suggestions"))
        assert card.get("selectionBehavior") == want.get("selectionBehavior")
        data_used = [p for p in paragraphs(card) if p.startswith("Data used: ")]
        assert data_used == [p for p in paragraphs(want) if p.startswith("Data used: ")]
        assert paragraphs(card)[-1] == f"Knowledge base: {KB}."
        # each item: its source line and its At line, in the shape of 5.4
        for item in card["detail"].split("\n\n")[0].split("\n- "):
            lines = item.split("\n")
            assert lines[1].startswith("  - Source: [") and re.match(r"  - At `[A-Za-z]+/[^`]+`: `[^`]+`$", lines[2])


def test_the_suggestion_is_the_request_s_resource_with_one_dose_changed(pipeline):
    body = request(MISMATCH)
    (card,) = answer(pipeline, body)
    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    received = copy.deepcopy(entries(body)[1]["resource"])
    received["dosageInstruction"][0]["doseAndRate"][1]["doseQuantity"] = {
        "value": 103, "unit": "mg", "system": UCUM, "code": "mg"}
    assert action["resource"] == received
    assert entries(body)[1]["resource"]["dosageInstruction"][0]["doseAndRate"][1]["doseQuantity"]["value"] == 113.6, \
        "the request itself is left as it came"
    assert uuid.UUID(suggestion["uuid"]).version == 4 and suggestion["uuid"] != card["uuid"]


def test_order_select_gets_the_same_card_and_another_selection_none(pipeline):
    signed = answer(pipeline, request(MISMATCH))
    selected = request(MISMATCH)
    selected["hook"] = "order-select"
    selected["context"]["selections"] = ["MedicationRequest/krd-c1-cfz-2"]
    assert without_uuids(answer(pipeline, selected)) == without_uuids(signed)
    entries(selected).append({"resource": {
        "resourceType": "MedicationRequest", "id": "other-1", "status": "draft", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                  "code": "161"}]},
        "subject": {"reference": "Patient/17"}}})
    selected["context"]["selections"] = ["MedicationRequest/other-1"]
    # the KRd order is fhir-resource-ignored (information, outside every advised order): no card at all
    assert answer(pipeline, selected) == []


# --- which cards (5.1) ---------------------------------------------------------------------------------------


def _split_dexamethasone(body: dict, days_20mg: tuple[int, ...]) -> None:
    """Dexamethasone 20 mg on the given days and 40 mg on day 22: 40 mg a week, premedication on the days
    given."""
    dex = entries(body)[5]["resource"]
    dex["extension"][1]["extension"] = [{"url": "day", "valueInteger": d} for d in days_20mg]
    dex["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] = 20
    day22 = copy.deepcopy(entries(body)[5])
    day22["resource"]["id"] = "krd-c1-dex-22"
    day22["resource"]["extension"][1]["extension"] = [{"url": "day", "valueInteger": 22}]
    day22["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] = 40
    entries(body).append(day22)


def test_an_order_with_only_information_gets_no_card(pipeline):
    body = request()
    _split_dexamethasone(body, (1, 2, 8, 9, 15, 16))
    result = pipeline.check("r.json", json.dumps(body).encode())
    assert [f.severity for f in result.orders[0].findings] == [Severity.INFO], "the note of 10.2 is left"
    assert answer(pipeline, body) == []


def test_one_warning_is_singular(pipeline):
    body = request()
    _split_dexamethasone(body, (1, 2, 8, 9, 15))
    (card,) = answer(pipeline, body)
    assert card["summary"] == "Order urn:example:order:0001 (KRd, cycle 1): 1 warning"
    assert card["indicator"] == "warning"
    assert items(card) == [("warning", "carfilzomib-premedication-missing"), ("info", "antiviral-prophylaxis-missing")]


def test_two_violations_are_plural_and_offer_no_suggestion(pipeline):
    body = request(MISMATCH)
    entries(body)[0]["resource"]["dosageInstruction"][0]["doseAndRate"][1]["doseQuantity"]["value"] = 45
    (card,) = answer(pipeline, body)
    assert card["summary"] == "Order urn:example:order:0001 (KRd, cycle 1): 2 violations, 3 warnings"
    assert items(card)[:2] == [("error", "dose-amount-mismatch")] * 2
    assert "suggestions" not in card and "selectionBehavior" not in card


def test_a_left_out_request_counts_its_converter_findings_and_itself(pipeline):
    """The converter's findings of a request are the file's, with the request's FHIR path: they go on its
    order's card, count as its violations, and the request counts as not checked."""
    body = request()
    entries(body)[3]["resource"]["medicationCodeableConcept"]["coding"][0]["code"] = "999"
    cards = answer(pipeline, body)
    (card,) = cards
    assert card["summary"] == \
        "Order urn:example:order:0001 (KRd, cycle 1): 1 violation, 9 warnings; 1 request not checked"
    assert card["indicator"] == "critical"
    assert items(card)[0] == ("error", "fhir-unknown-code")
    assert "At `MedicationRequest/krd-c1-len`: `context.draftOrders.entry[3].resource.medicationCodeableConcept`" \
        in card["detail"]


def test_a_medication_entry_s_finding_is_its_request_s_order_s(pipeline):
    body = request()
    lenalidomide = entries(body)[3]["resource"]
    del lenalidomide["medicationCodeableConcept"]
    lenalidomide["medicationReference"] = {"reference": "Medication/len-25"}
    entries(body).append({"fullUrl": "https://ehr.example.org/fhir/Medication/len-25", "resource": {
        "resourceType": "Medication", "id": "len-25", "bogus": 1,
        "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "342369"}]}}})
    (card,) = answer(pipeline, body)
    assert card["summary"].endswith(": 1 violation, 9 warnings; 1 request not checked")
    assert "At `Medication/len-25`: `context.draftOrders.entry[6].resource.bogus`" in card["detail"]


def _without_cycle(entry: dict) -> None:
    entry["resource"]["extension"] = [x for x in entry["resource"]["extension"]
                                      if not x["url"].endswith("/cycle-number")]


def test_an_order_that_could_not_be_checked_gets_a_critical_card(pipeline):
    body = request()
    for entry in entries(body):
        _without_cycle(entry)
    result = pipeline.check("r.json", json.dumps(body).encode())
    # how the converter reports it: the order has no finding of its own; its converter findings are the
    # file's, at paths inside its resources
    assert not result.orders[0].checked and result.orders[0].findings == []
    assert {f.rule_id for f in result.findings} == {"fhir-cycle-missing", "fhir-order-not-checked"}
    (card,) = answer(pipeline, body)
    assert card["indicator"] == "critical"
    assert card["summary"] == "Order urn:example:order:0001 (?, cycle ?) not checked: 1 problem in the FHIR order"
    assert items(card) == [("error", "fhir-cycle-missing"), ("error", "fhir-order-not-checked")]
    assert paragraphs(card)[1:] == ["The order was not checked: correct the FHIR order, or check it by hand.",
                                    f"Knowledge base: {KB}."]
    assert "Data used" not in card["detail"] and "suggestions" not in card


def test_cards_follow_each_order_s_first_resource_and_the_outside_card_comes_last(pipeline):
    body = request()
    # an order 0002 whose only request stands first and has no cycle (not checked: the pipeline reports it
    # after the checked ones), and a loose request of no order (fhir-request-ungrouped) at the end
    other = copy.deepcopy(entries(body)[5])
    other["resource"]["id"] = "b-dex"
    other["resource"]["groupIdentifier"]["value"] = "urn:example:order:0002"
    _without_cycle(other)
    loose = copy.deepcopy(entries(body)[5])
    loose["resource"]["id"] = "loose-dex"
    del loose["resource"]["groupIdentifier"]
    _without_cycle(loose)
    entries(body).insert(0, other)
    entries(body).append(loose)
    result = pipeline.check("r.json", json.dumps(body).encode())
    assert [o.label for o in result.orders] == ["urn:example:order:0001", "urn:example:order:0002"]
    cards = answer(pipeline, body)
    assert [card["summary"] for card in cards] == [
        "Order urn:example:order:0002 (?, cycle ?) not checked: 1 problem in the FHIR order",
        "Order urn:example:order:0001 (KRd, cycle 1): 3 warnings",
        "Draft orders: 1 problem outside any protocol order",
    ]
    assert [card["indicator"] for card in cards] == ["critical", "warning", "critical"]
    assert items(cards[2]) == [("error", "fhir-request-ungrouped")]
    assert "At `MedicationRequest/loose-dex`: `context.draftOrders.entry[7].resource`" in cards[2]["detail"]
    assert paragraphs(cards[2])[-1] == f"Knowledge base: {KB}."
    assert ("error", "fhir-request-ungrouped") not in items(cards[0]) + items(cards[1])


def test_findings_outside_every_order_of_a_bundle_nothing_is_read_from(pipeline):
    body = request()
    body["context"]["draftOrders"]["type"] = "history"
    (card,) = answer(pipeline, body)
    assert card["summary"] == "Draft orders: 1 problem outside any protocol order"
    assert card["indicator"] == "critical"
    assert items(card) == [("error", "fhir-bundle-type-not-supported")]
    assert "At `Bundle`: `context.draftOrders.type`" in card["detail"]


def test_a_prefetch_warning_is_outside_every_order(pipeline):
    """The Patient and Observations of the prefetch belong to no draft order: their findings at error or
    warning are on the outside card, a warning card when none is an error."""
    body = request()
    body["prefetch"]["creatinineClearance"]["entry"][0]["resource"]["code"]["coding"][0]["code"] = "33914-3"
    cards = answer(pipeline, body)
    assert [card["summary"] for card in cards] == ["Order urn:example:order:0001 (KRd, cycle 1): 3 warnings",
                                                   "Draft orders: 1 problem outside any protocol order"]
    assert cards[1]["indicator"] == "warning"
    assert items(cards[1]) == [("warning", "fhir-egfr-not-crcl")]
    assert "At `Observation/crcl-17`: `prefetch.creatinineClearance.entry[0].resource`" in cards[1]["detail"]
    assert "not given: BSA, creatinine clearance, neutrophils" in cards[0]["detail"]


# --- summary and detail (5.3, 5.4) ---------------------------------------------------------------------------


def test_a_long_order_id_is_cut_with_an_ellipsis(pipeline):
    long_id = "urn:example:order:" + "é😀" * 100  # 218 code points; the 😀 are two UTF-16 units each
    body = request()
    for entry in entries(body):
        entry["resource"]["groupIdentifier"]["value"] = long_id
    (card,) = answer(pipeline, body)
    summary = card["summary"]
    tail = "… (KRd, cycle 1): 3 warnings"
    assert len(summary) == 139 and summary.endswith(tail)
    assert summary.startswith("Order ") and long_id.startswith(summary[len("Order "):-len(tail)])


def test_a_short_order_id_is_not_cut(pipeline):
    body = request()
    room = 139 - len("Order  (KRd, cycle 1): 3 warnings")
    for entry in entries(body):
        entry["resource"]["groupIdentifier"]["value"] = "urn:example:" + "o" * (room - len("urn:example:"))
    (card,) = answer(pipeline, body)
    assert len(card["summary"]) == 139 and "…" not in card["summary"]


def _unescaped(text: str) -> str | None:
    """The text a Markdown reader shows for an escaped one, or None when a character of 5.4 stands in it
    unescaped."""
    shown, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in SPECIAL:
            shown.append(text[i + 1])
            i += 2
        elif text[i] in SPECIAL:
            return None
        else:
            shown.append(text[i])
            i += 1
    return "".join(shown)


def test_messages_are_escaped_for_markdown(pipeline):
    key = "a*_[]<>|~#`\\b"
    body = request()
    entries(body)[3]["resource"][key] = 1
    result = pipeline.check("r.json", json.dumps(body).encode())
    (unknown,) = [f for f in result.findings if f.rule_id == "fhir-unknown-element"]
    assert SPECIAL <= set(unknown.message), "the message quotes the key, every character of 5.4 in it"
    (card,) = answer(pipeline, body)
    level, rule, message = ITEM.findall(card["detail"])[0]
    assert (level, rule) == ("Violation", "fhir-unknown-element")
    assert _unescaped(message) == unknown.message
    assert r"a\*\_\[\]\<\>\|\~\#\`" in message
    # the path holds a backtick: its code span is fenced by two
    (at,) = [line for line in card["detail"].split("\n") if line.startswith("  - At ") and key in line]
    assert at == f"  - At `MedicationRequest/krd-c1-len`: ``context.draftOrders.entry[3].resource.{key}``"


def test_the_data_used_name_each_resource_and_what_is_not_given(pipeline):
    body = request()
    entries(body)[0]["resource"]["extension"].append(
        {"url": "https://w3id.org/protovalidate/fhir/StructureDefinition/dialysis", "valueBoolean": True})
    body["prefetch"]["weight"] = None
    (card,) = answer(pipeline, body)
    (data_used,) = [p for p in paragraphs(card) if p.startswith("Data used: ")]
    assert data_used == ("Data used: age 64 (`Patient/17`, 1962-05-14); height 170 cm (`Observation/ht-17`, "
                         "2026-11-30); creatinine clearance 85 mL/min (`Observation/crcl-17`, 2026-11-30); dialysis "
                         "yes (`MedicationRequest/krd-c1-cfz-1`); not given: weight, BSA, neutrophils, platelets, "
                         "dose basis.")


def test_levels_in_order_and_by_position_within_a_level(pipeline):
    body = request(MISMATCH)
    entries(body)[3]["resource"]["medicationCodeableConcept"]["coding"][0]["code"] = "999"
    (card,) = answer(pipeline, body)
    levels = [level for level, _ in items(card)]
    assert levels == sorted(levels, key=["error", "warning", "info"].index)
    errors = [rule for level, rule in items(card) if level == "error"]
    # the converter's finding (entry[3]) and the dose (entry[1]): by position in the request
    assert errors == ["dose-amount-mismatch", "fhir-unknown-code"]
    assert "suggestions" not in card, "a second violation: no suggestion"


# --- the cards of a check that did not finish (5.1 last row) ----------------------------------------------------


@pytest.mark.parametrize("reason, seconds, summary", [
    ("timeout", 5, "Draft orders not checked: protovalidate did not finish within 5 s"),
    ("timeout", 2.5, "Draft orders not checked: protovalidate did not finish within 2.5 s"),
    ("internal", None, "Draft orders not checked: protovalidate failed (internal error)"),
])
def test_a_check_that_did_not_finish_gets_one_critical_card(reason, seconds, summary):
    card = not_checked_card(reason, seconds=seconds, knowledge_base=KB, source_url=SOURCE_URL)
    assert_well_formed(card)
    assert (card["summary"], card["indicator"]) == (summary, "critical")
    assert card["detail"] == f"The draft orders were not checked: check them by hand.\n\nKnowledge base: {KB}."
    assert "suggestions" not in card


def test_a_not_checked_card_needs_a_known_reason():
    with pytest.raises(ValueError):
        not_checked_card("slow", seconds=1, knowledge_base=KB, source_url=SOURCE_URL)
    with pytest.raises(ValueError):
        not_checked_card("timeout", seconds=None, knowledge_base=KB, source_url=SOURCE_URL)


# --- the suggestion (5.6) ----------------------------------------------------------------------------------------


def _small_patient(bsa: float, ordered_day_1: float) -> dict:
    """10.1 for a patient of the given BSA (an Observation; no weight or height): carfilzomib days 1 and 2
    ordered at ``ordered_day_1`` mg, days 8 to 16 at the right amount."""
    body = request()
    body["prefetch"]["weight"] = body["prefetch"]["height"] = None
    body["prefetch"]["bsa"] = {"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": [{
        "fullUrl": "https://ehr.example.org/fhir/Observation/bsa-17", "search": {"mode": "match"},
        "resource": {"resourceType": "Observation", "id": "bsa-17", "status": "final",
                     "code": {"coding": [{"system": "http://loinc.org", "code": "8277-6"}]},
                     "subject": {"reference": "Patient/17"}, "effectiveDateTime": "2026-11-30",
                     "valueQuantity": {"value": bsa, "unit": "m2", "system": UCUM, "code": "m2"}}}]}
    entries(body)[0]["resource"]["dosageInstruction"][0]["doseAndRate"][1]["doseQuantity"]["value"] = ordered_day_1
    entries(body)[1]["resource"]["dosageInstruction"][0]["doseAndRate"][1]["doseQuantity"]["value"] = \
        round(56 * bsa, 1)
    return body


@pytest.mark.parametrize("bsa, ordered, amount, label", [
    (0.52, 12, 10, "Set carfilzomib (cycle 1 days 1, 2) to 10 mg: 20 mg/m2 × BSA 0.52 m2"),       # 10.4 mg
    (0.33, 8, 6.6, "Set carfilzomib (cycle 1 days 1, 2) to 6.6 mg: 20 mg/m2 × BSA 0.33 m2"),      # below 10 mg
])
def test_the_suggested_amount_is_the_engine_s_rounded(pipeline, bsa, ordered, amount, label):
    (card,) = answer(pipeline, _small_patient(bsa, ordered))
    assert items(card)[0] == ("error", "dose-amount-mismatch")
    (suggestion,) = card["suggestions"]
    assert suggestion["label"] == label
    (action,) = suggestion["actions"]
    assert action["description"] == f"MedicationRequest/krd-c1-cfz-1: calculated dose {ordered} mg → {amount} mg"
    assert action["resource"]["dosageInstruction"][0]["doseAndRate"][1]["doseQuantity"] == {
        "value": amount, "unit": "mg", "system": UCUM, "code": "mg"}
    assert type(action["resource"]["dosageInstruction"][0]["doseAndRate"][1]["doseQuantity"]["value"]) is \
        type(amount)


def test_no_suggestion_when_the_rounded_amount_is_outside_the_tolerance():
    """At 1 % the 10.4 mg of the case above rounds to 10 mg, 3.8 % off: no suggestion (the same request
    gets one at 5 %, above)."""
    strict = Pipeline(administrations=False, input_kind="fhir", tolerance_percent=1)
    cards = answer(strict, _small_patient(0.52, 12), tolerance=1)
    (card,) = cards
    assert items(card)[0] == ("error", "dose-amount-mismatch") and "suggestions" not in card


def _as_request_group(body: dict) -> dict:
    """The draft orders as one RequestGroup entry that contains the requests, an action for each."""
    requests = [entry["resource"] for entry in entries(body)]
    for resource in requests:
        del resource["groupIdentifier"]
    entries(body)[:] = [{"resource": {
        "resourceType": "RequestGroup", "id": "rg-1", "status": "draft", "intent": "order",
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:example:order:0001"}],
        "subject": {"reference": "Patient/17"}, "authoredOn": "2026-12-01T08:00:00Z",
        "contained": requests, "action": [{"resource": {"reference": "#" + r["id"]}} for r in requests]}}]
    return entries(body)[0]["resource"]


def test_a_contained_request_no_action_names_is_outside_every_order(pipeline):
    """fhir-request-ungrouped stands inside the RequestGroup, yet the request belongs to no order."""
    body = request()
    group = _as_request_group(body)
    unnamed = copy.deepcopy(group["contained"][5])
    unnamed["id"] = "unnamed-dex"
    group["contained"].append(unnamed)
    cards = answer(pipeline, body)
    assert [card["summary"] for card in cards] == ["Order urn:example:order:0001 (KRd, cycle 1): 3 warnings",
                                                   "Draft orders: 1 problem outside any protocol order"]
    assert items(cards[1]) == [("error", "fhir-request-ungrouped")]
    assert "At `RequestGroup/rg-1#unnamed-dex`: `context.draftOrders.entry[0].resource.contained[6]`" \
        in cards[1]["detail"]


def test_no_suggestion_for_a_contained_request(pipeline):
    body = request(MISMATCH)
    _as_request_group(body)
    (card,) = answer(pipeline, body)
    assert card["summary"] == "Order urn:example:order:0001 (KRd, cycle 1): 1 violation, 3 warnings"
    assert ("At `RequestGroup/rg-1#krd-c1-cfz-2`: "
            "`context.draftOrders.entry[0].resource.contained[1].dosageInstruction[0].doseAndRate[1].doseQuantity`"
            ) in card["detail"]
    assert "suggestions" not in card


def test_no_suggestion_for_a_dose_from_an_untyped_element(pipeline):
    """Not reachable through the converter: an untyped element is the dose only when it is the request's
    only element (docs/fhir.md step 6), and then there is no level for dose-amount-mismatch to multiply.
    So the checked result of 10.3 is given with its request's calculated element untyped."""
    body = request(MISMATCH)
    result = pipeline.check("r.json", json.dumps(body).encode())
    tolerance = pipeline.kb.dose_tolerance_percent()
    assert cards_for(result, body, knowledge_base=KB, source_url=SOURCE_URL,
                     tolerance_percent=tolerance)[0].get("suggestions"), "the control: 10.3 has one"
    del entries(body)[1]["resource"]["dosageInstruction"][0]["doseAndRate"][1]["type"]
    (card,) = cards_for(result, body, knowledge_base=KB, source_url=SOURCE_URL, tolerance_percent=tolerance)
    assert items(card)[0] == ("error", "dose-amount-mismatch") and "suggestions" not in card


def test_the_engine_carries_the_computed_amount_as_data(pipeline):
    result = pipeline.check("r.json", (EXAMPLES / MISMATCH).read_bytes())
    (finding,) = [f for f in result.orders[0].findings if f.rule_id == "dose-amount-mismatch"]
    expected = finding.expected
    assert expected is not None
    assert (expected.level, expected.level_unit, expected.basis, expected.days) == (
        "56", "mg/m2", "BSA 1.84 m2", (8, 9, 15, 16))
    assert expected.amount_mg == pytest.approx(103.2589, abs=1e-4)   # 56 × Mosteller(72 kg, 170 cm), unrounded
    assert all(f.expected is None for f in result.orders[0].findings if f is not finding)


@pytest.mark.parametrize("amount, rounded", [
    (103.2588979, "103"), (102.5, "103"), (10.5, "11"), (10.0, "10"), (9.95, "10.0"), (2.25, "2.3"),
    (2.24, "2.2"), (0.05, "0.1"),
])
def test_rounding_is_half_up_to_a_whole_mg_from_10_mg_and_to_0_1_mg_below(amount, rounded):
    assert cards_module._rounded(amount) == Decimal(rounded)
