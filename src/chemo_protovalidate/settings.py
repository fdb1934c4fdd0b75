"""Settings, and the pipeline they configure, for every front door.

The command reads `[tool.protovalidate]` from the nearest pyproject.toml, found
by walking up from the working directory as ruff and other linters do; paths in
it are relative to that file, and command-line options win over it. The Python
API takes the same settings as arguments, checked by the same code, so that a
setting means the same whichever door it comes through.
"""

from __future__ import annotations

import difflib
import json
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chemo_protovalidate.check.pipeline import Pipeline

SEVERITIES = ("error", "warning", "info", "off")
FAIL_ON = ("error", "warning")
"""What may fail a run: information never does (rule book v2, C26), so `info` is no fail-on level."""
PERCENT_RANGE = (0, 50)
"""The range of the percentage settings (tolerance, weight-change-threshold), as the command line's."""

KEYS = {"tolerance", "weight-change-threshold", "fail-on", "format", "regimens", "exclude", "rules", "input", "fhir",
        "serve"}
INPUTS = ("auto", "jsonld", "fhir")
"""What a JSON file is read as: by its top level, always order format, always FHIR (docs/fhir.md)."""
FHIR_MAP_TABLES = {"regimens", "agents", "routes"}
FHIR_ROUTES = ("IV", "SC", "PO")


class ConfigError(Exception):
    """The configuration is unreadable or says something the tool does not understand."""


@dataclass(frozen=True)
class Settings:
    origin: Path | None = None
    tolerance: float | None = None
    weight_change_threshold: float | None = None
    """Percent: replaces the knowledge base's institutional weight-change threshold (pv:WeightChangeSetting)."""
    fail_on: str | None = None
    format: str | None = None
    regimens: tuple[Path, ...] = ()
    exclude: tuple[str, ...] = ()
    """Glob patterns, relative to the configuration's folder, of files a directory argument skips."""
    rules: dict[str, str] = field(default_factory=dict)
    """Rule id → severity it is reported at: error, warning, info, or off."""
    where: str | None = None
    """What a message about these settings names, when not the file they come from."""
    input: str | None = None
    fhir_map: dict = field(default_factory=dict)
    """The site's FHIR map (docs/fhir.md, the site map): {"regimens": {canonical: id}, "agents": {system: {code:
    id}}, "routes": {system: {code: route}}}, its shape checked; its ids are checked against the knowledge base
    by open_pipeline."""
    fhir_map_origin: str | None = None
    serve: dict = field(default_factory=dict)
    """[tool.protovalidate.serve]: the service's options (docs/cds-hooks.md), checked by `protovalidate serve`."""

    def excluded(self, path: Path) -> bool:
        if self.origin is None or not self.exclude:
            return False
        try:
            relative = path.resolve().relative_to(self.origin.parent.resolve())
        except ValueError:
            return False
        return any(relative.match(pattern) or relative.as_posix().startswith(pattern.rstrip("*/") + "/")
                   for pattern in self.exclude)

    def check_rule_ids(self, known: Iterable[str], fixed: Iterable[str] = ()) -> None:
        """A level for a rule id the checks do not have would silence nothing: refused, never ignored. Nor may
        a site re-level a ``fixed`` rule: a FHIR error means an order that could not be read, which must never
        pass (docs/fhir.md, exact reading)."""
        known = sorted(set(known))
        unknown = sorted(set(self.rules) - set(known))
        if unknown:
            named = "; ".join(_unknown_name(rule_id, known) for rule_id in unknown)
            raise ConfigError(f"{self.where or self.origin}: [tool.protovalidate.rules] names no rule of this knowledge "
                              f"base: {named} (`protovalidate --list-rules` lists them)")
        refused = sorted(set(self.rules) & set(fixed))
        if refused:
            raise ConfigError(f"{self.where or self.origin}: [tool.protovalidate.rules] {', '.join(refused)}: a FHIR "
                              f"error rule cannot be re-levelled (an order that could not be read must never pass); "
                              f"only the FHIR rules of level warning or info can")


