"""No false accept: single-fault mutants of every valid example order are all rejected (rule book v2).

From every valid example order (one order at a time; the other orders of an
array or @graph file stay as they are, except that a change to a patient is
made to each order of that patient) tests/mutants.py makes mutants that each
change ONE thing and are, by the rule book, wrong orders. The kinds and the
rule ids each is made to produce are mutants.KIND_RULES: amounts, levels up,
down, reduced with a reason (never for daratumumab and isatuximab), between
levels and in the wrong unit; days off schedule (dexamethasone on a day its
regimen does not allow, KRd-27 cycle 13 day 8, ...) or outside the cycle;
agents and regimens swapped or unknown; routes; carfilzomib priming given at
the escalated level, dropped, or not in the order; the BSA cap ignored;
clinic-day doses omitted; more than 40 mg of dexamethasone in a week; a
patient older than 75; the daratumumab split first dose; infusion times per
schedule; cycles beyond D-KRd's induction and KRd-27's label; supportive care
by class (hydration, VTE prophylaxis, anti-CD38 premedication with famotidine
on isatuximab days, dexamethasone before cycle-1 carfilzomib, antivirals);
a stated BSA off Mosteller; a dose basis with the weight drifted; dialysis;
the renal band; low counts; duplicates; and the order format (missing keys,
numbers as strings, broken quantities, patient data that two orders disagree
on).

Each mutation is judged first by the test's own reading of the rule book
(mutants.findings, which never reads the knowledge base): it is a mutant only
when that reading finds something. What counts as rejected (see the module
docstring of mutants.py): an error for the mutated order when the rule book
gives a violation; when it gives only warnings or information, the kind's own
rule id at that severity. A second test holds the validator to every rule id
the rule book gives for the mutant, and mutations that stay inside the
protocol must draw no finding at all. The rule book's own worked examples
(section 8.3) hold both the reading and the validator to what the book says.

The default run checks a deterministic sample of each kind (mutants.QUOTAS;
every sort of change of a kind once before any twice, the regimens in turn);
PROTOVALIDATE_MUTANTS=all checks every candidate (thousands; an hour or more).
Run with -s to see the counts.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections import Counter

import pytest

import mutants as M
from conftest import EXAMPLES

SOURCES = M.load_sources(EXAMPLES / "valid")
EVERY = os.environ.get("PROTOVALIDATE_MUTANTS", "").lower() == "all"
CANDIDATES = M.candidates(SOURCES)
MUTANTS, WITHIN_PROTOCOL = M.select(CANDIDATES, None if EVERY else M.QUOTAS, None if EVERY else M.WITHIN_QUOTA)
REGIMENS_PRESENT = sorted({o["regimen"] for s in SOURCES for o in s.orders()})
# Rule ids of the order reader (src/chemo_protovalidate/read/jsonld.py) that no mutant made here can reach: they need
# JSON text that json.dumps never writes (a duplicate key), or a document that is not one order
# any more. tests/test_examples.py and tests/test_fuzz.py cover them.
NOT_RULE_BOOK = set()

TALLY: dict[str, tuple[int, int, int, float]] = {}   # kind -> (tried, rejected, candidates, seconds)


def order_findings(result, m) -> list:
    """The findings of the mutated order (and of the file as a whole; a patient-data conflict
    stands wherever the validator puts it)."""
    mine = result.orders[m.order_index].findings if m.order_index < len(result.orders) else []
    return result.findings + mine + [f for o in result.orders for f in o.findings
                                     if f.rule_id == "patient-data-conflict" and f not in mine]


def shown(findings) -> str:
    return "; ".join(f"{f.severity.value} {f.rule_id}" + (f" ({f.agent} d{f.day})" if f.agent else "")
                     for f in findings) or "no findings"


@pytest.fixture(scope="module")
def checked(validator):
    """Each sampled mutant checked once by the validator: mutant -> its order's findings."""
    out, spent = {}, Counter()
    for m in MUTANTS:
        started = time.perf_counter()
        out[id(m)] = order_findings(validator.check(m.file, m.data), m)
        spent[m.kind] += time.perf_counter() - started
    return out, spent


@pytest.fixture(scope="module", autouse=True)
def summary():
    yield
    if TALLY:
        parts = [f"{kind} {TALLY[kind][1]}/{TALLY[kind][0]}" for kind in M.KINDS if kind in TALLY]
        total = sum(t[0] for t in TALLY.values())
        rejected = sum(t[1] for t in TALLY.values())
        seconds = sum(t[3] for t in TALLY.values())
        print(f"\nmutants rejected/tried: {', '.join(parts)}; total {rejected}/{total} "
              f"(of {len(CANDIDATES)} candidate mutations; {seconds:.1f} s checking)")


