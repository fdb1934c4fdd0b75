"""The habits of CI tools: report files, colour, standard input names, globs, configuration."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import EXAMPLES
from test_cli import INVALID, VALID, WARNING_ONLY, run

OFF_SCHEDULE_LINE = "error[dose-level-above-protocol]"


def test_output_and_extra_reports_are_written_even_when_the_run_fails(tmp_path):
    text, report = tmp_path / "report.txt", tmp_path / "report.json"
    done = run("--output", str(text), "--report", f"json:{report}", str(VALID), str(INVALID))
    assert done.returncode == 1 and done.stdout == b""
    assert OFF_SCHEDULE_LINE in text.read_text()
    assert json.loads(report.read_text())["summary"]["errors"] >= 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "report.txt"]  # no temporary file left


def test_a_bad_report_spec_is_a_usage_error(tmp_path):
    assert run("--report", "yaml:x.yaml", str(VALID)).returncode == 2
    assert run("--report", "json", str(VALID)).returncode == 2


def test_colour_is_asked_for_or_refused_never_guessed_into_a_pipe():
    coloured = run("--color", "always", str(INVALID)).stdout
    assert b"\x1b[31merror\x1b[0m" in coloured
    assert b"\x1b[" not in run(str(INVALID)).stdout  # auto, and standard output is a pipe
    assert b"\x1b[" not in run("--color", "never", str(INVALID)).stdout


def test_no_color_and_force_color(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert b"\x1b[" in run(str(INVALID)).stdout
    monkeypatch.setenv("NO_COLOR", "1")
    assert b"\x1b[" not in run(str(INVALID)).stdout


def test_stdin_filename_names_the_input_and_picks_its_syntax(tmp_path):
    done = run("--stdin-filename", "orders/krd.jsonld", "-", stdin=INVALID.read_bytes())
    assert done.stdout.decode().startswith("orders/krd.jsonld:")


def test_quoted_globs_are_expanded(tmp_path):
    (tmp_path / "a").mkdir()
    shutil.copy(VALID, tmp_path / "a" / "one.jsonld")
    shutil.copy(INVALID, tmp_path / "a" / "two.jsonld")
    done = run(str(tmp_path / "**" / "*.jsonld"))
    assert done.returncode == 1 and "two.jsonld" in done.stdout.decode()
    assert "in 1 of 2 files" in done.stderr.decode()
    assert run(str(tmp_path / "**" / "*.ttl")).returncode == 2  # a pattern matching nothing is a missing path


def _project(tmp_path, settings: str):
    (tmp_path / "pyproject.toml").write_text("[tool.protovalidate]\n" + settings, "utf-8")
    (tmp_path / "orders").mkdir(exist_ok=True)
    shutil.copy(INVALID, tmp_path / "orders" / "bad.jsonld")
    shutil.copy(WARNING_ONLY, tmp_path / "orders" / "reduced.jsonld")
    return tmp_path


def test_configuration_sets_fail_on_and_the_command_line_wins(tmp_path):
    project = _project(tmp_path, 'fail-on = "warning"\n')
    assert run("orders/reduced.jsonld", cwd=project).returncode == 1
    assert run("--fail-on", "error", "orders/reduced.jsonld", cwd=project).returncode == 0


def test_configuration_re_levels_and_drops_rules_and_says_so(tmp_path):
    project = _project(tmp_path, '[tool.protovalidate.rules]\ndose-level-above-protocol = "warning"\n')
    done = run("orders/bad.jsonld", cwd=project)
    assert done.returncode == 0 and b"warning[dose-level-above-protocol]" in done.stdout
    assert b"rule dose-level-above-protocol reported as warning" in done.stderr
    project = _project(tmp_path, '[tool.protovalidate.rules]\ndose-level-above-protocol = "off"\n')
    assert b"dose-level-above-protocol" not in run("orders/bad.jsonld", cwd=project).stdout


def test_configuration_excludes_files_found_in_directories(tmp_path):
    project = _project(tmp_path, 'exclude = ["orders/bad.jsonld"]\n')
    done = run("orders", cwd=project)
    assert done.returncode == 0 and "1 file" in done.stderr.decode()


def test_configuration_tolerance_and_format(tmp_path):
    beyond = EXAMPLES / "invalid" / "boundary-tolerance-beyond-plus-5.jsonld"  # +5.09 %
    project = _project(tmp_path, 'format = "json"\ntolerance = 6\n')
    shutil.copy(beyond, project / "orders" / "beyond.jsonld")
    done = run("orders/beyond.jsonld", cwd=project)
    assert done.returncode == 0 and json.loads(done.stdout)["summary"]["errors"] == 0
    assert run("--tolerance", "5", "orders/beyond.jsonld", cwd=project).returncode == 1


def test_an_unknown_setting_is_a_tool_error(tmp_path):
    project = _project(tmp_path, 'tolerence = 5\n')
    done = run("orders/bad.jsonld", cwd=project)
    assert done.returncode == 2 and b"no setting tolerence" in done.stderr


def test_configuration_fail_on_info_is_a_tool_error(tmp_path):
    project = _project(tmp_path, 'fail-on = "info"\n')
    done = run("orders/reduced.jsonld", cwd=project)
    assert done.returncode == 2 and b"fail-on is error or warning (information never fails a run)" in done.stderr


def test_information_never_fails_not_even_at_fail_on_warning(tmp_path):
    """A warning re-levelled to info by the site: reported, counted, and the run passes at --fail-on warning."""
    project = _project(tmp_path, '[tool.protovalidate.rules]\ndose-level-reduced = "info"\n')
    done = run("--fail-on", "warning", "orders/reduced.jsonld", cwd=project)
    assert done.returncode == 0, done.stdout.decode()
    assert b"info[dose-level-reduced]" in done.stdout
    assert "0 errors, 0 warnings, 1 info in 0 of 1 file failing (fail on warning)" in done.stderr.decode()
    junit = run("--fail-on", "warning", "--format", "junit", "orders/reduced.jsonld", cwd=project)
    assert junit.returncode == 0 and b"<failure" not in junit.stdout and b"info[dose-level-reduced]" in junit.stdout


@pytest.mark.parametrize("value", ["51", "-1", "ten"])
def test_weight_change_threshold_out_of_range_is_a_usage_error(value):
    done = run("--weight-change-threshold", value, str(VALID))
    assert done.returncode == 2 and b"--weight-change-threshold" in done.stderr


def test_configuration_weight_change_threshold_out_of_range_is_a_tool_error(tmp_path):
    project = _project(tmp_path, "weight-change-threshold = 60\n")
    done = run("orders/bad.jsonld", cwd=project)
    assert done.returncode == 2 and b"weight-change-threshold is a percentage from 0 to 50" in done.stderr


def test_weight_change_threshold_reaches_the_knowledge_base_and_the_command_line_wins(tmp_path, monkeypatch):
    """Plumbed as --tolerance is: the setting is compiled into a knowledge base of its own (compiled.py)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("PROTOVALIDATE_CACHE_DIR", str(cache))
    project = _project(tmp_path, "weight-change-threshold = 12\n")
    assert run("orders/reduced.jsonld", cwd=project).returncode == 0
    assert [p.name.endswith("-weight-change=12.pickle") for p in cache.glob("kb-*.pickle")] == [True]
    shutil.rmtree(cache)
    assert run("--weight-change-threshold", "15.0", "--tolerance", "6", "orders/reduced.jsonld",
               cwd=project).returncode == 0
    assert [p.name.split("-", 3)[-1] for p in cache.glob("kb-*.pickle")] == ["tolerance=6_weight-change=15.pickle"]


