"""The installed command, as a CI job runs it: exit codes, streams, formats."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from rdflib import Graph, URIRef

from chemo_protovalidate.model.version import __version__
from chemo_protovalidate.model.vocabulary import ONTOLOGY, PV
from conftest import EXAMPLES, ROOT

COMMAND = shutil.which("protovalidate", path=str(Path(sys.executable).parent)) or "protovalidate"
VALID = EXAMPLES / "valid" / "KRd-cycle1.jsonld"
INVALID = EXAMPLES / "invalid" / "dose-level-above-protocol.jsonld"
WARNING_ONLY = EXAMPLES / "warning" / "dose-level-reduced.jsonld"
SCHEMA = ROOT / "src" / "chemo_protovalidate" / "report" / "schema" / "report-v1.json"


def _release() -> tuple[str, str]:
    """The rule book version and the release, as ontology/release.ttl states them."""
    stated = Graph().parse(ROOT / "ontology" / "release.ttl")
    return (str(stated.value(URIRef(ONTOLOGY), PV.ruleBookVersion)),
            str(stated.value(URIRef(ONTOLOGY), PV.knowledgeBaseRelease)))


RULE_BOOK, RELEASE = _release()
JUDGED = f"knowledge base {RELEASE} (rule book v{RULE_BOOK})"


def run(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([COMMAND, *args], input=stdin, capture_output=True, cwd=cwd, timeout=120)


def test_valid_order_exits_0_with_a_summary_on_stderr():
    done = run(str(VALID))
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert done.stdout == b""
    assert b"0 errors" in done.stderr and b"1 order checked" in done.stderr
    assert done.stderr.decode().splitlines()[-1].endswith(f"1 order checked; {JUDGED}")


def test_version_names_the_package_and_the_knowledge_base(tmp_path):
    done = run("--version", cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines() == [f"protovalidate {__version__}", JUDGED]


def test_fail_on_info_is_refused_information_never_fails_a_run():
    done = run("--fail-on", "info", str(VALID))
    assert done.returncode == 2 and b"'info' is not one of 'error', 'warning'" in done.stderr


def test_list_rules_one_line_per_rule_and_severity():
    done = run("--list-rules")
    assert done.returncode == 0, done.stderr.decode()
    rows = [line.split("\t") for line in done.stdout.decode().splitlines()]
    assert rows and all(len(row) == 4 and row[1] in ("error", "warning", "info") for row in rows)
    pairs = [(row[0], row[1]) for row in rows]
    assert len(set(pairs)) == len(pairs), "an id lists each of its severities once"
    assert "dose-level-above-protocol" in {row[0] for row in rows}


def test_invalid_order_exits_1_and_says_where_what_and_why():
    done = run(str(INVALID))
    assert done.returncode == 1
    line = done.stdout.decode().splitlines()[0]
    assert line.startswith(f"{INVALID}:")
    assert "error[dose-level-above-protocol]" in line and "order urn:" in line
    assert "carfilzomib" in line and "cycle 1 days 1, 2" in line and "[source: " in line


def test_a_missing_path_exits_2_without_hiding_the_other_verdicts():
    done = run(str(VALID), str(INVALID), "no/such/order.jsonld")
    assert done.returncode == 2
    assert "dose-level-above-protocol" in done.stdout.decode()
    assert "no/such/order.jsonld: no such file or directory" in done.stderr.decode()


def test_fail_on_warning_turns_a_warning_into_a_failure():
    assert run(str(WARNING_ONLY)).returncode == 0
    assert run("--fail-on", "warning", str(WARNING_ONLY)).returncode == 1


def test_standard_input_and_directories():
    done = run("-", stdin=INVALID.read_bytes())
    assert done.returncode == 1 and done.stdout.decode().startswith("<stdin>:")
    done = run(str(EXAMPLES / "valid"))
    assert done.returncode == 0, done.stdout.decode()
    checked = len([p for p in (EXAMPLES / "valid").iterdir() if p.suffix == ".jsonld"])
    assert f"in 0 of {checked} files" in done.stderr.decode()


def test_every_invalid_example_is_a_finding_never_a_traceback():
    done = run(str(EXAMPLES / "invalid"))
    assert done.returncode == 1
    assert b"Traceback" not in done.stderr and b"internal error" not in done.stderr
    reported = {line.split(":")[0] for line in done.stdout.decode().splitlines()}
    invalid = {str(p) for p in (EXAMPLES / "invalid").iterdir() if p.suffix in (".jsonld", ".ttl")}
    assert invalid <= reported


def test_a_file_that_is_not_text_is_a_finding(tmp_path):
    binary = tmp_path / "order.jsonld"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    done = run(str(binary))
    assert done.returncode == 1 and "unreadable-file" in done.stdout.decode()


def test_json_report_follows_its_published_schema():
    done = run("--format", "json", str(VALID), str(INVALID), str(EXAMPLES / "invalid" / "not-json.jsonld"))
    assert done.returncode == 1
    report = json.loads(done.stdout)
    jsonschema.validate(report, json.loads(SCHEMA.read_text()))
    assert report["tool"]["knowledgeBase"] == {"ruleBookVersion": RULE_BOOK, "release": RELEASE}
    by_path = {f["path"]: f for f in report["files"]}
    assert by_path[str(VALID)]["conforms"] is True
    result = by_path[str(INVALID)]["orders"][0]["results"][0]
    assert result["rule"] == "dose-level-above-protocol" and result["agent"] == "carfilzomib" and result["day"] == 1
    assert by_path[str(EXAMPLES / "invalid" / "not-json.jsonld")]["results"][0]["rule"] == "not-json"


def test_runs_from_any_directory(tmp_path):
    """The ontology, shapes and context come from the installed package, not the working directory."""
    done = run(str(INVALID), cwd=tmp_path)
    assert done.returncode == 1 and "dose-level-above-protocol" in done.stdout.decode()


@pytest.mark.parametrize("args", [[], ["--format", "yaml", str(VALID)], ["--no-such-flag", str(VALID)]])
def test_usage_errors_exit_2(args):
    assert run(*args).returncode == 2


def test_the_command_cannot_reach_the_network():
    probe = ("from chemo_protovalidate.cli import forbid_network; forbid_network(); "
             "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9/context.jsonld')")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=60)
    assert done.returncode != 0 and b"never uses the network" in done.stderr


def test_regimens_lists_the_knowledge_base():
    done = run("regimens")
    assert done.returncode == 0
    rows = {line.split("\t")[0]: line.split("\t") for line in done.stdout.decode().splitlines()}
    assert {"D-KRd", "KRd", "Isa-KRd", "KdD", "Kd-weekly-70", "Kd-weekly-56", "Kd-twice-weekly-56", "KCyD"} <= set(rows)
    identifier, name, setting, components, sources = rows["KdD"]
    assert setting == "RRMM" and components == "carfilzomib, daratumumab, dexamethasone" and "CANDOR" in sources


def test_the_order_command_is_the_default():
    """The contract's `protovalidate FILE` and the explicit `protovalidate check FILE` are one command."""
    assert run("check", str(INVALID)).stdout == run(str(INVALID)).stdout


