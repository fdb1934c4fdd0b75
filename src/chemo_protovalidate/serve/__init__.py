"""The CDS Hooks front door (docs/cds-hooks.md): `protovalidate serve` answers an EHR's order-sign and
order-select calls with cards.

    server.py   start-up: settings, knowledge base, trust files, the listener (uvicorn)
    app.py      the ASGI application (Starlette): routes, request checks, limits, errors, logs, CORS
    calls.py    what a CDS Hooks request must be (4.1) and the prefetch it must carry (4.3)
    batcher.py  the checks' thread: calls that arrive while a check runs are checked together
    cards.py    the pipeline's findings for a request as cards (5)
    tokens.py   JWT verification, offline, against the configured key sets (8.3)

Needs the `service` extra (Starlette, uvicorn, PyJWT); nothing else of the package imports this one but the
command, and only when `serve` is run.
"""
