"""A FHIR order is judged exactly as the order it maps to (fhir.md, its opening and 9.3).

Every example order of examples/orders/ whose findings come from the rules (valid/, and the orders of invalid/,
warning/ and info/ whose .expected names none of the JSON-LD reader's own format rules: the filter of
tests/test_rdf_syntaxes.py) is written by tests/fhir_writer.py once as a RequestGroup (9.1's layout) and once as
a Bundle of MedicationRequests (9.2's layout), and each gives the same findings as the JSON-LD original: the same
(rule, severity, agent, cycle, day) multiset, no more, no fewer. The writer declines, with its reason, the orders
FHIR cannot say the same way; those are named below, and the count of orders compared is asserted.

All files go through one session Pipeline, in one check_files batch per run (the engine runs each query once per
batch of orders): the whole module stays well under a minute.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from chemo_protovalidate.read.jsonld import FORMAT_RULES
from conftest import EXAMPLES
from expected import expected_path, read_expected
import fhir_writer

FOLDERS = ("valid", "invalid", "warning", "info")

# Orders about the rules that the writer declines, and why (a word of its reason): FHIR has its own finding
# for each (fhir-invalid-value for a value of the wrong type, fhir-required-missing, fhir-route-unknown, ...),
# or the mapping drops what the finding is about (a patient @id shared by two orders: fhir.md 4.1).
UNWRITABLE = {
    "valid/two-orders-array.jsonld": "share a patient",
    "invalid/dose-level-below-protocol-3.jsonld": "doseReduction reason",
    "invalid/not-a-boolean.jsonld": "not a boolean",
    "invalid/not-a-number-2.jsonld": "not a number",
    "invalid/not-a-number-3.jsonld": "not a number",
    "invalid/not-a-number-nested-day-object.jsonld": "not a number",
    "invalid/not-a-number.jsonld": "not a number",
    "invalid/not-a-whole-number-2.jsonld": "not a whole number",
    "invalid/not-a-whole-number.jsonld": "not a whole number",
    "invalid/order-missing-field.jsonld": "has no regimen",
    "invalid/order-missing-field-empty-administrations.jsonld": "non-empty list",
    "invalid/patient-data-conflict.jsonld": "share a patient",
    "invalid/patient-value-not-positive.jsonld": "no birthDate",
    "invalid/quantity-incomplete-2.jsonld": "not a number",
    "invalid/quantity-incomplete-bare-weight.jsonld": "not an object",
}


def _about_the_rules(path) -> bool:
    if path.parent.name == "valid":
        return True
    return not any(row[2] in FORMAT_RULES for row in read_expected(expected_path(path)))


ORDERS = sorted((p for folder in FOLDERS for p in (EXAMPLES / folder).glob("*.jsonld") if _about_the_rules(p)),
                key=lambda p: (p.parent.name, p.name))


def _id(path) -> str:
    return f"{path.parent.name}/{path.name}"


def _verdict(result) -> list[tuple]:
    return sorted(((f.rule_id, f.severity.value, f.agent, f.cycle, f.day) for f in result.all_findings()), key=repr)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict:
    """Each order as the writer writes it: id -> {"jsonld": path, "requestgroup": path, "bundle": path} or the
    writer's reason for declining."""
    folder = tmp_path_factory.mktemp("fhir-equivalence")
    out = {}
    for path in ORDERS:
        document = json.loads(path.read_text("utf-8"))
        layouts = {"requestgroup": fhir_writer.request_group(document), "bundle": fhir_writer.bundle(document)}
        if any(w.document is None for w in layouts.values()):
            out[_id(path)] = next(w.why for w in layouts.values() if w.document is None)
            continue
        files = {"jsonld": path}
        for layout, w in layouts.items():
            copy = folder / f"{path.parent.name}-{path.stem}.{layout}.json"
            copy.write_text(json.dumps(w.document, indent=2, ensure_ascii=False) + "\n", "utf-8")
            files[layout] = copy
        out[_id(path)] = files
    return out


@pytest.fixture(scope="module")
def verdicts(validator, written) -> dict:
    """Every file's verdict, from one check_files run over all of them."""
    paths = [p for files in written.values() if isinstance(files, dict) for p in files.values()]
    results = validator.check_files((str(p), p.read_bytes()) for p in paths)
    return {str(p): _verdict(r) for p, r in zip(paths, results)}


def test_the_writer_declines_exactly_the_named_orders(written):
    declined = {name: why for name, why in written.items() if isinstance(why, str)}
    assert sorted(declined) == sorted(UNWRITABLE)
    for name, why in declined.items():
        assert UNWRITABLE[name] in why, (name, why)


def test_how_many_orders_are_compared(written):
    compared = [name for name, files in written.items() if isinstance(files, dict)]
    assert len(ORDERS) == 218
    assert len(compared) == len(ORDERS) - len(UNWRITABLE) == 203
    assert len([n for n in compared if n.startswith("invalid/")]) >= 100


@pytest.mark.parametrize("name", [_id(p) for p in ORDERS if _id(p) not in UNWRITABLE])
@pytest.mark.parametrize("layout", ["requestgroup", "bundle"])
def test_fhir_gives_the_same_findings(written, verdicts, name, layout):
    files = written[name]
    original, fhir = verdicts[str(files["jsonld"])], verdicts[str(files[layout])]
    assert Counter(fhir) == Counter(original), _difference(original, fhir)


def test_the_comparison_is_on_real_findings(written, verdicts):
    """Equal verdicts are worth something only if there are findings to agree on: most compared orders have
    some, and between them most of the rules."""
    originals = [verdicts[str(files["jsonld"])] for files in written.values() if isinstance(files, dict)]
    assert sum(1 for verdict in originals if verdict) >= 140
    assert len({row[0] for verdict in originals for row in verdict}) >= 40
    assert sum(1 for verdict in originals for row in verdict if row[1] == "error") >= 200


def _difference(original: list, fhir: list) -> str:
    extra, missing = Counter(fhir) - Counter(original), Counter(original) - Counter(fhir)
    return f"FHIR adds {sorted(extra.elements(), key=repr)}; FHIR lacks {sorted(missing.elements(), key=repr)}"


# --- the mapping itself: what the converter reads back is the order that was written -------------------------------


def _as_mapped(order: dict) -> dict:
    """The order as fhir.md says it maps: no @context to compare, no patient @id, a day as its one-day list."""
    order = {k: v for k, v in order.items() if k != "@context"}
    order["patient"] = {k: v for k, v in order["patient"].items() if k != "@id"}
    order["administrations"] = [
        {("days" if k == "day" else k): ([int(d) for d in v] if k == "days" else [int(v)] if k == "day" else v)
         for k, v in a.items()} for a in order["administrations"]]
    return order


@pytest.mark.parametrize("layout", ["requestgroup", "bundle"])
def test_the_converter_reads_back_what_was_written(written, layout):
    from chemo_protovalidate.read.fhir.interface import convert

    differences = []
    for name, files in written.items():
        if isinstance(files, str):
            continue
        original = fhir_writer.orders_of(json.loads(files["jsonld"].read_text("utf-8")))
        conversion = convert(json.loads(files[layout].read_text("utf-8")))
        mapped = [{k: v for k, v in o.order.items() if k != "@context"} if o.order else None
                  for o in conversion.orders]
        if mapped != [_as_mapped(o) for o in original]:
            differences.append(f"{name}: {mapped} != {[_as_mapped(o) for o in original]}"[:600])
    assert not differences, f"{len(differences)} orders read back differently:\n" + "\n".join(differences[:5])
