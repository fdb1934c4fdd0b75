"""An order's patient data (docs/fhir.md 4): age from the Patient, the measures from the one Observation per key
that the Reading of 4.2 chooses, dialysis and doseBasis from the project extensions (4.3)."""

from __future__ import annotations

from chemo_protovalidate.read.fhir import tables
from chemo_protovalidate.read.fhir.quantities import read_quantity
from chemo_protovalidate.read.fhir.requests import codings_of, project_extensions
from chemo_protovalidate.read.fhir.index import Res
from chemo_protovalidate.read.fhir.structure import extension_problem
from chemo_protovalidate.read.fhir.timing import compare_times, whole_years
from chemo_protovalidate.read.jsonld import pointer_join

_TIME_KEYS = ("effectiveDateTime", "effectiveInstant")


def observation_time(obs: dict) -> tuple[str | None, str | None]:
    """The Observation's time and the key it came from: effectiveDateTime, effectiveInstant, else
    effectivePeriod.end, else effectivePeriod.start."""
    for key in _TIME_KEYS:
        if isinstance(obs.get(key), str):
            return obs[key], key
    period = obs.get("effectivePeriod")
    if isinstance(period, dict):
        for key in ("end", "start"):
            if isinstance(period.get(key), str):
                return period[key], f"effectivePeriod/{key}"
    return None, None


