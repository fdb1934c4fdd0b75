"""Real FHIR material and the shipped FHIR examples, through the command (fhir.md 7.3, 9).

- Every copy of tests/data/fhir/ (outside contract/, the converter's own) is the shared material byte for byte,
  exits 0 or 1 (never 2, never a traceback) and gives exactly the findings tests/data/fhir/EXPECTED.toml names
  for it: fhir.md 7.3's last paragraphs, as data. The KDN5 RequestGroup is also run with the site map of 7.3.
- examples/fhir/ holds the shipped FHIR orders (9.1, 9.2, 9.4's one fault), each beside a `.expected` in the
  format of examples/orders/ (tests/expected.py), held to it by the pipeline and by the command's exit status.
"""

from __future__ import annotations

import json
import tomllib
import traceback
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from chemo_protovalidate.cli import main
from conftest import ROOT, check_file
from expected import actual_rows, expected_path, read_expected

DATA = ROOT / "tests" / "data" / "fhir"
EXPECTED = tomllib.loads((DATA / "EXPECTED.toml").read_text("utf-8"))
COPIES = sorted(p for p in DATA.rglob("*.json") if "contract" not in p.relative_to(DATA).parts)
SHIPPED = ROOT / "examples" / "fhir"
SHIPPED_ORDERS = sorted(SHIPPED.glob("*.json"))


def _name(path: Path) -> str:
    return path.relative_to(DATA).as_posix()


def run(args: list[str]):
    """The command, in process: never exit 2, never a traceback, a JSON report that parses."""
    result = CliRunner().invoke(main, ["--format", "json", *args], catch_exceptions=True)
    shown = f"protovalidate {' '.join(args)}: exit {result.exit_code}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(shown + "".join(traceback.format_exception(*result.exc_info)))
    assert result.exit_code in (0, 1), shown
    assert "Traceback" not in result.stdout + result.stderr, shown
    return result.exit_code, json.loads(result.stdout)


def findings(report: dict) -> list[dict]:
    return [r for file in report["files"] for r in
            [*file["results"], *(r for order in file["orders"] for r in order["results"])]]


def test_the_copies_are_the_table():
    """Every copy has its expectation and every expectation its copy (a file without one would test nothing)."""
    assert sorted(map(_name, COPIES)) == sorted(EXPECTED["files"])
    assert len(COPIES) >= 25
    assert all((DATA / folder / "README.md").is_file() for folder in (".", "examples", "cds-hooks"))


@pytest.mark.parametrize("path", COPIES, ids=_name)
def test_real_example(path):
    want = EXPECTED["files"][_name(path)]
    status, report = run([str(path)])
    got = Counter(r["rule"] for r in findings(report))
    assert (status, dict(got)) == (want["exit"], want["findings"])


@pytest.mark.parametrize("name", sorted(EXPECTED["site_map"]))
@pytest.mark.parametrize("how", ["pyproject", "fhir-map"])
def test_real_example_with_the_site_map(name, how, tmp_path, monkeypatch):
    want = EXPECTED["site_map"][name]
    table = "".join(f'"{key}" = "{value}"\n' for key, value in want["regimens"].items())
    monkeypatch.chdir(tmp_path)
    if how == "pyproject":
        (tmp_path / "pyproject.toml").write_text(f"[tool.protovalidate.fhir.regimens]\n{table}", "utf-8")
        args = [str(DATA / name)]
    else:
        (tmp_path / "site-map.toml").write_text(f"[regimens]\n{table}", "utf-8")
        args = ["--fhir-map", str(tmp_path / "site-map.toml"), str(DATA / name)]
    status, report = run(args)
    results = findings(report)
    assert (status, dict(Counter(r["rule"] for r in results))) == (want["exit"], want["findings"])
    for rule, words in want["words"].items():
        said = " ".join(r["message"] for r in results if r["rule"] == rule)
        assert all(word in said for word in words), (rule, said)
    assert all(r.get("fhirPath") for r in results if r["rule"] != "fhir-order-not-checked"), results


# --- the shipped examples ---------------------------------------------------------------------------------------


def test_the_shipped_examples_are_there():
    assert [p.name for p in SHIPPED_ORDERS] == ["KRd-cycle1-bundle-dose-mismatch.json", "KRd-cycle1-bundle.json",
                                                 "KRd-cycle1-requestgroup.json"]
    assert all(expected_path(p).is_file() for p in SHIPPED_ORDERS)


@pytest.mark.parametrize("path", SHIPPED_ORDERS, ids=lambda p: p.name)
def test_shipped_example(validator, path):
    """Exactly its .expected findings, and the exit status they imply (an error fails the run)."""
    want = read_expected(expected_path(path))
    assert actual_rows(check_file(validator, path)) == want
    status, _ = run([str(path)])
    assert status == (1 if any(row[1] == "error" for row in want) else 0)


def test_the_one_fault_is_where_the_contract_says():
    """fhir.md 9.4: the mismatch names the calculated dose's FHIR element, its line and column, its value."""
    status, report = run([str(SHIPPED / "KRd-cycle1-bundle-dose-mismatch.json")])
    [fault] = [r for r in findings(report) if r["severity"] == "error"]
    assert status == 1
    assert (fault["rule"], fault["order"], fault["agent"], fault["cycle"], fault["day"], fault["value"]) == (
        "dose-amount-mismatch", "urn:example:order:0001", "carfilzomib", 1, None, "113.6")
    assert (fault["line"], fault["column"], fault["fhirPath"]) == (
        87, 17, "Bundle.entry[1].resource.dosageInstruction[0].doseAndRate[1].doseQuantity")
    assert "113.6 mg" in fault["message"] and "103.3 mg" in fault["message"]


def test_the_two_layouts_are_one_order():
    """9.1 and 9.2 map to the same order (9.3): the same findings but for where they point."""
    reports = [run([str(SHIPPED / name)]) for name in ("KRd-cycle1-requestgroup.json", "KRd-cycle1-bundle.json")]
    verdicts = [(status, sorted((r["rule"], r["severity"], r["agent"], r["cycle"], r["day"], r["order"])
                                for r in findings(report))) for status, report in reports]
    assert verdicts[0] == verdicts[1]
    assert verdicts[0][0] == 0 and len(verdicts[0][1]) == 4
