"""The command line: ``protovalidate FILE|DIR|- ...`` and the regimen subcommands.

Exit status (docs/order-format.md): 0 when no finding reaches the failing
severity, 1 when one does (a malformed order is a finding), 2 when the tool
itself could not do its job (usage, a missing path, its own knowledge base,
an internal error). A file that fails never hides the verdicts of the others.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
import tempfile
import traceback
from dataclasses import replace
from pathlib import Path

import click

from chemo_protovalidate.check.knowledge import KnowledgeBaseError
from chemo_protovalidate.check.runner import STDIN
from chemo_protovalidate.model.findings import FileResult, Severity
from chemo_protovalidate.model.version import __version__
from chemo_protovalidate.read.documents import ORDER_SUFFIXES
from chemo_protovalidate.read.limits import MAX_ADMINISTRATIONS, MAX_BYTES
from chemo_protovalidate.report import RENDERERS, Report, summary_line
from chemo_protovalidate.settings import (FAIL_ON, INPUTS, PERCENT_RANGE, ConfigError, Settings, forbid_network,
                                          load_fhir_map, load_settings, open_pipeline)

class ToolError(click.ClickException):
    """The tool could not do its job: exit status 2, never 1."""

    exit_code = 2


def expand(paths: tuple[str, ...], suffixes=ORDER_SUFFIXES, excluded=lambda path: False,
           what: str = "order file") -> tuple[list[str], list[tuple[str, str]]]:
    """Files to check, in a stable order, and each path that gave none, with why.

    A directory gives the files under it with one of ``suffixes``, less the
    excluded ones; a pattern with glob characters that names no file itself
    is expanded (for shells and CI files that pass it quoted). A path that
    gives no file (missing, an empty folder, a pattern matching nothing) is
    the tool's error, never an empty green run: a mistyped path in CI must fail.
    """
    files, nothing = [], []
    kinds = ", ".join(sorted(suffixes))
    for path in paths:
        if path == STDIN:
            files.append(STDIN)
        elif Path(path).is_dir():
            found = sorted(str(p) for p in Path(path).rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
            kept = [f for f in found if not excluded(Path(f))]
            files += kept
            if not kept:
                skipped = f"; {len(found)} excluded by the [tool.protovalidate] exclude setting" if found else ""
                nothing.append((path, f"no {what} ({kinds}) in this folder{skipped}"))
        elif Path(path).exists():
            files.append(path)
        elif glob.has_magic(path):
            matches = [m for m in sorted(glob.glob(path, recursive=True)) if Path(m).is_file()]
            kept = [m for m in matches if not excluded(Path(m))]
            files += kept
            if not kept:
                skipped = f" ({len(matches)} excluded by the [tool.protovalidate] exclude setting)" if matches else ""
                nothing.append((path, f"the pattern matches no file{skipped}"))
        else:
            nothing.append((path, "no such file or directory"))
    return files, nothing


class _OrdersByDefault(click.Group):
    """`protovalidate FILE...` checks orders; the subcommands are for regimens.

    The order contract names the command with files and no subcommand, so any
    first argument that is not a subcommand starts `check` (a file literally
    named like a subcommand: `protovalidate check show`).
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = ["check", *args]
        return super().parse_args(ctx, args)


def _print_version(ctx: click.Context, _param, value: bool) -> None:
    """--version: the package's version and the knowledge base's (rule book v2, C25)."""
    if not value or ctx.resilient_parsing:
        return
    from chemo_protovalidate.check.knowledge import KnowledgeBase

    click.echo(f"protovalidate {__version__}")
    try:
        click.echo(KnowledgeBase.load().version)  # the shipped one (compiled after the first run)
    except KnowledgeBaseError as error:
        click.echo(f"protovalidate: {error}", err=True)
        ctx.exit(2)
    ctx.exit(0)


@click.group(cls=_OrdersByDefault, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version of protovalidate and of its knowledge base (and the rule book it implements), "
                   "and exit.")
def main() -> None:
    """Check chemotherapy orders against their regimen protocols.

    \b
    protovalidate FILE|DIR|- ...       check orders (the `check` command)
    protovalidate regimens             list the regimens of the knowledge base
    protovalidate show REGIMEN         a regimen as a calendar
    protovalidate check-template FILE  check a regimen template before it goes live
    """
    forbid_network()
    # rdflib logs an ill-typed literal ("abc"^^xsd:integer) with a traceback; the rules report it instead.
    logging.getLogger("rdflib").setLevel(logging.ERROR)


