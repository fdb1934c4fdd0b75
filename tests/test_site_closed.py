"""The shipped knowledge base is closed to a site's regimen files (issue 12, section 1).

A site file (--regimens DIR, [tool.protovalidate] regimens, check-template) that states anything about an IRI the
shipped knowledge base defines, or defines a new agent, is refused: by `check-template` as an error finding naming
the IRI as the file writes it, the file and the line (with no Java: the reasoner is not needed to see it), and by
KnowledgeBase.load (`check --regimens`: exit 2) with the same words. Shipped dosings and agents stay usable by
reference, and after a refusal the shipped orders are judged exactly as before.

The fixtures are examples/templates/invalid/Kd-weekly-56-copy.ttl (ontology/regimens/Kd-weekly-56.ttl with only
its pv:identifier changed), own-dexamethasone-weekly.ttl and new-agent.ttl; their .expected rows are checked by
tests/test_templates.py, with the reasoner.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, URIRef

from chemo_protovalidate.check.knowledge import KnowledgeBase, KnowledgeBaseError, shipped_terms, subject_position
from chemo_protovalidate.check.pipeline import Pipeline
from conftest import EXAMPLES, ROOT, check_file

BIN = Path(sys.executable).parent
COMMAND = shutil.which("protovalidate", path=str(BIN)) or "protovalidate"
INVALID = ROOT / "examples" / "templates" / "invalid"
VALID = ROOT / "examples" / "templates" / "valid" / "Test-Weekly-Kd.ttl"
SHIPPED_KD = ROOT / "ontology" / "regimens" / "Kd-weekly-56.ttl"
KB = "https://w3id.org/protovalidate/kb/"
PREFIXES = """@prefix pv:   <https://w3id.org/protovalidate/ontology#> .
@prefix kb:   <https://w3id.org/protovalidate/kb/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dct:  <http://purl.org/dc/terms/> .
"""

# (fixture, rule, IRI as written, line): the first statement about each refused node.
REFUSED = [
    ("Kd-weekly-56-copy.ttl", "template-redefines-shipped", "kb:regimen-Kd-weekly-56", 8),
    ("Kd-weekly-56-copy.ttl", "template-redefines-shipped", "kb:Kd-weekly-56-carfilzomib", 16),
    ("Kd-weekly-56-copy.ttl", "template-redefines-shipped", "kb:Kd-weekly-56-dexamethasone", 22),
    ("own-dexamethasone-weekly.ttl", "template-redefines-shipped", "kb:dexamethasone-weekly", 29),
    ("new-agent.ttl", "template-new-agent", "kb:pomalidomide", 19),
]
FIXTURES = sorted({row[0] for row in REFUSED})


def run(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([COMMAND, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def without_java() -> dict:
    """The venv's scripts run their interpreter by absolute path: nothing else is needed on PATH."""
    return {k: v for k, v in os.environ.items() if k != "JAVA_HOME"} | {"PATH": str(BIN)}


def site_with(tmp_path: Path, *files: Path, name: str = "site") -> Path:
    site = tmp_path / name
    site.mkdir()
    for file in files:
        shutil.copy(file, site / file.name)
    return site


def order(tmp_path: Path, example: str, agent: str, days: list[int]) -> Path:
    """A shipped example order with one agent's days changed."""
    data = json.loads((EXAMPLES / "valid" / example).read_text("utf-8"))
    (administration,) = [a for a in data["administrations"] if a["agent"] == agent]
    administration["days"] = days
    path = tmp_path / f"{agent}-{'-'.join(map(str, days))}-{example}"
    path.write_text(json.dumps(data, indent=2), "utf-8")
    return path


