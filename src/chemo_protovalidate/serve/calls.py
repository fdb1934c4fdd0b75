"""What a CDS Hooks call must be before its orders are read (docs/cds-hooks.md 4.1, 4.3, 6), and the error
answers of section 7. Every message names fields and keys, never a value of the request (7): an EHR may show
it, and a value could be a patient's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chemo_protovalidate.read.jsonld import NOT_LOADED, duplicate_keys, load_json

SERVICES = {"protovalidate-order-sign": "order-sign", "protovalidate-order-select": "order-select"}
"""Service id -> its hook (discovery, section 3)."""

PREFETCH_KEYS = ("patient", "weight", "height", "bsa", "creatinineClearance", "neutrophils", "platelets")
"""The seven prefetch templates of discovery; each is required once an order is advised on (4.3)."""

_PREFETCH_TYPES = {key: ("Patient" if key == "patient" else "Bundle") for key in PREFETCH_KEYS}


@dataclass
class CallError(Exception):
    """An answer other than cards: status, the error code of section 7, and its message."""

    status: int
    error: str
    message: str
    extra: dict = field(default_factory=dict)
    """More of the body (412: missing)."""
    headers: dict = field(default_factory=dict)

    def body(self) -> dict:
        return {"error": self.error, "message": self.message, **self.extra}


def parse(body: bytes) -> Any:
    """The request's JSON value, read as every JSON reader of the package reads it (NaN and Infinity refused)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise CallError(400, "not-json", "the body is not UTF-8 text") from None
    value, finding = load_json(text)
    if finding is not None or value is NOT_LOADED:
        where = f" (line {finding.line}, column {finding.column})" if finding and finding.line else ""
        raise CallError(400, "not-json", f"the body is not JSON{where}; NaN and Infinity are not JSON either")
    return value


def check_request(value: Any, hook: str) -> None:
    """4.1: the request's own fields; a resource's insides are the FHIR reader's (findings, not a 400)."""
    def refuse(message: str) -> CallError:
        return CallError(400, "not-a-cds-hooks-request", message)

    if not isinstance(value, dict):
        raise refuse("the body is not a JSON object")
    _no_duplicates(value, "the request")
    if value.get("hook") != hook:
        raise refuse(f"hook is not {hook}, the hook of this service")
    if not _text(value.get("hookInstance")):
        raise refuse("hookInstance is not a non-empty string")
    context = value.get("context")
    if not isinstance(context, dict):
        raise refuse("context is not an object")
    _no_duplicates(context, "context")
    for key in ("userId", "patientId"):
        if not _text(context.get(key)):
            raise refuse(f"context.{key} is not a non-empty string")
    draft = context.get("draftOrders")
    if not isinstance(draft, dict) or draft.get("resourceType") != "Bundle":
        raise refuse("context.draftOrders is not a Bundle")
    if hook == "order-select":
        _check_selections(context.get("selections"), draft)
    prefetch = value.get("prefetch")
    if prefetch is None and "prefetch" not in value:
        return
    if not isinstance(prefetch, dict):
        raise refuse("prefetch is not an object")
    _no_duplicates(prefetch, "prefetch")
    for key in PREFETCH_KEYS:
        item = prefetch.get(key)
        kind = item.get("resourceType") if isinstance(item, dict) else None
        if item is not None and kind not in (_PREFETCH_TYPES[key], "OperationOutcome"):
            raise refuse(f"prefetch.{key} is neither null, a {_PREFETCH_TYPES[key]} nor an OperationOutcome")


def missing_prefetch(value: dict) -> list[str]:
    """4.3: the keys absent, or an OperationOutcome (the EHR could not fetch them)."""
    prefetch = value.get("prefetch") if isinstance(value.get("prefetch"), dict) else {}
    return [key for key in PREFETCH_KEYS if key not in prefetch or
            (isinstance(prefetch[key], dict) and prefetch[key].get("resourceType") == "OperationOutcome")]


def prefetch_error(missing: list[str]) -> CallError:
    keys = ", ".join(missing)
    return CallError(412, "prefetch-missing",
                     f"prefetch key{'s' if len(missing) > 1 else ''} {keys} {'are' if len(missing) > 1 else 'is'} "
                     "missing: send every key of the discovery answer, null when there is no data (the service "
                     "does not query the FHIR server)", {"missing": missing})


def feedback_items(value: Any) -> list[dict]:
    """Section 6: the items as they are logged (card, outcome, accepted suggestion ids, override reason as
    system|code, outcomeTimestamp); never userComment."""
    def refuse(message: str) -> CallError:
        return CallError(400, "not-a-feedback-request", message)

    if not isinstance(value, dict) or not isinstance(value.get("feedback"), list) or not value["feedback"]:
        raise refuse("the body is not an object with a non-empty list feedback")
    logged = []
    for i, item in enumerate(value["feedback"]):
        where = f"feedback[{i}]"
        if not isinstance(item, dict) or not _text(item.get("card")):
            raise refuse(f"{where}.card is not a non-empty string")
        outcome = item.get("outcome")
        if outcome not in ("accepted", "overridden"):
            raise refuse(f"{where}.outcome is neither accepted nor overridden")
        if not _text(item.get("outcomeTimestamp")):
            raise refuse(f"{where}.outcomeTimestamp is not a non-empty string")
        entry = {"card": item["card"], "outcome": outcome, "outcomeTimestamp": item["outcomeTimestamp"]}
        if outcome == "accepted":
            accepted = item.get("acceptedSuggestions")
            if not isinstance(accepted, list) or not all(isinstance(s, dict) and _text(s.get("id")) for s in accepted):
                raise refuse(f"{where}.acceptedSuggestions is not a list of objects with an id")
            entry["acceptedSuggestions"] = [s["id"] for s in accepted]
        reason = item.get("overrideReason")
        if reason is not None:
            coding = reason.get("reason") if isinstance(reason, dict) else None
            if not isinstance(coding, dict) or not _text(coding.get("code")):
                raise refuse(f"{where}.overrideReason.reason is not a Coding with a code")
            entry["overrideReason"] = f"{coding.get('system', '')}|{coding['code']}"
        logged.append(entry)
    return logged


def _check_selections(selections: Any, draft: dict) -> None:
    if not isinstance(selections, list) or not selections or not all(_text(s) for s in selections):
        raise CallError(400, "not-a-cds-hooks-request", "context.selections is not a non-empty list of strings")
    entries = draft.get("entry") if isinstance(draft.get("entry"), list) else []
    named = {f"{e['resource'].get('resourceType')}/{e['resource'].get('id')}" for e in entries
             if isinstance(e, dict) and isinstance(e.get("resource"), dict)}
    if not set(selections) <= named:
        raise CallError(400, "not-a-cds-hooks-request", "context.selections names a resource that is no "
                        "{resourceType}/{id} of a context.draftOrders entry")


def _no_duplicates(value: dict, where: str) -> None:
    twice = duplicate_keys(value)
    if twice:
        raise CallError(400, "not-a-cds-hooks-request", f"{where} has the key {twice[0]} twice")


def _text(value: Any) -> bool:
    return isinstance(value, str) and value != ""
