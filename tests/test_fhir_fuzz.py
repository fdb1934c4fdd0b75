"""Fuzzing the FHIR reader: FHIR documents generated and mutated from the examples never crash anything.

Seeds: the shipped FHIR orders (examples/fhir/), the real material (tests/data/fhir/: requests, the KDN5
RequestGroup, the CDS Hooks bodies; the large PlanDefinitions are left out, they are refused whole), and every
example order of examples/orders/ that tests/fhir_writer.py writes, as a RequestGroup and as a Bundle. Each
document is one seed with one to six mutations, FHIR-aware (a resourceType, status, system, code, extension url
or reference swapped for another the contract names) and hostile (wrong types, deleted fields, deep nesting,
huge arrays, unresolvable and circular references, a key twice), or one of the hostile shapes built whole
(actions nested past 32, a Bundle in a Bundle, 600 requests, references in a ring).

For every document:
- read.documents.read_document, its orders gone through, raises nothing;
- Pipeline.check raises nothing, on two Pipelines, and gives byte-identical text and JSON reports; the JSON
  report follows its schema and a file that passes holds a checked order;
- on a sample, the command exits 0 or 1 (never 2, never a traceback) and prints the same report twice.
- the converter's whole output is the same with the structure checks' fast paths as with them off, on as many
  documents again: mutated ones, and ones whose days and days carriers, or whose Codings, CodeableConcepts,
  Quantities, References, Dosages and Extensions are bent;
- element by element (four times as many, at least 1,000): where structure.is_plain_element passes an element,
  the structure check finds nothing in it.

FHIR_FUZZ_EXAMPLES sets how many documents (default 240, about 30 s, and as many for the fast paths, about 8 s;
derandomized, so CI sees the same ones);
FHIR_FUZZ_EXAMPLES=10000 is the long run (random, about 15 minutes). FHIR_FUZZ_COLLECT=1 does not stop at the
first failing document: it records each distinct failure (by exception and place; its smallest document) and
reports them all at the end, a survey of bugs rather than one shrunk example:

    FHIR_FUZZ_EXAMPLES=10000 FHIR_FUZZ_COLLECT=1 .venv/bin/python -m pytest -q -s -n 0 tests/test_fhir_fuzz.py
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

import fhir_writer
from chemo_protovalidate.check.pipeline import Pipeline
from chemo_protovalidate.cli import main
from chemo_protovalidate.model.findings import Severity
from chemo_protovalidate.read.documents import read_document
from chemo_protovalidate.report import RENDERERS, Report
from fuzz_strategies import (Doc, Obj, Raw, _copy, _get, _places, _set, deep, dumps, encode, wild_values)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "fhir"
SCHEMA = jsonschema.Draft202012Validator(
    json.loads((ROOT / "src" / "chemo_protovalidate" / "report" / "schema" / "report-v1.json").read_text("utf-8")))

TOTAL = int(os.environ.get("FHIR_FUZZ_EXAMPLES", "240"))
LONG = TOTAL >= 1000
COLLECT = os.environ.get("FHIR_FUZZ_COLLECT", "") not in ("", "0")
_COMMAND = max(4, TOTAL // 100)  # each through the command three times: the knowledge base loads each time
BUDGET = {"mutated": TOTAL * 2 // 3, "built": TOTAL - TOTAL * 2 // 3 - _COMMAND, "command": _COMMAND,
          "fast paths": TOTAL}  # the converter twice on each document, no check: some 20 ms a document
_SETTINGS = dict(deadline=None, print_blob=True, derandomize=not LONG, database=None,
                 suppress_health_check=list(HealthCheck), **({"phases": [Phase.generate]} if COLLECT else {}))


def budget(test: str) -> settings:
    return settings(max_examples=BUDGET[test], **_SETTINGS)


# --- seeds --------------------------------------------------------------------------------------------------------


def _parse(text: str) -> Any:
    """JSON as Obj / Raw (fuzz_strategies' tree), so that a key may be written twice and numbers as they were."""
    return json.loads(text, object_pairs_hook=Obj, parse_float=Raw, parse_int=Raw, parse_constant=Raw)


def _seeds() -> dict[str, str]:
    seeds = {f"examples/fhir/{p.name}": p.read_text("utf-8") for p in sorted((ROOT / "examples" / "fhir").glob("*.json"))}
    for path in sorted(DATA.rglob("*.json")):
        if path.stat().st_size < 20_000 and "contract" not in path.parts:
            seeds[path.relative_to(DATA).as_posix()] = path.read_text("utf-8")
    for folder in ("valid", "invalid", "warning", "info"):
        for path in sorted((ROOT / "examples" / "orders" / folder).glob("*.jsonld")):
            try:
                document = json.loads(path.read_text("utf-8"))
            except ValueError:
                continue
            for layout in ("request_group", "bundle"):
                written = getattr(fhir_writer, layout)(document)
                if written.document is not None:
                    seeds[f"{folder}/{path.stem}.{layout}"] = json.dumps(written.document)
    return seeds


SEEDS = _seeds()
SEED_NAMES = sorted(SEEDS)

# What the contract names, to swap one for another (fhir.md 1, 2.2, 3, 5).
RESOURCE_TYPES = ["RequestGroup", "MedicationRequest", "Bundle", "Medication", "Patient", "Observation",
                  "MedicationOrder", "PlanDefinition", "NutritionOrder", "ServiceRequest", "OperationOutcome", "",
                  "requestgroup"]
STATUSES = ["draft", "active", "on-hold", "completed", "cancelled", "entered-in-error", "stopped", "unknown",
            "revoked", "final", "amended", "preliminary", "", "DRAFT"]
BUNDLE_TYPES = ["collection", "transaction", "batch", "searchset", "document", "history", "", None]
URLS = [f"{fhir_writer.EXT}/{name}" for name in ("regimen", "cycle-number", "cycle-days", "dose-reduction-reason",
                                                 "dialysis", "dose-basis", "source-file", "knowledge-base")] + [
    fhir_writer.DAYS_OF_CYCLE, "http://hl7.org.nz/fhir/StructureDefinition/sact-timing-of-days", "day", "weight",
    "bsa", "instructions", "http://example.org/fhir/AUC-dose", "", "urn:x"]
SYSTEMS = [fhir_writer.AGENT_SYSTEM, "http://www.nlm.nih.gov/research/umls/rxnorm", fhir_writer.SNOMED,
           fhir_writer.UCUM, fhir_writer.LOINC, fhir_writer.DOSE_RATE_TYPE, fhir_writer.IRI_SYSTEM,
           "https://nzulm.org.nz/nzmt", "http://hl7.org/fhir/sid/ndc", "", "urn:oid:1.2.3"]
CODES = ["carfilzomib", "lenalidomide", "1302966", "2372199", "3264", "342369", "47625008", "26643006",
         "34206005", "386358000", "258684004", "404216004", "258685003", "413573002", "ordered", "calculated",
         "29463-7", "8302-2", "8277-6", "2164-2", "33914-3", "751-8", "777-3", "mg", "mg/m2", "mL/min/{1.73_m2}",
         "10*3/uL", "AUC", "Min", "h", "ug", "", " ", "12574"]
REFERENCES = ["#", "#pat", "#nope", "#mr-1", "#order-1", "Patient/17", "Patient/p1", "Patient/zzz",
              "MedicationRequest/o1-mr-1", "MedicationRequest/krd-c1-cfz-1/_history/2", "RequestGroup/order-1",
              "RequestGroup/krd-c1-0001", "urn:uuid:00000000-0000-0000-0000-000000000000",
              "https://ehr.example.org/fhir/MedicationRequest/krd-c1-cfz-1", "https://ehr.example.org/fhir/Patient/17",
              "http://", "", "Observation/o1-weight", "Medication/med"]
KEYS = ["resourceType", "id", "extension", "modifierExtension", "contained", "entry", "resource", "fullUrl",
        "action", "status", "intent", "subject", "authoredOn", "dosageInstruction", "doseAndRate", "doseQuantity",
        "doseQuantiy", "doseRange", "rateRatio", "rateQuantity", "timing", "repeat", "duration", "durationUnit",
        "route", "coding", "system", "code", "value", "unit", "comparator", "valueInteger", "valueString",
        "valueBoolean", "valueQuantity", "valueCode", "url", "reference", "identifier", "groupIdentifier",
        "instantiatesCanonical", "medicationCodeableConcept", "medicationReference", "supportingInformation",
        "birthDate", "effectiveDateTime", "asNeededBoolean", "implicitRules", "doNotPerform", "_status", "type",
        "search", "mode", "context", "draftOrders", "prefetch", "selections", "patientId", "@context", "x"]


def _leaves(value: Any, key: str) -> list[tuple[Any, int]]:
    """The places whose key is ``key`` (in an Obj)."""
    return [(c, i) for c, i in _places(value) if isinstance(c, Obj) and c.pairs[i][0] == key]


@st.composite
def mutated_documents(draw) -> Doc:
    source = draw(st.sampled_from(SEED_NAMES))
    document = _parse(SEEDS[source])
    steps = []
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["swap", "swap", "swap", "reference", "replace", "delete", "duplicate-key",
                                   "rename", "deepen", "huge", "repeat", "wrap", "circle"]))
        document, step = _mutate(draw, document, op)
        steps.append(step)
        # Two huge arrays in one document multiply (5000 x 5000 entries): past a few megabytes, stop mutating;
        # --max-bytes and the order limit are tried on sizes that reach them, not on gigabytes.
        if op in ("huge", "repeat") and len(dumps(document, indent=None)) > MAX_TEXT:
            break
    text = dumps(document, indent=draw(st.sampled_from([2, None])), ensure_ascii=draw(st.booleans()))
    return Doc(draw(st.sampled_from(["order.json", "order.json", "bundle.json", "order.jsonld", "order"])),
               encode(text), f"fhir {source}: {'; '.join(steps)}")


