"""Hypothesis strategies for tests/test_fuzz.py: hostile order documents.

Every strategy draws a `Doc`: a file name (its suffix picks the reader) and
the file's bytes. Three families:

- `structured_documents`: orders built from the contract's keys
  (order-format.md), each value plausible most of the time and wild the rest
  (wrong types, NaN-looking strings, huge, negative and zero numbers, 1e308,
  empty lists, objects where scalars belong, unknown keys, duplicate keys,
  unknown regimens, agents and units, days 0/29/1.5, long and non-ASCII
  strings, every kind of @context), written as JSON text by hand so that a key
  can appear twice and NaN or 1e400 can appear at all;
- `byte_mutations` and `json_mutations`: the example orders of
  examples/orders, mutated byte by byte (truncate, flip, insert, delete,
  splice two files) or as JSON (delete a key, replace a value, duplicate or
  rename a key, deepen nesting, move a subtree);
- `text_documents`: text that is not JSON, random bytes, and Turtle (plus
  N-Triples, RDF/XML) fragments, built from the order vocabulary with wild
  literals.

Hypothesis shrinks integers towards 0, so choice 0 is always the plausible
or simplest branch: a failure shrinks to an order that is valid but for one
thing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "orders"
CONTEXT_IRI = "https://w3id.org/protovalidate/context/v1.jsonld"
PV = "https://w3id.org/protovalidate/ontology#"
PROJECT_CONTEXT: dict = json.loads((ROOT / "ontology" / "context" / "v1.jsonld").read_text("utf-8"))["@context"]

# The contract's identifiers (order-format.md, rule book v2: KRd-27, KdD-weekly-70 and Isa-Kd, six supportive agents).
REGIMENS = ["D-KRd", "KRd", "KRd-27", "Isa-KRd", "KdD", "KdD-weekly-70", "Kd-weekly-70", "Kd-weekly-56",
            "Kd-twice-weekly-56", "KCyD", "Isa-Kd"]
REGIMEN_AGENTS = ["carfilzomib", "daratumumab", "isatuximab", "lenalidomide", "dexamethasone", "cyclophosphamide"]
SUPPORTIVE_AGENTS = ["sodium-chloride-0.9", "aspirin", "enoxaparin", "acetaminophen", "diphenhydramine", "montelukast",
                     "acyclovir", "valacyclovir", "famotidine", "methylprednisolone", "ondansetron", "cetirizine"]
AGENTS = REGIMEN_AGENTS + SUPPORTIVE_AGENTS
ROUTES = ["IV", "SC", "PO"]
UNKNOWN_IDENTIFIERS = ["krd", "KRD", "kRd", "isa-kd", "VRd", "carfilzomib ", " KRd", "Carfilzomib", "bortezomib",
                       "", "pv:KRd", f"{PV}KRd", "urn:x", "sodium-chloride", "ASPIRIN", "KRd\u200b", "ＫＲｄ"]

PATIENT_UNITS = {
    "weight": ["kg", "g", "[lb_av]"],
    "height": ["cm", "m", "[in_i]"],
    "bsa": ["m2"],
    "creatinineClearance": ["mL/min"],
    "neutrophils": ["10*9/L"],
    "platelets": ["10*9/L"],
}
PATIENT_VALUES = {"weight": 72.0, "height": 170, "bsa": 1.85, "creatinineClearance": 85, "neutrophils": 2.1,
                  "platelets": 180}
DOSE_LEVEL_UNITS = ["mg/m2", "mg/kg", "mg"]
DOSE_UNITS = ["mg", "g", "mL"]
DURATION_UNITS = ["min", "h"]
WRONG_UNITS = ["ug", "MG", "mg/m²", "mg/m^2", "kg", "L", "", " mg", "mg ", "10*9/l", "mL/h", "lb", "[lb_av", "%", "1",
               "mg/m2/d", "µg", "s", "d", "10^9/L"]

ORDER_KEYS = ["@context", "@id", "@type", "regimen", "cycle", "patient", "administrations"]
PATIENT_KEYS = ["@id", "age", *PATIENT_UNITS, "dialysis", "doseBasis"]
ADMINISTRATION_KEYS = ["agent", "day", "days", "doseLevel", "dose", "route", "infusionDuration", "doseReduction"]
CONTRACT_KEYS = sorted({*ORDER_KEYS, *PATIENT_KEYS, *ADMINISTRATION_KEYS, "value", "unit", "reason"})
KEYWORDS = ["@context", "@id", "@type", "@graph", "@list", "@set", "@value", "@language", "@index", "@reverse",
            "@nest", "@included", "@json", "@vocab", "@base", "@container", "@direction", "@none", "@import",
            "@protected", "@propagate", "@version", "@", "@foo"]
UNKNOWN_KEYS = ["Dose", "doses", "dose_level", "agnet", "weigth", "bsa ", "x", "", " ", "pv:dose", f"{PV}dose",
                "http://example.org/extra", "_:b0", "comment", "note", "dosé", "\u0000", "value", "unit", "reason"]


# --- JSON text written by hand ------------------------------------------------------------------------------------

class Raw:
    """A JSON token written as is: NaN, 1e400, -0, a 5000-digit integer."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text!r})"


