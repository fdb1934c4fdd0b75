"""The pre-commit hooks this repository publishes run the installed command on the files they select."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
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
    # Every shipped regimen passes its own template checks (HermiT runs once for them all: check_all).
    done = subprocess.run(command + selected, cwd=ROOT, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stdout.decode()


TUTORIAL = ROOT / "docs" / "writing-a-regimen.md"


def _matches(hook: dict, path: str) -> bool:
    """pre-commit's selection: re.search of `files`, less re.search of `exclude`, on the repository-relative path."""
    return bool(re.search(hook["files"], path)) and not ("exclude" in hook and re.search(hook["exclude"], path))


@pytest.fixture(scope="module")
def tutorial_site(tmp_path_factory) -> Path:
    """A site repository laid out as docs/writing-a-regimen.md lays it out: the tutorial's own blocks that write
    files (every ```sh block that runs no .venv/bin/protovalidate), run in order, plus the pyproject.toml of its
    section 1 and one order of the site's outside the regimen folder."""
    site = tmp_path_factory.mktemp("site")
    blocks = re.findall(r"^```sh\n(.*?)^```$", TUTORIAL.read_text("utf-8"), re.M | re.S)
    writing = [block for block in blocks if "bin/protovalidate" not in block]
    assert writing and "mkdir -p site-regimens" in writing[0]
    for block in writing:
        subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block], cwd=site, check=True, timeout=60)
    (site / "pyproject.toml").write_text('[tool.protovalidate]\nregimens = ["site-regimens"]\n', "utf-8")
    (site / "orders").mkdir()
    example = next((site / "site-regimens").glob("*-examples/cycle1.jsonld"))
    (site / "orders" / "patient-1.jsonld").write_bytes(example.read_bytes())
    return site


def _site_files(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())


def test_the_hooks_follow_the_tutorial_layout(tutorial_site):
    """A template matches the template hook and not the order hook; the templates' example orders (some fail on
    purpose) match neither; the site's own orders match the order hook only."""
    files = _site_files(tutorial_site)
    templates = [f for f in files if re.fullmatch(r"site-regimens/[^/]+\.ttl", f)]
    examples = [f for f in files if f.startswith("site-regimens/") and f.endswith(".jsonld")]
    assert templates and len(examples) >= 4, files
    for path in templates:
        assert _matches(HOOKS["protovalidate-templates"], path) and not _matches(HOOKS["protovalidate"], path), path
    for path in examples:
        assert not _matches(HOOKS["protovalidate-templates"], path) and not _matches(HOOKS["protovalidate"], path), path
    assert _matches(HOOKS["protovalidate"], "orders/patient-1.jsonld")
    assert not _matches(HOOKS["protovalidate-templates"], "orders/patient-1.jsonld")


@pytest.mark.parametrize("path, template, order", [
    ("site-regimens/KRd-site.ttl", True, False),
    ("clinic/site-regimens/KRd-site.ttl", True, False),
    ("regimens/KRd-site.ttl", True, False),
    ("ontology/regimens/KRd.ttl", True, False),
    ("site-regimens/KRd-site-examples/cycle1.jsonld", False, False),
    ("site-regimens/KRd-site-examples/cycle1.ttl", False, False),
    ("my-site-regimens/KRd-site.ttl", False, True),
    ("orders/cycle1.jsonld", False, True),
    ("orders/cycle1.ttl", False, True),
    ("orders/regimens.jsonld", False, True),
    ("shapes/document.ttl", False, False),
], ids=lambda value: value if isinstance(value, str) else None)
def test_hook_patterns(path, template, order):
    assert (_matches(HOOKS["protovalidate-templates"], path), _matches(HOOKS["protovalidate"], path)) == \
        (template, order)


def test_the_hooks_pass_the_tutorial_site_as_pre_commit_runs_them(tutorial_site):
    """Both hooks' commands, from the site's root, on what each selects of its files: exit 0."""
    files = _site_files(tutorial_site)
    for hook in HOOKS.values():
        selected = [f for f in files if _matches(hook, f)]
        assert selected, hook["id"]
        command = [str(BIN / "protovalidate"), *hook["entry"].split()[1:], *selected]
        done = subprocess.run(command, cwd=tutorial_site, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{hook['id']} {selected}:\n{done.stdout}{done.stderr}"


def _readme_pre_commit_config() -> dict:
    readme = (ROOT / "README.md").read_text("utf-8")
    blocks = [yaml.safe_load(b) for b in re.findall(r"^```yaml\n(.*?)^```$", readme, re.M | re.S)]
    configs = [b for b in blocks if isinstance(b, dict) and "repos" in b]
    assert len(configs) == 1, "the README shows one .pre-commit-config.yaml"
    return configs[0]


def test_the_readme_snippet_names_this_repository_s_hooks_and_a_released_tag():
    """`rev` must name a tag that exists once the version is released: v<version> of pyproject.toml, a version
    CHANGELOG.md describes, the one the command reports."""
    (repo,) = _readme_pre_commit_config()["repos"]
    assert {hook["id"] for hook in repo["hooks"]} == set(HOOKS)
    version = _project_version()
    assert repo["rev"] == f"v{version}"
    released = re.findall(r"^## (\d+\.\d+\.\d+)\b", (ROOT / "CHANGELOG.md").read_text("utf-8"), re.M)
    assert released and released[0] == version, "the newest CHANGELOG entry is the version being released"
    assert f"Tag to create: `v{version}`" in (ROOT / "CHANGELOG.md").read_text("utf-8")
    assert f"rev: v{version}" in (ROOT / ".pre-commit-hooks.yaml").read_text("utf-8")


def _project_version() -> str:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]


def test_the_command_reports_the_version_being_released():
    """The version the tag names is the one --version and every report print (src/chemo_protovalidate/model/version.py)."""
    from chemo_protovalidate.model.version import __version__

    assert __version__ == _project_version()
