"""`--format shacl`: the W3C `sh:ValidationReport` as Turtle, for SHACL tooling.

`sh:conforms` has SHACL's own meaning (no result at all), not `--fail-on`'s;
a file the tool could not check also makes it false (SHACL would call that a
failure, not a report) and is listed as `pvr:toolError`. Where a result was
found (file, line, order, agent, day, rule id) is said in the report
vocabulary `pvr:`, not with the ontology's order properties, whose domains
would make a result an administration under RDFS inference. Every result gets a
stable IRI (`urn:protovalidate:result:N`, N in the report's finding order), and
blank-node labels are made per file, so the same run serializes the same way.

The report names what judged the orders (rule book v2, C25): `pvr:toolVersion`,
and `pvr:knowledgeBase` the ontology, with the `pv:ruleBookVersion` and
`pv:knowledgeBaseRelease` the knowledge base states on it (ontology/release.ttl).
An information finding is an `sh:Info` result. A result's `sh:sourceShape` is
the shape that found it (one rule id may name several shapes, one per severity).
"""

from __future__ import annotations

from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef

from chemo_protovalidate.model.findings import Finding, Severity
from chemo_protovalidate.model.vocabulary import ONTOLOGY, PV, PVR, PVS, SH
from chemo_protovalidate.report.common import Report

REPORT = URIRef("urn:protovalidate:report")
SEVERITIES = {Severity.ERROR: SH.Violation, Severity.WARNING: SH.Warning, Severity.INFO: SH.Info}


def render(report: Report) -> str:
    return graph(report).serialize(format="turtle")


def graph(report: Report) -> Graph:
    g = Graph(bind_namespaces="none")
    for prefix, namespace in (("sh", SH), ("pvr", PVR), ("pv", PV), ("xsd", XSD)):
        g.bind(prefix, namespace)
    g.add((REPORT, RDF.type, SH.ValidationReport))
    g.add((REPORT, PVR.toolVersion, Literal(report.tool_version)))
    if report.knowledge_base is not None:
        g.add((REPORT, PVR.knowledgeBase, URIRef(ONTOLOGY)))
        g.add((URIRef(ONTOLOGY), PV.ruleBookVersion, Literal(report.knowledge_base.rule_book)))
        g.add((URIRef(ONTOLOGY), PV.knowledgeBaseRelease, Literal(report.knowledge_base.release)))
    files = {id(result): n for n, result in enumerate(report.results, 1)}
    n = 0
    for n, (result, order, finding) in enumerate(report.findings(by_day=False), 1):
        node = URIRef(f"urn:protovalidate:result:{n}")
        g.add((REPORT, SH.result, node))
        g.add((node, RDF.type, SH.ValidationResult))
        g.add((node, SH.resultSeverity, SEVERITIES[finding.severity]))
        g.add((node, SH.resultMessage, Literal(finding.message)))
        g.add((node, SH.focusNode, _focus(finding, files[id(result)], n)))
        info = report.rules.get(finding.rule_id)
        shape = finding.shape or (info.shape if info is not None else None)
        if shape:
            # A shape without a pv:ruleId may be a blank node (rules.py names it _:label).
            g.add((node, SH.sourceShape, BNode(shape[2:]) if shape.startswith("_:") else URIRef(shape)))
            # Every rule that is a shape is a SHACL-SPARQL constraint (rules.py).
            g.add((node, SH.sourceConstraintComponent, SH.SPARQLConstraintComponent))
        else:
            g.add((node, SH.sourceShape, PVS[finding.rule_id]))
        if finding.value is not None:
            g.add((node, SH.value, Literal(finding.value)))
        if finding.path is not None:
            g.add((node, SH.resultPath, URIRef(finding.path)))
        g.add((node, PVR.ruleId, Literal(finding.rule_id)))
        g.add((node, PVR.file, Literal(result.path)))
        for prop, value in ((PVR.line, finding.line), (PVR.column, finding.column), (PVR.day, finding.day)):
            if value is not None:
                g.add((node, prop, Literal(value)))
        if order is not None:
            g.add((node, PVR.order, Literal(order.label)))
        if finding.agent is not None:
            g.add((node, PVR.agent, Literal(finding.agent)))
    errors = [result for result in report.results if result.tool_error]
    for m, result in enumerate(errors, 1):
        node = URIRef(f"urn:protovalidate:tool-error:{m}")
        g.add((REPORT, PVR.toolError, node))
        g.add((node, PVR.file, Literal(result.path)))
        g.add((node, SH.resultMessage, Literal(result.tool_error)))
    g.add((REPORT, SH.conforms, Literal(n == 0 and not errors)))
    return g


def _focus(finding: Finding, file_number: int, result_number: int):
    if finding.focus and finding.focus.startswith("_:"):
        # Blank-node labels are local to the file they were read from.
        return BNode(f"f{file_number}_{finding.focus[2:]}")
    if finding.focus:
        return URIRef(finding.focus)
    return BNode(f"r{result_number}_focus")
