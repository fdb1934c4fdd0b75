"""The command line: ``protovalidate FILE|DIR|- ...`` and the regimen subcommands.

Exit status (order-format.md): 0 when no finding reaches the failing
severity, 1 when one does (a malformed order is a finding), 2 when the tool
itself could not do its job (usage, a missing path, its own knowledge base,
an internal error). A file that fails never hides the verdicts of the others.
"""

from __future__ import annotations

import sys
import tomllib
import traceback
from pathlib import Path

import click

from . import __version__
from .documents import ORDER_SUFFIXES
from .findings import FileResult
from .knowledge import KnowledgeBaseError
from .reporting import RENDERERS, Report, summary_line
from .rules import Severity

STDIN = "-"


class ToolError(click.ClickException):
    """The tool could not do its job: exit status 2, never 1."""

    exit_code = 2


def forbid_network() -> None:
    """No code path may fetch: an order's remote context must stay a finding, never a request."""

    def hook(event: str, args) -> None:
        if event in ("socket.connect", "socket.getaddrinfo", "urllib.Request"):
            raise PermissionError(f"protovalidate never uses the network (blocked {event})")

    sys.addaudithook(hook)


def expand(paths: tuple[str, ...], suffixes=ORDER_SUFFIXES) -> tuple[list[str], list[str]]:
    """Files to check, in a stable order, and the paths that do not exist."""
    files, missing = [], []
    for path in paths:
        if path == STDIN:
            files.append(STDIN)
        elif Path(path).is_dir():
            files += sorted(str(p) for p in Path(path).rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
        elif Path(path).exists():
            files.append(path)
        else:
            missing.append(path)
    return files, missing


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


@click.group(cls=_OrdersByDefault, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="protovalidate")
def main() -> None:
    """Check chemotherapy orders against their regimen protocols.

    \b
    protovalidate FILE|DIR|- ...       check orders (the `check` command)
    protovalidate regimens             list the regimens of the knowledge base
    protovalidate show REGIMEN         a regimen as a calendar
    protovalidate check-template FILE  check a regimen template before it goes live
    """
    forbid_network()


REGIMENS_OPTION = click.option(
    "--regimens", "regimen_dirs", multiple=True, type=click.Path(exists=True, file_okay=False),
    help="A directory of the site's own regimen templates (*.ttl), loaded beside the shipped ones; repeatable. "
         "Also [tool.protovalidate] regimens = [...] in pyproject.toml.")
FORMAT_OPTION = click.option(
    "--format", "output_format", type=click.Choice(sorted(RENDERERS)), default="text", show_default=True,
    help="Report format on standard output (json: docs/report-format.md).")


@main.command()
@click.argument("paths", nargs=-1, metavar="FILE|DIR|-...")
@FORMAT_OPTION
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default="error", show_default=True,
              help="The lowest severity that makes the exit status 1.")
@click.option("--tolerance", type=click.FloatRange(0, 50), default=None, metavar="PCT",
              help="Dose tolerance in percent around the computed amount [default: 5, the knowledge base's].")
@REGIMENS_OPTION
@click.option("--list-rules", is_flag=True, help="List every rule (id, severity, source) and exit.")
def check(paths: tuple[str, ...], output_format: str, fail_on: str, tolerance: float | None,
          regimen_dirs: tuple[str, ...], list_rules: bool) -> None:
    """Check chemotherapy orders (JSON-LD, Turtle, N-Triples, RDF/XML) against their regimen protocols.

    A directory means the order files under it; - reads standard input.
    """
    if list_rules:
        _list_rules()
        return
    if not paths:
        raise click.UsageError("give at least one FILE, DIR or - (standard input)")
    fail_on_severity = Severity(fail_on)
    files, missing = expand(paths)
    try:
        from .knowledge import KnowledgeBase
        from .validate import Validator  # after the guard: nothing below may reach the network

        validator = Validator(KnowledgeBase.load(_regimen_dirs(regimen_dirs), tolerance_percent=tolerance))
        results = [_check(validator, name) for name in files]
        rules = validator.rules()
    except KnowledgeBaseError as error:
        raise ToolError(str(error)) from error
    except Exception as error:  # a bug of ours: say so, and never as a verdict on the order
        traceback.print_exc(file=sys.stderr)
        raise ToolError(f"internal error: {error}") from error
    results += [FileResult(path, tool_error="no such file or directory") for path in missing]
    _report_and_exit(Report(results, fail_on_severity, rules), output_format)


