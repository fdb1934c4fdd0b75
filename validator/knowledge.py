"""The knowledge base: ontology, regimens and shapes, loaded once per run.

Everything is read from package data, never from the working directory, so
the installed command behaves the same wherever it runs. Parsing the Turtle
is most of a single order's check, so the shipped knowledge base is also kept
compiled (compiled.py): the triples as N-Triples for Oxigraph and the rule
catalogue, under a digest of every file of the package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from decimal import Decimal
from importlib import resources
from pathlib import Path

from rdflib import RDF, RDFS, Graph, Literal, URIRef

from . import compiled
from .rules import Catalogue
from .vocabulary import CONTEXT_V1, ONTOLOGY, PV, SH


class KnowledgeBaseError(Exception):
    """The shipped ontology, regimens, shapes or context could not be loaded."""


@dataclass(frozen=True)
class KnowledgeBaseVersion:
    """What judged the orders (rule book v2, C25): the rule book version the knowledge base implements and
    the knowledge base's own release, as ontology/release.ttl states them on the ontology node."""

    rule_book: str
    release: str

    def __str__(self) -> str:
        return f"knowledge base {self.release} (rule book v{self.rule_book})"

    @classmethod
    def of(cls, graph: Graph) -> "KnowledgeBaseVersion":
        """Read from the graph; a knowledge base that does not say which it is cannot judge an order."""
        found = []
        for prop in (PV.ruleBookVersion, PV.knowledgeBaseRelease):
            values = sorted({str(v) for v in graph.objects(URIRef(ONTOLOGY), prop)})
            if len(values) != 1 or not values[0].strip():
                raise KnowledgeBaseError(
                    f"the knowledge base must state one {prop.n3(graph.namespace_manager)} on <{ONTOLOGY}> "
                    f"(ontology/release.ttl), not {', '.join(map(repr, values)) or 'none'}")
            found.append(values[0].strip())
        return cls(*found)


def percent_literal(value: float) -> Literal:
    """A setting's percentage as the data holds it: 10 and 10.0 are the same literal (and the same cache)."""
    amount = Decimal(str(value))
    return Literal(amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount.normalize())


@dataclass(frozen=True)
class Source:
    """Where a rule comes from, as a finding quotes it."""

    iri: str
    label: str
    url: str | None = None


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

        A site regimen whose identifier the knowledge base already holds is an
        error, never a silent override. ``tolerance_percent`` replaces the dose
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
        for path in site_files:
            try:
                site = Graph().parse(data=path.read_text("utf-8"), format="turtle")
            except Exception as error:
                raise KnowledgeBaseError(f"cannot load the regimen file {path}: {error}") from error
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
            kb.version = KnowledgeBaseVersion.of(graph)
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

    def regimen_ids(self) -> list[str]:
        return sorted(regimen_identifiers(self.graph))


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


def regimen_identifiers(graph: Graph) -> list[str]:
    return [str(i) for r in graph.subjects(RDF.type, PV.Regimen) for i in graph.objects(r, PV.identifier)]


def _turtle_files(folder) -> list:
    return sorted((e for e in folder.iterdir() if e.name.endswith(".ttl")), key=lambda e: e.name)

