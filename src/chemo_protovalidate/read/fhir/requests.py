"""One MedicationRequest as one administration (docs/fhir.md 3.3-3.8), and the carriers a request or a
RequestGroup holds (regimen 3.1, cycle 3.2). Readers report through the conversion's ``add``; the caller decides
from the errors counted whether the request is left out."""

from __future__ import annotations

from typing import Any

from chemo_protovalidate.read.fhir import tables
from chemo_protovalidate.read.fhir.quantities import read_quantity
from chemo_protovalidate.read.fhir.index import Res, object_extensions, report_unresolved
from chemo_protovalidate.read.fhir.structure import (check, extension_problem, plain_days, primitive_problem,
                                                      sub_extension_problem)
from chemo_protovalidate.read.jsonld import pointer_join


def extensions_of(obj: Any, pointer: str, url: str) -> list[tuple[dict, str]]:
    """An element's extensions of ``url`` that are objects, each with its pointer (an action's days carriers; a
    resource's own extensions are indexed once: Res.extensions)."""
    return [(item, at) for item, at in object_extensions(obj, pointer) if item.get("url") == url]


_PROJECT_URLS = {name: url for url, name in tables.mapping()["project_extensions"].items()}


def project_extensions(res: Res, name: str) -> list[tuple[dict, str]]:
    return res.extensions(_PROJECT_URLS[name])


def regimen_carriers(res: Res, site) -> tuple[list[tuple[str, str]], list[str]]:
    """(regimen, pointer of its carrier) for each carrier on a resource, and the canonicals that gave none."""
    data = tables.mapping()
    prefix = data["urls"]["plan_definition_prefix"]
    found, unread = [], []
    canonicals = res.obj.get("instantiatesCanonical")
    if isinstance(canonicals, str):
        canonicals = [canonicals]
    if isinstance(canonicals, list):
        for i, canonical in enumerate(canonicals):
            if not isinstance(canonical, str):
                continue
            base = canonical.split("|", 1)[0]
            at = pointer_join(pointer_join(res.pointer, "instantiatesCanonical"), i)
            if base.startswith(prefix) and len(base) > len(prefix):
                found.append((base[len(prefix):], at))
            elif base in site.regimens:
                found.append((site.regimens[base], at))
            else:
                unread.append(canonical)
    for item, at in project_extensions(res, "regimen"):
        if extension_problem(item, "regimen") is None and primitive_problem(item["valueCode"], "code") is None:
            found.append((item["valueCode"], at))
    return found, unread


def cycle_carriers(res: Res) -> list[tuple[Any, str]]:
    found = []
    for item, at in project_extensions(res, "cycle-number"):
        if extension_problem(item, "cycle-number") is None \
                and primitive_problem(item["valueInteger"], "integer") is None:
            found.append((item["valueInteger"], at))
    return found


def codings_of(concept: Any) -> list[dict]:
    """A CodeableConcept's codings that are objects (a finding names the concept, never one coding)."""
    codings = concept.get("coding") if isinstance(concept, dict) else None
    if isinstance(codings, dict):
        return [codings]
    if not isinstance(codings, list):
        return []
    return [item for item in codings if isinstance(item, dict)]


def _agent_of(coding: dict, site) -> str | None:
    data = tables.mapping()
    system, code = coding.get("system"), coding.get("code")
    if not isinstance(system, str) or not isinstance(code, str) or not code:
        return None
    if system == data["urls"]["agent_system"]:
        return code
    if system == data["urls"]["rxnorm"] and code in data["rxnorm"]:
        return data["rxnorm"][code]
    return site.agents.get(system, {}).get(code)


def _system_code(coding: dict) -> str:
    return f"{coding.get('system', '')}|{coding.get('code', '')}"


