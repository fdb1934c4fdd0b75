"""The fast engine gives exactly the findings pyshacl gives on the same shapes.

The Oxigraph engine evaluates each SHACL-SPARQL query once per order with
$this free; SHACL (and pyshacl) evaluates it once per focus node with $this
pre-bound. This is the test that the shapes keep the house rule under which
the two agree.
"""

from __future__ import annotations

import re

import pytest

from chemo_protovalidate.documents import ORDER_SUFFIXES, read_document
from chemo_protovalidate.engine import PyshaclEngine
from conftest import EXAMPLES

ORDERS = sorted(p for folder in ("valid", "invalid") for p in (EXAMPLES / folder).iterdir()
                if p.suffix in ORDER_SUFFIXES)


@pytest.fixture(scope="module")
def reference(validator):
    return PyshaclEngine(validator.kb, validator.catalogue)


def _comparable(findings):
    """Rule, severity, focus node, and the message as a bag of words.

    Two things may differ between engines and are not verdicts: the order of
    a GROUP_CONCAT listing (SPARQL leaves it open), and how a number built into
    a message inside the query is spelt (rdflib keeps "72.0", Oxigraph writes "72").
    """
    return sorted((f.rule_id, f.severity.value, f.focus, tuple(sorted(map(_word, WORD.findall(f.message.rstrip("."))))))
                  for f in findings)


WORD = re.compile(r"[^\s,;:()]+")


def _word(word: str) -> str:
    try:
        return f"{float(word.rstrip('.')):g}"
    except ValueError:
        return word


@pytest.mark.parametrize("path", ORDERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_same_findings_as_pyshacl(validator, reference, path):
    document = read_document(str(path), path.read_bytes(), validator.kb.context)
    for order in document.orders:
        assert _comparable(validator.engine.check(order.graph)) == _comparable(reference.check(order.graph)), order.label


def test_the_comparison_can_tell_engines_apart(validator, reference):
    """A guard on the test itself: a changed message must not compare equal."""
    path = EXAMPLES / "invalid" / "off-schedule.jsonld"
    order = next(iter(read_document(str(path), path.read_bytes(), validator.kb.context).orders))
    ours = validator.engine.check(order.graph)
    assert ours
    tampered = [type(f)(**{**f.__dict__, "message": f.message + "!"}) for f in ours]
    assert _comparable(tampered) != _comparable(reference.check(order.graph))