class Obj:
    """A JSON object as its (key, value) pairs: the same key may appear twice."""

    def __init__(self, pairs: list[tuple[str, Any]] | None = None):
        self.pairs = list(pairs or [])

    def __repr__(self) -> str:
        return f"Obj({self.pairs!r})"

    def get(self, key: str, default=None):
        for k, v in self.pairs:
            if k == key:
                return v
        return default


def obj(**kwargs) -> Obj:
    return Obj(list(kwargs.items()))


def dumps(value: Any, indent: int | None = 2, ensure_ascii: bool = False) -> str:
    """JSON text for values made of Obj, Raw, dict, list and scalars (iteratively: nesting may be very deep)."""
    out: list[str] = []
    stack: list[Any] = [value]
    sep = (",\n", ": ") if indent else (",", ":")
    while stack:
        item = stack.pop()
        if isinstance(item, _Literal):
            out.append(item.text)
        elif isinstance(item, Raw):
            out.append(item.text)
        elif isinstance(item, (Obj, dict)):
            pairs = item.pairs if isinstance(item, Obj) else list(item.items())
            parts: list[Any] = [_Literal("{")]
            for i, (key, child) in enumerate(pairs):
                if i:
                    parts.append(_Literal(sep[0]))
                parts.append(_Literal(json.dumps(key, ensure_ascii=ensure_ascii) + sep[1]))
                parts.append(child)
            parts.append(_Literal("}"))
            stack.extend(reversed(parts))
        elif isinstance(item, (list, tuple)):
            parts = [_Literal("[")]
            for i, child in enumerate(item):
                if i:
                    parts.append(_Literal(sep[0]))
                parts.append(child)
            parts.append(_Literal("]"))
            stack.extend(reversed(parts))
        else:
            out.append(json.dumps(item, ensure_ascii=ensure_ascii))
    return "".join(out)


class _Literal:
    def __init__(self, text: str):
        self.text = text


def encode(text: str) -> bytes:
    """UTF-8; a lone surrogate (from a written \\ud800 it is not: that stays an escape) becomes invalid UTF-8."""
    return text.encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class Doc:
    name: str
    data: bytes
    origin: str = ""
    """How the document was made (the family and, for mutations, the example file): for the failure message."""

    def __repr__(self) -> str:  # what Hypothesis prints for a falsifying example
        shown = self.data if len(self.data) <= 3000 else self.data[:1500] + b"..." + self.data[-1500:]
        return f"Doc(name={self.name!r}, origin={self.origin!r}, len={len(self.data)}, data={shown!r})"


# --- wild values ----------------------------------------------------------------------------------------------------

RAW_NUMBERS = ["NaN", "-NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1E+309", "1e99999", "1e308", "-1e308",
               "1.7976931348623157e308", "5e-324", "1e-400", "-0", "-0.0", "0.0", "0", "1.0", "1.5", "28.0", "29",
               "0.1", "1e2", "1E-2", "100000000000000000000000000000000000000", "-9223372036854775809",
               "18446744073709551616", "0.30000000000000004", "2.9999999999999999999999", "1" + "0" * 400,
               "9" * 4301, "1" + "0" * 5000, "0." + "0" * 400 + "1", "1e-7", "4.9406564584124654e-324",
               "01", "+1", ".5", "1.", "0x10", "1_000"]
NUMBER_LIKE_STRINGS = ["NaN", "nan", "Infinity", "-Infinity", "inf", "1", "1.5", "0", "-1", "1e308", "1e400", "72",
                       "72 kg", "seventy", "", " ", "null", "true", "1,5", "٣", "½", "Ⅻ", "0x1A", "1_000"]
WEIRD_STRINGS = ["", " ", "\t", "\u0000", "\u202e", "\ufeff", "\ud800", "\udfff", "😀" * 3, "Ω≈ç√∫", "ⅯⅯ",
                 "<script>alert(1)</script>", "'; DROP TABLE orders;--", "%s%n%x", "{{7*7}}", "${jndi:ldap://x}",
                 "\\", "\"", "@id", "@context", "_:b0", "_:pvnode1", "urn:example:order:0001", "http://example.org/",
                 "file:///etc/passwd", "../../etc/passwd", "\n\n", "\r\n", "a\u0301", "İ", "ß", "ﬁ", "\U0010ffff"]


def huge_strings() -> st.SearchStrategy[str]:
    return st.builds(lambda s, n: s * n, st.sampled_from(["x", "é", "😀", "KRd", "\\", "\u0000", "🏳️‍🌈"]),
                     st.sampled_from([1000, 10_000, 100_000]))


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(-3, 40),
        st.sampled_from(RAW_NUMBERS).map(Raw),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(NUMBER_LIKE_STRINGS),
        st.sampled_from(WEIRD_STRINGS),
        st.text(max_size=30),
        st.booleans(),
        st.none(),
        huge_strings(),
    )


