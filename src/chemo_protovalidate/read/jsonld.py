"""Reading an order document written in JSON-LD, strictly.

Plain JSON-LD processing is too forgiving for a safety check: JSON parsers
keep the last of two equal keys, a key the context does not define vanishes
without a trace, and a string @context is fetched over the network. So the
document is read here first, as JSON, and every such problem becomes a
finding with its line; only then is it handed to rdflib, with the project's
context resolved from the package.

Every node object gets an @id (a blank-node label when it has none) so that
a finding about a node can be traced back to its place in the file.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pyoxigraph as ox

from chemo_protovalidate.model.findings import Finding, Place, Severity, placed
from chemo_protovalidate.model.vocabulary import CONTEXT_V1

# Keywords an order or a node in it may use; any other key must be a term. (@graph only at the top.)
KEYWORDS = {"@context", "@id", "@type"}
ORDER_TYPE = "ChemotherapyOrder"
_LABEL_PREFIX = "pvnode"
_WHOLE_NUMBER_KEYS = {"day", "days", "cycle", "age"}

# The shape of each key's value, as docs/order-format.md gives it: "one" a single JSON value (the rules
# judge its type: a string for a number is not-a-number), "object" a JSON object, "quantity" an object
# {"value", "unit"} (a bare value is quantity-incomplete, judged on the graph, and so are two values
# or units in one: "part"), "objects" a list of objects, "list" one value or a list of them, "text" one
# string (no rule reads a reason's type: an empty object would pass for a reason). A key not listed here (an inline context's own) is free.
_QUANTITY = "quantity"
KEY_SHAPES = {
    "regimen": "one", "cycle": "one", "patient": "object", "administrations": "objects",
    "age": "one", "weight": _QUANTITY, "height": _QUANTITY, "bsa": _QUANTITY, "creatinineClearance": _QUANTITY,
    "neutrophils": _QUANTITY, "platelets": _QUANTITY, "dialysis": "one", "doseBasis": "object",
    "agent": "one", "day": "one", "days": "list", "doseLevel": _QUANTITY, "dose": _QUANTITY, "route": "one",
    "infusionDuration": _QUANTITY, "doseReduction": "object", "reason": "text", "value": "part", "unit": "part",
}
# What the format expects there, in the words a finding uses.
_EXPECTED = {
    "regimen": "one regimen identifier, as \"KRd\"", "cycle": "one whole number", "age": "one whole number (years)",
    "dialysis": "one value, true or false", "agent": "one agent identifier, as \"carfilzomib\"",
    "day": "one cycle day (a whole number; several days go in \"days\")", "route": "one route, as \"IV\"",
    "reason": "a text, as \"grade 2 neuropathy\"",
    "patient": "an object of the patient's data, as {\"weight\": {\"value\": 72, \"unit\": \"kg\"}}",
    "doseBasis": "an object, as {\"weight\": {\"value\": 80, \"unit\": \"kg\"}}",
    "doseReduction": "an object, as {\"reason\": \"neuropathy\"}",
    "administrations": "a list of administration objects",
}
# The keys of the format at each place in an order: a misspelt key is matched against its place's first.
_PLACE_KEYS = {
    "order": ["regimen", "cycle", "patient", "administrations"],
    "patient": ["age", "weight", "height", "bsa", "creatinineClearance", "neutrophils", "platelets", "dialysis",
                "doseBasis"],
    "administration": ["agent", "day", "days", "doseLevel", "dose", "route", "infusionDuration", "doseReduction"],
    "quantity": ["value", "unit"],
    "doseBasis": ["weight", "bsa"],
    "doseReduction": ["reason"],
}
_PLACE_OF_KEY = {"patient": "patient", "administrations": "administration", "doseBasis": "doseBasis",
                 "doseReduction": "doseReduction", **{k: "quantity" for k, v in KEY_SHAPES.items() if v == _QUANTITY}}


class _DuplicateKeys(dict):
    """A JSON object that had the same key more than once."""

    duplicates: list[str]


def _object(pairs):
    obj = dict(pairs)       # in C: the hook runs for every object of a document (a FHIR file has hundreds)
    if len(obj) == len(pairs):
        return obj
    obj = _DuplicateKeys()
    seen = set()
    for key, value in pairs:
        if key in seen:
            obj.duplicates = getattr(obj, "duplicates", []) + [key]
        seen.add(key)
        obj[key] = value
    return obj


class _NonFinite(ValueError):
    pass


def _reject_constant(name: str):
    raise _NonFinite(f"{name} is not a JSON number (NaN and Infinity are not allowed)")


def _finite(text: str) -> float:
    """A JSON number too large for a float (1e400) would become infinity without a word."""
    value = float(text)
    if math.isinf(value):
        raise _NonFinite(f"{text} is too large a number")
    return value


def _integer(text: str) -> int:
    """A JSON integer longer than any float: refused like 1e400 (Python would refuse past 4,300 digits anyway)."""
    if len(text.lstrip("-")) > 309:
        raise _NonFinite(f"{text[:20]}... ({len(text)} digits) is too large a number")
    return int(text)


def pointer_join(pointer: str, key: str | int) -> str:
    # Called for every element of a document (FHIR's structure checks too): the escapes only when needed.
    if type(key) is not str:
        return f"{pointer}/{key}"
    if "~" in key or "/" in key:
        key = key.replace("~", "~0").replace("/", "~1")
    return pointer + "/" + key


@dataclass
class JsonOrder:
    node: str
    """The order's @id as written, or the blank-node label it was given."""
    label: str
    pointer: str
    data: dict | None = None
    """The order with its context resolved and ids given, for rdflib; None when it cannot be converted."""

    @property
    def patient(self) -> str | None:
        """The patient's @id where it is an IRI: orders sharing it are compared (documents.py), each judged
        with its own patient data."""
        patient = (self.data or {}).get("patient")
        node = patient.get("@id") if isinstance(patient, dict) else None
        return node if isinstance(node, str) and not node.startswith("_:") else None


