"""The Python front door: check orders in-process, as an order-entry system written in Python does.

    import chemo_protovalidate as pv
    checker = pv.Checker()                       # the knowledge base is loaded once, here
    result = checker.check(order)                # a dict, str or bytes (JSON-LD or RDF), or a Path
    if not result.conforms:
        for f in result.findings: print(f.rule_id, f.severity, f.agent, f.cycle, f.day, f.message)

docs/python-api.md is its reference. Like the command, it never opens a socket and never raises on a bad
order: a malformed order is findings, as it is for the command.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from chemo_protovalidate.check.pipeline import Pipeline
from chemo_protovalidate.check.runner import STDIN, read_file
from chemo_protovalidate.model.findings import FileResult, Finding, KnowledgeBaseVersion, OrderResult, RuleInfo, Severity
from chemo_protovalidate.read.jsonld import format_finding
from chemo_protovalidate.read.limits import MAX_ADMINISTRATIONS, MAX_BYTES
from chemo_protovalidate.report import json_report
from chemo_protovalidate.report.common import Report
from chemo_protovalidate.settings import Settings, load_settings, open_pipeline, settings_from

Order = Mapping[str, Any] | list | str | bytes | bytearray | os.PathLike
"""What check() takes: parsed JSON (a dict, or a list of orders), a document's text or bytes, or a file."""

_UNNAMED = "<order>"


@dataclass(frozen=True)
class Result:
    """What one document gave: its findings and whether they fail it."""

    name: str
    """The document as findings and reports name it: the file, or the name given to check()."""
    fail_on: Severity
    _file: FileResult
    _rules: dict[str, RuleInfo]
    _knowledge_base: KnowledgeBaseVersion | None

    @property
    def conforms(self) -> bool:
        """No finding at or above the failing severity (information never fails)."""
        return self._file.conforms(self.fail_on)

    @property
    def findings(self) -> list[Finding]:
        """Every finding: the document's own (it is not JSON, say), then each order's, in reading order;
        a finding on several days is one per day, as in the JSON report."""
        return self._file.all_findings()

    @property
    def orders(self) -> list[OrderResult]:
        """Each order of the document: its label (@id), regimen, cycle and findings."""
        return list(self._file.orders)

    def to_json(self) -> str:
        """The JSON report of docs/report-format.md for this one document."""
        return json_report.render(self._report())

    def _report(self) -> Report:
        return Report([self._file], self.fail_on, self._rules, knowledge_base=self._knowledge_base)


class Checker:
    """Checks orders against the knowledge base it loads once; safe to share between threads.

    Settings mean what they mean to the command (docs/order-format.md): ``regimens`` are folders of site
    regimen templates; ``tolerance`` and ``weight_change_threshold`` are percentages; ``rules`` maps rule
    ids to the level they are reported at (error, warning, info, or off); ``fail_on`` is error or warning;
    ``input`` is auto, jsonld or fhir (docs/fhir.md: a FHIR R4 document or CDS Hooks body is read by its
    top level); ``fhir_map`` is the site's FHIR map, the tables of [tool.protovalidate.fhir].
    A setting the command would refuse is refused here, with its words (ConfigError); a site regimen the
    knowledge base refuses raises KnowledgeBaseError.
    """

    def __init__(self, *, regimens: Iterable[str | os.PathLike] = (), tolerance: float | None = None,
                 weight_change_threshold: float | None = None, rules: Mapping[str, str] | None = None,
                 fail_on: str = "error", input: str = "auto", fhir_map: Mapping[str, Any] | None = None,
                 max_bytes: int = MAX_BYTES,
                 max_administrations: int = MAX_ADMINISTRATIONS, _settings: Settings | None = None):
        if _settings is None:
            table = {"regimens": [str(Path(r)) for r in regimens], "rules": dict(rules or {}), "fail-on": fail_on,
                     "input": input, **({"fhir": dict(fhir_map)} if fhir_map else {}),
                     **({"tolerance": tolerance} if tolerance is not None else {}),
                     **({"weight-change-threshold": weight_change_threshold}
                        if weight_change_threshold is not None else {})}
            _settings = settings_from(table, where="Checker")
        self._settings = _settings
        self._max_bytes = max_bytes
        self.fail_on = Severity(_settings.fail_on or "error")
        self._pipeline: Pipeline = open_pipeline(_settings, max_administrations=max_administrations,
                                                 administrations=False)
        self._rules = self._pipeline.rules()

    @classmethod
    def from_pyproject(cls, start: str | os.PathLike | None = None, **options) -> "Checker":
        """A checker with the settings the command would use: `[tool.protovalidate]` of the nearest
        pyproject.toml from ``start`` (a folder; the working directory by default). ``options``
        (max_bytes, max_administrations) as for Checker()."""
        return cls(_settings=load_settings(Path(start) if start is not None else None), **options)

    @property
    def knowledge_base(self) -> KnowledgeBaseVersion:
        """The rule book version and release that judge the orders (every report names them)."""
        return self._pipeline.kb.version

    @property
    def rule_ids(self) -> list[str]:
        """Every rule a check applies, the readers' and the shapes'."""
        return list(self._rules)

    def check(self, order: Order, name: str | None = None) -> Result:
        """The findings of one document (one order, or several in a @graph or list)."""
        return self.check_many([order], [name] if name is not None else None)[0]

    def check_many(self, orders: Iterable[Order], names: Iterable[str] | None = None) -> list[Result]:
        """The result of each document, in the order given: faster than check() one by one, as the
        engine checks many orders per query."""
        items = [self._as_input(order, name) for order, name in
                 zip(orders, names if names is not None else _unnamed())]
        # What this door finds itself (not JSON, too large) cites the order contract, as the readers' findings do.
        items = [replace(item, findings=[replace(f, source=f.source or self._pipeline.contract) for f in item.findings])
                 if isinstance(item, FileResult) else item for item in items]
        return [Result(file.path, self.fail_on, file, self._rules, self.knowledge_base)
                for file in self._pipeline.check_files(items)]

    def _as_input(self, order: Order, name: str | None) -> tuple[str, bytes] | FileResult:
        """What the pipeline reads: a name (whose suffix picks the syntax; none: JSON when it starts like
        JSON, else Turtle) and the bytes."""
        if isinstance(order, os.PathLike):
            path = os.fspath(order)
            read = read_file(path if path != STDIN else f".{os.sep}{path}", None, self._max_bytes)  # a file named -
            if isinstance(read, FileResult) and read.tool_error:
                raise OSError(f"{os.fspath(order)}: {read.tool_error}")
            return read if name is None or isinstance(read, FileResult) else (name, read[1])
        if isinstance(order, (Mapping, list)):
            shown = name or f"{_UNNAMED}.jsonld"
            try:
                data = json.dumps(order).encode("utf-8")
            except (TypeError, ValueError) as error:  # a value JSON has no form for: a finding, as for a file
                return FileResult(shown, findings=[format_finding("not-json", f"the order is not JSON: {error}")])
        elif isinstance(order, str):
            shown, data = name or _UNNAMED, order.encode("utf-8")
        elif isinstance(order, (bytes, bytearray)):
            shown, data = name or _UNNAMED, bytes(order)
        else:
            raise TypeError(f"Checker.check takes a dict (parsed JSON), a str or bytes (JSON-LD or RDF) or a "
                            f"Path, not {type(order).__name__}")
        if len(data) > self._max_bytes:
            return FileResult(shown, findings=[format_finding(
                "file-too-large", f"the order is larger than {self._max_bytes} bytes (max_bytes): not read")])
        return shown, data


def _unnamed():
    while True:
        yield None
