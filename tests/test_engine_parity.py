"""The fast engine gives exactly the findings pyshacl gives on the same shapes.

The Oxigraph engine evaluates each SHACL-SPARQL query once per order with
$this free; SHACL (and pyshacl) evaluates it once per focus node with $this
pre-bound. This is the test that the shapes keep the house rule under which
the two agree.

The fast engine also checks many orders in one store (engine.py): each order
is compared twice, checked alone and checked in one run with every other
example order, so that an order that could see another would show here.
"""

from __future__ import annotations

import pytest

from chemo_protovalidate.check.engine import PyshaclEngine
from chemo_protovalidate.read.documents import ORDER_SUFFIXES, read_document
from conftest import EXAMPLES
from engine_compare import comparable

ORDERS = sorted(p for folder in ("valid", "invalid", "warning", "info") if (EXAMPLES / folder).is_dir()
                for p in (EXAMPLES / folder).iterdir() if p.suffix in ORDER_SUFFIXES)


@pytest.fixture(scope="module")
def reference(validator):
    return PyshaclEngine(validator.kb, validator.catalogue)


@pytest.fixture(scope="module")
def together(validator):
    """Every example order's findings from one call: the orders share batches (and one batch, all of them)."""
    orders = [(path, order) for path in ORDERS
              for order in read_document(str(path), path.read_bytes(), validator.kb.context).orders]
    graphs = [order.graph for _, order in orders]
    findings = {}
    for batch_size in (validator.engine.batch_size, len(graphs)):
        validator.engine.batch_size, default = batch_size, validator.engine.batch_size
        try:
            for (path, order), found in zip(orders, validator.engine.check_many(graphs)):
                findings.setdefault((path, order.label), []).append(comparable(found))
        finally:
            validator.engine.batch_size = default
    return findings


@pytest.mark.parametrize("path", ORDERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_same_findings_as_pyshacl(validator, reference, together, path):
    document = read_document(str(path), path.read_bytes(), validator.kb.context)
    for order in document.orders:
        expected = comparable(reference.check(order.graph))
        assert comparable(validator.engine.check(order.graph)) == expected, order.label
        assert together[path, order.label] == [expected, expected], f"{order.label}, checked beside the others"


def test_the_comparison_can_tell_engines_apart(validator, reference):
    """A guard on the test itself: a changed message must not compare equal."""
    path = EXAMPLES / "invalid" / "off-schedule.jsonld"
    order = next(iter(read_document(str(path), path.read_bytes(), validator.kb.context).orders))
    ours = validator.engine.check(order.graph)
    assert ours
    tampered = [type(f)(**{**f.__dict__, "message": f.message + "!"}) for f in ours]
    assert comparable(tampered) != comparable(reference.check(order.graph))
