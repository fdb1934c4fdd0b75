"""The habits of CI tools: report files, colour, standard input names, globs, configuration."""

from __future__ import annotations

import json
import shutil

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
