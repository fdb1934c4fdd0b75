"""Test material for the CDS Hooks service: `protovalidate serve` run for real, as a process on a free loopback
port, and HTTP spoken to it (docs/cds-hooks.md). Its standard error is collected line by line: the start-up
line, then one JSON line per call (8.4)."""

from __future__ import annotations

import http.client
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


LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def loopback_only(monkeypatch) -> None:
    """The suite's network guard (conftest.no_network), opened to loopback only: the tests talk to the service
    on 127.0.0.1, and nothing else may be reached."""
    import socket

    connect, create, resolve = socket.socket.connect, socket.create_connection, socket.getaddrinfo

    def on_loopback(address) -> bool:
        return isinstance(address, tuple) and address[0] in LOOPBACK

    def connect_(self, address):
        if not on_loopback(address):
            raise AssertionError(f"a test tried to open a network connection to {address!r}")
        return connect(self, address)

    def create_(address, *args, **kwargs):
        if not on_loopback(address):
            raise AssertionError(f"a test tried to open a network connection to {address!r}")
        return create(address, *args, **kwargs)

    def resolve_(host, *args, **kwargs):
        if host not in LOOPBACK:
            raise AssertionError(f"a test tried to resolve {host!r}")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect_)
    monkeypatch.setattr(socket, "create_connection", create_)
    monkeypatch.setattr(socket, "getaddrinfo", resolve_)


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

    def call(self, method: str, path: str, body: bytes | dict | None = None, headers: dict | None = None,
             connection: http.client.HTTPConnection | None = None) -> tuple[int, dict, bytes]:
        own = connection is None
        connection = connection or http.client.HTTPConnection(self.host, self.port, timeout=60)
        if isinstance(body, dict):
            body = json.dumps(body).encode("utf-8")
        sent = {"Content-Type": "application/json"} if body is not None else {}
        sent.update(headers or {})
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        data = response.read()
        if own:
            connection.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def post(self, path: str, body, **kwargs) -> tuple[int, dict, dict | None]:
        status, headers, data = self.call("POST", path, body, **kwargs)
        return status, headers, json.loads(data) if data else None

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


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