def test_site_regimen_directories_come_from_pyproject(tmp_path):
    """[tool.protovalidate] regimens, found by walking up from the working directory."""
    (tmp_path / "pyproject.toml").write_text('[tool.protovalidate]\nregimens = ["site"]\n', "utf-8")
    (tmp_path / "site").mkdir()
    template = (ROOT / "examples" / "templates" / "valid" / "Test-Weekly-Kd.ttl").read_text("utf-8")
    (tmp_path / "site" / "Test-Weekly-Kd.ttl").write_text(template, "utf-8")
    (tmp_path / "deeper").mkdir()
    listed = run("regimens", cwd=tmp_path / "deeper")
    assert listed.returncode == 0 and "Test-Weekly-Kd\t" in listed.stdout.decode()
    assert "Test-Weekly-Kd\t" not in run("regimens").stdout.decode()


SITE_TEMPLATE = ROOT / "examples" / "templates" / "valid" / "Test-Weekly-Kd.ttl"
SITE_ORDER = ROOT / "examples" / "templates" / "valid" / "Test-Weekly-Kd-examples" / "cycle2.jsonld"


@pytest.mark.parametrize("how", ["pyproject", "option"])
def test_every_command_sees_the_same_site_regimens(tmp_path, how):
    """regimens, show, check, --list-rules and check-template take their site folders from one place: a site
    regimen that one lists, the others know, whether named in pyproject.toml or by --regimens."""
    (tmp_path / "site").mkdir()
    shutil.copy(SITE_TEMPLATE, tmp_path / "site")
    shutil.copy(SITE_ORDER, tmp_path / "order.jsonld")
    if how == "pyproject":
        (tmp_path / "pyproject.toml").write_text('[tool.protovalidate]\nregimens = ["site"]\n', "utf-8")
        (tmp_path / "deeper").mkdir()
        cwd, site, order = tmp_path / "deeper", [], "../order.jsonld"
    else:
        cwd, site, order = tmp_path, ["--regimens", "site"], "order.jsonld"
    listed = run("regimens", *site, cwd=cwd)
    assert listed.returncode == 0 and "Test-Weekly-Kd\t" in listed.stdout.decode(), listed.stderr.decode()
    shown = run("show", "Test-Weekly-Kd", *site, cwd=cwd)
    assert shown.returncode == 0 and shown.stdout.decode().startswith("Test-Weekly-Kd:"), shown.stderr.decode()
    checked = run("check", *site, order, cwd=cwd)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    assert run("check", *site, "--list-rules", cwd=cwd).returncode == 0
    # and without the site folder, none of them knows it
    assert "Test-Weekly-Kd\t" not in run("regimens", cwd=tmp_path.parent).stdout.decode()
    assert run("show", "Test-Weekly-Kd", cwd=tmp_path.parent).returncode == 2
    assert b"error[unknown-regimen]" in run(str(tmp_path / "order.jsonld"), cwd=tmp_path.parent).stdout


