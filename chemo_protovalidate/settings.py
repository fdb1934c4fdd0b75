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

KEYS = {"tolerance", "weight-change-threshold", "fail-on", "format", "regimens", "exclude", "rules"}


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

    def excluded(self, path: Path) -> bool:
        if self.origin is None or not self.exclude:
            return False
        try:
            relative = path.resolve().relative_to(self.origin.parent.resolve())
        except ValueError:
            return False
        return any(relative.match(pattern) or relative.as_posix().startswith(pattern.rstrip("*/") + "/")
                   for pattern in self.exclude)

    def check_rule_ids(self, known: Iterable[str]) -> None:
        """A level for a rule id the checks do not have would silence nothing: refused, never ignored."""
        known = sorted(set(known))
        unknown = sorted(set(self.rules) - set(known))
        if not unknown:
            return
        named = "; ".join(_unknown_name(rule_id, known) for rule_id in unknown)
        raise ConfigError(f"{self.where or self.origin}: [tool.protovalidate.rules] names no rule of this knowledge base: {named} "
                          f"(`protovalidate --list-rules` lists them)")


def _unknown_name(name: str, known: Iterable[str]) -> str:
    """`infusion-too-shrt (did you mean infusion-too-short?)`, or the name alone when nothing is close."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"{name} (did you mean {close[0]}?)" if close else name


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
    return Settings(
        origin=origin, tolerance=percentages["tolerance"],
        weight_change_threshold=percentages["weight-change-threshold"],
        fail_on=table.get("fail-on"), format=table.get("format"), regimens=regimens,
        exclude=_strings(config, table, "exclude", "glob patterns"), rules=dict(rules), where=where)


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
    pipeline = Pipeline(kb, levels=settings.rules, **options)
    settings.check_rule_ids(pipeline.rules())
    return pipeline
