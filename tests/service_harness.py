"""Test material for the CDS Hooks service: `protovalidate serve` run for real, as a process on a free loopback
port, and HTTP spoken to it (docs/cds-hooks.md). Its standard error is collected line by line: the start-up
line, then one JSON line per call (8.4)."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

COMMAND = Path(sys.executable).with_name("protovalidate")
ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "cds-hooks"
SIGN = "/cds-services/protovalidate-order-sign"
SELECT = "/cds-services/protovalidate-order-select"
_LISTENING = re.compile(r"protovalidate serve: listening on (http://\S+)")


class Server:
    def __init__(self, *options: str, cwd: Path = ROOT, start_timeout: float = 120):
        self.process = subprocess.Popen([str(COMMAND), "serve", "--port", "0", *options], cwd=cwd,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.url: str | None = None
        threading.Thread(target=self._collect, daemon=True).start()
        self._ready.wait(start_timeout)
        if self.url is None:
            self.stop()
            raise AssertionError("the service did not start:\n" + "\n".join(self.lines))
        self.host, port = self.url.removeprefix("http://").rsplit(":", 1)
        self.port = int(port)

    def _collect(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            found = _LISTENING.search(line)
            if found and self.url is None:
                self.url = found.group(1)
                self._ready.set()
        self._ready.set()

    def log(self) -> list[dict]:
        """The JSON lines of the log so far (the calls answered)."""
        return [json.loads(line) for line in self.lines if line.startswith("{")]

    def wait_for_log(self, count: int, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.log()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.log()

    def calls(self, calls: list[tuple[str, str, bytes | dict | None, dict | None]], clients: int = 1
              ) -> list[list[tuple[int, dict, bytes]]]:
        """Each call (method, path, body, headers) in order on one keep-alive connection, by each of
        ``clients`` clients at once (tests/service_client.py, a process of its own): for each client, each
        answer's (status, headers, body)."""
        job = {"host": self.host, "port": self.port, "clients": clients, "calls": [
            {"method": method, "path": path, "body": _base64(_bytes(body)),
             "headers": {**({"Content-Type": "application/json"} if body is not None else {}), **(headers or {})}}
            for method, path, body, headers in calls]}
        answers = json.loads(_client(job))
        return [[(a["status"], a["headers"], base64.b64decode(a["body"])) for a in client] for client in answers]

    def call(self, method: str, path: str, body: bytes | dict | None = None,
             headers: dict | None = None) -> tuple[int, dict, bytes]:
        return self.calls([(method, path, body, headers)])[0][0]

    def post(self, path: str, body, headers: dict | None = None) -> tuple[int, dict, dict | None]:
        status, answer_headers, data = self.call("POST", path, body, headers)
        return status, answer_headers, json.loads(data) if data else None

    def raw(self, chunks: list[bytes], pause: float = 0) -> tuple[str, float]:
        """The chunks sent on a bare socket, ``pause`` seconds apart: the service's status line, and how long
        after the last chunk it came."""
        answer = json.loads(_client({"host": self.host, "port": self.port, "pause": pause,
                                     "raw": [_base64(chunk) for chunk in chunks]}))
        return answer["line"], answer["seconds"]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def _bytes(body: bytes | dict | None) -> bytes | None:
    return json.dumps(body).encode("utf-8") if isinstance(body, dict) else body


def _base64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode() if data is not None else None


def _client(job: dict) -> str:
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("service_client.py"))],
                          input=json.dumps(job), capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise AssertionError("the HTTP client failed:\n" + done.stderr[-3000:])
    return done.stdout


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text("utf-8"))


def without_uuids(value):
    """An answer with every uuid taken out (new per call, 5.2)."""
    if isinstance(value, dict):
        return {k: without_uuids(v) for k, v in value.items() if k != "uuid"}
    if isinstance(value, list):
        return [without_uuids(v) for v in value]
    return value


ITEM = re.compile(r"^- \*\*(Violation|Warning|Note)\*\* `([a-z0-9-]+)`", re.M)
LEVELS = {"Violation": "error", "Warning": "warning", "Note": "info"}


def card_items(cards: list[dict]) -> list[tuple[str, str]]:
    """(level, rule) of every item of every card's detail, in order (5.4)."""
    return [(LEVELS[level], rule) for card in cards for level, rule in ITEM.findall(card["detail"])]
