"""The benchmark corpus (bench/corpus.py) is reproducible, and the validator agrees with its manifest.

A corpus of 200 full-cycle orders (fixed seed; one in four with a fault, so
that every fault kind of the corpus is in it) is written to a temporary folder
and read back. Every fault-free order is complete by rule book v2 and gives no
finding at all (not even a warning or information). Every faulted order gets
each (rule id, severity) its manifest entry expects, an error where the
manifest says the fault is a violation, and no error where it is not. The rule
book's own reading (tests/mutants.py, ``findings``) is held to the manifest
too: nothing where the manifest says the order is clean, what the manifest
says elsewhere. Run with -s to see the counts.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter

import mutants as M
from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import corpus  # noqa: E402

ORDERS = 200
FAULT_SHARE = 0.25
SEED = "test-corpus"


def test_the_same_seed_gives_the_same_bytes(tmp_path):
    first = corpus.write(tmp_path / "a", 60, SEED)
    corpus.write(tmp_path / "b", 60, SEED)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert len(names) == 61 and "corpus.json" in names           # 60 orders and the manifest
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert json.loads((tmp_path / "a" / "corpus.json").read_bytes()) == first
    # ... and another seed another corpus.
    other, _ = corpus.build(60, SEED + "-other")
    assert [i.data for i in other] != [(tmp_path / "a" / i.name).read_bytes() for i in other]


def test_the_default_corpus_covers_every_regimen_and_fault_kind():
    items, manifest = corpus.build()
    files = manifest["files"]
    assert len(files) == corpus.DEFAULT_ORDERS == 1000
    assert {e["regimen"] for e in files} == set(corpus.REGIMEN_IDS) == set(M.REGIMENS)
    kinds = Counter(e["fault"]["kind"] for e in files if e["fault"])
    assert set(kinds) == set(corpus.CORPUS_KINDS) == set(M.KINDS) - {"patient-conflict"}
    assert min(kinds.values()) >= 2
    faulted_regimens = Counter(e["regimen"] for e in files if e["fault"])
    assert set(faulted_regimens) == set(corpus.REGIMEN_IDS) and min(faulted_regimens.values()) >= 4
    # every regimen in cycle 1, 2, 3-6 and >= 7, among the fault-free orders
    buckets = {(e["regimen"], min(e["cycle"], 3) if e["cycle"] < 7 else 7) for e in files if not e["fault"]}
    assert len(buckets) == len(corpus.REGIMEN_IDS) * 4
    assert 0.08 <= manifest["faulted"] / len(files) <= 0.12
    # The shapes of v2 orders are all there: a dose basis, dialysis, split and weekly dexamethasone,
    # a patient older than 75, cetirizine, both antivirals, KRd-27 in cycles 13-18, Kd-weekly-70 from cycle 10.
    shapes = [e["shape"] for e in files if not e["fault"]]
    assert any(s["dose_basis"] for s in shapes) and any(s["dialysis"] for s in shapes)
    assert {s["dexamethasone"] for s in shapes} >= {"split", "weekly", "over 75: weekly", "Isa-Kd 20 mg x 8"}
    assert {s.get("h1") for s in shapes} >= {"diphenhydramine", "cetirizine"}
    assert {s["antiviral"] for s in shapes} == {"acyclovir", "valacyclovir"}
    assert any(e["regimen"] == "KRd-27" and 13 <= e["cycle"] <= 18 for e in files if not e["fault"])
    assert any(e["regimen"] == "Kd-weekly-70" and e["cycle"] >= 10 for e in files if not e["fault"])
    # Every rule id of the rule book is made by some fault of the default corpus, but for what needs
    # two orders in one file (patient-data-conflict).
    made = {rule for e in files if e["fault"] for rule in e["fault"]["rules"]}
    assert sorted(M.REQUIRED_RULES - made) == ["patient-data-conflict"]


def test_the_validator_agrees_with_the_manifest(tmp_path, validator):
    manifest = corpus.write(tmp_path, ORDERS, SEED, FAULT_SHARE)
    assert json.loads((tmp_path / "corpus.json").read_text("utf-8")) == manifest
    problems, caught, more = [], Counter(), Counter()
    started = time.perf_counter()
    for entry in manifest["files"]:
        data = (tmp_path / entry["file"]).read_bytes()
        order = json.loads(data)
        oracle = M.findings(order)
        result = validator.check(entry["file"], data)
        assert len(result.orders) == 1, entry["file"]
        findings = result.all_findings()
        have = {(f.rule_id, f.severity.value) for f in findings}
        errors = {f.rule_id for f in findings if f.severity.value == "error"}
        shown = "; ".join(f"{f.severity.value} {f.rule_id}: {f.message}" for f in findings) or "no findings"
        fault = entry["fault"]
        if fault is None:
            if oracle:
                problems.append(f"{entry['file']} (valid): the rule book finds {[str(f) for f in oracle]}")
            if findings:
                problems.append(f"{entry['file']} (valid, {entry['regimen']} cycle {entry['cycle']}): {shown}")
            continue
        expected = {tuple(pair) for pair in fault["expected"]}
        if {(f.rule, f.severity) for f in oracle} != expected:
            problems.append(f"{entry['file']} ({fault['change']}): the rule book now finds {[str(f) for f in oracle]}")
        missing = sorted(expected - have)
        if missing or (fault["violation"] and not errors) or (not fault["violation"] and errors):
            problems.append(f"{entry['file']} ({entry['regimen']} cycle {entry['cycle']}, {fault['kind']}: "
                            f"{fault['change']}): expected {sorted(expected)}"
                            + (f", missing {missing}" if missing else "") + f"; got {shown}")
        caught[fault["kind"]] += 1
        more.update({f.rule_id for f in findings} - set(fault["rules"]))
    seconds = time.perf_counter() - started
    faulted = sum(caught.values())
    print(f"\ncorpus: {ORDERS} orders checked ({ORDERS - faulted} valid, {faulted} with one fault: "
          f"{dict(sorted(caught.items()))}) in {seconds:.1f} s; rule ids the validator gave beyond the "
          f"manifest's: {dict(more.most_common())}")
    assert not problems, f"{len(problems)} of {ORDERS} orders disagree with the manifest:\n" + "\n".join(problems)
    assert set(caught) == set(corpus.CORPUS_KINDS)
    assert len({e["regimen"] for e in manifest["files"]}) == len(corpus.REGIMEN_IDS)
