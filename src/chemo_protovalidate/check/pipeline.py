"""The pipeline every front door calls: read each file, run the rules on each order, place the findings,
and report each at the level the site set for its rule."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator

import pyoxigraph as ox

from chemo_protovalidate.check.engine import Engine, OxigraphEngine
from chemo_protovalidate.check.knowledge import KnowledgeBase, KnowledgeBaseError
from chemo_protovalidate.check.rules import Catalogue, CatalogueError, shapes_by_rule_id
from chemo_protovalidate.model.findings import (Administration, FileResult, Finding, OrderResult, RuleInfo, Severity,
                                                apply_severity_overrides, placed)
from chemo_protovalidate.model.terms import number, text
from chemo_protovalidate.model.vocabulary import PV
from chemo_protovalidate.read.documents import OrderInput, read_document
from chemo_protovalidate.read.fhir import FHIR_CONTRACT, fhir_rules
from chemo_protovalidate.read.jsonld import FORMAT_RULES, format_finding, order_too_large
from chemo_protovalidate.read.limits import MAX_ADMINISTRATIONS

CONTRACT_SOURCE = "https://w3id.org/protovalidate/kb/source-order-contract"


class Pipeline:
    """Loads the knowledge base and the rules once; checks any number of files, from any number of threads."""

    def __init__(self, kb: KnowledgeBase | None = None, engine: type = OxigraphEngine,
                 tolerance_percent: float | None = None, max_administrations: int = MAX_ADMINISTRATIONS,
                 administrations: bool = True, weight_change_percent: float | None = None,
                 levels: dict[str, str] | None = None, input_kind: str = "auto", fhir_map=None):
        self.kb = kb or KnowledgeBase.load(tolerance_percent=tolerance_percent,
                                           weight_change_percent=weight_change_percent)
        self.max_administrations = max_administrations
        self.levels = dict(levels or {})
        """Rule id -> the level a site reports it at (error, warning, info, or off to drop it)."""
        # Each order's administrations as a report draws them (html): they cost a map of the whole file
        # for their lines, and memory for every order of the run, so they are kept only when asked for.
        self.administrations = administrations
        try:
            self.catalogue = self.kb.catalogue
        except CatalogueError as error:  # shapes (a site's, say) the engines cannot evaluate: the tool's error, exit 2
            raise KnowledgeBaseError(f"cannot load the shapes: {error}") from error
        self.engine: Engine = engine(self.kb, self.catalogue)
        self.engine_batch = getattr(self.engine, "batch_size", 1)
        self.contract = self.kb.source(CONTRACT_SOURCE)
        self.fhir_contract = self.kb.source(FHIR_CONTRACT)
        self.input_kind = input_kind
        """How a JSON file is read: auto (by its top level), jsonld, fhir (docs/fhir.md section 1)."""
        self.fhir_map = fhir_map
        """The site's FHIR canonicals and codes (read.fhir.SiteMap), checked by settings.py."""

    def _reader_rules(self) -> list[RuleInfo]:
        """The readers' rules: the order format's (errors) and the FHIR reader's, at their contract levels."""
        rules = [RuleInfo(rule_id, Severity.ERROR, text, self.contract) for rule_id, text in FORMAT_RULES.items()]
        rules += [RuleInfo(rule_id, Severity(rule["level"]), rule["when"], self.fhir_contract)
                  for rule_id, rule in fhir_rules().items()]
        return rules

    def _cited(self, finding: Finding) -> Finding:
        """A reader's finding with the contract it enforces as its source."""
        return replace(finding, source=self.fhir_contract if finding.rule_id in fhir_rules() else self.contract)

    def rules(self) -> dict[str, RuleInfo]:
        """Every rule an order check applies: the readers' and the shapes'."""
        rules = {rule.rule_id: rule for rule in self._reader_rules()}
        rules.update(rule_infos(self.kb, self.catalogue))
        return dict(sorted(rules.items()))

    def listing(self) -> list[RuleInfo]:
        """Every rule as --list-rules shows it: one entry per shape (a rule id naming two shapes, one per
        severity, gives two, highest severity first), and the readers' rules."""
        rules = self._reader_rules()
        rules += [RuleInfo(r.rule_id, r.severity, r.description, self.kb.source(r.source), r.iri)
                  for r in self.catalogue.rules]
        return sorted(rules, key=lambda r: (r.rule_id, -r.severity.rank))

    def check(self, name: str, data: bytes, arrival_time: str | None = None) -> FileResult:
        """One document's result. ``arrival_time`` (the service's): the reference time of a FHIR order without
        authoredOn (docs/cds-hooks.md 4.2)."""
        return next(self.check_files([(name, data, arrival_time)]))

    def check_files(self, files: Iterable[tuple[str, bytes] | tuple[str, bytes, str | None] | FileResult]
                    ) -> Iterator[FileResult]:
        """Each file's result, in the order given, as soon as it is complete. A file given as (name, bytes,
        arrival time) has the reference time of its FHIR orders without authoredOn (the service's calls,
        checked together: docs/cds-hooks.md 4.2).

        The engine checks orders many at a time, across files: its queries cost as much to parse
        as to run on one order. A file given as a FileResult (one that could not be read) passes
        through in its place. At most one batch of orders is held at a time.
        """
        for result in self._check_files(files):
            yield apply_severity_overrides(result, self.levels)

    def _check_files(self, files: Iterable) -> Iterator[FileResult]:
        waiting: deque[_Pending] = deque()
        batch: list[tuple[_Pending, OrderInput]] = []
        for item in files:
            if isinstance(item, FileResult):
                waiting.append(_Pending(item, read=True))
                yield from _finished(waiting)
                continue
            name, data, *arrival = item
            entry = _Pending(FileResult(name))
            waiting.append(entry)
            try:
                document = read_document(name, data, self.kb.context, self.max_administrations, self.input_kind,
                                         self.fhir_map, *arrival)
                for order in document.orders:
                    if self._too_large(order, entry.result):
                        continue
                    entry.unchecked += 1
                    batch.append((entry, order))
                    if len(batch) >= self.engine_batch:
                        self._check_orders(batch)
                        batch = []
                        yield from _finished(waiting)
                entry.result.findings += [self._cited(f) for f in document.findings]
                entry.unchecked_orders = [OrderResult(label, checked=False, fhir=summary)
                                          for label, summary in document.unchecked]
            except RecursionError:
                # Nesting deep enough to exhaust the stack in any reader (ours, rdflib's) is not an order.
                entry.result = FileResult(name, findings=[replace(
                    format_finding("not-json", "the document is nested too deeply to be an order"),
                    source=self.contract)])
            entry.read = True
            yield from _finished(waiting)
        self._check_orders(batch)
        yield from _finished(waiting)

    def _too_large(self, order: OrderInput, result: FileResult) -> bool:
        administrations = len(set(order.objects(order.root, PV.administration)))
        if administrations <= self.max_administrations:
            return False
        # An RDF order (JSON-LD ones were counted before conversion, in jsonld.py).
        result.findings.append(replace(order_too_large(order.label, administrations, self.max_administrations),
                                       source=self.contract))
        return True

    def _check_orders(self, batch: list[tuple["_Pending", OrderInput]]) -> None:
        for (entry, order), found in zip(batch, self.engine.check_many([order.triples for _, order in batch])):
            findings = []
            for finding in found:
                finding = _with_its_only_day(finding, order)
                findings.append(placed(finding, order.locate(finding)))
            findings.sort(key=_reading_order)
            entry.result.orders.append(OrderResult(
                label=order.label,
                regimen=_literal_text(order.value(order.root, PV.regimen)),
                cycle=_whole(order.value(order.root, PV.cycle)),
                findings=findings,
                administrations=_administrations(order) if self.administrations else [], fhir=order.fhir))
            entry.unchecked -= 1