# The two holes: a site file that adds a day-22 carfilzomib dosing to the shipped Kd-weekly-56 (through its
# component), and one that writes its own kb:dexamethasone-weekly; and the shipped order each would let through.
DAY_22 = PREFIXES + """
kb:Kd-weekly-56-carfilzomib pv:dosing kb:site-carfilzomib-day-22 .

kb:site-carfilzomib-day-22 a pv:Dosing ;
    rdfs:label "56 mg/m2 IV on day 22" ;
    pv:fromCycle 2 ; pv:onDay 22 ;
    pv:allowedRoute kb:route-IV ;
    pv:level [ a pv:DoseLevel ; pv:minValue 56 ; pv:maxValue 56 ; pv:unit "mg/m2" ] ;
    dct:source kb:source-notes .
"""
HOLES = [
    (DAY_22, ("Kd-weekly-56-cycle2.jsonld", "carfilzomib", [1, 8, 15, 22])),
    ((INVALID / "own-dexamethasone-weekly.ttl").read_text("utf-8"),
     ("Kd-weekly-56-cycle2.jsonld", "dexamethasone", [2, 9, 16, 23])),
]


# --- Where a subject is written ----------------------------------------------------------------------------------

POSITIONS = [
    # (text, local name, (written, line, column)) under the PREFIXES header (4 lines)
    ("kb:a pv:p 1 .\n", "a", ("kb:a", 5, 1)),
    ("kb:b pv:p kb:a .\nkb:a pv:p 1 .\n", "a", ("kb:a", 6, 1)),  # an object first: not a statement about it
    ("kb:b pv:p\n    kb:a .\nkb:a pv:p 1 .\n", "a", ("kb:a", 7, 1)),  # an object at the start of a line
    ("# kb:a is described below\nkb:b rdfs:label \"kb:a\" . kb:a pv:p 1 .\n", "a", ("kb:a", 6, 26)),
    ("kb:b rdfs:label \"\"\"two\nkb:a lines\"\"\" .\n  kb:a pv:p 1 .\n", "a", ("kb:a", 7, 3)),
    ("<https://w3id.org/protovalidate/kb/a> pv:p 1 .\n", "a", ("<https://w3id.org/protovalidate/kb/a>", 5, 1)),
    ("@base <https://w3id.org/protovalidate/> .\n<kb/a> pv:p 1 .\n", "a", ("<kb/a>", 6, 1)),
    ("PREFIX k: <https://w3id.org/protovalidate/kb/>\nk:a pv:p 1 .\n", "a", ("k:a", 6, 1)),
    ("@prefix : <https://w3id.org/protovalidate/kb/> .\n:a pv:p 1 .\n", "a", (":a", 6, 1)),
    ("kb:ab pv:p 1 .\nkb:a pv:p 1 .\n", "a", ("kb:a", 6, 1)),  # a longer name is not the name
    ("kb:a.b pv:p 1 .\nkb:a pv:p 1 .\n", "a", ("kb:a", 6, 1)),
    ("kb:b pv:p 1 .\n", "a", ("<https://w3id.org/protovalidate/kb/a>", None, None)),  # not written: no line
]


@pytest.mark.parametrize("text, local, expected", POSITIONS, ids=range(len(POSITIONS)))
def test_a_subject_is_found_where_its_first_statement_is(text, local, expected):
    text = PREFIXES + text
    if expected[1] is not None:
        Graph().parse(data=text, format="turtle")  # every case is valid Turtle
        assert text.splitlines()[expected[1] - 1][expected[2] - 1:].startswith(expected[0])
    assert subject_position(text, URIRef(KB + local)) == expected


# --- check-template: a finding, with no Java ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def template_reports() -> dict[str, dict]:
    done = run("check-template", "--format", "json", *(str(INVALID / f) for f in FIXTURES), env=without_java())
    assert done.returncode == 1, done.stdout + done.stderr
    return {Path(f["path"]).name: f for f in json.loads(done.stdout)["files"]}