class RequestReader:
    def __init__(self, doc) -> None:
        self.doc = doc
        self.data = tables.mapping()

    # --- the agent (3.4) -------------------------------------------------------------------------------------

    def concept_of(self, mr: Res, report: bool) -> tuple[Any, str | None]:
        """The CodeableConcept giving the agent and its pointer: medicationCodeableConcept, or the referenced
        Medication's code (its resource checked when ``report``)."""
        obj = mr.obj
        if "medicationCodeableConcept" in obj:
            return obj["medicationCodeableConcept"], pointer_join(mr.pointer, "medicationCodeableConcept")
        if "medicationReference" not in obj:
            return None, None
        at = pointer_join(mr.pointer, "medicationReference")
        status, medication = self.doc.index.resolve(obj["medicationReference"], mr)
        if medication is None or medication.type != "Medication":
            if report:
                report_unresolved(self.doc.add, status, obj["medicationReference"], at, "medicationReference",
                                  "the request is left out", medication.type if medication is not None else None)
            return None, None
        if report:
            self.doc.check(medication.obj, "Medication", medication.pointer)
        return medication.obj.get("code"), pointer_join(medication.pointer, "code")

    def agent_quiet(self, mr: Res) -> str | None:
        """The agent, if the codings give exactly one, without a finding (for the protocol marker of 2.4)."""
        concept, at = self.concept_of(mr, report=False)
        agents = {_agent_of(coding, self.doc.site) for coding in codings_of(concept)} - {None}
        return next(iter(agents)) if len(agents) == 1 else None

    def agent(self, mr: Res) -> tuple[str | None, str | None, bool]:
        """(agent, pointer of its concept, whether it came from an RxNorm code that is SC only)."""
        concept, at = self.concept_of(mr, report=True)
        if at is None:
            return None, None, False
        codings = codings_of(concept)
        given: dict[str, list] = {}
        sc_only = False
        for coding in codings:
            agent = _agent_of(coding, self.doc.site)
            if agent is not None:
                given.setdefault(agent, []).append(_system_code(coding))
                code = tables.string(coding.get("code"))
                if coding.get("system") == self.data["urls"]["rxnorm"] and code in self.data["rxnorm_sc_only"]:
                    sc_only = True
        if len(given) > 1:
            named = "; ".join(f"{agent} ({', '.join(codes)})" for agent, codes in given.items())
            self.doc.add("fhir-code-conflict", f"the codings give different agents: {named}; the request is left out",
                         at)
            return None, at, False
        if not given:
            named = ", ".join(_system_code(coding) for coding in codings) or "no coding"
            self.doc.add("fhir-unknown-code", f"no coding gives an agent protovalidate knows ({named}); a product "
                         "code needs the site map (docs/fhir.md 5.3); text and display are never read", at)
            return None, at, False
        return next(iter(given)), at, sc_only

    # --- the days (3.5) --------------------------------------------------------------------------------------

    def days(self, mr: Res, action: Any, action_pointer: str | None) -> tuple[list | None, list[str]]:
        """The request's days, sorted, and for each the pointer of the day sub-extension that gave it."""
        carriers, written = self._day_carriers(mr, action, action_pointer)
        if not carriers and written:
            return None, []  # a carrier of the wrong shape, already reported
        if not carriers:
            text = self._days_text(mr, action)
            self.doc.add("fhir-days-missing", "the request has no days carrier (timing-daysOfCycle or "
                         "sact-timing-of-days on its action, cycle-days on the request)"
                         + (f"; days only in text: {text!r}, which is never parsed" if text else ""), mr.pointer)
            return None, []
        first = carriers[0]
        for name, at, days in carriers[1:]:
            if set(days) != set(first[2]):
                self.doc.add("fhir-days-conflict", f"the days carriers disagree: {first[0]} gives "
                             f"{sorted(first[2])}, {name} gives {sorted(days)}; no carrier wins", at)
                return None, []
        ordered = sorted(first[2])
        return ordered, [first[2][day] for day in ordered]

    def _day_carriers(self, mr: Res, action: Any, action_pointer: str | None) -> list[tuple[str, str, dict]]:
        urls = self.data["days_carriers"]
        carriers = []
        written = False
        if action_pointer is not None:
            core = extensions_of(action, action_pointer, urls["core"])
            for n, (item, at) in enumerate(core):
                written = True
                days = plain_days(item, at)
                if days is None:  # the plain shape is what the Extension check passes
                    check(item, "Extension", at, self.doc.add)
                if n == 1:
                    self.doc.add("fhir-invalid-extension", "the action has timing-daysOfCycle more than once; it "
                                 "may have it once", at)
                if days is None:
                    days = self._sub_days(item, at, "timing-daysOfCycle")
                if days is not None and n == 0:
                    carriers.append(("timing-daysOfCycle", at, days))
            nz = extensions_of(action, action_pointer, urls["nz"])
            nz_days, nz_ok = [], True
            for item, at in nz:
                written = True
                check(item, "Extension", at, self.doc.add)
                day = self._nz_day(item, at)
                if day is None:
                    nz_ok = False
                else:
                    nz_days.append(day)
            if nz and nz_ok:
                carriers.append(("sact-timing-of-days", nz[0][1], self._unrepeated(nz_days, "sact-timing-of-days")))
        for n, (item, at) in enumerate(project_extensions(mr, "cycle-days")):
            # its shape and repeats are the structure check's (structure.extension_problem)
            written = True
            days = plain_days(item, at)
            if days is None:
                days = self._sub_days(item, at, "cycle-days", quiet=True)
            if days is not None and n == 0:
                carriers.append(("cycle-days", at, days))
        return carriers, written

    def _sub_days(self, extension: dict, pointer: str, name: str, quiet: bool = False) -> dict | None:
        """The days of a carrier that structure.plain_days did not take (nearly every carrier is plain): its
        shape checked, a day given twice reported. Day -> the pointer of its sub-extension, or None."""
        subs = extension.get("extension")
        problem = sub_extension_problem(subs, ["day"], True, False)
        if problem is None and any(primitive_problem(sub["valueInteger"], "integer") for sub in subs):
            return None  # fhir-invalid-value, the Extension check's
        if problem or [key for key in extension if key.startswith("value")]:
            if not quiet:
                self.doc.add("fhir-invalid-extension", f"the days extension {name} "
                             f"{problem or 'has a value; it wants only sub-extensions day'}", pointer)
            return None
        base = pointer_join(pointer, "extension")
        return self._unrepeated([(sub["valueInteger"], f"{base}/{i}") for i, sub in enumerate(subs)], name)

    def _nz_day(self, extension: dict, pointer: str) -> tuple | None:
        subs = extension.get("extension")
        values = [key for key in extension if key.startswith("value")]
        if isinstance(subs, list) and not values:
            base = pointer_join(pointer, "extension")
            days = [(sub, pointer_join(base, i)) for i, sub in enumerate(subs)
                    if isinstance(sub, dict) and sub.get("url") == "day"]
            others_ok = all(isinstance(sub, dict) and sub.get("url") in ("day", "instructions") for sub in subs)
            if len(days) == 1 and others_ok:
                sub, at = days[0]
                value = sub.get("valueInteger")
                if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
                    return value, at
        self.doc.add("fhir-invalid-extension", "the days extension sact-timing-of-days wants one sub-extension day "
                     "(valueInteger) and optional instructions", pointer)
        return None

    def _unrepeated(self, days: list, name: str) -> dict:
        """Day -> its pointer, each day once (the first); a day given again is reported."""
        seen: dict = {}
        for day, at in days:
            if day in seen:
                self.doc.add("repeated-day", f"day {day} is given twice by {name}; it is read once", at)
                continue
            seen[day] = at
        return seen

    @staticmethod
    def _days_text(mr: Res, action: Any) -> str | None:
        dosages = mr.obj.get("dosageInstruction")
        first = dosages[0] if isinstance(dosages, list) and dosages else None
        if isinstance(first, dict) and isinstance(first.get("text"), str):
            return first["text"]
        if isinstance(action, dict) and isinstance(action.get("textEquivalent"), str):
            return action["textEquivalent"]
        return None

    # --- the Dosage: doses, route, infusion time (3.3, 3.6-3.8) ---------------------------------------------

    def dosage(self, mr: Res, administration: dict, places: dict) -> str | None:
        """Fill doseLevel, dose, route, infusionDuration from dosageInstruction[0]; the route read, if any."""
        dosages = mr.obj.get("dosageInstruction")
        at = pointer_join(mr.pointer, "dosageInstruction")
        if dosages is None:
            return None
        if isinstance(dosages, dict):
            dosages, first_at = [dosages], at  # fhir-not-an-array is the structure check's
        elif isinstance(dosages, list):
            first_at = pointer_join(at, 0)
        else:
            return None
        if not dosages:
            return None
        if len(dosages) > 1:
            self.doc.add("fhir-several-dosage-instructions", f"the request has {len(dosages)} dosageInstruction "
                         "(a sequence, as in a dose escalation); an order states one; the request is left out", at)
        dosage = dosages[0]
        if not isinstance(dosage, dict):
            return None
        if dosage.get("asNeededBoolean") is True or "asNeededCodeableConcept" in dosage:
            key = "asNeededBoolean" if dosage.get("asNeededBoolean") is True else "asNeededCodeableConcept"
            self.doc.add("fhir-as-needed", "the dosage is as needed (PRN); protovalidate does not check as-needed "
                         "administrations; the request is left out", pointer_join(first_at, key))
        self._doses(dosage, first_at, administration, places)
        route = self._route(dosage, first_at, places)
        if route is not None:
            administration["route"] = route
        self._duration(dosage, first_at, administration, places)
        return route

    def _doses(self, dosage: dict, pointer: str, administration: dict, places: dict) -> None:
        elements = dosage.get("doseAndRate")
        at = pointer_join(pointer, "doseAndRate")
        if elements is None:
            return
        if isinstance(elements, dict):
            elements, pointers = [elements], [at]  # fhir-not-an-array is the structure check's
        elif isinstance(elements, list):
            pointers = [pointer_join(at, i) for i in range(len(elements))]
        else:
            return
        type_system = self.data["urls"]["dose_rate_type"]
        given: dict[str, tuple] = {}
        untyped = []
        for element, here in zip(elements, pointers):
            if not isinstance(element, dict):
                continue
            for rate in ("rateRatio", "rateRange", "rateQuantity"):
                if rate in element:
                    self.doc.add("fhir-rate-not-read", f"doseAndRate.{rate} is not read: an infusion time written "
                                 "there is not checked; write it in timing.repeat.duration", pointer_join(here, rate))
            if "doseRange" in element:
                self.doc.add("fhir-dose-range", "doseAndRate.doseRange: an order states one amount, not a range; "
                             "the request is left out", pointer_join(here, "doseRange"))
            if "doseQuantity" not in element:
                continue
            quantity_at = pointer_join(here, "doseQuantity")
            quantity = read_quantity(element["doseQuantity"], quantity_at, "doseQuantity", self.doc.add, dosage=True)
            codings = codings_of(element.get("type"))
            kinds = {tables.string(coding.get("code")) for coding in codings
                     if coding.get("system") == type_system} & {"ordered", "calculated"}
            if "type" not in element:
                untyped.append((quantity, quantity_at, here))
            elif len(kinds) != 1:
                self.doc.add("fhir-dose-ambiguous", "doseAndRate.type is neither ordered nor calculated "
                             f"({type_system}); the dose cannot be placed; the request is left out",
                             pointer_join(here, "type"))
            else:
                kind = "doseLevel" if kinds == {"ordered"} else "dose"
                if kind in given:
                    self.doc.add("fhir-dose-ambiguous", f"a second doseAndRate of type {next(iter(kinds))}; the "
                                 "dose cannot be placed; the request is left out", here)
                else:
                    given[kind] = (quantity, quantity_at)
        if untyped:
            if len(untyped) > 1 or given:
                self.doc.add("fhir-dose-ambiguous", "a doseAndRate without type beside others; the dose cannot be "
                             "placed; the request is left out", untyped[0][2])
            else:
                quantity, quantity_at, _ = untyped[0]
                unit = quantity.get("unit") if quantity else None
                kind = "doseLevel" if unit in self.data["per_body_units"] else "dose"
                given[kind] = (quantity, quantity_at)
        for kind in ("doseLevel", "dose"):
            if kind in given and given[kind][0] is not None:
                administration[kind] = given[kind][0]
                places["/" + kind] = given[kind][1]

    def _route(self, dosage: dict, pointer: str, places: dict) -> str | None:
        if "route" not in dosage:
            return None
        route, at = dosage["route"], pointer_join(pointer, "route")
        codings = codings_of(route)
        if not codings:
            text = route.get("text") if isinstance(route, dict) else None
            if tables.string(text) in self.data["route_texts"]:
                places["/route"] = at
                return text
            self.doc.add("fhir-route-unknown", f"route has no coding and its text {text!r} is not IV, SC or PO; "
                         "the request is left out", at)
            return None
        given = {}
        for coding in codings:
            system, code = tables.string(coding.get("system")), tables.string(coding.get("code"))
            mapped = self.data["routes"].get(system, {}).get(code) or self.doc.site.routes.get(system, {}).get(code)
            if mapped is not None:
                given.setdefault(mapped, []).append(_system_code(coding))
        if len(given) > 1:
            named = "; ".join(f"{route} ({', '.join(codes)})" for route, codes in given.items())
            self.doc.add("fhir-code-conflict", f"the route's codings give different routes: {named}; the request "
                         "is left out", at)
            return None
        if not given:
            named = ", ".join(_system_code(coding) for coding in codings)
            self.doc.add("fhir-route-unknown", f"no route coding is one protovalidate maps ({named}); the request is "
                         "left out", at)
            return None
        places["/route"] = at
        return next(iter(given))

    def _duration(self, dosage: dict, pointer: str, administration: dict, places: dict) -> None:
        timing = dosage.get("timing")
        repeat = timing.get("repeat") if isinstance(timing, dict) else None
        if not isinstance(repeat, dict) or "duration" not in repeat:
            return
        duration = repeat["duration"]
        if isinstance(duration, bool) or not isinstance(duration, (int, float)):
            return  # fhir-invalid-value is the structure check's
        value: dict = {"value": duration}
        unit = repeat.get("durationUnit")
        if isinstance(unit, str) and unit:
            value["unit"] = unit
        administration["infusionDuration"] = value
        places["/infusionDuration"] = pointer_join(pointer_join(pointer_join(pointer, "timing"), "repeat"), "duration")

    # --- doseReduction (3.3) ---------------------------------------------------------------------------------

    def dose_reduction(self, mr: Res, administration: dict, places: dict) -> None:
        for item, at in project_extensions(mr, "dose-reduction-reason")[:1]:
            reason = None
            if isinstance(item.get("valueString"), str):
                reason = item["valueString"]
            elif isinstance(item.get("valueCodeableConcept"), dict):
                concept = item["valueCodeableConcept"]
                codings = codings_of(concept)
                if isinstance(concept.get("text"), str):
                    reason = concept["text"]
                elif codings and isinstance(codings[0].get("display"), str):
                    reason = codings[0]["display"]
                elif codings:
                    reason = _system_code(codings[0])
            if reason is not None:
                administration["doseReduction"] = {"reason": reason}
                places["/doseReduction"] = at
