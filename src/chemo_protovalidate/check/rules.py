"""The rule catalogue: what the shapes graph says, read once into plain objects.

Each rule is a named SHACL shape with a stable id, a severity, a source and
one or more SHACL-SPARQL constraints; derivations are SHACL-AF SPARQL rules.
Engines execute these; nothing here knows any clinical fact.

The engines implement a part of SHACL: node shapes with SHACL-SPARQL
constraints (sh:sparql/sh:select), the four core targets and implicit class
targets, sh:severity, sh:deactivated, and SHACL-AF SPARQL rules. A shapes
graph that uses anything else (property shapes, core constraint components,
SPARQL-based constraint components, $shapesGraph, ...) is refused with a
CatalogueError that names the shape and the feature: a shape is never
silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection

from chemo_protovalidate.model.vocabulary import DCT, PV, SH
from chemo_protovalidate.model.findings import Severity


class CatalogueError(ValueError):
    """The shapes use a SHACL feature the engines do not implement, or are ill-formed for what they do."""


@dataclass(frozen=True)
class Targets:
    classes: tuple[str, ...] = ()
    subjects_of: tuple[str, ...] = ()
    objects_of: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    """sh:targetNode values, as SPARQL terms (<iri>, "literal"^^<datatype>)."""

    def sparql(self) -> str | None:
        """A SELECT of every focus node the class and property targets name (None: there are none)."""
        patterns = [f"{{ ?this a/<{RDFS.subClassOf}>* <{c}> }}" for c in self.classes]
        patterns += [f"{{ ?this <{p}> ?o }}" for p in self.subjects_of]
        patterns += [f"{{ ?s <{p}> ?this }}" for p in self.objects_of]
        return "SELECT DISTINCT ?this WHERE { " + " UNION ".join(patterns) + " }" if patterns else None

    def node_sparql(self) -> str | None:
        """A SELECT of the sh:targetNode values (None: there are none)."""
        return f"SELECT ?this WHERE {{ VALUES ?this {{ {' '.join(self.nodes)} }} }}" if self.nodes else None


@dataclass(frozen=True)
class Constraint:
    select: str
    """The SELECT query, prefixes included."""
    message: str


@dataclass(frozen=True)
class Rule:
    iri: str
    """The shape: its IRI (or _:label for a blank node)."""
    rule_id: str
    """pv:ruleId; for a shape without one, the shape's IRI."""
    severity: Severity
    source: str | None
    description: str
    targets: Targets
    constraints: tuple[Constraint, ...]
    prebound: bool = False
    """Evaluate by SHACL's definition: once per focus node, $this pre-bound. A shape with a pv:ruleId
    promises the house rule (shapes/derivations.ttl), and its queries run once with $this free."""


@dataclass(frozen=True)
class Derivation:
    order: tuple[float, float]
    """(shape's sh:order, rule's sh:order): the order pyshacl applies them in."""
    construct: str


# What the engine implements, by the node it is said of. Any other sh: property is refused.
_SHAPE = frozenset({SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.sparql, SH.severity,
                    SH.rule, SH.order, SH.deactivated, SH.message, SH.name, SH.description, SH.group, SH.declare})
_CONSTRAINT = frozenset({SH.select, SH.message, SH.prefixes, SH.deactivated})
_SPARQL_RULE = frozenset({SH.construct, SH.order, SH.prefixes, SH.deactivated})
_CORE_PARAMETERS = tuple(SH[name] for name in (
    "class", "datatype", "nodeKind", "minCount", "maxCount", "minExclusive", "minInclusive", "maxExclusive",
    "maxInclusive", "minLength", "maxLength", "pattern", "languageIn", "uniqueLang", "equals", "disjoint",
    "lessThan", "lessThanOrEquals", "not", "and", "or", "xone", "node", "property", "qualifiedValueShape",
    "closed", "hasValue", "in", "path", "target", "expression"))
_SHAPE_VALUED = (SH.property, SH.node, SH["not"], SH.qualifiedValueShape)
_SHAPE_LISTS = (SH["and"], SH["or"], SH.xone)
_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
_UNSUPPORTED_VARIABLES = re.compile(r"[?$](shapesGraph|currentShape|PATH|failure)\b")


