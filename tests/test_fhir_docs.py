"""docs/fhir.md, the integrator's page, says what the project does.

Its examples run through the command as the page shows them: each file it gives (a ```json block after
"File `NAME`:", or a file it derives by one change), each ```console block ($ the command, the standard
output, # the exit status). Its table of FHIR findings lists exactly the rules of read/fhir/rules.json,
with their levels and codes; its extensions and CodeSystems are the shipped definitions; it links to
nothing outside the repository.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from chemo_protovalidate.read.fhir import fhir_rules
from conftest import ROOT

PAGE_PATH = ROOT / "docs" / "fhir.md"
PAGE = PAGE_PATH.read_text("utf-8")
DEFINITIONS = ROOT / "src" / "chemo_protovalidate" / "read" / "fhir" / "definitions"
EXECUTABLE = shutil.which("protovalidate", path=str(Path(sys.executable).parent)) or "protovalidate"
KNOWLEDGE_BASE = "https://w3id.org/protovalidate/fhir/StructureDefinition/knowledge-base"
CONVERTER = importlib.util.find_spec("chemo_protovalidate.read.fhir.convert") is not None


def _fenced() -> list[tuple[str, str, int]]:
    """Every fenced block of the page: (its language, its text, the offset in the page where it opens)."""
    return [(m.group(1), m.group(2), m.start()) for m in re.finditer(r"^```(\w*)\n(.*?)^```$", PAGE, re.S | re.M)]


def _files() -> dict[str, str]:
    """The files the page gives: a ```json block after "File `NAME`:", and "File `NEW` is `OLD` with
    `A` changed to `B`" (A once in OLD)."""
    files = {}
    for language, text, start in _fenced():
        before = PAGE[:start].rstrip().rsplit("\n", 1)[-1]
        named = re.fullmatch(r"File `([^`]+)`:", before)
        if language == "json" and named:
            files[named.group(1)] = text
    for new, old, a, b in re.findall(r"File `([^`]+)` is `([^`]+)` with `([^`]+)` changed to `([^`]+)`", PAGE):
        assert files[old].count(a) == 1, f"{new}: {a!r} is not once in {old}"
        files[new] = files[old].replace(a, b)
    return files


def _sessions() -> list[tuple[list[str], str, int]]:
    """The ```console blocks: (the command's arguments, the standard output, the exit status)."""
    found = []
    for language, text, _ in _fenced():
        if language != "console":
            continue
        lines = text.rstrip("\n").split("\n")
        assert lines[0].startswith("$ protovalidate") and re.fullmatch(r"# exit \d", lines[-1]), text[:200]
        found.append((shlex.split(lines[0][2:])[1:], "\n".join(lines[1:-1]), int(lines[-1].split()[-1])))
    return found


def _normalised(document: dict) -> dict:
    """An OperationOutcome Bundle with its knowledge-base version blanked: a release must not stale the page."""
    for entry in document.get("entry", []):
        for extension in entry["resource"].get("extension", []):
            if extension["url"] == KNOWLEDGE_BASE:
                extension["valueString"] = "…"
    return document


def test_the_page_gives_a_request_group_and_a_bundle():
    files = _files()
    kinds = {json.loads(text)["resourceType"] for text in files.values()}
    assert {"RequestGroup", "Bundle"} <= kinds, sorted(files)
    assert len(_sessions()) >= 4


@pytest.mark.skipif(not CONVERTER, reason="the FHIR converter (read/fhir/convert.py) is not in the package yet")
@pytest.mark.parametrize("args, expected, status", _sessions(), ids=[" ".join(a) for a, _, _ in _sessions()])
def test_each_example_runs_as_the_page_says(tmp_path, args, expected, status):
    for name, text in _files().items():
        (tmp_path / name).write_text(text + "\n", encoding="utf-8")
    done = subprocess.run([EXECUTABLE, *args], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == status, done.stdout + done.stderr
    if args[0] == "convert":
        assert json.loads(done.stdout) == json.loads(expected)
    elif "operationoutcome" in args:
        assert _normalised(json.loads(done.stdout)) == _normalised(json.loads(expected))
    else:
        assert done.stdout.rstrip("\n") == expected
    if status == 0 and args[0] != "convert":
        assert "0 errors, 0 warnings, 0 info" in done.stderr, "the page says these examples have no finding"


def _section(title: str) -> str:
    start = PAGE.index(f"\n## {title}\n")
    end = PAGE.find("\n## ", start + 1)
    return PAGE[start:end if end > 0 else len(PAGE)]


def _table_rows(text: str) -> list[list[str]]:
    rows = [[cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            for line in text.splitlines() if line.startswith("| ")]
    return [row for row in rows[1:] if not set(row[0]) <= {"-", " "}]


def test_the_table_of_fhir_findings_is_exactly_the_rules_with_their_levels_and_codes():
    rows = _table_rows(_section("Every FHIR finding"))
    listed = [row[0].strip("`") for row in rows]
    assert len(listed) == len(set(listed)), "a rule listed twice"
    assert {row[0].strip("`"): (row[1], row[2].strip("`")) for row in rows} == {
        rule: (about["level"], about["code"]) for rule, about in fhir_rules().items()}


def test_the_extensions_are_the_shipped_structure_definitions():
    rows = _table_rows(PAGE[PAGE.index("### Extensions"):PAGE.index("### CodeSystems")])
    shipped = {json.loads(p.read_text("utf-8"))["id"]: json.loads(p.read_text("utf-8"))
               for p in DEFINITIONS.glob("StructureDefinition-*.json")}
    assert {row[0].strip("`") for row in rows} == set(shipped)
    for row in rows:
        contexts = [c["expression"] for c in shipped[row[0].strip("`")]["context"]]
        assert [w.strip() for w in re.sub(r"\(.*?\)", "", row[1]).split(",")] == contexts, row


def test_the_code_systems_are_the_shipped_ones():
    rows = _table_rows(PAGE[PAGE.index("### CodeSystems"):PAGE.index("## The site map")])
    for row in rows:
        definition = json.loads((DEFINITIONS / row[2].strip("`")).read_text("utf-8"))
        assert definition["url"] == row[0].strip("`")
    assert {row[2].strip("`") for row in rows} == {p.name for p in DEFINITIONS.glob("CodeSystem-*.json")}
    override = next(row for row in rows if row[0].endswith("/override-reason`"))
    codes = [c["code"] for c in json.loads((DEFINITIONS / "CodeSystem-override-reason.json").read_text())["concept"]]
    assert re.findall(r"`([a-z-]+)`", override[1]) == codes


def test_the_site_map_example_is_toml_of_the_three_tables():
    [block] = [text for language, text, _ in _fenced() if language == "toml"]
    fhir = tomllib.loads(block)["tool"]["protovalidate"]["fhir"]
    assert set(fhir) == {"regimens", "agents", "routes"}
    assert set(fhir["routes"]["https://fhir.example-hospital.org/CodeSystem/route"].values()) <= {"IV", "SC", "PO"}


def test_the_page_links_only_inside_the_repository():
    assert "../shared" not in PAGE and "/work/" not in PAGE
    for target in re.findall(r"\]\(([^)]+)\)", PAGE):
        if target.startswith("#"):
            anchor = target[1:]
            headings = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
                        for h in re.findall(r"^#+ (.+)$", PAGE, re.M)}
            assert anchor in headings, f"no heading for #{anchor}"
            continue
        assert "://" not in target, f"a link outside the repository: {target}"
        path = (PAGE_PATH.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT) and path.exists(), target
