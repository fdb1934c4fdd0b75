"""`protovalidate serve` start-up (docs/cds-hooks.md 1, 8.1): the options (command line over
[tool.protovalidate.serve] over the defaults), the knowledge base, the trust files, the listener, uvicorn.

Everything that can refuse to start is done before the socket is bound, so that a bad configuration exits 2
and binds nothing. With --workers N the socket is bound here and handed to N processes, each of which loads
the knowledge base itself from the options passed in the environment (uvicorn starts them by spawning)."""

from __future__ import annotations

import ipaddress
import json
import math
import os
import signal
import socket
import sys
import tomllib
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from chemo_protovalidate.settings import (ConfigError, Settings, forbid_network, load_fhir_map, load_settings,
                                          open_pipeline, settings_from)

_OPTIONS_VARIABLE = "PROTOVALIDATE_SERVE_OPTIONS"


@dataclass(frozen=True)
class Options:
    """The options of cds-hooks.md section 1; each is also a key of [tool.protovalidate.serve]."""

    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str | None = None
    regimens: tuple[str, ...] = ()
    config: str | None = None
    fhir_map: str | None = None
    tolerance: float | None = None
    weight_change_threshold: float | None = None
    workers: int = 1
    max_body: int = 5 * 1024 * 1024
    body_timeout: float = 10.0
    check_timeout: float = 5.0
    trust: dict = field(default_factory=dict)
    allow_unauthenticated: bool = False
    cors_origin: tuple[str, ...] = ()
    source_url: str = "https://w3id.org/protovalidate"

    def url(self, port: int) -> str:
        return (self.base_url or f"http://{self.host}:{port}").rstrip("/")


_KINDS = {"host": str, "port": int, "base_url": str, "regimens": list, "fhir_map": str, "tolerance": float,
          "weight_change_threshold": float, "workers": int, "max_body": int, "body_timeout": float,
          "check_timeout": float, "trust": dict, "allow_unauthenticated": bool, "cors_origin": list,
          "source_url": str}


def options_from(table: dict, given: dict, where: str, root: Path | None = None) -> Options:
    """[tool.protovalidate.serve] (``table``, keys as the options are spelt, without --) under the command
    line's ``given`` (None: not given); a key or a value the service does not understand is refused. Paths of
    the table (regimens, fhir-map, trust files) are relative to ``root``, the folder of its pyproject.toml."""
    merged: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in _KINDS:
            raise ConfigError(f"{where}: [tool.protovalidate.serve] has no option {key} "
                              f"(known: {', '.join(sorted(k.replace('_', '-') for k in _KINDS))})")
        kind = _KINDS[name]
        fits = isinstance(value, kind) or (kind is float and isinstance(value, int))
        if not fits or (isinstance(value, bool) and kind is not bool):  # True is an int to Python, not to TOML
            raise ConfigError(f"{where}: [tool.protovalidate.serve] {key} is not a {kind.__name__}")
        merged[name] = tuple(value) if kind is list else value
    if root is not None:
        def rooted(path: str) -> str:
            return str(root / path)

        if "regimens" in merged:
            merged["regimens"] = tuple(rooted(r) for r in merged["regimens"])
        if "fhir_map" in merged:
            merged["fhir_map"] = rooted(merged["fhir_map"])
        if "trust" in merged:
            merged["trust"] = {issuer: rooted(path) for issuer, path in merged["trust"].items()}
    merged.update({key: value for key, value in given.items()
                   if not (value is None or value is False or value == () or value == {})})
    for name in ("port", "workers", "max_body"):
        low = 0 if name == "port" else 1
        if name in merged and not (low <= merged[name] <= (65535 if name == "port" else 2**40)):
            raise ConfigError(f"{where}: {name.replace('_', '-')} {merged[name]} is out of range")
    for name in ("body_timeout", "check_timeout"):
        if name in merged and not merged[name] > 0:
            raise ConfigError(f"{where}: {name.replace('_', '-')} must be above 0 seconds")
    return Options(**merged)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def discovery() -> dict:
    return json.loads((resources.files(__package__) / "discovery.json").read_text("utf-8"))