@pytest.mark.parametrize("fixture", FIXTURES)
def test_check_template_refuses_without_the_reasoner(template_reports, fixture):
    report = template_reports[fixture]
    path = str(INVALID / fixture)
    # Without Java the reasoner is skipped (an info finding); the refusals are there all the same.
    assert [r["rule"] for r in report["results"] if r["severity"] == "info"] == ["template-reasoner-skipped"]
    results = [r for r in report["results"] if r["rule"] != "template-reasoner-skipped"]
    rows = [row for row in REFUSED if row[0] == fixture]
    assert [(r["rule"], r["severity"], r["line"]) for r in results] == [(rule, "error", line) for _, rule, _, line in rows]
    assert report["conforms"] is False
    for (_, _, written, line), result in zip(rows, results):
        # The file and line are the finding's place (result["line"], above), not repeated in its words.
        assert result["message"].startswith(f"{written} ") and path not in result["message"]


def test_the_shipped_regimen_itself_is_no_redefinition():
    done = run("check-template", "--format", "json", str(SHIPPED_KD), str(VALID), env=without_java())
    assert done.returncode == 0, done.stdout + done.stderr
    rules = {r["rule"] for f in json.loads(done.stdout)["files"] for r in f["results"]}
    assert rules <= {"template-reasoner-skipped"}


# --- check --regimens and KnowledgeBase.load: exit 2, the same words ---------------------------------------------


@pytest.mark.parametrize("fixture", FIXTURES)
def test_loading_a_refused_site_file_is_an_error_with_the_same_words(tmp_path, template_reports, fixture):
    site = site_with(tmp_path, INVALID / fixture)
    # The loader's words are check-template's, with the file and line that finding is placed at.
    messages = [f"{site / fixture}, line {r['line']}: {r['message']}"
                for r in template_reports[fixture]["results"] if r["rule"] != "template-reasoner-skipped"]
    with pytest.raises(KnowledgeBaseError) as raised:
        KnowledgeBase.load(extra_regimen_dirs=(site,))
    assert str(raised.value).splitlines() == messages
    done = run("check", "--regimens", str(site), str(EXAMPLES / "valid" / "KRd-cycle1.jsonld"), env=without_java())
    assert done.returncode == 2 and done.stdout == "", done.stdout + done.stderr
    for message in messages:
        assert message in done.stderr