def wild_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value, scalars first, with objects that may repeat a key."""
    keys = st.one_of(st.sampled_from(CONTRACT_KEYS), st.sampled_from(KEYWORDS), st.sampled_from(UNKNOWN_KEYS),
                     st.text(max_size=8))
    return st.recursive(
        scalars(),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.lists(st.tuples(keys, children), max_size=4).map(Obj),
            st.builds(lambda v, u: obj(value=v, unit=u), children, st.sampled_from(WRONG_UNITS + DOSE_UNITS)),
        ),
        max_leaves=max_leaves,
    )


def deep(value: Any, depth: int, kind: int) -> Any:
    for _ in range(depth):
        value = [value] if kind == 0 else obj(value=value) if kind == 1 else Obj([("@list", [value])])
    return value


def deep_values() -> st.SearchStrategy[Any]:
    """Nesting near and past Python's recursion limit (1000)."""
    return st.builds(deep, st.sampled_from([72, "x", CONTEXT_IRI]),
                     st.sampled_from([5, 400, 900, 960, 985, 990, 995, 1000, 1100, 3000]), st.integers(0, 2))


# --- structured orders ----------------------------------------------------------------------------------------------

def choose(draw, plausible: st.SearchStrategy, wild: st.SearchStrategy | None = None, missing: bool = True):
    """Plausible 7 times in 10, wild 2, missing (returns _MISSING) 1: 0 shrinks to plausible."""
    kind = draw(st.integers(0, 9))
    if kind < 7:
        return draw(plausible)
    if kind < 9 or not missing:
        return draw(wild if wild is not None else wild_values())
    return _MISSING


_MISSING = object()


def contexts() -> st.SearchStrategy[Any]:
    """@context values: the project IRI mostly, and every shape a hostile or careless writer could give."""
    redefinitions = st.sampled_from(sorted(PROJECT_CONTEXT)).flatmap(
        lambda term: st.builds(lambda definition: {term: definition},
                               st.sampled_from([f"{PV}{term}x", "https://example.org/terms#dose", None,
                                                {"@id": f"{PV}{term}", "@type": "@id"},
                                                {"@id": f"{PV}{term}", "@container": "@list"}, 1.0, False])))
    extra_terms = st.builds(
        lambda term, definition: {term: definition},
        st.sampled_from(["note", "comment", "extra", "pv", "schema", "dose2", "weightKg", "Dose"]),
        st.sampled_from([f"{PV}note", "http://schema.org/", "https://example.org/", "pv:dose", "pv:weight",
                         {"@id": "pv:note"}, {"@id": 5}, {"@id": None}, {"@id": ["pv:x"]}, {"@reverse": "pv:patient"},
                         {"@id": "pv:x", "@context": "https://example.org/scoped.jsonld"},
                         {"@id": "pv:x", "@context": {"dose": "https://example.org/dose"}},
                         {"@id": "pv:x", "@context": {"@import": "https://example.org/i.jsonld"}},
                         {"@id": "pv:x", "@type": "@json"}, {"@id": "pv:x", "@type": "@vocab"}, 5, None, [], "@type",
                         "@id"]))
    keyword_entries = st.sampled_from([
        {"@vocab": PV}, {"@vocab": "https://example.org/"}, {"@vocab": None}, {"@vocab": 1},
        {"@import": CONTEXT_IRI}, {"@import": "https://example.org/ctx.jsonld"}, {"@import": 5},
        {"@base": "https://example.org/"}, {"@base": None}, {"@version": 1.1}, {"@version": 1.0}, {"@version": "1.1"},
        {"@protected": False}, {"@protected": True}, {"@propagate": False}, {"@language": "en"}, {"@direction": "rtl"},
        {"@context": CONTEXT_IRI}, {"@type": "@json"}, {"": "pv:empty"}, {"@": "x"},
    ])
    inline = st.lists(st.one_of(redefinitions, extra_terms, keyword_entries), max_size=3).map(
        lambda parts: {k: v for part in parts for k, v in part.items()})
    project_copy = st.builds(lambda extra: {**PROJECT_CONTEXT, **extra}, inline)
    single = st.one_of(
        st.just(CONTEXT_IRI),
        st.sampled_from(["https://example.org/context.jsonld", "http://w3id.org/protovalidate/context/v1.jsonld",
                         CONTEXT_IRI + "#", CONTEXT_IRI.upper(), "https://w3id.org/protovalidate/context/v2.jsonld",
                         "file:///etc/passwd", "context/v1.jsonld", "v1.jsonld", "", "urn:x", "data:,{}",
                         "https://w3id.org/protovalidate/context/v1.jsonld ",
                         "http://127.0.0.1:1/context.jsonld"]),
        inline,
        project_copy,
        st.sampled_from([None, [], {}, 1, True, [[]], [None], [CONTEXT_IRI, None], [None, CONTEXT_IRI]]),
    )
    return st.one_of(
        st.just(CONTEXT_IRI), st.just(CONTEXT_IRI), st.just(CONTEXT_IRI),
        single,
        st.lists(single, min_size=1, max_size=3),
        st.builds(lambda extra: [CONTEXT_IRI, extra], inline),
    )


def node_ids() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(0, 999).map(lambda n: f"urn:example:order:{n}"),
        st.sampled_from(["urn:example:order:0001", "_:b0", "_:pvnode1", "_:pvnode2", "order1", "", "#frag", "@foo",
                         "@id", "http://example.org/o 1", "urn:x\ny", "https://example.org/order/ü", "_:",
                         "mailto:x", "urn:example:patient:17", "http://[::1", "urn:" + "x" * 5000]),
        wild_values(4),
    )


