"""What the CDS Hooks service costs (docs/cds-hooks.md section 9), each measure beside its expectation:
`protovalidate serve` run for real on loopback, called with the request of 10.1.

    .venv/bin/python bench/bench_service.py [--calls 1000] [--seconds 30] [--memory-calls 10000]

warm latency p50/p99 (one client, keep-alive, 50 calls to warm up, then --calls in sequence, --workers 1);
throughput with 8 concurrent clients for --seconds against --workers 2, with every answer compared to the
single call's (uuids aside); the same latency run with JWT on and a valid ES384 token per call; start to
ready (the command started until discovery answers); resident memory after --memory-calls calls against
after warm-up.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from service_harness import SIGN, Server, example, without_uuids  # noqa: E402

REQUEST = json.dumps(example("order-sign-KRd-cycle1.json")).encode("utf-8")


def _connect(server: Server) -> http.client.HTTPConnection:
    """A keep-alive connection with Nagle's algorithm off, as curl and the common HTTP clients open it: with it
    on, the body's last segment waits for the service's delayed ACK (40 ms on Linux) on every call."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
    connection.connect()
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


def _call(connection: http.client.HTTPConnection, body: bytes = REQUEST, headers: dict | None = None) -> tuple[int, bytes]:
    connection.request("POST", SIGN, body=body, headers={"Content-Type": "application/json", **(headers or {})})
    response = connection.getresponse()
    return response.status, response.read()


def _latencies(server: Server, calls: int, token=None) -> list[float]:
    connection = _connect(server)
    for _ in range(50):
        _call(connection, headers=token() if token else None)
    times = []
    for _ in range(calls):
        headers = token() if token else None
        start = time.perf_counter()
        status, _ = _call(connection, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert status == 200, status
    connection.close()
    return times


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _throughput(server: Server, seconds: float, expected) -> tuple[float, int, int]:
    done, errors, unequal = [0], [0], [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client():
        connection = _connect(server)
        while time.monotonic() < stop:
            status, data = _call(connection)
            with lock:
                done[0] += 1
                errors[0] += status != 200
                unequal[0] += status == 200 and without_uuids(json.loads(data)) != expected
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(8)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0] / (time.monotonic() - start), errors[0], unequal[0]


def _jwt_setup(folder: Path):
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP384R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    public.update(kid="bench-1", use="sig", alg="ES384")
    jwks = folder / "jwks.json"
    jwks.write_text(json.dumps({"keys": [public]}))
    issuer = "https://ehr.example.org"

    def token_for(base_url: str):
        def token():
            now = int(time.time())
            signed = jwt.encode({"iss": issuer, "aud": base_url + SIGN, "exp": now + 300, "iat": now,
                                 "jti": str(uuid.uuid4())}, key, algorithm="ES384",
                                headers={"kid": "bench-1", "typ": "JWT"})
            return {"Authorization": f"Bearer {signed}"}
        return token
    return f"{issuer}={jwks}", token_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--memory-calls", type=int, default=10000)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, load {os.getloadavg()[0]:.2f}")

    started = time.perf_counter()
    server = Server()
    discovery = _connect(server)
    discovery.request("GET", "/cds-services")
    assert discovery.getresponse().read()
    ready = time.perf_counter() - started
    print(f"start to ready:        {ready:6.2f} s   (expectation <= 3 s)")
    try:
        times = _latencies(server, args.calls)
        p50, p99 = _percentile(times, 0.50), _percentile(times, 0.99)
        print(f"latency, warm, 1 client, {args.calls} calls: p50 {p50:5.1f} ms, p99 {p99:5.1f} ms   "
              f"(expectation <= 30 / <= 80 ms)")
        connection = _connect(server)
        before = _rss_kib(server.process.pid)
        for _ in range(args.memory_calls):
            _call(connection)
        after = _rss_kib(server.process.pid)
        connection.close()
        print(f"memory: {before / 1024:.0f} MiB after warm-up, {after / 1024:.0f} MiB after {args.memory_calls} "
              f"calls: {100 * (after - before) / before:+.1f} %   (expectation <= 10 %)")
        expected = without_uuids(json.loads(_call(_connect(server))[1]))
    finally:
        server.stop()

    workers = Server("--workers", "2")
    try:
        rate, errors, unequal = _throughput(workers, args.seconds, expected)
        print(f"throughput, 8 clients, 2 workers, {args.seconds:g} s: {rate:5.1f} calls/s, {errors} errors, "
              f"{unequal} answers unlike the single call's   (expectation >= 60 calls/s, 0, 0)")
    finally:
        workers.stop()

    with tempfile.TemporaryDirectory() as folder:
        trust, token_for = _jwt_setup(Path(folder))
        secured = Server("--trust", trust)
        try:
            with_jwt = _latencies(secured, args.calls, token_for(secured.url))
        finally:
            secured.stop()
    extra = _percentile(with_jwt, 0.5) - p50
    print(f"JWT on (ES384 per call): p50 {_percentile(with_jwt, 0.5):5.1f} ms, {extra:+.1f} ms over JWT off   "
          f"(expectation <= +5 ms)")


if __name__ == "__main__":
    main()