@dataclass
class JsonDocument:
    text: str
    findings: list[Finding] = field(default_factory=list)
    orders: list[JsonOrder] = field(default_factory=list)
    expanded_input: Any = None
    """The document with contexts resolved and ids assigned, for rdflib; None if nothing can be converted."""
    node_pointers: dict[str, list[str]] = field(default_factory=dict)
    """Every place each node (by @id) is written: a shared patient stands in each order."""
    data: Any = None
    _offsets: dict[str, int] | None = None
    _places: Callable[[str], Place | None] | None = None

    def position(self, pointer: str) -> tuple[int, int] | Place | None:
        """1-based line and column of the value at a JSON pointer: where its key starts (an array
        item or the document itself: where its value starts)."""
        if self._places is not None:
            return self._places(pointer)
        if self._offsets is None:
            try:
                self._offsets = _offsets(self.text)
            except (IndexError, ValueError):  # the map is a convenience; a finding without a line is still a finding
                self._offsets = {}
        offset = self._offsets.get(pointer)
        if offset is None:
            return None
        line_start = self.text.rfind("\n", 0, offset) + 1
        return self.text.count("\n", 0, offset) + 1, offset - line_start + 1

    def value_at(self, pointer: str) -> Any:
        data = self.data
        for part in pointer.split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            data = data[int(part)] if isinstance(data, list) else data[part]
        return data


# One token of a JSON text that json.loads has accepted (NaN and Infinity included, as Python reads them).
_TOKEN = re.compile(r'[ \t\n\r]*(?:("(?:[^"\\]|\\.)*")|([{}\[\]:,])|(-?\d[\d.eE+-]*|true|false|null|NaN|-?Infinity))')


