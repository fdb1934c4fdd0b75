"""Checking many files: each read within the limits, in one process or in several.

The report is the same whatever the number of processes: results come back in
the order the files were given, and an order's findings do not depend on the
orders it is checked beside (engine.py).
"""

from __future__ import annotations

import math
import multiprocessing
import sys
from pathlib import Path
from typing import Iterator

from chemo_protovalidate.model.findings import FileResult
from chemo_protovalidate.read.jsonld import format_finding
from chemo_protovalidate.read.limits import MAX_BYTES

STDIN = "-"
# Files per task handed to a worker: enough to fill the engine's batches, few enough to share the work.
_CHUNK_RANGE = (8, 64)

_worker: tuple | None = None  # (validator, stdin_filename, max_bytes), inherited by forked workers


def check_paths(validator, names: list[str], stdin_filename: str | None = None, max_bytes: int = MAX_BYTES,
                jobs: int = 1) -> Iterator[FileResult]:
    """The result of each file, in the order given; standard input is read here, files by the workers."""
    global _worker
    _worker = (validator, stdin_filename, max_bytes)
    if "fork" not in multiprocessing.get_all_start_methods():  # Windows: one process, the same report
        jobs = 1
    if jobs == 1:  # one stream of files: the engine's batches span files, and nothing waits in memory
        yield from validator.check_files(read_file(name, stdin_filename, max_bytes) for name in names)
        return
    items = [read_file(name, stdin_filename, max_bytes) if name == STDIN else name for name in names]
    size = min(max(math.ceil(len(items) / (jobs * 4)), _CHUNK_RANGE[0]), _CHUNK_RANGE[1])
    chunks = [items[start:start + size] for start in range(0, len(items), size)]
    # Forked workers inherit the loaded knowledge base and the network guard; nothing is loaded twice.
    with multiprocessing.get_context("fork").Pool(min(jobs, len(chunks))) as pool:
        for results in pool.imap(_check_chunk, chunks):
            yield from results


def _check_chunk(items: list) -> list[FileResult]:
    validator, stdin_filename, max_bytes = _worker
    return list(validator.check_files(
        read_file(item, stdin_filename, max_bytes) if isinstance(item, str) else item for item in items))


def read_file(name: str, stdin_filename: str | None, max_bytes: int) -> tuple[str, bytes] | FileResult:
    """The file's name as reported and its bytes, or the finding that it could not be read."""
    shown = (stdin_filename or "<stdin>") if name == STDIN else name
    try:
        if name == STDIN:
            data = sys.stdin.buffer.read(max_bytes + 1)
            too_large = len(data) > max_bytes
        else:
            too_large = Path(name).stat().st_size > max_bytes
            data = b"" if too_large else Path(name).read_bytes()
    except OSError as error:
        return FileResult(shown, tool_error=f"cannot read: {error.strerror or error}")
    if too_large:
        return FileResult(shown, findings=[format_finding(
            "file-too-large", f"the file is larger than {max_bytes} bytes (--max-bytes): not read")])
    return shown, data
