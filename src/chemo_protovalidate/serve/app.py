"""The ASGI application of `protovalidate serve` (docs/cds-hooks.md sections 2-8): one endpoint that
dispatches by path and method itself, so that every answer (405 with Allow, 404, the limits) is the
contract's JSON and never the framework's default page."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import anyio
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from chemo_protovalidate.serve import calls
from chemo_protovalidate.serve.calls import SERVICES, CallError
from chemo_protovalidate.serve.server import Options

ROOT = "/cds-services"
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def write_log_line(entry: dict) -> None:
    # One write a line, flushed: the workers of --workers share standard error, and lines must not interleave.
    sys.stderr.write(json.dumps(entry, ensure_ascii=False) + "\n")
    sys.stderr.flush()


@dataclass
class Limits:
    # The defaults are the options' (server.Options, which must import without the service extra).
    max_body: int = Options.max_body
    body_timeout: float = Options.body_timeout
    check_timeout: float = Options.check_timeout


@dataclass
class Service:
    """What the application needs, made once per worker by server.py: the checker of a CDS Hooks body (its
    findings as cards, or a not-checked card), discovery, the limits, JWT, CORS and the log."""

    discovery: dict
    check: Callable[[bytes, str], Future]
    """check(body bytes, arrival time) -> the future FileResult of the pipeline (serve.batcher)."""
    respond: Callable[[dict, Any], tuple[list[dict], int, int]]
    """respond(request value, FileResult) -> (cards, orders advised on, findings); raises CallError (412)."""
    not_checked: Callable[[str], dict]
    """not_checked("timeout" | "internal") -> the one card of 5.1's last row."""
    base_url: str
    limits: Limits = field(default_factory=Limits)
    trust: Any = None
    """serve.tokens.Trust, or None when JWT verification is off."""
    cors_origins: frozenset = frozenset()
    log: Callable[[dict], None] = write_log_line


def create(service: Service) -> Starlette:
    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        entry: dict = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                       "method": request.method}
        try:
            response = await _answer(service, request, entry)
        except CallError as error:
            entry["error"] = error.error
            response = _json(error.body(), error.status, error.headers)
        except Exception:  # noqa: BLE001  a failure outside the check (inside it: the internal-error card)
            entry["error"] = "internal-error"
            response = _json({"error": "internal-error", "message": "protovalidate failed (internal error)"}, 500)
        origin = request.headers.get("origin")
        if origin is not None and origin in service.cors_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        entry.setdefault("path", "(other)")
        entry["status"] = response.status_code
        entry["ms"] = round((time.perf_counter() - started) * 1000, 1)
        service.log(entry)
        return response

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])


async def _answer(service: Service, request: Request, entry: dict) -> Response:
    kind, service_id = _route(request.url.path)
    if kind is None:
        raise CallError(404, "not-found", "no such path; the services are listed at /cds-services")
    entry["path"] = ROOT if kind == "discovery" else (
        f"{ROOT}/{service_id}" + ("/feedback" if kind == "feedback" else "") if service_id in SERVICES
        else f"{ROOT}/(unknown)")
    if request.method == "OPTIONS":
        return _preflight(service, request, kind)
    wanted = "GET" if kind == "discovery" else "POST"
    if request.method != wanted:
        raise CallError(405, "method-not-allowed", f"{request.method} is not allowed here; {wanted} is",
                        headers={"Allow": _allowed(service, wanted)})
    if service.trust is not None:
        _verify(service, request, kind, service_id, entry)
    if kind == "discovery":
        return _json(service.discovery)
    if service_id not in SERVICES:
        raise CallError(404, "unknown-service", "no CDS service has this id; the services are listed at /cds-services")
    body = await _body(service, request)
    value = calls.parse(body)
    if kind == "feedback":
        entry["feedback"] = calls.feedback_items(value)
        return Response(b"", 200, headers=_HEADERS, media_type="application/json")
    calls.check_request(value, SERVICES[service_id])
    entry["hookInstance"] = value["hookInstance"]
    if SERVICES[service_id] == "order-sign" and "selections" in value["context"]:
        # order-sign advises on every order: selections belong to order-select only
        del value["context"]["selections"]
        body = json.dumps(value).encode("utf-8")
    arrival = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    try:
        with anyio.fail_after(service.limits.check_timeout):
            # The check runs in the checks' thread; past the time-out the answer is the time-out card at once
            # (5.1: an EHR waiting past its deadline shows nothing) and the check, if it started, ends alone.
            result = await asyncio.wrap_future(service.check(body, arrival))
        cards, orders, findings = service.respond(value, result)
        entry.update(orders=orders, findings=findings)
    except TimeoutError:
        cards = [service.not_checked("timeout")]
        entry["checkError"] = "timeout"
    except CallError:
        raise
    except Exception:  # noqa: BLE001  the check failed: the orders were not checked, and the card says so
        cards = [service.not_checked("internal")]
        entry["checkError"] = "internal-error"
    entry["cards"] = [card["indicator"] for card in cards]
    return _json({"cards": cards})


def _route(path: str) -> tuple[str | None, str | None]:
    if path.rstrip("/") == ROOT:
        return "discovery", None
    if not path.startswith(ROOT + "/"):
        return None, None
    parts = path[len(ROOT) + 1:].split("/")
    if len(parts) == 1 and parts[0]:
        return "call", parts[0]
    if len(parts) == 2 and parts[0] and parts[1] == "feedback":
        return "feedback", parts[0]
    return None, None


def _preflight(service: Service, request: Request, kind: str) -> Response:
    if request.headers.get("origin") not in service.cors_origins:
        raise CallError(405, "method-not-allowed", "OPTIONS is allowed only for a CORS origin of the service",
                        headers={"Allow": _allowed(service, "GET" if kind == "discovery" else "POST")})
    return Response(b"", 204, headers={**_HEADERS, "Access-Control-Allow-Methods": "GET, POST",
                                       "Access-Control-Allow-Headers": "Authorization, Content-Type",
                                       "Access-Control-Max-Age": "600"}, media_type="application/json")


def _allowed(service: Service, method: str) -> str:
    return f"{method}, OPTIONS" if service.cors_origins else method  # OPTIONS is 405 with CORS off (8.6)


def _verify(service: Service, request: Request, kind: str, service_id: str | None, entry: dict) -> None:
    base = service.base_url.rstrip("/") + ROOT
    audiences = [base] if kind == "discovery" else [f"{base}/{service_id}"]
    if kind == "feedback":
        audiences.insert(0, f"{base}/{service_id}/feedback")
    reason = service.trust.verify(request.headers.get("authorization"), audiences)
    if reason is not None:
        entry["jwt"] = reason
        raise CallError(401, "unauthorized", "the request needs a valid JWT bearer token from a trusted issuer",
                        headers={"WWW-Authenticate": "Bearer"})


async def _body(service: Service, request: Request) -> bytes:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise CallError(415, "unsupported-media-type", "the body must be application/json")
    limit = service.limits.max_body
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise CallError(413, "body-too-large", f"the body is larger than {limit} bytes")
    chunks, size = [], 0
    try:
        with anyio.fail_after(service.limits.body_timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise CallError(413, "body-too-large", f"the body is larger than {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise CallError(408, "body-timeout", f"the body did not arrive within {service.limits.body_timeout:g} s") \
            from None
    except ClientDisconnect:
        raise CallError(400, "not-json", "the client closed the connection before the body ended") from None
    return b"".join(chunks)


def _json(value: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(value, ensure_ascii=False).encode("utf-8"), status,
                    headers={**_HEADERS, **(headers or {})}, media_type="application/json")
