"""The resources of one document, indexed once, and the one resolution rule for every reference (docs/fhir.md
2.6): '#id' in the holder's container, an absolute URL by fullUrl, 'Type/id' by type and id."""

from __future__ import annotations

from typing import Any

from chemo_protovalidate.read.fhir import tables
from chemo_protovalidate.read.jsonld import pointer_join


def object_extensions(obj: Any, pointer: str) -> list[tuple[dict, str]]:
    """An element's extensions that are objects, each with its pointer; one written as a single object is read
    as a list of one (its fhir-not-an-array is the structure check's)."""
    extensions = obj.get("extension") if isinstance(obj, dict) else None
    if isinstance(extensions, dict):
        return [(extensions, f"{pointer}/extension")]
    if not isinstance(extensions, list):
        return []
    return [(item, f"{pointer}/extension/{i}") for i, item in enumerate(extensions) if isinstance(item, dict)]


class Res:
    """One resource where the file holds it; ``container`` is the resource whose contained holds it (what it
    contains is the Index's: a link both ways would be a reference cycle)."""

    __slots__ = ("obj", "pointer", "type", "id", "full_url", "prefetch", "container", "position", "_extensions")

    def __init__(self, obj: dict, pointer: str, full_url: str | None, prefetch: bool, container: "Res | None",
                 position: int) -> None:
        self.obj = obj
        self.pointer = pointer
        self.type = obj.get("resourceType")
        self.id = obj.get("id") if isinstance(obj.get("id"), str) else None
        self.full_url = full_url
        self.prefetch = prefetch
        self.container = container
        self.position = position
        self._extensions: dict[str, list[tuple[dict, str]]] | None = None

    def extensions(self, url: str) -> list[tuple[dict, str]]:
        """The resource's extensions of ``url`` that are objects, each with its pointer (not to be changed). They
        are asked some 50 times an order, of every resource and carrier url: indexed by url once."""
        if self._extensions is None:
            self._extensions = {}
            for item, at in object_extensions(self.obj, self.pointer):
                if isinstance(item.get("url"), str):
                    self._extensions.setdefault(item["url"], []).append((item, at))
        return self._extensions.get(url, [])

    @property
    def root(self) -> "Res":
        return self.container if self.container is not None else self

    def __repr__(self) -> str:
        return f"{self.type}/{self.id} at {self.pointer}"


RESOLVED, UNRESOLVED, AMBIGUOUS, OUTSIDE = "resolved", "unresolved", "ambiguous", "outside"


def report_unresolved(add, status: str, reference: Any, pointer: str, name: str, effect: str,
                      found_type: str | None = None, wanted: str = "Medication") -> None:
    """The finding for a reference that gave no resource of the wanted type (2.6): ``name`` is the element
    ("action.resource", "medicationReference"), ``effect`` what becomes of what it names when it is not found."""
    written = reference.get("reference") if isinstance(reference, dict) else None
    if status == AMBIGUOUS:
        add("fhir-reference-ambiguous", f"{name} {written!r} matches several different resources; "
            "the request is left out", pointer)
    elif status == OUTSIDE:
        add("fhir-invalid-structure", f"{name} {written!r} names a resource contained in another "
            "resource; a '#id' reference resolves only within its own container", pointer)
    elif status == RESOLVED:
        add("fhir-unresolved-reference", f"{name} {written!r} is a {found_type}, not a {wanted}", pointer)
    else:
        what = f"{written!r}" if written else "(no reference, only an identifier or display)"
        add("fhir-unresolved-reference", f"{name} {what} is not found in the document; {effect}", pointer)


