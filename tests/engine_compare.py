"""How two engines' findings are compared (test_engine_parity.py, test_differential.py), and which orders the
reference is run on."""

from __future__ import annotations

import re
from typing import Callable, Hashable, Iterable, TypeVar

T = TypeVar("T")

WORD = re.compile(r"[^\s,;:()]+")


def comparable(findings):
    """Rule, severity, focus node, and the message as a bag of words.

    Two things may differ between engines and are not verdicts: the order of
    a GROUP_CONCAT listing (SPARQL leaves it open), and how a number built into
    a message inside the query is spelt (rdflib keeps "72.0", Oxigraph writes "72").
    """
    return sorted((f.rule_id, f.severity.value, f.focus, tuple(sorted(map(_word, WORD.findall(f.message.rstrip("."))))))
                  for f in findings)


def _word(word: str) -> str:
    try:
        return f"{float(word.rstrip('.')):g}"
    except ValueError:
        return word


def cover(pool: Iterable[T], strata: Callable[[T], set], cost: Callable[[T], float]) -> list[T]:
    """A greedy cover of every stratum of ``pool``: the item covering most new strata for its cost first (ties:
    the cheaper, then the earlier). The reference (pyshacl) costs seconds an order; this is how the default run
    compares every kind of order at a fraction of that. Deterministic for a pool in a fixed order."""
    pool = list(pool)
    of: dict[int, set[Hashable]] = {id(item): strata(item) for item in pool}
    uncovered = set().union(*of.values())
    picked = []
    while uncovered:
        best = max(pool, key=lambda i: (len(of[id(i)] & uncovered) / cost(i), -cost(i)))
        picked.append(best)
        pool.remove(best)
        uncovered -= of[id(best)]
    return picked
