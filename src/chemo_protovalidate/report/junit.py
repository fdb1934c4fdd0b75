"""`--format junit`: JUnit XML for CI test tabs (Jenkins, GitLab, Azure).

One test case per order file, so passing orders count as passed tests. A file
with findings at or above `--fail-on` gets a `<failure>` listing them (one per
line, as in the text format); findings below it go to `<system-out>`, and so
do information findings always (they never fail a run, rule book v2 C26); a
file the tool could not check gets an `<error>`. A run without files still has
one test case: an empty suite shows as "no tests" or as an error in some CI
tools. The suite's `<properties>` name the tool and the knowledge base that
judged the orders (C25).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from chemo_protovalidate.model.findings import FileResult
from chemo_protovalidate.report.common import Report, by_days, finding_line

NAME = "protovalidate"
EMPTY_RUN = "no order files"
# Characters XML 1.0 cannot carry at all, not even as character references.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render(report: Report) -> str:
    cases = [_case(report, result) for result in report.results]
    if not cases:
        cases = [_element("testcase", classname=NAME, name=EMPTY_RUN)]
    counts = {
        "tests": str(len(cases)),
        "failures": str(sum(case.find("failure") is not None for case in cases)),
        "errors": str(sum(case.find("error") is not None for case in cases)),
    }
    root = _element("testsuites", name=NAME, **counts)
    suite = ET.SubElement(root, "testsuite", _clean({"name": NAME, **counts, "skipped": "0"}))
    properties = ET.SubElement(suite, "properties")  # before the test cases (the JUnit schema's order)
    for name, value in _properties(report):
        ET.SubElement(properties, "property", _clean({"name": name, "value": value}))
    suite.extend(cases)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _case(report: Report, result: FileResult) -> ET.Element:
    case = _element("testcase", classname=NAME, name=result.path)
    placed = [(None, f) for f in result.findings] + [(o, f) for o in result.orders for f in by_days(o.findings)]
    failing = [(o, f) for o, f in placed if f.severity.fails(report.fail_on)]
    passing = [(o, f) for o, f in placed if not f.severity.fails(report.fail_on)]
    if result.tool_error:
        error = ET.SubElement(case, "error", _clean({"message": result.tool_error, "type": "tool-error"}))
        error.text = _text(f"{result.path}: tool error: {result.tool_error}")
    if failing:
        rules = list(dict.fromkeys(f.rule_id for _, f in failing))
        count = f"{len(failing)} finding{'' if len(failing) == 1 else 's'}"
        failure = ET.SubElement(case, "failure", _clean({
            "message": f"{count} at or above {report.fail_on.value}: {', '.join(rules)}",
            "type": ", ".join(rules),
        }))
        failure.text = _text("\n".join(finding_line(result.path, o, f) for o, f in failing))
    if passing:
        ET.SubElement(case, "system-out").text = _text("\n".join(finding_line(result.path, o, f) for o, f in passing))
    return case


def _properties(report: Report) -> list[tuple[str, str]]:
    properties = [("protovalidate.version", report.tool_version), ("protovalidate.fail-on", report.fail_on.value)]
    if report.knowledge_base is not None:
        properties += [("protovalidate.rule-book-version", report.knowledge_base.rule_book),
                       ("protovalidate.knowledge-base-release", report.knowledge_base.release)]
    return properties


def _element(tag: str, **attributes: str) -> ET.Element:
    return ET.Element(tag, _clean(attributes))


def _clean(attributes: dict[str, str]) -> dict[str, str]:
    return {key: _text(value) for key, value in attributes.items()}


def _text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)
