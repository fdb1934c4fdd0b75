"""The example orders are the test data. Each folder keeps one promise (one exit status per folder):

- valid/: no finding at all;
- invalid/: at least one error (exit 1 by default), and exactly its `.expected` findings;
- warning/: at least one warning and no error: exit 0 by default, exit 1 with `--fail-on warning`;
  exactly its `.expected` findings;
- info/: information only: exit 0 even with `--fail-on warning`; exactly its `.expected` findings.
"""

from __future__ import annotations

import pytest

from chemo_protovalidate.model.findings import Severity
from chemo_protovalidate.read.documents import ORDER_SUFFIXES
from chemo_protovalidate.read.jsonld import FORMAT_RULES
from conftest import EXAMPLES, check_file
from expected import actual_rows, expected_path, read_expected

FOLDERS = ("valid", "invalid", "warning", "info")
CHECKED = ("invalid", "warning", "info")  # the folders whose orders sit beside a .expected file


def _orders(folder: str) -> list:
    path = EXAMPLES / folder
    return sorted(p for p in path.iterdir() if p.suffix in ORDER_SUFFIXES) if path.is_dir() else []


ORDERS = {folder: _orders(folder) for folder in FOLDERS}
WITH_EXPECTED = [p for folder in CHECKED for p in ORDERS[folder]]


def _id(path) -> str:
    return f"{path.parent.name}/{path.name}"


def test_there_are_examples():
    counts = {folder: len(ORDERS[folder]) for folder in FOLDERS}
    assert counts["valid"] >= 16 and counts["invalid"] >= 30 and counts["warning"] >= 10 and counts["info"] >= 1, counts


def test_examples_sit_only_in_the_four_folders():
    """An order or a .expected file elsewhere would be checked by no test."""
    stray = [p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*")
             if p.is_file() and (p.suffix in ORDER_SUFFIXES or p.suffix == ".expected")
             and p.parent.name not in FOLDERS]
    assert stray == []


def test_every_expected_file_sits_beside_an_order():
    """A .expected left behind when its order moves (or a valid/ order that expects findings) is a mistake."""
    orphans = [p.relative_to(EXAMPLES).as_posix() for folder in FOLDERS if (EXAMPLES / folder).is_dir()
               for p in (EXAMPLES / folder).glob("*.expected")
               if folder == "valid" or not any(p.with_suffix(s).exists() for s in ORDER_SUFFIXES)]
    assert orphans == []


def _findings(validator, order) -> tuple:
    """The order's findings, and the rows of its .expected file (compared exactly)."""
    assert expected_path(order).exists(), f"{order.name} has no .expected file beside it"
    expected = read_expected(expected_path(order))
    assert expected, f"{_id(order)} must expect at least one finding"
    result = check_file(validator, order)
    assert actual_rows(result) == expected, "\n".join(f.message for f in result.all_findings())
    return result, {f.severity for f in result.all_findings()}


@pytest.mark.parametrize("order", ORDERS["valid"], ids=_id)
def test_valid_order_has_no_finding(validator, order):
    result = check_file(validator, order)
    assert result.orders, "a valid example must hold at least one order"
    assert [f"{f.rule_id}: {f.message}" for f in result.all_findings()] == []


@pytest.mark.parametrize("order", ORDERS["invalid"], ids=_id)
def test_invalid_order_fails_with_its_expected_findings(validator, order):
    result, severities = _findings(validator, order)
    assert Severity.ERROR in severities, "an invalid example needs at least one error (move it to warning/)"
    assert not result.conforms(Severity.ERROR)


@pytest.mark.parametrize("order", ORDERS["warning"], ids=_id)
def test_warning_order_fails_only_on_warnings(validator, order):
    result, severities = _findings(validator, order)
    assert Severity.ERROR not in severities, "a warning example may hold no error (move it to invalid/)"
    assert Severity.WARNING in severities, "a warning example needs at least one warning"
    assert result.conforms(Severity.ERROR), "exit 0 by default"
    assert not result.conforms(Severity.WARNING), "exit 1 with --fail-on warning"


@pytest.mark.parametrize("order", ORDERS["info"], ids=_id)
def test_info_order_never_fails(validator, order):
    result, severities = _findings(validator, order)
    assert severities == {Severity.INFO}, "an info example holds information only"
    assert result.conforms(Severity.ERROR) and result.conforms(Severity.WARNING), "exit 0 even with --fail-on warning"


def test_every_rule_has_an_example(validator):
    """Every rule id appears in the .expected file of at least one example of invalid/, warning/ or info/."""
    exercised = {row[2] for order in WITH_EXPECTED if expected_path(order).exists()
                 for row in read_expected(expected_path(order))}
    # An unreadable file and the size limits cannot be examples in the repository (a 10 MiB file, an
    # order of 500 administrations): tests/test_cli.py and tests/test_hostile.py cover them.
    covered_elsewhere = {"unreadable-file", "file-too-large", "order-too-large"}
    rules = {r.rule_id for r in validator.catalogue.rules} | (set(FORMAT_RULES) - covered_elsewhere)
    assert sorted(rules - exercised) == []


def test_every_finding_names_its_source(validator):
    unsourced = [(_id(order), f.rule_id) for order in WITH_EXPECTED
                 for f in check_file(validator, order).all_findings()
                 if f.source is None or not f.source.label]
    assert unsourced == []


def test_every_finding_on_a_json_ld_order_has_its_line_and_column(validator):
    """Text, json, sarif and github all place a finding by these: none may be missing."""
    unplaced = [(_id(order), f.rule_id) for order in WITH_EXPECTED if order.suffix == ".jsonld"
                for f in check_file(validator, order).all_findings() if not (f.line and f.column)]
    assert unplaced == []
