"""A FHIR document as the pipeline reads it (docs/fhir.md): converted to order-format orders, each element of
which is placed where the FHIR element it came from is written (line, column, FHIR path).

The converter (read/fhir/) answers in JSON pointers into the file; here they become places, and the mapped
orders go through the order-format reader like any JSON-LD file: a FHIR order is judged exactly as the order
it maps to, and each finding points at the FHIR element (docs/fhir.md 7.1). Imported only when a FHIR
document is read.
"""

from __future__ import annotations

from typing import Any

from chemo_protovalidate.model.findings import Finding, Place, Severity, placed
from chemo_protovalidate.read import fhir
from chemo_protovalidate.read.fhir import interface
from chemo_protovalidate.read.jsonld import FORMAT_RULES, JsonDocument, format_finding

_SEVERITY = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO}


def read(text: str, value: Any, project_context: dict, max_administrations: int | None, fhir_map=None,
         arrival_time: str | None = None):
    from chemo_protovalidate.read.documents import Document, _read_json

    places = FilePlaces(text, value)
    conversion = interface.convert(value, fhir_map, max_administrations or 500, arrival_time=arrival_time)
    findings = [issue_finding(issue, places) for issue in conversion.issues]  # one may be at a key R4 lacks
    places.release()  # what is placed from here on is at elements the converter read (FilePlaces.release)
    mapped = [order for order in conversion.orders if order.order is not None]
    unchecked = [(order.label, summary(order, places)) for order in conversion.orders if order.order is None]
    if not mapped:
        return Document(findings, unchecked=unchecked)
    # The checked orders as one JSON-LD document, a list: its pointer /i/... is order i's element. It is never
    # written out: every place in it is asked of ``places``, so its text is not needed.
    synthetic = [order.order for order in mapped]
    document = _read_json("", project_context, max_administrations, loaded=synthetic,
                          places=lambda pointer: _place_in_file(pointer, mapped, places),
                          labels={f"/{i}": order.label for i, order in enumerate(mapped)},
                          extra={f"/{i}": summary(order, places) for i, order in enumerate(mapped)})
    document.findings[:0] = findings
    document.unchecked = unchecked
    return document


def summary(order: fhir.MappedOrder, places: "FilePlaces") -> dict:
    """orders[].fhir of the JSON report (docs/fhir.md): the order's element, its reference time, each request
    with its agent and what became of it, and the patient data used, each with its element."""
    patient = {}
    for key, given in order.patient_data.items():
        shown = {k: v for k, v in given.items() if k != "pointer"}
        shown["path"] = places.path(given["pointer"]) if given.get("pointer") is not None else None
        patient[key] = shown
    return {"path": places.path(order.pointer), "referenceTime": order.reference_time,
            "requests": [{"path": places.path(r.pointer), "agent": r.agent, "status": r.status} for r in order.requests],
            "patientData": patient}


def mapped_orders(text: str, value: Any, fhir_map=None, max_administrations: int = 500) -> tuple[list[dict], list[Finding]]:
    """`protovalidate convert`: the order-format orders a FHIR document maps to, exactly as they are checked
    (orders not checked are absent), and the converter's findings, placed."""
    places = FilePlaces(text, value)
    conversion = interface.convert(value, fhir_map, max_administrations)
    return ([order.order for order in conversion.orders if order.order is not None],
            [issue_finding(issue, places) for issue in conversion.issues])


def xml_not_supported() -> Finding:
    return issue_finding(fhir.Issue("fhir-xml-not-supported", "this is FHIR XML (namespace http://hl7.org/fhir); "
                                    "protovalidate reads FHIR R4 in JSON only (docs/fhir.md)"), None, (1, 1))


def issue_finding(issue: fhir.Issue, places: "FilePlaces | None", place=None) -> Finding:
    """A converter finding at its element: a FHIR rule at its contract level, or one of the order reader's."""
    if places is not None and issue.pointer is not None:
        place = places.at(issue.pointer)
    rule = fhir.fhir_rules().get(issue.rule_id)
    if rule is None:
        return format_finding(issue.rule_id if issue.rule_id in FORMAT_RULES else "not-json", issue.message, place)
    return placed(Finding(rule_id=issue.rule_id, severity=_SEVERITY[rule["level"]], message=issue.message), place)


def _place_in_file(pointer: str, mapped: list, places: "FilePlaces") -> Place | None:
    """Where an element of the mapped orders' text came from: its own FHIR element, else its nearest
    ancestor's (a key the converter did not list, as "/administrations/0/dose/unit")."""
    head, _, rest = pointer.lstrip("/").partition("/")
    try:
        order = mapped[int(head)]
    except (ValueError, IndexError):
        return None
    inside = "/" + rest if rest else ""
    while True:
        if inside in order.places:
            return places.at(order.places[inside])
        if not inside:
            return places.at(order.pointer)
        inside = inside.rpartition("/")[0]


class FilePlaces:
    """Line, column and FHIR path of a JSON pointer of the FHIR file."""

    def __init__(self, text: str, value: Any):
        self._json = JsonDocument(text, data=value)
        self._root = value.get("resourceType") if isinstance(value, dict) else None
        self._released = False
        if not isinstance(self._root, str) or (isinstance(value, dict) and "draftOrders" in
                                               (value.get("context") if isinstance(value.get("context"), dict) else {})):
            self._root = None      # a CDS Hooks body: the path starts with its first key

    def at(self, pointer: str) -> Place | None:
        position = self._json.position(pointer)
        path = self.path(pointer)
        if position is None:
            return None
        return Place(position[0], position[1], path)

    def release(self) -> None:
        """Let the document's value go once it is converted and its own findings placed: the orders are read and
        judged after, and a value of some 250 lists and objects kept alive that long doubled the garbage
        collector's work on a FHIR document (bench/README.md). Every pointer asked after (the orders' summaries,
        their elements' places) is one the converter made of R4 element names and list indices, so a part of
        digits is a list index, and the path is written without walking the value. A CDS Hooks body keeps its
        value: its prefetch keys are names of the service's choosing."""
        if self._root is not None:
            self._json.data = None
            self._released = True

    def path(self, pointer: str) -> str:
        """docs/fhir.md 7.1: Bundle.entry[3].resource.dosageInstruction[0]; a CDS Hooks body's
        context.draftOrders.entry[1].resource; [i] for a list item, .key for a key."""
        parts = [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]] if pointer else []
        path, data = self._root or "", self._json.data
        if self._released:
            return path + "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in parts)
        for part in parts:
            if isinstance(data, list):
                path += f"[{part}]"
                data = data[int(part)] if part.isdigit() and int(part) < len(data) else None
            else:
                path += f".{part}" if path else part
                data = data.get(part) if isinstance(data, dict) else None
        return path