@dataclass
class _Pending:
    """A file's result while its orders wait for the engine."""

    result: FileResult
    read: bool = False
    unchecked: int = 0
    unchecked_orders: list[OrderResult] = field(default_factory=list)
    """FHIR orders that could not be read: reported after the file's checked orders."""


def _finished(waiting: deque[_Pending]) -> Iterator[FileResult]:
    """The results at the front that are complete, in file order."""
    while waiting and waiting[0].read and waiting[0].unchecked == 0:
        done = waiting.popleft()
        result = done.result
        result.orders += done.unchecked_orders
        result.findings.sort(key=_reading_order)
        yield result


def rule_infos(kb: KnowledgeBase, catalogue: Catalogue) -> dict[str, RuleInfo]:
    """The catalogue by rule id. An id that names several shapes (one per severity, rules.py) is one entry:
    its highest severity is its default, its description and source are that shape's, and it lists them all."""
    infos = {}
    for rule_id, shapes in shapes_by_rule_id(catalogue.rules).items():
        top = shapes[0]
        infos[rule_id] = RuleInfo(rule_id, top.severity, top.description, kb.source(top.source), top.iri,
                                  tuple(r.severity for r in shapes) if len(shapes) > 1 else ())
    return infos


def _with_its_only_day(finding: Finding, order: OrderInput) -> Finding:
    """A finding about an administration given on one day names that day (a dose amount, say, whose rule
    speaks of the administration, not of a day): the pharmacist looks for the day in the order."""
    if finding.day is not None or not finding.focus:
        return finding
    try:
        node = ox.BlankNode(finding.focus[2:]) if finding.focus.startswith("_:") else ox.NamedNode(finding.focus)
    except ValueError:      # a focus that is no node of the order (a literal's text)
        return finding
    if node not in order.objects(order.root, PV.administration):
        return finding
    days = {_whole(day) for day in order.objects(node, PV.day)}
    return replace(finding, day=days.pop()) if len(days) == 1 and None not in days else finding


