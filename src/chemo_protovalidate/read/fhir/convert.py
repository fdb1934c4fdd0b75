"""The FHIR converter (docs/fhir.md sections 1-6): a FHIR R4 document's JSON value to the order-format orders it
maps to, each element remembering the file pointer of the FHIR element it came from, and every converter finding.

The document is read as it is: no copy, no change. Resources are indexed once (by fullUrl, by type and id, and
each container's contained by id), so that every reference is a dict lookup. A finding is an Issue with a rule
id of the contract; whether it leaves a request out, leaves an order unchecked or a patient key unused is
decided by counting the errors found while that resource was examined (docs/fhir.md 6, the table of effects).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chemo_protovalidate.read.fhir import fhir_rules, structure, tables
from chemo_protovalidate.read.fhir.interface import Conversion, Issue, MappedOrder, SiteMap
from chemo_protovalidate.read.fhir.orders import OrderBuilder
from chemo_protovalidate.read.fhir.index import Index
from chemo_protovalidate.read.jsonld import duplicate_keys, pointer_join


# Rules that are errors but do not make a resource erroneous: they belong to the order format, which still
# judges what was read (a day twice is read once and reported).
_NOT_ERRONEOUS = frozenset({"repeated-day", "duplicate-order-id", "no-order"})


@lru_cache(maxsize=1)
def _levels() -> dict[str, str]:
    return {rule: spec.get("level") for rule, spec in fhir_rules().items()}


class Issues:
    """The findings of one conversion (each once), and the count of errors that decides effects."""

    def __init__(self) -> None:
        self.found: list[Issue] = []
        self._seen: set = set()
        self.errors = 0
        self._levels = _levels()

    def add(self, rule_id: str, message: str, pointer: str | None, counts: bool = True) -> None:
        """Report a finding once; an error (not an info, a warning or the order format's own) counts."""
        if counts and rule_id not in _NOT_ERRONEOUS and self._levels.get(rule_id, "error") == "error":
            self.errors += 1
        key = (rule_id, pointer, message)
        if key not in self._seen:
            self._seen.add(key)
            self.found.append(Issue(rule_id, message, pointer))


class Doc:
    """One conversion: what it reads by, its resources' index, and its findings.

    Nothing it holds refers back to it (the index reports to ``Issues``, not to the Doc): a conversion leaves
    no reference cycle, so the document and all made of it are freed by reference counting once read. A cycle
    kept them (some 300 objects an order) for the garbage collector to find, which promoted them through its
    generations and cost some 0.1 ms an order (bench/README.md)."""

    def __init__(self, site_map: SiteMap, max_administrations: int, arrival_time: str | None) -> None:
        self.site = site_map
        self.max_administrations = max_administrations
        self.arrival_time = arrival_time
        self._issues = Issues()
        self.add = self._issues.add
        self.index = Index(self.add)
        self.patient_id: str | None = None
        self.selections: set | None = None
        self.cds = False

    @property
    def errors(self) -> int:
        return self._issues.errors

    @property
    def issues(self) -> list[Issue]:
        return self._issues.found

    def check(self, value: Any, type_name: str, pointer: str) -> None:
        structure.check(value, type_name, pointer, self.add)


def convert_document(value: Any, site_map: SiteMap, max_administrations: int,
                     arrival_time: str | None) -> Conversion:
    doc = Doc(site_map, max_administrations, arrival_time)
    orders: list[MappedOrder] = []
    try:
        if _read_top(doc, value):
            orders = OrderBuilder(doc).build()
    except RecursionError:
        doc.add("fhir-invalid-structure", "the document is nested too deeply to be read as FHIR", "")
        orders = []
    return Conversion(issues=doc.issues, orders=orders)


def _read_top(doc: Doc, value: Any) -> bool:
    """Index the document's resources (section 1); False when nothing of it is read."""
    data = tables.mapping()
    if isinstance(value, dict) and "resourceType" not in value and isinstance(value.get("context"), dict) \
            and "draftOrders" in value["context"]:
        return _read_cds(doc, value)
    resource_type = tables.string(value.get("resourceType")) if isinstance(value, dict) else None
    if resource_type in data["earlier_version_resources"]:
        doc.add("fhir-earlier-version", f"the document is a {resource_type}, a DSTU2 resource; FHIR R4 writes a "
                "MedicationRequest", "")
        return False
    if resource_type not in data["top_level_resources"]:
        found = f"a {resource_type}" if isinstance(resource_type, str) else "not a FHIR resource"
        doc.add("fhir-resource-not-supported", f"the document is {found}; protovalidate reads a RequestGroup, a "
                "MedicationRequest, a Bundle or a CDS Hooks request body", "")
        return False
    if resource_type == "Bundle":
        return _read_bundle(doc, value, "", require_type=True)
    doc.index.add(value, "", full_url=None, prefetch=False)
    return True


def _read_bundle(doc: Doc, bundle: dict, pointer: str, require_type: bool) -> bool:
    """A Bundle's entries (1.1); an error among the Bundle's own keys means nothing is read."""
    data = tables.mapping()
    mark = doc.errors
    spec = tables.elements()["Bundle"]
    for key in duplicate_keys(bundle):
        doc.add("duplicate-key", f"the Bundle has the key {key!r} twice; nothing of it is read",
                pointer_join(pointer, key))
    for key in bundle:
        if key not in spec.keys and not (key.startswith("_") and key[1:] in spec.keys):
            doc.add("fhir-unknown-element", f"the Bundle has the key {key!r}, which FHIR R4 does not define there",
                    pointer_join(pointer, key))
    if "implicitRules" in bundle:
        doc.add("fhir-modifier-not-understood", "the Bundle has implicitRules; FHIR forbids ignoring them",
                pointer_join(pointer, "implicitRules"))
    bundle_type = bundle.get("type")
    bundle_type = tables.string(bundle_type) if bundle_type is not None else None
    if bundle_type is None and not require_type:
        pass  # CDS Hooks draftOrders: the published hook examples omit it (1.2)
    elif bundle_type not in data["bundle_types"]:
        found = f"type {bundle_type!r}" if bundle_type is not None else "no type"
        at = pointer_join(pointer, "type") if "type" in bundle else pointer
        doc.add("fhir-bundle-type-not-supported", f"the Bundle has {found}; protovalidate reads a collection, "
                "transaction, batch or searchset Bundle", at)
        return False
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        doc.add("fhir-not-an-array", "Bundle.entry is written as a single value; FHIR R4 writes it as a list",
                pointer_join(pointer, "entry"))
        return False
    if doc.errors > mark:
        return False
    _read_entries(doc, entries, pointer_join(pointer, "entry"), prefetch=False)
    return True


_PLAIN_ENTRY = structure.FLAT["Bundle.entry"]


def _read_entries(doc: Doc, entries: list, pointer: str, prefetch: bool) -> None:
    for i, entry in enumerate(entries):
        at = pointer_join(pointer, i)
        if not isinstance(entry, dict):
            doc.add("fhir-invalid-value", "a Bundle entry is not an object; FHIR R4 wants an object", at)
            continue
        search = entry.get("search")
        if isinstance(search, dict) and search.get("mode") == "outcome":
            continue
        resource = entry.get("resource")
        if resource is None:
            continue
        if not structure.is_plain_element(entry, _PLAIN_ENTRY):  # most entries: a fullUrl and a resource
            mark = doc.errors
            doc.check(entry, "Bundle.entry", at)
            if doc.errors > mark:
                continue  # an entry written wrong: its resource is not read (its findings say why)
        here = pointer_join(at, "resource")
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            doc.add("fhir-invalid-structure", "a Bundle entry's resource is not a FHIR resource (no resourceType)",
                    here)
            continue
        if resource["resourceType"] == "Bundle":
            doc.add("fhir-invalid-structure", "a Bundle inside a Bundle entry is not read", here)
            continue
        full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
        doc.index.add(resource, here, full_url=full_url, prefetch=prefetch)


def _read_cds(doc: Doc, body: dict) -> bool:
    """A CDS Hooks request body (1.2): draftOrders is the document, prefetch is data."""
    context = body["context"]
    doc.cds = True
    patient_id = context.get("patientId")
    doc.patient_id = patient_id if isinstance(patient_id, str) else None
    selections = context.get("selections")
    if isinstance(selections, list):
        doc.selections = {item for item in selections if isinstance(item, str)}
    draft = context["draftOrders"]
    draft_pointer = "/context/draftOrders"
    read = False
    if isinstance(draft, dict) and draft.get("resourceType") == "Bundle":
        read = _read_bundle(doc, draft, draft_pointer, require_type=False)
    else:
        doc.add("fhir-invalid-structure", "context.draftOrders is not a Bundle; the CDS Hooks order hooks send a "
                "Bundle of the draft orders", draft_pointer)
    prefetch = body.get("prefetch")
    if isinstance(prefetch, dict):
        for key, value in prefetch.items():
            at = pointer_join("/prefetch", key)
            if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
                continue  # null: no data
            if value["resourceType"] == "Bundle":
                entries = value.get("entry", [])
                if isinstance(entries, list):
                    _read_entries(doc, entries, pointer_join(at, "entry"), prefetch=True)
            else:
                doc.index.add(value, at, full_url=None, prefetch=True)
    return read

