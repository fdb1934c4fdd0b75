"""The README's commands work as written, and CI runs exactly its test command."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

README = (ROOT / "README.md").read_text("utf-8")


def _blocks(language: str) -> list[str]:
    """The fenced blocks whose opening fence names this language ("" for none)."""
    blocks, current, opened_as = [], None, None
    for line in README.splitlines():
        if line.startswith("```"):
            if current is None:
                current, opened_as = [], line[3:].strip()
            else:
                if opened_as == language:
                    blocks.append("\n".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def _setup_commands() -> tuple[str, str]:
    run, test = _blocks("sh")[:2]
    assert README.index(run) > README.index("## Set-up and the two commands") > 0
    return run.strip(), test.strip()


def test_ci_runs_exactly_the_readme_test_command():
    _, test = _setup_commands()
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert test in ci.splitlines()


def test_readme_run_command_works_on_a_clean_copy(tmp_path):
    run, _ = _setup_commands()
    copy = tmp_path / "clone"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis", "out"))
    done = subprocess.run(["bash", "-c", run], cwd=copy, capture_output=True, timeout=900,
                          env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stdout.decode()[-2000:] + done.stderr.decode()[-2000:]
    assert "0 errors, 0 warnings" in done.stderr.decode()


def test_readme_sample_output_is_what_the_command_prints():
    sample = _blocks("")[0].strip()
    path = "examples/orders/invalid/dose-level-above-protocol.jsonld"
    assert sample.startswith(path)
    done = subprocess.run([str(Path(sys.executable).parent / "protovalidate"), path], cwd=ROOT,
                          capture_output=True, timeout=120)
    assert done.returncode == 1
    assert sample == done.stdout.decode().splitlines()[0]


def test_readme_service_commands_work_on_a_clean_copy(tmp_path):
    """The service's two lines: install the extra and start it; call it with curl on the shipped request."""
    block = next(b for b in _blocks("sh") if "protovalidate serve" in b)
    start, call = [line.strip() for line in block.strip().splitlines()]
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed: the README's call line cannot run as written")
    copy = tmp_path / "clone"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis", "out"))
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    server = subprocess.Popen(["bash", "-c", start], cwd=copy,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        for line in server.stderr:  # pip's output goes to stdout; the service's start-up line to stderr
            if "listening on" in line or "Error" in line:
                break
        assert "listening on http://127.0.0.1:8080" in line, line
        done = subprocess.run(["bash", "-c", call], cwd=copy, env=env, capture_output=True, text=True, timeout=120)
        answer = json.loads(done.stdout)
        assert [card["indicator"] for card in answer["cards"]] == ["warning"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(60)
