"""The benchmark corpus (bench/corpus.py) is reproducible, and the validator agrees with its manifest.

A corpus of 200 full-cycle orders (fixed seed) is written to a temporary
folder and read back: every valid order passes with no finding at all (not
even a warning: the corpus gives each order its supportive care), and every
faulted order has an error, among them the rule(s) its manifest names. The
rule book's own reading (tests/mutants.py, ``order_faults``) is held to the
manifest too: a fault where the manifest says one, none elsewhere. Run with -s
to see the counts.
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
    _, manifest = corpus.build()
    files = manifest["files"]
    assert len(files) == corpus.DEFAULT_ORDERS == 1000
    assert {e["regimen"] for e in files} == set(corpus.REGIMEN_IDS) == set(M.REGIMENS)
    assert {e["fault"]["kind"] for e in files if e["fault"]} == set(M.KINDS)
    # every regimen x fault kind pair, and every regimen in cycle 1, 2, 3-6 and >= 7
    assert len({(e["regimen"], e["fault"]["kind"]) for e in files if e["fault"]}) == 9 * 7
    buckets = {(e["regimen"], min(e["cycle"], 3) if e["cycle"] < 7 else 7) for e in files}
    assert len(buckets) == 9 * 4
    assert 0.08 <= manifest["faulted"] / len(files) <= 0.12


def test_the_validator_agrees_with_the_manifest(tmp_path, validator):
    manifest = corpus.write(tmp_path, ORDERS, SEED)
    assert json.loads((tmp_path / "corpus.json").read_text("utf-8")) == manifest
    problems, caught = [], Counter()
    started = time.perf_counter()
    for entry in manifest["files"]:
        data = (tmp_path / entry["file"]).read_bytes()
        order = json.loads(data)
        oracle = M.order_faults(order)
        result = validator.check(entry["file"], data)
        assert len(result.orders) == 1, entry["file"]
        findings = result.all_findings()
        errors = {f.rule_id for f in findings if f.severity.value == "error"}
        shown = "; ".join(f"{f.severity.value} {f.rule_id}: {f.message}" for f in findings) or "no findings"
        fault = entry["fault"]
        if fault is None:
            if oracle:
                problems.append(f"{entry['file']} (valid): the rule book finds {oracle}")
            if findings:
                problems.append(f"{entry['file']} (valid): {shown}")
            continue
        if not oracle:
            problems.append(f"{entry['file']} ({fault['change']}): the rule book finds no fault")
        missing = sorted(set(fault["rules"]) - errors)
        if not errors or missing:
            problems.append(f"{entry['file']} ({fault['kind']}: {fault['change']}): expected {fault['rules']}, "
                            f"got {shown}")
        caught[fault["kind"]] += 1
    seconds = time.perf_counter() - started
    faulted = sum(caught.values())
    print(f"\ncorpus: {ORDERS} orders checked ({ORDERS - faulted} valid, {faulted} with one fault: "
          f"{dict(sorted(caught.items()))}) in {seconds:.1f} s")
    assert not problems, f"{len(problems)} of {ORDERS} orders disagree with the manifest:\n" + "\n".join(problems)
    assert set(caught) == set(M.KINDS) and len({e["regimen"] for e in manifest["files"]}) == 9