INPUT_OPTION = click.option(
    "--input", "input_kind", type=click.Choice(INPUTS), default=None,
    help="What a JSON file is [default: auto, by its top level]: jsonld (order format) or fhir (a FHIR R4 "
         "document or a CDS Hooks body, docs/fhir.md). Also [tool.protovalidate] input.")
FHIR_MAP_OPTION = click.option(
    "--fhir-map", "fhir_map", type=click.Path(exists=True, dir_okay=False), default=None, metavar="FILE",
    help="A TOML file of the site's FHIR canonicals and codes (docs/fhir.md); replaces [tool.protovalidate.fhir].")

REGIMENS_OPTION = click.option(
    "--regimens", "regimen_dirs", multiple=True, type=click.Path(exists=True, file_okay=False),
    help="A directory of the site's own regimen templates (*.ttl), loaded beside the shipped ones; repeatable. "
         "Also [tool.protovalidate] regimens = [...] in pyproject.toml.")


def _report_options(command):
    """--format, --output, --report, --color: shared by the commands that report findings."""
    for option in reversed([
        click.option("--format", "output_format", type=click.Choice(sorted(RENDERERS)), default=None,
                     help="Report format [default: text]: text, json (docs/report-format.md), sarif, github, junit, "
                          "shacl, html."),
        click.option("--output", "-o", "output", type=click.Path(dir_okay=False), default=None,
                     help="Write the report to this file instead of standard output."),
        click.option("--report", "extra_reports", multiple=True, metavar="FORMAT:PATH",
                     help="Also write a report in FORMAT to PATH (repeatable), e.g. sarif:results.sarif. "
                          "Written even when the run fails."),
        click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
                     help="Colour in the text report; auto honours NO_COLOR and FORCE_COLOR."),
    ]):
        command = option(command)
    return command


@main.command()
@click.argument("paths", nargs=-1, metavar="FILE|DIR|GLOB|-...")
@_report_options
@click.option("--fail-on", type=click.Choice(FAIL_ON), default=None,
              help="The lowest severity that makes the exit status 1 [default: error]. Information findings never "
                   "fail a run.")
@click.option("--tolerance", type=click.FloatRange(*PERCENT_RANGE), default=None, metavar="PCT",
              help="Dose tolerance in percent around the computed amount [default: 5, the knowledge base's].")
@click.option("--weight-change-threshold", "weight_change", type=click.FloatRange(*PERCENT_RANGE), default=None,
              metavar="PCT",
              help="Weight change since the dose basis, in percent, above which agents without a label figure "
                   "(daratumumab IV, cyclophosphamide) must be recalculated [default: 10, the knowledge base's "
                   "institutional threshold].")
@REGIMENS_OPTION
@click.option("--stdin-filename", default=None, metavar="NAME",
              help="The name standard input (-) is reported under; its suffix picks the syntax.")
@click.option("--max-bytes", type=click.IntRange(1), default=MAX_BYTES, show_default=True,
              help="A larger order file is a finding, not read (SECURITY.md).")
@click.option("--max-administrations", type=click.IntRange(1), default=MAX_ADMINISTRATIONS, show_default=True,
              help="An order with more administrations is a finding, not checked (SECURITY.md).")
@click.option("--jobs", "-j", type=click.IntRange(1), default=1, show_default=True,
              help="Processes that check files side by side; the report is the same with any number.")