@dataclass(frozen=True)
class Catalogue:
    rules: tuple[Rule, ...]
    derivations: tuple[Derivation, ...]

    def rule(self, iri: str) -> Rule:
        return next(r for r in self.rules if r.iri == iri)

    @classmethod
    def from_shapes(cls, shapes: Graph) -> "Catalogue":
        """The catalogue of a shapes graph; CatalogueError for a feature the engines do not implement."""
        _refuse_graph_features(shapes)
        components = _components(shapes)
        rules, derivations = [], []
        found = _shapes(shapes)
        for shape in sorted(found, key=lambda node: (isinstance(node, BNode), _name(node))):
            if _only_under_deactivated(shapes, shape, found):
                continue
            try:
                rule = _read_shape(shapes, shape, components, derivations)
            except CatalogueError as error:
                holder = next(((p, s) for s, p in shapes.subject_predicates(shape)), None)
                if isinstance(shape, BNode) and holder is not None:  # a blank node's label says nothing
                    raise CatalogueError(f"{error} [{_name(shape)} is the {_short(holder[0])} of "
                                         f"{_name(holder[1])}]") from error
                raise
            if rule is not None:
                rules.append(rule)
        _check_rule_ids(rules)
        # Within one sh:order the text decides, so that every run derives in the same sequence.
        derivations.sort(key=lambda d: (d.order, d.construct))
        return cls(tuple(rules), tuple(derivations))


def shapes_by_rule_id(rules) -> dict[str, list[Rule]]:
    """The rules grouped by rule id, highest severity first (an id names one shape, or one per severity)."""
    by_id: dict[str, list[Rule]] = {}
    for rule in rules:  # ids keep the catalogue's order; only each id's shapes are sorted
        by_id.setdefault(rule.rule_id, []).append(rule)
    return {rule_id: sorted(shapes, key=lambda r: -r.severity.rank) for rule_id, shapes in by_id.items()}


def _check_rule_ids(rules: list[Rule]) -> None:
    """One rule id may name several shapes only when each reports at a severity of its own.

    (Rule book 6.5: antiviral-prophylaxis-missing is a warning with daratumumab, information otherwise.)
    Two shapes of one id at one severity would be one rule written twice, or two rules sharing a name.
    """
    for rule_id, shapes in sorted(shapes_by_rule_id(rules).items()):
        severities = [r.severity for r in shapes]
        if len(set(severities)) < len(severities):
            twice = next(s for s in severities if severities.count(s) > 1)
            names = ", ".join(r.iri for r in shapes if r.severity is twice)
            raise CatalogueError(f"rule id {rule_id} names more than one shape at severity {twice.value} ({names}): "
                                 "shapes may share a rule id only when each has a severity of its own")


def _read_shape(shapes: Graph, shape, components: dict, derivations: list) -> "Rule | None":
    """A shape's rule (None if it has no constraint to check); its derivations are added to ``derivations``."""
    if _deactivated(shapes, shape):
        return None  # SHACL: a deactivated shape is ignored, whatever it holds
    _check_shape(shapes, shape, components)
    targets = _targets(shapes, shape)
    shape_order = float(shapes.value(shape, SH.order) or 0)
    for rule in shapes.objects(shape, SH.rule):
        _check_node(shapes, rule, _SPARQL_RULE, f"sh:rule {_name(rule)} of shape {_name(shape)}")
        if set(shapes.objects(rule, RDF.type)) != {SH.SPARQLRule}:
            raise _refused(shape, "a sh:rule that is not (only) a sh:SPARQLRule")
        if _deactivated(shapes, rule):
            continue
        derivations.append(Derivation(
            (shape_order, float(shapes.value(rule, SH.order) or 0)),
            _with_prefixes(shapes, rule, _single(shapes, rule, SH.construct, shape))))
    constraints = []
    for c in shapes.objects(shape, SH.sparql):
        _check_node(shapes, c, _CONSTRAINT | (_SHAPE if c == shape else frozenset()),
                    f"the SPARQL constraint {_name(c)} of shape {_name(shape)}")
        if _deactivated(shapes, c):
            continue
        messages = list(shapes.objects(c, SH.message))
        if len(messages) > 1:
            raise _refused(shape, "several sh:message values for one constraint")
        constraints.append(Constraint(_with_prefixes(shapes, c, _single(shapes, c, SH.select, shape)),
                                      str(messages[0]) if messages else ""))
    if not constraints:
        return None
    rule_id = shapes.value(shape, PV.ruleId)
    if rule_id is not None and not isinstance(shape, URIRef):
        raise CatalogueError(f"shape {_name(shape)}: a shape with a pv:ruleId must be named by an IRI")
    for constraint in constraints if rule_id is None else ():
        problem = prebinding_problem(constraint.select)
        if problem:
            raise _refused(shape, f"{problem} (SHACL 5.2.1: not allowed where $this is pre-bound)")
    severities = list(shapes.objects(shape, SH.severity))
    if len(severities) > 1:
        raise _refused(shape, "several sh:severity values")
    source = shapes.value(shape, DCT.source)
    return Rule(
        iri=_name(shape), rule_id=str(rule_id) if rule_id is not None else _name(shape),
        severity=Severity.from_shacl(severities[0] if severities else SH.Violation),
        source=str(source) if source is not None else None,
        description=" ".join(str(shapes.value(shape, RDFS.comment) or "").split()),
        targets=targets, constraints=tuple(constraints), prebound=rule_id is None)


