"""OWL consistency with HermiT (through owlready2), which runs on Java."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from rdflib import Graph


class ReasonerUnavailable(Exception):
    """Java is not installed: the reasoner cannot run here."""


def is_consistent(graph: Graph) -> bool:
    """Whether HermiT finds the ontology, regimens and any template in ``graph`` consistent."""
    if shutil.which("java") is None:
        raise ReasonerUnavailable("HermiT needs Java, which is not installed here")
    import owlready2  # imported here: loading it costs time that only this check needs

    with tempfile.TemporaryDirectory() as folder:
        # owlready2 does not read Turtle: hand it N-Triples.
        path = Path(folder) / "knowledge-base.nt"
        graph.serialize(path, format="nt", encoding="utf-8")
        world = owlready2.World()
        ontology = world.get_ontology(path.as_uri()).load()
        try:
            with ontology:
                owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError:
            return False
        finally:
            world.close()
    return True
