"""The FHIR converter (docs/fhir.md sections 1-6, 7.2): documents in, order-format orders and converter findings
out. The worked examples 9.1 and 9.2 map to 9.3 exactly; then one small document per rule."""

from __future__ import annotations

import collections
import gc
import json
from pathlib import Path

import pytest

from chemo_protovalidate.read.fhir.interface import convert
from chemo_protovalidate.read.jsonld import load_json

CONTRACT = Path(__file__).parent / "data" / "fhir" / "contract"


def _load(name: str):
    value, finding = load_json((CONTRACT / name).read_text("utf-8"))
    assert finding is None
    return value


@pytest.mark.parametrize("name", ["requestgroup-9.1.json", "bundle-9.2.json"])
def test_worked_examples_map_to_9_3_exactly(name):
    conversion = convert(_load(name))
    assert conversion.issues == []
    orders = [mapped.order for mapped in conversion.orders]
    # Key order is part of the mapping (order-format.md's tables), so compare the JSON text.
    assert json.dumps(orders) == json.dumps(_load("mapped-9.3.json"))
    assert [mapped.label for mapped in conversion.orders] == ["urn:example:order:0001"]
    assert [r.status for r in conversion.orders[0].requests] == ["checked"] * 6
    assert conversion.orders[0].reference_time == "2026-12-01T08:00:00Z"


# --- one document per rule of docs/fhir.md 7.2 -------------------------------------------------------------
# Each case edits a copy of 9.2 (the Bundle: entries 0 cfz-1, 1 cfz-2, 2 nacl, 3 len, 4 asa, 5 dex, 6 Patient,
# 7 weight, 8 height, 9 crcl) or of 9.1 (the RequestGroup) and names the rule, the pointer and the effect:
#   left-out     the order is checked without that request (5 administrations, the request 'left-out')
#   not-checked  the order is not checked (order None, fhir-order-not-checked)
#   not-used:KEY the order is checked without that patient key
#   kept         the order is checked whole (6 administrations)
#   skipped      the order is skipped: no order-format order, no fhir-order-not-checked
#   not-read     nothing of the document is read (no order, no no-order)

import copy

PROJECT = "https://w3id.org/protovalidate/fhir/StructureDefinition/"
CORE_DAYS = "http://hl7.org/fhir/StructureDefinition/timing-daysOfCycle"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"


def _entry(doc, i):
    return doc["entry"][i]["resource"]


def _contained(doc, rid):
    return next(r for r in doc["contained"] if r["id"] == rid)


def _dosage(resource):
    return resource["dosageInstruction"][0]


