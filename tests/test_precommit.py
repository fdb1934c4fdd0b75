"""The pre-commit hooks this repository publishes run the installed command on the files they select."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import ROOT

HOOKS = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))}
BIN = Path(sys.executable).parent


def _selected(hook: dict) -> list[str]:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    files = re.compile(hook["files"])
    exclude = re.compile(hook["exclude"]) if "exclude" in hook else None
    return [f for f in tracked if files.search(f) and not (exclude and exclude.search(f))]


def test_hooks_are_python_hooks_of_this_command():
    assert set(HOOKS) == {"protovalidate", "protovalidate-templates"}
    for hook in HOOKS.values():
        assert hook["language"] == "python" and hook["entry"].split()[0] == "protovalidate"
        assert hook["require_serial"] is True


def test_order_hook_selects_orders_and_nothing_else():
    selected = _selected(HOOKS["protovalidate"])
    assert "examples/orders/valid/KRd-cycle1.jsonld" in selected
    assert not [f for f in selected if f.startswith(("ontology/", "shapes/")) or f.endswith(".expected")]


def test_order_hook_passes_valid_orders_and_fails_invalid_ones():
    selected = _selected(HOOKS["protovalidate"])
    valid = [f for f in selected if f.startswith("examples/orders/valid/")]
    invalid = [f for f in selected if f.startswith("examples/orders/invalid/")][:5]
    command = [str(BIN / "protovalidate"), *HOOKS["protovalidate"]["entry"].split()[1:]]
    assert subprocess.run(command + valid, cwd=ROOT, capture_output=True, timeout=300).returncode == 0
    assert subprocess.run(command + invalid, cwd=ROOT, capture_output=True, timeout=300).returncode == 1


def test_template_hook_checks_the_shipped_regimens():
    selected = _selected(HOOKS["protovalidate-templates"])
    assert "ontology/regimens/KRd.ttl" in selected and not [f for f in selected if not f.endswith(".ttl")]
    command = [str(BIN / "protovalidate"), *HOOKS["protovalidate-templates"]["entry"].split()[1:]]
    # Every shipped regimen passes its own template checks (HermiT takes ~3 s a file).
    done = subprocess.run(command + selected, cwd=ROOT, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stdout.decode()
