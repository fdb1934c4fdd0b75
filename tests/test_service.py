"""The CDS Hooks service (docs/cds-hooks.md), run for real: `protovalidate serve` on a free loopback port, spoken
to over HTTP. One server serves the module's calls; tests that need other options start their own."""

from __future__ import annotations

import copy
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from service_harness import COMMAND, EXAMPLES, ROOT, SELECT, SIGN, Server, card_items, example, without_uuids

DATA = Path(__file__).parent / "data" / "cds-hooks"
REQUEST = "order-sign-KRd-cycle1.json"
MISMATCH = "order-sign-KRd-cycle1-dose-mismatch.json"


@pytest.fixture(scope="module")
def server():
    running = Server("--body-timeout", "1", "--max-body", "200000")
    yield running
    assert running.stop() == 0, "SIGTERM ends the service with status 0"


def _select(request: dict, selections: list[str]) -> dict:
    request = copy.deepcopy(request)
    request["hook"] = "order-select"
    request["context"]["selections"] = selections
    return request


# --- discovery and cards ---------------------------------------------------------------------------------------


def test_discovery_is_the_contract_s(server):
    status, headers, data = server.call("GET", "/cds-services")
    assert status == 200
    assert json.loads(data) == json.loads((DATA / "discovery.json").read_text("utf-8"))
    assert headers["content-type"].startswith("application/json")
    assert headers["cache-control"] == "no-store" and headers["x-content-type-options"] == "nosniff"


def test_a_warning_order_gets_one_warning_card(server):
    status, _, answer = server.post(SIGN, example(REQUEST))
    assert status == 200
    (card,) = answer["cards"]
    assert card["indicator"] == "warning"
    assert card["summary"] == "Order urn:example:order:0001 (KRd, cycle 1): 3 warnings"
    assert "suggestions" not in card


def test_a_violating_order_gets_a_critical_card(server):
    status, _, answer = server.post(SIGN, example(MISMATCH))
    assert status == 200
    (card,) = answer["cards"]
    assert card["indicator"] == "critical"
    assert card_items([card])[0] == ("error", "dose-amount-mismatch")


def test_a_conforming_order_gets_no_card(server):
    import fhir_writer

    order = json.loads((ROOT / "examples" / "orders" / "valid" / "KRd-cycle1.jsonld").read_text("utf-8"))
    status, _, answer = server.post(SIGN, fhir_writer.cds_request(order).document)
    assert (status, answer) == (200, {"cards": []})


def test_order_select_advises_only_on_the_selected_order(server):
    selected = _select(example(MISMATCH), ["MedicationRequest/krd-c1-cfz-2"])
    status, _, answer = server.post(SELECT, selected)
    _, _, signed = server.post(SIGN, example(MISMATCH))
    assert status == 200 and without_uuids(answer) == without_uuids(signed)
    other = copy.deepcopy(selected)
    other["context"]["draftOrders"]["entry"].append({"resource": {
        "resourceType": "MedicationRequest", "id": "other-1", "status": "draft", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                  "code": "161"}]},
        "subject": {"reference": "Patient/17"}}})
    other["context"]["selections"] = ["MedicationRequest/other-1"]
    assert server.post(SELECT, other)[:3:2] == (200, {"cards": []})


def test_the_answer_is_the_same_on_every_call(server):
    answers = [without_uuids(server.post(SIGN, example(MISMATCH))[2]) for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]


# --- errors (section 7) ----------------------------------------------------------------------------------------


def _without(request: dict, *path: str) -> dict:
    request = copy.deepcopy(request)
    holder = request
    for key in path[:-1]:
        holder = holder[key]
    del holder[path[-1]]
    return request