MAX_TEXT = 3_000_000

SWAPS = {"resourceType": RESOURCE_TYPES, "status": STATUSES, "type": BUNDLE_TYPES, "url": URLS, "system": SYSTEMS,
         "code": CODES, "reference": REFERENCES, "durationUnit": CODES, "valueInteger": [0, 1, 29, -1, Raw("1.0"),
                                                                                          Raw("1.5"), "1", True]}


def _mutate(draw, document: Any, op: str) -> tuple[Any, str]:
    places = _places(document)
    if op == "wrap" or not places:
        kind = draw(st.integers(0, 3))
        entry = Obj([("resource", document)])
        document = (Obj([("resourceType", "Bundle"), ("type", "collection"), ("entry", [entry])]) if kind == 0 else
                    Obj([("context", Obj([("patientId", "17"), ("draftOrders", document)]))]) if kind == 1 else
                    Obj([("resourceType", "Bundle"), ("type", "collection"),
                         ("entry", [Obj([("resource", Obj([("resourceType", "Bundle"), ("type", "collection"),
                                                            ("entry", [entry])]))])])]) if kind == 2 else
                    [document])
        return document, f"wrap{kind}"
    if op in ("swap", "reference"):
        key = "reference" if op == "reference" else draw(st.sampled_from(sorted(SWAPS)))
        targets = _leaves(document, key)
        if targets:
            container, index = targets[draw(st.integers(0, len(targets) - 1))]
            value = draw(st.sampled_from(SWAPS[key]))
            _set(container, index, value)
            return document, f"{key}={value!r}"
        op = "replace"
    container, index = places[draw(st.integers(0, len(places) - 1))]
    key = container.pairs[index][0] if isinstance(container, Obj) else index
    if op == "replace":
        _set(container, index, _copy(draw(wild_values(6))))
    elif op == "delete":
        del (container.pairs if isinstance(container, Obj) else container)[index]
    elif op == "duplicate-key" and isinstance(container, Obj):
        value = _copy(_get(container, index)) if draw(st.booleans()) else _copy(draw(wild_values(3)))
        container.pairs.insert(draw(st.integers(0, len(container.pairs))), (key, value))
    elif op == "rename" and isinstance(container, Obj):
        new = draw(st.sampled_from(KEYS))
        container.pairs[index] = (new, container.pairs[index][1])
        key = f"{key}->{new}"
    elif op == "deepen":
        _set(container, index, deep(_get(container, index), draw(st.sampled_from([1, 2, 33, 200, 990, 1100])),
                                    draw(st.integers(0, 1))))
    elif op == "huge":
        value = _get(container, index)
        # As many copies as fit in MAX_TEXT: a huge array of small items, a shorter one of large items.
        count = min(draw(st.sampled_from([100, 600, 5000])), max(2, MAX_TEXT // len(dumps(value, indent=None))))
        _set(container, index, [_copy(value) for _ in range(count)] if not isinstance(value, list)
             else [_copy(v) for v in value for _ in range(max(1, count // max(1, len(value))))][:count])
    elif op == "repeat":  # the same subtree twice: a request in two actions, an entry twice
        other, other_index = places[draw(st.integers(0, len(places) - 1))]
        _set(other, other_index, _copy(_get(container, index)))
    elif op == "circle":  # the element's resource points back at its own container
        ids = [c.pairs[i][1] for c, i in _leaves(document, "id") if isinstance(c.pairs[i][1], str)]
        target = draw(st.sampled_from(ids)) if ids else "x"
        _set(container, index, Obj([("reference", draw(st.sampled_from([f"#{target}", f"RequestGroup/{target}",
                                                                        f"MedicationRequest/{target}"])))]))
    return document, f"{op} {key!r}"


# --- hostile shapes built whole ---------------------------------------------------------------------------------


def _request(rid: str, days: list, extra: list | None = None) -> dict:
    return {"resourceType": "MedicationRequest", "id": rid,
            "extension": [{"url": f"{fhir_writer.EXT}/cycle-number", "valueInteger": 1},
                          {"url": f"{fhir_writer.EXT}/cycle-days",
                           "extension": [{"url": "day", "valueInteger": d} for d in days]}, *(extra or [])],
            "instantiatesCanonical": [fhir_writer.CANONICAL + "KRd"],
            "groupIdentifier": {"value": "g"}, "status": "draft", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": fhir_writer.AGENT_SYSTEM, "code": "carfilzomib"}]},
            "subject": {"reference": "Patient/p"}, "authoredOn": fhir_writer.AUTHORED_ON,
            "dosageInstruction": [{"route": {"coding": [{"system": fhir_writer.SNOMED, "code": "47625008"}]}}]}


def _nested_actions(depth: int, leaf: dict) -> dict:
    group = {"resourceType": "RequestGroup", "id": "rg", "contained": [_request("mr", [1])],
             "extension": [{"url": f"{fhir_writer.EXT}/cycle-number", "valueInteger": 1}],
             "instantiatesCanonical": [fhir_writer.CANONICAL + "KRd"], "status": "draft", "intent": "order",
             "subject": {"reference": "#p"}}
    action = leaf
    for _ in range(depth):
        action = {"action": [action]}
    group["action"] = [action]
    return group


@st.composite
def built_documents(draw) -> Doc:
    kind = draw(st.integers(0, 7))
    days = draw(st.lists(st.integers(-2, 40), min_size=0, max_size=draw(st.sampled_from([3, 30, 3000]))))
    if kind == 0:  # actions nested around the limit of 32
        value = _nested_actions(draw(st.sampled_from([30, 31, 32, 33, 100, 900])), {"resource": {"reference": "#mr"}})
    elif kind == 1:  # many requests in one order (--max-administrations)
        count = draw(st.sampled_from([2, 30, 501, 1200]))  # 500 checked requests cost the rules ~7 s: not here
        value = {"resourceType": "Bundle", "type": "collection",
                 "entry": [{"resource": _request(f"m{i}", days[:5] or [1])} for i in range(count)]}
    elif kind == 2:  # references in a ring: two RequestGroups naming each other, an action naming its group
        value = {"resourceType": "Bundle", "type": "collection", "entry": [
            {"fullUrl": "urn:uuid:a", "resource": {**_nested_actions(0, {"resource": {"reference": "urn:uuid:b"}}),
                                                   "id": "a"}},
            {"fullUrl": "urn:uuid:b", "resource": {**_nested_actions(0, {"resource": {"reference": "RequestGroup/a"}}),
                                                   "id": "b"}}]}
    elif kind == 3:  # contained in contained, and a #id from outside its container
        inner = _request("mr", days or [1])
        inner["contained"] = [{"resourceType": "Medication", "id": "med", "contained": [_request("x", [1])]}]
        inner["medicationReference"] = {"reference": "#med"}
        value = {"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": inner}, {"resource": {**_request("other", [1]), "medicationReference": {"reference": "#med"}}}]}
    elif kind == 4:  # a Bundle in an entry, in contained, and a CDS Hooks body around it
        nested = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": _request("m", [1])}]}
        value = {"context": {"patientId": "p", "draftOrders": {"resourceType": "Bundle", "entry": [
            {"resource": nested}, {"resource": {**_request("m2", days or [1]), "contained": [nested]}}]}},
                 "prefetch": {"patient": None, "weight": draw(st.sampled_from([None, nested, [], "x"]))}}
    elif kind == 5:  # huge day lists, huge codings, huge strings
        request = _request("m", days)
        request["medicationCodeableConcept"]["coding"] *= draw(st.sampled_from([1, 200, 3000]))
        request["id"] = draw(st.sampled_from(["m", "x" * 65, "a|10", "x" * 100_000]))
        value = request
    elif kind == 6:  # a request referenced twice, and from two RequestGroups
        group = _nested_actions(1, {"resource": {"reference": "#mr"}})
        group["action"].append({"resource": {"reference": "#mr"}})
        value = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": group},
                                                                           {"resource": {**group, "id": "rg2"}}]}
    else:  # wild values where the contract's elements are
        request = _request("m", days or [1])
        key = draw(st.sampled_from(sorted(request)))
        request[key] = draw(wild_values(8))
        value = request
    return Doc("built.json", encode(dumps(value, indent=draw(st.sampled_from([2, None])))), f"built {kind}")


# --- the properties ---------------------------------------------------------------------------------------------

TRIED: Counter = Counter()
STARTED = time.monotonic()
FAILURES: dict[str, tuple[Doc, str]] = {}


def _signature(error: BaseException) -> str:
    """What makes two failures one bug: the exception and the last place in the package it came from."""
    if isinstance(error, AssertionError):
        return f"AssertionError: {str(error).splitlines()[0][:120]}"
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "chemo_protovalidate" in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(error).__name__} at {where}"


def guarded(family: str, document: Doc, prop) -> None:
    TRIED[family] += 1
    if LONG and TRIED[family] % 500 == 0:  # the long run says how far it is (seen with -s)
        print(f"[{time.monotonic() - STARTED:.0f} s] {family} {TRIED[family]}", flush=True)
    if not COLLECT:
        prop(document)
        return
    try:
        prop(document)
    except Exception as error:  # noqa: BLE001 - a survey records every failure
        key = _signature(error)
        if key not in FAILURES or len(document.data) < len(FAILURES[key][0].data):
            FAILURES[key] = (document, "".join(traceback.format_exception(error))[-3000:])
_PIPELINES: list[Pipeline] = []


def pipelines() -> list[Pipeline]:
    if not _PIPELINES:
        _PIPELINES.extend([Pipeline(), Pipeline()])
    return _PIPELINES


def check_in_process(document: Doc) -> None:
    first, second = pipelines()
    read = read_document(document.name, document.data, first.kb.context, first.max_administrations)
    list(read.orders)  # the orders are read lazily: go through them, as the pipeline does
    texts, jsons = [], []
    for pipeline in (first, second):
        result = pipeline.check(document.name, document.data)
        report = Report([result], Severity.ERROR, pipeline.rules(), knowledge_base=pipeline.kb.version)
        texts.append(RENDERERS["text"](report))
        jsons.append(RENDERERS["json"](report))
    assert texts[0] == texts[1], "the same FHIR document gave two text reports"
    assert jsons[0] == jsons[1], "the same FHIR document gave two JSON reports"
    parsed = json.loads(jsons[0])
    SCHEMA.validate(parsed)
    assert parsed["summary"]["conforms"] is False or parsed["summary"]["orders"] >= 1, \
        "a file with no order checked passed"
    assert "Traceback" not in texts[0] and "internal error" not in texts[0]


@budget("mutated")
@given(mutated_documents())
def test_mutated_fhir_documents(document: Doc):
    guarded("mutated", document, check_in_process)


@budget("built")
@given(built_documents())
def test_hostile_fhir_shapes(document: Doc):
    guarded("built", document, check_in_process)


def invoke(args: list[str]):
    result = CliRunner().invoke(main, args, catch_exceptions=True)
    shown = f"protovalidate {' '.join(args)}: exit {result.exit_code}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(shown + "".join(traceback.format_exception(*result.exc_info)))
    assert result.exit_code in (0, 1), shown
    assert "Traceback" not in result.stdout + result.stderr and "internal error" not in result.stderr, shown
    return result


@budget("command")
@given(st.one_of(mutated_documents(), built_documents()))
def test_the_command_on_a_sample(document: Doc):
    guarded("command", document, check_with_the_command)


def check_with_the_command(document: Doc) -> None:
    with tempfile.TemporaryDirectory(prefix="protovalidate-fhir-fuzz-") as folder:
        path = Path(folder) / document.name
        path.write_bytes(document.data)
        first, second = invoke([str(path)]), invoke([str(path)])
        as_json = invoke(["--format", "json", str(path)])
    assert first.exit_code == second.exit_code == as_json.exit_code
    assert first.stdout_bytes == second.stdout_bytes, "the same FHIR document gave two reports"
    SCHEMA.validate(json.loads(as_json.stdout))


def test_zz_documents_tried(capsys):
    total = sum(TRIED.values())
    lines = [f"protovalidate FHIR fuzz: {total} documents in {time.monotonic() - STARTED:.0f} s "
             f"({', '.join(f'{k} {v}' for k, v in sorted(TRIED.items()))}; {len(SEEDS)} seeds; "
             f"{len(FAILURES)} distinct failures)"]
    for key, (document, text) in sorted(FAILURES.items()):
        lines.append(f"\n=== FAILURE {key}\n{document.origin} ({len(document.data)} bytes): "
                     f"{document.data[:400]!r}\n{text}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert not FAILURES, f"{len(FAILURES)} distinct failures (printed above)"
    # Each test that ran tried its whole share (a strategy that kept failing to draw would try fewer).
    assert all(TRIED[test] >= BUDGET[test] * 0.9 for test in TRIED), (TRIED, BUDGET)


# --- the structure checks' fast paths --------------------------------------------------------------------------

DAYS_SEEDS = [name for name in SEED_NAMES if '"day"' in SEEDS[name]]


@st.composite
def day_mutations(draw) -> Doc:
    """A document with days carriers, one of its days or carriers bent: a day of a wrong type or sign, a key
    added to a day or its carrier, a key twice, its url changed or gone, a carrier's days emptied or grown.
    The shapes the fast paths (structure.is_plain_element, is_plain_days_carrier, plain_days) must pass only where
    the checks would."""
    name = draw(st.sampled_from(DAYS_SEEDS))
    value = _parse(SEEDS[name])
    for _ in range(draw(st.integers(1, 3))):
        days = [(c, i) for c, i in _places(value) if isinstance(c, Obj) and c.pairs[i] == ("url", "day")]
        if not days:
            break  # an earlier bend took the last day's url
        day, _ = draw(st.sampled_from(days))
        carrier = next((c for c, i in _places(value) if isinstance(c, list) and day in c), None)
        holder = next((c for c, i in _places(value) if isinstance(c, Obj) and c.pairs[i][1] is carrier), None)
        bend = draw(st.integers(0, 6))
        if bend == 0:
            day.pairs = [(k, draw(st.one_of(st.sampled_from([True, False, None, 8.5, "8", "", [], {}]),
                                            st.builds(Raw, st.sampled_from(["8.0", "-1", "0", "1e400", "1" * 30])),
                                            wild_values(3))) if k == "valueInteger" else v) for k, v in day.pairs]
        elif bend == 1:
            day.pairs.append((draw(st.sampled_from(["id", "valueString", "extension", "url", "valueInteger", "x"])),
                              draw(wild_values(3))))
        elif bend == 2:
            day.pairs = [(k, draw(st.sampled_from(["", "days", 3, None, "weight"])) if k == "url" else v)
                         for k, v in day.pairs]
        elif bend == 3:
            gone = draw(st.sampled_from(["url", "valueInteger"]))
            day.pairs = [pair for pair in day.pairs if pair[0] != gone]
        elif bend == 4 and carrier is not None:
            if draw(st.booleans()):
                carrier.clear()
            else:
                carrier.append(draw(wild_values(3)))
        elif bend == 5 and holder is not None:
            holder.pairs.append((draw(st.sampled_from(["id", "valueInteger", "valueString", "url", "extension", "x"])),
                                 draw(wild_values(3))))
        else:
            day.pairs.insert(0, ("url", "day"))
    return Doc("days.json", encode(dumps(value)), f"days bent in {name}")


# Keys by which an object is one of the elements the fast path is_plain_element passes (a Coding, a CodeableConcept,
# a Quantity, a Reference, an Identifier, a Period, a Timing, a Dosage, an Extension of one value), and keys of
# theirs to add.
FLAT_KEYS = {"system", "code", "display", "coding", "text", "reference", "value", "unit", "fullUrl", "resource",
             "start", "end", "repeat", "duration", "durationUnit", "userSelected", "period", "type", "assigner",
             "valueCode", "valueString", "valueBoolean", "valueInteger"}
ADDED_KEYS = ["id", "extension", "_code", "_display", "coding", "version", "userSelected", "identifier", "period",
              "type", "request", "search", "link", "boundsDuration", "timeOfDay", "x", "value", "valueString"]
CHOICE_SIBLINGS = [("valueString", "x"), ("valueBoolean", True), ("valueInteger", 3), ("valueCode", "c"),
                   ("asNeededBoolean", False), ("asNeededCodeableConcept", Obj([("text", "prn")])),
                   ("doseQuantity", Obj([("value", Raw("1"))])), ("medicationReference", Obj([("reference", "#m")]))]
BENT_VALUES = ["", " ", True, None, 0, -1, 8.5, "x", [], {}, [""], [{}], Obj([("code", "")]), Obj([("x", 1)])]


@st.composite
def element_mutations(draw) -> Doc:
    """A document with one to three of its simpler elements bent: a value made "" or of another type or a list, a
    key added (a primitive's _key, an extension, a child, a second alternative of a choice), a key twice or gone,
    a list item replaced: what structure.is_plain_element must pass only where check() would."""
    name = draw(st.sampled_from(SEED_NAMES))
    value = _parse(SEEDS[name])
    elements = [c for c, _ in _places(value) if isinstance(c, Obj) and FLAT_KEYS & {k for k, _ in c.pairs}]
    if not elements:
        return Doc("elements.json", encode(dumps(value)), f"{name}: no element to bend")
    for _ in range(draw(st.integers(1, 3))):
        element = draw(st.sampled_from(elements))
        if not element.pairs:
            continue  # an earlier bend took its last key
        i = draw(st.integers(0, len(element.pairs) - 1))
        key, item = element.pairs[i]
        bend = draw(st.sampled_from([0, 0, 0, 1, 2, 3, 4, 5, 6]))  # a value of the wrong kind, most often
        if bend == 0:
            element.pairs[i] = (key, draw(st.one_of(st.sampled_from(BENT_VALUES),
                                                    st.builds(Raw, st.sampled_from(["1e400", "-0", "1" * 30])))))
        elif bend == 1:
            element.pairs[i] = (key, [item])
        elif bend == 2:
            element.pairs.append((draw(st.sampled_from(ADDED_KEYS)), draw(st.one_of(st.sampled_from(BENT_VALUES),
                                                                                      wild_values(3)))))
        elif bend == 3:
            element.pairs.insert(0, (key, item))
        elif bend == 4 and isinstance(item, list) and item:
            item[draw(st.integers(0, len(item) - 1))] = draw(st.sampled_from(BENT_VALUES))
        elif bend == 6:  # a second alternative of a choice (asNeeded[x], medication[x]), or a required key gone
            if draw(st.booleans()):
                element.pairs.append(draw(st.sampled_from(CHOICE_SIBLINGS)))
            else:
                del element.pairs[i]
        else:
            element.pairs[i] = ("_" + key if not key.startswith("_") else key[1:], item)
    return Doc("elements.json", encode(dumps(value)), f"elements bent in {name}")


# Values of each FHIR primitive type that the structure check takes, for element_of.
PRIMITIVE_VALUES = {"string": ["a"], "code": ["c"], "uri": ["urn:x", *URLS[:3], URLS[8]], "id": ["a1"],
                    "boolean": [True, False],
                    "integer": [3, -1], "positiveInt": [2, 0], "unsignedInt": [0, -2], "decimal": [1.5, 2],
                    "date": ["2026-01-02", "2026-13"], "dateTime": ["2026-01-02", "soon"],
                    "instant": ["2026-01-02T10:00:00Z"]}
FLAT_TYPES = ["Coding", "CodeableConcept", "Quantity", "Reference", "Identifier", "Period", "Extension", "Dosage",
              "Dosage.doseAndRate", "Timing", "Timing.repeat", "Bundle.entry"]


def element_of(type_name: str, depth: int = 0) -> st.SearchStrategy:
    """An object written as an element of ``type_name``: some of its keys (and an unknown one, a _key), each
    with a value its type takes, one it does not, or (up to three levels) an element of the child's type."""
    from chemo_protovalidate.read.fhir import tables

    spec = tables.elements()[type_name]
    # Its plain keys and complex children (of a choice, its plain alternatives and one complex one: an
    # Observation's value[x] has eleven), its extensions, an unknown key and a _key; its required keys, most
    # often, first.
    alternatives = {name for names, _ in spec.choices for name in names}
    keys = sorted(key for key in spec.plan if key not in alternatives or key in spec.plain) + ["x", "_code"]
    complex_alternatives = [next((n for n in names if n not in spec.plain), names[0]) for names, _ in spec.choices]
    keys += sorted(set(complex_alternatives))
    required = [names[0] for names in spec.required]
    # Two alternatives of one choice (asNeededBoolean and asNeededCodeableConcept): what only the choice rule faults.
    twice = [[next((n for n in names if n in spec.plain), names[0]), other]
             for (names, _), other in zip(spec.choices, complex_alternatives)]

    def value_for(key: str) -> st.SearchStrategy:
        is_list, child, primitive, _ = spec.plan.get(key, (False, None, None, None))
        one = [st.sampled_from(BENT_VALUES)]
        if primitive is not None:
            one.append(st.sampled_from(PRIMITIVE_VALUES[primitive]))
        if child is not None and depth < 3:
            one.append(element_of(child, depth + 1))
        item = st.one_of(*one)
        if key == "extension":  # most often the project's extensions, in their place or not
            project = st.builds(lambda url: {"url": url, "valueCode": "KRd"}, st.sampled_from(URLS[:3]))
            return st.one_of(st.lists(project, min_size=1, max_size=2), st.lists(item, max_size=2), item)
        return st.one_of(st.lists(item, max_size=2), item) if is_list else item

    chosen = st.tuples(st.sampled_from([[], required, required]), st.sampled_from([[], [], ["extension"]] + twice),
                       st.lists(st.sampled_from(keys), max_size=4)).map(
        lambda drawn: list(dict.fromkeys(drawn[0] + drawn[1] + drawn[2])))
    return chosen.flatmap(lambda keys: st.fixed_dictionaries({key: value_for(key) for key in keys}))


@settings(max_examples=max(1000, TOTAL * 4), **_SETTINGS)
@given(st.sampled_from(FLAT_TYPES).flatmap(lambda name: st.tuples(st.just(name), element_of(name))))
# Each thing the check faults in an element of plain values, always tried (the draws find them only sometimes):
@example(("Coding", {"system": "urn:x", "code": ""}))                                    # an empty string
@example(("Quantity", {"value": True, "unit": "mg"}))                                    # a boolean for a decimal
@example(("CodeableConcept", {"coding": {"code": "c"}}))                                 # one value for a list
@example(("Extension", {"valueCode": "KRd"}))                                            # a required url missing
@example(("Dosage", {"asNeededBoolean": True, "asNeededCodeableConcept": {"text": "prn"}}))  # a choice twice
@example(("Coding", {"code": "c", "extension": [{"url": URLS[0], "valueCode": "KRd"}]}))    # an extension misplaced
@example(("Dosage", {"modifierExtension": [{"url": "urn:x", "valueCode": "c"}]}))        # a modifier
@example(("Reference", {"identifier": {"assigner": {"identifier": {"type": {"coding": [{"code": "c"}]}}}}}))  # deep
def test_what_the_plain_element_fast_path_passes_the_check_passes(case):
    """structure.is_plain_element, which lets an element through without check(): wherever it says yes, check()
    finds nothing in that element either (drawn element by element, some of each type passing)."""
    from chemo_protovalidate.read.fhir import structure

    type_name, value = case
    found = []
    structure.check(value, type_name, "", lambda *args, **kwargs: found.append(args))
    if structure.is_plain_element(value, structure.FLAT[type_name]):
        assert found == [], (type_name, value)


def _conversion(document: Doc) -> str:
    from chemo_protovalidate.read.fhir import interface
    from chemo_protovalidate.read.jsonld import load_json

    try:
        text = document.data.decode("utf-8")
    except UnicodeDecodeError:  # a lone surrogate drawn: read_document refuses the file before any conversion
        return "not UTF-8"
    loaded, finding = load_json(text)
    return repr(finding) if finding is not None else repr(interface.convert(loaded))


@budget("fast paths")
@given(st.one_of(day_mutations(), element_mutations(), mutated_documents()))
def test_the_fast_paths_find_what_the_checks_find(document: Doc):
    """The converter gives the same orders, places and findings with the structure checks' fast paths as with
    every element checked the long way."""
    from unittest import mock

    from chemo_protovalidate.read.fhir import requests, structure

    fast = _conversion(document)
    with mock.patch.object(structure, "is_plain_days_carrier", lambda value: False), \
            mock.patch.object(structure, "are_plain_days", lambda subs: False), \
            mock.patch.object(structure, "is_plain_element", lambda value, plain: False), \
            mock.patch.object(requests, "plain_days", lambda carrier, pointer: None):
        slow = _conversion(document)
    assert fast == slow
