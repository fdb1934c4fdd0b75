"""No false accept: single-fault mutants of every valid example order are all rejected.

From every valid example order (one order at a time; the other orders of an
array or @graph file stay as they are) tests/mutants.py makes mutants that each
change ONE thing and are, by protocols.md, clinically wrong orders:

  amount-over        a regimen agent's dose x1.06 ... x2.0 (doseLevel kept, or dropped)
  level-up           a dose level one step above the protocol's, dose scaled with it
  day-off-schedule   one day of a regimen agent moved to a day its schedule does not list
  agent-swapped      a regimen agent replaced by a regimen agent outside the regimen
  route-changed      a route the agent may not take
  priming-skipped    carfilzomib's cycle 1 priming (20 mg/m2) given at the escalated level
  bsa-cap-ignored    carfilzomib computed on a BSA above 2.2 m2 without the cap

Each is kept only if the test's own reading of the rule book (mutants.order_faults)
finds a fault in it, so that a mutation still inside the protocol (dexamethasone
20 -> 25 mg in a 20-40 mg regimen) is not counted; those are checked the other way
round: they must not be rejected. A mutant is rejected when the validator gives at
least one finding of severity error (warnings do not stop an order).

The default run checks a deterministic sample of each kind (every regimen and every
sort of change of that kind at least once); PROTOVALIDATE_MUTANTS=all checks every
candidate. Run with -s to see the counts.
"""

from __future__ import annotations

import copy
import os
import time
from collections import Counter

import pytest

import mutants as M
from conftest import EXAMPLES

SOURCES = M.load_sources(EXAMPLES / "valid")
CANDIDATES, WITHIN_PROTOCOL = M.generate(SOURCES)
EVERY = os.environ.get("PROTOVALIDATE_MUTANTS", "").lower() == "all"
MUTANTS = CANDIDATES if EVERY else M.sample(CANDIDATES, M.QUOTAS)
REGIMENS_PRESENT = sorted({o["regimen"] for s in SOURCES for o in s.orders()})

TALLY: dict[str, tuple[int, int, float]] = {}   # kind -> (tried, candidates, seconds)


def errors(result) -> list:
    return [f for f in result.all_findings() if f.severity.value == "error"]


def findings_text(result) -> str:
    return "; ".join(f"{f.severity.value} {f.rule_id}" + (f" ({f.agent} d{f.day})" if f.agent else "")
                     for f in result.all_findings()) or "no findings"


@pytest.fixture(scope="module", autouse=True)
def summary():
    yield
    if TALLY:
        parts = [f"{kind} {TALLY[kind][0]}" for kind in M.KINDS if kind in TALLY]
        total = sum(t[0] for t in TALLY.values())
        seconds = sum(t[2] for t in TALLY.values())
        print(f"\nmutants: {', '.join(parts)}, total {total} "
              f"(of {len(CANDIDATES)} candidates; {seconds:.1f} s checking)")


# --- The machinery is sound ------------------------------------------------------


def test_the_mutation_table_knows_every_regimen_of_the_examples():
    unknown = sorted(set(REGIMENS_PRESENT) - set(M.REGIMENS))
    assert unknown == [], f"add {unknown} to REGIMENS (and its dosings to dosing()) in tests/mutants.py"
    assert set(REGIMENS_PRESENT) == set(M.REGIMENS)        # every regimen has a valid example to mutate
    assert any(len(s.orders()) > 1 for s in SOURCES)      # an array or @graph file is mutated too


def test_unmutated_orders_pass_clean(validator):
    """Re-serialising an example (what every mutant goes through) changes nothing,
    and the test's own reading of the rule book finds no fault in any valid order."""
    for source in SOURCES:
        result = validator.check(source.file, source.data)
        assert len(result.orders) == len(source.orders())
        assert errors(result) == [], f"{source.file}: {findings_text(result)}"
        for order in source.orders():
            if order.get("regimen") in M.REGIMENS:
                assert M.order_faults(order) == [], (source.file, order.get("@id"))


def test_a_harmless_mutation_is_not_rejected(validator):
    """A new @id for one order (the others left as they are) is no fault."""
    for source in SOURCES:
        for index in range(len(source.orders())):
            document = copy.deepcopy(source.document)
            order = M.orders_of(document)[index]
            order["@id"] = order.get("@id", "urn:example:order") + "-renamed"
            result = validator.check(source.file, M.Source(source.file, document).data)
            assert errors(result) == [], f"{source.file} #{index}: {findings_text(result)}"


def test_the_heavy_patient_controls_pass_clean(validator):
    """bsa-cap-ignored makes some patients heavy (BSA 2.6 m2) and recomputes their
    doses; with every carfilzomib dose on the capped BSA that order must be clean, so
    that the mutant's only fault is the ignored cap."""
    for source in SOURCES:
        for index in range(len(source.orders())):
            order = source.orders()[index]
            if order.get("regimen") not in M.REGIMENS or M.bsa(order["patient"]) > M.BSA_CAP * (1 + M.TOLERANCE):
                continue                  # not mutated, or mutated as it is (not made heavy)
            control = M.heavy_control(source, index)
            assert M.order_faults(control.orders()[index]) == []
            result = validator.check(source.file, control.data)
            assert errors(result) == [], f"{source.file} #{index} heavy: {findings_text(result)}"


def test_mutations_still_inside_the_protocol_are_not_rejected(validator):
    """The mutations the oracle did not count (e.g. dexamethasone 20 -> 25 mg where
    20-40 mg is allowed; an amount that was 5 % under and is now 1 % over) must pass:
    otherwise the oracle and the validator disagree and the counts mean little."""
    assert WITHIN_PROTOCOL, "expected some mutations that stay inside the protocol"
    rejected = []
    for m in WITHIN_PROTOCOL:
        result = validator.check(m.file, m.data)
        if errors(result):
            rejected.append(f"{m.describe()} -> {findings_text(result)}")
    print(f"\nmutations inside the protocol (not counted as mutants): {len(WITHIN_PROTOCOL)}, "
          f"rejected {len(rejected)}")
    assert rejected == []


# --- No false accept ---------------------------------------------------------------


@pytest.mark.parametrize("kind", M.KINDS)
def test_every_mutant_is_rejected(validator, kind, record_property):
    mutants = [m for m in MUTANTS if m.kind == kind]
    candidates = sum(1 for m in CANDIDATES if m.kind == kind)
    assert mutants, f"no {kind} mutant"
    # Every kind is tried on every regimen present in the examples.
    assert sorted({m.regimen for m in mutants}) == [r for r in REGIMENS_PRESENT if r in M.REGIMENS]

    survivors, caught_by = [], Counter()
    start = time.perf_counter()
    for m in mutants:
        result = validator.check(m.file, m.data)
        found = errors(result)
        caught_by.update(f.rule_id for f in found)
        if not found:
            survivors.append(f"- {m.describe()}\n    rule book: {'; '.join(m.faults)}\n"
                             f"    validator: {findings_text(result)}")
    seconds = time.perf_counter() - start

    TALLY[kind] = (len(mutants), candidates, seconds)
    record_property("mutants", len(mutants))
    record_property("survivors", len(survivors))
    print(f"\n{kind}: tried {len(mutants)} of {candidates} candidates, "
          f"rejected {len(mutants) - len(survivors)}, survived {len(survivors)} ({seconds:.1f} s); "
          f"caught by {dict(caught_by.most_common())}")
    assert not survivors, (f"{len(survivors)} of {len(mutants)} {kind} mutants were accepted "
                           f"(no error):\n" + "\n".join(survivors))