# What a run that found nothing to check must not look like, in each report format: a green result.
NOT_GREEN = {
    "text": lambda out: "tool error" in out,
    "json": lambda out: json.loads(out)["summary"]["conforms"] is False,
    "sarif": lambda out: json.loads(out)["runs"][0]["invocations"][0]["executionSuccessful"] is False,
    "github": lambda out: out.startswith("::error "),
    "junit": lambda out: 'errors="1"' in out and 'tests="1"' in out,
    "shacl": lambda out: "sh:conforms false" in out,
    "html": lambda out: "(fails)</title>" in out,
}


@pytest.mark.parametrize("layout, given, why", [
    ("empty folder", "orders", "no order file (.json, .jsonld, .n3, .nt, .owl, .rdf, .ttl, .xml) in this folder"),
    ("folder of other files", "orders", "no order file"),
    ("glob matching nothing", "orders/**/*.jsonld", "the pattern matches no file"),
    ("glob matching folders", "orders*", "the pattern matches no file"),
    ("misspelt path", "ordres", "no such file or directory"),
])
def test_no_order_file_found_exits_2_in_every_format(tmp_path, layout, given, why):
    """A mistyped path in CI must not go green: exit 2, the path named, and no report reads as a pass."""
    (tmp_path / "orders").mkdir()
    if layout == "folder of other files":
        (tmp_path / "orders" / "README.md").write_text("orders go here\n", "utf-8")
    reports = [f"--report={name}:{tmp_path / ('report.' + name)}" for name in NOT_GREEN]
    done = run(*reports, given, cwd=tmp_path)
    assert done.returncode == 2, done.stderr.decode()
    assert done.stdout.decode().startswith(f"{given}: tool error: {why}")
    lines = done.stderr.decode().splitlines()
    assert any(line.startswith(f"protovalidate: {given}: {why}") for line in lines), lines
    assert lines[-1] == f"protovalidate: nothing was checked: no file found in {given}"
    for name, failed in NOT_GREEN.items():
        assert failed((tmp_path / f"report.{name}").read_text("utf-8")), name


def test_a_folder_without_orders_beside_orders_still_exits_2(tmp_path):
    """One empty folder among good ones is still a mistyped path: the others are checked and reported."""
    (tmp_path / "empty").mkdir()
    done = run(str(INVALID), str(tmp_path / "empty"))
    assert done.returncode == 2 and b"dose-level-above-protocol" in done.stdout
    assert f"{tmp_path / 'empty'}: no order file" in done.stderr.decode()
    assert "nothing was checked" not in done.stderr.decode()


def test_check_template_with_no_template_found_exits_2(tmp_path):
    (tmp_path / "site-regimens").mkdir()
    (tmp_path / "site-regimens" / "notes.md").write_text("templates go here\n", "utf-8")
    for given in ("site-regimens", "site-regimens/*.ttl"):
        done = run("check-template", given, cwd=tmp_path)
        assert done.returncode == 2, done.stderr.decode()
        assert f"protovalidate: {given}: " in done.stderr.decode() and b"tool error" in done.stdout
    done = run("check-template", "--format", "json", "site-regimens", cwd=tmp_path)
    assert done.returncode == 2 and json.loads(done.stdout)["summary"]["conforms"] is False
    assert "no regimen template (.ttl) in this folder" in done.stderr.decode()


def test_every_command_refuses_the_same_site_folder_in_the_same_words(tmp_path):
    """A site folder the knowledge base refuses (a template restating a shipped regimen's IRIs) stops regimens,
    show, check and --list-rules alike: none of them sees a knowledge base the others do not."""
    (tmp_path / "site").mkdir()
    shutil.copy(ROOT / "examples" / "templates" / "invalid" / "Kd-weekly-56-copy.ttl", tmp_path / "site")
    (tmp_path / "pyproject.toml").write_text('[tool.protovalidate]\nregimens = ["site"]\n', "utf-8")
    said = set()
    for command in (["regimens"], ["show", "Kd-weekly-56"], [str(VALID)], ["--list-rules"]):
        done = run(*command, cwd=tmp_path)
        assert done.returncode == 2 and done.stdout == b"", command
        assert b"Kd-weekly-56-copy.ttl" in done.stderr and b"Traceback" not in done.stderr, command
        said.add(done.stderr)
    assert len(said) == 1, said
