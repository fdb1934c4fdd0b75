"""Renderers: one finding model in, one format out, one small module per format.

A renderer takes a `Report` and returns text; it never decides anything about
an order. `RENDERERS` maps the names `--format` accepts to them.
"""

from __future__ import annotations

from typing import Callable

from chemo_protovalidate.report import github, html, json_report, junit, operationoutcome, sarif, shacl, text
from chemo_protovalidate.report.common import Report, summary, summary_line

RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": text.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "github": github.render,
    "junit": junit.render,
    "shacl": shacl.render,
    "html": html.render,
    "operationoutcome": operationoutcome.render,
}

__all__ = ["RENDERERS", "Report", "summary", "summary_line"]