def _offsets(text: str) -> dict[str, int]:
    """Where each JSON pointer of a parsed document is written: the offset of its key, or of its value
    for an array item and the root. One regular-expression pass; a file is mapped only when a finding
    needs a place in it (about 0.3 ms for a 1.7 KB order, a quarter of json-source-map's time)."""
    found: dict[str, int] = {}
    open_containers: list[list] = []    # [pointer, is an object, the pending key's pointer or the next index]
    for match in _TOKEN.finditer(text):
        string, mark, _ = match.groups()
        if mark is not None and mark in "]},:":
            if mark in "]}":
                open_containers.pop()
            continue
        start = match.start(1 if string else 2 if mark else 3)
        if not open_containers:
            here = ""
            found[here] = start
        elif open_containers[-1][1]:
            top = open_containers[-1]
            if top[2] is None:          # a key: its value comes next
                key = json.loads(string) if "\\" in string else string[1:-1]
                top[2] = top[0] + "/" + key.replace("~", "~0").replace("/", "~1")
                found[top[2]] = start
                continue
            here, top[2] = top[2], None
        else:
            top = open_containers[-1]
            here = f"{top[0]}/{top[2]}"
            top[2] += 1
            found[here] = start
        if mark == "{":
            open_containers.append([here, True, None])
        elif mark == "[":
            open_containers.append([here, False, 0])
    return found

NOT_LOADED = object()


def load_json(text: str) -> tuple[Any, Finding | None]:
    """The JSON value of a text as every JSON reader here reads it (order format and FHIR alike), or the
    not-json finding: NaN, Infinity and numbers past a float are refused; an object that had a key twice
    is a dict with ``duplicates`` (duplicate_keys)."""
    try:
        return json.loads(text, object_pairs_hook=_object, parse_constant=_reject_constant, parse_float=_finite,
                          parse_int=_integer), None
    except _NonFinite as error:
        line = _line_of(text, re.compile(r"(?<![\w\"])-?(NaN|Infinity|\d[\d.]*[eE]\+?\d{3,}|\d{310,})\b"))
        return NOT_LOADED, format_finding("not-json", str(error), line)
    except json.JSONDecodeError as error:
        return NOT_LOADED, format_finding(
            "not-json", f"not valid JSON: {error.msg} line {error.lineno} column {error.colno}", (error.lineno, error.colno))
    except RecursionError:
        return NOT_LOADED, format_finding("not-json", "the JSON is nested too deeply to be an order")


def duplicate_keys(value: Any) -> list[str]:
    """The keys a JSON object of load_json() had more than once (none for anything else)."""
    return list(getattr(value, "duplicates", []))


def read(text: str, project_context: dict, max_administrations: int | None = None,
         loaded: Any = NOT_LOADED, places: Callable[[str], Place | None] | None = None) -> JsonDocument:
    """The orders of a JSON-LD text. ``loaded``: its value, when the caller has it from load_json already;
    ``places``: where a JSON pointer of the text points in the file the text was made from (a FHIR file:
    the mapped order's elements are placed at the FHIR elements they came from)."""
    doc = JsonDocument(text, _places=places)
    if loaded is NOT_LOADED:
        loaded, finding = load_json(text)
        if finding is not None:
            doc.findings.append(finding)
            return doc
    data = loaded

    doc.data = data
    walker = _Walker(doc, project_context)
    if isinstance(data, list):
        orders = [(item, pointer_join("", i), []) for i, item in enumerate(data)]
        top_contexts: list = []
    elif isinstance(data, dict) and "@graph" in data:
        walker.check_keys(data, "", {}, allowed_keywords={"@context", "@graph"})
        top_contexts = walker.resolve(data.get("@context"), pointer_join("", "@context"))
        graph = data["@graph"] if isinstance(data["@graph"], list) else [data["@graph"]]
        orders = [(item, pointer_join(pointer_join("", "@graph"), i), top_contexts) for i, item in enumerate(graph)]
    elif isinstance(data, dict):
        orders = [(data, "", [])]
        top_contexts = []
    else:
        orders, top_contexts = [], []

    converted = []
    seen_ids: dict[str, str] = {}
    for index, (order, pointer, inherited) in enumerate(orders, start=1):
        if not isinstance(order, dict):
            doc.findings.append(format_finding("no-order", f"item {index} of the file is not an order object",
                                         doc.position(pointer)))
            continue
        administrations = order.get("administrations")
        count = len(administrations) if isinstance(administrations, list) else 1
        if max_administrations is not None and count > max_administrations:
            # Refused before anything walks or maps the order: a huge order costs more to read than to refuse.
            given = order.get("@id")
            label = given if isinstance(given, str) and not given.startswith("_:") else f"order {index}"
            seen_ids.setdefault(f"{given}" if given is not None else f"_:item{index}", pointer)
            doc.findings.append(order_too_large(label, count, max_administrations,
                                                _nth_key_line(text, "administrations", index - 1)))
            continue
        usable = walker.order(order, pointer, inherited, index)
        node = order["@id"]
        label = node if not node.startswith("_:") else f"order {index}"
        if node in seen_ids:
            # Merged into one RDF node, the two would be judged as one wrong order: judge the first only.
            doc.findings.append(format_finding(
                "duplicate-order-id", f"two orders in this file have the @id {node}; each order needs its own "
                f"(item {index} is not checked)", doc.position(pointer_join(pointer, "@id"))))
            continue
        seen_ids[node] = pointer
        if usable and _names_a_context(order):
            doc.findings.append(format_finding(
                "remote-context", "the order names a context that is not resolved here; it was not checked",
                doc.position(pointer)))
            usable = False
        doc.orders.append(JsonOrder(node, label, pointer, order if usable else None))
        if usable:
            converted.append(order)
    if not seen_ids:  # every order object, checked or not
        doc.findings.append(format_finding("no-order", "the file holds no order (an object with \"@type\": \"ChemotherapyOrder\")", (1, 1)))
    doc.findings.extend(walker.findings)
    doc.expanded_input = converted or None
    return doc


