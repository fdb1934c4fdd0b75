"""The service's checks thread (serve/batcher.py): calls that arrive while a run goes on are checked together,
each gets its own result, and a call given up before its run starts is left out."""

from __future__ import annotations

import threading

import pytest

from chemo_protovalidate.model.findings import FileResult
from chemo_protovalidate.serve.batcher import Batcher


class Recording:
    """A check_many that records each run's calls, and holds the first run until released."""

    def __init__(self):
        self.runs: list[list[tuple[str, bytes, str]]] = []
        self.started, self.release = threading.Event(), threading.Event()

    def __call__(self, items):
        items = list(items)
        self.runs.append(items)
        self.started.set()
        self.release.wait(10)
        if any(body == b"boom" for _, body, _ in items):
            raise RuntimeError("a failure inside the check")
        return iter(FileResult(body.decode()) for _, body, _ in items)


def test_calls_that_arrive_during_a_run_are_checked_together_each_with_its_result():
    check = Recording()
    batcher = Batcher(check)
    first = batcher.check(b"a", "2026-12-01T08:00:00Z")
    assert check.started.wait(10)
    later = [batcher.check(body, f"2026-12-01T08:00:0{i}Z") for i, body in enumerate([b"b", b"c", b"d"], 1)]
    check.release.set()
    assert first.result(10).path == "a"
    assert [f.result(10).path for f in later] == ["b", "c", "d"]
    assert [[body for _, body, _ in run] for run in check.runs] == [[b"a"], [b"b", b"c", b"d"]]
    assert [when for _, _, when in check.runs[1]] == ["2026-12-01T08:00:01Z", "2026-12-01T08:00:02Z",
                                                     "2026-12-01T08:00:03Z"]


def test_a_call_given_up_before_its_run_is_left_out_and_a_failure_reaches_each_call_of_its_run():
    check = Recording()
    batcher = Batcher(check)
    batcher.check(b"a", "t")
    assert check.started.wait(10)
    given_up, failing, other = batcher.check(b"x", "t"), batcher.check(b"boom", "t"), batcher.check(b"y", "t")
    assert given_up.cancel()
    check.release.set()
    with pytest.raises(RuntimeError):
        failing.result(10)
    with pytest.raises(RuntimeError):
        other.result(10)
    assert [body for _, body, _ in check.runs[1]] == [b"boom", b"y"]


def test_a_run_holds_at_most_max_calls():
    check = Recording()
    batcher = Batcher(check, max_calls=2)
    batcher.check(b"a", "t")
    assert check.started.wait(10)
    futures = [batcher.check(bytes([98 + i]), "t") for i in range(5)]
    check.release.set()
    assert [f.result(10).path for f in futures] == ["b", "c", "d", "e", "f"]
    assert [len(run) for run in check.runs] == [1, 2, 2, 1]
