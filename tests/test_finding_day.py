"""A finding about an administration given on one day names that day, whatever its rule speaks of.

dose-amount-mismatch judges an administration's amount, not a day; when the administration
has one day, the finding carries it (the JSON report's "day"), so that the pharmacist finds
the line of the order; on several days it names none rather than one of them.
"""

from __future__ import annotations

import json

import pytest

from conftest import EXAMPLES

EXAMPLE = EXAMPLES / "invalid" / "dose-amount-mismatch-cyclophosphamide-capped.jsonld"


def amount_findings(validator, days: list[int]):
    order = json.loads(EXAMPLE.read_text("utf-8"))
    (cyclophosphamide,) = [a for a in order["administrations"] if a["agent"] == "cyclophosphamide"]
    cyclophosphamide["days"] = days
    result = validator.check("one-day.jsonld", json.dumps(order, indent=2).encode())
    return [f for f in result.all_findings() if f.rule_id == "dose-amount-mismatch"]


@pytest.mark.parametrize("day", [1, 8, 15])
def test_an_administration_on_one_day_names_it(validator, day):
    (finding,) = amount_findings(validator, [day])
    assert finding.day == day and finding.agent == "cyclophosphamide"


def test_an_administration_on_several_days_names_none(validator):
    (finding,) = amount_findings(validator, [1, 8, 15])
    assert finding.day is None