def test_a_refused_site_folder_in_pyproject_is_exit_2_for_every_command(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    site_with(project, INVALID / "own-dexamethasone-weekly.ttl", name="site-regimens")
    (project / "pyproject.toml").write_text('[tool.protovalidate]\nregimens = ["site-regimens"]\n', "utf-8")
    shutil.copy(EXAMPLES / "valid" / "KRd-cycle1.jsonld", project / "order.jsonld")
    for args in (["check", "order.jsonld"], ["regimens"], ["show", "KRd"]):
        done = run(*args, cwd=project)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "kb:dexamethasone-weekly is defined by the shipped knowledge base" in done.stderr, args


@pytest.mark.parametrize("site_text, changed", HOLES, ids=["carfilzomib day 22", "dexamethasone days 2, 9, 16, 23"])
def test_after_a_refusal_a_shipped_order_is_judged_as_before(tmp_path, site_text, changed):
    path = order(tmp_path, *changed)
    shipped = KnowledgeBase.load()
    rules = {f.rule_id for f in check_file(Pipeline(shipped), path).all_findings()}
    assert "off-schedule" in rules
    # The hole is real: merged into the shipped graph, the site file's statements would let the order through.
    merged = Graph()
    merged += shipped.graph
    merged += Graph().parse(data=site_text, format="turtle")
    opened = KnowledgeBase.from_graphs(merged, shipped.shapes, shipped.context)
    assert "off-schedule" not in {f.rule_id for f in check_file(Pipeline(opened), path).all_findings()}
    # Refused, in process and on the command line; the shipped order is then judged as before.
    site = tmp_path / "site"
    site.mkdir()
    (site / "site.ttl").write_text(site_text, "utf-8")
    with pytest.raises(KnowledgeBaseError, match="is defined by the shipped knowledge base"):
        KnowledgeBase.load(extra_regimen_dirs=(site,))
    refused = run("check", "--regimens", str(site), str(path))
    assert refused.returncode == 2 and refused.stdout == "", refused.stdout + refused.stderr
    assert {f.rule_id for f in check_file(Pipeline(KnowledgeBase.load()), path).all_findings()} == rules
    done = run("check", "--format", "json", str(path))
    assert done.returncode == 1 and "off-schedule" in done.stdout


# --- Agents: shipped ones by reference pass, new ones are refused ------------------------------------------------


def test_a_template_using_shipped_agents_and_dosings_passes_and_loads(tmp_path):
    done = run("check-template", "--format", "json", str(VALID), env=without_java())
    assert done.returncode == 0, done.stdout + done.stderr
    site = site_with(tmp_path, VALID)
    assert "Test-Weekly-Kd" in KnowledgeBase.load(extra_regimen_dirs=(site,)).regimen_ids()


NEW_AGENTS = [
    # (statements, the refused node as written): a new agent typed, typed by a site subclass, or given an
    # agent's property (rdfs:domain pv:Agent)
    ("kb:pomalidomide a pv:Agent .", "kb:pomalidomide"),
    ("kb:site-antiemetic a pv:SupportiveAgent .", "kb:site-antiemetic"),
    ("kb:SiteAgent rdfs:subClassOf pv:Agent .\nkb:pomalidomide a kb:SiteAgent .", "kb:pomalidomide"),
    ('kb:pomalidomide pv:doseDimension "mass" .', "kb:pomalidomide"),
]


@pytest.mark.parametrize("statements, written", NEW_AGENTS, ids=range(len(NEW_AGENTS)))
def test_a_new_agent_is_refused(statements, written):
    text = PREFIXES + statements + "\n"
    (refusal,) = shipped_terms().refusals("site.ttl", text, Graph().parse(data=text, format="turtle"))
    line = next(n for n, l in enumerate(text.splitlines(), 1) if l.startswith(written + " "))
    assert (refusal.rule_id, refusal.line) == ("template-new-agent", line)
    assert refusal.message.startswith(f"{written} is a new agent; agents are knowledge-base")
    assert refusal.placed.startswith(f"site.ttl, line {line}: {written} is a new agent")


def test_restating_a_shipped_agent_is_a_redefinition_not_a_new_agent():
    text = PREFIXES + "kb:carfilzomib a pv:Agent .\n"
    (refusal,) = shipped_terms().refusals("site.ttl", text, Graph().parse(data=text, format="turtle"))
    assert (refusal.rule_id, refusal.line) == ("template-redefines-shipped", 5)


def test_a_blank_node_is_the_files_own():
    text = PREFIXES + "kb:site-dosing pv:level [ a pv:DoseLevel ; pv:minValue 1 ; pv:maxValue 1 ; pv:unit \"mg\" ] .\n"
    assert shipped_terms().refusals("site.ttl", text, Graph().parse(data=text, format="turtle")) == []


def test_every_shipped_file_is_shipped_knowledge():
    """Each kind the closure covers has a subject among the shipped terms: a regimen, component, dosing, agent,
    source, rule (a shape), class and property."""
    subjects = shipped_terms().subjects
    for iri in ("kb:regimen-Kd-weekly-56", "kb:Kd-weekly-56-carfilzomib", "kb:dexamethasone-weekly", "kb:carfilzomib",
                "kb:source-notes", "pv:Dosing", "pv:onDay"):
        prefix, local = iri.split(":")
        assert URIRef((KB if prefix == "kb" else "https://w3id.org/protovalidate/ontology#") + local) in subjects, iri
    shapes = Graph().parse(ROOT / "shapes" / "protocol.ttl")
    assert {s for s in shapes.subjects() if isinstance(s, URIRef)} <= subjects


# --- check-template of a site folder's own files -----------------------------------------------------------------


def test_check_template_in_a_site_folder_reports_the_refused_file_and_checks_the_others(tmp_path):
    """A refused file of the --regimens folder is left out of the others' knowledge base (check refuses it), and
    gets its own finding: not an exit 2 for every template of the folder."""
    site = site_with(tmp_path, INVALID / "own-dexamethasone-weekly.ttl", VALID)
    shutil.copytree(VALID.parent / "Test-Weekly-Kd-examples", site / "Test-Weekly-Kd-examples")
    done = run("check-template", "--regimens", str(site), "--format", "json", *map(str, sorted(site.glob("*.ttl"))),
               env=without_java())
    assert done.returncode == 1, done.stdout + done.stderr
    rules = {Path(f["path"]).name: sorted(r["rule"] for r in f["results"] if r["rule"] != "template-reasoner-skipped")
             for f in json.loads(done.stdout)["files"]}
    assert rules == {"own-dexamethasone-weekly.ttl": ["template-redefines-shipped"], "Test-Weekly-Kd.ttl": []}


def test_an_unchanged_copy_of_a_shipped_regimen_in_a_site_folder_is_refused(tmp_path):
    """Checked where it ships, a shipped regimen passes (test_templates.py); copied unchanged into a site folder it
    would be loaded as the site's, and both commands refuse it."""
    site = site_with(tmp_path, SHIPPED_KD)
    done = run("check-template", "--regimens", str(site), "--format", "json", str(site / SHIPPED_KD.name),
               env=without_java())
    assert done.returncode == 1, done.stdout + done.stderr
    (report,) = json.loads(done.stdout)["files"]
    rules = [(r["rule"], r["line"]) for r in report["results"] if r["rule"] != "template-reasoner-skipped"]
    assert [row for row in rules if row[0] == "template-redefines-shipped"] == [
        ("template-redefines-shipped", line) for name, _, _, line in REFUSED if name == "Kd-weekly-56-copy.ttl"]
    assert run("check", "--regimens", str(site), str(EXAMPLES / "valid" / "KRd-cycle1.jsonld")).returncode == 2


RULE_DATA = [
    # (statements, the refused node as written, its kind): rule data applies to every order of the run, so
    # a site lab hold on carfilzomib, a week of another length or a prophylaxis requirement of its own would
    # judge shipped orders too: typed, typed by a site subclass, or given a property of such a kind
    ("kb:site-hold a pv:LabHold ; pv:heldAgent kb:carfilzomib ; pv:holdBelow 75 .", "kb:site-hold", "LabHold"),
    ("kb:site-weeks a pv:WeekDefinition ; pv:weekLength 5 .", "kb:site-weeks", "WeekDefinition"),
    ("kb:SiteHold rdfs:subClassOf pv:LabHold .\nkb:site-hold a kb:SiteHold .", "kb:site-hold", "LabHold"),
    ("kb:site-hold pv:holdBelow 75 .", "kb:site-hold", "LabHold"),
]


@pytest.mark.parametrize("statements, written, kind", RULE_DATA, ids=range(len(RULE_DATA)))
def test_rule_data_from_a_site_is_refused(statements, written, kind):
    text = PREFIXES + statements + "\n"
    (refusal,) = shipped_terms().refusals("site.ttl", text, Graph().parse(data=text, format="turtle"))
    line = next(n for n, l in enumerate(text.splitlines(), 1) if l.startswith(written + " "))
    assert (refusal.rule_id, refusal.line) == ("template-rule-data", line)
    assert refusal.message.startswith(f"{written} is a {kind}: rule data of the knowledge base")
    assert refusal.placed.startswith(f"site.ttl, line {line}: {written} is a {kind}")


def test_a_site_lab_hold_cannot_be_loaded(tmp_path):
    site = tmp_path / "site-regimens"
    site.mkdir()
    (site / "hold.ttl").write_text(PREFIXES + RULE_DATA[0][0] + "\n", "utf-8")
    with pytest.raises(KnowledgeBaseError, match="kb:site-hold is a LabHold: rule data"):
        KnowledgeBase.load(extra_regimen_dirs=(site,))
