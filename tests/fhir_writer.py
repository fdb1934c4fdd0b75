"""Writes an order-format order (docs/order-format.md) as FHIR R4, in the two layouts of the contract
(docs/fhir.md): a RequestGroup with its Patient, Observations and MedicationRequests contained
(9.1), and a Bundle of MedicationRequests sharing one groupIdentifier (9.2).

The writer is test material: tests/test_fhir_equivalence.py holds the converter to "a FHIR order is judged
exactly as the order it maps to" by writing every example order both ways. So it writes only what the mapping
expresses the same way, and for anything else it answers None with the reason (`Written.why`): a value of the
wrong shape (a day "1", a cycle 1.5: FHIR's own finding, fhir-invalid-value, would stand where the order
reader says not-a-number), a key the format does not have, a route outside IV/SC/PO, a patient @id shared by
two orders (mapped orders carry no patient @id, 4.1), and the like. Nothing is guessed.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

PROJECT = "https://w3id.org/protovalidate/fhir"
EXT = f"{PROJECT}/StructureDefinition"
AGENT_SYSTEM = f"{PROJECT}/CodeSystem/agent"
CANONICAL = f"{PROJECT}/PlanDefinition/"
DAYS_OF_CYCLE = "http://hl7.org/fhir/StructureDefinition/timing-daysOfCycle"
DOSE_RATE_TYPE = "http://terminology.hl7.org/CodeSystem/dose-rate-type"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
IRI_SYSTEM = "urn:ietf:rfc:3986"
BASE_URL = "https://ehr.example.org/fhir"

# The contract's tables, read backwards (fhir.md 3.8 and 4.2): one code for each route and each patient key.
ROUTES = {"IV": "47625008", "PO": "26643006", "SC": "34206005"}
OBSERVATIONS = {"weight": "29463-7", "height": "8302-2", "bsa": "8277-6", "creatinineClearance": "2164-2",
                "neutrophils": "751-8", "platelets": "777-3"}

# One reference time for every written order, and Observations the day before it (fhir.md 4.1, 4.2).
AUTHORED_ON = "2026-12-01T08:00:00Z"
EFFECTIVE = "2026-11-30"
BIRTHDAY = (5, 14)  # before AUTHORED_ON's month and day: the year of age is complete on T

ORDER_KEYS = {"@context", "@id", "@type", "regimen", "cycle", "patient", "administrations"}
PATIENT_KEYS = {"@id", "age", *OBSERVATIONS, "dialysis", "doseBasis"}
ADMINISTRATION_KEYS = {"agent", "day", "days", "doseLevel", "dose", "route", "infusionDuration", "doseReduction"}
# A FHIR code or canonical: no leading, trailing or doubled whitespace (R4 datatypes), never empty.
_CODE = re.compile(r"[^\s]+( [^\s]+)*")
_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+")


class Unwritable(Exception):
    """The order cannot be written so that FHIR says the same: the message says why."""


@dataclass
class Written:
    document: dict | None
    why: str | None = None


def orders_of(document: Any) -> list:
    """The orders of an order-format file's JSON value: an array, a @graph (its context on each), one object."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and "@graph" in document:
        graph = document["@graph"]
        if not isinstance(graph, list) or set(document) - {"@context", "@graph"}:
            raise Unwritable("a @graph that is not a list of orders, or keys beside it")
        return [{"@context": document.get("@context"), **o} if isinstance(o, dict) else o for o in graph]
    return [document]


def request_group(document: Any) -> Written:
    """9.1's layout; a file of several orders is a collection Bundle of such RequestGroups (1.1)."""
    return _written(document, _request_groups)


def bundle(document: Any) -> Written:
    """9.2's layout: each order's MedicationRequests share a groupIdentifier; Patient and Observations are
    entries, found by subject."""
    return _written(document, _bundle)


def _written(document: Any, layout) -> Written:
    try:
        orders = [_Order(o, number) for number, o in enumerate(orders_of(document), start=1)]
        if not orders:
            raise Unwritable("no order in the file")
        patients = [o.patient_id for o in orders if o.patient_id is not None]
        if len(patients) != len(set(patients)):
            raise Unwritable("orders share a patient @id (a mapped order carries none: fhir.md 4.1)")
        return Written(layout(orders))
    except Unwritable as reason:
        return Written(None, str(reason))


