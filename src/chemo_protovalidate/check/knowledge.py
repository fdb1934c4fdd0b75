"""The knowledge base: ontology, regimens and shapes, loaded once per run.

Everything is read from package data, never from the working directory, so
the installed command behaves the same wherever it runs. Parsing the Turtle
is most of a single order's check, so the shipped knowledge base is also kept
compiled (compiled.py): the triples as N-Triples for Oxigraph and the rule
catalogue, under a digest of every file of the package.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from decimal import Decimal
from importlib import resources
from pathlib import Path

from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.term import Node

from chemo_protovalidate.check import compiled
from chemo_protovalidate.check.rules import Catalogue
from chemo_protovalidate.model.findings import KnowledgeBaseVersion, Source
from chemo_protovalidate.model.vocabulary import CONTEXT_V1, ONTOLOGY, PV, SH


class KnowledgeBaseError(Exception):
    """The shipped ontology, regimens, shapes or context could not be loaded."""


def read_version(graph: Graph) -> KnowledgeBaseVersion:
    """The knowledge base's version, read from its graph; a knowledge base that does not say which it is cannot
    judge an order."""
    found = []
    for prop in (PV.ruleBookVersion, PV.knowledgeBaseRelease):
        values = sorted({str(v) for v in graph.objects(URIRef(ONTOLOGY), prop)})
        if len(values) != 1 or not values[0].strip():
            raise KnowledgeBaseError(
                f"the knowledge base must state one {prop.n3(graph.namespace_manager)} on <{ONTOLOGY}> "
                f"(ontology/release.ttl), not {', '.join(map(repr, values)) or 'none'}")
        found.append(values[0].strip())
    return KnowledgeBaseVersion(*found)


def percent_literal(value: float) -> Literal:
    """A setting's percentage as the data holds it: 10 and 10.0 are the same literal (and the same cache)."""
    amount = Decimal(str(value))
    return Literal(amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount.normalize())


