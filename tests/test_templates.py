"""Regimen templates (`protovalidate check-template`), a ninth regimen as data, and the authors' tutorial.

- examples/templates/valid/: every template passes with no finding (exit 0);
  examples/templates/invalid/: each gives exactly the rows of its .expected
  file (`line severity rule agent day`) and fails (exit 1).
- Isa-Kd is data only: a renamed copy of ontology/regimens/Isa-Kd.ttl in a
  temporary site directory is a regimen of its own, and its orders are judged
  like the shipped one's.
- Without Java the reasoner is skipped with an info finding, never a failure.
- docs/writing-a-regimen.md runs as written: every ```sh block, in order.

check-template runs the OWL reasoner (Java), about a second a run, once on all
the files of a call where they are consistent together, else on halves, and
on each file of a group of fewer than four that is not: the invalid templates
(one of them inconsistent) are checked in as many concurrent CLI calls as
there are processors, each over a share of the folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef

from chemo_protovalidate.author.templates import TEMPLATE_RULES
from chemo_protovalidate.check.knowledge import KnowledgeBase
from chemo_protovalidate.check.pipeline import Pipeline
from chemo_protovalidate.check.reasoning import is_consistent
from chemo_protovalidate.model.findings import Severity
from conftest import EXAMPLES, ROOT, check_file
from expected import actual_rows, expected_path, read_expected

BIN = Path(sys.executable).parent
COMMAND = shutil.which("protovalidate", path=str(BIN)) or "protovalidate"
TEMPLATES = ROOT / "examples" / "templates"
VALID = sorted((TEMPLATES / "valid").glob("*.ttl"))
INVALID = sorted((TEMPLATES / "invalid").glob("*.ttl"))
INVALID_BY_NAME = {p.name: p for p in INVALID}
ISA_KD = ROOT / "ontology" / "regimens" / "Isa-Kd.ttl"
TUTORIAL = ROOT / "docs" / "writing-a-regimen.md"
HAS_JAVA = shutil.which("java") is not None
SKIPPED = "template-reasoner-skipped"
PV = "https://w3id.org/protovalidate/ontology#"


def run(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([COMMAND, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def _rows(file_json: dict) -> list[tuple]:
    """The findings of one file of a JSON report, as .expected rows."""
    return sorted(((r["line"], r["severity"], r["rule"], r["agent"], r["day"]) for r in file_json["results"]
                   if HAS_JAVA or r["rule"] != SKIPPED), key=repr)


def _check_templates(paths: list[Path]) -> dict[str, tuple[int, dict]]:
    """check-template --format json over paths, split over concurrent calls: {path: (exit status of its call, file report)}."""
    shares = max(1, min(os.cpu_count() or 1, 4, len(paths)))
    calls = [subprocess.Popen([COMMAND, "check-template", "--format", "json", *map(str, paths[i::shares])],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(shares)]
    reports = {}
    for call in calls:
        stdout, stderr = call.communicate(timeout=300)
        assert call.returncode in (0, 1), stderr
        for file_json in json.loads(stdout)["files"]:
            reports[file_json["path"]] = (call.returncode, file_json)
    return reports


# --- The template fixtures -------------------------------------------------------------------------------------


def test_there_are_template_fixtures():
    assert [p.name for p in VALID] == ["Test-Weekly-Kd.ttl"]
    assert len(INVALID) >= 12
    for template in INVALID:
        assert expected_path(template).exists(), f"{template.name} has no .expected file beside it"


@pytest.fixture(scope="module")
def invalid_reports() -> dict[str, tuple[int, dict]]:
    return _check_templates(INVALID)


SHIPPED_REGIMENS = sorted(ISA_KD.parent.glob("*.ttl"))


def test_valid_templates_and_every_shipped_regimen_give_no_finding():
    """A shipped regimen checked as a template passes: what a site copies from is itself clean."""
    done = run("check-template", "--format", "json", str(TEMPLATES / "valid"), *map(str, SHIPPED_REGIMENS))
    assert done.returncode == 0, done.stdout
    files = {f["path"]: _rows(f) for f in json.loads(done.stdout)["files"]}
    assert sorted(files) == sorted(map(str, VALID + SHIPPED_REGIMENS))
    assert files == {path: [] for path in files}


@pytest.mark.skipif(not HAS_JAVA, reason="the OWL reasoner needs Java")
def test_templates_consistent_together_need_one_reasoner_run(checker, monkeypatch):
    """check_all asks HermiT once of every template together; with one inconsistent file among them, that file
    still gets its finding and the others none (the halves are asked in turn)."""
    from chemo_protovalidate.author import templates

    runs = []
    monkeypatch.setattr(templates, "is_consistent", lambda graph: runs.append(len(graph)) or is_consistent(graph))
    results = checker.check_all(SHIPPED_REGIMENS)
    assert len(runs) == 1 and [r.path for r in results if not r.conforms(Severity.ERROR)] == []
    runs.clear()
    mixed = SHIPPED_REGIMENS[:7] + [INVALID_BY_NAME["inconsistent.ttl"]]
    found = {Path(r.path).name: "template-inconsistent" in {f.rule_id for f in r.findings}
             for r in checker.check_all(mixed)}
    assert found == {p.name: p.name == "inconsistent.ttl" for p in mixed}
    assert len(runs) < len(mixed)


def test_the_valid_template_carries_a_conforming_and_a_failing_example():
    graph = Graph().parse(VALID[0])
    examples = list(graph.objects(None, URIRef(PV + "example")))
    expected = sorted(str(r) for e in examples for r in graph.objects(e, URIRef(PV + "expectedRule")))
    assert len(examples) == 2 and expected == ["off-schedule"]
    for example in examples:
        assert (VALID[0].parent / str(graph.value(example, URIRef(PV + "orderFile")))).is_file()


def test_check_template_reports_the_example_orders_it_ran():
    """Each example order run is listed under its template (without its findings: its verdict against the expected
    rules is the template's), and the summary counts them."""
    disagrees = TEMPLATES / "invalid" / "example-disagrees.ttl"
    done = run("check-template", "--format", "json", str(VALID[0]), str(disagrees))
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    examples = {str(t): len(list(Graph().parse(t).objects(None, URIRef(PV + "example")))) for t in (VALID[0], disagrees)}
    assert {f["path"]: len(f["orders"]) for f in report["files"]} == examples and min(examples.values()) >= 1
    assert all(o["results"] == [] for f in report["files"] for o in f["orders"])
    assert report["summary"]["orders"] == sum(examples.values())
    assert f"; {sum(examples.values())} orders checked;" in done.stderr


# (label, minValue, maxValue, unit, what the finding says the label states; None: no finding)
LABELS = [
    ("20-40 mg PO or IV on days 1, 8, 15, 22, at most 40 mg a week", 20, 40, "mg", None),
    ("36\u201356 mg/m2 IV, cycle 2 on", 36, 56, "mg/m2", None),
    ("1.3 mg/m2 SC, days 1, 8, 15, 22", 1.3, 1.3, "mg/m2", None),
    ("cycle 1 days 8, 15: 56 mg/m2 IV", 56, 56, "mg/m2", None),  # the day numbers are not the amount
    ("1800 mg SC, cycles 1-2 days 1, 8, 15, 22", 1800, 1800, "mg", None),
    ("27 mg/m2 IV over at least 10 min", 15, 15, "mg/m2", "says 27 mg/m2"),
    ("20-40 mg PO", 20, 30, "mg", "says 20-40 mg"),
    ("127 mg PO", 27, 27, "mg", "says 127 mg"),
    ("56 mg/m2 IV", 56, 56, "mg", "states no dose in mg"),  # mg/m2 is not mg
    ("10 mg/kg IV", 10, 10, "mg", "states no dose in mg"),
    ("weekly dexamethasone", 20, 40, "mg", "states no dose in mg"),
]


@pytest.fixture(scope="module")
def checker():
    from chemo_protovalidate.author.templates import TemplateChecker

    return TemplateChecker()


@pytest.mark.parametrize("label, low, high, unit, said", LABELS, ids=range(len(LABELS)))
def test_a_dosing_label_states_the_dose_its_data_holds(checker, label, low, high, unit, said):
    text = f"""@prefix pv: <{PV}> . @prefix kb: <https://w3id.org/protovalidate/kb/> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        kb:Test-Label-dosing a pv:Dosing ; pv:underReview true ; rdfs:label "{label}" ;
            pv:level [ pv:minValue {low} ; pv:maxValue {high} ; pv:unit "{unit}" ] ."""
    found = [f.message for f in checker.engine.check(Graph().parse(data=text, format="turtle"))
             if f.rule_id == "template-label-disagrees"]
    level = f"{low:g} {unit}" if low == high else f"{low:g}-{high:g} {unit}"
    assert found == ([] if said is None else
                     [f"Dosing Test-Label-dosing: its label {said}, but its dose level is {level}: correct whichever "
                      "is wrong."])


@pytest.mark.parametrize("template", INVALID, ids=lambda p: p.name)
def test_invalid_template_gives_its_expected_findings(invalid_reports, template):
    if template.name == "inconsistent.ttl" and not HAS_JAVA:
        pytest.skip("only the OWL reasoner (Java) sees this fault")
    status, report = invalid_reports[str(template)]
    assert report["error"] is None
    assert _rows(report) == read_expected(expected_path(template)), \
        "\n".join(r["message"] for r in report["results"])
    if any(row[1] == "error" for row in read_expected(expected_path(template))):
        # Alone, the file would exit 1: its call did, and the file itself does not conform.
        assert status == 1 and report["conforms"] is False
    else:  # a fixture of a warning-level template rule: reported, and the template still goes live
        assert report["conforms"] is True


def test_every_template_rule_has_an_invalid_fixture():
    shapes = Graph().parse(ROOT / "shapes" / "templates" / "template.ttl")
    rules = {str(r) for r in shapes.objects(None, URIRef(PV + "ruleId"))} | set(TEMPLATE_RULES)
    exercised = {row[2] for t in INVALID for row in read_expected(expected_path(t))}
    # The reasoner-skipped notice has a test of its own (below).
    assert sorted(rules - exercised - {SKIPPED}) == []


def test_without_java_the_reasoner_is_skipped_with_a_notice():
    path = str(BIN)  # the venv's scripts run their interpreter by absolute path: nothing else is needed
    if shutil.which("java", path=path) is not None:
        pytest.skip(f"java is in {path}")
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME",)} | {"PATH": path}
    done = run("check-template", "--format", "json", str(VALID[0]), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    (report,) = json.loads(done.stdout)["files"]
    assert [(r["rule"], r["severity"], r["line"]) for r in report["results"]] == [(SKIPPED, "info", None)]


def test_the_reading_view_holds_every_dosings_constraints():
    """regimens.py (what `regimens` and `show` read) carries each dosing's days, routes, level and infusion minimum
    as the data states them: what a calendar needs to show every constraint."""
    from chemo_protovalidate.author.regimens import regimens

    kb = KnowledgeBase.load()
    graph, seen = kb.graph, 0
    for regimen in regimens(kb):
        for dosing in (d for c in regimen.components for d in c.dosings):
            node = URIRef(dosing.iri)
            minimum = graph.value(node, URIRef(PV + "minInfusionMinutes"))
            assert dosing.min_infusion_minutes == (float(minimum) if minimum is not None else None), dosing.iri
            level = graph.value(node, URIRef(PV + "level"))
            assert (dosing.level.minimum, dosing.level.maximum, dosing.level.unit) == (
                float(graph.value(level, URIRef(PV + "minValue"))), float(graph.value(level, URIRef(PV + "maxValue"))),
                str(graph.value(level, URIRef(PV + "unit"))))
            assert len(dosing.routes) == len(list(graph.objects(node, URIRef(PV + "allowedRoute")))) >= 1
            seen += minimum is not None
    assert seen >= 1


# --- Isa-Kd: a ninth regimen as data ---------------------------------------------------------------------------

ISA_KD_ORDERS = sorted(EXAMPLES.glob("*/Isa-Kd-*.jsonld"))


def _site_regimen(folder: Path) -> Path:
    """The shipped Isa-Kd file, renamed Isa-Kd-site throughout (identifier, regimen, component and dosing IRIs)."""
    folder.mkdir()
    copy = folder / "Isa-Kd-site.ttl"
    copy.write_text(ISA_KD.read_text("utf-8").replace("Isa-Kd", "Isa-Kd-site"), "utf-8")
    return copy


def _site_order(order: Path, folder: Path) -> Path:
    text = order.read_text("utf-8")
    assert text.count('"regimen": "Isa-Kd"') == 1
    copy = folder / order.name
    copy.write_text(text.replace('"regimen": "Isa-Kd"', '"regimen": "Isa-Kd-site"'), "utf-8")
    return copy


def test_isa_kd_has_examples():
    names = [p.relative_to(EXAMPLES).as_posix() for p in ISA_KD_ORDERS]
    for name in ("valid/Isa-Kd-cycle1.jsonld", "valid/Isa-Kd-cycle2.jsonld",
                 "invalid/Isa-Kd-dexamethasone-40mg.jsonld", "invalid/Isa-Kd-isatuximab-day-8-cycle-2.jsonld"):
        assert name in names


def test_the_ninth_regimen_loads_from_a_directory(tmp_path):
    site = _site_regimen(tmp_path / "site").parent
    kb = KnowledgeBase.load(extra_regimen_dirs=(site,))
    assert "Isa-Kd-site" in kb.regimen_ids() and "Isa-Kd-site" not in KnowledgeBase.load().regimen_ids()
    # Everything Isa-Kd-site gives beyond the shared dosings comes from the temporary file.
    own = URIRef("https://w3id.org/protovalidate/kb/Isa-Kd-site-dexamethasone-20")
    assert kb.graph.value(own, URIRef(PV + "fromCycle")) == Literal(1)
    validator = Pipeline(kb)
    orders = tmp_path / "orders"
    orders.mkdir()
    for order in ISA_KD_ORDERS:
        result = check_file(validator, _site_order(order, orders))
        assert [o.regimen for o in result.orders] == ["Isa-Kd-site"]
        if order.parent.name == "valid":
            assert [f"{f.rule_id}: {f.message}" for f in result.all_findings()] == []
        else:
            assert actual_rows(result) == read_expected(expected_path(order)), \
                "\n".join(f.message for f in result.all_findings())


def test_the_ninth_regimen_from_a_directory_on_the_command_line(tmp_path):
    site = _site_regimen(tmp_path / "site").parent
    orders = tmp_path / "orders"
    orders.mkdir()
    valid = _site_order(EXAMPLES / "valid" / "Isa-Kd-cycle1.jsonld", orders)
    invalid = _site_order(EXAMPLES / "invalid" / "Isa-Kd-dexamethasone-40mg.jsonld", orders)
    done = run("check", "--regimens", str(site), "--format", "json", str(valid), str(invalid))
    assert done.returncode == 1, done.stdout + done.stderr
    verdicts = {f["path"]: {r["rule"] for o in f["orders"] for r in o["results"]}
                for f in json.loads(done.stdout)["files"]}
    assert verdicts == {str(valid): set(), str(invalid): {"dose-level-above-protocol"}}
    assert run("check", "--regimens", str(site), str(valid)).returncode == 0
    # Without the directory, the renamed regimen is unknown.
    assert "unknown-regimen" in run("check", "--format", "json", str(valid)).stdout


def test_a_site_regimen_may_not_reuse_a_shipped_identifier(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(TEMPLATES / "invalid" / "duplicate-id.ttl", site / "my-KRd.ttl")
    done = run("check", "--regimens", str(site), str(EXAMPLES / "valid" / "KRd-cycle1.jsonld"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "KRd" in done.stderr and "my-KRd.ttl" in done.stderr
    assert done.stdout == ""


# --- The tutorial ----------------------------------------------------------------------------------------------


def _sh_blocks(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^```sh\n(.*?)^```$", text, re.M | re.S)]


def test_the_tutorial_runs_as_written(tmp_path):
    text = TUTORIAL.read_text("utf-8")
    blocks = _sh_blocks(text)
    assert len(blocks) >= 8 and text.count("```sh") == len(blocks)
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", "site-regimens"))
    (repo / ".venv").symlink_to(ROOT / ".venv", target_is_directory=True)
    failing = 0
    for number, block in enumerate(blocks, start=1):
        expected = 1 if block.splitlines()[0].strip() == "# exits 1" else 0
        failing += expected
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block], cwd=repo, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == expected, f"block {number} exited {done.returncode}:\n{block}\n" \
                                            f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    assert failing >= 1, "the tutorial shows at least one failing check"