@st.composite
def quantities(draw, units: list[str], typical: float) -> Any:
    value = choose(draw, st.one_of(st.just(typical), st.floats(0.001, 500).map(lambda x: round(x, 3)),
                                   st.integers(1, 400)),
                   st.one_of(scalars(), st.sampled_from([0, -1, -72.0, 1e308, 1e-300]), wild_values(4)))
    unit = choose(draw, st.sampled_from(units), st.one_of(st.sampled_from(WRONG_UNITS), scalars()))
    pairs = []
    if value is not _MISSING:
        pairs.append(("value", value))
    if unit is not _MISSING:
        pairs.append(("unit", unit))
    return Obj(pairs)


def days() -> st.SearchStrategy[Any]:
    day = st.one_of(st.integers(1, 28), st.sampled_from([0, 29, 1.5, -1, 1.0, 28.0, 10**9, 2**63, True, "1", None]).map(
        lambda d: d), st.sampled_from(["NaN", "1e400", "1.0000000000000001", "29.0", "-0"]).map(Raw))
    return st.one_of(st.lists(st.integers(1, 28), min_size=1, max_size=28, unique=True).map(sorted),
                     st.lists(day, max_size=30), day.map(lambda d: [d, d]))


def extra_pairs() -> st.SearchStrategy[list[tuple[str, Any]]]:
    """Keys nobody defined: misspelt, keywords, contract keys in the wrong place."""
    key = st.one_of(st.sampled_from(UNKNOWN_KEYS), st.sampled_from(KEYWORDS), st.sampled_from(CONTRACT_KEYS),
                    st.text(max_size=10))
    return st.lists(st.tuples(key, wild_values(4)), max_size=2)


@st.composite
def node(draw, fields: list[tuple[str, Any]], duplicate: bool = True) -> Obj:
    """An object from (key, value-or-_MISSING) fields, in a drawn order, with extra and repeated keys sometimes."""
    pairs = [(k, v) for k, v in fields if v is not _MISSING]
    if draw(st.integers(0, 9)) >= 8:
        pairs = draw(st.permutations(pairs))
    if draw(st.integers(0, 9)) >= 8:
        for key, value in draw(extra_pairs()):
            pairs.insert(draw(st.integers(0, len(pairs))), (key, value))
    if duplicate and pairs and draw(st.integers(0, 19)) == 19:  # the same key twice, same or other value
        key, value = pairs[draw(st.integers(0, len(pairs) - 1))]
        again = value if draw(st.booleans()) else draw(wild_values(3))
        pairs.insert(draw(st.integers(0, len(pairs))), (key, again))
    return Obj(pairs)


@st.composite
def patients(draw) -> Any:
    fields = [("@id", choose(draw, st.sampled_from(["urn:example:patient:17", "urn:example:patient:18"]),
                             node_ids()) if draw(st.booleans()) else _MISSING),
              ("age", choose(draw, st.integers(18, 95), st.one_of(scalars(), st.sampled_from([0, -1, 64.5, 150])))),]
    for key, units in PATIENT_UNITS.items():
        present = draw(st.integers(0, 9)) < (8 if key in ("weight", "height") else 4)
        fields.append((key, choose(draw, quantities(units, PATIENT_VALUES[key]), wild_values(4)) if present
                       else _MISSING))
    # Rule book v2 keys: dialysis (a boolean) and doseBasis {weight, bsa}.
    fields.append(("dialysis", choose(draw, st.booleans(), st.one_of(scalars(), st.sampled_from(["true", 1, 0])))
                   if draw(st.integers(0, 9)) >= 8 else _MISSING))
    if draw(st.integers(0, 9)) >= 8:
        basis = [("weight", choose(draw, quantities(PATIENT_UNITS["weight"], 80.0), wild_values(3))
                  if draw(st.integers(0, 9)) < 9 else _MISSING),
                 ("bsa", choose(draw, quantities(PATIENT_UNITS["bsa"], 2.0), wild_values(3))
                  if draw(st.integers(0, 9)) < 7 else _MISSING)]
        fields.append(("doseBasis", choose(draw, node(basis), wild_values(3))))
    return draw(node(fields))


@st.composite
def administrations(draw) -> Any:
    one_day = draw(st.integers(0, 9)) >= 7
    fields = [
        ("agent", choose(draw, st.sampled_from(AGENTS), st.one_of(st.sampled_from(UNKNOWN_IDENTIFIERS), scalars()))),
        ("day" if one_day else "days", choose(draw, st.integers(1, 28) if one_day else days(), days())),
    ]
    if draw(st.integers(0, 19)) == 19:
        fields.append(("days" if one_day else "day", draw(days())))
    has_level, has_dose = draw(st.sampled_from([(True, True), (True, False), (False, True), (False, False)]))
    if has_level:
        level = draw(st.sampled_from([20, 27, 56, 70, 16, 1.4, 10, 300]))
        fields.append(("doseLevel", choose(draw, quantities(DOSE_LEVEL_UNITS, level), wild_values(4))))
    if has_dose:
        amount = draw(st.sampled_from([37, 103, 25, 40, 100, 500, 1800, 40.0, 0.5]))
        fields.append(("dose", choose(draw, quantities(DOSE_UNITS, amount), wild_values(4))))
    fields.append(("route", choose(draw, st.sampled_from(ROUTES), st.one_of(st.sampled_from(["iv", "IM", "", "I V"]),
                                                                           scalars()))))
    if draw(st.integers(0, 9)) >= 6:
        fields.append(("infusionDuration", choose(draw, quantities(DURATION_UNITS, 30), wild_values(4))))
    if draw(st.integers(0, 9)) >= 8:
        fields.append(("doseReduction", choose(draw, st.builds(lambda r: obj(reason=r), st.one_of(
            st.sampled_from(["neutropenia", "renal impairment", ""]), scalars())), wild_values(4))))
    return draw(node(fields))


