"""The knowledge base: ontology, regimens and shapes, loaded once per run.

Everything is read from package data, never from the working directory, so
the installed command behaves the same wherever it runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path

from rdflib import RDF, RDFS, Graph, Literal
from rdflib.compare import to_canonical_graph

from .vocabulary import CONTEXT_V1, PV


class KnowledgeBaseError(Exception):
    """The shipped ontology, regimens, shapes or context could not be loaded."""


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

    @classmethod
    def load(cls, extra_regimen_dirs: tuple[Path, ...] = (), tolerance_percent: float | None = None) -> "KnowledgeBase":
        """The shipped knowledge base, with any extra regimen directories.

        ``tolerance_percent`` replaces the dose tolerance of the data (5 %): a
        setting of the run, like --tolerance, never an edit of the shapes.
        """
        try:
            graph = Graph()
            ontology = resources.files("chemo_protovalidate.ontology")
            for entry in sorted(ontology.iterdir(), key=lambda e: e.name):
                if entry.name.endswith(".ttl"):
                    graph.parse(data=entry.read_text("utf-8"), format="turtle")
            regimens = resources.files("chemo_protovalidate.ontology.regimens")
            regimen_files = [e for e in regimens.iterdir() if e.name.endswith(".ttl")]
            for directory in extra_regimen_dirs:
                regimen_files += list(Path(directory).glob("*.ttl"))
            for entry in sorted(regimen_files, key=lambda e: e.name):
                graph.parse(data=entry.read_text("utf-8"), format="turtle")
            shapes = Graph()
            for entry in sorted(resources.files("chemo_protovalidate.shapes").iterdir(), key=lambda e: e.name):
                if entry.name.endswith(".ttl"):
                    shapes.parse(data=entry.read_text("utf-8"), format="turtle")
            context = json.loads((ontology / "context" / "v1.jsonld").read_text("utf-8"))["@context"]
        except Exception as error:  # any failure here is the tool's, not an order's
            raise KnowledgeBaseError(f"cannot load the knowledge base: {error}") from error
        # Blank nodes (dose levels) get labels from their content, not at random,
        # so that every run loads the same graph in the same order.
        if tolerance_percent is not None:
            for setting in list(graph.subjects(RDF.type, PV.DoseTolerance)):
                graph.set((setting, PV.percent, Literal(Decimal(str(tolerance_percent)))))
        canonical = Graph()
        for triple in to_canonical_graph(graph):
            canonical.add(triple)
        for prefix, namespace in graph.namespaces():
            canonical.bind(prefix, namespace)
        kb = cls(graph=canonical, shapes=shapes, context=context)
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
        return sorted(str(o) for s in self.graph.subjects(RDF.type, PV.Regimen)
                      for o in self.graph.objects(s, PV.identifier))

