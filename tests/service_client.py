"""An HTTP client for the service tests, run as its own process.

The test process cannot be the client: a test that runs the command in process (click's CliRunner) installs
the command's network guard, an audit hook that refuses every connect and that nothing can remove, and the
tests of a worker share its process. So each exchange with the service runs here, reading one JSON job on
standard input and writing the answers on standard output:

    {"host", "port", "calls": [{"method", "path", "body" (base64), "headers"}], "clients": N}
        the calls in order on one keep-alive connection (Nagle off, as curl), by each of N clients at once;
        answers: [[{"status", "headers", "body" (base64)}, ...] for each client]
    {"host", "port", "raw": [base64 chunk, ...], "pause": S}
        the chunks on a bare socket, S seconds apart, then the first line the service sends back
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import sys
import threading
import time


def _calls(job: dict) -> list[dict]:
    connection = http.client.HTTPConnection(job["host"], job["port"], timeout=120)
    connection.connect()
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    answers = []
    for call in job["calls"]:
        body = base64.b64decode(call["body"]) if call.get("body") is not None else None
        connection.request(call["method"], call["path"], body=body, headers=call.get("headers") or {})
        response = connection.getresponse()
        data = response.read()
        answers.append({"status": response.status, "headers": {k.lower(): v for k, v in response.getheaders()},
                        "body": base64.b64encode(data).decode()})
    connection.close()
    return answers


def _raw(job: dict) -> str:
    with socket.create_connection((job["host"], job["port"]), timeout=60) as sock:
        try:
            for chunk in job["raw"]:
                sock.sendall(base64.b64decode(chunk))
                time.sleep(job.get("pause", 0))
        except OSError:
            pass  # the service may close as soon as it has answered
        started = time.monotonic()
        line = sock.recv(65536).split(b"\r\n")[0].decode("latin-1")
        return json.dumps({"line": line, "seconds": time.monotonic() - started})


def main() -> None:
    job = json.load(sys.stdin)
    if "raw" in job:
        print(_raw(job))
        return
    results: list = [None] * job.get("clients", 1)

    def client(i: int) -> None:
        results[i] = _calls(job)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(results))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
