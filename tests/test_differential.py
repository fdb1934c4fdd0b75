"""Differential test: the fast engine and pyshacl give the same findings on the benchmark corpus.

The corpus is bench/corpus.py's default one (1,000 full-cycle orders, default
seed; about one in ten with one fault). Each order is checked by the default
``Pipeline()`` (the Oxigraph engine) and by ``Pipeline(engine=PyshaclEngine)``
(the reference: pyshacl over the same shapes), and the two must give the same
findings per order, compared as tests/test_engine_parity.py compares them
(tests/engine_compare.py). The fast engine checks orders many at a time,
across files (``Pipeline.check_files``, as the command does on a folder): each
order is compared as checked alone and as checked in one run with the rest
of the sample (or corpus), so that an order that could see another's would
show.

The reference costs seconds an order, so the default run (CI) takes a
deterministic stratified sample: every one of the eleven regimens in cycle 1,
2, 3-6 and >= 7, every fault kind, every regimen with a fault and every rule
id a fault of the corpus draws, every way of writing doses (level and dose,
dose only, mixed), every unit system, a given BSA, a dose basis, every
dexamethasone scheme (weekly, split over the carfilzomib days, over 75,
Isa-Kd's), every daratumumab route and split, every lenalidomide band
(dialysis included), both H1 antihistamines and both antivirals,
single-day administrations; then more orders drawn at random up to
SAMPLE_SIZE. PROTOVALIDATE_DIFFERENTIAL=full checks the whole corpus.
Run with -s -n 0 (one process: the suite runs on every core by default) to see how many orders
were checked and how long it took.
"""

from __future__ import annotations

import os
import random
import sys
import time

import pytest

from chemo_protovalidate.check.engine import PyshaclEngine
from chemo_protovalidate.check.pipeline import Pipeline
from conftest import ROOT
from engine_compare import comparable, cover

sys.path.insert(0, str(ROOT / "bench"))
import corpus  # noqa: E402

FULL = os.environ.get("PROTOVALIDATE_DIFFERENTIAL", "").lower() == "full"
SAMPLE_SIZE = 64
ITEMS, MANIFEST = corpus.build()          # in memory: 1,000 orders in well under a second


def strata(entry: dict) -> set[tuple]:
    """What an order stands for in the sample."""
    shape, fault, regimen, cycle = entry["shape"], entry["fault"], entry["regimen"], entry["cycle"]
    bucket = str(cycle) if cycle <= 2 else "3-6" if cycle <= 6 else "7+"
    out = {("regimen", regimen, bucket), ("doses", shape["doses"]), ("units", shape["units"]),
           ("bsa given", shape["bsa_given"]), ("one day each", shape["one_day_each"]),
           ("dose basis", shape["dose_basis"]), ("dexamethasone", shape["dexamethasone"]),
           ("antiviral", shape["antiviral"])}
    for key in ("daratumumab", "lenalidomide", "h1"):
        if key in shape:
            out.add((key, shape[key]))
    if fault:
        out |= {("fault", fault["kind"]), ("fault in", regimen)} | {("fault rule", r) for r in fault["rules"]}
    return out


# The reference's cost grows faster than the administrations of an order (a 24-administration order
# costs pyshacl about 40 times a 9-administration one): the sample covers the strata cheaply.
CHEAP = 10                 # administrations: the random orders that fill the sample up are no bigger


def cost(item) -> int:
    return max(1, item.entry["shape"]["administrations"]) ** 2


def stratified_sample(items, size: int) -> list:
    """Greedy cover of every stratum (the order covering most new strata for its cost first: the
    reference's cost grows with the square of the administrations, and more), then random orders of
    at most CHEAP administrations up to ``size``. Deterministic."""
    rng = random.Random("differential-sample")
    pool = list(items)
    rng.shuffle(pool)
    picked = cover(pool, lambda i: strata(i.entry), cost)
    cheap = [i for i in pool if i not in picked and i.entry["shape"]["administrations"] <= CHEAP]
    picked += cheap[: max(0, size - len(picked))]
    return sorted(picked, key=lambda i: i.name)


SAMPLE = ITEMS if FULL else stratified_sample(ITEMS, SAMPLE_SIZE)
TALLY = {"orders": 0, "faulted": 0, "findings": 0, "seconds": 0.0}


@pytest.fixture(scope="module")
def reference(validator):
    return Pipeline(kb=validator.kb, engine=PyshaclEngine)


@pytest.fixture(scope="module")
def together(validator):
    """The fast engine's results for every order of the run, checked in one call."""
    return {result.path: result for result in validator.check_files([(i.name, i.data) for i in SAMPLE])}


@pytest.fixture(scope="module", autouse=True)
def summary():
    yield
    if TALLY["orders"]:
        print(f"\ndifferential: {TALLY['orders']} orders of the {len(ITEMS)}-order corpus "
              f"({'whole corpus' if FULL else 'stratified sample'}; {TALLY['faulted']} with a fault), "
              f"{TALLY['findings']} findings compared; pyshacl {TALLY['seconds']:.1f} s")


def test_the_sample_covers_every_stratum():
    assert len(SAMPLE) >= 60 or FULL
    wanted = set().union(*(strata(i.entry) for i in ITEMS))
    assert wanted == set().union(*(strata(i.entry) for i in SAMPLE))
    assert {i.entry["regimen"] for i in SAMPLE} == set(corpus.REGIMEN_IDS)
    assert {i.entry["fault"]["kind"] for i in SAMPLE if i.entry["fault"]} == set(corpus.CORPUS_KINDS)
    assert stratified_sample(ITEMS, SAMPLE_SIZE) == SAMPLE or FULL     # deterministic


@pytest.mark.parametrize("item", SAMPLE, ids=lambda i: f"{i.name}-{i.entry['regimen']}-c{i.entry['cycle']}"
                         + (f"-{i.entry['fault']['kind']}" if i.entry["fault"] else ""))
def test_same_findings_as_pyshacl(validator, reference, together, item):
    started = time.perf_counter()
    theirs = reference.check(item.name, item.data)
    TALLY["seconds"] += time.perf_counter() - started
    for how, ours in (("alone", validator.check(item.name, item.data)), ("beside the others", together[item.name])):
        assert len(ours.orders) == len(theirs.orders) == 1
        assert comparable(ours.findings) == comparable(theirs.findings), how
        for mine, other in zip(ours.orders, theirs.orders):
            assert comparable(mine.findings) == comparable(other.findings), (
                f"{item.name} ({how}) {item.entry['fault'] or 'valid'}:\n  fast: {[f.rule_id for f in mine.findings]}"
                f"\n  pyshacl: {[f.rule_id for f in other.findings]}")
    TALLY["orders"] += 1
    TALLY["faulted"] += bool(item.entry["fault"])
    TALLY["findings"] += len(ours.all_findings())
