"""FHIR times as docs/fhir.md 4.1-4.2 compare them: two with a time of day as instants, otherwise as written at
the coarser precision (year, month, day), equal counting as not after; and whole years of age."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache


def _has_time(value: str) -> bool:
    return len(value) > 10 and "T" in value


def _instant(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def compare_times(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` is before, at (at the coarser precision) or after ``b``."""
    if _has_time(a) and _has_time(b):
        first, second = _instant(a), _instant(b)
        if first is not None and second is not None and first.tzinfo is not None and second.tzinfo is not None:
            return (first > second) - (first < second)
    length = min(len(a[:10]), len(b[:10]))
    first, second = a[:length], b[:length]
    return (first > second) - (first < second)


def whole_years(birth_date: str, reference: str) -> int | None:
    """Whole years from a full birthDate to the local date of ``reference`` (as written); the year is complete
    on the birthday, 29 February's on 1 March in other years. None when either has no day."""
    if len(birth_date) != 10 or len(reference) < 10:
        return None
    try:
        born = (int(birth_date[:4]), int(birth_date[5:7]), int(birth_date[8:10]))
        on = (int(reference[:4]), int(reference[5:7]), int(reference[8:10]))
    except ValueError:
        return None
    return on[0] - born[0] - ((on[1], on[2]) < (born[1], born[2]))