class _Walker:
    """Checks keys against the context in force and gives every node an id."""

    def __init__(self, doc: JsonDocument, project_context: dict):
        self.doc = doc
        self.project_context = project_context
        self.findings: list[Finding] = []
        self.usable = True
        self.next_label = 0
        self.used_ids: set[str] = set()

    def add(self, rule: str, message: str, pointer: str):
        self.findings.append(format_finding(rule, message, self.doc.position(pointer)))

    def order(self, order: dict, pointer: str, inherited: list, index: int = 1) -> bool:
        """Checks one order; False if it cannot be turned into RDF at all."""
        self.usable = True
        given = order.get("@id")
        self.order_label = given if isinstance(given, str) and given and not given.startswith("_:") else f"order {index}"
        own = self.resolve(order.get("@context"), pointer_join(pointer, "@context")) if "@context" in order else []
        contexts = inherited + own
        if not contexts:
            if "@context" not in order:
                self.add("missing-context", "the order has no @context: it needs "
                         f"\"@context\": \"{CONTEXT_V1}\"", pointer)
            elif self.usable:  # an empty one ([], null); a refused one has its finding already
                self.add("missing-context", f"the order's @context is empty: it needs \"{CONTEXT_V1}\"",
                         pointer_join(pointer, "@context"))
            self.usable = False
        if "@type" not in order:
            self.add("order-missing-type", f"the order has no @type: it needs \"@type\": \"{ORDER_TYPE}\"", pointer)
        elif order["@type"] != ORDER_TYPE:
            self.add("order-missing-type", f"the order's @type is {json.dumps(order['@type'])}; it must be \"{ORDER_TYPE}\"",
                     pointer_join(pointer, "@type"))
        if not self.usable:
            # Without its context no key of the order means anything: checking them would only add noise.
            self.assign_ids(order, pointer)
            return False
        order["@context"] = contexts if len(contexts) > 1 else contexts[0]
        self.node(order, pointer, self.terms(contexts), is_order=True, place="order", where=self.order_label)
        return self.usable

    def resolve(self, context: Any, pointer: str) -> list:
        """The context as objects: the project's IRI resolved from the package, anything remote refused."""
        if context is None:
            return []
        if isinstance(context, list):
            return [c for i, item in enumerate(context) for c in self.resolve(item, pointer_join(pointer, i))]
        if isinstance(context, str):
            if context == CONTEXT_V1:
                return [self.project_context]
            self.add("remote-context", f"the context {context!r} is not the project's context; "
                     "protovalidate never fetches a context over the network", pointer)
            self.usable = False
            return []
        if isinstance(context, dict):
            self.check_inline_context(context, pointer)
            return [context]
        self.add("invalid-context", f"@context must be the project's context IRI or an object, not {json.dumps(context)}", pointer)
        self.usable = False
        return []

    def check_inline_context(self, context: dict, pointer: str):
        for key, definition in context.items():
            if key == "@import":
                self.add("remote-context", f"@import {definition!r} would load a context over the network", pointer_join(pointer, key))
                self.usable = False
            elif key in self.project_context and definition != self.project_context[key]:
                self.add("context-override", f"the inline context redefines the project's term {key!r}; "
                         "the order format's terms cannot be changed", pointer_join(pointer, key))
                self.usable = False
            elif not _term_definition(definition):
                self.add("invalid-context", f"the inline context defines {key!r} as {json.dumps(definition)}: a term "
                         "is an IRI or an object of JSON-LD keywords whose @id is one", pointer_join(pointer, key))
                self.usable = False
            elif isinstance(definition, dict) and "@context" in definition:
                definition["@context"] = self.resolve(definition["@context"],
                                                      pointer_join(pointer_join(pointer, key), "@context"))

    @staticmethod
    def terms(contexts: list) -> dict[str, Any]:
        defined: dict[str, Any] = {}
        for context in contexts:
            for term, definition in context.items():
                if term.startswith("@"):
                    continue
                iri = definition.get("@id", "") if isinstance(definition, dict) else definition
                # A bare prefix ("pv") is not a key an order may use; a null definition drops the key.
                if isinstance(iri, str) and iri and not iri.endswith(("#", "/")):
                    defined[term] = definition
        return defined

    def check_keys(self, node: dict, pointer: str, terms: dict, allowed_keywords=KEYWORDS,
                   place: str | None = None, where: str | None = None):
        for key in node:
            if key.startswith("@"):
                if key not in allowed_keywords:
                    self.add("undefined-key", f"the JSON-LD keyword {key!r} is not used by order documents", pointer_join(pointer, key))
                    # @list, @reverse, @nest ... would build RDF the rules were not written for: judge nothing.
                    self.usable = False
            elif key not in terms:
                self.add("undefined-key", f"{where or 'the document'}: {json.dumps(key)} is not a key of the order "
                         f"format, so it is not read{_nearest(key, place, terms)}", pointer_join(pointer, key))
        for key in getattr(node, "duplicates", []):
            self.add("duplicate-key", f"the key {key!r} appears more than once in one object "
                     "(a JSON parser keeps only the last)", pointer_join(pointer, key))

    def assign_ids(self, node: dict, pointer: str):
        if "@id" not in node:
            self.next_label += 1
            while f"_:{_LABEL_PREFIX}{self.next_label}" in self.used_ids:
                self.next_label += 1
            node["@id"] = f"_:{_LABEL_PREFIX}{self.next_label}"
        elif not isinstance(node["@id"], str) or not _node_id(node["@id"]):
            what = json.dumps(node["@id"]) if not isinstance(node["@id"], str) else repr(node["@id"])
            self.add("invalid-id", f"@id must be an absolute IRI (urn:..., https://...) or a blank node (_:name), "
                     f"not {what}", pointer_join(pointer, "@id"))
            node["@id"] = f"_:{_LABEL_PREFIX}invalid{len(self.used_ids)}"
        self.used_ids.add(node["@id"])
        self.doc.node_pointers.setdefault(node["@id"], []).append(pointer)

    def node(self, node: dict, pointer: str, terms: dict, is_order: bool = False, place: str | None = None,
             where: str | None = None):
        if "@context" in node and not is_order:  # a context nested below the order
            nested = self.resolve(node["@context"], pointer_join(pointer, "@context"))
            node["@context"] = nested
            terms = {**terms, **self.terms(nested)}
        self.check_keys(node, pointer, terms, place=place, where=where)
        self.assign_ids(node, pointer)
        if "day" in node and "days" in node:
            self.add("day-and-days", "the administration has both \"day\" and \"days\": give one of them", pointer_join(pointer, "days"))
        for key in list(node):
            if key.startswith("@"):
                continue
            value = node[key]
            child_pointer = pointer_join(pointer, key)
            if key in _WHOLE_NUMBER_KEYS:
                node[key] = value = _whole_numbers(value)
            if key == "days" and isinstance(value, list):
                repeated = sorted({d for d in value if isinstance(d, int) and value.count(d) > 1})
                if repeated:
                    self.add("repeated-day", f"day {', '.join(map(str, repeated))} is listed more than once in \"days\"", child_pointer)
            definition = terms.get(key)
            scoped = terms
            if isinstance(definition, dict) and "@context" in definition:
                scoped = {**terms, **self.terms(self.resolve(definition["@context"], child_pointer))}
            if key in terms and terms[key] == self.project_context.get(key):  # the format's own key
                self.check_shape(key, value, child_pointer, where)
                if KEY_SHAPES.get(key) == "objects" and not isinstance(value, dict):
                    # A text or a number in place of an administration is no administration: the graph
                    # would hold a value where every rule expects a node, and each would say so unplaced.
                    # (The objects keep their places in the file: the list is replaced, not the pointers.)
                    node[key] = [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
            child_place = _PLACE_OF_KEY.get(key)
            for number, (item_pointer, item) in enumerate(_items(child_pointer, value), start=1):
                if isinstance(item, dict) and "@value" not in item:
                    self.node(item, item_pointer, scoped, place=child_place,
                              where=_where(where, key, item, number if isinstance(value, list) else None))

    def check_shape(self, key: str, value, pointer: str, where: str | None):
        """A value of the wrong shape for its key (a string where an object is expected, a list where one
        value is): the graph would carry it, and the rules would read it as something else, or not at all."""
        shape = KEY_SHAPES.get(key)
        if shape is None:
            return
        about = f"{where}: " if where else ""
        if shape in ("one", "text", _QUANTITY, "object") and isinstance(value, list):
            expected = _EXPECTED.get(key, 'one quantity, as {"value": 72, "unit": "kg"}')
            self.add("wrong-shape", f"{about}{json.dumps(key)} is a list ({_shown(value)}), but the order format "
                     f"expects {expected}", pointer)
        elif shape == "object" and not isinstance(value, dict):
            self.add("wrong-shape", f"{about}{json.dumps(key)} is {_kind(value)} ({_shown(value)}), but the order "
                     f"format expects {_EXPECTED[key]}", pointer)
        elif shape == "text" and value is not None and not isinstance(value, str):
            self.add("wrong-shape", f"{about}{json.dumps(key)} is {_kind(value)} ({_shown(value)}), but the order "
                     f"format expects {_EXPECTED[key]}", pointer)
        elif shape == "objects" and not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
            self.add("wrong-shape", f"{about}{json.dumps(key)} is {_kind(value)} ({_shown(value)}), but the order "
                     f"format expects {_EXPECTED[key]}", pointer)


def _where(where: str | None, key: str, item: dict, number: int | None) -> str | None:
    """Where a node sits, as a finding names it: "order X, administration 2 (carfilzomib)"."""
    if key == "administrations":
        agent = item.get("agent")
        named = f" ({agent})" if isinstance(agent, str) else ""
        return f"{where}, administration {number or 1}{named}"
    if key in ("patient", "doseBasis", "doseReduction"):
        return f"{where}, {'the patient' if key == 'patient' else key}"
    return f"{where}, {key}" if where else key


def _nearest(key: str, place: str | None, terms: dict) -> str:
    """The format's key nearest to a misspelt one: its place's keys first, then any key the context defines."""
    for candidates in (_PLACE_KEYS.get(place or "", []), sorted(terms)):
        match = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
        if not match:
            match = [c for c in candidates if c.lower() == key.lower()]
        if match:
            return f"; did you mean {json.dumps(match[0])}?"
    keys = _PLACE_KEYS.get(place or "")
    return f" (the keys here are {', '.join(keys)})" if keys else ""


def _kind(value) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, (int, float)):
        return "a number"
    if value is None:
        return "null"
    return "a list" if isinstance(value, list) else "an object"


