"""The ontology and every regimen in it are consistent for an OWL reasoner (HermiT)."""

from __future__ import annotations

import shutil

import owlready2
import pytest
from rdflib import RDF, Graph, Literal, Namespace

from chemo_protovalidate.check.knowledge import KnowledgeBase

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="HermiT needs Java, which this machine lacks")
KB = Namespace("https://w3id.org/protovalidate/kb/")
PV = Namespace("https://w3id.org/protovalidate/ontology#")


def _reason(graph: Graph, tmp_path):
    # owlready2 does not read Turtle: hand it N-Triples.
    path = tmp_path / "knowledge-base.nt"
    graph.serialize(path, format="nt", encoding="utf-8")
    world = owlready2.World()
    ontology = world.get_ontology(path.as_uri()).load()
    with ontology:
        owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
    return world


def test_knowledge_base_is_consistent_and_classifies_levels_by_unit(tmp_path):
    graph = KnowledgeBase.load().graph
    # A named probe: the reasoner must classify a level by its unit alone.
    graph.add((KB["probe-level"], PV.unit, Literal("mg/kg")))
    world = _reason(graph, tmp_path)
    probe = world[str(KB["probe-level"])]
    assert world[str(PV.PerWeightLevel)] in probe.INDIRECT_is_a
    assert world[str(PV.PerBodySurfaceAreaLevel)] not in probe.INDIRECT_is_a


@pytest.mark.parametrize("contradiction", [
    (KB.carfilzomib, RDF.type, PV.Route),                     # agents and routes are disjoint
    (KB["dexamethasone-weekly"], PV.onDay, Literal(0)),        # cycle days count from 1
    (KB["lenalidomide-25-days-1-21"], PV.fromCycle, Literal(0)),
], ids=["agent-as-route", "day-0", "cycle-0"])
def test_the_reasoner_catches_a_contradiction(tmp_path, contradiction):
    graph = KnowledgeBase.load().graph
    if contradiction[1] == PV.fromCycle:
        graph.remove((contradiction[0], PV.fromCycle, None))  # fromCycle is functional: replace it
    graph.add(contradiction)
    with pytest.raises(owlready2.OwlReadyInconsistentOntologyError):
        _reason(graph, tmp_path)