# --- reading the order-format order (strictly: what is not plainly expressible is Unwritable) ---------------------


def _code(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _CODE.fullmatch(value) or "|" in value:
        raise Unwritable(f"{what} {value!r} is not a FHIR code")
    return value


def _number(value: Any, what: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Unwritable(f"{what} {value!r} is not a number")
    return value


def _whole(value: Any, what: str) -> int:
    number = _number(value, what)
    if number != int(number):
        raise Unwritable(f"{what} {value!r} is not a whole number")
    return int(number)


def _only(value: Any, keys: set, what: str) -> dict:
    if not isinstance(value, dict):
        raise Unwritable(f"{what} is not an object: {value!r}")
    unknown = set(value) - keys
    if unknown:
        raise Unwritable(f"{what} has keys the format does not: {sorted(unknown)}")
    return value


def _quantity(value: Any, what: str, unit_system: str = UCUM) -> dict:
    """{"value", "unit"} as a FHIR Quantity; without a unit the Quantity has none (quantity-incomplete both
    ways). An AUC unit would be fhir-auc-dose in FHIR and is unwritable."""
    quantity = _only(value, {"value", "unit"}, what)
    if "value" not in quantity:
        raise Unwritable(f"{what} has no value")
    written = {"value": _number(quantity["value"], f"{what} value")}
    if "unit" in quantity:
        unit = _code(quantity["unit"], f"{what} unit")
        if "auc" in unit.lower():
            raise Unwritable(f"{what} unit {unit!r} reads as AUC dosing in FHIR")
        written.update(unit=unit, system=unit_system, code=unit)
    return written


class _Order:
    def __init__(self, order: Any, number: int):
        order = _only(order, ORDER_KEYS, f"order {number}")
        if order.get("@type") != "ChemotherapyOrder":
            raise Unwritable(f"order {number}: @type is {order.get('@type')!r}")
        for key in ("regimen", "cycle", "patient", "administrations"):
            if key not in order:
                raise Unwritable(f"order {number} has no {key} (FHIR has its own finding for that)")
        self.number = number
        # The order's id becomes its identifier only as an absolute IRI (fhir.md 2.5, 3): a blank-node name
        # or a relative one would name the order differently, or not at all.
        self.iri = order.get("@id")
        if self.iri is not None and not _is_absolute_iri(self.iri):
            raise Unwritable(f"order {number}: @id {self.iri!r} is not an absolute IRI")
        self.regimen = _code(order["regimen"], "regimen")
        self.cycle = _whole(order["cycle"], "cycle")
        patient = _only(order["patient"], PATIENT_KEYS, "patient")
        self.patient_id = patient.get("@id")
        if self.patient_id is not None and not isinstance(self.patient_id, str):
            raise Unwritable(f"patient @id {self.patient_id!r} is not a string")
        self.birth_date = _birth_date(patient["age"]) if "age" in patient else None
        self.observations = {key: _quantity(patient[key], key) for key in OBSERVATIONS if key in patient}
        self.extensions = []
        if "dialysis" in patient:
            if not isinstance(patient["dialysis"], bool):
                raise Unwritable(f"dialysis {patient['dialysis']!r} is not a boolean")
            self.extensions.append({"url": f"{EXT}/dialysis", "valueBoolean": patient["dialysis"]})
        if "doseBasis" in patient:
            basis = _only(patient["doseBasis"], {"weight", "bsa"}, "doseBasis")
            if not basis:
                raise Unwritable("an empty doseBasis has no FHIR form (the extension needs a sub-extension)")
            self.extensions.append({"url": f"{EXT}/dose-basis", "extension": [
                {"url": key, "valueQuantity": _quantity(basis[key], f"doseBasis {key}")}
                for key in ("weight", "bsa") if key in basis]})
        administrations = order["administrations"]
        if not isinstance(administrations, list) or not administrations:
            raise Unwritable("administrations is not a non-empty list")
        self.requests = [_Request(a, i) for i, a in enumerate(administrations, start=1)]


def _is_absolute_iri(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith("_:") and bool(_ABSOLUTE_IRI.fullmatch(value))


def _birth_date(age: Any) -> str:
    years = _whole(age, "age")
    year = int(AUTHORED_ON[:4]) - years
    if years < 0 or year < 1:
        raise Unwritable(f"age {age!r} has no birthDate before {AUTHORED_ON}")
    return datetime.date(year, *BIRTHDAY).isoformat()


class _Request:
    def __init__(self, administration: Any, number: int):
        what = f"administration {number}"
        item = _only(administration, ADMINISTRATION_KEYS, what)
        if "agent" not in item:
            raise Unwritable(f"{what} has no agent")
        self.agent = _code(item["agent"], f"{what} agent")
        if ("day" in item) == ("days" in item):
            raise Unwritable(f"{what} gives both day and days, or neither")
        days = [item["day"]] if "day" in item else item["days"]
        if not isinstance(days, list) or not days:
            raise Unwritable(f"{what} days is not a non-empty list")
        self.days = [_whole(day, f"{what} day") for day in days]
        dosage: dict = {}
        if "infusionDuration" in item:
            duration = _quantity(item["infusionDuration"], f"{what} infusionDuration")
            repeat = {"duration": duration["value"]}
            if "unit" in duration:
                repeat["durationUnit"] = duration["unit"]
            dosage["timing"] = {"repeat": repeat}
        if "route" in item:
            if not isinstance(item["route"], str) or item["route"] not in ROUTES:
                raise Unwritable(f"{what} route {item['route']!r} has no SNOMED code in fhir.md 3.8")
            dosage["route"] = {"coding": [{"system": SNOMED, "code": ROUTES[item["route"]]}]}
        dose_and_rate = [{"type": {"coding": [{"system": DOSE_RATE_TYPE, "code": kind}]},
                          "doseQuantity": _quantity(item[key], f"{what} {key}")}
                         for key, kind in (("doseLevel", "ordered"), ("dose", "calculated")) if key in item]
        if dose_and_rate:
            dosage["doseAndRate"] = dose_and_rate
        self.dosage = [dosage] if dosage else []
        self.extensions = []
        if "doseReduction" in item:
            reduction = _only(item["doseReduction"], {"reason"}, f"{what} doseReduction")
            reason = reduction.get("reason")
            if not isinstance(reason, str) or not reason.strip() or reason != reason.strip():
                raise Unwritable(f"{what} doseReduction reason {reason!r} is no FHIR string")
            self.extensions.append({"url": f"{EXT}/dose-reduction-reason", "valueString": reason})

    def resource(self, rid: str, subject: str, observations: list[str], extensions: list) -> dict:
        resource: dict = {"resourceType": "MedicationRequest", "id": rid}
        if extensions or self.extensions:
            resource["extension"] = extensions + self.extensions
        resource.update(status="draft", intent="order",
                        medicationCodeableConcept={"coding": [{"system": AGENT_SYSTEM, "code": self.agent}]},
                        subject={"reference": subject}, authoredOn=AUTHORED_ON)
        if observations:
            resource["supportingInformation"] = [{"reference": ref} for ref in observations]
        if self.dosage:
            resource["dosageInstruction"] = self.dosage
        return resource


def _days(url: str, days: list[int]) -> dict:
    return {"url": url, "extension": [{"url": "day", "valueInteger": day} for day in days]}


def _patient(order: _Order, rid: str) -> dict:
    patient = {"resourceType": "Patient", "id": rid}
    if order.birth_date:
        patient["birthDate"] = order.birth_date
    return patient


def _observation(key: str, rid: str, subject: str, value: dict) -> dict:
    return {"resourceType": "Observation", "id": rid, "status": "final",
            "code": {"coding": [{"system": LOINC, "code": OBSERVATIONS[key]}]},
            "subject": {"reference": subject}, "effectiveDateTime": EFFECTIVE, "valueQuantity": value}


def _regimen_and_cycle(order: _Order) -> tuple[dict, list]:
    return ({"url": f"{EXT}/cycle-number", "valueInteger": order.cycle},
            [CANONICAL + order.regimen])


# --- 9.1: RequestGroup ------------------------------------------------------------------------------------------------


def _request_groups(orders: list[_Order]):
    groups = [_request_group(order) for order in orders]
    if len(groups) == 1:
        return groups[0]
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"{BASE_URL}/RequestGroup/{g['id']}", "resource": g} for g in groups]}


