"""The calls that arrive while a check runs are checked together, in one pipeline run.

The engine's cost is mostly per run, not per order (its queries are parsed and run once for a batch of
orders: about 30 ms for one order, 9 ms more for each further one, bench/README.md), so eight EHR clients
calling at once are served far faster as one run of eight than as eight runs. A call alone is checked at
once: nothing waits for company. One thread per worker process runs the checks, which is also all the
CPU a process has (the checks hold the GIL)."""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Callable, Iterable, Iterator

from chemo_protovalidate.model.findings import FileResult

MAX_CALLS = 16
"""Calls checked in one run at most: beyond, the first call of a run would wait for too many others."""

CheckMany = Callable[[Iterable[tuple[str, bytes, str]]], Iterator[FileResult]]


class Batcher:
    def __init__(self, check_many: CheckMany, max_calls: int = MAX_CALLS) -> None:
        self._check_many = check_many
        self._max_calls = max_calls
        self._waiting: queue.SimpleQueue[tuple[bytes, str, Future]] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="protovalidate-checks", daemon=True).start()

    def check(self, body: bytes, arrival_time: str) -> Future:
        """The future FileResult of one CDS Hooks body; cancelling it before its run starts leaves it out."""
        future: Future = Future()
        self._waiting.put((body, arrival_time, future))
        return future

    def _run(self) -> None:
        while True:
            calls = [self._waiting.get()]
            while len(calls) < self._max_calls:
                try:
                    calls.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            calls = [call for call in calls if call[2].set_running_or_notify_cancel()]  # timed out while queued
            if not calls:
                continue
            try:
                results = list(self._check_many(
                    (f"cds-hooks-request-{i}.json", body, arrival) for i, (body, arrival, _) in enumerate(calls)))
            except Exception as error:  # noqa: BLE001  each call of the run answers with the internal-error card
                for _, _, future in calls:
                    future.set_exception(error)
                continue
            for (_, _, future), result in zip(calls, results):
                future.set_result(result)
