"""Hostile and oversized input: a finding or a bounded run, never a traceback, never a fetch (SECURITY.md)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import EXAMPLES
from test_cli import COMMAND, VALID, run

ORDER = json.loads(VALID.read_text("utf-8"))


def _write(tmp_path, name: str, content) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    return str(path)


def _rules(done) -> list[str]:
    return sorted({line.split("[", 1)[1].split("]", 1)[0] for line in done.stdout.decode().splitlines() if "[" in line})


def test_limits_are_findings_not_crashes(tmp_path):
    done = run("--max-bytes", "1000", str(VALID))
    assert done.returncode == 1 and _rules(done) == ["file-too-large"]
    done = run("--max-administrations", "3", str(VALID))
    assert done.returncode == 1 and _rules(done) == ["order-too-large"]
    assert "8 administrations" in done.stdout.decode()


def test_an_rdf_order_over_the_administration_limit(tmp_path):
    turtle = EXAMPLES / "invalid" / "remote-import.ttl"
    done = run("--max-administrations", "3", str(turtle))
    assert done.returncode == 1 and "order-too-large" in _rules(done)


def test_deep_nesting_huge_numbers_and_nan(tmp_path):
    for name, text in (("deep.jsonld", "[" * 10_000 + "]" * 10_000), ("huge.jsonld", '{"cycle": 1e400}'),
                       ("nan.jsonld", '{"cycle": NaN}'), ("empty.jsonld", ""), ("nul.jsonld", "\0\0")):
        done = run(_write(tmp_path, name, text))
        assert done.returncode == 1 and b"Traceback" not in done.stderr, name
        assert _rules(done) == ["not-json"], (name, done.stdout)


def test_vocab_does_not_turn_a_typo_into_a_key(tmp_path):
    order = {**ORDER, "@context": [ORDER["@context"], {"@vocab": "https://w3id.org/protovalidate/ontology#"}],
             "cylce": 1}
    done = run(_write(tmp_path, "vocab.jsonld", order))
    assert done.returncode == 1 and "undefined-key" in _rules(done) and '"cylce"' in done.stdout.decode()


def test_a_protected_term_cannot_be_redefined(tmp_path):
    order = {**ORDER, "@context": [ORDER["@context"], {"dose": "https://evil.example/ignored"}]}
    done = run(_write(tmp_path, "override.jsonld", order))
    assert done.returncode == 1 and _rules(done) == ["context-override"]


def test_remote_contexts_anywhere_are_refused_without_a_fetch(tmp_path):
    nested = {**ORDER, "patient": {**ORDER["patient"], "@context": "https://evil.example/ctx.jsonld"}}
    imported = {**ORDER, "@context": [ORDER["@context"], {"@import": "https://evil.example/ctx.jsonld"}]}
    for name, order in (("nested.jsonld", nested), ("import.jsonld", imported)):
        done = run(_write(tmp_path, name, order))
        assert done.returncode == 1 and "remote-context" in _rules(done), name
        assert b"never uses the network" not in done.stderr  # refused before anything tried to fetch


def test_one_broken_order_among_many_hides_nothing(tmp_path):
    orders = [{**ORDER, "@id": f"urn:test:order:{i}", "patient": {**ORDER["patient"], "@id": f"urn:test:patient:{i}"}}
              for i in range(30)]
    orders[17] = {**orders[17], "cycle": 0}
    done = run(_write(tmp_path, "many.jsonld", orders))
    assert done.returncode == 1 and "30 orders checked" in done.stderr.decode()
    assert [line for line in done.stdout.decode().splitlines() if "urn:test:order:17" not in line] == []


def test_the_same_input_gives_the_same_report_byte_for_byte():
    first = run("--format", "json", str(EXAMPLES / "invalid"))
    assert first.stdout == run("--format", "json", str(EXAMPLES / "invalid")).stdout


# An RDF order may state a property twice where JSON cannot, or import a blank node (fuzzing found the
# report then depended on Python's string hashing or on rdflib's blank-node labels, which change from
# process to process), or give a day too large for a float (an internal error, found the same way).
TWICE = """\
<urn:example:order:1> <https://w3id.org/protovalidate/ontology#administration> <urn:x> .
<urn:example:order:1> <https://w3id.org/protovalidate/ontology#administration> _:a .
<urn:example:order:1> <https://w3id.org/protovalidate/ontology#regimen> _:b0 .
<urn:example:order:1> <https://w3id.org/protovalidate/ontology#patient> <urn:x> .
<urn:example:order:1> <https://w3id.org/protovalidate/ontology#cycle> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .
<urn:example:order:1> <https://w3id.org/protovalidate/ontology#regimen> "KRd" .
<urn:example:order:1> <https://w3id.org/protovalidate/ontology#regimen> "KCyD" .
<urn:example:order:1> <https://w3id.org/protovalidate/ontology#regimen> "Kd-weekly-56" .
_:a <https://w3id.org/protovalidate/ontology#agent> "carfilzomib" .
_:a <https://w3id.org/protovalidate/ontology#agent> "dexamethasone" .
_:a <https://w3id.org/protovalidate/ontology#day> "1e309"^^<http://www.w3.org/2001/XMLSchema#double> .
<urn:example:order:1> <http://www.w3.org/2002/07/owl#imports> _:elsewhere .
"""


def test_a_property_stated_twice_gives_the_same_report_in_every_process(tmp_path):
    order = tmp_path / "twice.nt"
    order.write_text(TWICE)
    reports = set()
    for seed in ("1", "2", "3"):
        done = subprocess.run([COMMAND, "--format", "json", str(order)], capture_output=True, timeout=120,
                              env={**os.environ, "PYTHONHASHSEED": seed})
        assert done.returncode == 1, done.stderr.decode()
        reports.add(done.stdout)
    assert len(reports) == 1


# Every key of the format given every kind of JSON value: where it sits in an order.
_PLACES = {"order": ("regimen", "cycle", "patient", "administrations"),
           "patient": ("age", "weight", "height", "bsa", "creatinineClearance", "neutrophils", "platelets", "dialysis",
                       "doseBasis"),
           "administration": ("agent", "day", "days", "doseLevel", "dose", "route", "infusionDuration", "doseReduction"),
           "reduction": ("reason",), "quantity": ("value", "unit")}
_KINDS = ["text", 7, 7.5, True, None, [1, 2], {"x": 1}, [], {}, [{"value": 1, "unit": "kg"}]]


def test_the_places_cover_every_key_of_the_format():
    from chemo_protovalidate.read.jsonld import KEY_SHAPES
    assert sorted(k for keys in _PLACES.values() for k in keys) == sorted(KEY_SHAPES)


@pytest.mark.parametrize("place, key", [(place, key) for place, keys in _PLACES.items() for key in keys])
def test_any_value_for_any_key_is_a_placed_finding_never_a_traceback(validator, place, key):
    """Any kind of value anywhere: never an exception, every finding with its line and column, and an error
    wherever the kind is not the one the key's shape asks for (null is JSON-LD's "no value")."""
    for value in _KINDS:
        order = json.loads(json.dumps(ORDER))
        administration = order["administrations"][0]
        administration["doseReduction"] = {"reason": "neuropathy"}
        target = {"order": order, "patient": order["patient"], "administration": administration,
                  "reduction": administration["doseReduction"], "quantity": order["patient"]["weight"]}[place]
        target[key] = value
        findings = validator.check("order.jsonld", json.dumps(order, indent=1).encode()).all_findings()
        assert [(f.rule_id, f.message) for f in findings if not (f.line and f.column)] == [], (key, value)
        if _wrong_kind(key, value):
            assert any(f.severity.value == "error" for f in findings), (key, value)


def _wrong_kind(key: str, value) -> bool:
    from chemo_protovalidate.read.jsonld import KEY_SHAPES
    shape = KEY_SHAPES[key]
    if value is None or shape == "list" or shape == "part":
        return False
    if shape in ("object", "quantity"):
        return not isinstance(value, dict) or (shape == "quantity" and set(value) != {"value", "unit"})
    if shape == "text":
        return not isinstance(value, str)
    if shape == "objects":
        return not (isinstance(value, list) and value and all(isinstance(v, dict) for v in value))
    return isinstance(value, (list, dict))     # "one": one value, of a kind the rules judge
