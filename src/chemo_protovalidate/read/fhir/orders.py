"""From the indexed resources to orders (docs/fhir.md 2.2-2.5, 3, 4.1): which MedicationRequests make one
order, which groups are protocol orders, and each order's keys with the places they came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cmp_to_key
from typing import Any

from chemo_protovalidate.read.fhir import tables
from chemo_protovalidate.read.fhir.interface import MappedOrder, MappedRequest
from chemo_protovalidate.read.fhir.patient import PatientReader
from chemo_protovalidate.read.fhir.requests import RequestReader, cycle_carriers, project_extensions, regimen_carriers
from chemo_protovalidate.read.fhir.index import Res, report_unresolved
from chemo_protovalidate.read.fhir.structure import primitive_problem
from chemo_protovalidate.read.fhir.timing import compare_times
from chemo_protovalidate.read.jsonld import pointer_join


@dataclass
class Member:
    """A MedicationRequest of a group, with the action that references it (RequestGroup orders)."""

    request: Res
    action: Any = None
    action_pointer: str | None = None
    twice: bool = False
    """Referenced by two actions or RequestGroups: left out of each (fhir-request-referenced-twice)."""


@dataclass
class Group:
    kind: str
    """'request-group', 'group-identifier' or 'loose'."""
    members: list[Member]
    request_group: Res | None = None
    identifier: Any = None
    broken: bool = False
    """The RequestGroup is not checked whatever its requests (a RequestGroup in an action, actions too deep)."""
    first: int = 0

    @property
    def first_resource(self) -> Res:
        return self.request_group or self.members[0].request


@dataclass
class OrderState:
    """What the patient reader needs of an order being built."""

    requests: list[Res]
    carriers: list[Res]
    pointer: str
    subject_conflict: bool = False
    extra: dict = field(default_factory=dict)


class OrderBuilder:
    def __init__(self, doc) -> None:
        self.doc = doc
        self.data = tables.mapping()
        self.requests = RequestReader(doc)
        self.patients = PatientReader(doc)

    # --- grouping (2.3, 2.4) ---------------------------------------------------------------------------------

    def build(self) -> list[MappedOrder]:
        index = self.doc.index
        request_groups = [res for res in index.all
                          if res.type == "RequestGroup" and res.container is None and not res.prefetch]
        groups: list[Group] = []
        referenced: dict[int, int] = {}
        for rg in request_groups:
            group = Group("request-group", [], request_group=rg, first=rg.position)
            self._walk(rg, rg.obj.get("action"), pointer_join(rg.pointer, "action"), 1, group)
            for member in group.members:
                referenced[member.request.position] = referenced.get(member.request.position, 0) + 1
            groups.append(group)
        twice = {position for position, count in referenced.items() if count > 1}
        for group in groups:
            for member in group.members:
                if member.request.position in twice:
                    self.doc.add("fhir-request-referenced-twice", f"MedicationRequest {member.request.id} is "
                                 "referenced by more than one action; it is left out of each order",
                                 pointer_join(member.action_pointer, "resource"))
                    member.twice = True
            rg = group.request_group
            held = {m.request.position for m in group.members}
            for res in index.contained.get(rg.position, {}).values():
                if res.type == "MedicationRequest" and res.position not in held:
                    self.doc.add("fhir-request-ungrouped", f"MedicationRequest {res.id} is contained in the "
                                 "RequestGroup but no action references it; it is not checked", res.pointer)
        loose_requests = [res for res in index.all if res.type == "MedicationRequest" and res.container is None
                          and not res.prefetch and res.position not in referenced]
        groups.extend(self._by_group_identifier(loose_requests))
        groups.sort(key=lambda g: g.first)
        orders: list[MappedOrder] = []
        for group in groups:
            if not self._is_order(group):
                continue
            if self.doc.selections is not None and not self._selected(group):
                self.doc.add("fhir-resource-ignored", "this order holds no resource of context.selections; it is "
                             "not checked here", group.first_resource.pointer)
                continue
            orders.append(self._order(group, len(orders) + 1))
        self._duplicate_ids(orders)
        if not orders:
            self.doc.add("no-order", "the document holds no chemotherapy order (no RequestGroup or "
                         "MedicationRequest with a protocol marker: regimen, cycle-number, cycle-days or carfilzomib)",
                         None)
        return orders

    def _walk(self, rg: Res, actions: Any, pointer: str, depth: int, group: Group) -> None:
        if actions is None:
            return
        if depth > self.data["max_action_depth"]:
            self.doc.add("order-too-large", f"the RequestGroup's actions are nested more than "
                         f"{self.data['max_action_depth']} deep; the order is not checked", pointer)
            group.broken = True
            return
        if isinstance(actions, dict):
            items = [(actions, pointer)]  # fhir-not-an-array is the structure check's
        elif isinstance(actions, list):
            items = [(action, pointer_join(pointer, i)) for i, action in enumerate(actions)]
        else:
            return
        days_urls = set(self.data["days_carriers"].values()) - {self.data["days_carriers"]["project"]}
        for action, at in items:
            if not isinstance(action, dict):
                continue
            target, found = None, False
            if "resource" in action:
                target, found = self._action_target(rg, action["resource"], pointer_join(at, "resource"), group)
                if target is not None:
                    group.members.append(Member(target, action, at))
            if target is None and not ("resource" in action and not found):
                # an unresolved resource has its own finding; days on an action of no request are misplaced
                extensions = action.get("extension")
                if isinstance(extensions, list):
                    for i, extension in enumerate(extensions):
                        if isinstance(extension, dict) and tables.string(extension.get("url")) in days_urls:
                            self.doc.add("fhir-extension-misplaced", "a days extension on an action that references "
                                         "no MedicationRequest; days are never inherited",
                                         pointer_join(pointer_join(at, "extension"), i))
            if "action" in action:
                self._walk(rg, action["action"], pointer_join(at, "action"), depth + 1, group)

    def _action_target(self, rg: Res, reference: Any, pointer: str, group: Group) -> tuple[Res | None, bool]:
        """The MedicationRequest an action's resource resolves to, and whether it resolved at all."""
        status, res = self.doc.index.resolve(reference, rg)
        if res is None:
            report_unresolved(self.doc.add, status, reference, pointer, "action.resource",
                              "the order is checked without it")
            return None, False
        if res.type == "MedicationRequest":
            return res, True
        if res.type == "RequestGroup":
            self.doc.add("fhir-invalid-structure", "an action's resource is a RequestGroup; a RequestGroup inside "
                         "an order is not read, and the order is not checked", pointer)
            group.broken = True
        else:
            self.doc.add("fhir-resource-ignored", f"an action's resource is a {res.type}, which is not an "
                         "administration protovalidate checks", pointer)
        return None, True

    def _by_group_identifier(self, requests: list[Res]) -> list[Group]:
        groups: dict[tuple, Group] = {}
        loose: dict[tuple, Group] = {}
        result = []
        for mr in requests:
            identifier = mr.obj.get("groupIdentifier")
            if isinstance(identifier, dict) and identifier.get("value") is not None:
                key = (repr(identifier.get("system")), repr(identifier.get("value")))
                if key not in groups:
                    groups[key] = Group("group-identifier", [], identifier=identifier, first=mr.position)
                    result.append(groups[key])
                groups[key].members.append(Member(mr))
                continue
            regimens, _ = regimen_carriers(mr, self.doc.site)
            cycles = cycle_carriers(mr)
            regimen = regimens[0][0] if regimens else None
            cycle = cycles[0][0] if cycles else None
            if regimen is None and cycle is None:
                if self.requests.agent_quiet(mr) in self.data["marker_agents"]:
                    self.doc.add("fhir-request-ungrouped", "this carfilzomib MedicationRequest belongs to no order: "
                                 "it has no RequestGroup, groupIdentifier, regimen or cycle-number", mr.pointer)
                else:
                    self.doc.add("fhir-resource-ignored", "this MedicationRequest carries no protocol marker "
                                 "(regimen, cycle-number, cycle-days, carfilzomib) and belongs to no order; it is "
                                 "passed over", mr.pointer)
                continue
            if regimen is None or cycle is None:
                has, lacks = ("cycle", "regimen") if regimen is None else ("regimen", "cycle-number")
                self.doc.add("fhir-request-ungrouped", f"this MedicationRequest has a {has} but no {lacks}, and no "
                             "RequestGroup or groupIdentifier: it belongs to no order", mr.pointer)
                continue
            subject = mr.obj.get("subject")
            key = (repr(subject.get("reference") if isinstance(subject, dict) else None), regimen, repr(cycle))
            if key not in loose:
                loose[key] = Group("loose", [], first=mr.position)
                result.append(loose[key])
            loose[key].members.append(Member(mr))
        return result

    def _is_order(self, group: Group) -> bool:
        carriers = ([group.request_group] if group.request_group else []) + [m.request for m in group.members]
        for res in carriers:
            # a carrier of the wrong shape still marks a protocol order (its finding comes when it is read)
            if regimen_carriers(res, self.doc.site)[0] or project_extensions(res, "regimen") \
                    or project_extensions(res, "cycle-number"):
                return True
        for member in group.members:
            if project_extensions(member.request, "cycle-days"):
                return True
            if self.requests.agent_quiet(member.request) in self.data["marker_agents"]:
                return True
        if group.kind != "loose":
            names = ", ".join(f"{m.request.type}/{m.request.id}" for m in group.members) or "no request"
            self.doc.add("fhir-resource-ignored", f"this group carries no protocol marker (regimen, cycle-number, "
                         f"cycle-days, carfilzomib): it is not a chemotherapy order ({names})",
                         group.first_resource.pointer)
        return False

    def _selected(self, group: Group) -> bool:
        held = ([group.request_group] if group.request_group else []) + [m.request for m in group.members]
        return any(f"{res.type}/{res.id}" in self.doc.selections for res in held)

    # --- one order -------------------------------------------------------------------------------------------

    def _label(self, group: Group, number: int) -> str:
        rfc = self.data["urls"]["absolute_iri_identifier_system"]
        if group.request_group is not None:
            identifiers = group.request_group.obj.get("identifier")
            identifiers = [i for i in identifiers if isinstance(i, dict)] if isinstance(identifiers, list) else []
        elif group.identifier is not None:
            identifiers = [group.identifier]
        else:
            return f"order {number}"
        for identifier in identifiers:
            if identifier.get("system") == rfc and isinstance(identifier.get("value"), str):
                return identifier["value"]
        for identifier in identifiers[:1]:
            value = identifier.get("value")
            if value is not None:
                system = identifier.get("system")
                return f"{system}|{value}" if system is not None else f"{value}"
        if group.request_group is not None and group.request_group.id is not None:
            return f"RequestGroup/{group.request_group.id}"
        return f"order {number}"

    def _order(self, group: Group, number: int) -> MappedOrder:
        doc = self.doc
        label = self._label(group, number)
        rg = group.request_group
        pointer = group.first_resource.pointer
        mapped = MappedOrder(label=label, pointer=pointer, order=None)
        mark = doc.errors
        reasons = ["its actions cannot be read"] if group.broken else []
        skipped_order = False
        if rg is not None:
            doc.check(rg.obj, "RequestGroup", rg.pointer)
            status = rg.obj.get("status")
            effect = self.data["request_group_status"].get(status) if isinstance(status, str) else None
            if effect == "skipped":
                doc.add("fhir-order-skipped", f"the RequestGroup's status is {status}; the order is skipped",
                        pointer_join(rg.pointer, "status"))
                skipped_order = True
            elif effect == "unknown":
                doc.add("fhir-status-unknown", "the RequestGroup's status is unknown; the order is not checked",
                        pointer_join(rg.pointer, "status"))
            elif status is not None and effect is None:
                doc.add("fhir-invalid-value", f"RequestGroup.status {status!r} is not a RequestGroup status of "
                        "FHIR R4", pointer_join(rg.pointer, "status"))
        if doc.errors > mark:
            reasons.append("the RequestGroup has errors outside its requests")
        if skipped_order:
            mapped.requests = [MappedRequest(m.request.pointer, self.requests.agent_quiet(m.request), "skipped")
                               for m in group.members]
            return mapped
        if len(group.members) > self.doc.max_administrations:
            # refused before its requests are read: the limit is there so that a huge order costs nothing
            doc.add("order-too-large", f"the order has {len(group.members)} MedicationRequests, more than "
                    f"--max-administrations {self.doc.max_administrations}; it is not checked", pointer)
            doc.add("fhir-order-not-checked", f"this order ({label}) is not checked: it has too many requests",
                    pointer)
            mapped.requests = [MappedRequest(m.request.pointer, None, "left-out") for m in group.members]
            return mapped
        administrations, places, read_requests = [], {}, []
        for member in group.members:
            outcome = self._request(member, len(administrations))
            mapped.requests.append(outcome[0])
            if outcome[0].status != "skipped":
                read_requests.append(member.request)
            if outcome[1] is not None:
                administrations.append(outcome[1])
                places.update(outcome[2])
        if group.members and not read_requests:
            doc.add("fhir-order-skipped", "every request of this order is skipped (cancelled, entered-in-error or "
                    "stopped); the order is skipped", pointer)
            return mapped
        carriers = ([rg] if rg is not None else []) + read_requests
        order: dict = {"@context": self.data["order_context"]}
        if tables.ABSOLUTE_IRI.fullmatch(label):
            order["@id"] = label
        order["@type"] = self.data["order_type"]
        places[""] = pointer
        if self._regimen(carriers, order, places, pointer):
            reasons.append("its regimen is not read")
        if self._cycle(carriers, order, places, pointer):
            reasons.append("its cycle is not read")
        patient, subjects, conflict = self._subject(carriers, pointer)
        reference_time = self._reference_time(rg, read_requests, pointer)
        mapped.reference_time = reference_time
        state = OrderState(read_requests, carriers, pointer)
        patient_dict, patient_places, patient_data = self.patients.read(state, patient, subjects, reference_time)
        order["patient"] = patient_dict
        places.update(patient_places)
        mapped.patient_data = patient_data
        order["administrations"] = administrations
        if conflict or state.subject_conflict:
            reasons.append("its resources are for different patients")
        if not administrations:
            reasons.append("no administration is left to check")
        if reasons:
            doc.add("fhir-order-not-checked", f"this order ({label}) is not checked: {'; '.join(reasons)}", pointer)
            return mapped
        mapped.order = order
        mapped.places = places
        return mapped

    def _request(self, member: Member, slot: int) -> tuple[MappedRequest, dict | None, dict]:
        doc = self.doc
        mr = member.request
        if member.twice:
            return MappedRequest(mr.pointer, self.requests.agent_quiet(mr), "left-out"), None, {}
        status = mr.obj.get("status")
        effect = self.data["medication_request_status"].get(status) if isinstance(status, str) else None
        if effect == "skipped":
            doc.add("fhir-request-skipped", f"the MedicationRequest's status is {status}; it is skipped",
                    pointer_join(mr.pointer, "status"))
            return MappedRequest(mr.pointer, self.requests.agent_quiet(mr), "skipped"), None, {}
        mark = doc.errors
        doc.check(mr.obj, "MedicationRequest", mr.pointer)
        doc.index.report_nesting(mr)
        if effect == "unknown":
            doc.add("fhir-status-unknown", "the MedicationRequest's status is unknown; the request is left out",
                    pointer_join(mr.pointer, "status"))
        elif status is not None and effect is None:
            doc.add("fhir-invalid-value", f"MedicationRequest.status {status!r} is not a MedicationRequest status "
                    "of FHIR R4", pointer_join(mr.pointer, "status"))
        administration: dict = {}
        local: dict = {}
        agent, agent_at, sc_only = self.requests.agent(mr)
        if agent is not None:
            administration["agent"] = agent
            local["/agent"] = agent_at
        days, day_pointers = self.requests.days(mr, member.action, member.action_pointer)
        if days is not None:
            administration["days"] = days
        route = self.requests.dosage(mr, administration, local)
        if sc_only and route is not None and route != self.data["sc_route"]:
            codes = ", ".join(sorted(self.data["rxnorm_sc_only"]))
            doc.add("fhir-product-route-mismatch", f"RxNorm {codes} is the subcutaneous product (daratumumab / "
                    f"hyaluronidase); the route is {route}; the request is left out", local.get("/route"))
        self.requests.dose_reduction(mr, administration, local)
        if doc.errors > mark:
            return MappedRequest(mr.pointer, agent, "left-out"), None, {}
        ordered = {key: administration[key] for key in self.data["administration_keys"] if key in administration}
        base = f"/administrations/{slot}"
        places = {base: mr.pointer}
        places.update({base + key: at for key, at in local.items()})
        places.update({f"{base}/days/{i}": at for i, at in enumerate(day_pointers)})  # some 17 a request
        return MappedRequest(mr.pointer, agent, "checked"), ordered, places

    def _regimen(self, carriers: list[Res], order: dict, places: dict, pointer: str) -> bool:
        """The regimen (3.1); True when the order is not checked for it."""
        found, unread = [], []
        for res in carriers:
            given, not_read = regimen_carriers(res, self.doc.site)
            found.extend(given)
            unread.extend(not_read)
        if not found:
            named = f"; canonicals not read: {', '.join(unread)}" if unread else ""
            self.doc.add("fhir-regimen-missing", "no regimen carrier (instantiatesCanonical "
                         f"{self.data['urls']['plan_definition_prefix']}{{regimen}}, a site-mapped canonical or the "
                         f"regimen extension){named}; the order is not checked", pointer)
            return True
        return self._agreed("regimen", found, order, places, "fhir-regimen-conflict", "regimen", "regimens")

    def _cycle(self, carriers: list[Res], order: dict, places: dict, pointer: str) -> bool:
        found = [item for res in carriers for item in cycle_carriers(res)]
        if not found:
            self.doc.add("fhir-cycle-missing", "no cycle-number extension on the RequestGroup or its requests; the "
                         "cycle is never inferred from dates, timing or text; the order is not checked", pointer)
            return True
        return self._agreed("cycle", found, order, places, "fhir-cycle-conflict", "cycle-number", "cycles")

    def _agreed(self, key: str, found: list, order: dict, places: dict, conflict: str, carrier: str,
                plural: str) -> bool:
        """The one value all carriers give, set as the order's ``key`` (placed at its first carrier); carriers
        that disagree are ``conflict`` and the order is not checked (returns True)."""
        values = list(dict.fromkeys(value for value, _ in found))
        if len(values) > 1:
            self.doc.add(conflict, f"the {carrier} carriers give different {plural} "
                         f"({', '.join(str(v) for v in values)}); the order is not checked",
                         next(at for value, at in found if value != values[0]))
            return True
        order[key] = values[0]
        places["/" + key] = found[0][1]
        return False

    def _subject(self, carriers: list[Res], pointer: str) -> tuple[Res | None, set[str], bool]:
        """The order's Patient (or None), the subject reference strings, and whether they conflict (4.1, 1.2)."""
        identities: dict = {}
        subjects: set[str] = set()
        patient = None
        for res in carriers:
            subject = res.obj.get("subject")
            if subject is None:
                continue
            reference = tables.string(subject.get("reference")) if isinstance(subject, dict) else None
            if reference is not None:
                subjects.add(reference)
            status, found = self.doc.index.resolve(subject, res)
            if found is not None:
                identities.setdefault(("resource", found.position), pointer_join(res.pointer, "subject"))
                patient = found
            elif reference is not None:
                identities.setdefault(("reference", reference), pointer_join(res.pointer, "subject"))
        # A resolved resource and a copy with equal content are one patient.
        resolved = [key for key in identities if key[0] == "resource"]
        if len(resolved) > 1:
            objects = [self.doc.index.all[key[1]].obj for key in resolved]
            if all(obj == objects[0] for obj in objects[1:]):
                for key in resolved[1:]:
                    del identities[key]
        conflict = len(identities) > 1
        if conflict:
            self.doc.add("fhir-subject-conflict", "the resources of this order name different subjects ("
                         f"{', '.join(sorted(subjects))}); the order is not checked", list(identities.values())[1])
        if self.doc.cds and self.doc.patient_id is not None:
            wanted = f"Patient/{self.doc.patient_id}"
            for key, at in identities.items():
                found = self.doc.index.all[key[1]] if key[0] == "resource" else None
                ok = key == ("reference", wanted) or (
                    found is not None and found.type == "Patient" and found.id == self.doc.patient_id)
                if not ok:
                    self.doc.add("fhir-subject-conflict", f"the order's subject is not the CDS Hooks patient {wanted} "
                                 "(context.patientId); the order is not checked", at)
                    conflict = True
            prefetched = [res for res in self.doc.index.all if res.prefetch and res.type == "Patient"
                          and res.id == self.doc.patient_id]
            if patient is None and prefetched:
                patient = prefetched[0]
        if patient is not None and patient.type != "Patient":
            patient = None
        return patient, subjects, conflict

    def _reference_time(self, rg: Res | None, requests: list[Res], pointer: str) -> str | None:
        if rg is not None and primitive_problem(rg.obj.get("authoredOn"), "dateTime") is None:
            return rg.obj["authoredOn"]
        times = [mr.obj["authoredOn"] for mr in requests
                 if primitive_problem(mr.obj.get("authoredOn"), "dateTime") is None]
        if times:
            return max(times, key=cmp_to_key(compare_times))
        if self.doc.arrival_time is not None:
            return self.doc.arrival_time
        self.doc.add("fhir-reference-time-missing", "no authoredOn on the RequestGroup or its requests: age is not "
                     "given and Observations are not bounded by time", pointer)
        return None

    def _duplicate_ids(self, orders: list[MappedOrder]) -> None:
        seen: dict[str, MappedOrder] = {}
        for mapped in orders:
            if mapped.label in seen:
                self.doc.add("duplicate-order-id", f"the order id {mapped.label} is given to another order of this "
                             "file too", mapped.pointer)
            else:
                seen[mapped.label] = mapped