# --- The machinery is sound ------------------------------------------------------


def test_the_mutation_table_knows_every_regimen_of_the_examples():
    unknown = sorted(set(REGIMENS_PRESENT) - set(M.REGIMENS))
    assert unknown == [], f"add {unknown} to REGIMENS (and its dosings to dosings()) in tests/mutants.py"
    assert set(REGIMENS_PRESENT) == set(M.REGIMENS)        # every regimen has a valid example to mutate
    assert any(len(s.orders()) > 1 for s in SOURCES)      # an array or @graph file is mutated too


def test_the_valid_examples_are_clean_by_the_rule_book():
    """The test's own reading finds nothing in any valid example order (valid/ orders give no
    finding at all under rule book v2). An order it finds something in is not mutated."""
    found = [f"{s.file} [{o.get('@id')}]: {'; '.join(M.order_faults(o, s.document))}"
             for s in SOURCES for o in s.orders() if M.findings(o, s.document)]
    assert found == [], "valid examples with a finding by the rule book:\n" + "\n".join(found)


def test_unmutated_orders_pass_clean(validator):
    """Re-serialising an example (what every mutant goes through) gives no finding at all."""
    for source in SOURCES:
        result = validator.check(source.file, source.data)
        assert len(result.orders) == len(source.orders())
        assert result.all_findings() == [], f"{source.file}: {shown(result.all_findings())}"


def test_a_harmless_mutation_is_not_rejected(validator):
    """A new @id for one order (the others left as they are) is no fault."""
    for source, index in M.clean_orders(SOURCES):
        document = copy.deepcopy(source.document)
        order = M.orders_of(document)[index]
        order["@id"] = order.get("@id", "urn:example:order") + "-renamed"
        result = validator.check(source.file, M.Source(source.file, document).data)
        assert result.orders[index].findings == [], f"{source.file} #{index}: {shown(result.orders[index].findings)}"


def test_the_heavy_patient_controls_pass_clean(validator):
    """bsa-cap-ignored makes patients heavy (BSA 2.6 m2) and recomputes their doses; with every
    carfilzomib dose on the capped BSA that order must be clean, so that the mutant's only fault
    is the ignored cap."""
    for source, index in M.clean_orders(SOURCES):
        if not M.can_be_heavy(source.orders()[index]):
            continue
        control = M.heavy_control(source, index)
        assert M.findings(control.orders()[index], control.document) == []
        result = validator.check(source.file, control.data)
        assert result.orders[index].findings == [], f"{source.file} #{index} heavy: {shown(result.orders[index].findings)}"


def test_mutations_still_inside_the_protocol_are_not_rejected(validator):
    """The mutations the rule book finds nothing in (dexamethasone 20 -> 25 mg where 20-40 mg is
    allowed, cetirizine for diphenhydramine, a lone carfilzomib day dropped that is then no clinic
    day, exactly 20 % weight drift with carfilzomib) must draw no finding: otherwise the reading and
    the validator disagree and the counts mean little."""
    assert WITHIN_PROTOCOL, "expected some mutations that stay inside the protocol"
    flagged = []
    for m in WITHIN_PROTOCOL:
        found = order_findings(validator.check(m.file, m.data), m)
        if found:
            flagged.append(f"- {m.describe()}\n    validator: {shown(found)}")
    print(f"\nmutations inside the protocol (not counted as mutants): {len(WITHIN_PROTOCOL)} checked, "
          f"flagged {len(flagged)}")
    assert flagged == [], f"{len(flagged)} mutations inside the protocol drew findings:\n" + "\n".join(flagged)


def test_every_rule_of_the_rule_book_is_a_mutation_target(validator):
    """Each rule id of the rule book (v1 and v2) is produced by a sampled mutant, and every rule
    id the validator knows is one the rule book reading here knows (a new rule needs a kind)."""
    produced = {rule for m in MUTANTS for rule, _ in m.targets}
    assert sorted(M.REQUIRED_RULES - produced) == []
    assert set().union(*M.KIND_RULES.values()) <= M.REQUIRED_RULES
    known = {rule.rule_id for rule in validator.catalogue.rules}
    assert sorted(known - M.REQUIRED_RULES - NOT_RULE_BOOK) == []


def test_the_sample_reaches_every_regimen():
    """Each regimen of the examples is mutated by many kinds (the sample takes the regimens in turn)."""
    kinds: dict[str, set] = {}
    for m in MUTANTS:
        kinds.setdefault(m.regimen, set()).add(m.kind)
    assert set(kinds) == set(REGIMENS_PRESENT)
    assert min(len(k) for k in kinds.values()) >= 10, {r: len(k) for r, k in kinds.items()}