def _only_under_deactivated(g: Graph, shape, found: set) -> bool:
    """A shape with no target of its own that only deactivated shapes hold (sh:property, sh:node, ...) is never used."""
    if any((shape, p, None) in g for p in _TARGETS + (SH.target,)):
        return False
    holders = [s for p in _SHAPE_VALUED for s in g.subjects(p, shape)]
    return bool(holders) and all(h in found and _deactivated(g, h) for h in holders)


def _name(node) -> str:
    return f"_:{node}" if isinstance(node, BNode) else str(node)


def _short(iri) -> str:
    return "sh:" + iri[len(str(SH)):] if str(iri).startswith(str(SH)) else f"<{iri}>"


def _refused(shape, feature: str) -> CatalogueError:
    return CatalogueError(f"shape {_name(shape)} uses {feature}, which this engine does not implement "
                          "(it never ignores a shape it cannot evaluate)")


def _shapes(g: Graph) -> set:
    """Every node SHACL would take for a shape: typed, targeted, constrained, or the value of a shape property."""
    found = set()
    for kind in (SH.NodeShape, SH.PropertyShape):
        found.update(g.subjects(RDF.type, kind))
    for predicate in _TARGETS + (SH.sparql, SH.rule) + _CORE_PARAMETERS:
        found.update(g.subjects(predicate, None))
    for predicate in _SHAPE_VALUED:
        found.update(o for o in g.objects(None, predicate) if not isinstance(o, Literal))
    for predicate in _SHAPE_LISTS:
        for head in g.objects(None, predicate):
            found.update(Collection(g, head))
    return found - set(g.objects(None, SH.parameter))  # a parameter has an sh:path too


def _check_shape(g: Graph, shape, components: dict) -> None:
    if SH.PropertyShape in set(g.objects(shape, RDF.type)):
        raise _refused(shape, "sh:PropertyShape (property shapes)")
    is_constraint = (None, SH.sparql, shape) in g
    _check_node(g, shape, _SHAPE | (_CONSTRAINT if is_constraint else frozenset()), f"shape {_name(shape)}")
    for component, (mandatory, everything) in sorted(components.items(), key=lambda item: _name(item[0])):
        if mandatory and all((shape, p, None) in g for p in mandatory):
            raise _refused(shape, f"the SPARQL-based constraint component {_name(component)}")
        if not mandatory and any((shape, p, None) in g for p in everything):
            raise _refused(shape, f"the SPARQL-based constraint component {_name(component)}")


def _check_node(g: Graph, node, allowed: frozenset, what: str) -> None:
    for predicate in sorted(set(g.predicates(node, None))):
        if str(predicate).startswith(str(SH)) and predicate not in allowed:
            raise CatalogueError(f"{what} uses {_short(predicate)}, which this engine does not implement "
                                 "(it never ignores a shape it cannot evaluate)")


def _components(g: Graph) -> dict:
    """SPARQL-based constraint components declared in the shapes graph: {component: (mandatory, all parameter paths)}."""
    classes = set(g.transitive_subjects(RDFS.subClassOf, SH.ConstraintComponent))
    found = {c for kind in classes for c in g.subjects(RDF.type, kind)} | set(g.subjects(SH.parameter, None))
    components = {}
    for component in found:
        parameters = list(g.objects(component, SH.parameter))
        paths = [g.value(p, SH.path) for p in parameters]
        mandatory = [g.value(p, SH.path) for p in parameters if not _true(g.value(p, SH.optional))]
        components[component] = ([p for p in mandatory if p is not None], [p for p in paths if p is not None])
    return components


def _refuse_graph_features(g: Graph) -> None:
    for kind in (SH.SPARQLFunction, SH.Function, SH.JSFunction):
        node = next(iter(g.subjects(RDF.type, kind)), None)
        if node is not None:
            raise CatalogueError(f"the shapes declare {_name(node)}, a {_short(kind)}, which this engine does not "
                                 "implement")
    if (None, SH.entailment, None) in g:
        raise CatalogueError("the shapes graph asks for sh:entailment, which this engine does not implement")


def _targets(g: Graph, shape) -> Targets:
    classes = {str(c) for c in g.objects(shape, SH.targetClass)}
    # An implicit class target: a shape that is also a class targets its instances (SHACL 2.1.3.3).
    if isinstance(shape, URIRef) and {RDFS.Class, OWL.Class} & set(g.objects(shape, RDF.type)):
        classes.add(str(shape))
    nodes = []
    for node in g.objects(shape, SH.targetNode):
        if isinstance(node, BNode):
            raise _refused(shape, "a blank node as sh:targetNode")
        nodes.append(node.n3())
    return Targets(
        classes=tuple(sorted(classes)),
        subjects_of=tuple(sorted(str(p) for p in g.objects(shape, SH.targetSubjectsOf))),
        objects_of=tuple(sorted(str(p) for p in g.objects(shape, SH.targetObjectsOf))),
        nodes=tuple(sorted(nodes)))