@dataclass
class KnowledgeBase:
    graph: Graph
    """Ontology plus regimens: the data every order is checked against."""
    shapes: Graph
    """The rules, as SHACL shapes (with their SHACL-AF derivations)."""
    context: dict
    """The order format's JSON-LD context (the value of its "@context")."""
    sources: dict[str, Source] = field(default_factory=dict)
    version: KnowledgeBaseVersion | None = None
    """The rule book version and release the data states (None only for graphs made without release.ttl)."""

    @classmethod
    def load(cls, extra_regimen_dirs: tuple[Path, ...] = (), tolerance_percent: float | None = None,
             extra_files: tuple[Path, ...] = (), leave_out: Path | None = None,
             weight_change_percent: float | None = None) -> "KnowledgeBase":
        """The shipped knowledge base, with a site's regimen directories and files.

        The shipped knowledge base is closed: a site file that states anything
        about a shipped IRI, or defines a new agent, is refused (KnowledgeBaseError,
        naming the file, line and IRI), and so is a site regimen whose identifier
        the knowledge base already holds: never a silent override. ``tolerance_percent`` replaces the dose
        tolerance of the data (5 %): a setting of the run, like --tolerance;
        ``weight_change_percent`` replaces the institutional weight-change
        threshold (every pv:WeightChangeSetting), like --weight-change-threshold.
        ``leave_out`` is a file of those directories not to load (the template
        being checked, which ``extra_files`` may then add back on purpose).
        """
        shipped_only = not extra_regimen_dirs and not extra_files
        settings = {"tolerance": tolerance_percent, "weight-change": weight_change_percent}
        if shipped_only:
            cached = compiled.load(settings)
            if cached is not None:
                return CompiledKnowledgeBase(cached)
        kb = cls._parse(extra_regimen_dirs, tolerance_percent, extra_files, leave_out, weight_change_percent)
        if shipped_only:
            compiled.save(settings, kb.compile())
        return kb

    @classmethod
    def _parse(cls, extra_regimen_dirs, tolerance_percent, extra_files, leave_out,
               weight_change_percent=None) -> "KnowledgeBase":
        try:
            graph, shapes = Graph(), Graph()
            ontology = resources.files("chemo_protovalidate.ontology")
            for entry in _turtle_files(ontology):
                graph.parse(data=entry.read_text("utf-8"), format="turtle")
            for entry in _turtle_files(resources.files("chemo_protovalidate.ontology.regimens")):
                graph.parse(data=entry.read_text("utf-8"), format="turtle")
            for entry in _turtle_files(resources.files("chemo_protovalidate.shapes")):
                shapes.parse(data=entry.read_text("utf-8"), format="turtle")
            context = json.loads((ontology / "context" / "v1.jsonld").read_text("utf-8"))["@context"]
        except Exception as error:  # any failure here is the tool's, not an order's
            raise KnowledgeBaseError(f"cannot load the knowledge base: {error}") from error
        site_files = [f for d in extra_regimen_dirs for f in _turtle_files(Path(d))
                      if leave_out is None or f.resolve() != leave_out.resolve()]
        site_files += [Path(f) for f in extra_files]
        shipped = ShippedTerms.of(graph, shapes) if site_files else None
        for path in site_files:
            try:
                text = path.read_text("utf-8")
                site = Graph().parse(data=text, format="turtle")
            except Exception as error:
                raise KnowledgeBaseError(f"cannot load the regimen file {path}: {error}") from error
            refusals = shipped.refusals(path, text, site)
            if refusals:  # the shipped knowledge base is closed: a site file only adds nodes of its own
                raise KnowledgeBaseError("\n".join(r.placed for r in refusals))
            clashes = sorted(set(regimen_identifiers(site)) & set(regimen_identifiers(graph)))
            if clashes:
                raise KnowledgeBaseError(f"{path} defines regimen {', '.join(clashes)}, which the knowledge base "
                                         "already holds: give the site's regimen its own identifier")
            graph += site
            if (None, RDF.type, SH.NodeShape) in site:  # a template may bring rules of its own
                shapes += site
        return cls.from_graphs(graph, shapes, context, tolerance_percent, weight_change_percent)

    @cached_property
    def catalogue(self) -> Catalogue:
        return Catalogue.from_shapes(self.shapes)

    @cached_property
    def ntriples(self) -> str:
        """The data as N-Triples, which Oxigraph loads in a few milliseconds."""
        return self.graph.serialize(format="nt")

    def compile(self) -> dict:
        return {"ntriples": self.ntriples, "shapes": self.shapes.serialize(format="nt"), "context": self.context,
                "sources": self.sources, "catalogue": self.catalogue, "version": self.version}

    @classmethod
    def from_graphs(cls, graph: Graph, shapes: Graph, context: dict, tolerance_percent: float | None = None,
                    weight_change_percent: float | None = None) -> "KnowledgeBase":
        for kind, percent in ((PV.DoseTolerance, tolerance_percent), (PV.WeightChangeSetting, weight_change_percent)):
            if percent is not None:
                for setting in list(graph.subjects(RDF.type, kind)):
                    graph.set((setting, PV.percent, percent_literal(percent)))
        kb = cls(graph=graph, shapes=shapes, context=context)
        if (URIRef(ONTOLOGY), None, None) in graph:  # the shipped ontology: it must say which release it is
            kb.version = read_version(graph)
        kb.sources = {
            str(s): Source(str(s), str(graph.value(s, RDFS.label) or s),
                           str(graph.value(s, RDFS.seeAlso)) if graph.value(s, RDFS.seeAlso) else None)
            for s in graph.subjects(RDF.type, PV.RuleSource)
        }
        return kb

    def source(self, iri: str | None) -> Source | None:
        if iri is None:
            return None
        return self.sources.get(iri, Source(iri, iri))

    @property
    def context_iri(self) -> str:
        return CONTEXT_V1

    def dose_tolerance_percent(self) -> float | None:
        """The dose tolerance the rules apply (the data's, or the run's --tolerance), as a percentage."""
        for setting in self.graph.subjects(RDF.type, PV.DoseTolerance):
            value = self.graph.value(setting, PV.percent)
            if value is not None:
                return float(value.toPython())
        return None

    def regimen_ids(self) -> list[str]:
        return sorted(regimen_identifiers(self.graph))

    def agent_ids(self) -> list[str]:
        """The identifiers of every agent, regimen and supportive (an instance of pv:Agent or a subclass)."""
        classes = {PV.Agent} | set(self.graph.transitive_subjects(RDFS.subClassOf, PV.Agent))
        return sorted({str(self.graph.value(node, PV.identifier)) for cls in classes
                       for node in self.graph.subjects(RDF.type, cls) if self.graph.value(node, PV.identifier)})


class CompiledKnowledgeBase(KnowledgeBase):
    """The shipped knowledge base as compiled: the rdflib graphs are parsed only if something asks for them."""

    def __init__(self, data: dict):
        self.context = data["context"]
        self.sources = data["sources"]
        self.version = data["version"]
        self.__dict__["ntriples"] = data["ntriples"]
        self.__dict__["catalogue"] = data["catalogue"]
        self._shapes_ntriples = data["shapes"]

    @cached_property
    def graph(self) -> Graph:
        return Graph().parse(data=self.ntriples, format="nt")

    @cached_property
    def shapes(self) -> Graph:
        return Graph().parse(data=self._shapes_ntriples, format="nt")