# --- The rule book's worked examples (section 8.3), on valid examples changed as the book says ---------------


def _source(name):
    return copy.deepcopy(next(s for s in SOURCES if s.file == name).document)


def _admin(order, agent, day=None):
    return next(a for a in order["administrations"] if a["agent"] == agent and (day is None or day in M.days_of(a)))


def _bsa(weight, stated):
    def edit(doc):
        M.change_patient(doc, doc, lambda p: (p["weight"].__setitem__("value", weight),
                                              p.__setitem__("bsa", {"value": stated, "unit": "m2"})))
    return edit


def _dex_20_x8(doc):
    doc["administrations"] = [a for a in doc["administrations"] if a["agent"] != "dexamethasone"] + [
        {"agent": "dexamethasone", "days": [1, 2, 8, 9, 15, 16, 22, 23], "dose": {"value": 20, "unit": "mg"},
         "route": "PO"}]


def _dex_40_20(doc):
    doc["administrations"].append({"agent": "dexamethasone", "day": 2, "dose": {"value": 20, "unit": "mg"}, "route": "PO"})


def _age(age, then=None):
    def edit(doc):
        if then:
            then(doc)
        doc["patient"]["age"] = age
    return edit


def _priming_left_out(doc):
    """The priming administration out, and with it the day-2 premedication dexamethasone (the book's order has none)."""
    doc["administrations"] = [a for a in doc["administrations"] if not (a["agent"] == "carfilzomib" and 1 in M.days_of(a))]
    premed = _admin(doc, "dexamethasone", 2)
    M.set_days(premed, [d for d in M.days_of(premed) if d != 2])


def _only_day_15(doc):
    doc["administrations"] = [dict(_admin(doc, "carfilzomib", 15), days=[15])]


def _split_sc_day_1(doc):
    half = _admin(doc, "daratumumab", 2)
    M.set_days(half, [2])
    doc["administrations"].append({"agent": "daratumumab", "day": 1, "dose": {"value": 1800, "unit": "mg"}, "route": "SC"})


def _split_day_2_only(doc):
    M.set_days(_admin(doc, "daratumumab", 2), [2])


def _dose_basis_kcyd(doc):
    doc["patient"] |= {"weight": {"value": 68, "unit": "kg"}, "height": {"value": 180, "unit": "cm"},
                       "doseBasis": {"weight": {"value": 80, "unit": "kg"}, "bsa": {"value": 2.0, "unit": "m2"}}}
    _admin(doc, "carfilzomib")["dose"]["value"] = 112
    _admin(doc, "cyclophosphamide")["dose"]["value"] = 600


def _dialysis_15_alternate(doc):
    len_ = _admin(doc, "lenalidomide")
    len_["dose"]["value"], len_["days"] = 15, list(range(1, 22, 2))


def _uncapped_140(doc):
    _admin(doc, "carfilzomib")["dose"]["value"] = 140


E, W = "error", "warning"
WORKED = [  # (what the book says, example, edit, the findings the book names, the book names every finding)
    ("170 cm, 70 kg, stated bsa 2.2: r = 21 %, V", "KRd-cycle1.jsonld", _bsa(70, 2.2), {("bsa-inconsistent", E)}, True),
    ("170 cm, 72 kg, stated 1.95: r = 5.8 %, W", "KRd-cycle1.jsonld", _bsa(72, 1.95), {("bsa-discrepancy", W)}, True),
    ("Kd-twice-weekly-56, 20 mg on days 1, 2, 8, 9, 15, 16, 22, 23 passes", "Kd-twice-weekly-56-cycle2.jsonld",
     _dex_20_x8, set(), True),
    ("40 mg day 1 + 20 mg day 2: week 1 = 60 mg, V", "Kd-twice-weekly-56-cycle2.jsonld", _dex_40_20,
     {("dexamethasone-weekly-total", E)}, True),
    ("20 mg x 8 at age 78: W for each of the 4 weeks", "Kd-twice-weekly-56-cycle2.jsonld", _age(78, _dex_20_x8),
     {("age-weekly-dose-limit", W)}, True),
    ("KRd cycle 1, carfilzomib 56 on days 8, 9, 15, 16 only: V on day 1 and day 2", "KRd-cycle1.jsonld",
     _priming_left_out, {("priming-dose-missing", E)}, True),
    ("Kd-weekly-70 cycle 1, carfilzomib 70 on day 15 only: W priming-not-in-order", "Kd-weekly-70-cycle1.jsonld",
     _only_day_15, {("priming-not-in-order", W)}, False),
    ("KdD cycle 1, 1800 mg SC day 1 and 8 mg/kg IV day 2: V", "KdD-cycle1.jsonld", _split_sc_day_1,
     {("daratumumab-split-dose", E)}, True),
    ("8 mg/kg IV on day 2 only, carfilzomib on day 1: V", "KdD-cycle1.jsonld", _split_day_2_only,
     {("daratumumab-split-dose", E)}, False),
    ("doseBasis 80 kg / 2.0 m2, 68 kg now: carfilzomib 112 mg passes, cyclophosphamide V", "KCyD-cycle2.jsonld",
     _dose_basis_kcyd, {("weight-change-recalculate", E)}, True),
    ("dialysis, lenalidomide 15 mg on alternate days: V", "KRd-cycle2-dialysis-5mg.jsonld", _dialysis_15_alternate,
     {("dose-level-above-protocol", E)}, False),
    ("120 kg, 190 cm: carfilzomib 140 mg (56 x 2.5) is V", "worked-example-120kg-190cm-123.2mg.jsonld", _uncapped_140,
     {("dose-amount-mismatch", E)}, True),
]


