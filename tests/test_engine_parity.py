"""The fast engine gives exactly the findings pyshacl gives on the same shapes.

The Oxigraph engine evaluates each SHACL-SPARQL query once per order with
$this free; SHACL (and pyshacl) evaluates it once per focus node with $this
pre-bound. This is the test that the shapes keep the house rule under which
the two agree.

The fast engine also checks many orders in one store (engine.py): every
example order is checked alone and in one run with every other example order,
and the two must agree, so that an order that could see another would show.

The reference costs about a second an order (pyshacl evaluates each query
once per focus node, in rdflib): the default run (CI) compares a deterministic
sample of the examples that covers every stratum: each folder (valid,
invalid, warning, info), file syntax and regimen, each regimen's cycle 1, 2,
3-6 and >= 7, a file of several orders, and every rule of the .expected
files (77 of the 235 examples). PROTOVALIDATE_PARITY=full compares every
example order.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from chemo_protovalidate.check.engine import PyshaclEngine
from chemo_protovalidate.read.documents import ORDER_SUFFIXES, read_document
from conftest import EXAMPLES
from engine_compare import comparable, cover
from expected import expected_path, read_expected

ORDERS = sorted(p for folder in ("valid", "invalid", "warning", "info") if (EXAMPLES / folder).is_dir()
                for p in (EXAMPLES / folder).iterdir() if p.suffix in ORDER_SUFFIXES)
FULL = os.environ.get("PROTOVALIDATE_PARITY", "").lower() == "full"


def strata(path: Path) -> set[tuple]:
    """What an example stands for in the sample. Read off the text (the examples include files that are not
    JSON, or not RDF): the regimens and the first order's cycle as written, and the .expected file's rules."""
    text = path.read_text("utf-8", errors="replace")
    out = {("folder", path.parent.name), ("syntax", path.suffix)}
    regimens = re.findall(r'"regimen"\s*:\s*"([^"]+)"', text)
    out |= {("regimen", regimen) for regimen in regimens}
    cycle = re.search(r'"cycle"\s*:\s*(\d{1,4})\b', text)
    if regimens and cycle:
        number = int(cycle.group(1))
        out.add(("regimen in cycle", regimens[0], str(number) if number <= 2 else "3-6" if number <= 6 else "7+"))
    if len(regimens) > 1:
        out.add(("several orders in a file",))
    if expected_path(path).exists():
        out |= {("rule", row[2]) for row in read_expected(expected_path(path))}
    return out


# pyshacl's cost grows faster than an order's size: the sample covers the strata with the smaller files.
SAMPLE = ORDERS if FULL else sorted(cover(ORDERS, strata, lambda path: path.stat().st_size ** 2))


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


def test_the_sample_covers_every_stratum():
    assert set().union(*map(strata, SAMPLE)) == set().union(*map(strata, ORDERS))
    assert {p.parent.name for p in SAMPLE} == {"valid", "invalid", "warning", "info"}
    assert len(SAMPLE) >= 60


@pytest.mark.parametrize("path", SAMPLE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_same_findings_as_pyshacl(validator, reference, together, path):
    document = read_document(str(path), path.read_bytes(), validator.kb.context)
    for order in document.orders:
        expected = comparable(reference.check(order.graph))
        assert comparable(validator.engine.check(order.graph)) == expected, order.label
        assert together[path, order.label] == [expected, expected], f"{order.label}, checked beside the others"


@pytest.mark.parametrize("path", ORDERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_checked_beside_the_others_as_alone(validator, together, path):
    """Every example, sampled or not: the fast engine finds the same on an order alone and in one run with all."""
    document = read_document(str(path), path.read_bytes(), validator.kb.context)
    for order in document.orders:
        alone = comparable(validator.engine.check(order.graph))
        assert together[path, order.label] == [alone, alone], f"{order.label}, checked beside the others"


def test_the_comparison_can_tell_engines_apart(validator, reference):
    """A guard on the test itself: a changed message must not compare equal."""
    path = EXAMPLES / "invalid" / "off-schedule.jsonld"
    order = next(iter(read_document(str(path), path.read_bytes(), validator.kb.context).orders))
    ours = validator.engine.check(order.graph)
    assert ours
    tampered = [type(f)(**{**f.__dict__, "message": f.message + "!"}) for f in ours]
    assert comparable(tampered) != comparable(reference.check(order.graph))
