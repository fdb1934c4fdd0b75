"""The machine formats (sarif, github, junit, shacl): snapshots, plus checks that can fail on their own.

The report comes from the real Pipeline on a fixed set of example files,
named relative to the repository root (the renderers make paths relative to
the working directory, so every test runs from there). Snapshots live in
tests/snapshots/; `UPDATE_SNAPSHOTS=1 pytest tests/test_reporting.py` writes
missing or changed ones, otherwise a difference fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from rdflib import RDF, Graph, Literal, URIRef

from chemo_protovalidate.model.findings import FileResult, Finding, KnowledgeBaseVersion, OrderResult, Severity, Source
from chemo_protovalidate.model.vocabulary import ONTOLOGY, PV, PVR, SH
from chemo_protovalidate.report import RENDERERS, Report, github, sarif, summary_line
from chemo_protovalidate.report.common import order_title, source_text
from conftest import ROOT

SNAPSHOTS = Path(__file__).parent / "snapshots"
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
REPORT_SCHEMA = ROOT / "src" / "chemo_protovalidate" / "report" / "schema" / "report-v1.json"
# The snapshot's knowledge base: fixed, so that a release of the knowledge base does not change the snapshots.
SNAPSHOT_KB = KnowledgeBaseVersion("0", "0.0.0-snapshot")
EXTENSIONS = {"sarif": "sarif", "github": "github", "junit": "xml", "shacl": "ttl"}
PATHS = [
    "examples/orders/valid/KRd-cycle1.jsonld",
    "examples/orders/invalid/dose-level-above-protocol.jsonld",
    "examples/orders/warning/dose-level-reduced.jsonld",  # a warning only
    "examples/orders/invalid/not-json.jsonld",  # a finding about the file, no order
]
MISSING = "examples/orders/invalid/no-such-order.jsonld"
# The message GitHub's escaping must survive: every character it escapes.
ODD_MESSAGE = "dose 50%, not 5%: check\r\nline two, ratio 1:2"


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="module")
def results(validator) -> list[FileResult]:
    checked = [validator.check(p, (ROOT / p).read_bytes()) for p in PATHS]
    return checked + [FileResult(MISSING, tool_error="no such file or directory")]


@pytest.fixture(scope="module")
def full_report(validator, results) -> Report:
    """Every rule of the catalogue, as the command passes them."""
    return Report(results, Severity.ERROR, validator.rules(), knowledge_base=validator.kb.version)


@pytest.fixture(scope="module")
def report(full_report) -> Report:
    """The snapshot's report: only the rules its findings use, and fixed versions, so that a new
    rule or release elsewhere does not change the snapshot."""
    used = {f.rule_id for _, _, f in full_report.findings()}
    rules = {rule_id: info for rule_id, info in full_report.rules.items() if rule_id in used}
    return Report(full_report.results, full_report.fail_on, rules, tool_version="0.0.0-snapshot",
                  knowledge_base=SNAPSHOT_KB)


@pytest.fixture
def odd_report() -> Report:
    """Made by hand: an info finding, a rule the catalogue lacks, and characters every format must escape."""
    source = Source("https://w3id.org/protovalidate/kb/source-x", "A source, with: 100% commas",
                    "https://example.org/a,b")
    order = OrderResult("urn:example:order:odd", "KRd", 2, [
        Finding("odd-rule", Severity.INFO, ODD_MESSAGE, source, agent="lenalidomide", day=3, value="25",
                line=4, column=9, focus="urn:example:node:1"),
    ])
    return Report([
        FileResult("orders/odd, name: 1%.jsonld", orders=[order]),
        FileResult("orders/ctl.jsonld", findings=[
            Finding("not-json", Severity.ERROR, "bad byte \x01 & <here> \"q\"")]),
    ], Severity.ERROR, {})


# --- snapshots ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXTENSIONS))
def test_snapshot(report, name):
    actual = RENDERERS[name](report)
    snapshot = SNAPSHOTS / f"report.{EXTENSIONS[name]}"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        if not snapshot.exists() or snapshot.read_text(encoding="utf-8") != actual:
            snapshot.parent.mkdir(exist_ok=True)
            snapshot.write_text(actual, encoding="utf-8")
        return
    assert snapshot.exists(), f"no snapshot {snapshot}: run with UPDATE_SNAPSHOTS=1 and review it"
    assert actual == snapshot.read_text(encoding="utf-8"), f"{name} output differs from {snapshot.name}"


@pytest.mark.parametrize("name", sorted(EXTENSIONS))
def test_output_is_deterministic(report, name):
    assert RENDERERS[name](report) == RENDERERS[name](report)


def test_every_format_is_registered():
    assert set(EXTENSIONS) <= set(RENDERERS)


# --- sarif -------------------------------------------------------------------------------------------


def _sarif(report: Report) -> dict:
    document = json.loads(sarif.render(report))
    jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))).validate(document)
    return document


def test_sarif_schema_copy_is_the_official_one():
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$id"] == sarif.SCHEMA


@pytest.mark.parametrize("which", ["full_report", "report", "odd_report"])
def test_sarif_validates_against_the_oasis_schema(request, which):
    document = _sarif(request.getfixturevalue(which))
    assert document["version"] == "2.1.0" and document["$schema"] == sarif.SCHEMA


def test_sarif_gives_github_what_it_needs(full_report):
    run = _sarif(full_report)["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "protovalidate" and driver["informationUri"] == "https://w3id.org/protovalidate"
    rules = [rule["id"] for rule in driver["rules"]]
    assert rules == sorted(full_report.rules), "every rule of the catalogue, once, in a stable order"
    for rule in driver["rules"]:
        info = full_report.rules[rule["id"]]
        assert rule["shortDescription"]["text"] == info.description
        assert info.description in rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] == {"error": "error", "warning": "warning", "info": "note"}[
            info.severity.value]
        if info.source is not None and info.source.url:
            assert rule["helpUri"] == info.source.url and info.source.label in rule["help"]["text"]
    findings = list(full_report.findings())
    # the dose level above the protocol on days 1 and 2 is one result that lists both days
    assert len(run["results"]) == len(findings) == 3 == len(list(full_report.findings(by_day=False))) - 1
    (both_days,) = [r for r in run["results"] if r["ruleId"] == "dose-level-above-protocol"]
    assert both_days["properties"]["days"] == [1, 2] and " days 1, 2: " in both_days["message"]["text"]
    for result, (file, order, finding) in zip(run["results"], findings):
        assert result["ruleId"] in rules and rules[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] == {"error": "error", "warning": "warning"}[finding.severity.value]
        location = result["locations"][0]["physicalLocation"]
        assert location["region"]["startLine"] >= 1
        assert location["region"]["startLine"] == finding.line and location["region"]["startColumn"] == finding.column
        assert location["artifactLocation"]["uri"] == file.path and not file.path.startswith("/")
        assert result["message"]["text"].endswith(finding.message)
        if order is not None:
            assert result["message"]["text"].startswith(order_title(order) + ": ")
        assert re.fullmatch(r"[0-9a-f]{32}", result["partialFingerprints"]["protovalidate/v1"])
    fingerprints = [r["partialFingerprints"]["protovalidate/v1"] for r in run["results"]]
    assert len(set(fingerprints)) == len(fingerprints)


def test_sarif_reports_a_tool_error_as_a_failed_execution(full_report, report):
    invocation = _sarif(full_report)["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    [notification] = invocation["toolExecutionNotifications"]
    assert notification["level"] == "error" and "no such file or directory" in notification["message"]["text"]
    assert notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == MISSING
    clean = Report([r for r in report.results if not r.tool_error], report.fail_on, report.rules)
    assert _sarif(clean)["runs"][0]["invocations"][0] == {"executionSuccessful": True}


def test_sarif_fills_in_a_missing_line_and_an_unknown_rule(odd_report):
    no_line = Report([FileResult("x.jsonld", findings=[Finding("no-order", Severity.ERROR, "empty")])])
    result = _sarif(no_line)["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    run = _sarif(odd_report)["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["not-json", "odd-rule"]
    assert run["results"][0]["level"] == "note" and run["results"][0]["ruleIndex"] == 1


def test_sarif_fingerprints_survive_a_moved_line(odd_report):
    before = _sarif(odd_report)["runs"][0]["results"][0]["partialFingerprints"]
    order = odd_report.results[0].orders[0]
    order.findings = [replace(order.findings[0], line=40, column=1)]
    assert _sarif(odd_report)["runs"][0]["results"][0]["partialFingerprints"] == before


def test_sarif_paths(tmp_path, monkeypatch):
    assert sarif.artifact_uri(str(ROOT / PATHS[0])) == PATHS[0], "absolute inside the working directory"
    assert sarif.artifact_uri("./" + PATHS[0]) == PATHS[0]
    assert sarif.artifact_uri("orders/odd, name: 1%.jsonld") == "orders/odd%2C%20name%3A%201%25.jsonld"
    outside = tmp_path / "an order.jsonld"
    assert sarif.artifact_uri(str(outside)) == outside.as_uri()
    monkeypatch.chdir(tmp_path)
    assert sarif.artifact_uri("../x/y.jsonld") == "../x/y.jsonld"


# --- github ------------------------------------------------------------------------------------------

COMMAND = re.compile(r"::(error|warning|notice) ([^:]*)::(.*)")


def _unescape(text: str) -> str:
    for escaped, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, char)
    return text


def _parse_github(output: str) -> list[tuple[str, dict[str, str], str]]:
    commands = []
    for line in output.splitlines():
        match = COMMAND.fullmatch(line)
        assert match, f"not a workflow command: {line!r}"
        properties = dict(p.split("=", 1) for p in match.group(2).split(","))
        commands.append((match.group(1), {k: _unescape(v) for k, v in properties.items()}, _unescape(match.group(3))))
    return commands


def _expected_message(order, finding) -> str:
    subject = f"{order_title(order)}: " if order is not None else ""
    return subject + finding.message + (f" [source: {source_text(finding)}]" if finding.source else "")


def test_github_commands_parse_back_to_the_findings(report):
    commands = _parse_github(github.render(report))
    tool_error, *annotations = commands
    assert tool_error[0] == "error" and tool_error[1]["file"] == MISSING and "no such file" in tool_error[2]
    findings = list(report.findings())
    assert len(annotations) == len(findings)
    for (command, properties, message), (file, order, finding) in zip(annotations, findings):
        assert command == {"error": "error", "warning": "warning"}[finding.severity.value]
        assert properties == {"file": file.path, "line": str(finding.line), "col": str(finding.column),
                              "title": f"protovalidate ({finding.rule_id})"}
        assert message == _expected_message(order, finding)


def test_github_escapes_what_workflow_commands_require(odd_report):
    output = github.render(odd_report)
    assert len(output.splitlines()) == 2, "a newline in a message must not start a new command"
    first = output.splitlines()[0]
    assert first.startswith(
        "::notice file=orders/odd%2C name%3A 1%25.jsonld,line=4,col=9,title=protovalidate (odd-rule)::")
    assert "dose 50%25, not 5%25: check%0D%0Aline two, ratio 1:2" in first
    assert "\r" not in output
    (command, properties, message), _ = _parse_github(output)
    assert command == "notice" and properties["file"] == "orders/odd, name: 1%.jsonld"
    order = odd_report.results[0].orders[0]
    assert message == _expected_message(order, order.findings[0])
    assert github.escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"


def test_github_omits_an_unknown_position():
    output = github.render(Report([FileResult("x.jsonld", findings=[Finding("no-order", Severity.WARNING, "m")])]))
    assert output == "::warning file=x.jsonld,title=protovalidate (no-order)::m\n"


# --- junit -------------------------------------------------------------------------------------------


def _junit(report: Report) -> ET.Element:
    return ET.fromstring(RENDERERS["junit"](report).encode("utf-8"))


def test_junit_has_one_test_case_per_order_file(report):
    root = _junit(report)
    assert root.tag == "testsuites" and root.get("name") == "protovalidate"
    [suite] = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [r.path for r in report.results]
    assert all(c.get("classname") == "protovalidate" for c in cases)
    failing = [r.path for r in report.results if not r.conforms(report.fail_on)]
    assert [c.get("name") for c in cases if c.find("failure") is not None] == failing
    assert root.get("tests") == suite.get("tests") == str(len(report.results))
    assert root.get("failures") == suite.get("failures") == str(len(failing)) == "2"
    assert root.get("errors") == suite.get("errors") == "1"
    by_name = {c.get("name"): c for c in cases}
    assert list(by_name[PATHS[0]]) == [], "a valid order is a passed test"
    failure = by_name[PATHS[1]].find("failure")
    assert failure.get("type") == "dose-level-above-protocol"
    lines = failure.text.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{PATHS[1]}:16:6: error[dose-level-above-protocol] order ")
    assert " days 1, 2: " in lines[0], "the same finding on two days is one line that lists them"
    warning = by_name[PATHS[2]]
    assert warning.find("failure") is None and "warning[dose-level-reduced]" in warning.find("system-out").text
    assert by_name[MISSING].find("error").text == f"{MISSING}: tool error: no such file or directory"


def test_junit_fails_warnings_at_fail_on_warning(report):
    strict = Report(report.results, Severity.WARNING, report.rules)
    root = _junit(strict)
    assert root.get("failures") == "3"
    case = next(c for c in root.iter("testcase") if c.get("name") == PATHS[2])
    assert case.find("failure").get("type") == "dose-level-reduced" and case.find("system-out") is None


def test_junit_empty_run_still_has_one_test_case():
    root = _junit(Report([]))
    cases = list(root.iter("testcase"))
    assert len(cases) == 1 and cases[0].get("name") == "no order files" and list(cases[0]) == []
    assert root.get("tests") == "1" and root.get("failures") == "0" and root.get("errors") == "0"


def test_junit_is_valid_xml_whatever_the_message(odd_report):
    root = _junit(odd_report)  # a control character would make the parser fail
    failure = next(c for c in root.iter("testcase") if c.get("name") == "orders/ctl.jsonld").find("failure")
    assert "bad byte \ufffd & <here> \"q\"" in failure.text
    info = next(c for c in root.iter("testcase") if c.get("name") == "orders/odd, name: 1%.jsonld")
    assert info.find("failure") is None and "line two" in info.find("system-out").text


# --- shacl -------------------------------------------------------------------------------------------


def _shacl(report: Report) -> Graph:
    return Graph().parse(data=RENDERERS["shacl"](report), format="turtle")


def test_shacl_is_one_validation_report_with_a_result_per_finding(report):
    graph = _shacl(report)
    [node] = graph.subjects(RDF.type, SH.ValidationReport)
    assert graph.value(node, SH.conforms) == Literal(False)
    findings = list(report.findings(by_day=False))     # SHACL: one result per day, as the json report
    results = set(graph.subjects(RDF.type, SH.ValidationResult))
    assert len(results) == len(findings) == 4
    assert set(graph.objects(node, SH.result)) == results
    severity = {Severity.ERROR: SH.Violation, Severity.WARNING: SH.Warning, Severity.INFO: SH.Info}
    for n, (file, order, finding) in enumerate(findings, 1):
        result = URIRef(f"urn:protovalidate:result:{n}")
        assert graph.value(result, SH.resultSeverity) == severity[finding.severity]
        assert str(graph.value(result, SH.resultMessage)) == finding.message
        assert str(graph.value(result, PVR.ruleId)) == finding.rule_id
        assert str(graph.value(result, PVR.file)) == file.path
        assert graph.value(result, PVR.line).toPython() == finding.line
        assert graph.value(result, SH.focusNode) is not None
        shape = report.rules[finding.rule_id].shape or f"https://w3id.org/protovalidate/shapes#{finding.rule_id}"
        assert graph.value(result, SH.sourceShape) == URIRef(shape)
        if order is not None:
            assert str(graph.value(result, PVR.order)) == order.label
            assert str(graph.value(result, SH.value)) == finding.value
            assert graph.value(result, PVR.day).toPython() == finding.day
            assert str(graph.value(result, PVR.agent)) == finding.agent
    assert {str(graph.value(e, PVR.file)) for e in graph.objects(node, PVR.toolError)} == {MISSING}


def test_shacl_conforms_only_without_any_result(report):
    clean = Report([report.results[0]], Severity.ERROR, report.rules)
    graph = _shacl(clean)
    [node] = graph.subjects(RDF.type, SH.ValidationReport)
    assert graph.value(node, SH.conforms) == Literal(True) and not list(graph.objects(node, SH.result))
    warning_only = _shacl(Report([report.results[2]], Severity.ERROR, report.rules))
    assert set(warning_only.objects(None, SH.conforms)) == {Literal(False)}, "a warning is a result in SHACL"


def test_shacl_focus_nodes_and_info(odd_report):
    graph = _shacl(odd_report)
    first, second = URIRef("urn:protovalidate:result:1"), URIRef("urn:protovalidate:result:2")
    assert graph.value(first, SH.focusNode) == URIRef("urn:example:node:1")
    assert graph.value(first, SH.resultSeverity) == SH.Info
    assert str(graph.value(first, SH.resultMessage)) == ODD_MESSAGE
    assert graph.value(second, SH.sourceShape) == URIRef("https://w3id.org/protovalidate/shapes#not-json")
    assert graph.value(second, PVR.order) is None


# --- the installed command ---------------------------------------------------------------------------

EXECUTABLE = shutil.which("protovalidate", path=str(Path(sys.executable).parent)) or "protovalidate"


def test_the_command_writes_sarif_for_one_order():
    done = subprocess.run([EXECUTABLE, "--format", "sarif", "examples/orders/invalid/off-schedule.jsonld"],
                          capture_output=True, cwd=ROOT, timeout=120)
    assert done.returncode == 1, done.stderr.decode()
    document = json.loads(done.stdout)
    jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))).validate(document)
    [result] = document["runs"][0]["results"]
    assert result["ruleId"] == "off-schedule"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "examples/orders/invalid/off-schedule.jsonld")


# --- the knowledge base that judged the orders (rule book v2, C25) -------------------------------------

KB = KnowledgeBaseVersion("7", "7.1.2")


@pytest.fixture
def kb_report(report) -> Report:
    return replace(report, knowledge_base=KB, tool_version="9.9.9")


def test_the_report_names_the_knowledge_base_the_validator_loaded(validator, full_report):
    """The shipped knowledge base says which it is, as ontology/release.ttl states it on the ontology."""
    stated = Graph().parse(ROOT / "ontology" / "release.ttl")
    ontology = URIRef(ONTOLOGY)
    assert validator.kb.version == KnowledgeBaseVersion(str(stated.value(ontology, PV.ruleBookVersion)),
                                                        str(stated.value(ontology, PV.knowledgeBaseRelease)))
    assert full_report.knowledge_base == validator.kb.version


def test_the_summary_line_names_the_knowledge_base(kb_report):
    line = summary_line(kb_report.results, kb_report.fail_on, kb_report.knowledge_base)
    assert line.endswith("; knowledge base 7.1.2 (rule book v7)")
    assert "knowledge base" not in summary_line(kb_report.results, kb_report.fail_on)


def test_json_names_the_knowledge_base_in_tool(kb_report):
    document = json.loads(RENDERERS["json"](kb_report))
    jsonschema.validate(document, json.loads(REPORT_SCHEMA.read_text("utf-8")))
    assert document["version"] == 1
    assert document["tool"] == {"name": "protovalidate", "version": "9.9.9",
                                "knowledgeBase": {"ruleBookVersion": "7", "release": "7.1.2"}}


def test_json_with_the_knowledge_base_passes_the_first_version_1_schema(kb_report):
    """Version 1 adds keys only inside `tool`, which its schema leaves open: a consumer still holding the
    schema as first published (tool with name and version only) accepts the report."""
    schema = json.loads(REPORT_SCHEMA.read_text("utf-8"))
    first = json.loads(json.dumps(schema))
    first["properties"]["tool"] = {"type": "object", "required": ["name", "version"],
                                   "properties": {"name": {"const": "protovalidate"}, "version": {"type": "string"}}}
    jsonschema.validate(json.loads(RENDERERS["json"](kb_report)), first)
    without = json.loads(RENDERERS["json"](replace(kb_report, knowledge_base=None)))
    with pytest.raises(jsonschema.ValidationError):  # the command's reports always name it
        jsonschema.validate(without, schema)


def test_sarif_names_the_knowledge_base_in_the_tool(kb_report):
    tool = _sarif(kb_report)["runs"][0]["tool"]
    assert tool["driver"]["version"] == "9.9.9"
    assert tool["driver"]["properties"]["knowledgeBase"] == {"ruleBookVersion": "7", "release": "7.1.2"}
    [extension] = tool["extensions"]
    assert extension["name"] == sarif.KNOWLEDGE_BASE and extension["version"] == "7.1.2"
    assert extension["properties"] == {"ruleBookVersion": "7"}
    assert "extensions" not in _sarif(replace(kb_report, knowledge_base=None))["runs"][0]["tool"]


def test_junit_names_the_knowledge_base_in_the_suite_properties(kb_report):
    suite = _junit(kb_report).find("testsuite")
    assert list(suite)[0].tag == "properties", "properties come before the test cases"
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert properties == {"protovalidate.version": "9.9.9", "protovalidate.fail-on": "error",
                          "protovalidate.rule-book-version": "7", "protovalidate.knowledge-base-release": "7.1.2"}


def test_shacl_names_the_knowledge_base_on_the_report(kb_report):
    graph = _shacl(kb_report)
    [node] = graph.subjects(RDF.type, SH.ValidationReport)
    assert graph.value(node, PVR.toolVersion) == Literal("9.9.9")
    kb = graph.value(node, PVR.knowledgeBase)
    assert kb == URIRef(ONTOLOGY)
    assert graph.value(kb, PV.ruleBookVersion) == Literal("7")
    assert graph.value(kb, PV.knowledgeBaseRelease) == Literal("7.1.2")


def test_html_names_the_knowledge_base_under_the_title_and_in_the_footer(kb_report):
    page = RENDERERS["html"](kb_report)
    assert page.count("protovalidate 9.9.9, knowledge base 7.1.2 (rule book v7)") == 2


# --- information (rule book v2, C26): reported in every format, never a failure -------------------------

INFO_RULE = "info-rule"


@pytest.fixture
def info_report() -> Report:
    """At --fail-on warning: one file with an information finding only, one with a warning."""
    note = Finding(INFO_RULE, Severity.INFO, "consider antiviral prophylaxis", agent="carfilzomib", line=3, column=5)
    warn = Finding("warn-rule", Severity.WARNING, "a warning", line=2, column=1)
    return Report([
        FileResult("orders/info.jsonld", orders=[OrderResult("urn:example:order:i", "KRd", 1, [note])]),
        FileResult("orders/warn.jsonld", orders=[OrderResult("urn:example:order:w", "KRd", 1, [warn])]),
    ], Severity.WARNING, {}, knowledge_base=KB)


@pytest.mark.parametrize("severity, fail_on, fails", [
    (Severity.ERROR, Severity.ERROR, True), (Severity.WARNING, Severity.ERROR, False),
    (Severity.ERROR, Severity.WARNING, True), (Severity.WARNING, Severity.WARNING, True),
    (Severity.INFO, Severity.ERROR, False), (Severity.INFO, Severity.WARNING, False),
    (Severity.INFO, Severity.INFO, False),
])
def test_information_never_fails(severity, fail_on, fails):
    assert severity.fails(fail_on) is fails


def test_a_report_cannot_fail_on_information():
    with pytest.raises(ValueError, match="never fails"):
        Report([], Severity.INFO)


def test_text_shows_information_and_the_summary_counts_it(info_report):
    text = RENDERERS["text"](info_report)
    assert f"orders/info.jsonld:3:5: info[{INFO_RULE}] order urn:example:order:i (KRd, cycle 1): consider" in text
    line = summary_line(info_report.results, info_report.fail_on)
    assert "0 errors, 1 warning, 1 info in 1 of 2 files failing (fail on warning)" in line


def test_json_information_conforms_at_fail_on_warning(info_report):
    document = json.loads(RENDERERS["json"](info_report))
    jsonschema.validate(document, json.loads(REPORT_SCHEMA.read_text("utf-8")))
    info, warn = document["files"]
    assert info["conforms"] is True and info["orders"][0]["conforms"] is True
    assert info["orders"][0]["results"][0]["severity"] == "info"
    assert warn["conforms"] is False and document["summary"]["conforms"] is False
    assert document["summary"]["warnings"] == 1 and "infos" not in document["summary"]


def test_sarif_information_is_a_note(info_report):
    run = _sarif(info_report)["runs"][0]
    assert [r["level"] for r in run["results"]] == ["note", "warning"]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules[INFO_RULE]["defaultConfiguration"]["level"] == "note"


def test_github_information_is_a_notice(info_report):
    assert [command for command, _, _ in _parse_github(github.render(info_report))] == ["notice", "warning"]


def test_junit_information_is_reported_never_a_failure(info_report):
    root = _junit(info_report)
    cases = {c.get("name"): c for c in root.iter("testcase")}
    info = cases["orders/info.jsonld"]
    assert info.find("failure") is None and f"info[{INFO_RULE}]" in info.find("system-out").text
    assert cases["orders/warn.jsonld"].find("failure") is not None
    assert root.get("failures") == "1"


def test_shacl_information_is_sh_info(info_report):
    graph = _shacl(info_report)
    severities = {str(graph.value(r, PVR.ruleId)): graph.value(r, SH.resultSeverity)
                  for r in graph.subjects(RDF.type, SH.ValidationResult)}
    assert severities == {INFO_RULE: SH.Info, "warn-rule": SH.Warning}


def test_html_information_is_shown_and_passes(info_report):
    page = RENDERERS["html"](info_report)
    assert f'<li class="finding" data-rule="{INFO_RULE}" data-severity="info">' in page
    assert '<span class="badge info">passes · 1 info</span>' in page
    assert '<li class="infos"><b>1</b>info</li>' in page


def test_findings_that_differ_only_by_day_are_one_that_lists_the_days():
    from dataclasses import replace as changed
    from chemo_protovalidate.report.common import by_days
    base = Finding("off-schedule", Severity.ERROR, "lenalidomide on cycle 1 day 22: not a day of the protocol.",
                   agent="lenalidomide", cycle=1, day=22, value="22", focus="_:a1", key="days")
    day23 = changed(base, day=23, value="23", message=base.message.replace("day 22", "day 23"))
    other_administration = changed(day23, focus="_:a2")
    no_day_in_message = changed(base, message="lenalidomide: not a day of the protocol.", day=24, value="24")
    shown = by_days([base, day23, other_administration, no_day_in_message])
    assert [f.message for f in shown] == ["lenalidomide on cycle 1 days 22, 23: not a day of the protocol.",
                                         other_administration.message, no_day_in_message.message]
    assert shown[0].days == (22, 23) and shown[0].day == 22 and shown[0].value == "22, 23"
    assert shown[1].days == () and shown[2].days == ()