@pytest.mark.parametrize("what, example, edit, named, complete", WORKED, ids=[w[0][:60] for w in WORKED])
def test_the_rule_books_worked_examples(validator, what, example, edit, named, complete):
    """The reading here and the validator both give what rule book 8.3 says of its own examples
    (every finding, where the book's example names them all)."""
    document = _source(example)
    edit(document)
    oracle = {(f.rule, f.severity) for f in M.findings(document)}
    assert oracle == named if complete else named <= oracle, sorted(oracle)
    found = validator.check(example, json.dumps(document).encode()).all_findings()
    have = {(f.rule_id, f.severity.value) for f in found}
    assert named <= have, shown(found)
    assert any(f.severity.value == "error" for f in found) == any(sev == E for _, sev in oracle), shown(found)
    if what.startswith("KRd cycle 1, carfilzomib 56"):
        assert sorted((f.agent, f.day) for f in found if f.rule_id == "priming-dose-missing") == \
            [("carfilzomib", 1), ("carfilzomib", 2)]


# --- No false accept ---------------------------------------------------------------


def rejected(m, found) -> bool:
    """An error where the rule book gives a violation; else the kind's rule at its severity."""
    if m.violation:
        return any(f.severity.value == "error" for f in found)
    have = {(f.rule_id, f.severity.value) for f in found}
    return (m.targets or m.expected) <= have


@pytest.mark.parametrize("kind", M.KINDS)
def test_every_mutant_is_rejected(checked, kind, record_property):
    results, spent = checked
    mutants = [m for m in MUTANTS if m.kind == kind]
    candidates = sum(1 for c in CANDIDATES if c.kind == kind)
    assert mutants, f"no {kind} mutant"
    survivors, caught_by, more = [], Counter(), Counter()
    for m in mutants:
        found = results[id(m)]
        caught_by.update(f.rule_id for f in found if f.severity.value == "error" or not m.violation)
        more.update({f.rule_id for f in found} - {rule for rule, _ in m.expected})
        if not rejected(m, found):
            survivors.append(f"- {m.describe()}\n    rule book: {'; '.join(map(str, m.faults))}\n"
                             f"    validator: {shown(found)}")
    TALLY[kind] = (len(mutants), len(mutants) - len(survivors), candidates, spent[kind])
    record_property("mutants", len(mutants))
    record_property("survivors", len(survivors))
    print(f"\n{kind}: tried {len(mutants)} of {candidates} candidate mutations, "
          f"rejected {len(mutants) - len(survivors)}, accepted {len(survivors)} ({spent[kind]:.1f} s) on "
          f"{len({m.regimen for m in mutants})} regimens; caught by {dict(caught_by.most_common())}"
          + (f"; the validator also gave (mutants) {dict(more.most_common())}" if more else ""))
    assert not survivors, (f"{len(survivors)} of {len(mutants)} {kind} mutants were accepted:\n"
                           + "\n".join(survivors))


@pytest.mark.parametrize("kind", M.KINDS)
def test_every_mutant_draws_the_rules_the_rule_book_gives(checked, kind):
    """Every (rule id, severity) the rule book gives for a mutant is among the validator's
    findings for that order (the validator may say more; it must not say less)."""
    results, _ = checked
    missed = []
    for m in (m for m in MUTANTS if m.kind == kind):
        have = {(f.rule_id, f.severity.value) for f in results[id(m)]}
        lacking = sorted(m.expected - have)
        if lacking:
            missed.append(f"- {m.describe()}\n    rule book: {'; '.join(map(str, m.faults))}\n"
                          f"    missing: {lacking}\n    validator: {shown(results[id(m)])}")
    assert not missed, f"{len(missed)} {kind} mutants lack a finding the rule book gives:\n" + "\n".join(missed)
