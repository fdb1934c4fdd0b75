"""The regimens of the knowledge base as plain objects: for listing and calendars.

Checks never use this: they run on the shapes. This is the reading view a
person gets from `protovalidate regimens` and `protovalidate show`.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import RDF, RDFS, Graph, Literal
from rdflib.term import Node

from chemo_protovalidate.check.knowledge import KnowledgeBase
from chemo_protovalidate.model.findings import Source
from chemo_protovalidate.model.vocabulary import DCT, PV


@dataclass(frozen=True)
class Level:
    minimum: float
    maximum: float
    unit: str

    def __str__(self) -> str:
        low, high = (f"{v:g}" for v in (self.minimum, self.maximum))
        return f"{low} {self.unit}" if low == high else f"{low}-{high} {self.unit}"


@dataclass(frozen=True)
class Dosing:
    iri: str
    label: str
    from_cycle: int
    to_cycle: int | None
    days: tuple[int, ...]
    routes: tuple[str, ...]
    level: Level | None
    source: Source | None
    condition: str | None
    """When the dosing applies beyond its cycles, e.g. a creatinine-clearance band."""
    min_days_between_doses: int | None = None
    min_infusion_minutes: float | None = None
    """The shortest infusion the dosing allows (pv:minInfusionMinutes), if it sets one."""

    def applies_to(self, cycle: int) -> bool:
        return self.from_cycle <= cycle and (self.to_cycle is None or cycle <= self.to_cycle)


@dataclass(frozen=True)
class Component:
    agent: str
    dosings: tuple[Dosing, ...]


@dataclass(frozen=True)
class Regimen:
    iri: str
    identifier: str
    label: str
    setting: str | None
    cycle_length: int
    components: tuple[Component, ...]
    sources: tuple[Source, ...]
    induction_cycles: int | None = None

    def cycle_ranges(self) -> list[tuple[int, int | None]]:
        """Consecutive cycle ranges within which every dosing either applies or does not."""
        starts = {1} | {d.from_cycle for c in self.components for d in c.dosings}
        starts |= {d.to_cycle + 1 for c in self.components for d in c.dosings if d.to_cycle is not None}
        ordered = sorted(starts)
        return [(start, ordered[i + 1] - 1 if i + 1 < len(ordered) else None) for i, start in enumerate(ordered)]


def regimens(kb: KnowledgeBase) -> list[Regimen]:
    graph = kb.graph
    return sorted((_regimen(kb, graph, node) for node in set(graph.subjects(RDF.type, PV.Regimen))),
                  key=lambda r: r.identifier)


def find(kb: KnowledgeBase, identifier: str) -> Regimen | None:
    return next((r for r in regimens(kb) if r.identifier == identifier), None)


def _regimen(kb: KnowledgeBase, graph: Graph, node: Node) -> Regimen:
    components = []
    for component in graph.objects(node, PV.component):
        agent = graph.value(component, PV.componentAgent)
        dosings = sorted((_dosing(kb, graph, d) for d in graph.objects(component, PV.dosing)),
                         key=lambda d: (d.from_cycle, d.days[:1], d.label))
        components.append(Component(_text(graph.value(agent, PV.identifier)) or str(agent), tuple(dosings)))
    return Regimen(
        iri=str(node),
        identifier=_text(graph.value(node, PV.identifier)) or str(node),
        label=_text(graph.value(node, RDFS.label)) or "",
        setting=_text(graph.value(node, PV.setting)),
        cycle_length=int(graph.value(node, PV.cycleLength) or 28),
        components=tuple(sorted(components, key=lambda c: _AGENT_ORDER.get(c.agent, 9))),
        sources=tuple(sorted((kb.source(str(s)) for s in graph.objects(node, DCT.source)), key=lambda s: s.label)),
        induction_cycles=_whole(graph.value(node, PV.inductionCycles)),
    )


# Calendars list carfilzomib first, then partners in the order the rule book names them.
_AGENT_ORDER = {"carfilzomib": 0, "daratumumab": 1, "isatuximab": 2, "lenalidomide": 3, "cyclophosphamide": 4,
                "dexamethasone": 5}


def _dosing(kb: KnowledgeBase, graph: Graph, node: Node) -> Dosing:
    level_node = graph.value(node, PV.level)
    level = None
    if level_node is not None and graph.value(level_node, PV.minValue) is not None:
        level = Level(float(graph.value(level_node, PV.minValue)), float(graph.value(level_node, PV.maxValue)),
                      _text(graph.value(level_node, PV.unit)) or "?")
    clearance_from = graph.value(node, PV.minCreatinineClearance)
    clearance_below = graph.value(node, PV.creatinineClearanceBelow)
    condition = None
    if graph.value(node, PV.requiresDialysis) == Literal(True):
        condition = "on dialysis"
    elif clearance_below is not None:
        condition = f"CrCl {'%s to ' % clearance_from if clearance_from is not None else ''}under {clearance_below} mL/min"
    elif clearance_from is not None:
        condition = f"CrCl {clearance_from} mL/min or more, or not given"
    to_cycle = graph.value(node, PV.toCycle)
    source = graph.value(node, DCT.source)
    return Dosing(
        iri=str(node),
        label=_text(graph.value(node, RDFS.label)) or str(node),
        from_cycle=int(graph.value(node, PV.fromCycle) or 1),
        to_cycle=int(to_cycle) if to_cycle is not None else None,
        days=tuple(sorted(int(d) for d in graph.objects(node, PV.onDay))),
        routes=tuple(sorted(_text(graph.value(r, PV.identifier)) or str(r) for r in graph.objects(node, PV.allowedRoute))),
        level=level,
        source=kb.source(str(source)) if source is not None else None,
        condition=condition,
        min_days_between_doses=_whole(graph.value(node, PV.minDaysBetweenDoses)),
        min_infusion_minutes=_number(graph.value(node, PV.minInfusionMinutes)),
    )


def _whole(term) -> int | None:
    return int(term) if term is not None else None


def _number(term) -> float | None:
    return float(term) if term is not None else None


def _text(term) -> str | None:
    return str(term) if term is not None else None
