"""Fuzzing: generated and mutated order documents never crash the validator, and always get the same report.

For every document the strategies of tests/fuzz_strategies.py produce:

- the exit status is 0 or 1, never 2 (a bad order is a finding, not a tool failure), never a traceback and
  never "internal error";
- the same input gives a byte-identical report (text), and `--format json` parses and follows its schema;
- a file that exits 0 holds at least one checked order ("a file with no order in it is a finding");
- nothing tries the network.

Most documents go through the validator in process (`Pipeline.check` and the renderers, exactly what the
`check` command runs per file), on two `Pipeline` instances; a smaller number go through the real command
(`click.testing.CliRunner` on `protovalidate FILE`, twice, and with `--format json`), and a batch goes through
the installed `protovalidate` executable in two fresh processes with different hash seeds. Each CLI run loads
the knowledge base again (about 0.25 s) and installs one more audit hook (`forbid_network`: hooks cannot be
removed); at 10,000 hooks an in-process CLI run is about 20 % slower, so the hook count is not what limits the
number of CLI runs, the knowledge base load is.

Profiles (PROTOVALIDATE_FUZZ):

    .venv/bin/python -m pytest -q tests/test_fuzz.py                                  # ci (default): ~200 documents
    PROTOVALIDATE_FUZZ=long .venv/bin/python -m pytest -q -s -n 0 tests/test_fuzz.py      # long: > 10,000 documents

The ci profile is derandomized (the same documents on every run: a CI gate must not fail at random on a change
that did not cause the failure); the long profile draws new documents on every run and keeps failing examples
in .hypothesis/ for the next run. PROTOVALIDATE_FUZZ_COLLECT=1 does not stop at the first failing document: it
records each distinct failure (its smallest document) and reports them all at the end, for a survey of bugs
rather than one shrunk example.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from chemo_protovalidate.check.pipeline import Pipeline
from chemo_protovalidate.cli import main
from chemo_protovalidate.model.findings import Severity
from chemo_protovalidate.report import RENDERERS, Report

from fuzz_strategies import (Doc, all_documents, byte_mutations, json_mutations, structured_documents,
                             text_documents)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = jsonschema.Draft202012Validator(
    json.loads((ROOT / "src" / "chemo_protovalidate" / "report" / "schema" / "report-v1.json").read_text("utf-8")))
COMMAND = shutil.which("protovalidate", path=str(Path(sys.executable).parent)) or "protovalidate"

# --- profiles ---------------------------------------------------------------------------------------------------------

PROFILE = os.environ.get("PROTOVALIDATE_FUZZ", "ci")
COLLECT = os.environ.get("PROTOVALIDATE_FUZZ_COLLECT", "") not in ("", "0")
# Documents per test. ci: ~200 in total, under a minute. long: > 10,000 (the in-process tests take ~0.1 s a
# document, a CLI document ~0.8 s: three runs, each loading the knowledge base).
BUDGETS = {
    "ci": {"structured": 60, "json": 40, "bytes": 40, "text": 30, "cli": 24, "subprocess": 1},
    "long": {"structured": 4000, "json": 2600, "bytes": 2000, "text": 1200, "cli": 500, "subprocess": 10},
}
SUBPROCESS_BATCH = 25
if PROFILE not in BUDGETS:
    raise pytest.UsageError(f"PROTOVALIDATE_FUZZ={PROFILE!r}: use one of {', '.join(BUDGETS)}")

_COMMON = dict(
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                           HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
settings.register_profile("ci", max_examples=sum(BUDGETS["ci"].values()), derandomize=True, database=None,
                          **_COMMON)
settings.register_profile("long", max_examples=sum(BUDGETS["long"].values()), **_COMMON)
if COLLECT:  # a survey: no shrinking, no replay of old failures
    settings.register_profile(PROFILE, parent=settings.get_profile(PROFILE), phases=[Phase.generate],
                              database=None)


def budget(test: str) -> settings:
    """The chosen profile, with this test's share of the documents (the profile is not loaded globally: the
    other test modules keep their own settings)."""
    return settings(settings.get_profile(PROFILE), max_examples=BUDGETS[PROFILE][test])


# --- bookkeeping: documents tried, network attempts, failures collected ----------------------------------------------

TRIED: Counter = Counter()
STARTED = time.monotonic()
FAILURES: dict[str, tuple[Doc, str]] = {}
NETWORK: list[str] = []


def _record_network(event: str, args) -> None:
    # Installed before any CLI run adds its own (raising) hook, so this one sees every attempt first.
    if event in ("socket.connect", "socket.getaddrinfo", "urllib.Request"):
        NETWORK.append(f"{event} {args!r}"[:300])


sys.addaudithook(_record_network)


def no_network_attempt(before: int) -> None:
    attempts = NETWORK[before:]
    assert not attempts, f"the validator tried the network: {attempts}"


def _signature(error: BaseException) -> str:
    """What makes two failures the same bug: the exception type and where in the validator it was raised."""
    if isinstance(error, AssertionError):
        return f"AssertionError: {str(error).splitlines()[0][:120]}"
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "/chemo_protovalidate/" in f.filename
              or "chemo_protovalidate" in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(error).__name__} at {where}"


def guarded(family: str, document: Doc, prop) -> None:
    """Runs one property; in collect mode, records a failure (keeping the smallest document) instead of raising."""
    TRIED[family] += 1
    if not COLLECT:
        prop(document)
        return
    try:
        prop(document)
    except Exception as error:  # noqa: BLE001 - every failure is recorded, none is lost
        key = _signature(error)
        text = "".join(traceback.format_exception(error))
        if key not in FAILURES or len(document.data) < len(FAILURES[key][0].data):
            FAILURES[key] = (document, text)


# --- the property, in process ----------------------------------------------------------------------------------------

_VALIDATORS: list[Pipeline] = []


def validators() -> list[Pipeline]:
    """Two independent validators, built once: a report must not depend on the instance or on earlier files."""
    if not _VALIDATORS:
        _VALIDATORS.extend([Pipeline(), Pipeline()])
    return _VALIDATORS


def check_in_process(document: Doc) -> None:
    """What `check` does for one file (validator.check, then the renderers), twice, with every oracle."""
    first, second = validators()
    before = len(NETWORK)
    texts, jsons = [], []
    for validator in (first, second):
        result = validator.check(document.name, document.data)  # an exception here is the bug: the CLI says exit 2
        report = Report([result], Severity.ERROR, validator.rules(), knowledge_base=validator.kb.version)
        texts.append(RENDERERS["text"](report))
        jsons.append(RENDERERS["json"](report))
        exit_status = 0 if all(report.conforms(r) for r in report.results) else 1
        orders = sum(len(r.orders) for r in report.results)
        assert exit_status == 1 or orders >= 1, "exit 0 for a file with no order checked (a file with no order " \
                                                "in it is a finding)"
    no_network_attempt(before)
    assert texts[0] == texts[1], "the same input gave two different text reports:\n" + _diff(texts)
    assert jsons[0] == jsons[1], "the same input gave two different JSON reports:\n" + _diff(jsons)
    parsed = json.loads(jsons[0])
    SCHEMA.validate(parsed)
    assert parsed["summary"]["conforms"] is (exit_status == 0)
    assert "Traceback" not in texts[0] and "internal error" not in texts[0]


def _diff(pair: list[str]) -> str:
    import difflib

    return "".join(list(difflib.unified_diff(pair[0].splitlines(True), pair[1].splitlines(True)))[:40])


@budget("structured")
@given(structured_documents())
def test_structured_orders(document: Doc):
    guarded("structured", document, check_in_process)


@budget("json")
@given(json_mutations())
def test_json_mutations_of_the_examples(document: Doc):
    guarded("json", document, check_in_process)


@budget("bytes")
@given(byte_mutations())
def test_byte_mutations_of_the_examples(document: Doc):
    guarded("bytes", document, check_in_process)


@budget("text")
@given(text_documents())
def test_text_turtle_and_rdf_xml(document: Doc):
    guarded("text", document, check_in_process)


# --- the property, through the command --------------------------------------------------------------------------------

def invoke(args: list[str], stdin: bytes | None = None):
    result = CliRunner().invoke(main, args, input=stdin, catch_exceptions=True)
    shown = f"protovalidate {' '.join(args)}\nexit {result.exit_code}\nstdout:\n{result.stdout[-3000:]}\n" \
            f"stderr:\n{result.stderr[-3000:]}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        shown += "\n" + "".join(traceback.format_exception(*result.exc_info))
        raise AssertionError(f"the command raised {type(result.exception).__name__}:\n{shown}")
    if isinstance(result.exception, SystemExit):
        assert result.exception.code in (0, 1, None), f"SystemExit({result.exception.code!r}):\n{shown}"
    assert result.exit_code in (0, 1), f"exit status {result.exit_code}, not 0 or 1:\n{shown}"
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream and "internal error" not in stream, f"a traceback in the output:\n{shown}"
    return result


def check_with_the_command(document: Doc, via_stdin: bool) -> None:
    before = len(NETWORK)
    with tempfile.TemporaryDirectory(prefix="protovalidate-fuzz-") as folder:
        path = os.path.join(folder, document.name)
        Path(path).write_bytes(document.data)
        if via_stdin:
            args, stdin = ["-", "--stdin-filename", document.name], document.data
        else:
            args, stdin = [path], None
        first = invoke(args, stdin)
        second = invoke(args, stdin)
        as_json = invoke(["--format", "json", *args], stdin)
    no_network_attempt(before)
    assert first.exit_code == second.exit_code == as_json.exit_code, "the same input gave different exit statuses"
    assert first.stdout_bytes == second.stdout_bytes, "the same input gave two different reports:\n" + _diff(
        [first.stdout, second.stdout])
    report = json.loads(as_json.stdout)
    SCHEMA.validate(report)
    assert report["summary"]["conforms"] is (first.exit_code == 0)
    assert first.exit_code == 1 or report["summary"]["orders"] >= 1, "exit 0 for a file with no order checked"


@budget("cli")
@given(all_documents(), st.integers(0, 9))
def test_the_command(document: Doc, stdin_choice: int):
    guarded("cli", document, lambda d: check_with_the_command(d, via_stdin=stdin_choice == 9))


# --- the installed executable, in fresh processes ---------------------------------------------------------------------

def check_with_the_executable(documents: list[Doc]) -> None:
    """Two processes with different hash seeds give the same bytes: a report must not depend on set order."""
    with tempfile.TemporaryDirectory(prefix="protovalidate-fuzz-") as folder:
        paths = []
        for index, document in enumerate(documents):
            path = Path(folder) / f"{index:03d}-{document.name}"
            path.write_bytes(document.data)
            paths.append(str(path))
        runs = []
        for seed in ("1", "2"):
            env = {**os.environ, "PYTHONHASHSEED": seed}
            runs.append(subprocess.run([COMMAND, *paths], capture_output=True, cwd=folder, env=env, timeout=600))
    first, second = runs
    shown = f"exit {first.returncode}\nstdout:\n{first.stdout.decode(errors='replace')[-3000:]}\n" \
            f"stderr:\n{first.stderr.decode(errors='replace')[-3000:]}"
    assert first.returncode in (0, 1), f"exit status {first.returncode}:\n{shown}"
    assert b"Traceback" not in first.stderr and b"internal error" not in first.stderr, shown
    assert first.returncode == second.returncode
    assert first.stdout == second.stdout, "two processes gave different reports:\n" + _diff(
        [first.stdout.decode(errors="replace"), second.stdout.decode(errors="replace")])


@budget("subprocess")
@given(st.lists(all_documents(), min_size=SUBPROCESS_BATCH, max_size=SUBPROCESS_BATCH))
def test_the_installed_command_in_fresh_processes(documents: list[Doc]):
    TRIED["subprocess"] += len(documents) - 1  # guarded counts one
    guarded("subprocess", Doc("batch", b"".join(d.data for d in documents), "batch"),
            lambda _: check_with_the_executable(documents))


# --- the tally (runs last: pytest keeps the order of the file) --------------------------------------------------------

def test_zz_documents_tried(capsys):
    total = sum(TRIED.values())
    lines = [f"protovalidate fuzz [{PROFILE}{', collect' if COLLECT else ''}]: {total} documents tried in "
             f"{time.monotonic() - STARTED:.0f} s ({', '.join(f'{k} {v}' for k, v in sorted(TRIED.items()))})"]
    for key, (document, text) in sorted(FAILURES.items()):
        lines.append(f"\n=== FAILURE {key}\n{document!r}\n{text}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert not FAILURES, f"{len(FAILURES)} distinct failures (printed above)"