@main.command("check-template")
@click.argument("templates", nargs=-1, required=True, metavar="TEMPLATE.ttl...")
@FORMAT_OPTION
@REGIMENS_OPTION
def check_template(templates: tuple[str, ...], output_format: str, regimen_dirs: tuple[str, ...]) -> None:
    """Check regimen templates before they go live: completeness, schedule, sources, OWL consistency, examples."""
    files, missing = expand(templates, suffixes={".ttl"})
    try:
        from .templates import TemplateChecker

        checker = TemplateChecker(_regimen_dirs(regimen_dirs))
        results = [checker.check(Path(name)) for name in files]
    except KnowledgeBaseError as error:
        raise ToolError(str(error)) from error
    results += [FileResult(path, tool_error="no such file or directory") for path in missing]
    _report_and_exit(Report(results, Severity.ERROR, checker.rules()), output_format)


def _report_and_exit(report: Report, output_format: str) -> None:
    click.echo(RENDERERS[output_format](report), nl=False)
    click.echo(summary_line(report.results, report.fail_on), err=True)
    for result in report.results:
        if result.tool_error:
            click.echo(f"protovalidate: {result.path}: {result.tool_error}", err=True)
    if any(r.tool_error for r in report.results):
        sys.exit(2)
    sys.exit(0 if all(r.conforms(report.fail_on) for r in report.results) else 1)


def _regimen_dirs(given: tuple[str, ...]) -> tuple[Path, ...]:
    """The --regimens directories, else those of [tool.protovalidate] in the nearest pyproject.toml."""
    if given:
        return tuple(Path(d) for d in given)
    for folder in (Path.cwd(), *Path.cwd().parents):
        config = folder / "pyproject.toml"
        if config.is_file():
            try:
                settings = tomllib.loads(config.read_text("utf-8")).get("tool", {}).get("protovalidate", {})
            except tomllib.TOMLDecodeError as error:
                raise ToolError(f"{config}: {error}") from error
            return tuple(folder / d for d in settings.get("regimens", []))
    return ()


@main.command("regimens")
@REGIMENS_OPTION
def list_regimens(regimen_dirs: tuple[str, ...]) -> None:
    """List the regimens: id, name, setting, components, source."""
    from .regimens import regimens

    for regimen in regimens(_knowledge_base(regimen_dirs)):
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
    from .calendar import render_html, render_text
    from .regimens import find

    found = find(_knowledge_base(regimen_dirs), regimen)
    if found is None:
        raise ToolError(f"no regimen {regimen!r}; `protovalidate regimens` lists them")
    click.echo(render_text(found), nl=False)
    if html_path:
        Path(html_path).write_text(render_html(found), "utf-8")
        click.echo(f"protovalidate: wrote {html_path}", err=True)


def _knowledge_base(regimen_dirs: tuple[str, ...] = ()):
    from .knowledge import KnowledgeBase

    try:
        return KnowledgeBase.load(_regimen_dirs(regimen_dirs))
    except KnowledgeBaseError as error:
        raise ToolError(str(error)) from error


def _list_rules() -> None:
    from .validate import Validator

    for rule in Validator(_knowledge_base()).rules().values():
        click.echo(f"{rule.rule_id}\t{rule.severity.value}\t{rule.description}\t{rule.source.label if rule.source else ''}")


def _check(validator, name: str) -> FileResult:
    try:
        data = sys.stdin.buffer.read() if name == STDIN else Path(name).read_bytes()
    except OSError as error:
        return FileResult(name, tool_error=f"cannot read: {error.strerror or error}")
    return validator.check("<stdin>" if name == STDIN else name, data)
