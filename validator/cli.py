"""The command line: ``protovalidate FILE|DIR|- ...``.

Exit status (order-format.md): 0 when no finding reaches the failing
severity, 1 when one does (a malformed order is a finding), 2 when the tool
itself could not do its job (usage, a missing path, its own knowledge base,
an internal error). A file that fails never hides the verdicts of the others.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import click

from . import __version__
from .documents import ORDER_SUFFIXES
from .findings import FileResult
from .knowledge import KnowledgeBaseError
from .report import RENDERERS, summary_line
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


def expand(paths: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Files to check, in a stable order, and the paths that do not exist."""
    files, missing = [], []
    for path in paths:
        if path == STDIN:
            files.append(STDIN)
        elif Path(path).is_dir():
            files += sorted(str(p) for p in Path(path).rglob("*") if p.is_file() and p.suffix.lower() in ORDER_SUFFIXES)
        elif Path(path).exists():
            files.append(path)
        else:
            missing.append(path)
    return files, missing


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, metavar="FILE|DIR|-...")
@click.option("--format", "output_format", type=click.Choice(sorted(RENDERERS)), default="text", show_default=True,
              help="Report format on standard output (json: docs/report-format.md).")
@click.option("--fail-on", type=click.Choice(["error", "warning"]), default="error", show_default=True,
              help="The lowest severity that makes the exit status 1.")
@click.option("--tolerance", type=click.FloatRange(0, 50), default=None, metavar="PCT",
              help="Dose tolerance in percent around the computed amount [default: 5, the knowledge base's].")
@click.option("--list-rules", is_flag=True, help="List every rule (id, severity, source) and exit.")
@click.version_option(__version__, prog_name="protovalidate")
def main(paths: tuple[str, ...], output_format: str, fail_on: str, tolerance: float | None, list_rules: bool) -> None:
    """Check chemotherapy orders (JSON-LD, Turtle, N-Triples, RDF/XML) against their regimen protocols.

    A directory means the order files under it; - reads standard input.
    """
    forbid_network()
    if list_rules:
        _list_rules()
        return
    if not paths:
        raise click.UsageError("give at least one FILE, DIR or - (standard input)")
    fail_on_severity = Severity(fail_on)
    files, missing = expand(paths)
    try:
        from .validate import Validator  # after the guard: nothing below may reach the network

        validator = Validator(tolerance_percent=tolerance)
        results = [_check(validator, name) for name in files]
    except KnowledgeBaseError as error:
        raise ToolError(str(error)) from error
    except Exception as error:  # a bug of ours: say so, and never as a verdict on the order
        traceback.print_exc(file=sys.stderr)
        raise ToolError(f"internal error: {error}") from error
    results += [FileResult(path, tool_error="no such file or directory") for path in missing]

    click.echo(RENDERERS[output_format](results, fail_on_severity), nl=False)
    click.echo(summary_line(results, fail_on_severity), err=True)
    for result in results:
        if result.tool_error:
            click.echo(f"protovalidate: {result.path}: {result.tool_error}", err=True)
    if any(r.tool_error for r in results):
        sys.exit(2)
    sys.exit(0 if all(r.conforms(fail_on_severity) for r in results) else 1)


def _list_rules() -> None:
    from .jsonld import FORMAT_RULES
    from .knowledge import KnowledgeBase
    from .rules import Catalogue

    try:
        kb = KnowledgeBase.load()
    except KnowledgeBaseError as error:
        raise ToolError(str(error)) from error
    contract = kb.source("https://w3id.org/protovalidate/kb/source-order-contract")
    rows = [(rule_id, "error", text, contract) for rule_id, text in FORMAT_RULES.items()]
    rows += [(r.rule_id, r.severity.value, r.description, kb.source(r.source)) for r in Catalogue.from_shapes(kb.shapes).rules]
    for rule_id, severity, text, source in sorted(rows):
        click.echo(f"{rule_id}\t{severity}\t{text}\t{source.label if source else ''}")


def _check(validator, name: str) -> FileResult:
    try:
        data = sys.stdin.buffer.read() if name == STDIN else Path(name).read_bytes()
    except OSError as error:
        return FileResult(name, tool_error=f"cannot read: {error.strerror or error}")
    return validator.check("<stdin>" if name == STDIN else name, data)
