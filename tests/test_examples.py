"""The example orders are the test data: valid ones pass clean, invalid ones give exactly their expected findings."""

from __future__ import annotations

import pytest

from chemo_protovalidate.documents import ORDER_SUFFIXES
from chemo_protovalidate.jsonld import FORMAT_RULES
from conftest import EXAMPLES, check_file
from expected import actual_rows, expected_path, read_expected

VALID = sorted(p for p in (EXAMPLES / "valid").iterdir() if p.suffix in ORDER_SUFFIXES)
INVALID = sorted(p for p in (EXAMPLES / "invalid").iterdir() if p.suffix in ORDER_SUFFIXES)


def test_there_are_examples():
    assert len(VALID) >= 16 and len(INVALID) >= 30


@pytest.mark.parametrize("order", VALID, ids=lambda p: p.name)
def test_valid_order_has_no_finding(validator, order):
    result = check_file(validator, order)
    assert result.orders, "a valid example must hold at least one order"
    assert [f"{f.rule_id}: {f.message}" for f in result.all_findings()] == []


@pytest.mark.parametrize("order", INVALID, ids=lambda p: p.name)
def test_invalid_order_gives_its_expected_findings(validator, order):
    assert expected_path(order).exists(), f"{order.name} has no .expected file beside it"
    expected = read_expected(expected_path(order))
    assert expected, "an invalid example must expect at least one finding"
    result = check_file(validator, order)
    assert actual_rows(result) == expected, "\n".join(f.message for f in result.all_findings())


def test_every_rule_has_an_invalid_example(validator):
    exercised = {row[2] for order in INVALID if expected_path(order).exists()
                 for row in read_expected(expected_path(order))}
    # An unreadable file and the size limits cannot be examples in the repository (a 10 MiB file, an
    # order of 500 administrations): tests/test_cli.py and tests/test_hostile.py cover them.
    covered_elsewhere = {"unreadable-file", "file-too-large", "order-too-large"}
    rules = {r.rule_id for r in validator.catalogue.rules} | (set(FORMAT_RULES) - covered_elsewhere)
    assert sorted(rules - exercised) == []


def test_every_finding_names_its_source(validator):
    for order in INVALID:
        for finding in check_file(validator, order).all_findings():
            assert finding.source is not None and finding.source.label, (order.name, finding.rule_id)


def test_every_finding_on_a_json_ld_order_has_its_line_and_column(validator):
    """Text, json, sarif and github all place a finding by these: none may be missing."""
    unplaced = [(order.name, f.rule_id) for order in INVALID if order.suffix == ".jsonld"
                for f in check_file(validator, order).all_findings() if not (f.line and f.column)]
    assert unplaced == []