def _unknown_name(name: str, known: Iterable[str]) -> str:
    """`infusion-too-shrt (did you mean infusion-too-short?)`, or the name alone when nothing is close."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"{name} (did you mean {close[0]}?)" if close else name


def forbid_network() -> None:
    """No code path may fetch: an order's remote context must stay a finding, never a request. (The service
    binds and accepts on its listener; neither is a connect.)"""

    def hook(event: str, args) -> None:
        if event in ("socket.connect", "socket.getaddrinfo", "urllib.Request"):
            raise PermissionError(f"protovalidate never uses the network (blocked {event})")

    sys.addaudithook(hook)


def load_settings(start: Path | None = None) -> Settings:
    for folder in ((start or Path.cwd()).resolve(), *(start or Path.cwd()).resolve().parents):
        config = folder / "pyproject.toml"
        if not config.is_file():
            continue
        try:
            table = tomllib.loads(config.read_text("utf-8")).get("tool", {}).get("protovalidate")
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{config}: {error}") from error
        if table is None:
            continue
        return settings_from(table, config)
    return Settings()


def settings_from(table: dict, config: Path | None = None, where: str | None = None) -> Settings:
    """The settings a `[tool.protovalidate]` table gives, each checked: ``config`` is the file it comes from
    (its folder roots the relative paths; none: the working directory), ``where`` what a message names."""
    from chemo_protovalidate.report import RENDERERS  # here: the reports' modules are not needed to read a setting otherwise

    origin, config = config, where or config
    unknown = sorted(set(table) - KEYS)
    if unknown:
        named = ", ".join(_unknown_name(key, KEYS) for key in unknown)
        raise ConfigError(f"{config}: [tool.protovalidate] has no setting {named} (known: {', '.join(sorted(KEYS))})")
    rules = table.get("rules", {})
    if not isinstance(rules, dict):
        raise ConfigError(f"{config}: [tool.protovalidate.rules] is a table of rule ids, each set to one of "
                          f"{', '.join(SEVERITIES)}")
    levels = [f"{rule_id} = {json.dumps(level)}" for rule_id, level in sorted(rules.items()) if level not in SEVERITIES]
    if levels:
        raise ConfigError(f"{config}: [tool.protovalidate.rules] {'; '.join(levels)}: a rule's level is one of "
                          f"{', '.join(SEVERITIES)}")
    if table.get("fail-on") not in (None, *FAIL_ON):
        raise ConfigError(f"{config}: fail-on is error or warning (information never fails a run)")
    if table.get("format") not in (None, *RENDERERS):
        raise ConfigError(f"{config}: format {table['format']!r} is none of {', '.join(sorted(RENDERERS))}")
    percentages = {key: _percentage(config, table, key) for key in ("tolerance", "weight-change-threshold")}
    root = origin.parent if origin is not None else Path.cwd()
    regimens = tuple(root / d for d in _strings(config, table, "regimens", "folders of regimen templates"))
    absent = [str(d) for d in regimens if not d.is_dir()]
    if absent:
        raise ConfigError(f"{config}: regimens: no such folder {', '.join(absent)}")
    if table.get("input") not in (None, *INPUTS):
        raise ConfigError(f"{config}: input is one of {', '.join(INPUTS)}")
    fhir_map = table.get("fhir", {})
    check_fhir_map(fhir_map, f"{config}: [tool.protovalidate.fhir]")
    serve = table.get("serve", {})
    if not isinstance(serve, dict):
        raise ConfigError(f"{config}: [tool.protovalidate.serve] is a table of the service's options")
    return Settings(
        input=table.get("input"), fhir_map=fhir_map, fhir_map_origin=f"{config}: [tool.protovalidate.fhir]",
        origin=origin, tolerance=percentages["tolerance"],
        weight_change_threshold=percentages["weight-change-threshold"],
        fail_on=table.get("fail-on"), format=table.get("format"), regimens=regimens,
        exclude=_strings(config, table, "exclude", "glob patterns"), rules=dict(rules), where=where, serve=serve)


def check_fhir_map(fhir_map, where: str) -> None:
    """The site map's shape (docs/fhir.md, the site map): its three tables, string keys and values, routes
    IV, SC or PO. What its ids name is checked against the knowledge base by open_pipeline."""
    if not isinstance(fhir_map, dict):
        raise ConfigError(f"{where} is a table of the tables regimens, agents and routes")
    unknown = sorted(set(fhir_map) - FHIR_MAP_TABLES)
    if unknown:
        raise ConfigError(f"{where} has no table {', '.join(_unknown_name(k, FHIR_MAP_TABLES) for k in unknown)} "
                          f"(known: {', '.join(sorted(FHIR_MAP_TABLES))})")
    for name, entries in _fhir_entries(fhir_map, where):
        if not isinstance(entries[1], str) or not entries[1]:
            raise ConfigError(f"{where}.{name} = {json.dumps(entries[1])}: the value is a string, the id it maps to")
        if name.startswith("routes") and entries[1] not in FHIR_ROUTES:
            raise ConfigError(f"{where}.{name} = {json.dumps(entries[1])}: a route is one of {', '.join(FHIR_ROUTES)}")


def _fhir_entries(fhir_map: dict, where: str):
    """(where in the map, (key, value)) of every mapping: regimens by canonical, agents and routes by system and code."""
    regimens = fhir_map.get("regimens", {})
    if not isinstance(regimens, dict):
        raise ConfigError(f"{where}.regimens is a table: canonical = regimen id")
    for key, value in regimens.items():
        yield f"regimens.{json.dumps(key)}", (key, value)
    for table in ("agents", "routes"):
        systems = fhir_map.get(table, {})
        if not isinstance(systems, dict) or not all(isinstance(codes, dict) for codes in systems.values()):
            raise ConfigError(f"{where}.{table} is a table of coding systems, each a table: code = id")
        for system, codes in systems.items():
            for code, value in codes.items():
                yield f"{table}.{json.dumps(system)}.{json.dumps(code)}", ((system, code), value)


def load_fhir_map(path: Path) -> tuple[dict, str]:
    """--fhir-map FILE: the site map's tables at the top of a TOML file (they replace the pyproject's)."""
    try:
        fhir_map = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from error
    check_fhir_map(fhir_map, str(path))
    return fhir_map, str(path)


_EXAMPLES = {"regimens": '["site-regimens"]', "exclude": '["orders/drafts/*"]'}


def _strings(config: Path, table: dict, key: str, what: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ConfigError(f"{config}: {key} is a list of {what}, e.g. {key} = {_EXAMPLES[key]}")
    return tuple(value)


def _percentage(config: Path, table: dict, key: str) -> float | None:
    value = table.get(key)
    low, high = PERCENT_RANGE
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or not low <= value <= high):
        raise ConfigError(f"{config}: {key} is a percentage from {low} to {high}")
    return value


def open_pipeline(settings: Settings, regimens: tuple[Path, ...] = (), tolerance: float | None = None,
                  weight_change_threshold: float | None = None, **options) -> "Pipeline":
    """The pipeline a front door checks with: the knowledge base with the site's regimens (given, else the
    settings') and percentages (given, else the settings'), every result reported at the settings' rule levels,
    and a level for a rule id the checks do not have refused (ConfigError) before any order is read: a mistyped
    id silences nothing. ``options`` go to the Pipeline (max_administrations, administrations)."""
    from chemo_protovalidate.check.knowledge import KnowledgeBase
    from chemo_protovalidate.check.pipeline import Pipeline

    kb = KnowledgeBase.load(
        regimens or settings.regimens,
        tolerance_percent=tolerance if tolerance is not None else settings.tolerance,
        weight_change_percent=weight_change_threshold if weight_change_threshold is not None
        else settings.weight_change_threshold)
    site_map = _site_map(settings, kb)
    pipeline = Pipeline(kb, levels=settings.rules, input_kind=options.pop("input_kind", None) or settings.input or "auto",
                        fhir_map=site_map, **options)
    settings.check_rule_ids(pipeline.rules(), fixed=_fhir_error_rules())
    return pipeline


def _fhir_error_rules() -> list[str]:
    from chemo_protovalidate.read.fhir import fhir_rules

    return [rule_id for rule_id, rule in fhir_rules().items() if rule["level"] == "error"]


def _site_map(settings: Settings, kb):
    """The site map for the FHIR reader, each id it maps to held by the knowledge base (site regimens
    included) and none of the contract's own codes mapped anew. None when the site maps nothing."""
    if not settings.fhir_map:
        return None
    from chemo_protovalidate.read.fhir import SiteMap, contract_codes

    where = settings.fhir_map_origin or "the FHIR site map"
    regimens, agents = set(kb.regimen_ids()), set(kb.agent_ids())
    own = contract_codes()
    for name, (key, value) in _fhir_entries(settings.fhir_map, where):
        table = name.split(".")[0]
        held = {"regimens": regimens, "agents": agents, "routes": set(FHIR_ROUTES)}[table]
        if value not in held:
            raise ConfigError(f"{where}.{name}: the knowledge base holds no {table[:-1]} "
                              f"{_unknown_name(value, held)}")
        contract = own[table](key)
        if contract is not None and contract != value:
            raise ConfigError(f"{where}.{name} = {json.dumps(value)}: the contract maps this to {contract!r}; "
                              f"a site map may add codes, never redefine the contract's own")
    return SiteMap(regimens=dict(settings.fhir_map.get("regimens", {})),
                   agents={s: dict(c) for s, c in settings.fhir_map.get("agents", {}).items()},
                   routes={s: dict(c) for s, c in settings.fhir_map.get("routes", {}).items()})
