"""The rule catalogue: what the shapes graph says, read once into plain objects.

Each rule is a named SHACL shape with a stable id, a severity, a source and
one or more SHACL-SPARQL constraints; derivations are SHACL-AF SPARQL rules.
Engines execute these; nothing here knows any clinical fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from rdflib import RDF, RDFS, Graph, URIRef

from .vocabulary import DCT, PV, SH


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @classmethod
    def from_shacl(cls, iri) -> "Severity":
        # SHACL allows any IRI as a severity; unknown ones are information.
        return {SH.Violation: cls.ERROR, SH.Warning: cls.WARNING}.get(iri, cls.INFO)

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


@dataclass(frozen=True)
class Targets:
    classes: tuple[str, ...] = ()
    subjects_of: tuple[str, ...] = ()
    objects_of: tuple[str, ...] = ()

    def sparql(self) -> str:
        """A SELECT of every focus node these targets name."""
        patterns = [f"{{ ?this a/<{RDFS.subClassOf}>* <{c}> }}" for c in self.classes]
        patterns += [f"{{ ?this <{p}> ?o }}" for p in self.subjects_of]
        patterns += [f"{{ ?s <{p}> ?this }}" for p in self.objects_of]
        return "SELECT DISTINCT ?this WHERE { " + " UNION ".join(patterns) + " }"


@dataclass(frozen=True)
class Constraint:
    select: str
    """The SELECT query, prefixes included."""
    message: str


@dataclass(frozen=True)
class Rule:
    iri: str
    rule_id: str
    severity: Severity
    source: str | None
    description: str
    targets: Targets
    constraints: tuple[Constraint, ...]


@dataclass(frozen=True)
class Derivation:
    order: tuple[float, float]
    """(shape's sh:order, rule's sh:order): the order pyshacl applies them in."""
    construct: str


@dataclass(frozen=True)
class Catalogue:
    rules: tuple[Rule, ...]
    derivations: tuple[Derivation, ...]

    def rule(self, iri: str) -> Rule:
        return next(r for r in self.rules if r.iri == iri)

    @classmethod
    def from_shapes(cls, shapes: Graph) -> "Catalogue":
        rules, derivations = [], []
        for shape in sorted(set(shapes.subjects(RDF.type, SH.NodeShape)), key=str):
            targets = Targets(
                classes=tuple(sorted(str(c) for c in shapes.objects(shape, SH.targetClass))),
                subjects_of=tuple(sorted(str(p) for p in shapes.objects(shape, SH.targetSubjectsOf))),
                objects_of=tuple(sorted(str(p) for p in shapes.objects(shape, SH.targetObjectsOf))),
            )
            shape_order = float(shapes.value(shape, SH.order) or 0)
            for rule in shapes.objects(shape, SH.rule):
                derivations.append(Derivation(
                    (shape_order, float(shapes.value(rule, SH.order) or 0)),
                    _with_prefixes(shapes, rule, str(shapes.value(rule, SH.construct)))))
            constraints = tuple(
                Constraint(_with_prefixes(shapes, c, str(shapes.value(c, SH.select))),
                           str(shapes.value(c, SH.message) or ""))
                for c in shapes.objects(shape, SH.sparql)
            )
            if not constraints:
                continue
            if not isinstance(shape, URIRef):
                raise ValueError("every rule shape must be named by an IRI")
            rule_id = shapes.value(shape, PV.ruleId)
            if rule_id is None:
                raise ValueError(f"shape {shape} has no pv:ruleId")
            source = shapes.value(shape, DCT.source)
            rules.append(Rule(
                iri=str(shape), rule_id=str(rule_id),
                severity=Severity.from_shacl(shapes.value(shape, SH.severity) or SH.Violation),
                source=str(source) if source is not None else None,
                description=" ".join(str(shapes.value(shape, RDFS.comment) or "").split()),
                targets=targets, constraints=constraints))
        derivations.sort(key=lambda d: d.order)
        return cls(tuple(rules), tuple(derivations))


def _with_prefixes(shapes: Graph, node, query: str) -> str:
    declarations = []
    for prefixes in shapes.objects(node, SH.prefixes):
        for declaration in shapes.objects(prefixes, SH.declare):
            prefix = shapes.value(declaration, SH.prefix)
            namespace = shapes.value(declaration, SH.namespace)
            declarations.append(f"PREFIX {prefix}: <{namespace}>")
    return "\n".join(sorted(set(declarations))) + "\n" + query