# --- The shipped knowledge base is closed ----------------------------------------------------------------------
#
# A site regimen file (--regimens, [tool.protovalidate] regimens, check-template) adds regimens, components and
# dosings of its own. It may use what the knowledge base ships by reference (pv:dosing kb:dexamethasone-weekly,
# pv:componentAgent kb:carfilzomib), but a statement about a shipped IRI would change the shipped knowledge for
# every order of the run (a day added to a shipped dosing, a second identifier on a shipped regimen), and a new
# agent would get none of the agent-level rules: both are refused, by `check-template` as findings and by
# KnowledgeBase.load as KnowledgeBaseError (exit 2), with the same words.

REDEFINES_SHIPPED = "template-redefines-shipped"
NEW_AGENT = "template-new-agent"
RULE_DATA = "template-rule-data"

# What a site file may create: the kinds of node a regimen is made of, and sources. Any other kind the
# knowledge base holds (a lab hold, a limit, a requirement, a setting, a week definition, a route, a unit)
# is rule data that applies to every order of the run, shipped regimens included: a site lab hold on
# carfilzomib or a week of its own length would change how a shipped order is judged.
SITE_KINDS = (PV.Regimen, PV.RegimenComponent, PV.Dosing, PV.DoseLevel, PV.RuleSource)


@dataclass(frozen=True)
class Refusal:
    """Why a site file may not join the knowledge base: the message names the IRI; the file and the line
    are its place (check-template gives them as the finding's location, the loader in the words)."""

    rule_id: str
    message: str
    path: str
    line: int | None = None
    column: int | None = None

    @property
    def placed(self) -> str:
        return f"{self.path}, line {self.line}: {self.message}" if self.line is not None else f"{self.path}: {self.message}"


@dataclass(frozen=True)
class ShippedTerms:
    subjects: frozenset
    """Every IRI the shipped ontology, regimens and shapes state something about."""
    schema: Graph
    """The shipped data, for the agent classes (pv:Agent and its subclasses) and the properties of agents."""

    @classmethod
    def of(cls, graph: Graph, shapes: Graph) -> "ShippedTerms":
        subjects = {s for g in (graph, shapes) for s in g.subjects(unique=True) if isinstance(s, URIRef)}
        return cls(frozenset(subjects), graph)

    def refusals(self, path: Path | str, text: str, site: Graph) -> list[Refusal]:
        """What a site file states that it may not: anything about a shipped IRI, a new agent, or rule data
        (one refusal per node)."""
        refused = []
        own = {s for s in site.subjects(unique=True) if isinstance(s, URIRef)}
        for node in sorted(own & self.subjects, key=lambda n: _sort_key(text, n)):
            written, line, column = subject_position(text, node)
            refused.append(Refusal(REDEFINES_SHIPPED, (
                f"{written} is defined by the shipped knowledge base; a site file may use it "
                f"by reference (as the object of a statement, e.g. of pv:dosing or pv:componentAgent) but never "
                f"state anything about it: give the site's regimens, components and dosings IRIs of their own"),
                str(path), line, column))
        agent_classes = _agent_classes(self.schema, site)
        agents = self._nodes_of({cls: PV.Agent for cls in agent_classes}, site)
        for node in sorted(set(agents) - self.subjects, key=lambda n: _sort_key(text, n)):
            written, line, column = _position(text, node)
            refused.append(Refusal(NEW_AGENT, (
                f"{written} is a new agent; agents are knowledge-base changes (their class, "
                f"routes and agent-level rules live in the shipped knowledge base), so a site file cannot define "
                f"one: propose it to the project, and use the shipped agents by reference"), str(path), line, column))
        # Rule data: a node of a kind a site may not create (SITE_KINDS) that is no agent.
        allowed = _subclasses(SITE_KINDS, self.schema, site) | agent_classes
        shipped_kinds = {o for o in self.schema.objects(None, RDF.type) if isinstance(o, URIRef) and o.startswith(PV)}
        kinds = {}      # each class a site may not give a node: the shipped kind it falls under, for the message
        for shipped in shipped_kinds - allowed:
            for cls in _subclasses([shipped], self.schema, site) - allowed:
                kinds.setdefault(cls, shipped)
        found = self._nodes_of(kinds, site)
        for node in sorted(set(found) - self.subjects - set(agents), key=lambda n: _sort_key(text, n)):
            written, line, column = _position(text, node)
            kind = found[node].split("#")[-1]
            refused.append(Refusal(RULE_DATA, (
                f"{written} is a {kind}: rule data of the knowledge base, which applies to "
                f"every order of the run (shipped regimens included), so a site file cannot add it; a site file "
                f"holds regimens, components, dosings, dose levels and sources (propose the {kind} to the project)"),
                str(path), line, column))
        return refused

    def _nodes_of(self, kinds: dict, site: Graph) -> dict:
        """The site's nodes of each class (-> the kind the message names): typed so, or given a property
        whose rdfs:domain is that class."""
        found: dict = {}
        for cls, kind in kinds.items():
            for node in site.subjects(RDF.type, cls):
                found.setdefault(node, kind)
            for prop in {p for g in (self.schema, site) for p in g.subjects(RDFS.domain, cls)}:
                for node in site.subjects(prop, None):
                    found.setdefault(node, kind)
        return found