class PatientReader:
    def __init__(self, doc) -> None:
        self.doc = doc
        self.data = tables.mapping()
        self._observations: list[Res] | None = None
        self._checked: dict[int, bool] = {}
        self._keys: dict[int, set[str]] = {}
        self._statics: dict[int, tuple] = {}
        self._by_patient: dict[tuple, dict[str, list[Res]]] = {}
        self._chosen: dict[tuple, Res | None] = {}

    def observations(self) -> list[Res]:
        if self._observations is None:
            self._observations = [res for res in self.doc.index.all if res.type == "Observation"]
        return self._observations

    def _ok(self, res: Res, type_name: str) -> bool:
        """Whether a resource passes the structure checks (each resource checked once)."""
        if res.position not in self._checked:
            mark = self.doc.errors
            self.doc.check(res.obj, type_name, res.pointer)
            self._checked[res.position] = self.doc.errors == mark
        return self._checked[res.position]

    def keys_of(self, res: Res) -> set[str]:
        """The patient keys an Observation's LOINC codings give, and 'egfr' for an eGFR code (once per resource:
        every order asks it of every Observation)."""
        keys = self._keys.get(res.position)
        if keys is None:
            keys = self._keys[res.position] = self._codes(res.obj)
        return keys

    def _codes(self, obs: dict) -> set[str]:
        loinc = self.data["urls"]["loinc"]
        keys = set()
        for coding in codings_of(obs.get("code")):
            if coding.get("system") != loinc:
                continue
            code = tables.string(coding.get("code"))
            if code in self.data["loinc_keys"]:
                keys.add(self.data["loinc_keys"][code])
            elif code in self.data["egfr_loinc"]:
                keys.add("egfr")
        return keys

    def read(self, order, patient: Res | None, subjects: set[str], reference_time: str | None):
        """(patient dict, places within it, patient_data) for an order; ``order`` has ``requests`` (the requests
        read), ``carriers`` (the RequestGroup and the requests) and ``pointer``."""
        patient_dict: dict = {}
        places: dict = {}
        patient_data: dict = {}
        if patient is not None:
            self._age(patient, reference_time, patient_dict, places, patient_data)
        supporting = self._supporting(order, patient, subjects)
        mine = self._patients_observations(patient, subjects)
        egfr_named = set()
        for key in self.data["observations"]:
            self._measure(key, reference_time, supporting, mine, patient_dict, places, patient_data, egfr_named)
        self._extensions(order, patient_dict, places, patient_data)
        ordered = {key: patient_dict[key] for key in self.data["patient_keys"] if key in patient_dict}
        return ordered, places, patient_data

    # --- age (4.1) -------------------------------------------------------------------------------------------

    def _age(self, patient: Res, reference_time, patient_dict, places, patient_data) -> None:
        if patient.type != "Patient" or not self._ok(patient, "Patient"):
            return
        birth = patient.obj.get("birthDate")
        at = pointer_join(patient.pointer, "birthDate")
        if not isinstance(birth, str) or reference_time is None:
            return
        if len(birth) != 10:
            self.doc.add("fhir-patient-data-not-used", f"Patient.birthDate {birth!r} has no day; age is not given",
                         at)
            return
        age = whole_years(birth, reference_time)
        if age is None:
            return
        patient_dict["age"] = age
        places["/patient/age"] = at
        patient_data["age"] = {"value": age, "pointer": at}

    # --- Observations (4.2) ----------------------------------------------------------------------------------

    def _patients_observations(self, patient: Res | None, subjects: set[str]) -> dict[str, list[Res]]:
        """The patient's Observations by key ('egfr' too), found once per patient: orders of one patient share
        them, so that a Bundle of many orders and Observations is not read orders x Observations times."""
        identity = (patient.position if patient is not None else None, frozenset(subjects))
        found = self._by_patient.get(identity)
        if found is None:
            found = self._by_patient[identity] = {}
            for res in self.observations():
                keys = self.keys_of(res)
                if keys and self._is_patients(res, patient, subjects):
                    for key in keys:
                        found.setdefault(key, []).append(res)
        return found

    def _is_patients(self, obs: Res, patient: Res | None, subjects: set[str]) -> bool:
        subject = obs.obj.get("subject")
        if subject is None:
            return obs.prefetch  # in a prefetch an Observation without subject is the patient's
        status, found = self.doc.index.resolve(subject, obs)
        if found is not None and patient is not None:
            return found is patient or found.obj == patient.obj
        reference = tables.string(subject.get("reference")) if isinstance(subject, dict) else None
        return reference in subjects

    def _supporting(self, order, patient: Res | None, subjects: set[str]) -> list[Res]:
        found, seen = [], set()
        for mr in order.requests:
            references = mr.obj.get("supportingInformation")
            if not isinstance(references, list):
                continue
            base = pointer_join(mr.pointer, "supportingInformation")
            for i, reference in enumerate(references):
                _, res = self.doc.index.resolve(reference, mr)
                if res is None or res.type != "Observation":
                    continue  # passed over (2.6)
                if res.position in seen:
                    continue  # each request names the same Observations: the first found them the patient's
                if "subject" in res.obj and not self._is_patients(res, patient, subjects):
                    self.doc.add("fhir-subject-conflict", f"supportingInformation names {res.type}/{res.id}, an "
                                 "Observation of another patient", pointer_join(base, i))
                    order.subject_conflict = True
                    continue
                seen.add(res.position)
                found.append(res)
        return found

    def _measure(self, key, reference_time, supporting, mine, patient_dict, places, patient_data,
                 egfr_named) -> None:
        spec = self.data["observations"][key]
        if key == "creatinineClearance":
            for res in [res for res in supporting if "egfr" in self.keys_of(res)] + mine.get("egfr", []):
                self._egfr(res, egfr_named, "its code is an eGFR code")
        from_supporting = [res for res in supporting if key in self.keys_of(res)]
        if from_supporting:
            used = self._choose(key, from_supporting, reference_time, egfr_named)
        else:
            # The patient's own Observations: one choice per patient, key and T, whatever the order.
            memo = (id(mine), key, reference_time)
            if memo not in self._chosen:
                self._chosen[memo] = self._choose(key, mine.get(key, []), reference_time, egfr_named)
            used = self._chosen[memo]
        if used is None:
            return
        value = self._value(used, key, spec)
        if value is None:
            return
        at = pointer_join(used.pointer, "valueQuantity")
        patient_dict[key] = value
        places["/patient/" + key] = at
        patient_data[key] = {"value": value.get("value"), "unit": value.get("unit"), "pointer": at,
                             "effective": self._time(used)}

    def _choose(self, key: str, candidates: list[Res], reference_time: str | None, egfr_named: set) -> Res | None:
        """The Observation that gives a key (4.2 steps 2 and 3), or None."""
        remaining = []
        for res in candidates:
            reason = self._not_used(res, reference_time)
            if reason is None and key == "creatinineClearance":
                quantity = res.obj.get("valueQuantity")
                if isinstance(quantity, dict) and tables.string(quantity.get("code")) in self.data["egfr_units"]:
                    self._egfr(res, egfr_named, f"its unit {quantity.get('code')} is per 1.73 m2")
                    continue
            if reason is not None:
                if reason:
                    self.doc.add("fhir-patient-data-not-used", f"Observation {res.id or ''} ({key}) is not used: "
                                 f"{reason}", res.pointer)
                continue
            remaining.append(res)
        if not remaining:
            return None
        used = remaining[0]
        for res in remaining[1:]:
            if compare_times(self._time(res), self._time(used)) > 0:
                used = res
        latest_time = self._time(used)
        tied = [res for res in remaining if compare_times(self._time(res), latest_time) == 0]
        if any(res.obj.get("valueQuantity") != tied[0].obj.get("valueQuantity") for res in tied[1:]):
            self.doc.add("fhir-patient-data-conflict", f"{len(tied)} Observations give {key} at the latest time "
                         f"{latest_time} with different values ({', '.join(res.id or res.pointer for res in tied)}); "
                         f"{key} is not given", tied[1].pointer, counts=False)
            return None
        if len(remaining) > 1:
            self.doc.add("fhir-patient-data-chosen", f"{len(remaining)} Observations give {key}; the latest, "
                         f"{used.id or used.pointer} ({latest_time}), is used", used.pointer)
        return used

    def _egfr(self, res: Res, named: set, why: str) -> None:
        if res.position in named:
            return
        named.add(res.position)
        self.doc.add("fhir-egfr-not-crcl", f"Observation {res.id or ''} is an eGFR ({why}): eGFR is not creatinine "
                     "clearance and is never used for creatinineClearance", res.pointer)

    def _time(self, res: Res) -> str | None:
        return self._static(res)[1]

    def _not_used(self, res: Res, reference_time: str | None) -> str | None:
        """Why an Observation is not used ('' when its own findings say why), or None."""
        reason, time = self._static(res)
        if reason is not None:
            return reason
        if reference_time is not None and compare_times(time, reference_time) > 0:
            return f"its time {time} is after the order's time {reference_time}"
        return None

    def _static(self, res: Res) -> tuple[str | None, str | None]:
        """What of _not_used does not depend on the order, and the Observation's time (once per resource)."""
        found = self._statics.get(res.position)
        if found is None:
            found = self._statics[res.position] = (self._reason(res), observation_time(res.obj)[0])
        return found

    def _reason(self, res: Res) -> str | None:
        if not self._ok(res, "Observation"):
            return ""
        obs = res.obj
        if tables.string(obs.get("status")) not in self.data["observation_status_used"]:
            return f"its status is {obs.get('status')!r}, not final, amended or corrected"
        if not any(key.startswith("value") for key in obs):
            return "it has no value" + (" (dataAbsentReason)" if "dataAbsentReason" in obs else "")
        time, _ = observation_time(obs)
        if time is None:
            return "it has no time (effectiveDateTime, effectiveInstant or effectivePeriod)"
        if "subject" not in obs and not res.prefetch:
            return "it has no subject"
        return None

    def _value(self, res: Res, key: str, spec: dict) -> dict | None:
        obs = res.obj
        if "valueQuantity" not in obs:
            found = next(key for key in obs if key.startswith("value"))
            self.doc.add("fhir-invalid-value", f"Observation {res.id or ''} gives {key} as {found}; it wants a "
                         "valueQuantity", pointer_join(res.pointer, found), counts=False)
            return None
        at = pointer_join(res.pointer, "valueQuantity")
        value = read_quantity(obs["valueQuantity"], at, f"Observation.valueQuantity ({key})",
                              lambda *args: self.doc.add(*args, counts=False), dosage=False)
        if value is None:
            return None
        same = spec.get("same_number", {})
        if value.get("unit") in same:
            value = {**value, "unit": same[value["unit"]]}
        return value

    # --- dialysis and doseBasis (4.3) ------------------------------------------------------------------------

    def _extensions(self, order, patient_dict, places, patient_data) -> None:
        for key, name in (("dialysis", "dialysis"), ("doseBasis", "dose-basis")):
            given = []
            for res in order.carriers:
                for item, at in project_extensions(res, name):
                    if extension_problem(item, name) is not None:
                        continue  # fhir-invalid-extension, reported by the structure check: not used
                    value = item["valueBoolean"] if name == "dialysis" else self._dose_basis(item, at)
                    if value is not None:
                        given.append((value, at))
            if not given:
                continue
            if any(value != given[0][0] for value, _ in given[1:]):
                self.doc.add("fhir-patient-data-conflict", f"the {name} extensions disagree; {key} is not given",
                             given[1][1], counts=False)
                continue
            patient_dict[key] = given[0][0]
            places["/patient/" + key] = given[0][1]
            patient_data[key] = {"value": given[0][0], "unit": None, "pointer": given[0][1], "effective": None}

    def _dose_basis(self, extension: dict, pointer: str) -> dict | None:
        basis = {}
        base = pointer_join(pointer, "extension")
        for i, sub in enumerate(extension["extension"]):
            at = pointer_join(pointer_join(base, i), "valueQuantity")
            value = read_quantity(sub["valueQuantity"], at, f"dose-basis {sub['url']}",
                                  lambda *args: self.doc.add(*args, counts=False), dosage=False)
            if value is None:
                return None
            basis[sub["url"]] = value
        return {key: basis[key] for key in ("weight", "bsa") if key in basis}