def _request_group(order: _Order) -> dict:
    observations = [_observation(key, f"obs-{key}", "#pat", value) for key, value in order.observations.items()]
    references = [f"#{o['id']}" for o in observations]
    requests = [r.resource(f"mr-{i}", "#pat", references, []) for i, r in enumerate(order.requests, start=1)]
    cycle, canonicals = _regimen_and_cycle(order)
    group: dict = {"resourceType": "RequestGroup", "id": f"order-{order.number}",
                   "contained": [_patient(order, "pat"), *observations, *requests],
                   "extension": [cycle, *order.extensions]}
    if order.iri:
        group["identifier"] = [{"system": IRI_SYSTEM, "value": order.iri}]
    group.update(instantiatesCanonical=canonicals, status="draft", intent="order", subject={"reference": "#pat"},
                 authoredOn=AUTHORED_ON)
    # Days by the core extension one level below the top action, as in 9.1.
    group["action"] = [{"title": f"{order.regimen} cycle {order.cycle}", "action": [
        {"extension": [_days(DAYS_OF_CYCLE, request.days)], "resource": {"reference": f"#{resource['id']}"}}
        for request, resource in zip(order.requests, requests)]}]
    return group


# --- 9.2: Bundle of MedicationRequests ----------------------------------------------------------------------------


