"""Renderers: one finding model in, one format out, one small module per format.

A renderer takes a `Report` and returns text; it never decides anything about
an order. `RENDERERS` maps the names `--format` accepts to them.
"""

from __future__ import annotations

from typing import Callable

from . import github, html, json_report, junit, sarif, shacl, text
from .model import Report, RuleInfo, summary, summary_line

RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": text.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "github": github.render,
    "junit": junit.render,
    "shacl": shacl.render,
    "html": html.render,
}

__all__ = ["RENDERERS", "Report", "RuleInfo", "summary", "summary_line"]
