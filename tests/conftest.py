"""Shared fixtures. No test may open a network connection."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from chemo_protovalidate.check.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "orders"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(scope="session")
def validator() -> Pipeline:
    return Pipeline()


def check_file(validator: Pipeline, path: Path):
    return validator.check(str(path), path.read_bytes())