def _set(path, value):
    """An edit that sets doc[path...] = value (path: keys and indexes)."""
    def edit(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return edit


def _delete(path):
    def edit(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return edit


def _each_entry(edit):
    def all_entries(doc):
        for entry in doc["entry"][:6]:
            edit(entry["resource"])
    return all_entries


def _append(path, value):
    def edit(doc):
        target = doc
        for key in path:
            target = target[key]
        target.append(value)
    return edit


def _weight(value, date, status="final", wid="wt-2"):
    return {"fullUrl": f"https://ehr.example.org/fhir/Observation/{wid}", "resource": {
        "resourceType": "Observation", "id": wid, "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "subject": {"reference": "Patient/17"}, "effectiveDateTime": date,
        "valueQuantity": {"value": value, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}}}


def _rg_in_action(doc):
    doc["contained"].append({"resourceType": "RequestGroup", "id": "inner", "status": "draft", "intent": "order"})
    doc["action"].append({"resource": {"reference": "#inner"}})


def _dex_twice(doc):
    doc["action"].append({"resource": {"reference": "#dex"}, "extension": [
        {"url": CORE_DAYS, "extension": [{"url": "day", "valueInteger": 1}]}]})


def _days_conflict(doc):
    _contained(doc, "cfz-1")["extension"] = [{"url": PROJECT + "cycle-days",
                                             "extension": [{"url": "day", "valueInteger": 1}]}]


def _two_medications(doc):
    dex = _entry(doc, 5)
    del dex["medicationCodeableConcept"]
    dex["medicationReference"] = {"reference": "Medication/m1"}
    for code in ("3264", "342369"):
        doc["entry"].append({"resource": {"resourceType": "Medication", "id": "m1",
                                          "code": {"coding": [{"system": RXNORM, "code": code}]}}})


def _second_dosage(doc):
    dex = _entry(doc, 5)
    dex["dosageInstruction"].append(copy.deepcopy(dex["dosageInstruction"][0]))


def _rxnorm(code):
    return _set(["entry", 5, "resource", "medicationCodeableConcept", "coding", 0, "code"], code)


DEX_DOSE = ["entry", 5, "resource", "dosageInstruction", 0, "doseAndRate", 0, "doseQuantity"]
DEX_DOSE_POINTER = "/entry/5/resource/dosageInstruction/0/doseAndRate/0/doseQuantity"

CASES = [
    # rule, document, edit, pointer, effect
    ("fhir-earlier-version", "bundle", _set(["entry", 5, "resource", "dosageInstruction", 0, "doseQuantity"],
                                             {"value": 40, "unit": "mg"}),
     "/entry/5/resource/dosageInstruction/0/doseQuantity", "left-out"),
    ("fhir-not-an-array", "bundle", _set(["entry", 5, "resource", "dosageInstruction", 0, "doseAndRate"],
                                          {"doseQuantity": {"value": 40, "system": UCUM, "code": "mg"}}),
     "/entry/5/resource/dosageInstruction/0/doseAndRate", "left-out"),
    ("fhir-unknown-element", "bundle", lambda doc: _dosage(_entry(doc, 5))["doseAndRate"][0].update(
        doseQuantiy=_dosage(_entry(doc, 5))["doseAndRate"][0].pop("doseQuantity")),
     "/entry/5/resource/dosageInstruction/0/doseAndRate/0/doseQuantiy", "left-out"),
    ("fhir-invalid-value", "bundle", _set(["entry", 5, "resource", "id"], "krd-c1-dex|10"), "/entry/5/resource/id",
     "left-out"),
    ("fhir-invalid-value", "bundle", _set(DEX_DOSE + ["value"], "40"), DEX_DOSE_POINTER + "/value", "left-out"),
    ("fhir-required-missing", "bundle", _delete(["entry", 5, "resource", "subject"]), "/entry/5/resource", "left-out"),
    ("fhir-required-missing", "requestgroup", _delete(["intent"]), "", "not-checked"),
    ("fhir-invalid-value", "bundle", _set(["entry", 5, "resource", "authoredOn"], "2026-12-01T08:00:00"),
     "/entry/5/resource/authoredOn", "left-out"),
    ("fhir-invalid-value", "bundle", _set(["entry", 5, "resource", "extension", 0, "valueInteger"], 1.5),
     "/entry/5/resource/extension/0/valueInteger", "left-out"),
    ("fhir-invalid-value", "bundle", _set(["entry", 5, "resource", "doNotPerform"], "false"),
     "/entry/5/resource/doNotPerform", "left-out"),
    ("fhir-modifier-not-understood", "bundle", _set(["entry", 5, "resource", "doNotPerform"], True),
     "/entry/5/resource/doNotPerform", "left-out"),
    ("fhir-modifier-not-understood", "bundle", _set(["entry", 5, "resource", "modifierExtension"],
                                                     [{"url": "https://example.org/x", "valueBoolean": True}]),
     "/entry/5/resource/modifierExtension", "left-out"),
    ("fhir-invalid-structure", "requestgroup", _rg_in_action, "/action/1/resource", "not-checked"),
    ("fhir-invalid-extension", "bundle", _set(["entry", 5, "resource", "extension", 0, "valueString"], "1"),
     "/entry/5/resource/extension/0", "left-out"),
    ("fhir-extension-misplaced", "bundle", _append(["entry", 5, "resource", "extension"], {
        "url": CORE_DAYS, "extension": [{"url": "day", "valueInteger": 1}]}),
     "/entry/5/resource/extension/2", "left-out"),
    ("fhir-unresolved-reference", "requestgroup", _set(["action", 0, "action", 5, "resource", "reference"], "#nope"),
     "/action/0/action/5/resource", "left-out:absent"),
    ("fhir-reference-ambiguous", "bundle", _two_medications, "/entry/5/resource/medicationReference", "left-out"),
    ("fhir-resource-ignored", "bundle", _append(["entry"], {"resource": {"resourceType": "NutritionOrder", "id": "n"}}),
     "/entry/10/resource", "kept"),
    ("fhir-request-ungrouped", "bundle", lambda doc: [_entry(doc, 5).pop("groupIdentifier"),
                                                      _entry(doc, 5)["extension"].pop(0)],
     "/entry/5/resource", "left-out:absent"),
    ("fhir-request-referenced-twice", "requestgroup", _dex_twice, "/action/1/resource", "left-out"),
    ("fhir-request-skipped", "bundle", _set(["entry", 5, "resource", "status"], "cancelled"),
     "/entry/5/resource/status",
     "left-out:skipped"),
    ("fhir-order-skipped", "requestgroup", _set(["status"], "revoked"), "/status", "skipped"),
    ("fhir-status-unknown", "bundle", _set(["entry", 5, "resource", "status"], "unknown"), "/entry/5/resource/status",
     "left-out"),
    ("fhir-status-unknown", "requestgroup", _set(["status"], "unknown"), "/status", "not-checked"),
    ("fhir-regimen-missing", "bundle", _each_entry(lambda r: r.pop("instantiatesCanonical")), "/entry/0/resource",
     "not-checked"),
    ("fhir-regimen-conflict", "bundle", _set(["entry", 5, "resource", "instantiatesCanonical"],
                                              ["https://w3id.org/protovalidate/fhir/PlanDefinition/KdD"]),
     "/entry/5/resource/instantiatesCanonical/0", "not-checked"),
    ("fhir-cycle-missing", "bundle", _each_entry(lambda r: r["extension"].pop(0)), "/entry/0/resource", "not-checked"),
    ("fhir-cycle-conflict", "bundle", _set(["entry", 5, "resource", "extension", 0, "valueInteger"], 2),
     "/entry/5/resource/extension/0", "not-checked"),
    ("fhir-subject-conflict", "bundle", _set(["entry", 5, "resource", "subject", "reference"], "Patient/18"),
     "/entry/5/resource/subject", "not-checked"),
    ("fhir-unknown-code", "bundle", _rxnorm("99999"), "/entry/5/resource/medicationCodeableConcept", "left-out"),
    ("fhir-code-conflict", "bundle", _append(["entry", 5, "resource", "medicationCodeableConcept", "coding"], {
        "system": "https://w3id.org/protovalidate/fhir/CodeSystem/agent", "code": "lenalidomide"}),
     "/entry/5/resource/medicationCodeableConcept", "left-out"),
    ("fhir-product-route-mismatch", "bundle", _rxnorm("2372199"), "/entry/5/resource/dosageInstruction/0/route",
     "left-out"),
    ("fhir-route-unknown", "bundle",
     _set(["entry", 5, "resource", "dosageInstruction", 0, "route", "coding", 0, "code"], "12345"),
     "/entry/5/resource/dosageInstruction/0/route", "left-out"),
    ("fhir-days-missing", "bundle", lambda doc: _entry(doc, 5)["extension"].pop(1), "/entry/5/resource", "left-out"),
    ("fhir-days-conflict", "requestgroup", _days_conflict, "/contained/4/extension/0", "left-out:0"),
    ("fhir-several-dosage-instructions", "bundle", _second_dosage, "/entry/5/resource/dosageInstruction", "left-out"),
    ("fhir-dose-ambiguous", "bundle", _append(["entry", 5, "resource", "dosageInstruction", 0, "doseAndRate"], {
        "doseQuantity": {"value": 20, "system": "http://unitsofmeasure.org", "code": "mg"}}),
     "/entry/5/resource/dosageInstruction/0/doseAndRate/0", "left-out"),
    ("fhir-dose-range", "bundle", _set(["entry", 5, "resource", "dosageInstruction", 0, "doseAndRate", 0],
                                        {"doseRange": {"low": {"value": 20}, "high": {"value": 40}}}),
     "/entry/5/resource/dosageInstruction/0/doseAndRate/0/doseRange", "left-out"),
    ("fhir-unit-not-coded", "bundle", _set(DEX_DOSE, {"value": 40, "unit": "mg"}), DEX_DOSE_POINTER, "left-out"),
    ("fhir-unit-unknown", "bundle", _set(DEX_DOSE, {"value": 40, "system": "https://example.org/units", "code": "mg"}),
     DEX_DOSE_POINTER, "left-out"),
    ("fhir-unit-unknown", "bundle", _set(DEX_DOSE, {"value": 40, "system": SNOMED, "code": "999"}), DEX_DOSE_POINTER,
     "left-out"),
    ("fhir-auc-dose", "bundle", _set(DEX_DOSE, {"value": 5, "system": SNOMED, "code": "413573002"}), DEX_DOSE_POINTER,
     "left-out"),
    ("fhir-as-needed", "bundle", _set(["entry", 5, "resource", "dosageInstruction", 0, "asNeededBoolean"], True),
     "/entry/5/resource/dosageInstruction/0/asNeededBoolean", "left-out"),
    ("fhir-rate-not-read", "bundle", _set(["entry", 2, "resource", "dosageInstruction", 0, "doseAndRate", 0,
                                            "rateQuantity"], {"value": 250, "unit": "ml/hr"}),
     "/entry/2/resource/dosageInstruction/0/doseAndRate/0/rateQuantity", "kept"),
    ("fhir-egfr-not-crcl", "bundle", _set(["entry", 9, "resource", "code", "coding", 0, "code"], "33914-3"),
     "/entry/9/resource", "not-used:creatinineClearance"),
    ("fhir-egfr-not-crcl", "bundle", _set(["entry", 9, "resource", "valueQuantity", "code"], "mL/min/{1.73_m2}"),
     "/entry/9/resource", "not-used:creatinineClearance"),
    ("fhir-patient-data-chosen", "bundle", _append(["entry"], _weight(80.0, "2026-10-01")), "/entry/7/resource",
     "kept"),
    ("fhir-patient-data-not-used", "bundle", _set(["entry", 7, "resource", "status"], "preliminary"),
     "/entry/7/resource", "not-used:weight"),
    ("fhir-patient-data-not-used", "bundle", _set(["entry", 7, "resource", "effectiveDateTime"], "2026-12-02"),
     "/entry/7/resource", "not-used:weight"),
    ("fhir-patient-data-not-used", "bundle", _set(["entry", 6, "resource", "birthDate"], "1962-05"),
     "/entry/6/resource/birthDate", "not-used:age"),
    ("fhir-patient-data-conflict", "bundle", _append(["entry"], _weight(80.0, "2026-11-30")), "/entry/10/resource",
     "not-used:weight"),
    ("fhir-reference-time-missing", "bundle", _each_entry(lambda r: r.pop("authoredOn")), "/entry/0/resource",
     "not-used:age"),
    ("repeated-day", "bundle", _append(["entry", 5, "resource", "extension", 1, "extension"], {
        "url": "day", "valueInteger": 1}), "/entry/5/resource/extension/1/extension/4", "kept"),
]

BASES = {"bundle": "bundle-9.2.json", "requestgroup": "requestgroup-9.1.json"}


@pytest.mark.parametrize("rule, base, edit, pointer, effect", CASES,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(CASES)])
def test_rule(rule, base, edit, pointer, effect):
    document = copy.deepcopy(_load(BASES[base]))
    edit(document)
    conversion = convert(document)
    named = [(issue.rule_id, issue.pointer) for issue in conversion.issues]
    assert (rule, pointer) in named, named
    assert len(conversion.orders) == 1
    mapped = conversion.orders[0]
    not_checked = [issue for issue in conversion.issues if issue.rule_id == "fhir-order-not-checked"]
    if effect == "not-checked":
        assert mapped.order is None and len(not_checked) == 1
        return
    if effect == "skipped":
        assert mapped.order is None and not not_checked
        return
    assert mapped.order is not None, named
    administrations = mapped.order["administrations"]
    if effect == "kept" or effect.startswith("not-used"):
        assert len(administrations) == 6
    if effect.startswith("not-used:"):
        key = effect.split(":")[1]
        assert key not in mapped.order["patient"] and key not in mapped.patient_data
        assert mapped.order["patient"], "the other keys are still given"
    if effect.startswith("left-out"):
        assert len(administrations) == 5
        statuses = [request.status for request in mapped.requests]
        if effect == "left-out:absent":
            assert len(statuses) == 5 and set(statuses) == {"checked"}
        elif effect == "left-out:skipped":
            assert statuses.count("skipped") == 1
        else:
            slot = int(effect.split(":")[1]) if ":" in effect else 5
            assert statuses[slot] == "left-out" and statuses.count("checked") == 5


# --- what a document is (section 1) ------------------------------------------------------------------------

def _bundle_without_markers():
    doc = _load("bundle-9.2.json")
    for entry in doc["entry"][:6]:
        resource = entry["resource"]
        del resource["instantiatesCanonical"], resource["extension"]
    doc["entry"] = doc["entry"][2:]  # no carfilzomib either
    return doc


DOCUMENTS = [
    # document, expected (rule, pointer) issues exactly, number of orders
    ({"resourceType": "PlanDefinition", "id": "KDN5"}, [("fhir-resource-not-supported", "")], 0),
    ("a string", [("fhir-resource-not-supported", "")], 0),
    ([{"resourceType": "Bundle"}], [("fhir-resource-not-supported", "")], 0),
    ({"resourceType": "MedicationOrder", "id": "x"}, [("fhir-earlier-version", "")], 0),
    ({"resourceType": "Bundle", "type": "document", "entry": []}, [("fhir-bundle-type-not-supported", "/type")], 0),
    ({"resourceType": "Bundle", "entry": []}, [("fhir-bundle-type-not-supported", "")], 0),
    ({"resourceType": "Bundle", "type": "collection", "entry": {}}, [("fhir-not-an-array", "/entry")], 0),
    ({"resourceType": "Bundle", "type": "collection", "entyr": []}, [("fhir-unknown-element", "/entyr")], 0),
    ({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Bundle"}}]},
     [("fhir-invalid-structure", "/entry/0/resource"), ("no-order", None)], 0),
    ({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "MedicationOrder"}}]},
     [("fhir-earlier-version", "/entry/0/resource"), ("no-order", None)], 0),
    ({"resourceType": "Bundle", "type": "searchset", "entry": [
        {"search": {"mode": "outcome"}, "resource": {"resourceType": "OperationOutcome"}}, {"fullUrl": "urn:x"}]},
     [("no-order", None)], 0),
    (_bundle_without_markers(), [("fhir-resource-ignored", "/entry/0/resource"), ("no-order", None)], 0),
]