@click.option("--list-rules", is_flag=True, help="List every rule (id, severity, source) and exit.")
@INPUT_OPTION
@FHIR_MAP_OPTION
def check(paths: tuple[str, ...], output_format: str | None, output: str | None, extra_reports: tuple[str, ...],
          color: str, fail_on: str | None, tolerance: float | None, weight_change: float | None,
          regimen_dirs: tuple[str, ...],
          stdin_filename: str | None, max_bytes: int, max_administrations: int, jobs: int, list_rules: bool,
          input_kind: str | None, fhir_map: str | None) -> None:
    """Check chemotherapy orders (JSON-LD, Turtle, N-Triples, RDF/XML, FHIR R4 JSON) against their regimen protocols.

    A directory means the order files under it; a quoted glob ("orders/**/*.jsonld") is expanded; - reads
    standard input. Settings come from [tool.protovalidate] in the nearest pyproject.toml; options win.
    """
    settings = _settings(fhir_map)
    if list_rules:
        _list_rules(regimen_dirs, settings)
        return
    if not paths:
        raise click.UsageError("give at least one FILE, DIR or - (standard input)")
    fail_on_severity = Severity(fail_on or settings.fail_on or "error")
    files, nothing = expand(paths, excluded=settings.excluded)
    output_format = output_format or settings.format or "text"
    drawn = "html" in [output_format] + [_report_target(spec)[0] for spec in extra_reports]
    try:
        from chemo_protovalidate.check.runner import check_paths  # after the guard: nothing below may reach the network

        pipeline = open_pipeline(settings, _regimen_dirs(regimen_dirs, settings), tolerance, weight_change,
                                 max_administrations=max_administrations, administrations=drawn,
                                 input_kind=input_kind)
        results = list(check_paths(pipeline, files, stdin_filename, max_bytes, jobs))
    except (KnowledgeBaseError, ConfigError) as error:
        raise ToolError(str(error)) from error
    except Exception as error:  # a bug of ours: say so, and never as a verdict on the order
        traceback.print_exc(file=sys.stderr)
        raise ToolError(f"internal error: {error}") from error
    results += [FileResult(path, tool_error=why) for path, why in nothing]
    for rule_id, level in sorted(settings.rules.items()):
        click.echo(f"protovalidate: rule {rule_id} reported as {level} ({settings.origin})", err=True)
    report = Report(results, fail_on_severity, pipeline.rules(), color=_use_color(color),
                    knowledge_base=pipeline.kb.version)
    _report_and_exit(report, output_format, output, extra_reports)


@main.command("convert")
@click.argument("path", metavar="FILE")
@click.option("--input", "input_kind", type=click.Choice(["auto", "fhir"]), default="auto", show_default=True,
              help="auto: FILE must be FHIR by its top level; fhir: read it as FHIR whatever it is.")
@FHIR_MAP_OPTION
@click.option("--max-bytes", type=click.IntRange(1), default=MAX_BYTES, show_default=True,
              help="A larger file is a finding, not read (SECURITY.md).")
def convert(path: str, input_kind: str, fhir_map: str | None, max_bytes: int) -> None:
    """Print the order-format orders a FHIR document maps to, as one JSON array (docs/fhir.md).

    The orders are exactly those checked: left-out requests and orders not checked are absent. The
    converter's findings go to standard error; the exit status is 1 when one is an error.
    """
    import json

    from chemo_protovalidate.check.runner import read_file
    from chemo_protovalidate.read.fhir import kind
    from chemo_protovalidate.read.fhir_document import mapped_orders
    from chemo_protovalidate.read.jsonld import load_json

    settings = _settings(fhir_map)
    try:
        site_map = open_pipeline(settings).fhir_map if settings.fhir_map else None
    except (KnowledgeBaseError, ConfigError) as error:
        raise ToolError(str(error)) from error
    read = read_file(path, None, max_bytes)
    if isinstance(read, FileResult):
        if read.tool_error:
            raise ToolError(f"{path}: {read.tool_error}")
        findings, orders = read.findings, []
    else:
        text = read[1].decode("utf-8", errors="replace")
        value, finding = load_json(text)
        if finding is not None:
            findings, orders = [finding], []
        elif input_kind == "auto" and kind(value) is None:
            raise ToolError(f"{path}: not a FHIR document or CDS Hooks body (no resourceType at its top); "
                            f"`protovalidate convert --input fhir` reads it as FHIR all the same")
        else:
            orders, findings = mapped_orders(text, value, site_map)
    click.echo(json.dumps(orders, indent=2, ensure_ascii=False))
    for finding in findings:
        where = ":".join(str(n) for n in (finding.line, finding.column) if n is not None)
        at = f" (at {finding.fhir_path})" if finding.fhir_path else ""
        click.echo(f"{path}{':' + where if where else ''}: {finding.severity.value}[{finding.rule_id}] "
                   f"{finding.message}{at}", err=True)
    sys.exit(1 if any(f.severity is Severity.ERROR for f in findings) else 0)


@main.command("serve")
@click.option("--host", default=None, help="Address to bind [default: 127.0.0.1]; another than loopback needs "
              "--trust or --allow-unauthenticated.")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Port [default: 8080]; 0 binds a free one.")
@click.option("--base-url", default=None, help="The URL the EHR calls (behind a TLS proxy, its public URL): JWT aud.")
@REGIMENS_OPTION
@click.option("--config", "config", type=click.Path(exists=True, dir_okay=False), default=None, metavar="PYPROJECT",
              help="The pyproject.toml whose [tool.protovalidate] and [tool.protovalidate.serve] apply "
                   "[default: the nearest].")
@FHIR_MAP_OPTION
@click.option("--tolerance", type=click.FloatRange(*PERCENT_RANGE), default=None, metavar="PCT",
              help="Dose tolerance in percent, as for check.")