@st.composite
def orders(draw, with_context: bool = True) -> Any:
    admins = choose(draw, st.lists(administrations(), min_size=1, max_size=8),
                    st.one_of(st.just([]), st.lists(administrations(), max_size=2).map(lambda a: a[0] if a else {}),
                              wild_values(6)))
    fields = [
        ("@context", choose(draw, contexts(), wild_values(4)) if with_context else _MISSING),
        ("@id", choose(draw, st.integers(0, 3).map(lambda n: f"urn:example:order:{n}"), node_ids())),
        ("@type", choose(draw, st.just("ChemotherapyOrder"),
                         st.sampled_from(["chemotherapyOrder", "pv:ChemotherapyOrder", f"{PV}ChemotherapyOrder",
                                          ["ChemotherapyOrder"], ["ChemotherapyOrder", "Order"], "Order", 1, None]))),
        ("regimen", choose(draw, st.sampled_from(REGIMENS), st.one_of(st.sampled_from(UNKNOWN_IDENTIFIERS),
                                                                       scalars()))),
        ("cycle", choose(draw, st.integers(1, 13), st.one_of(st.sampled_from([0, -1, 1.5, 1.0, 10**20, "1"]),
                                                              scalars()))),
        ("patient", choose(draw, patients(), st.one_of(st.just("urn:example:patient:17"), wild_values(4)))),
        ("administrations", admins),
    ]
    return draw(node(fields))


@st.composite
def structured_documents(draw) -> Doc:
    """One order, an array of orders, or a @graph of them; pretty or compact; .jsonld mostly."""
    shape = draw(st.integers(0, 9))
    if shape < 6:
        document = draw(orders())
    elif shape < 8:
        document = draw(st.lists(orders(), min_size=0, max_size=3))
        if document and draw(st.booleans()):  # the same order twice, or two orders sharing a patient
            document.append(document[0])
    elif shape < 9:
        graph = draw(st.lists(orders(with_context=draw(st.integers(0, 4)) == 4), max_size=3))
        document = Obj([("@context", draw(contexts())), ("@graph", graph if draw(st.integers(0, 9)) else
                                                         (graph[0] if graph else {}))])
    else:
        document = draw(wild_values(20))
    if draw(st.integers(0, 19)) == 19:
        document = deep(document, draw(st.sampled_from([2, 500, 990, 1100])), draw(st.integers(0, 2)))
    text = dumps(document, indent=draw(st.sampled_from([2, None, 1])), ensure_ascii=draw(st.booleans()))
    name = draw(st.sampled_from(["order.jsonld"] * 6 + ["order.json", "order", "order.JSONLD", "order.txt"]))
    bom = b"\xef\xbb\xbf" if draw(st.integers(0, 19)) == 19 else b""
    return Doc(name, bom + encode(text), "structured")


# --- mutations of the examples ---------------------------------------------------------------------------------------

def _example_files() -> list[Path]:
    return sorted(p for p in EXAMPLES.rglob("*") if p.suffix in (".jsonld", ".ttl", ".json"))


EXAMPLE_FILES = _example_files()
EXAMPLE_BYTES = {str(p.relative_to(EXAMPLES)): p.read_bytes() for p in EXAMPLE_FILES}
EXAMPLE_NAMES = sorted(EXAMPLE_BYTES)


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data.decode("utf-8-sig"))
    except ValueError:  # the examples that are not JSON on purpose (not-json*.jsonld): byte mutations only
        return False
    return True


JSON_EXAMPLE_NAMES = [n for n in EXAMPLE_NAMES if n.endswith((".jsonld", ".json")) and _is_json(EXAMPLE_BYTES[n])]

INTERESTING_BYTES = [b"NaN", b"Infinity", b"1e400", b"-0", b"\x00", b"\xff", b"\xef\xbb\xbf", b"\xc3", b'"', b"\\",
                     b"{", b"}", b"[", b"]", b",", b":", b"[" * 2000, b"{\"a\":" * 1100, b"\\ud800", b"\\u0000",
                     b"\"@context\": null,", b"\"@id\": \"order1\",", b"\"extra\": 1,", b"9" * 5000, b"\n", b"\r",
                     b"\xe2\x80\xae", b"@prefix x: <http://example.org/> .", b"<", b"\"\"\"", b"^^", b"_:b"]


def _suffix(name: str) -> str:
    return Path(name).suffix or ".jsonld"