class Index:
    def __init__(self, report) -> None:
        self.report = report
        """Doc.add: the index's own findings."""
        self.all: list[Res] = []
        self.contained: dict[int, dict[str, Res]] = {}
        """A container's position -> its contained resources by id."""
        self.by_url: dict[str, list[Res]] = {}
        self.by_type_id: dict[tuple, list[Res]] = {}
        self.contained_ids: set[str] = set()

    def add(self, obj: dict, pointer: str, full_url: str | None, prefetch: bool) -> Res:
        """Index a resource of the document (an entry, the top, a prefetch value) and what it contains."""
        res = Res(obj, pointer, full_url, prefetch, None, len(self.all))
        self.all.append(res)
        self._note(res)
        if full_url is not None:
            self.by_url.setdefault(full_url, []).append(res)
        if res.id is not None:
            self.by_type_id.setdefault((res.type, res.id), []).append(res)
        contained = obj.get("contained")
        if isinstance(contained, list):
            for i, item in enumerate(contained):
                self._add_contained(res, item, pointer_join(pointer_join(pointer, "contained"), i))
        return res

    def _add_contained(self, container: Res, obj: Any, pointer: str) -> None:
        if not isinstance(obj, dict) or not isinstance(obj.get("resourceType"), str):
            self.report("fhir-invalid-structure", "a contained item is not a FHIR resource (no resourceType)", pointer)
            return
        if obj["resourceType"] == "Bundle":
            self.report("fhir-invalid-structure", "a Bundle inside contained is not read", pointer)
            return
        res = Res(obj, pointer, None, container.prefetch, container, len(self.all))
        self.all.append(res)
        self._note(res)
        self.report_nesting(res)
        if res.id is not None:
            self.contained.setdefault(container.position, {}).setdefault(res.id, res)
            self.contained_ids.add(res.id)

    def report_nesting(self, res: Res) -> None:
        """A contained resource holding contained resources (FHIR R4 forbids it). Reported where it is indexed, and
        again (once in the report, counted again) when its resource is examined, so that it leaves it out."""
        if res.container is not None and "contained" in res.obj:
            self.report("fhir-invalid-structure", "a contained resource holds contained resources; FHIR R4 forbids "
                         "it", pointer_join(res.pointer, "contained"))

    def _note(self, res: Res) -> None:
        """Resources that are findings wherever they are: DSTU2 orders, and the request resources not read."""
        data = tables.mapping()
        if res.type in data["earlier_version_resources"]:
            self.report("fhir-earlier-version", f"{res.type} is a DSTU2 resource; FHIR R4 writes a "
                         "MedicationRequest. It is not read", res.pointer)
        elif res.type in data["ignored_resources"] and not res.prefetch:
            self.report("fhir-resource-ignored", f"{res.type} is not an order protovalidate checks; it is passed over",
                         res.pointer)

    def resolve(self, reference: Any, holder: Res) -> tuple[str, Res | None]:
        """What a Reference held by ``holder`` resolves to: (RESOLVED, resource) or (UNRESOLVED | AMBIGUOUS |
        OUTSIDE, None)."""
        if not isinstance(reference, dict):
            return UNRESOLVED, None
        ref = reference.get("reference")
        if not isinstance(ref, str) or not ref:
            return UNRESOLVED, None
        if ref.startswith("#"):
            found = self.contained.get(holder.root.position, {}).get(ref[1:])
            if found is not None:
                return RESOLVED, found
            return (OUTSIDE if ref[1:] in self.contained_ids else UNRESOLVED), None
        if ref.startswith("urn:") or "://" in ref:
            return self._one(self.by_url.get(ref, []))
        parts = ref.split("/")
        if len(parts) == 4 and parts[2] == "_history":
            parts = parts[:2]
        if len(parts) != 2:
            return UNRESOLVED, None
        return self._one(self.by_type_id.get((parts[0], parts[1]), []))

    @staticmethod
    def _one(found: list[Res]) -> tuple[str, Res | None]:
        if not found:
            return UNRESOLVED, None
        first = found[0]
        if any(other.obj != first.obj for other in found[1:]):
            return AMBIGUOUS, None
        return RESOLVED, first  # copies with equal content count as one

    def reference_string(self, reference: Any) -> str | None:
        if isinstance(reference, dict) and isinstance(reference.get("reference"), str):
            return reference["reference"]
        return None
