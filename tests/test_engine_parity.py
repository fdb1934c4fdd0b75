"""The fast engine gives exactly the findings pyshacl gives on the same shapes.

The Oxigraph engine evaluates each SHACL-SPARQL query once per order with
$this free; SHACL (and pyshacl) evaluates it once per focus node with $this
pre-bound. This is the test that the shapes keep the house rule under which
the two agree.
"""

from __future__ import annotations

import pytest

from chemo_protovalidate.documents import ORDER_SUFFIXES, read_document
from chemo_protovalidate.engine import PyshaclEngine
from conftest import EXAMPLES
from engine_compare import comparable

ORDERS = sorted(p for folder in ("valid", "invalid") for p in (EXAMPLES / folder).iterdir()
                if p.suffix in ORDER_SUFFIXES)


@pytest.fixture(scope="module")
def reference(validator):
    return PyshaclEngine(validator.kb, validator.catalogue)


@pytest.mark.parametrize("path", ORDERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_same_findings_as_pyshacl(validator, reference, path):
    document = read_document(str(path), path.read_bytes(), validator.kb.context)
    for order in document.orders:
        assert comparable(validator.engine.check(order.graph)) == comparable(reference.check(order.graph)), order.label


def test_the_comparison_can_tell_engines_apart(validator, reference):
    """A guard on the test itself: a changed message must not compare equal."""
    path = EXAMPLES / "invalid" / "off-schedule.jsonld"
    order = next(iter(read_document(str(path), path.read_bytes(), validator.kb.context).orders))
    ours = validator.engine.check(order.graph)
    assert ours
    tampered = [type(f)(**{**f.__dict__, "message": f.message + "!"}) for f in ours]
    assert comparable(tampered) != comparable(reference.check(order.graph))