@st.composite
def byte_mutations(draw) -> Doc:
    source = draw(st.sampled_from(EXAMPLE_NAMES))
    data = bytearray(EXAMPLE_BYTES[source])
    steps = []
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "splice", "overwrite", "repeat"]))
        at = draw(st.integers(0, 1 << 20)) % (len(data) + 1)
        if op == "truncate":
            del data[at:]
        elif op == "flip" and data:
            at = min(at, len(data) - 1)
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[at:at] = draw(st.one_of(st.sampled_from(INTERESTING_BYTES), st.binary(min_size=1, max_size=16)))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif op == "splice":
            other = EXAMPLE_BYTES[draw(st.sampled_from(EXAMPLE_NAMES))]
            cut = draw(st.integers(0, 1 << 20)) % (len(other) + 1)
            data = data[:at] + other[cut:]
        elif op == "overwrite":
            patch = draw(st.sampled_from(INTERESTING_BYTES))
            data[at:at + len(patch)] = patch
        elif op == "repeat":
            size = draw(st.integers(1, 200))
            data[at:at] = data[at:at + size] * draw(st.integers(1, 50))
        steps.append(f"{op}@{at}")
    name = "order" + draw(st.sampled_from([_suffix(source)] * 4 + [".jsonld", ".ttl", ".json", ""]))
    return Doc(name, bytes(data), f"bytes {source}: {' '.join(steps)}")


def _parse_example(name: str) -> Any:
    return json.loads(EXAMPLE_BYTES[name].decode("utf-8-sig"), object_pairs_hook=Obj, parse_float=Raw, parse_int=Raw,
                      parse_constant=Raw)


def _places(value: Any, limit: int = 5000) -> list[tuple[Any, Any]]:
    """Every (container, index) in the tree: index is a position in an Obj's pairs or in a list."""
    places, stack = [], [value]
    while stack and len(places) < limit:
        item = stack.pop()
        if isinstance(item, Obj):
            for i, (_, child) in enumerate(item.pairs):
                places.append((item, i))
                stack.append(child)
        elif isinstance(item, list):
            for i, child in enumerate(item):
                places.append((item, i))
                stack.append(child)
    return places


def _copy(value: Any) -> Any:
    """A deep copy, iteratively (the tree may be nested past the recursion limit); no cycle can come of a move."""
    def shell(item):
        return Obj() if isinstance(item, Obj) else [] if isinstance(item, list) else item

    top = shell(value)
    stack = [(value, top)]
    while stack:
        source, target = stack.pop()
        if isinstance(source, Obj):
            for key, child in source.pairs:
                copied = shell(child)
                target.pairs.append((key, copied))
                stack.append((child, copied))
        elif isinstance(source, list):
            for child in source:
                copied = shell(child)
                target.append(copied)
                stack.append((child, copied))
    return top


def _get(container, index):
    return container.pairs[index][1] if isinstance(container, Obj) else container[index]


def _set(container, index, value):
    if isinstance(container, Obj):
        container.pairs[index] = (container.pairs[index][0], value)
    else:
        container[index] = value


def _perturb(value: Any, how: int) -> Any:
    try:
        number = float(value.text) if isinstance(value, Raw) else float(value)
    except (TypeError, ValueError, OverflowError):
        return value
    return [number + 1, number - 1, -number, 0, number * 10, number / 10, number + 0.5, number * 1e300,
            Raw(value.text + "0" * 30) if isinstance(value, Raw) else number, str(number), Raw("1e400"),
            Raw(repr(number) + "e308")][how]


@st.composite
def json_mutations(draw) -> Doc:
    source = draw(st.sampled_from(JSON_EXAMPLE_NAMES))
    document = _parse_example(source)
    steps = []
    for _ in range(draw(st.integers(1, 4))):
        places = _places(document)
        op = draw(st.sampled_from(["replace", "delete", "duplicate", "rename", "insert", "deepen", "perturb", "move",
                                   "wrap"]))
        if op == "wrap" or not places:
            kind = draw(st.integers(0, 3))
            document = ([document] if kind == 0 else [document, document] if kind == 1 else
                        Obj([("@context", CONTEXT_IRI), ("@graph", [document])]) if kind == 2 else
                        Obj([("@graph", document)]))
            steps.append(f"wrap{kind}")
            continue
        container, index = places[draw(st.integers(0, len(places) - 1))]
        key = container.pairs[index][0] if isinstance(container, Obj) else index
        if op == "replace":
            _set(container, index, _copy(draw(st.one_of(wild_values(6), contexts(), deep_values()))))
        elif op == "delete":
            del (container.pairs if isinstance(container, Obj) else container)[index]
        elif op == "duplicate":
            value = _copy(_get(container, index) if draw(st.booleans()) else draw(wild_values(4)))
            if isinstance(container, Obj):
                container.pairs.insert(draw(st.integers(0, len(container.pairs))), (key, value))
            else:
                container.insert(index, value)
        elif op == "rename" and isinstance(container, Obj):
            new = draw(st.one_of(st.sampled_from(CONTRACT_KEYS), st.sampled_from(KEYWORDS),
                                 st.sampled_from(UNKNOWN_KEYS), st.just(str(key).upper()), st.just(f"{key}s")))
            container.pairs[index] = (new, container.pairs[index][1])
            key = f"{key}->{new}"
        elif op == "insert":
            target = _get(container, index)
            entry = (draw(st.one_of(st.sampled_from(CONTRACT_KEYS), st.sampled_from(KEYWORDS),
                                    st.sampled_from(UNKNOWN_KEYS))), _copy(draw(st.one_of(wild_values(4), contexts()))))
            if isinstance(target, Obj):
                target.pairs.insert(draw(st.integers(0, len(target.pairs))), entry)
            elif isinstance(target, list):
                target.insert(draw(st.integers(0, len(target))), entry[1])
            else:
                container_pairs = container.pairs if isinstance(container, Obj) else None
                if container_pairs is not None:
                    container_pairs.insert(index, entry)
        elif op == "deepen":
            _set(container, index, deep(_get(container, index), draw(st.sampled_from([1, 2, 3, 10, 500, 990, 1100])),
                                        draw(st.integers(0, 2))))
        elif op == "perturb":
            _set(container, index, _perturb(_get(container, index), draw(st.integers(0, 11))))
        elif op == "move":
            other_container, other_index = places[draw(st.integers(0, len(places) - 1))]
            _set(other_container, other_index, _copy(_get(container, index)))  # the same subtree in two places
        steps.append(f"{op} {key!r}")
    text = dumps(document, indent=draw(st.sampled_from([2, None])), ensure_ascii=draw(st.booleans()))
    name = "order" + draw(st.sampled_from([".jsonld"] * 4 + [".json", "", ".ttl"]))
    return Doc(name, encode(text), f"json {source}: {'; '.join(steps)}")