@click.option("--weight-change-threshold", "weight_change_threshold", type=click.FloatRange(*PERCENT_RANGE),
              default=None, metavar="PCT", help="Weight change in percent, as for check.")
@click.option("--workers", type=click.IntRange(1), default=None, help="Processes, each with the knowledge base "
              "[default: 1].")
@click.option("--max-body", type=click.IntRange(1), default=None, metavar="BYTES",
              help="Larger request bodies are 413 [default: 5242880].")
@click.option("--body-timeout", type=click.FloatRange(0, min_open=True), default=None, metavar="S",
              help="A body not received in time is 408 [default: 10].")
@click.option("--check-timeout", type=click.FloatRange(0, min_open=True), default=None, metavar="S",
              help="A check not finished in time gets the time-out card [default: 5].")
@click.option("--trust", multiple=True, metavar="ISS=JWKS_FILE",
              help="A trusted issuer and its JWK Set file (repeatable): turns JWT verification on.")
@click.option("--allow-unauthenticated", is_flag=True, default=None,
              help="Allow a non-loopback --host without --trust.")
@click.option("--cors-origin", multiple=True, metavar="ORIGIN", help="A browser origin allowed (repeatable).")
@click.option("--source-url", default=None, metavar="URL", help="source.url of every card.")
def serve(config: str | None, fhir_map: str | None, regimen_dirs: tuple[str, ...], trust: tuple[str, ...],
          **given) -> None:
    """Answer CDS Hooks order-sign and order-select calls with cards (docs/cds-hooks.md)."""
    from chemo_protovalidate.serve import server

    missing = server.extra_missing()
    if missing is not None:
        raise ToolError(f"serve needs the service extra: {missing}")
    trusted = {}
    for item in trust:
        issuer, _, path = item.partition("=")
        if not issuer or not path:
            raise click.UsageError(f"--trust {item!r}: write ISS=JWKS_FILE")
        trusted[issuer] = path
    try:
        settings = server.settings_at(config)
        options = server.options_from(settings.serve, {**given, "regimens": tuple(regimen_dirs), "trust": trusted,
                                                       "fhir_map": fhir_map, "config": config},
                                      str(settings.origin or "the command line"),
                                      settings.origin.parent if settings.origin else None)
        server.run(options, settings, server.stderr)
    except (KnowledgeBaseError, ConfigError) as error:
        raise ToolError(str(error)) from error
    except OSError as error:
        raise ToolError(f"cannot listen: {error.strerror or error}") from error
    except Exception as error:  # TrustError and a bug of ours alike: exit 2, nothing bound
        if type(error).__name__ != "TrustError":
            traceback.print_exc(file=sys.stderr)
        raise ToolError(str(error)) from error


@main.command("check-template")
@click.argument("templates", nargs=-1, required=True, metavar="TEMPLATE.ttl...")
@_report_options
@REGIMENS_OPTION
def check_template(templates: tuple[str, ...], output_format: str | None, output: str | None,
                   extra_reports: tuple[str, ...], color: str, regimen_dirs: tuple[str, ...]) -> None:
    """Check regimen templates before they go live: completeness, schedule, sources, OWL consistency, examples."""
    settings = _settings()
    files, nothing = expand(templates, suffixes={".ttl"}, what="regimen template")
    try:
        from chemo_protovalidate.author.templates import TemplateChecker

        checker = TemplateChecker(_regimen_dirs(regimen_dirs, settings))
        results = checker.check_all([Path(name) for name in files])
    except KnowledgeBaseError as error:
        raise ToolError(str(error)) from error
    results += [FileResult(path, tool_error=why) for path, why in nothing]
    report = Report(results, Severity.ERROR, checker.rules(), color=_use_color(color),
                    knowledge_base=checker.base.version)
    _report_and_exit(report, output_format or "text", output, extra_reports)


def _report_and_exit(report: Report, output_format: str, output: str | None, extra_reports: tuple[str, ...]) -> None:
    """Writes every report asked for (files even when the run fails), the summary, and exits 0, 1 or 2."""
    targets = [(output_format, output)] + [_report_target(spec) for spec in extra_reports]
    for format_name, path in targets:
        rendered = RENDERERS[format_name](replace(report, color=report.color and path is None))
        if path is None:
            click.echo(rendered, nl=False, color=report.color)  # click strips colour off a terminal otherwise
        else:
            write_atomically(Path(path), rendered)
    click.echo(summary_line(report.results, report.fail_on, report.knowledge_base), err=True)
    for result in report.results:
        if result.tool_error:
            click.echo(f"protovalidate: {result.path}: {result.tool_error}", err=True)
    if all(r.tool_error for r in report.results):
        given = ", ".join(r.path for r in report.results)
        click.echo(f"protovalidate: nothing was checked: no file found in {given}", err=True)
    if any(r.tool_error for r in report.results):
        sys.exit(2)
    sys.exit(0 if all(r.conforms(report.fail_on) for r in report.results) else 1)


