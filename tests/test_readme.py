"""The README's commands work as written, and CI runs exactly its test command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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