# --- text that is not JSON, and RDF ---------------------------------------------------------------------------------

RDF_NAMES = ["order.ttl"] * 6 + ["order.nt", "order.n3", "order.rdf", "order.xml", "order.owl", "order.TTL", "order",
                                  "order.txt", "order.jsonld"]

TURTLE_HEADER = "@prefix pv: <https://w3id.org/protovalidate/ontology#> .\n" \
                "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n" \
                "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
TURTLE_LITERALS = ['1', '1.5', '0', '-1', '1e308', '1e400', '"1"', '"KRd"', '"krd"', '"carfilzomib"', '"x"@en',
                   '"1"^^xsd:integer', '"abc"^^xsd:integer', '"1.5"^^xsd:integer', '"NaN"^^xsd:double',
                   '"INF"^^xsd:double', '"-INF"^^xsd:double', '"1e400"^^xsd:double', '"9' + '9' * 40 + '"^^xsd:integer',
                   '"1e309"^^xsd:decimal', '"true"^^xsd:boolean', '"2024-13-45"^^xsd:date', '"mg"^^xsd:string',
                   '"72"^^xsd:decimal', '"  72  "^^xsd:decimal', '"0x10"^^xsd:integer', '""', '"\\u0000"',
                   '"😀"', '"""multi\nline"""', '<urn:x>', '<http://example.org/>', '_:b0', '[]', '( 1 2 )', '()',
                   'pv:KRd', 'true', '"' + 'x' * 10000 + '"', '"1"^^<http://example.org/dt>',
                   '"1"^^xsd:nonPositiveInteger',
                   '"-5"^^xsd:positiveInteger', '"256"^^xsd:byte']
TURTLE_PREDICATES = ["pv:regimen", "pv:cycle", "pv:patient", "pv:administration", "pv:agent", "pv:day", "pv:dose",
                     "pv:doseLevel", "pv:route", "pv:value", "pv:unit", "pv:weight", "pv:height", "pv:bsa", "pv:age",
                     "pv:creatinineClearance", "pv:neutrophils", "pv:platelets", "pv:infusionDuration",
                     "pv:doseReduction", "pv:reason", "a", "owl:imports", "owl:sameAs", "pv:unknown",
                     "<http://www.w3.org/2000/01/rdf-schema#subClassOf>"]
TURTLE_SUBJECTS = ["<urn:example:order:1>", "<urn:example:order:2>", "_:o", "[]", "<urn:example:patient:17>", "_:a1",
                   "pv:KRd", "pv:ChemotherapyOrder", "<>", "<relative>"]
TURTLE_SOUP = ["@prefix", "@base", "PREFIX", "BASE", "pv:", ":", ".", ";", ",", "[", "]", "(", ")", "a", "<", ">",
               "\"", "'", "\"\"\"", "^^", "@en", "#", "\n", " ", "_:", "<urn:x>", "{", "}", "=>", "@forAll", "\\u",
               "GRAPH", "true", "1.", ".5", "1e", "<http://example.org/x.ttl>", "owl:imports"]


@st.composite
def turtle_orders(draw) -> str:
    """A Turtle order: the vocabulary's triples with wild literals, imports, missing types, cycles of nodes."""
    lines = [TURTLE_HEADER] if draw(st.integers(0, 9)) else []
    for _ in range(draw(st.integers(0, 4))):
        subject = draw(st.sampled_from(TURTLE_SUBJECTS))
        triples = []
        if draw(st.integers(0, 3)):
            triples.append(("a", draw(st.sampled_from(["pv:ChemotherapyOrder", "pv:Order", "owl:Thing"]))))
        for _ in range(draw(st.integers(0, 8))):
            predicate = draw(st.sampled_from(TURTLE_PREDICATES))
            if predicate in ("pv:administration", "pv:patient", "pv:dose", "pv:doseLevel", "pv:weight", "pv:height",
                             "pv:infusionDuration") and draw(st.integers(0, 2)):
                inner = "; ".join(f"{draw(st.sampled_from(TURTLE_PREDICATES))} {draw(st.sampled_from(TURTLE_LITERALS))}"
                                  for _ in range(draw(st.integers(0, 4))))
                objects = f"[ {inner} ]"
            elif predicate == "pv:agent":
                objects = json.dumps(draw(st.sampled_from(AGENTS + UNKNOWN_IDENTIFIERS)))
            elif predicate == "pv:regimen":
                objects = json.dumps(draw(st.sampled_from(REGIMENS + UNKNOWN_IDENTIFIERS)))
            elif predicate == "pv:unit":
                objects = json.dumps(draw(st.sampled_from(DOSE_UNITS + DOSE_LEVEL_UNITS + WRONG_UNITS)))
            elif predicate == "owl:imports":
                objects = draw(st.sampled_from(["<http://example.org/evil.ttl>", "<file:///etc/passwd>", "<>"]))
            else:
                objects = ", ".join(draw(st.lists(st.sampled_from(TURTLE_LITERALS), min_size=1, max_size=3)))
            triples.append((predicate, objects))
        if triples:
            lines.append(subject + " " + " ;\n    ".join(f"{p} {o}" for p, o in triples) + " .\n")
    return "".join(lines)