@pytest.mark.parametrize("settings, said, every_command", [
    ('[tool.protovalidate.rules]\ninfusion-too-shrt = "off"\n',
     "[tool.protovalidate.rules] names no rule of this knowledge base: infusion-too-shrt "
     "(did you mean infusion-too-short?)", False),
    ('[tool.protovalidate.rules]\ndose-level-above-protocol = "off"\nqqq = "info"\n',
     "names no rule of this knowledge base: qqq (`protovalidate --list-rules` lists them)", False),
    ('[tool.protovalidate.rules]\ndose-level-above-protocol = "warn"\n',
     '[tool.protovalidate.rules] dose-level-above-protocol = "warn": a rule\'s level is one of error, warning, '
     'info, off', True),
    ("toleranse = 5\n", "no setting toleranse (did you mean tolerance?)", True),
    ('format = "yaml"\n', "format 'yaml' is none of github, html, json, junit, operationoutcome, sarif, shacl, text", True),
    ('regimens = "site-regimens"\n', "regimens is a list of folders of regimen templates", True),
    ('regimens = ["site-regimens"]\n', "regimens: no such folder", True),
    ('exclude = "orders/drafts/*"\n', "exclude is a list of glob patterns", True),
], ids=["rule-id-misspelt", "rule-id-unknown", "level-unknown", "key-misspelt", "format", "regimens-not-a-list",
        "regimens-missing", "exclude-not-a-list"])
def test_a_setting_the_tool_cannot_honour_is_exit_2_naming_it(tmp_path, settings, said, every_command):
    """A setting that would silently do nothing (a mistyped rule id silences no rule) is refused before any
    order is read, without a traceback. Rule ids are the order check's; every command reads the rest."""
    project = _project(tmp_path, settings)
    done = run("orders/bad.jsonld", cwd=project)
    assert done.returncode == 2 and done.stdout == b"", done.stdout.decode()
    assert said in done.stderr.decode() and str(project / "pyproject.toml") in done.stderr.decode()
    assert b"Traceback" not in done.stderr
    for command in (["regimens"], ["show", "KRd"], ["check-template", "orders"]) if every_command else ():
        refused = run(*command, cwd=project)
        assert refused.returncode == 2 and said in refused.stderr.decode(), command


def test_every_known_rule_id_may_be_levelled(tmp_path):
    """The refusal is of unknown ids only: each id --list-rules names is accepted, but for the FHIR error
    rules, which no site may re-level (tests/test_fhir_wiring.py)."""
    listed = [line.split("\t") for line in run("--list-rules").stdout.decode().splitlines()]
    ids = sorted({rule for rule, level, *_ in listed if not (rule.startswith("fhir-") and level == "error")})
    project = _project(tmp_path, "[tool.protovalidate.rules]\n" + "".join(f'{i} = "warning"\n' for i in ids))
    done = run("orders/bad.jsonld", cwd=project)
    assert done.returncode == 0 and b"warning[dose-level-above-protocol]" in done.stdout, done.stderr.decode()


def test_a_folder_whose_every_order_is_excluded_is_no_green_run(tmp_path):
    project = _project(tmp_path, 'exclude = ["orders/*"]\n')
    done = run("orders", cwd=project)
    assert done.returncode == 2 and b"tool error" in done.stdout
    assert "protovalidate: orders: no order file" in done.stderr.decode()
    assert "2 excluded by the [tool.protovalidate] exclude setting" in done.stderr.decode()
    done = run("orders/*.jsonld", cwd=project)
    assert done.returncode == 2 and "the pattern matches no file (2 excluded" in done.stderr.decode()