def build_service(options: Options, settings: Settings, port: int):
    """The application's Service for one worker: knowledge base, site map, trust files (ConfigError,
    KnowledgeBaseError, TrustError when one cannot be used)."""
    from chemo_protovalidate.serve import app, calls, cards, tokens
    from chemo_protovalidate.serve.batcher import Batcher

    if options.fhir_map is not None:
        fhir_map, origin = load_fhir_map(Path(options.fhir_map))
        settings = replace(settings, fhir_map=fhir_map, fhir_map_origin=origin)
    trust = tokens.load_trust(options.trust) if options.trust else None
    pipeline = open_pipeline(settings, tuple(Path(r) for r in options.regimens), options.tolerance,
                             options.weight_change_threshold, administrations=False, input_kind="fhir")
    version = pipeline.kb.version
    knowledge_base = f"{version.release} (rule book v{version.rule_book})"
    tolerance = pipeline.kb.dose_tolerance_percent()  # the data's, or the run's --tolerance / setting

    def respond(value: dict, result) -> tuple[list[dict], int, int]:
        if result.tool_error is not None:
            raise RuntimeError(result.tool_error)
        if result.orders:
            missing = calls.missing_prefetch(value)
            if missing:
                raise calls.prefetch_error(missing)
        return (cards.cards_for(result, value, knowledge_base=knowledge_base, source_url=options.source_url,
                                tolerance_percent=tolerance), len(result.orders), len(result.all_findings()))

    def not_checked(reason: str) -> dict:
        return cards.not_checked_card(reason, seconds=options.check_timeout, knowledge_base=knowledge_base,
                                      source_url=options.source_url)

    batcher = Batcher(pipeline.check_files)
    return app.Service(discovery=discovery(), check=batcher.check, respond=respond, not_checked=not_checked,
                       base_url=options.url(port),
                       limits=app.Limits(options.max_body, options.body_timeout, options.check_timeout),
                       trust=trust, cors_origins=frozenset(options.cors_origin)), pipeline


def bind(options: Options) -> socket.socket:
    family = socket.AF_INET6 if ":" in options.host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off only on connections whose socket says TCP; with it on, a
    # response's body waits for the client's delayed ACK, 40 ms a call.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((options.host, options.port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def run(options: Options, settings: Settings, announce) -> None:
    """Bind, announce, serve until SIGINT or SIGTERM. Raises what refuses a start before binding."""
    import uvicorn

    if not is_loopback(options.host) and not options.trust and not options.allow_unauthenticated:
        raise ConfigError(f"--host {options.host} is not a loopback address: give --trust ISS=JWKS_FILE (JWT on) "
                          "or --allow-unauthenticated")
    service, pipeline = build_service(options, settings, options.port or 0)  # every refusal before binding
    sock = bind(options)
    port = sock.getsockname()[1]
    if port != options.port:  # --port 0: the base URL (JWT aud) names the port bound
        service.base_url = options.url(port)
    jwt = "on" if service.trust is not None else "off"
    version = pipeline.kb.version
    announce(f"protovalidate serve: listening on http://{_shown_host(options.host)}:{port} "
             f"(knowledge base {version.release}, rule book v{version.rule_book}; JWT {jwt})")
    if not is_loopback(options.host):
        announce(f"protovalidate serve: warning: listening on {options.host}, not loopback; JWT {jwt}")
    for rule_id, level in sorted(settings.rules.items()):
        announce(f"protovalidate: rule {rule_id} reported as {level} ({settings.origin})")
    # uvicorn ends a graceful shutdown by raising the signal again under the handler it found: ours makes
    # that exit 0, as the contract says (SIGINT and SIGTERM: finish the calls in progress, exit 0).
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, lambda *_: sys.exit(0))
    common = dict(timeout_keep_alive=5, access_log=False, log_level="warning", server_header=False,
                  timeout_graceful_shutdown=math.ceil(options.check_timeout), lifespan="off")
    if options.workers == 1:
        from chemo_protovalidate.serve.app import create

        config = uvicorn.Config(create(service), **common)
        uvicorn.Server(config).run(sockets=[sock])
        return
    from uvicorn.supervisors import Multiprocess

    os.environ[_OPTIONS_VARIABLE] = json.dumps({**asdict(options), "port": port,
                                                "base_url": options.url(port),
                                                "config": str(settings.origin) if settings.origin else None})
    config = uvicorn.Config("chemo_protovalidate.serve.server:worker_app", factory=True, workers=options.workers,
                            **common)
    Multiprocess(config, sockets=[sock]).run()


def worker_app():
    """One worker of --workers N: its own knowledge base, built from the options the parent checked."""
    from chemo_protovalidate.serve.app import create

    forbid_network()
    given = json.loads(os.environ[_OPTIONS_VARIABLE])
    options = Options(**{k: tuple(v) if isinstance(v, list) else v for k, v in given.items()})
    settings = settings_at(options.config) if options.config else Settings()
    service, _ = build_service(options, settings, options.port)
    return create(service)


def settings_at(config: str | None) -> Settings:
    """--config PYPROJECT: that file's [tool.protovalidate]; none: the nearest pyproject.toml's, as for check."""
    if config is None:
        return load_settings()
    path = Path(config)
    try:
        table = tomllib.loads(path.read_text("utf-8")).get("tool", {}).get("protovalidate", {})
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from error
    return settings_from(table, path)


def _shown_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def extra_missing() -> str | None:
    """The pip line, when the service extra is not installed."""
    try:
        import jwt  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        return "pip install 'chemo-protovalidate[service]'"
    return None


def stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