XML_DOCUMENTS = [
    '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:pv="https://w3id.org/protovalidate/ontology#"><pv:ChemotherapyOrder rdf:about="urn:example:order:1">'
    '<pv:regimen>KRd</pv:regimen><pv:cycle>1</pv:cycle></pv:ChemotherapyOrder></rdf:RDF>',
    '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
    '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:pv="https://w3id.org/protovalidate/ontology#"><pv:ChemotherapyOrder rdf:about="urn:example:order:1">'
    '<pv:regimen>&e;</pv:regimen></pv:ChemotherapyOrder></rdf:RDF>',
    '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]>\n'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:pv="https://w3id.org/protovalidate/ontology#"><pv:ChemotherapyOrder rdf:about="urn:example:order:1">'
    '<pv:regimen>&x;</pv:regimen></pv:ChemotherapyOrder></rdf:RDF>',
    '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "http://example.org/entity">]>\n'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:pv="https://w3id.org/protovalidate/ontology#"><pv:ChemotherapyOrder rdf:about="urn:example:order:1">'
    '<pv:regimen>&x;</pv:regimen></pv:ChemotherapyOrder></rdf:RDF>',
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="urn:x">'
    '<rdf:type rdf:resource="https://w3id.org/protovalidate/ontology#ChemotherapyOrder"/></rdf:Description></rdf:RDF>',
    "<not-rdf/>", "<?xml version='1.0'?>", "<rdf:RDF", "",
]


@st.composite
def text_documents(draw) -> Doc:
    kind = draw(st.integers(0, 7))
    if kind == 0:
        text, origin = draw(turtle_orders()), "turtle order"
        data = encode(text)
    elif kind == 1:
        soup = draw(st.lists(st.one_of(st.sampled_from(TURTLE_SOUP), st.sampled_from(TURTLE_LITERALS),
                                       st.sampled_from(TURTLE_PREDICATES), st.sampled_from(TURTLE_SUBJECTS)),
                             max_size=60))
        data, origin = encode(TURTLE_HEADER * draw(st.integers(0, 1)) + " ".join(soup)), "turtle soup"
    elif kind == 2:
        data, origin = encode(draw(st.text(max_size=300))), "text"
    elif kind == 3:
        data, origin = draw(st.binary(max_size=300)), "bytes"
    elif kind == 4:  # a real Turtle order, cut or spliced with JSON
        base = EXAMPLE_BYTES.get("invalid/not-rdf.ttl", b"")
        cut = draw(st.integers(0, len(base)))
        tail = draw(st.sampled_from([b"", b" .", b"\n<urn:x> owl:imports <http://example.org/x.ttl> .",
                                     EXAMPLE_BYTES[draw(st.sampled_from(EXAMPLE_NAMES))][:200]]))
        data, origin = base[:cut] + tail, f"turtle example cut at {cut}"
    elif kind == 5:
        data, origin = encode(draw(st.sampled_from(XML_DOCUMENTS))), "rdf/xml"
    elif kind == 6:
        prefix = draw(st.sampled_from(["{", "[", " {", "\ufeff{", "[]", "{}", "null", "\"x\"", "1", "true",
                                       "{\"@context\"", "[" * 5, "{\"a\":[" * 3]))
        data, origin = encode(prefix + draw(st.text(max_size=100))), "JSON-ish text"
    else:
        lines = [f"<urn:example:order:1> <{PV}{p}> {o} ." for p, o in draw(st.lists(st.tuples(
            st.sampled_from(["regimen", "cycle", "agent", "day", "administration", "patient"]),
            st.sampled_from(['"KRd"', '"1"^^<http://www.w3.org/2001/XMLSchema#integer>', "_:b0", "<urn:x>",
                             '"x"@en', '"abc"^^<http://www.w3.org/2001/XMLSchema#integer>', "1", "<>"])),
            max_size=8))]
        data, origin = encode("\n".join(lines)), "n-triples"
    name = draw(st.sampled_from(RDF_NAMES if kind in (0, 1, 4, 7) else
                                ["order.rdf", "order.xml", "order.owl", "order.ttl"] if kind == 5 else
                                RDF_NAMES + ["order.json"]))
    return Doc(name, data, origin)


def all_documents() -> st.SearchStrategy[Doc]:
    return st.one_of(structured_documents(), json_mutations(), byte_mutations(), text_documents())