@pytest.mark.parametrize("document, expected, count", DOCUMENTS, ids=[str(i) for i in range(len(DOCUMENTS))])
def test_document(document, expected, count):
    conversion = convert(document)
    assert [(issue.rule_id, issue.pointer) for issue in conversion.issues] == expected
    assert len(conversion.orders) == count


def test_a_key_twice_in_the_bundle_reads_nothing():
    value, _ = load_json('{"resourceType": "Bundle", "type": "collection", "type": "batch", "entry": []}')
    conversion = convert(value)
    assert [(issue.rule_id, issue.pointer) for issue in conversion.issues] == [("duplicate-key", "/type")]
    assert conversion.orders == []


def test_a_key_twice_in_a_request_leaves_it_out():
    text = (CONTRACT / "bundle-9.2.json").read_text("utf-8")
    text = text.replace('"id": "krd-c1-dex",', '"id": "krd-c1-dex", "status": "draft",', 1)
    value, _ = load_json(text)
    conversion = convert(value)
    assert ("duplicate-key", "/entry/5/resource/status") in [(i.rule_id, i.pointer) for i in conversion.issues]
    assert [r.status for r in conversion.orders[0].requests][5] == "left-out"
    assert len(conversion.orders[0].order["administrations"]) == 5


def test_too_many_requests_is_order_too_large():
    conversion = convert(_load("bundle-9.2.json"), max_administrations=5)
    rules = [(issue.rule_id, issue.pointer) for issue in conversion.issues]
    assert rules == [("order-too-large", "/entry/0/resource"), ("fhir-order-not-checked", "/entry/0/resource")]
    assert conversion.orders[0].order is None


def test_two_orders_with_one_id_and_their_order_in_the_file():
    first, second = _load("requestgroup-9.1.json"), _load("requestgroup-9.1.json")
    second["id"] = "krd-c1-0002"
    second["extension"][0]["valueInteger"] = 2
    doc = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": first}, {"resource": second}]}
    conversion = convert(doc)
    assert [(i.rule_id, i.pointer) for i in conversion.issues] == [("duplicate-order-id", "/entry/1/resource")]
    assert [o.order["cycle"] for o in conversion.orders] == [1, 2]
    assert [o.pointer for o in conversion.orders] == ["/entry/0/resource", "/entry/1/resource"]


# --- order identity (2.5) ----------------------------------------------------------------------------------

def _identifiers(value):
    def edit(doc):
        if value is None:
            del doc["identifier"]
        else:
            doc["identifier"] = value
    return edit