def _administrations(order: OrderInput) -> list[Administration]:
    shown = []
    for node in order.objects(order.root, PV.administration):
        days = sorted(d for d in (_whole(day) for day in order.objects(node, PV.day)) if d is not None)
        position = order.locate(Finding(rule_id="", severity=Severity.INFO, message="", focus=text(node)))
        shown.append(Administration(
            agent=text(order.value(node, PV.agent)) or "?", route=text(order.value(node, PV.route)),
            days=tuple(days), dose_level=_quantity(order, order.value(node, PV.doseLevel)),
            dose=_quantity(order, order.value(node, PV.dose)), line=position[0] if position else None))
    return sorted(shown, key=lambda a: (a.line or 0, a.agent, a.days, a.route or "", a.dose_level or "", a.dose or ""))


def _quantity(order: OrderInput, node) -> str | None:
    if node is None:
        return None
    value, unit = order.value(node, PV.value), order.value(node, PV.unit)
    amount = number(value)
    shown = f"{amount:g}" if amount is not None else _plain(value)
    return f"{shown} {_plain(unit)}" if unit is not None else shown


def _reading_order(finding: Finding):
    return (finding.line or 0, finding.column or 0, finding.agent or "", finding.day or 0, finding.rule_id, finding.message,
            finding.value or "", finding.key or "", finding.focus or "")


def _literal_text(term) -> str | None:
    """A regimen as the order title shows it: only as the string an order names (a node has no name)."""
    return term.value if isinstance(term, ox.Literal) else None


def _plain(term) -> str | None:
    """A term as its lexical form or IRI (a blank node as _:label)."""
    return text(term) if not isinstance(term, ox.Literal) else term.value


def _whole(term) -> int | None:
    value = number(term)
    return int(value) if value is not None and float(value).is_integer() else None