def _position(text: str, node: Node) -> tuple[str, int | None, int | None]:
    """How the file writes a node, and where: a blank node has no name to find."""
    return subject_position(text, node) if isinstance(node, URIRef) else ("[ ]", None, None)


@lru_cache(maxsize=1)
def shipped_terms() -> ShippedTerms:
    """The shipped knowledge base's terms (from its compiled form when there is one)."""
    kb = KnowledgeBase.load()
    return ShippedTerms.of(kb.graph, kb.shapes)


def _agent_classes(*graphs: Graph) -> set:
    return _subclasses([PV.Agent], *graphs)


def _subclasses(classes, *graphs: Graph) -> set:
    """The classes and every class under them (rdfs:subClassOf, in any of the graphs)."""
    found, todo = set(), list(classes)
    while todo:
        cls = todo.pop()
        if cls not in found:
            found.add(cls)
            todo += [c for g in graphs for c in g.subjects(RDFS.subClassOf, cls)]
    return found


def _sort_key(text: str, node: Node) -> tuple:
    line = subject_position(text, node)[1] if isinstance(node, URIRef) else None
    return (line is None, line or 0, str(node))


# Turtle keeps no positions: a subject is found in the text, with its strings and comments blanked out first
# (their length kept, so lines and columns stay true). The name is the file's own: <full IRI>, <relative> under
# its @base, or prefix:local under one of its own @prefix/PREFIX declarations.
_BLANKED = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""' r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
                      r'|"(?:[^"\\\n]|\\.)*"' r"|'(?:[^'\\\n]|\\.)*'" r"|<[^<>\s]*>|#[^\n]*", re.S)
_PREFIX = re.compile(r"(?:@prefix|(?i:prefix))\s+([A-Za-z][\w.-]*)?:\s*<([^<>\s]*)>")
_BASE = re.compile(r"(?:@base|(?i:base))\s+<([^<>\s]*)>")


def _masked(text: str) -> str:
    return _BLANKED.sub(lambda m: m.group(0) if m.group(0).startswith("<") else re.sub(r"[^\n]", " ", m.group(0)),
                        text)


def written_names(text: str, node: URIRef) -> list[str]:
    """How the file can write the IRI: prefix:local under its own prefixes, <relative> under its @base, <full>."""
    iri, masked = str(node), _masked(text)
    names = [f"{prefix or ''}:{iri[len(ns):]}" for prefix, ns in _PREFIX.findall(masked)
             if ns and iri.startswith(ns) and re.fullmatch(r"[\w-]*(?:\.[\w-]+)*", iri[len(ns):])]
    names += [f"<{iri[len(base):]}>" for base in _BASE.findall(masked) if base and iri.startswith(base)]
    return list(dict.fromkeys(names + [f"<{iri}>"]))


def subject_position(text: str, node: URIRef) -> tuple[str, int | None, int | None]:
    """The IRI as the file writes it, and the line and column (from 1) of the first statement with it as subject.

    A statement starts the file, follows the '.' that ends the one before, or follows a PREFIX/BASE directive
    (which has no '.'); failing that (an unusual layout), the first line that starts with the name, then its
    first use at all. Not written anywhere (a relative IRI under a changed base, say): the IRI in full, no line.
    """
    masked = _masked(text)
    names = written_names(text, node)
    name = "(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")(?=[\s;,\[(<\"'#]|$)"
    for start in (r"(?:\A|\.|(?i:prefix|base)[^\n]*>)\s*", r"^[ \t]*", r"(?<![\w:<.-])"):
        match = re.compile(start + name, re.M).search(masked)
        if match:
            at = match.start(1)
            return match.group(1), text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1
    return f"<{node}>", None, None


def regimen_identifiers(graph: Graph) -> list[str]:
    return [str(i) for r in graph.subjects(RDF.type, PV.Regimen) for i in graph.objects(r, PV.identifier)]


def _turtle_files(folder) -> list:
    return sorted((e for e in folder.iterdir() if e.name.endswith(".ttl")), key=lambda e: e.name)