ERRORS = [
    # (what, method, path, body, headers, status, error)
    ("not JSON", "POST", SIGN, b'{"hook": NaN}', {}, 400, "not-json"),
    ("not UTF-8", "POST", SIGN, b'\xff\xfe{}', {}, 400, "not-json"),
    ("no hookInstance", "POST", SIGN, _without(example(REQUEST), "hookInstance"), {}, 400, "not-a-cds-hooks-request"),
    ("the other hook", "POST", SELECT, example(REQUEST), {}, 400, "not-a-cds-hooks-request"),
    ("no patientId", "POST", SIGN, _without(example(REQUEST), "context", "patientId"), {}, 400,
     "not-a-cds-hooks-request"),
    ("a selection of no entry", "POST", SELECT, _select(example(REQUEST), ["MedicationRequest/nope"]), {}, 400,
     "not-a-cds-hooks-request"),
    ("a context key twice", "POST", SIGN, json.dumps(example(REQUEST)).replace(
        '"userId"', '"patientId": "17", "userId"', 1).encode(), {}, 400, "not-a-cds-hooks-request"),
    ("an unknown service", "POST", "/cds-services/nope", example(REQUEST), {}, 404, "unknown-service"),
    ("another path", "GET", "/nope", None, {}, 404, "not-found"),
    ("GET on a service", "GET", SIGN, None, {}, 405, "method-not-allowed"),
    ("OPTIONS with CORS off", "OPTIONS", SIGN, None, {"Origin": "https://sandbox.cds-hooks.org"}, 405,
     "method-not-allowed"),
    ("a missing prefetch key", "POST", SIGN, _without(example(REQUEST), "prefetch", "neutrophils"), {}, 412,
     "prefetch-missing"),
    ("text/plain", "POST", SIGN, json.dumps(example(REQUEST)).encode(), {"Content-Type": "text/plain"}, 415,
     "unsupported-media-type"),
    ("a body above --max-body", "POST", SIGN, b"{" + b" " * 300000 + b"}", {}, 413, "body-too-large"),
    ("a feedback of another shape", "POST", SIGN + "/feedback", {"feedback": "yes"}, {}, 400,
     "not-a-feedback-request"),
    ("feedback to an unknown service", "POST", "/cds-services/nope/feedback", {"feedback": []}, {}, 404,
     "unknown-service"),
]


@pytest.mark.parametrize("what, method, path, body, headers, status, error", ERRORS, ids=[e[0] for e in ERRORS])
def test_each_error_has_its_status_and_code(server, what, method, path, body, headers, status, error):
    got, answer_headers, data = server.call(method, path, body, headers)
    answer = json.loads(data)
    assert (got, answer["error"]) == (status, error), answer
    assert isinstance(answer["message"], str) and answer["message"]
    if status == 405:
        assert answer_headers["allow"]
    if status == 412:
        assert answer["missing"] == ["neutrophils"]
    assert answer_headers["cache-control"] == "no-store"


def test_a_missing_prefetch_key_is_412_only_when_an_order_is_advised_on(server):
    request = _without(example(REQUEST), "prefetch", "neutrophils")
    request["context"]["draftOrders"]["entry"] = []
    assert server.post(SIGN, request)[:3:2] == (200, {"cards": []})
    outcome = example(REQUEST)
    outcome["prefetch"]["platelets"] = {"resourceType": "OperationOutcome", "issue": []}
    status, _, answer = server.post(SIGN, outcome)
    assert (status, answer["missing"]) == (412, ["platelets"])


