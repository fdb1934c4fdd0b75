"""How two engines' findings are compared (test_engine_parity.py, test_differential.py)."""

from __future__ import annotations

import re

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
