"""The structure checks of docs/fhir.md section 6 on one element and what it holds: keys R4 does not define,
lists written as single values, values R4 does not allow, required elements missing, modifiers, and the shape and
place of the project's and the days extensions (5.1, 3.5). Every finding goes through ``report``; the checks
never raise and never change the document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from chemo_protovalidate.read.fhir import tables
from chemo_protovalidate.read.jsonld import duplicate_keys, pointer_join

Report = Callable[..., None]
"""report(rule_id, message, pointer, counts=True): counts=False for a finding that does not make its resource
erroneous (a patient-data extension's: that key is not used, the request still is)."""

MAX_DEPTH = 64
"""Nesting past this is no FHIR an order-entry system writes; the checks stop there rather than recurse on."""

PATIENT_DATA_EXTENSIONS = frozenset({"dialysis", "dose-basis"})

_ELEMENTS = tables.elements()  # this module is imported only when a FHIR document is read


def check(value: Any, type_name: str, pointer: str, report: Report, depth: int = 0) -> None:
    """Check ``value`` as an element of ``type_name`` (a key of r4-elements.json), and what it holds."""
    # Run on every element of a document (some 270 for an order of nine requests): one lookup per key, and
    # the rarer checks only where their keys are present.
    if depth > MAX_DEPTH:
        report("fhir-invalid-structure", f"{type_name} is nested more than {MAX_DEPTH} deep; it is not read", pointer)
        return
    if not isinstance(value, dict):
        report("fhir-invalid-value", f"{type_name} is written as {_kind(value)}; FHIR R4 wants an object", pointer)
        return
    spec = _ELEMENTS[type_name]
    if type(value) is not dict:  # only an object of load_json can have had a key twice
        for key in duplicate_keys(value):
            report("duplicate-key", f"{type_name} has the key {key!r} twice; JSON objects need unique keys",
                   pointer_join(pointer, key))
    plan, plain = spec.plan, spec.plain
    days_carriers = _DAYS_CARRIERS() if type_name == "RequestGroup.action" else ()
    plain_carriers = None  # which of its extensions are days carriers of the plain shape
    for key, item in value.items():
        as_is = plain.get(key)
        if as_is is not None and type(item) in as_is and item != "":
            continue  # most keys: a single primitive whose value needs no grammar
        step = plan.get(key)
        if step is None:
            _unknown_key(key, spec, type_name, pointer, report)
            continue
        is_list, child_type, primitive, as_is = step
        # R4's element names hold neither '~' nor '/': the pointer needs no escaping.
        if is_list:
            if type(item) is list:
                if child_type is not None:
                    flat = FLAT.get(child_type)
                    if flat is not None and depth + flat.height > MAX_DEPTH:
                        flat = None
                    for i, each in enumerate(item):
                        if flat is not None and is_plain_element(each, flat):
                            continue  # a Coding, an Extension, a Dosage of plain values: what the check would pass
                        if days_carriers and key == "extension" and type(each) is dict \
                                and tables.string(each.get("url")) in days_carriers:
                            continue  # an action's days carrier is its request's: checked when the request is read
                        if child_type == "Extension" and is_plain_days_carrier(each) and depth + 1 < MAX_DEPTH:
                            if key == "extension":
                                plain_carriers = plain_carriers or set()
                                plain_carriers.add(i)
                            continue  # a list of {"url": "day", "valueInteger": 8}: what the check would pass
                        check(each, child_type, f"{pointer}/{key}/{i}", report, depth + 1)
                elif primitive is not None:
                    for i, each in enumerate(item):
                        if type(each) not in as_is or each == "":
                            _check_primitive(each, primitive, type_name, key, f"{pointer}/{key}/{i}", report)
                continue
            report("fhir-not-an-array", f"{type_name}.{key} is written as {_kind(item)}; FHIR R4 writes it as a list "
                   "(JSON array)", pointer + "/" + key)
        elif type(item) is list:
            report("fhir-invalid-value", f"{type_name}.{key} is a list; FHIR R4 allows one value there",
                   pointer + "/" + key)
            continue
        if child_type is not None:
            flat = FLAT.get(child_type)
            if flat is None or depth + flat.height > MAX_DEPTH or not is_plain_element(item, flat):
                check(item, child_type, pointer + "/" + key, report, depth + 1)
        elif primitive is not None and (type(item) not in as_is or item == ""):
            _check_primitive(item, primitive, type_name, key, pointer + "/" + key, report)
    present = value.keys()
    for alternatives in spec.required:
        if present.isdisjoint(alternatives):
            report("fhir-required-missing", f"{type_name} has no {' or '.join(alternatives)}, which FHIR R4 "
                   "requires and the converter needs", pointer)
    for names, name_set in spec.choices:
        if len(present & name_set) > 1:
            given = [name for name in names if name in value]
            report("fhir-invalid-value", f"{type_name} has {' and '.join(given)}; FHIR R4 allows one of a choice "
                   "element", pointer_join(pointer, given[1]))
    if not present.isdisjoint(_RARE_KEYS):
        _check_rare_keys(value, type_name, pointer, report, depth, plain_carriers or ())


def is_plain_days_carrier(value: Any) -> bool:
    """A days carrier that check(value, "Extension") passes without a finding (short of MAX_DEPTH) and whose
    days need no check of their own: a plain object of exactly a non-empty url and a non-empty list of day
    Extensions of a whole number ({"url": ..., "extension": [{"url": "day", "valueInteger": 8}, ...]}), the
    shape of nearly every carrier, whichever its url."""
    subs = _plain_carrier_subs(value)
    return subs is not None and are_plain_days(subs)


def _plain_carrier_subs(value: Any) -> list | None:
    """The sub-extensions of a plain object of exactly a non-empty url and a non-empty list of them, else None."""
    if type(value) is not dict or len(value) != 2 or type(value.get("url")) is not str or value["url"] == "":
        return None
    subs = value.get("extension")
    return subs if type(subs) is list and subs else None


def plain_days(carrier: Any, pointer: str) -> dict | None:
    """The days of a carrier of the plain shape (is_plain_days_carrier) with no day twice, in one walk: day -> the
    pointer of its day sub-extension; None for any other carrier, which is read the long way."""
    subs = _plain_carrier_subs(carrier)
    if subs is None:
        return None
    base = pointer + "/extension"
    days: dict = {}
    for i, sub in enumerate(subs):  # are_plain_days' test of a day, inline: some 150 days an order, walked once
        if type(sub) is not dict or len(sub) != 2 or sub.get("url") != "day":
            return None
        day = sub.get("valueInteger")
        if type(day) is not int or day in days:
            return None
        days[day] = f"{base}/{i}"
    return days


def are_plain_days(subs: Any) -> bool:
    """A non-empty list of day Extensions each exactly {"url": "day", "valueInteger": <a whole number>}, plain
    objects: the days of a plain carrier, which neither the Extension check nor the days' shape check faults."""
    if type(subs) is not list or not subs:
        return False
    for sub in subs:  # a loop, not all() over a generator: some 150 days an order
        if type(sub) is not dict or len(sub) != 2 or sub.get("url") != "day" or type(sub.get("valueInteger")) is not int:
            return False
    return True


def is_plain_element(value: Any, flat: "Flat") -> bool:
    """An element of a type in FLAT that check() passes without a finding (short of MAX_DEPTH): a plain object
    (no key twice) whose every key holds one primitive value of a JSON type that primitive takes as it is (not
    ""), or such elements (a CodeableConcept's codings, a Dosage's doseAndRate), with its required elements and
    at most one of each choice, and no modifier or extension (their checks are _check_rare_keys'). Some 110 of
    an order's 140 elements are (Codings, CodeableConcepts, Quantities, References, Dosages, Extensions)."""
    if type(value) is not dict:
        return False
    plain, children = flat.plain, flat.children
    for key, item in value.items():
        as_is = plain.get(key)
        if as_is is not None:
            if type(item) in as_is and item != "":
                continue
            return False
        child = children.get(key)
        if child is None:
            if flat.opaque.get(key) is (type(item) is list):
                continue  # a key check() looks no deeper into (a Bundle entry's resource), a list just where R4 has one
            return False
        is_list, child_flat = child
        if not is_list:
            if is_plain_element(item, child_flat):
                continue
            return False
        if type(item) is not list:
            return False
        for each in item:
            if not is_plain_element(each, child_flat):
                return False
    if flat.required or flat.choices:
        present = value.keys()
        for alternatives in flat.required:
            if present.isdisjoint(alternatives):
                return False
        for _, names in flat.choices:
            if len(present & names) > 1:
                return False
    return True


_RARE_KEYS = frozenset({"modifierExtension", "implicitRules", "doNotPerform", "extension"})


@dataclass(frozen=True)
class Flat:
    """What is_plain_element accepts of one element type, worked out once from its ElementSpec."""

    plain: dict
    """ElementSpec.plain less the modifiers (implicitRules, doNotPerform): key -> the JSON types its one primitive
    takes as they are."""
    children: dict
    """Key -> (is a list, the Flat of its type, one level less deep), for each complex child but the extensions."""
    opaque: dict
    """Key -> is a list, for each key of neither a type nor a primitive (a Bundle entry's resource, checked as a
    resource of its own): check() asks only that it be a list where R4 has a list, a single value elsewhere."""
    required: tuple
    choices: tuple
    height: int
    """The levels of elements it stands for, itself included, which must not take an element past MAX_DEPTH."""


FLAT_LEVELS = 4
"""How deep is_plain_element looks: a Dosage, its doseAndRate, their CodeableConcepts, their Codings."""


def _flat_types() -> dict[str, Flat]:
    # Every type but the action, whose days carriers are special; keys of _RARE_KEYS are never flat (an element
    # with a modifier or an extension goes through check(), whose _check_rare_keys they need).
    specs = {name: spec for name, spec in _ELEMENTS.items() if name != "RequestGroup.action"}

    def flat(spec: tables.ElementSpec, below: dict[str, Flat]) -> Flat:
        children = {key: (is_list, below[child]) for key, (is_list, child, _, _) in spec.plan.items()
                    if child in below and key not in _RARE_KEYS}
        opaque = {key: is_list for key, (is_list, child, primitive, _) in spec.plan.items()
                  if child is None and primitive is None and key not in _RARE_KEYS}
        return Flat({key: as_is for key, as_is in spec.plain.items() if key not in _RARE_KEYS}, children, opaque,
                    spec.required, spec.choices, 1 + max((f.height for _, f in children.values()), default=0))

    level: dict[str, Flat] = {}
    for _ in range(FLAT_LEVELS):
        level = {name: flat(spec, level) for name, spec in specs.items()}
    return level


FLAT = _flat_types()
"""The element types with a fast path (is_plain_element): type name -> Flat."""


def _check_rare_keys(value: dict, type_name: str, pointer: str, report: Report, depth: int,
                     plain_carriers=()) -> None:
    """The modifiers FHIR forbids ignoring, and the extensions' places and shapes (``plain_carriers``: the
    indexes of the extensions that are days carriers of the plain shape, found by check()'s key loop)."""
    if "modifierExtension" in value:
        report("fhir-modifier-not-understood", f"{type_name} has a modifierExtension; FHIR forbids ignoring a "
               "modifier the reader does not understand", pointer_join(pointer, "modifierExtension"))
    if "implicitRules" in value:
        report("fhir-modifier-not-understood", f"{type_name} has implicitRules; FHIR forbids ignoring them",
               pointer_join(pointer, "implicitRules"))
    if value.get("doNotPerform") is True:
        report("fhir-modifier-not-understood", f"{type_name}.doNotPerform is true: this request forbids what it "
               "names, which no order format can say", pointer_join(pointer, "doNotPerform"))
    if "extension" in value:
        _check_extensions(value["extension"], type_name, pointer_join(pointer, "extension"), report, depth,
                          plain_carriers)


def _DAYS_CARRIERS() -> frozenset:
    days = tables.mapping()["days_carriers"]
    return frozenset({days["core"], days["nz"]})


def _unknown_key(key: str, spec: tables.ElementSpec, type_name: str, pointer: str, report: Report) -> None:
    if key.startswith("_") and key[1:] in spec.keys:
        return  # a primitive's id and extensions
    child = pointer_join(pointer, key)
    if key in spec.earlier_version:
        report("fhir-earlier-version", f"{type_name}.{key} is the STU3 shape; R4 writes it in "
               f"dosageInstruction[].doseAndRate[].{key}", child)
    else:
        report("fhir-unknown-element", f"{type_name} has the key {key!r}, which FHIR R4 does not define there (a "
               "misspelt element is never read)", child)


def _check_primitive(value: Any, primitive: str, type_name: str, key: str, pointer: str, report: Report) -> None:
    problem = primitive_problem(value, primitive)
    if problem:
        report("fhir-invalid-value", f"{type_name}.{key} is {problem}; FHIR R4 wants {_WANTS[primitive]}", pointer)


_WANTS = {
    "string": "a non-empty string", "code": "a non-empty string", "uri": "a non-empty string",
    "id": "an id of 1 to 64 letters, digits, '-' and '.'", "boolean": "true or false",
    "integer": "a whole number", "positiveInt": "a whole number of at least 1",
    "unsignedInt": "a whole number of at least 0",
    "decimal": "a number", "date": "a date (YYYY, YYYY-MM or YYYY-MM-DD)",
    "dateTime": "a dateTime (a date, or a date and time with seconds and a zone)",
    "instant": "an instant (date, time with seconds, and a zone)",
}


_STRINGS = frozenset({"string", "code", "uri", "id", "date", "dateTime", "instant"})
_GRAMMARS = {"id": tables.ID, "date": tables.DATE, "dateTime": tables.DATE_TIME, "instant": tables.INSTANT}


def primitive_problem(value: Any, primitive: str) -> str | None:
    """What is wrong with a primitive value ("written as a number", ...), or None."""
    kind = type(value)
    if primitive in _STRINGS:
        if kind is not str:
            return f"written as {_kind(value)}"
        if not value:
            return "an empty string"
        grammar = _GRAMMARS.get(primitive)
        if grammar is not None and grammar.fullmatch(value) is None:
            return f"{value!r}"
        return None
    if primitive == "boolean":
        return None if kind is bool else f"written as {_kind(value)}"
    if kind is not int and kind is not float:
        return f"written as {_kind(value)}"
    if primitive == "decimal":
        return None
    if kind is float and not value.is_integer():
        return f"{value}, a number with a fraction"
    if primitive == "positiveInt" and value < 1:
        return f"{value}"
    if primitive == "unsignedInt" and value < 0:
        return f"{value}"
    return None


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _check_extensions(extensions: Any, type_name: str, pointer: str, report: Report, depth: int,
                      plain_carriers=()) -> None:
    """Each extension as an Extension; the project's and the days extensions in their place and shape."""
    if not isinstance(extensions, list):
        return  # reported as fhir-not-an-array by the caller's key loop
    data = tables.mapping()
    project = data["project_extensions"]
    days = data["days_carriers"]
    seen: dict[str, int] = {}
    for i, extension in enumerate(extensions):
        if not isinstance(extension, dict):
            continue  # reported as fhir-invalid-value by the key loop
        url = extension.get("url")
        if not isinstance(url, str):
            continue
        at = f"{pointer}/{i}"
        if url in (days["core"], days["nz"]):
            if type_name != "RequestGroup.action":
                report("fhir-extension-misplaced", f"the days extension {url} is on {type_name}; it is read only on "
                       "the RequestGroup action that references the MedicationRequest", at)
            continue  # its shape is the request's (read with its days)
        name = project.get(url)
        if name is None:
            continue  # extensions this contract does not name are passed over (FHIR allows it)
        if type_name not in data["extensions"][name]["on"]:
            report("fhir-extension-misplaced", f"the extension {name} is on {type_name}; it is read only on "
                   f"{' and '.join(data['extensions'][name]['on'])}", at)
            continue
        counts = name not in PATIENT_DATA_EXTENSIONS
        seen[name] = seen.get(name, 0) + 1
        if seen[name] == 2:
            report("fhir-invalid-extension", f"{type_name} has the extension {name} more than once; it may have "
                   "it once", at, counts=counts)
        # A cycle-days carrier of the plain shape has none (sub_extension_problem): its days are not walked again.
        problem = None if name == "cycle-days" and i in plain_carriers else extension_problem(extension, name)
        if problem:
            report("fhir-invalid-extension", f"the extension {name} {problem}", at, counts=counts)


def extension_problem(extension: dict, name: str) -> str | None:
    """What is wrong with the shape of a project extension (5.1), or None."""
    spec = tables.mapping()["extensions"][name]
    values = [key for key in extension if key.startswith("value")]
    subs = extension.get("extension")
    if "value" in spec:
        if subs is not None:
            return f"has sub-extensions; it wants only {' or '.join(spec['value'])}"
        if len(values) != 1 or values[0] not in spec["value"]:
            found = ", ".join(values) or "no value"
            return f"has {found}; it wants {' or '.join(spec['value'])}"
        return None  # the value's own type is the Extension check's (fhir-invalid-value)
    if values:
        return f"has {', '.join(values)}; it wants only sub-extensions {', '.join(spec['sub'])}"
    return sub_extension_problem(subs, spec["sub"], name == "cycle-days", name == "dose-basis")


def sub_extension_problem(subs: Any, allowed: list, days: bool, once_each: bool) -> str | None:
    """The shape of a days carrier (sub-extensions day, valueInteger, 1..*) or of dose-basis (weight, bsa, each
    valueQuantity, each at most once)."""
    if days and are_plain_days(subs):
        return None  # the shape of nearly every carrier
    if not isinstance(subs, list) or not subs:
        return f"has no sub-extensions; it wants {', '.join(allowed)}"
    seen = set()
    want = "valueInteger" if days else "valueQuantity"
    for sub in subs:
        if not isinstance(sub, dict):
            return "has a sub-extension that is not an object"
        url = sub.get("url")
        if url not in allowed:
            return f"has a sub-extension {url!r}; it allows only {', '.join(allowed)}"
        if once_each and url in seen:
            return f"has the sub-extension {url} twice"
        seen.add(url)
        if len(sub) == 2 and want in sub:
            continue  # its url and the value it wants: the shape of nearly every day
        values = [key for key in sub if key.startswith("value")]
        if values != [want] or sub.get("extension") is not None:
            return f"has a sub-extension {url} with {', '.join(values) or 'no value'}; it wants {want}"
    return None  # a day's own type is the Extension check's (fhir-invalid-value)