def _bundle(orders: list[_Order]) -> dict:
    entries = []
    for order in orders:
        patient_id = f"p{order.number}"
        subject = f"Patient/{patient_id}"
        cycle, canonicals = _regimen_and_cycle(order)
        group = {"system": IRI_SYSTEM, "value": order.iri} if order.iri else {"value": f"order-{order.number}"}
        for index, request in enumerate(order.requests, start=1):
            rid = f"o{order.number}-mr-{index}"
            resource = request.resource(rid, subject, [], [cycle, _days(f"{EXT}/cycle-days", request.days),
                                                           *order.extensions])
            # instantiatesCanonical and groupIdentifier sit where R4 lists them, after extension.
            resource = _insert_after(resource, "extension", instantiatesCanonical=canonicals, groupIdentifier=group)
            entries.append({"fullUrl": f"{BASE_URL}/MedicationRequest/{rid}", "resource": resource})
        entries.append({"fullUrl": f"{BASE_URL}/Patient/{patient_id}", "resource": _patient(order, patient_id)})
        for key, value in order.observations.items():
            rid = f"o{order.number}-{key}"
            entries.append({"fullUrl": f"{BASE_URL}/Observation/{rid}",
                            "resource": _observation(key, rid, subject, value)})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _insert_after(resource: dict, key: str, **added) -> dict:
    out = {}
    for k, v in resource.items():
        out[k] = v
        if k == key:
            out.update(added)
    return out


# --- CDS Hooks: an order-sign request (docs/cds-hooks.md 10.1) ---------------------------------------------------


def cds_request(document: Any, hook_instance: str = "00000000-0000-4000-8000-00000000cafe") -> Written:
    """One order as the CDS Hooks service receives it: its MedicationRequests in context.draftOrders (9.2),
    the Patient and each Observation as the prefetch key that fetches it, every other key null."""
    written = bundle(document)
    if written.document is None:
        return written
    resources = [entry["resource"] for entry in written.document["entry"]]
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    if len(patients) != 1:
        return Written(None, "a CDS Hooks request is about one patient")
    keys = {code: key for key, code in OBSERVATIONS.items()}
    prefetch: dict = {key: None for key in ("patient", *OBSERVATIONS)}
    prefetch["patient"] = patients[0]
    for resource in resources:
        if resource["resourceType"] == "Observation":
            key = keys[resource["code"]["coding"][0]["code"]]
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": [
                {"fullUrl": f"{BASE_URL}/Observation/{resource['id']}", "resource": resource}]}
    draft = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": r} for r in resources if r["resourceType"] == "MedicationRequest"]}
    return Written({"hookInstance": hook_instance, "hook": "order-sign", "fhirServer": BASE_URL,
                    "context": {"userId": "PractitionerRole/onc-5", "patientId": patients[0]["id"],
                                "draftOrders": draft},
                    "prefetch": prefetch})
