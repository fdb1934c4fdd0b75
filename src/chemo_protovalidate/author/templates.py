"""Checking a regimen template before it goes live (`protovalidate check-template`).

A template is a Turtle file of regimens, components and dosings, as in
ontology/regimens/. It is checked beside the knowledge base it will join:
- the template rules (shapes/templates/), on every subject the file defines;
- the shipped knowledge base is closed: a statement about a shipped IRI, or a
  new agent, is refused (knowledge.py: the same refusal stops `check --regimens`);
- its identifiers against the knowledge base's (a clash is never an override);
- any SHACL shapes it brings, against SHACL's own shapes (SHACL-SHACL);
- OWL consistency of knowledge base plus template (HermiT; skipped with a
  notice where Java is missing). A run of several templates asks the reasoner
  of them together first (check_all);
- the example orders it carries (pv:example), against their expected rules:
  each order run is listed in the template's result (without its findings),
  so the summary says how many ran ("2 orders checked").
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from importlib import resources
from pathlib import Path

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from chemo_protovalidate.check.engine import OxigraphEngine
from chemo_protovalidate.check.knowledge import (NEW_AGENT, REDEFINES_SHIPPED, RULE_DATA, KnowledgeBase, KnowledgeBaseError, regimen_identifiers, shipped_terms, subject_position)
from chemo_protovalidate.check.pipeline import rule_infos
from chemo_protovalidate.check.reasoning import ReasonerUnavailable, is_consistent
from chemo_protovalidate.check.rules import Catalogue, CatalogueError
from chemo_protovalidate.model.findings import FileResult, Finding, OrderResult, RuleInfo, Severity
from chemo_protovalidate.model.vocabulary import PV, SH
from chemo_protovalidate.read.documents import parse_error

# The template checks that are not shapes (the shapes: shapes/templates/).
TEMPLATE_RULES = {
    "template-not-turtle": "The template is not valid Turtle.",
    REDEFINES_SHIPPED: "The template states something about an IRI the shipped knowledge base defines (a regimen, "
                       "component, dosing, agent, source, rule, class or property); a site may only use it by reference.",
    NEW_AGENT: "The template defines a new agent: agents are knowledge-base changes, to propose to the project.",
    RULE_DATA: "The template adds rule data (a lab hold, a limit, a requirement, a setting): it would apply to every "
               "order of the run, shipped regimens included; a site file holds regimens, components, dosings, dose "
               "levels and sources.",
    "template-duplicate-regimen": "The template defines a regimen identifier the knowledge base already holds.",
    "template-invalid-shapes": "A SHACL shape the template brings is not valid SHACL (SHACL-SHACL).",
    "template-unsupported-shapes": "A shape the template brings uses a SHACL feature protovalidate's engine does not run.",
    "template-inconsistent": "The knowledge base plus the template is inconsistent for an OWL reasoner.",
    "template-reasoner-skipped": "The OWL consistency check could not run (no Java).",
    "template-example-disagrees": "An example order the template carries does not give its expected rules.",
}
RULE_BOOK = "https://w3id.org/protovalidate/kb/source-rule-book"


def _turtle_or_none(path: Path) -> Graph | None:
    """The template's graph, or None where it cannot be read (its own check says why)."""
    try:
        return Graph().parse(data=path.read_text("utf-8"), format="turtle")
    except Exception:  # unreadable, not UTF-8, not Turtle: a finding of the file's own check
        return None