def _shown(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _items(pointer: str, value) -> Iterator[tuple[str, Any]]:
    """A key's values with their pointers; JSON-LD flattens arrays nested in arrays, and so does this."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _items(pointer_join(pointer, index), item)
    else:
        yield pointer, value


def _names_a_context(value) -> bool:
    """Whether a context given by name (a string) is left anywhere: rdflib would fetch it."""
    if isinstance(value, dict):
        return any((key == "@context" and (isinstance(item, str) or
                                           (isinstance(item, list) and any(isinstance(i, str) for i in item))))
                   or _names_a_context(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_names_a_context(item) for item in value)
    return False


def _whole_numbers(value):
    """1.0 counts as 1 where the contract asks for whole numbers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


def _nth_key_line(text: str, key: str, nth: int) -> tuple[int, int] | None:
    """Where the nth occurrence of a key is written, found in the text: mapping a huge file costs too much."""
    for number, match in enumerate(re.finditer(rf'"{re.escape(key)}"\s*:', text)):
        if number == nth:
            before = text[:match.start()]
            return before.count("\n") + 1, match.start() - (before.rfind("\n") + 1) + 1
    return None


def _line_of(text: str, pattern: re.Pattern) -> tuple[int, int] | None:
    match = pattern.search(text)
    if not match:
        return None
    before = text[:match.start()]
    return before.count("\n") + 1, match.start() - (before.rfind("\n") + 1) + 1


# The rules the readers themselves apply: the document side of the order contract.
FORMAT_RULES = {
    "not-json": "The file is not valid JSON (or uses NaN or Infinity, which JSON does not have).",
    "not-rdf": "The file is not valid RDF in the syntax its name or content suggests.",
    "no-order": "The file holds no order, or an item of it is not an order object.",
    "missing-context": "An order needs the project's @context.",
    "remote-context": "A context other than the project's would have to be fetched over the network: never done.",
    "invalid-context": "A @context value that is neither the project's context IRI nor an object.",
    "context-override": "An inline context may add terms, never redefine the order format's own.",
    "undefined-key": "A key that is not a key of the order format, nor of an inline context (it would not be read).",
    "wrong-shape": "A value of the wrong shape for its key: a text or a number where an object is expected, a list where one value is.",
    "duplicate-key": "The same key twice in one JSON object (a parser would keep only the last).",
    "order-missing-type": "An order's @type is ChemotherapyOrder.",
    "duplicate-order-id": "Two orders in one file with the same @id.",
    "invalid-id": "An @id that is not an absolute IRI or a blank-node name.",
    "day-and-days": "An administration gives both day and days.",
    "repeated-day": "A day listed twice in one administration's days.",
    "unreadable-file": "The file could not be read as text (not UTF-8).",
    "file-too-large": "The file is larger than --max-bytes allows.",
    "order-too-large": "An order has more administrations than --max-administrations allows.",
    "remote-import": "An RDF order imports another document (owl:imports): never fetched.",
}


def format_finding(rule: str, message: str, position: tuple[int, int] | Place | None = None) -> Finding:
    assert rule in FORMAT_RULES, rule
    return placed(Finding(rule_id=rule, severity=Severity.ERROR, message=message), position)


def order_too_large(label: str, count: int, limit: int, position: tuple[int, int] | None = None) -> Finding:
    """The rules' cost grows with the administrations of an order: past any real cycle, the order is not checked."""
    return format_finding("order-too-large", f"{label} has {count} administrations, more than the {limit} one cycle "
                                             "can hold (--max-administrations); it was not checked", position)


def _term_definition(definition: Any) -> bool:
    """A term definition an order may give: an IRI, null, or an object of keywords with its @id (IRI or null).

    Stricter than JSON-LD, which also builds an IRI from @vocab: the converter's error for a definition
    without one names a term picked at random, and a report must read the same in every run.
    """
    if definition is None or isinstance(definition, str):
        return True
    return (isinstance(definition, dict) and "@id" in definition and isinstance(definition["@id"], (str, type(None)))
            and all(key.startswith("@") for key in definition))


def _node_id(value: str) -> bool:
    """An @id RDF can hold: an absolute IRI or a blank-node name (a relative one would vanish in conversion)."""
    try:
        if value.startswith("_:"):
            ox.BlankNode(value[2:])
        else:
            ox.NamedNode(value)
    except ValueError:
        return False
    return True