def write_atomically(path: Path, text: str) -> None:
    """Whole or not at all: a reader never sees half a report, even if the run is interrupted."""
    try:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent or ".", prefix=f".{path.name}.",
                                         delete=False) as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(handle.name, 0o666 & ~umask)  # a temporary file is private; the report is not
        os.replace(handle.name, path)
    except OSError as error:
        raise ToolError(f"cannot write {path}: {error.strerror or error}") from error


def _report_target(spec: str) -> tuple[str, str]:
    format_name, _, path = spec.partition(":")
    if format_name not in RENDERERS or not path:
        raise click.BadParameter(f"{spec!r}: give FORMAT:PATH with FORMAT one of {', '.join(sorted(RENDERERS))}",
                                 param_hint="--report")
    return format_name, path


def _use_color(choice: str) -> bool:
    """--color; for auto, NO_COLOR (set and not empty) turns colour off, FORCE_COLOR on, else a terminal decides."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def _settings(fhir_map: str | None = None) -> Settings:
    """[tool.protovalidate]; a --fhir-map file replaces its FHIR site map."""
    try:
        settings = load_settings()
        if fhir_map is not None:
            table, origin = load_fhir_map(Path(fhir_map))
            settings = replace(settings, fhir_map=table, fhir_map_origin=origin)
        return settings
    except ConfigError as error:
        raise ToolError(str(error)) from error


def _regimen_dirs(given: tuple[str, ...], settings: Settings) -> tuple[Path, ...]:
    """The --regimens directories, else those of [tool.protovalidate] in the nearest pyproject.toml.

    The one place every command (check, check-template, regimens, show, --list-rules) takes its site regimens
    from: for the same options and settings, each sees the same regimens.
    """
    if given:
        return tuple(Path(d) for d in given)
    return settings.regimens


@main.command("regimens")
@REGIMENS_OPTION
def list_regimens(regimen_dirs: tuple[str, ...]) -> None:
    """List the regimens: id, name, setting, components, source."""
    from chemo_protovalidate.author.regimens import regimens

    for regimen in regimens(_knowledge_base(regimen_dirs, _settings())):
        components = ", ".join(c.agent for c in regimen.components)
        sources = "; ".join(s.label for s in regimen.sources)
        click.echo(f"{regimen.identifier}\t{regimen.label}\t{regimen.setting or ''}\t{components}\t{sources}")


@main.command()
@click.argument("regimen")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the calendar as one self-contained HTML page.")
@REGIMENS_OPTION
def show(regimen: str, html_path: str | None, regimen_dirs: tuple[str, ...]) -> None:
    """Print REGIMEN as a calendar: agents by cycle day, for each range of cycles, with dose levels."""
    from chemo_protovalidate.author.calendar import render_html, render_text
    from chemo_protovalidate.author.regimens import find

    found = find(_knowledge_base(regimen_dirs, _settings()), regimen)
    if found is None:
        raise ToolError(f"no regimen {regimen!r}; `protovalidate regimens` lists them")
    click.echo(render_text(found), nl=False)
    if html_path:
        Path(html_path).write_text(render_html(found), "utf-8")
        click.echo(f"protovalidate: wrote {html_path}", err=True)


def _knowledge_base(regimen_dirs: tuple[str, ...], settings: Settings):
    from chemo_protovalidate.check.knowledge import KnowledgeBase

    try:
        return KnowledgeBase.load(_regimen_dirs(regimen_dirs, settings))
    except KnowledgeBaseError as error:
        raise ToolError(str(error)) from error


def _list_rules(regimen_dirs: tuple[str, ...], settings: Settings) -> None:
    """One line per rule as written: a rule id that names two shapes (one per severity) has two lines."""
    from chemo_protovalidate.check.pipeline import Pipeline

    try:
        validator = Pipeline(_knowledge_base(regimen_dirs, settings))
    except KnowledgeBaseError as error:
        raise ToolError(str(error)) from error
    for rule in validator.listing():
        click.echo(f"{rule.rule_id}\t{rule.severity.value}\t{rule.description}\t{rule.source.label if rule.source else ''}")