class TemplateChecker:
    def __init__(self, extra_regimen_dirs: tuple[Path, ...] = ()):
        self.extra_regimen_dirs = extra_regimen_dirs
        shapes = Graph()
        for entry in resources.files("chemo_protovalidate.shapes.templates").iterdir():
            if entry.name.endswith(".ttl"):
                shapes.parse(data=entry.read_text("utf-8"), format="turtle")
        self.catalogue = Catalogue.from_shapes(shapes)
        # The site files the templates are checked beside: those that could join the knowledge base. A refused one
        # (a statement about a shipped IRI, a new agent) or one that is not Turtle is left out: checked itself, it
        # gets its findings; `check --regimens` refuses it (exit 2).
        self.site_files = tuple(f for d in extra_regimen_dirs for f in sorted(Path(d).glob("*.ttl")) if _joins(f))
        self._use_base(KnowledgeBase.load(extra_files=self.site_files))
        self._cleared: set[Path] = set()   # templates check_all found consistent: no reasoner run of their own
        self.shipped = {e.name: e.read_text("utf-8")
                        for e in resources.files("chemo_protovalidate.ontology.regimens").iterdir()
                        if e.name.endswith(".ttl")}

    def rules(self) -> dict[str, RuleInfo]:
        """Every rule a template check applies."""
        rule_book = self.base.source(RULE_BOOK)
        rules = {rule_id: RuleInfo(rule_id, Severity.INFO if rule_id == "template-reasoner-skipped" else Severity.ERROR,
                                   text, rule_book) for rule_id, text in TEMPLATE_RULES.items()}
        rules.update(rule_infos(self.base, self.catalogue))
        return dict(sorted(rules.items()))

    def _use_base(self, base: KnowledgeBase) -> None:
        self.base = base
        self.engine = OxigraphEngine(base, self.catalogue)

    def check_all(self, paths: list[Path]) -> list[FileResult]:
        """Checks each template as check() does. The reasoner, about a second a run and some 90 % of a template's
        check, is first asked of the knowledge base plus all the templates at once: OWL is monotonic, so where the
        whole is consistent so is the knowledge base plus each one, and no file needs a run of its own."""
        self._cleared = self._consistent_together([(path, graph) for path in paths
                                                   if (graph := _turtle_or_none(path)) is not None])
        try:
            return [self.check(path) for path in paths]
        finally:
            self._cleared = set()

    def _consistent_together(self, templates: list[tuple[Path, Graph]]) -> set[Path]:
        """The templates found consistent together with the knowledge base. Where the whole is not (a template of
        the run is inconsistent, or two disagree), each half is asked in turn; a group of fewer than four is left
        to its files' own runs, which find which one is at fault."""
        if len(templates) < 4:
            return set()
        combined = Graph()
        combined += self.base.graph
        for _, template in templates:
            combined += template
        try:
            if is_consistent(combined):
                return {path.resolve() for path, _ in templates}
        except Exception:  # no Java, or the reasoner failed on the whole: each file's own run says so, as without this
            return set()
        half = len(templates) // 2
        return self._consistent_together(templates[:half]) | self._consistent_together(templates[half:])

    def check(self, path: Path) -> FileResult:
        """Checks one template against the knowledge base, less the template itself if a site directory holds it."""
        if path.resolve() in self._site_paths():
            shared = (self.base, self.engine)
            self._use_base(KnowledgeBase.load(extra_files=self._other_site_files(path)))
            try:
                return self._check(path, in_site_dirs=True)
            finally:
                self.base, self.engine = shared
        return self._check(path)

    def _site_paths(self) -> set[Path]:
        return {f.resolve() for d in self.extra_regimen_dirs for f in Path(d).glob("*.ttl")}

    def _other_site_files(self, path: Path) -> tuple[Path, ...]:
        return tuple(f for f in self.site_files if f.resolve() != path.resolve())

    def _check(self, path: Path, in_site_dirs: bool = False) -> FileResult:
        result = FileResult(str(path))
        try:
            text = path.read_text("utf-8")
            template = Graph().parse(data=text, format="turtle")
        except UnicodeDecodeError as error:
            return self._with(result, "template-not-turtle", f"the file is not UTF-8 text: {error.reason}")
        except Exception as error:  # a parser error is a finding about the template
            why, position = parse_error(error)
            return self._with(result, "template-not-turtle", f"not valid Turtle: {why}", position)

        # A shipped regimen checked where it ships is no redefinition; a copy in a site folder is loaded as the
        # site's, and refused like any other statement about shipped IRIs.
        shipped = not in_site_dirs and self._is_shipped(path, template)
        refusals = [] if shipped else shipped_terms().refusals(path, text, template)
        for refusal in refusals:  # no reasoner needed: the shipped knowledge base is closed
            self._with(result, refusal.rule_id, refusal.message,
                       (refusal.line, refusal.column) if refusal.line is not None else None)
        clashes = [] if shipped else sorted(set(regimen_identifiers(template)) & set(self.base.regimen_ids()))
        for identifier in clashes:
            self._with(result, "template-duplicate-regimen",
                       f"regimen {identifier!r} is already in the knowledge base; a site regimen needs an identifier "
                       "of its own (a template never silently replaces a shipped regimen)",
                       _line_of(text, template, _regimen_node(template, identifier)))

        reviewed = Graph()
        reviewed += template
        for subject in set(template.subjects()):
            reviewed.add((subject, PV.underReview, Literal(True)))
        for finding in self.engine.check(reviewed):
            result.findings.append(replace(finding, **_position(_line_of(text, template, URIRef(finding.focus or "")))))

        self._check_shapes(result, template, text)
        if path.resolve() not in self._cleared:
            self._check_consistency(result, template)
        if not clashes and not refusals:
            self._check_examples(result, path, template, shipped)
        result.findings.sort(key=lambda f: (f.line or 0, f.rule_id, f.message))
        return result

    def _is_shipped(self, path: Path, template: Graph) -> bool:
        """The file is one of the shipped regimens, unchanged (checking it is no clash)."""
        text = self.shipped.get(path.name)
        return text is not None and isomorphic(Graph().parse(data=text, format="turtle"), template)

    def _check_shapes(self, result: FileResult, template: Graph, text: str) -> None:
        if not any(template.triples((None, RDF.type, kind)) for kind in (SH.NodeShape, SH.PropertyShape)):
            return
        import pyshacl  # only templates that bring shapes need it

        shacl_shacl = Graph().parse(data=(resources.files("pyshacl") / "assets" / "shacl-shacl.ttl").read_text("utf-8"),
                                    format="turtle")
        conforms, report, _ = pyshacl.validate(template, shacl_graph=shacl_shacl, inference="none")
        try:
            Catalogue.from_shapes(template)
        except CatalogueError as error:  # refused now, rather than as exit 2 when the site's orders are checked
            self._with(result, "template-unsupported-shapes", str(error))
        if conforms:
            return
        for node in report.subjects(RDF.type, SH.ValidationResult):
            focus, message = report.value(node, SH.focusNode), report.value(node, SH.resultMessage)
            # A property shape is usually a blank node: name the shape that holds it, and its path.
            shape = template.value(predicate=SH.property, object=focus) or focus
            path = template.value(focus, SH.path)
            where = _local(shape) + (f", property {_local(path)}" if path is not None else "")
            self._with(result, "template-invalid-shapes",
                       f"shape {where}: {_local(report.value(node, SH.resultPath))} {message}",
                       _line_of(text, template, shape))

    def _check_consistency(self, result: FileResult, template: Graph) -> None:
        combined = Graph()
        combined += self.base.graph
        combined += template
        try:
            consistent = is_consistent(combined)
        except ReasonerUnavailable as error:
            self._with(result, "template-reasoner-skipped", f"OWL consistency not checked: {error}", severity=Severity.INFO)
            return
        if not consistent:
            self._with(result, "template-inconsistent",
                       "HermiT finds the knowledge base plus this template inconsistent: an individual is given two "
                       "disjoint classes (an agent used as a route, one IRI for a component and a dosing), or a "
                       "day or cycle is below 1")

    def _check_examples(self, result: FileResult, path: Path, template: Graph, shipped: bool) -> None:
        examples = [(template.value(e, PV.orderFile), sorted(str(r) for r in template.objects(e, PV.expectedRule)))
                    for e in template.objects(None, PV.example)]
        if not examples:
            return
        from chemo_protovalidate.check.pipeline import Pipeline

        try:
            kb = KnowledgeBase.load(extra_files=self._other_site_files(path) + (() if shipped else (path,)))
        except KnowledgeBaseError as error:
            self._with(result, "template-example-disagrees", f"the examples could not be run: {error}")
            return
        validator = Pipeline(kb)
        for order_file, expected in examples:
            order_path = path.parent / str(order_file)
            if not order_path.is_file():
                self._with(result, "template-example-disagrees", f"example order {order_file} does not exist")
                continue
            checked = validator.check(str(order_path), order_path.read_bytes())
            # Each order run is counted ("N orders checked"), without its findings: its verdict against the
            # expected rules is the template's finding.
            result.orders += [OrderResult(o.label, o.regimen, o.cycle) for o in checked.orders]
            got = sorted({f.rule_id for f in checked.all_findings()})
            if got != expected:
                self._with(result, "template-example-disagrees",
                           f"example order {order_file}: expected {json.dumps(expected)}, got {json.dumps(got)}")

    def _with(self, result: FileResult, rule: str, message: str, position: tuple[int, int] | None = None,
              severity: Severity = Severity.ERROR) -> FileResult:
        result.findings.append(Finding(rule_id=rule, severity=severity, message=message,
                                       source=self.base.source(RULE_BOOK), **_position(position)))
        return result


def _local(node) -> str:
    return re.sub(r"^.*[/#]", "", str(node)) if node is not None else ""


def _regimen_node(template: Graph, identifier: str):
    return next((r for r in template.subjects(PV.identifier, Literal(identifier))), None)


def _position(position: tuple[int, int] | None) -> dict:
    return {"line": position[0], "column": position[1]} if position else {}


def _line_of(text: str, graph: Graph, node) -> tuple[int, int] | None:
    """Where a subject is written: its first statement (knowledge.subject_position; Turtle keeps no positions)."""
    if not isinstance(node, URIRef) or not str(node):
        return None
    _, line, column = subject_position(text, node)
    return (line, column) if line is not None else None


def _joins(path: Path) -> bool:
    """The site file is Turtle and is not refused by the closed knowledge base."""
    try:
        text = path.read_text("utf-8")
        graph = Graph().parse(data=text, format="turtle")
    except Exception:
        return False
    return not shipped_terms().refusals(path, text, graph)