def _true(value) -> bool:
    return isinstance(value, Literal) and value.value is True


def _deactivated(g: Graph, node) -> bool:
    values = list(g.objects(node, SH.deactivated))
    if not values:
        return False
    if len(values) > 1 or not (isinstance(values[0], Literal) and isinstance(values[0].value, bool)):
        raise CatalogueError(f"{_name(node)}: sh:deactivated must be one boolean, not {', '.join(map(str, values))}")
    return values[0].value


def _single(g: Graph, node, predicate, shape) -> str:
    values = list(g.objects(node, predicate))
    if len(values) != 1 or not isinstance(values[0], Literal):
        raise CatalogueError(f"shape {_name(shape)}: {_name(node)} must have exactly one {_short(predicate)} "
                             f"string, not {len(values)}")
    query = str(values[0])
    unsupported = _UNSUPPORTED_VARIABLES.search(query)
    if unsupported:
        raise _refused(shape, f"${unsupported.group(1)} in a query")
    return query


def _with_prefixes(shapes: Graph, node, query: str) -> str:
    """The query with its prefixes: sh:prefixes/owl:imports*/sh:declare (SHACL 5.2.1)."""
    holders, seen = list(shapes.objects(node, SH.prefixes)), set()
    declared: dict[str, str] = {}
    while holders:
        holder = holders.pop()
        if holder in seen:
            continue
        seen.add(holder)
        holders.extend(shapes.objects(holder, OWL.imports))
        for declaration in shapes.objects(holder, SH.declare):
            prefix = str(shapes.value(declaration, SH.prefix))
            namespace = str(shapes.value(declaration, SH.namespace))
            if declared.setdefault(prefix, namespace) != namespace:
                raise CatalogueError(f"{_name(node)}: prefix {prefix!r} is declared as both <{declared[prefix]}> "
                                     f"and <{namespace}>")
    declarations = [f"PREFIX {prefix}: <{namespace}>" for prefix, namespace in sorted(declared.items())]
    return "\n".join(declarations) + "\n" + query


_THIS = "this"


def prebinding_problem(query: str) -> str | None:
    """What in a SELECT query SHACL forbids where $this is pre-bound (5.2.1), or None.

    MINUS, SERVICE, VALUES; $this bound with AS; a nested SELECT that does not project $this;
    and a query that does not project $this at all.
    """
    from pyparsing import ParseResults
    from rdflib.plugins.sparql import parser
    from rdflib.plugins.sparql.parserutils import CompValue
    from rdflib.term import Variable

    try:
        tree = parser.parseQuery(query)[1]
    except Exception as error:
        return f"a query that does not parse ({error})"
    if tree.name != "SelectQuery":
        return f"a {tree.name} where a SELECT query is expected"
    this = Variable(_THIS)

    def field(node, key):  # (CompValue.get answers the key itself for a missing field)
        return dict.get(node, key)

    def walk(node):
        if isinstance(node, CompValue):
            yield node
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, (list, tuple, ParseResults)):
            for value in node:
                yield from walk(value)

    def in_scope(node) -> set:
        """The variables a group pattern binds (SPARQL 18.2.1): not those only a FILTER reads."""
        found = set()
        if isinstance(node, Variable):
            found.add(node)
        elif isinstance(node, CompValue):
            if node.name in ("Filter", "MinusGraphPattern"):
                return found
            if node.name == "SubSelect":
                return projected(node)
            if node.name == "Bind":
                return {field(node, "var")}
            for value in node.values():
                found |= in_scope(value)
        elif isinstance(node, (list, tuple, ParseResults)):
            for value in node:
                found |= in_scope(value)
        return found

    def projected(select) -> set:
        if not field(select, "projection"):
            return in_scope(field(select, "where"))
        return {field(v, "var") or field(v, "evar") for v in select["projection"]}

    if this not in projected(tree):
        return "a SELECT that does not project $this"
    for node in walk(tree):
        if node.name == "MinusGraphPattern":
            return "MINUS"
        if node.name == "ServiceGraphPattern":
            return "SERVICE"
        if node.name in ("InlineData", "ValuesClause"):
            return "VALUES"
        if (node.name == "Bind" and field(node, "var") == this) or (node.name == "vars" and field(node, "evar") == this):
            return "$this bound with AS"
        if node.name == "SubSelect" and this not in projected(node):
            return "a nested SELECT that does not project $this"
    return None