def test_more_bytes_than_max_body_without_a_length_is_413(server):
    head = (f"POST {SIGN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    chunk = b"10000\r\n" + b" " * 65536 + b"\r\n"
    line, _ = server.raw([head] + [chunk] * 5)
    assert " 413 " in line, line


def test_a_slow_body_is_408(server):
    line, seconds = server.raw([f"POST {SIGN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                "Content-Length: 100\r\n\r\n{".encode()])
    assert " 408 " in line and seconds < 10, line


# --- feedback and the log (6, 8.4) -----------------------------------------------------------------------------


def test_feedback_is_200_and_logged_without_the_comment(server):
    feedback = json.loads((DATA / "feedback.json").read_text("utf-8"))
    before = len(server.log())
    status, headers, data = server.call("POST", SIGN + "/feedback", feedback)
    assert (status, data) == (200, b"")
    line = server.wait_for_log(before + 1)[-1]
    assert line["feedback"] == [{"card": "00000000-0000-4000-8000-000000000002", "outcome": "overridden",
                                 "outcomeTimestamp": "2026-12-01T08:05:12Z",
                                 "overrideReason": "https://w3id.org/protovalidate/fhir/CodeSystem/override-reason"
                                                   "|protocol-deviation-approved"}]
    assert "tumour board" not in json.dumps(server.log())


def test_one_log_line_per_call_and_nothing_of_the_patient(server, tmp_path):
    request = example(MISMATCH)
    request["hookInstance"] = "hook-instance-logged"
    request["context"]["patientId"] = request["prefetch"]["patient"]["id"] = "PATIENT-ZX81"
    for entry in request["context"]["draftOrders"]["entry"]:
        entry["resource"]["subject"]["reference"] = "Patient/PATIENT-ZX81"
        entry["resource"]["groupIdentifier"]["value"] = "urn:example:order:ORDER-QW77"
    request["context"]["userId"] = "PractitionerRole/USER-KL55"
    request["prefetch"]["weight"]["entry"][0]["resource"]["valueQuantity"]["value"] = 71.37
    before = len(server.log())
    status, _, answer = server.post(SIGN, request, headers={"Authorization": "Bearer TOKEN-VB22"})
    assert status == 200 and answer["cards"][0]["indicator"] == "critical"
    line = server.wait_for_log(before + 1)[-1]
    assert {"time", "method", "path", "status", "ms", "hookInstance", "orders", "findings", "cards"} <= set(line)
    (tmp_path / "request.json").write_text(json.dumps(request), "utf-8")
    command = json.loads(subprocess.run([str(COMMAND), "--format", "json", str(tmp_path / "request.json")],
                                        capture_output=True, text=True, timeout=120).stdout)["files"][0]
    findings = len(command["results"]) + sum(len(order["results"]) for order in command["orders"])
    assert (line["path"], line["status"], line["orders"], line["findings"], line["cards"]) == (
        SIGN, 200, 1, findings, ["critical"])
    logged = "\n".join(server.lines)
    for secret in ("PATIENT-ZX81", "ORDER-QW77", "USER-KL55", "71.37", "TOKEN-VB22", "krd-c1-cfz", "wt-17",
                   "1962-05-14", "carfilzomib"):
        assert secret not in logged, secret


# --- start-up (1, 8.1) -----------------------------------------------------------------------------------------


def _serve(*options: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(COMMAND), "serve", *options], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=env)


def test_serve_without_the_extra_exits_2_with_the_pip_line():
    blocked = ("import sys; sys.modules['starlette'] = None; sys.argv = ['protovalidate', 'serve']; "
               "from chemo_protovalidate.cli import main; main()")
    done = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "pip install 'chemo-protovalidate[service]'" in done.stderr


@pytest.mark.parametrize("options, said", [
    (("--host", "0.0.0.0"), "--trust"),
    (("--trust", "https://ehr.example.org=/no/such/file.json"), "/no/such/file.json"),
])
def test_a_start_that_cannot_be_safe_exits_2_and_binds_nothing(options, said):
    done = _serve("--port", "0", *options)
    assert done.returncode == 2 and said in done.stderr
    assert "listening" not in done.stderr


def test_an_address_in_use_exits_2(server):
    done = _serve("--port", str(server.port))
    assert done.returncode == 2 and "cannot listen" in done.stderr


# --- the check's own limit (5.1) -------------------------------------------------------------------------------


def test_a_check_past_its_time_gets_the_time_out_card():
    slow = Server("--check-timeout", "0.001")
    try:
        status, _, answer = slow.post(SIGN, example(MISMATCH))
    finally:
        slow.stop()
    assert status == 200
    (card,) = answer["cards"]
    assert card["indicator"] == "critical"
    assert card["summary"] == "Draft orders not checked: protovalidate did not finish within 0.001 s"


# --- CORS (8.6) ------------------------------------------------------------------------------------------------


def test_cors_allows_only_the_origins_given():
    allowed = "https://sandbox.cds-hooks.org"
    cors = Server("--cors-origin", allowed)
    try:
        status, headers, data = cors.call("OPTIONS", SIGN, headers={"Origin": allowed})
        assert (status, data) == (204, b"")
        assert headers["access-control-allow-origin"] == allowed
        assert headers["access-control-allow-methods"] == "GET, POST"
        assert headers["access-control-allow-headers"] == "Authorization, Content-Type"
        assert headers["access-control-max-age"] == "600"
        status, headers, _ = cors.call("GET", "/cds-services", headers={"Origin": allowed})
        assert headers["access-control-allow-origin"] == allowed and headers["vary"] == "Origin"
        status, headers, _ = cors.call("OPTIONS", SIGN, headers={"Origin": "https://elsewhere.example"})
        assert status == 405 and "access-control-allow-origin" not in headers
    finally:
        cors.stop()


# --- no outbound connection (4.2, 8.5) --------------------------------------------------------------------------


class Listener:
    """A loopback listener that counts the connections it is offered."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted = 0
        self._stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
                self.accepted += 1
                conn.close()
            except OSError:
                continue

    def close(self):
        self._stop = True
        self.sock.close()


def test_the_service_never_calls_the_fhir_server(server):
    listener = Listener()
    try:
        request = example(MISMATCH)
        request["fhirServer"] = listener.url + "/fhir"
        request["fhirAuthorization"] = {"access_token": "x", "token_type": "Bearer", "expires_in": 300,
                                        "scope": "patient/*.read", "subject": "protovalidate"}
        # a reference only the FHIR server could resolve: what is not in the request does not exist
        request["context"]["draftOrders"]["entry"][0]["resource"]["supportingInformation"] = [
            {"reference": listener.url + "/fhir/Observation/elsewhere"}]
        assert server.post(SIGN, request)[0] == 200
        time.sleep(0.5)
        assert listener.accepted == 0
    finally:
        listener.close()


# --- the cards are the command's findings --------------------------------------------------------------------


def _command_findings(paths: list[Path]) -> dict[str, list[tuple[str, str]]]:
    """(severity, rule) of every finding of each file's orders, by the command, in one run."""
    done = subprocess.run([str(COMMAND), "--format", "json", *map(str, paths)], capture_output=True, text=True,
                          timeout=600)
    return {file["path"]: sorted((r["severity"], r["rule"]) for order in file["orders"] for r in order["results"])
            for file in json.loads(done.stdout)["files"]}


def _requests_of_every_example(tmp_path_factory) -> list[Path]:
    import fhir_writer

    folder = tmp_path_factory.mktemp("cds")
    written = list(sorted(EXAMPLES.glob("*.json")))
    for path in sorted((ROOT / "examples" / "orders").rglob("*.jsonld")):
        try:
            order = json.loads(path.read_text("utf-8"))
        except ValueError:
            continue  # not JSON to Python either (a number of 4,301 digits): no FHIR writer writes it
        request = fhir_writer.cds_request(order)
        if request.document is None:
            continue
        try:
            text = json.dumps(request.document, indent=1, allow_nan=False)
        except ValueError:
            continue  # NaN is no JSON: the service answers 400 not-json (ERRORS above), not cards
        target = folder / (path.stem + ".json")
        target.write_text(text, "utf-8")
        written.append(target)
    return written


def test_the_cards_hold_exactly_the_command_s_findings_on_every_example(server, tmp_path_factory):
    compared = 0
    paths = _requests_of_every_example(tmp_path_factory)
    by_command = _command_findings(paths)
    (answers,) = server.calls([("POST", SIGN, path.read_bytes(), None) for path in paths])
    for path, (status, _, answer) in zip(paths, answers):
        answer = json.loads(answer)
        assert status == 200, path
        expected = by_command[str(path)]
        carded = card_items([c for c in answer["cards"] if not c["summary"].startswith("Draft orders")])
        if any(level in ("error", "warning") for level, _ in expected):
            assert sorted(carded) == expected, path.name
        else:
            assert answer["cards"] == [] or all(c["indicator"] == "critical" for c in answer["cards"]), path.name
        compared += 1
    assert compared >= 20, compared
    # Nothing of any of those patients or orders is in the log: ids, identifiers, birth dates (8.4).
    logged = "\n".join(server.lines)
    for path in paths:
        request = json.loads(path.read_text("utf-8"))
        resources = [e["resource"] for e in request["context"]["draftOrders"].get("entry", [])]
        resources += [p for p in [request.get("prefetch", {}).get("patient")] if p]
        told = {request["context"]["patientId"], request["context"]["userId"]}
        told |= {r["id"] for r in resources if "id" in r}
        told |= {r["groupIdentifier"]["value"] for r in resources if "groupIdentifier" in r}
        told |= {r["birthDate"] for r in resources if "birthDate" in r}
        leaked = sorted(t for t in told if len(t) > 3 and t in logged)  # "17" is in a time, too
        assert not leaked, (path.name, leaked)


# --- JWT (8.3) -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP384R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    public.update(kid="ehr-1", alg="ES384")
    jwks = tmp_path_factory.mktemp("trust") / "jwks.json"
    jwks.write_text(json.dumps({"keys": [public]}))
    issuer = "https://ehr.example.org"
    running = Server("--trust", f"{issuer}={jwks}")
    listener = Listener()

    def token(aud: str | None = None, kid: str = "ehr-1", lifetime: int = 300, age: int = 0, **header) -> dict:
        now = int(time.time()) - age
        claims = {"iss": issuer, "aud": aud or running.url + SIGN, "iat": now, "exp": now + lifetime,
                  "jti": f"jti-{time.monotonic_ns()}"}
        signed = jwt.encode(claims, key, algorithm="ES384", headers={"kid": kid, "typ": "JWT", **header})
        return {"Authorization": f"Bearer {signed}"}

    running.token, running.listener = token, listener
    yield running
    listener.close()
    running.stop()


def test_a_valid_token_is_accepted(secured):
    assert secured.post(SIGN, example(REQUEST), headers=secured.token())[0] == 200
    status, _, _ = secured.call("GET", "/cds-services", headers=secured.token(aud=secured.url + "/cds-services"))
    assert status == 200


@pytest.mark.parametrize("what, make, reason", [
    ("no token", lambda s: {}, "no bearer token"),
    ("expired", lambda s: s.token(lifetime=60, age=200), "expired"),
    ("another aud", lambda s: s.token(aud="https://elsewhere.example/cds-services/protovalidate-order-sign"),
     "aud does not name the URL called"),
    ("an unknown kid", lambda s: s.token(kid="ehr-9"), "no key with that kid"),
])
def test_a_token_that_fails_a_check_is_401(secured, what, make, reason):
    before = len(secured.log())
    status, headers, answer = secured.post(SIGN, example(REQUEST), headers=make(secured))
    assert (status, answer["error"], headers["www-authenticate"]) == (401, "unauthorized", "Bearer")
    assert secured.wait_for_log(before + 1)[-1]["jwt"] == reason


def test_jku_is_never_fetched(secured):
    # an unknown kid with a jku naming a listener: a fetching verifier would call it for the key
    headers = secured.token(kid="ehr-9", jku=secured.listener.url + "/jwks.json")
    assert secured.post(SIGN, example(REQUEST), headers=headers)[0] == 401
    assert secured.post(SIGN, example(REQUEST), headers=secured.token(jku=secured.listener.url))[0] == 200
    time.sleep(0.5)
    assert secured.listener.accepted == 0


# --- load: a short soak in CI (section 9 has the long one) -------------------------------------------------------


def test_eight_clients_on_two_workers_get_the_single_call_s_answer():
    running = Server("--workers", "2")
    try:
        expected = without_uuids(running.post(SIGN, example(MISMATCH))[2])
        clients = running.calls([("POST", SIGN, example(MISMATCH), None)] * 50, clients=8)
        answers = [(status, without_uuids(json.loads(body))) for client in clients for status, _, body in client]
        assert len(answers) == 400 and all(answer == (200, expected) for answer in answers)
        assert len(running.wait_for_log(401, timeout=30)) == 401
    finally:
        assert running.stop() == 0


# --- [tool.protovalidate.serve] (1) ------------------------------------------------------------------------------


def test_the_pyproject_table_sets_the_options_and_the_command_line_wins(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.protovalidate.serve]\ncheck-timeout = 0.001\n'
                                             'source-url = "https://example.org/site-rules"\n')
    configured = Server(cwd=tmp_path)
    try:
        (card,) = configured.post(SIGN, example(MISMATCH))[2]["cards"]
        assert card["summary"].endswith("within 0.001 s") and card["source"]["url"] == "https://example.org/site-rules"
    finally:
        configured.stop()
    overridden = Server("--check-timeout", "30", cwd=tmp_path)
    try:
        (card,) = overridden.post(SIGN, example(MISMATCH))[2]["cards"]
        assert card["summary"].startswith("Order urn:example:order:0001")
    finally:
        overridden.stop()


def test_an_unknown_key_of_the_table_exits_2(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.protovalidate.serve]\ncheck-timout = 1\n')
    done = subprocess.run([str(COMMAND), "serve", "--port", "0"], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert done.returncode == 2 and "check-timout" in done.stderr and "listening" not in done.stderr


# --- failures (5.1 last row, 7: 500) -------------------------------------------------------------------------------
# No request makes the real check fail (the fuzz suites hold it to that), so these two drive the application
# in process, over ASGI: a check that fails, and a discovery answer that cannot be written.


def _asgi_call(application, method: str, path: str, body: bytes) -> tuple[int, dict]:
    import asyncio

    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2)}
    asyncio.run(application(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, json.loads(b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))


def _failing_check_service(log):
    from concurrent.futures import Future

    from chemo_protovalidate.serve import app, server

    def failing_check(body, arrival):
        future = Future()
        future.set_exception(RuntimeError("a failure inside the check"))
        return future

    return app.create(app.Service(
        discovery=server.discovery(), check=failing_check, respond=lambda value, result: ([], 0, 0),
        not_checked=lambda reason: {"indicator": "critical", "summary": reason}, base_url="http://127.0.0.1:2",
        log=log))


def test_a_check_that_fails_gets_the_internal_error_card():
    logged = []
    status, answer = _asgi_call(_failing_check_service(logged.append), "POST", SIGN, json.dumps(example(REQUEST)).encode())
    assert (status, answer) == (200, {"cards": [{"indicator": "critical", "summary": "internal"}]})
    assert logged[-1]["checkError"] == "internal-error"


def test_a_failure_outside_the_check_is_500():
    from chemo_protovalidate.serve import app

    broken = app.create(app.Service(discovery={"services": object()}, check=None, respond=None,
                                    not_checked=None, base_url="http://127.0.0.1:2", log=lambda entry: None))
    status, answer = _asgi_call(broken, "GET", "/cds-services", b"")
    assert (status, answer["error"]) == (500, "internal-error")