LABELS = [
    (_identifiers([{"system": "https://ehr.example.org/orders", "value": "A-17"}]),
     "https://ehr.example.org/orders|A-17", False),
    (_identifiers([{"value": "A-17"}, {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:1"}]), "urn:uuid:1", True),
    (_identifiers([{"value": "A-17"}]), "A-17", False),
    (_identifiers(None), "RequestGroup/krd-c1-0001", False),
    (lambda doc: [_identifiers(None)(doc), doc.pop("id")], "order 1", False),
]


@pytest.mark.parametrize("edit, label, has_id", LABELS)
def test_order_label(edit, label, has_id):
    doc = _load("requestgroup-9.1.json")
    edit(doc)
    mapped = convert(doc).orders[0]
    assert mapped.label == label
    assert ("@id" in mapped.order) is has_id
    if has_id:
        assert mapped.order["@id"] == label


def test_loose_requests_group_by_subject_regimen_and_cycle():
    doc = _load("bundle-9.2.json")
    for entry in doc["entry"][:6]:
        del entry["resource"]["groupIdentifier"]
    doc["entry"][5]["resource"]["extension"][0]["valueInteger"] = 2
    conversion = convert(doc)
    assert [o.label for o in conversion.orders] == ["order 1", "order 2"]
    assert [len(o.order["administrations"]) for o in conversion.orders] == [5, 1]
    assert [o.pointer for o in conversion.orders] == ["/entry/0/resource", "/entry/5/resource"]
    assert conversion.orders[0].order["administrations"] == _load("mapped-9.3.json")[0]["administrations"][:5]


# --- places (7.1) ------------------------------------------------------------------------------------------

def test_places_of_the_bundle():
    places = convert(_load("bundle-9.2.json")).orders[0].places
    assert places[""] == "/entry/0/resource"
    assert places["/regimen"] == "/entry/0/resource/instantiatesCanonical/0"
    assert places["/cycle"] == "/entry/0/resource/extension/0"
    assert places["/patient/age"] == "/entry/6/resource/birthDate"
    assert places["/patient/weight"] == "/entry/7/resource/valueQuantity"
    assert places["/administrations/1"] == "/entry/1/resource"
    assert places["/administrations/1/agent"] == "/entry/1/resource/medicationCodeableConcept"
    assert places["/administrations/1/days/2"] == "/entry/1/resource/extension/1/extension/2"
    assert places["/administrations/1/dose"] == "/entry/1/resource/dosageInstruction/0/doseAndRate/1/doseQuantity"
    assert places["/administrations/0/infusionDuration"] == \
        "/entry/0/resource/dosageInstruction/0/timing/repeat/duration"
    assert places["/administrations/5/route"] == "/entry/5/resource/dosageInstruction/0/route"


def test_places_of_the_request_group():
    places = convert(_load("requestgroup-9.1.json")).orders[0].places
    assert places[""] == ""
    assert places["/regimen"] == "/instantiatesCanonical/0"
    assert places["/cycle"] == "/extension/0"
    assert places["/patient/age"] == "/contained/0/birthDate"
    assert places["/administrations/5/days/3"] == "/action/0/action/5/extension/0/extension/3"


# --- CDS Hooks request bodies (1.2) ------------------------------------------------------------------------

def _cds(patient_id="17", selections=None, prefetch=False):
    bundle = _load("bundle-9.2.json")
    del bundle["type"]  # the published hook examples omit it: accepted in draftOrders
    body = {"hook": "order-sign", "hookInstance": "d1577c69", "context": {
        "userId": "Practitioner/1", "patientId": patient_id, "draftOrders": bundle}}
    if selections is not None:
        body["context"]["selections"] = selections
    if prefetch:
        data = bundle["entry"][6:]
        bundle["entry"] = bundle["entry"][:6]
        body["prefetch"] = {"patient": data[0]["resource"], "weight": None, "labs": {
            "resourceType": "Bundle", "type": "searchset", "entry": data[1:]}}
    return body


def test_cds_body_maps_like_the_bundle():
    conversion = convert(_cds())
    assert conversion.issues == []
    assert json.dumps([o.order for o in conversion.orders]) == json.dumps(_load("mapped-9.3.json"))
    assert conversion.orders[0].pointer == "/context/draftOrders/entry/0/resource"


def test_cds_prefetch_is_patient_data():
    conversion = convert(_cds(prefetch=True))
    assert conversion.issues == []
    mapped = conversion.orders[0]
    assert json.dumps([mapped.order]) == json.dumps(_load("mapped-9.3.json"))
    assert mapped.places["/patient/age"] == "/prefetch/patient/birthDate"
    assert mapped.places["/patient/weight"] == "/prefetch/labs/entry/0/resource/valueQuantity"


def test_cds_subject_must_be_the_patient_id():
    conversion = convert(_cds(patient_id="18"))
    rules = {issue.rule_id for issue in conversion.issues}
    assert rules == {"fhir-subject-conflict", "fhir-order-not-checked"}
    assert conversion.orders[0].order is None


@pytest.mark.parametrize("selections, orders", [(["MedicationRequest/krd-c1-dex"], 1),
                                                (["MedicationRequest/other"], 0)])
def test_cds_selections(selections, orders):
    conversion = convert(_cds(selections=selections))
    assert len(conversion.orders) == orders
    if not orders:
        assert [(i.rule_id, i.pointer) for i in conversion.issues] == [
            ("fhir-resource-ignored", "/context/draftOrders/entry/0/resource"), ("no-order", None)]


def test_cds_arrival_time_is_the_reference_time():
    body = _cds()
    for entry in body["context"]["draftOrders"]["entry"][:6]:
        del entry["resource"]["authoredOn"]
    conversion = convert(body, arrival_time="2026-12-01T09:30:00Z")
    assert conversion.issues == []
    assert conversion.orders[0].reference_time == "2026-12-01T09:30:00Z"
    assert conversion.orders[0].order["patient"]["age"] == 64


# --- the site map (5.3) ------------------------------------------------------------------------------------

def test_site_map_regimen_agent_and_route():
    from chemo_protovalidate.read.fhir.interface import SiteMap

    doc = _load("bundle-9.2.json")
    site = SiteMap(regimens={"https://fhir.example-hospital.org/PlanDefinition/myeloma-krd": "KRd"},
                   agents={"https://nzulm.org.nz/nzmt": {"10238921000116102": "dexamethasone"}},
                   routes={"https://fhir.example-hospital.org/CodeSystem/route": {"ORAL": "PO"}})
    for entry in doc["entry"][:6]:
        entry["resource"]["instantiatesCanonical"] = ["https://fhir.example-hospital.org/PlanDefinition/myeloma-krd|2"]
    dex = doc["entry"][5]["resource"]
    dex["medicationCodeableConcept"] = {"coding": [
        {"system": "https://nzulm.org.nz/nzmt", "code": "10238921000116102"}]}
    dex["dosageInstruction"][0]["route"] = {"coding": [
        {"system": "https://fhir.example-hospital.org/CodeSystem/route", "code": "ORAL"}]}
    assert {i.rule_id for i in convert(doc).issues} == {
        "fhir-unknown-code", "fhir-route-unknown", "fhir-regimen-missing", "fhir-order-not-checked"}
    conversion = convert(doc, site)
    assert conversion.issues == []
    assert json.dumps([o.order for o in conversion.orders]) == json.dumps(_load("mapped-9.3.json"))


# --- what is passed on as written (3.5-3.8, 4) -------------------------------------------------------------

def _dex(edit):
    """The 9.2 Bundle with the dexamethasone request edited; its administration (or None) and the rule ids."""
    doc = _load("bundle-9.2.json")
    edit(doc["entry"][5]["resource"])
    conversion = convert(doc)
    administrations = conversion.orders[0].order["administrations"]
    dex = administrations[5] if len(administrations) == 6 else None
    return dex, [issue.rule_id for issue in conversion.issues]


def _dose(quantity):
    return lambda dex: dex["dosageInstruction"][0]["doseAndRate"][0].update(doseQuantity=quantity)


PASSED_ON = [
    # edit of the dexamethasone request, the administration keys expected (a subset), the rules
    (_dose({"value": 40, "system": SNOMED, "code": "258684004"}), {"dose": {"value": 40, "unit": "mg"}}, []),
    (_dose({"value": 40, "system": SNOMED, "code": "258685003"}), {"dose": {"value": 40, "unit": "ug"}}, []),
    (_dose({"value": 20, "system": SNOMED, "code": "404216004"}), {"doseLevel": {"value": 20, "unit": "mg/m2"}}, []),
    (_dose({"value": 40, "system": UCUM, "code": "ug"}), {"dose": {"value": 40, "unit": "ug"}}, []),
    (_dose({"value": 0.6, "system": UCUM, "code": "mg/kg"}), {"doseLevel": {"value": 0.6, "unit": "mg/kg"}}, []),
    (_dose({"value": 40}), {"dose": {"value": 40}}, []),
    (lambda dex: dex["extension"][1]["extension"].insert(0, {"url": "day", "valueInteger": 0}),
     {"days": [0, 1, 8, 15, 22]}, []),
    (lambda dex: dex["extension"][1]["extension"].append({"url": "day", "valueInteger": 29}),
     {"days": [1, 8, 15, 22, 29]}, []),
    (lambda dex: dex["dosageInstruction"][0].update(route={"text": "IV"}), {"route": "IV"}, []),
    (lambda dex: dex["dosageInstruction"][0].update(route={"text": "intravenous"}), None, ["fhir-route-unknown"]),
    (lambda dex: dex["dosageInstruction"][0].update(route={"coding": [
        {"system": SNOMED, "code": "26643006"}, {"system": "https://example.org/route", "code": "oral"}]}),
     {"route": "PO"}, []),
    (lambda dex: dex["dosageInstruction"][0].pop("route"), {"agent": "dexamethasone"}, []),
    (lambda dex: dex.pop("dosageInstruction"), {"agent": "dexamethasone", "days": [1, 8, 15, 22]}, []),
    (lambda dex: dex["dosageInstruction"][0].update(timing={"repeat": {"duration": 2, "durationUnit": "h"}}),
     {"infusionDuration": {"value": 2, "unit": "h"}}, []),
    (lambda dex: dex["dosageInstruction"][0].update(timing={"repeat": {"duration": 30, "durationUnit": "s"}}),
     {"infusionDuration": {"value": 30, "unit": "s"}}, []),
    (lambda dex: dex["dosageInstruction"][0].update(timing={"repeat": {"duration": 30}}),
     {"infusionDuration": {"value": 30}}, []),
    (lambda dex: dex["extension"].append({"url": PROJECT + "dose-reduction-reason", "valueString": "neuropathy"}),
     {"doseReduction": {"reason": "neuropathy"}}, []),
    (lambda dex: dex["extension"].append({"url": PROJECT + "dose-reduction-reason", "valueCodeableConcept": {
        "coding": [{"system": "https://example.org/r", "code": "n1", "display": "Neuropathy grade 2"}]}}),
     {"doseReduction": {"reason": "Neuropathy grade 2"}}, []),
    (lambda dex: dex["medicationCodeableConcept"]["coding"].append(
        {"system": "https://example.org/products", "code": "dex-40-tab"}), {"agent": "dexamethasone"}, []),
    (lambda dex: dex["medicationCodeableConcept"].update(coding=[
        {"system": "https://w3id.org/protovalidate/fhir/CodeSystem/agent", "code": "Dexamethasone"}]),
     {"agent": "Dexamethasone"}, []),
    (lambda dex: dex["extension"].append({"url": "https://example.org/other-extension", "valueString": "x"}),
     {"agent": "dexamethasone"}, []),
    (lambda dex: dex.update(intent="proposal"), {"agent": "dexamethasone"}, []),
]


@pytest.mark.parametrize("edit, expected, rules", PASSED_ON, ids=[str(i) for i in range(len(PASSED_ON))])
def test_passed_on_as_written(edit, expected, rules):
    administration, found = _dex(edit)
    assert found == rules
    if expected is None:
        assert administration is None
        return
    for key, value in expected.items():
        assert administration[key] == value
    if "dose" in expected and "doseLevel" not in expected:
        assert "doseLevel" not in administration


def test_dosage_missing_leaves_route_and_dose_absent():
    administration, _ = _dex(lambda dex: dex.pop("dosageInstruction"))
    assert set(administration) == {"agent", "days"}


def test_the_cycle_is_passed_as_written():
    doc = _load("requestgroup-9.1.json")
    doc["extension"][0]["valueInteger"] = 0
    assert convert(doc).orders[0].order["cycle"] == 0


# --- days carriers (3.5) -----------------------------------------------------------------------------------

NZ_DAYS = "http://hl7.org.nz/fhir/StructureDefinition/sact-timing-of-days"


def _nz(doc):
    action = doc["action"][0]["action"][5]
    action["extension"] = [{"url": NZ_DAYS, "extension": [{"url": "day", "valueInteger": day},
                                                          {"url": "instructions", "valueString": "with food"}]}
                           for day in (1, 8, 15, 22)]


def _same_days_twice(doc):
    _contained(doc, "dex")["extension"] = [{"url": PROJECT + "cycle-days", "extension": [
        {"url": "day", "valueInteger": day} for day in (22, 15, 8, 1)]}]


def _days_on_an_empty_action(doc):
    doc["action"].append({"title": "notes", "extension": [
        {"url": CORE_DAYS, "extension": [{"url": "day", "valueInteger": 1}]}]})


DAYS = [
    (_nz, [1, 8, 15, 22], [], "/action/0/action/5/extension/2/extension/0"),
    (_same_days_twice, [1, 8, 15, 22], [], "/action/0/action/5/extension/0/extension/2"),
    (_days_on_an_empty_action, [1, 8, 15, 22], [("fhir-extension-misplaced", "/action/1/extension/0")], None),
]


@pytest.mark.parametrize("edit, days, issues, third_day", DAYS)
def test_days(edit, days, issues, third_day):
    doc = _load("requestgroup-9.1.json")
    edit(doc)
    conversion = convert(doc)
    assert [(i.rule_id, i.pointer) for i in conversion.issues] == issues
    mapped = conversion.orders[0]
    assert mapped.order["administrations"][5]["days"] == days
    if third_day:
        assert mapped.places["/administrations/5/days/2"] == third_day


# --- patient data (4) --------------------------------------------------------------------------------------

def _patient(edit, site_map=None):
    """The 9.2 Bundle edited; its order's patient object (None: not checked) and the (rule, pointer) issues."""
    doc = _load("bundle-9.2.json")
    edit(doc)
    conversion = convert(doc)
    order = conversion.orders[0].order
    return (order["patient"] if order else None), [(i.rule_id, i.pointer) for i in conversion.issues]


def _times(birth, authored):
    def edit(doc):
        _entry(doc, 6)["birthDate"] = birth
        for entry in doc["entry"][:6]:
            entry["resource"]["authoredOn"] = authored
    return edit


@pytest.mark.parametrize("birth, authored, age", [
    ("1962-12-01", "2026-12-01T08:00:00Z", 64),
    ("1962-12-02", "2026-12-01T08:00:00Z", 63),
    ("1962-12-02", "2026-12-01T23:30:00-05:00", 63),  # the local date as written, not UTC's 2 December
    ("2000-02-29", "2027-02-28T08:00:00Z", 26),  # 29 February's year is complete on 1 March in other years
    ("2000-02-29", "2027-03-01T08:00:00Z", 27),
    ("2000-02-29", "2028-02-29", 28),
])
def test_age_in_whole_years(birth, authored, age):
    patient, issues = _patient(_times(birth, authored))
    assert issues == []
    assert patient["age"] == age


def _observation(key_code, value, date="2026-11-30", oid="obs-x", subject="Patient/17", status="final", **more):
    resource = {"resourceType": "Observation", "id": oid, "status": status,
                "code": {"coding": [{"system": "http://loinc.org", "code": key_code}]},
                "valueQuantity": value, **more}
    if date:
        resource["effectiveDateTime"] = date
    if subject:
        resource["subject"] = {"reference": subject}
    return {"fullUrl": f"https://ehr.example.org/fhir/Observation/{oid}", "resource": resource}


def _add(*entries):
    return lambda doc: doc["entry"].extend(entries)


def _supporting(doc):
    doc["entry"].append(_weight(60.0, "2026-10-01", wid="wt-old"))
    _entry(doc, 0)["supportingInformation"] = [{"reference": "Observation/wt-old"}, {"reference": "Patient/17"}]


def _dialysis(values):
    def edit(doc):
        for i, value in enumerate(values):
            _entry(doc, i).setdefault("extension", []).append({"url": PROJECT + "dialysis", "valueBoolean": value})
    return edit


def _dose_basis(doc):
    _entry(doc, 0)["extension"].append({"url": PROJECT + "dose-basis", "extension": [
        {"url": "weight", "valueQuantity": {"value": 75, "system": UCUM, "code": "kg"}},
        {"url": "bsa", "valueQuantity": {"value": 1.9, "system": UCUM, "code": "m2"}}]})


ANC = {"value": 1.2, "unit": "10^3/uL", "system": UCUM, "code": "10*3/uL"}
PATIENT = [
    # edit, the patient keys expected (a subset; None: absent), the issues expected
    (_supporting, {"weight": {"value": 60.0, "unit": "kg"}}, []),
    (_add(_observation("751-8", ANC)), {"neutrophils": {"value": 1.2, "unit": "10*9/L"}}, []),
    (_add(_observation("777-3", {"value": 150, "system": UCUM, "code": "10*9/L"})),
     {"platelets": {"value": 150, "unit": "10*9/L"}}, []),
    (_add(_observation("8277-6", {"value": 1.84, "system": UCUM, "code": "m2"})),
     {"bsa": {"value": 1.84, "unit": "m2"}}, []),
    (_add(_observation("35591-7", {"value": 85, "system": UCUM, "code": "mL/min"}, date="2026-12-01")),
     {"creatinineClearance": {"value": 85, "unit": "mL/min"}},
     [("fhir-patient-data-chosen", "/entry/10/resource")]),
    (_add(_observation("751-8", ANC, subject=None)), {"neutrophils": None}, []),  # not the patient's
    (lambda doc: [_add(_observation("751-8", ANC, subject=None))(doc),
                  _entry(doc, 0).update(supportingInformation=[{"reference": "Observation/obs-x"}])],
     {"neutrophils": None}, [("fhir-patient-data-not-used", "/entry/10/resource")]),
    (_add(_observation("751-8", ANC, subject="Patient/18")), {"neutrophils": None}, []),
    (_add(_observation("751-8", ANC, date="2026-12-01T09:00:00+01:00")),
     {"neutrophils": {"value": 1.2, "unit": "10*9/L"}}, []),
    (_add(_observation("751-8", ANC, date="2026-12-01T10:00:00+01:00")), {"neutrophils": None},
     [("fhir-patient-data-not-used", "/entry/10/resource")]),
    (_add(_observation("751-8", ANC, date=None, effectivePeriod={"start": "2026-11-01", "end": "2026-11-29"})),
     {"neutrophils": {"value": 1.2, "unit": "10*9/L"}}, []),
    (_add(_observation("751-8", ANC, status="cancelled")), {"neutrophils": None},
     [("fhir-patient-data-not-used", "/entry/10/resource")]),
    (_add(_observation("751-8", {"value": 1.2, "unit": "10^9/L"})), {"neutrophils": None},
     [("fhir-unit-not-coded", "/entry/10/resource/valueQuantity")]),
    (_add(_observation("751-8", {"value": 1.2, "system": SNOMED, "code": "258684004"})), {"neutrophils": None},
     [("fhir-unit-unknown", "/entry/10/resource/valueQuantity")]),
    (_add(_observation("751-8", ANC, valueQuantiy=1)), {"neutrophils": None},
     [("fhir-unknown-element", "/entry/10/resource/valueQuantiy")]),
    (_add(_observation("39156-5", {"value": 24.9, "system": UCUM, "code": "kg/m2"})), {"bsa": None}, []),
    (_dialysis([True]), {"dialysis": True}, []),
    (_dialysis([True, True]), {"dialysis": True}, []),
    (_dialysis([True, False]), {"dialysis": None}, [("fhir-patient-data-conflict", "/entry/1/resource/extension/2")]),
    (_dose_basis, {"doseBasis": {"weight": {"value": 75, "unit": "kg"}, "bsa": {"value": 1.9, "unit": "m2"}}}, []),
]


@pytest.mark.parametrize("edit, keys, issues", PATIENT, ids=[str(i) for i in range(len(PATIENT))])
def test_patient_data(edit, keys, issues):
    patient, found = _patient(edit)
    assert found == issues
    assert patient is not None
    for key, value in keys.items():
        if value is None:
            assert key not in patient
        else:
            assert patient[key] == value
    assert patient["height"] == {"value": 170, "unit": "cm"}, "the other keys are still given"


def test_patient_keys_in_the_order_formats_order():
    patient, _ = _patient(lambda doc: [_dose_basis(doc), _dialysis([True])(doc),
                                       _add(_observation("751-8", ANC))(doc)])
    assert list(patient) == ["age", "weight", "height", "creatinineClearance", "dialysis", "doseBasis", "neutrophils"]


def test_no_patient_data_is_an_empty_patient():
    doc = _load("bundle-9.2.json")
    doc["entry"] = doc["entry"][:6]
    for entry in doc["entry"]:
        entry["resource"]["subject"] = {"reference": "Patient/unknown"}
    conversion = convert(doc)
    assert conversion.issues == []
    assert conversion.orders[0].order["patient"] == {}


# --- the cases of 7.3 in the real examples (the copies in tests/data/fhir/examples), markers added ----------

EXAMPLES = Path(__file__).parent / "data" / "fhir" / "examples" / "fhir-r4-core"
MARKERS = {"instantiatesCanonical": ["https://w3id.org/protovalidate/fhir/PlanDefinition/KRd"],
           "extension": [{"url": PROJECT + "cycle-number", "valueInteger": 1}]}


def _example(name, markers=True):
    value, _ = load_json((EXAMPLES / name).read_text("utf-8"))
    if markers:
        value.update(copy.deepcopy(MARKERS))
    return value


@pytest.mark.parametrize("name, expected", [
    ("MedicationRequest-medrx0306.json", [("fhir-unknown-code", "/contained/0/code"), ("fhir-days-missing", "")]),
    ("MedicationRequest-medrx0309.json", [("fhir-unknown-code", "/contained/0/code"), ("fhir-days-missing", "")]),
    ("MedicationRequest-medrx0316.json", [("fhir-unknown-code", "/contained/0/code"), ("fhir-days-missing", ""),
                                          ("fhir-rate-not-read", "/dosageInstruction/0/doseAndRate/0/rateRatio")]),
    ("MedicationRequest-medrx0317.json", [("fhir-unknown-code", "/contained/0/code"), ("fhir-days-missing", ""),
                                          ("fhir-several-dosage-instructions", "/dosageInstruction")]),
    ("MedicationRequest-medrx0319.json", [("fhir-unknown-code", "/contained/0/code"), ("fhir-days-missing", ""),
                                          ("fhir-rate-not-read", "/dosageInstruction/0/doseAndRate/0/rateQuantity")]),
])
def test_real_requests_with_markers(name, expected):
    conversion = convert(_example(name))
    assert [(i.rule_id, i.pointer) for i in conversion.issues] == expected + [("fhir-order-not-checked", "")]
    assert [r.status for r in conversion.orders[0].requests] == ["left-out"]


def test_days_only_in_text_are_quoted():
    conversion = convert(_example("MedicationRequest-medrx0309.json"))
    days = next(i for i in conversion.issues if i.rule_id == "fhir-days-missing")
    assert "days only in text" in days.message


def test_kdn5_with_its_canonical_mapped():
    from chemo_protovalidate.read.fhir.interface import SiteMap

    conversion = convert(_example("RequestGroup-kdn5-example.json", markers=False),
                         SiteMap(regimens={"PlanDefinition/KDN5": "KRd"}))
    rules = collections.Counter(issue.rule_id for issue in conversion.issues)
    assert rules == {"fhir-cycle-missing": 1, "fhir-status-unknown": 2, "fhir-unknown-code": 2,
                     "fhir-unit-not-coded": 1, "fhir-auc-dose": 1, "fhir-order-not-checked": 1}
    unknown = " ".join(i.message for i in conversion.issues if i.rule_id == "fhir-unknown-code")
    assert "|12574" in unknown and "|40048" in unknown
    assert "mg/m²" in next(i.message for i in conversion.issues if i.rule_id == "fhir-unit-not-coded")


def test_real_examples_without_markers_are_no_order():
    for name in ("RequestGroup-kdn5-example.json", "MedicationRequest-medrx0316.json"):
        conversion = convert(_example(name, markers=False))
        assert [i.rule_id for i in conversion.issues] == ["fhir-resource-ignored", "no-order"]


# --- never an exception, and fast (the issue: at most 1 ms an order) ----------------------------------------

def _nodes(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nodes(item, path + (i,))


@pytest.mark.parametrize("name", ["requestgroup-9.1.json", "bundle-9.2.json"])
def test_any_shape_gives_issues_never_an_exception(name):
    doc = _load(name)
    odd_values = ("x", [], {"reference": "#cfz-1"}, None, 1.5)
    for n, path in enumerate(list(_nodes(doc))[1:]):
        target = doc
        for key in path[:-1]:
            target = target[key]
        written = target[path[-1]]
        target[path[-1]] = odd_values[n % len(odd_values)]  # in place: the converter never changes the document
        conversion = convert(doc)
        assert conversion.issues or conversion.orders, path
        target[path[-1]] = written
    assert doc == _load(name)


def test_deep_nesting_and_reference_cycles():
    doc = _load("requestgroup-9.1.json")
    action = doc["action"][0]
    for _ in range(40):
        action = {"action": [action]}
    doc["action"] = [action]
    conversion = convert(doc)
    assert "order-too-large" in [i.rule_id for i in conversion.issues]
    assert conversion.orders[0].order is None
    looped = _load("requestgroup-9.1.json")
    looped["action"].append({"resource": {"reference": "RequestGroup/krd-c1-0001"}})
    looped["contained"][4]["basedOn"] = [{"reference": "#cfz-1"}]
    assert [i.rule_id for i in convert(looped).issues] == ["fhir-invalid-structure", "fhir-order-not-checked"]


def test_an_entry_written_wrong_is_not_read():
    doc = _load("bundle-9.2.json")
    doc["entry"][5]["fullurl"] = doc["entry"][5].pop("fullUrl")
    conversion = convert(doc)
    assert [(i.rule_id, i.pointer) for i in conversion.issues] == [("fhir-unknown-element", "/entry/5/fullurl")]
    assert len(conversion.orders[0].order["administrations"]) == 5


def test_not_checked_says_why():
    doc = _load("bundle-9.2.json")
    for entry in doc["entry"][:6]:
        del entry["resource"]["instantiatesCanonical"]
    message = next(i.message for i in convert(doc).issues if i.rule_id == "fhir-order-not-checked")
    assert message == "this order (urn:example:order:0001) is not checked: its regimen is not read"


# --- references and grouping (2.3, 2.6) --------------------------------------------------------------------

def _medication(*codes):
    def edit(doc):
        dex = _entry(doc, 5)
        del dex["medicationCodeableConcept"]
        dex["medicationReference"] = {"reference": "Medication/m1/_history/2"}
        for code in codes:
            doc["entry"].append({"fullUrl": "https://ehr.example.org/fhir/Medication/m1", "resource": {
                "resourceType": "Medication", "id": "m1", "code": {"coding": [{"system": RXNORM, "code": code}]}}})
    return edit


def _all_dex_cancelled(doc):
    for entry in doc["entry"][:6]:
        entry["resource"]["status"] = "stopped"


def _loose_carfilzomib(doc):
    cfz = _entry(doc, 0)
    del cfz["groupIdentifier"], cfz["instantiatesCanonical"]
    cfz["extension"] = []


GROUPING = [
    # base, edit, the (rule, pointer) issues exactly, the administrations of the first order (None: not checked)
    ("bundle", _medication("3264"), [], 6),
    ("bundle", _medication("3264", "3264"), [], 6),  # copies with equal content count as one
    ("bundle", _medication(), [("fhir-unresolved-reference", "/entry/5/resource/medicationReference")], 5),
    ("bundle", lambda doc: [_medication()(doc), _entry(doc, 5).update(medicationReference={"reference": "#med"})],
     [("fhir-unresolved-reference", "/entry/5/resource/medicationReference")], 5),
    ("bundle", _all_dex_cancelled, [("fhir-request-skipped", f"/entry/{i}/resource/status") for i in range(6)]
     + [("fhir-order-skipped", "/entry/0/resource")], None),
    ("bundle", _loose_carfilzomib, [("fhir-request-ungrouped", "/entry/0/resource")], 5),
    ("bundle", _set(["entry", 5, "resource", "dosageInstruction", 0, "doseAndRate", 0, "type"],
                    {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/dose-rate-type", "code": "other"}]}),
     [("fhir-dose-ambiguous", "/entry/5/resource/dosageInstruction/0/doseAndRate/0/type")], 5),
    ("bundle", _set(["entry", 0, "resource", "dosageInstruction", 0, "route", "coding", 0, "code"], "34206005"),
     [], 6),
    ("requestgroup", _delete(["action", 0, "action", 5]),
     [("fhir-request-ungrouped", "/contained/9")], 5),
    ("requestgroup", lambda doc: [doc["contained"].append({"resourceType": "ServiceRequest", "id": "sr"}),
                                  doc["action"].append({"resource": {"reference": "#sr"}})],
     [("fhir-resource-ignored", "/contained/10"), ("fhir-resource-ignored", "/action/1/resource")], 6),
    ("requestgroup", lambda doc: doc["contained"][4].update(contained=[{"resourceType": "Medication", "id": "m"}]),
     [("fhir-invalid-structure", "/contained/4/contained")], 5),
]


@pytest.mark.parametrize("base, edit, issues, administrations", GROUPING, ids=[str(i) for i in range(len(GROUPING))])
def test_grouping_and_references(base, edit, issues, administrations):
    doc = _load(BASES[base])
    edit(doc)
    conversion = convert(doc)
    assert [(i.rule_id, i.pointer) for i in conversion.issues] == issues
    order = conversion.orders[0].order
    if administrations is None:
        assert order is None
    else:
        assert len(order["administrations"]) == administrations


def test_a_hash_reference_from_outside_its_container():
    doc = _load("bundle-9.2.json")
    doc["entry"][4]["resource"]["contained"] = [{"resourceType": "Medication", "id": "med", "code": {
        "coding": [{"system": RXNORM, "code": "3264"}]}}]
    _entry(doc, 5)["medicationReference"] = {"reference": "#med"}
    del _entry(doc, 5)["medicationCodeableConcept"]
    conversion = convert(doc)
    assert [(i.rule_id, i.pointer) for i in conversion.issues] == [
        ("fhir-invalid-structure", "/entry/5/resource/medicationReference")]


def test_prefetch_observation_without_subject_is_the_patients():
    body = _cds(prefetch=True)
    del body["prefetch"]["labs"]["entry"][0]["resource"]["subject"]
    conversion = convert(body)
    assert conversion.issues == []
    assert conversion.orders[0].order["patient"]["weight"] == {"value": 72.0, "unit": "kg"}


def test_two_choices_of_one_element():
    doc = _load("bundle-9.2.json")
    _entry(doc, 5)["medicationReference"] = {"reference": "Medication/m1"}
    conversion = convert(doc)
    assert [(i.rule_id, i.pointer) for i in conversion.issues] == [
        ("fhir-invalid-value", "/entry/5/resource/medicationReference")]
    assert len(conversion.orders[0].order["administrations"]) == 5


def test_misplaced_days_only_on_an_action_of_no_request():
    doc = _load("requestgroup-9.1.json")
    doc["action"][0]["action"][5]["resource"]["reference"] = "#nope"
    assert [(i.rule_id, i.pointer) for i in convert(doc).issues] == [
        ("fhir-unresolved-reference", "/action/0/action/5/resource"),
        ("fhir-request-ungrouped", "/contained/9")]  # dex, now referenced by no action


def test_an_egfr_is_named_even_beside_supporting_information():
    doc = _load("requestgroup-9.1.json")
    doc["contained"].append({"resourceType": "Observation", "id": "egfr", "status": "final", "code": {
        "coding": [{"system": "http://loinc.org", "code": "62238-1"}]}, "subject": {"reference": "#pat"},
        "effectiveDateTime": "2026-11-30", "valueQuantity": {"value": 60, "system": UCUM, "code": "mL/min/{1.73_m2}"}})
    conversion = convert(doc)
    assert [(i.rule_id, i.pointer) for i in conversion.issues] == [("fhir-egfr-not-crcl", "/contained/10")]
    assert conversion.orders[0].order["patient"]["creatinineClearance"] == {"value": 85, "unit": "mL/min"}


def test_a_marker_of_the_wrong_shape_still_makes_an_order():
    doc = _load("bundle-9.2.json")
    doc["entry"] = doc["entry"][2:6]  # no carfilzomib
    for entry in doc["entry"]:
        resource = entry["resource"]
        del resource["instantiatesCanonical"]
        resource["extension"] = [{"url": PROJECT + "cycle-number", "valueString": "1"}]
    conversion = convert(doc)
    assert {i.rule_id for i in conversion.issues} == {
        "fhir-invalid-extension", "fhir-days-missing", "fhir-regimen-missing", "fhir-cycle-missing",
        "fhir-order-not-checked"}
    assert len(conversion.orders) == 1


def test_many_orders_share_one_patients_observations():
    """Fifty orders of one Bundle and 150 Observations: each order its own, the patient's latest chosen (the
    cost of such a Bundle is bench/bench_fhir.py's, never a timed test)."""
    base = _load("bundle-9.2.json")
    entries = []
    orders = 50
    for n in range(orders):
        for entry in base["entry"][:6]:
            entry = copy.deepcopy(entry)
            resource = entry["resource"]
            resource["id"] = f"{resource['id']}-{n}"
            entry["fullUrl"] = f"urn:uuid:{resource['id']}"
            resource["groupIdentifier"]["value"] = f"urn:example:order:{n}"
            entries.append(entry)
    entries.append(base["entry"][6])
    for n in range(150):
        entry = copy.deepcopy(base["entry"][7 + n % 3])
        entry["resource"]["id"] = entry["fullUrl"] = f"obs-{n}"
        entry["resource"]["effectiveDateTime"] = f"2026-{1 + n % 11:02d}-{1 + n % 27:02d}"
        entries.append(entry)
    doc = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    conversion = convert(doc)
    assert [o.label for o in conversion.orders] == [f"urn:example:order:{n}" for n in range(orders)]
    assert {i.rule_id for i in conversion.issues} == {"fhir-patient-data-chosen"}


def test_real_observations_are_read_as_written():
    """R4's Observation-example (weight in [lb_av], four codings), -body-height (66.89999999999999 [in_i]) and
    -bmi (kg/m2, not read), as the only patient data of 9.2 (their subject is Patient/example)."""
    doc = _load("bundle-9.2.json")
    doc["entry"] = doc["entry"][:6]
    for entry in doc["entry"]:
        entry["resource"]["subject"] = {"reference": "Patient/example"}
    for name in ("Observation-example.json", "Observation-body-height.json", "Observation-bmi.json"):
        doc["entry"].append({"resource": _example(name, markers=False)})
    conversion = convert(doc)
    assert conversion.issues == []
    assert conversion.orders[0].order["patient"] == {"weight": {"value": 185, "unit": "[lb_av]"},
                                                     "height": {"value": 66.89999999999999, "unit": "[in_i]"}}


# --- memory -------------------------------------------------------------------------------------------------

SHIPPED = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("path", [SHIPPED / "fhir" / "KRd-cycle1-requestgroup.json",
                                  SHIPPED / "fhir" / "KRd-cycle1-bundle-dose-mismatch.json",
                                  SHIPPED / "cds-hooks" / "order-sign-KRd-cycle1.json"],
                         ids=lambda path: path.name)
def test_reading_a_fhir_document_leaves_no_reference_cycle(validator, path):
    # A cycle (the index pointing back at its conversion, a contained resource at its container and back) keeps
    # the whole document alive until the garbage collector finds it: some 300 objects an order, which cost the
    # collector more than mapping a request (bench/README.md). Freed by reference counting, nothing is left.
    from chemo_protovalidate.read.documents import read_document

    gc.collect()
    gc.disable()
    try:
        document = read_document(path.name, path.read_bytes(), validator.kb.context, validator.max_administrations)
        orders = list(document.orders)
        assert orders and all(order.triples for order in orders)
        del document, orders
        assert gc.collect() == 0
    finally:
        gc.enable()


def _documents_read_with_orders():
    """Every FHIR document the tests hold, and each example order written as a RequestGroup and as a Bundle."""
    import fhir_writer

    from conftest import EXAMPLES

    for path in sorted([*(Path(__file__).parent / "data" / "fhir").rglob("*.json"), *(SHIPPED / "fhir").glob("*.json"),
                        *(SHIPPED / "cds-hooks").glob("*.json")]):
        yield path.name, path.read_text("utf-8")
    for path in sorted(EXAMPLES.rglob("*.jsonld")):
        order, _ = load_json(path.read_text("utf-8"))
        for writer in (fhir_writer.request_group, fhir_writer.bundle):
            written = writer(order) if isinstance(order, dict) else None
            if written is not None and written.document is not None:
                yield f"{path.name} as {writer.__name__}", json.dumps(written.document, indent=1)


def test_a_released_document_gives_every_later_place_the_same_path():
    # FilePlaces.release lets the value go before the mapped orders are judged; from then on a part of digits is
    # read as a list index. Every pointer a later finding can be placed at (the mapped orders' places, their
    # requests and patient data) must get the path the value itself gives.
    from chemo_protovalidate.read.fhir_document import FilePlaces

    compared = 0
    for name, text in _documents_read_with_orders():
        value, finding = load_json(text)
        if finding is not None:
            continue
        kept, released = FilePlaces(text, value), FilePlaces(text, value)
        released.release()
        for mapped in convert(value).orders:
            pointers = [mapped.pointer, *mapped.places.values(), *(r.pointer for r in mapped.requests),
                        *(given["pointer"] for given in mapped.patient_data.values() if given.get("pointer"))]
            for pointer in pointers:
                assert released.path(pointer) == kept.path(pointer), (name, pointer)
                compared += 1
    assert compared > 5000
