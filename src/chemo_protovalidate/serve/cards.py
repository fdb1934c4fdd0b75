"""The pipeline's findings for one CDS Hooks request as cards (docs/cds-hooks.md 5).

Pure functions of the checked result and the parsed request: no web framework, no I/O (the fixed texts
and codes are read from cards.json beside this module once, when it is imported).

Which card a finding goes on. The pipeline puts an order's clinical findings on its OrderResult; every
converter finding, the ones about an order's own resources included (a left-out request, the
`fhir-order-not-checked` of an order that could not be read, ...), is a finding of the file, with the FHIR
path of the element it names. A file finding is the order's when that path lies inside one of the
order's resources: the element of `orders[].fhir.path` (its RequestGroup, or its first request), each of
its `requests[].path`, and a `draftOrders` Medication one of its requests names by `medicationReference`
(contained resources lie inside their container). A finding inside no advised order, at error or warning,
goes on the one card for findings outside orders: the draftOrders Bundle's own keys, a request of no order
(`fhir-request-ungrouped`, even when it is contained in a RequestGroup), and the prefetch (the Patient
and Observations: no draft order holds them). Information outside orders makes no card, and neither does
`no-order` (nothing to advise on: 4.2 answers no card).
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from typing import Any

from chemo_protovalidate.model.findings import FileResult, Finding, OrderResult, Severity

TEXTS: dict = json.loads(resources.files("chemo_protovalidate.serve").joinpath("cards.json").read_text("utf-8"))

NOT_CHECKED_RULE = "fhir-order-not-checked"
_SUMMARIES = TEXTS["summaries"]
_DETAIL = TEXTS["detail"]
_DETAIL_LEVELS = TEXTS["levels"]
_SUGGESTION = TEXTS["suggestion"]
_OUTSIDE_RULES = frozenset(TEXTS["outsideRules"]["rules"])
_NO_CARD_RULES = frozenset(TEXTS["noCardRules"]["rules"])
_ESCAPED = re.compile("([" + re.escape(_DETAIL["markdownEscaped"]) + "])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_ENTRY = re.compile(r"context\.draftOrders\.entry\[(\d+)\]\.resource(?=$|[.\[])")


def cards_for(result: FileResult, body: dict, *, knowledge_base: str, source_url: str,
              tolerance_percent: float) -> list[dict]:
    """The cards of 5.1 for one checked CDS Hooks body: one per advised order that has a violation or a
    warning or was not checked, in the order of each order's first resource in ``draftOrders``, then one for
    the findings at error or warning outside every order. ``knowledge_base`` is the version line's text
    ("2.0.0 (rule book v2)"); ``tolerance_percent`` the dose tolerance the check applied (5.6)."""
    if result.tool_error is not None:  # the document could not be checked at all
        return [not_checked_card("internal", seconds=None, knowledge_base=knowledge_base, source_url=source_url)]
    orders = sorted(result.orders, key=_first_resource)
    findings: dict[int, list[Finding]] = {id(order): list(order.findings) for order in orders}
    territory = {id(order): _resources_of(order, body) for order in orders}
    outside = []
    for finding in result.findings:
        owners = [] if finding.rule_id in _OUTSIDE_RULES or not finding.fhir_path else \
            [order for order in orders if any(_inside(finding.fhir_path, p) for p in territory[id(order)])]
        for order in owners:
            findings[id(order)].append(finding)
        if not owners and finding.severity is not Severity.INFO and finding.rule_id not in _NO_CARD_RULES:
            outside.append(finding)
    cards = []
    for order in orders:
        card = _order_card(order, _by_level(findings[id(order)]), body, knowledge_base, source_url,
                           tolerance_percent)
        if card is not None:
            cards.append(card)
    if outside:
        cards.append(_outside_card(_by_level(outside), body, knowledge_base, source_url))
    return cards


def not_checked_card(reason: str, *, seconds: float | None, knowledge_base: str, source_url: str) -> dict:
    """The one card of an answer whose draft orders were not checked (5.1 last row): ``reason`` "timeout"
    (the check did not finish within ``seconds``) or "internal" (it failed on an internal error)."""
    if reason == "timeout":
        if seconds is None:
            raise ValueError("a time-out card needs the seconds the check was given")
        summary = _SUMMARIES["timeout"].format(seconds=f"{float(seconds):g}")
    elif reason == "internal":
        summary = _SUMMARIES["internal"]
    else:
        raise ValueError(f"no card for reason {reason!r}: 'timeout' or 'internal'")
    detail = "\n\n".join([_DETAIL["draftNotChecked"], _knowledge_base(knowledge_base)])
    return _card(summary, "critical", detail, source_url)


# --- the cards -------------------------------------------------------------------------------------------


def _order_card(order: OrderResult, findings: list[Finding], body: dict, knowledge_base: str, source_url: str,
                tolerance_percent: float) -> dict | None:
    errors = sum(f.severity is Severity.ERROR for f in findings)
    warnings = sum(f.severity is Severity.WARNING for f in findings)
    regimen = order.regimen if order.regimen is not None else _SUMMARIES["unread"]
    cycle = order.cycle if order.cycle is not None else _SUMMARIES["unread"]
    items = [_item(f, body) for f in findings]
    if not order.checked:
        problems = sum(f.severity is Severity.ERROR and f.rule_id != NOT_CHECKED_RULE for f in findings)
        summary = _summary(lambda label: _SUMMARIES["notChecked"].format(
            id=label, regimen=regimen, cycle=cycle, problems=_counted(problems, "problem")), order.label)
        detail = _detail(items, _DETAIL["notChecked"], knowledge_base)
        return _card(summary, "critical", detail, source_url)
    if not errors and not warnings:
        return None
    left_out = sum(request.get("status") == "left-out" for request in (order.fhir or {}).get("requests", []))
    counts = ", ".join(_counted(n, noun) for n, noun in ((errors, "violation"), (warnings, "warning")) if n)
    if left_out:
        counts += "; " + _counted(left_out, "request")
    summary = _summary(lambda label: _SUMMARIES["checked"].format(
        id=label, regimen=regimen, cycle=cycle, counts=counts), order.label)
    detail = _detail(items, _data_used(order, body), knowledge_base)
    suggestion = _suggestion(order, findings, body, tolerance_percent)
    return _card(summary, TEXTS["indicators"]["error" if errors else "warning"], detail, source_url, suggestion)


def _outside_card(findings: list[Finding], body: dict, knowledge_base: str, source_url: str) -> dict:
    # P counts every finding the card lists (its errors and warnings): 5.3 names the converter's errors, and
    # a card of warnings alone would otherwise read "0 problems".
    summary = _SUMMARIES["outside"].format(problems=_counted(len(findings), "problem"))
    worst = "error" if any(f.severity is Severity.ERROR for f in findings) else "warning"
    return _card(summary, TEXTS["indicators"][worst], _detail([_item(f, body) for f in findings], None,
                                                             knowledge_base), source_url)


def _card(summary: str, indicator: str, detail: str, source_url: str, suggestion: dict | None = None) -> dict:
    card: dict[str, Any] = {"uuid": str(uuid.uuid4()), "summary": summary, "indicator": indicator,
                            "detail": detail, "source": {"label": TEXTS["sourceLabel"], "url": source_url}}
    if suggestion is not None:
        card["suggestions"] = [suggestion]
        card["selectionBehavior"] = "at-most-one"
    reasons = TEXTS["overrideReasons"]
    card["overrideReasons"] = [{"system": reasons["system"], "code": code, "display": display}
                               for code, display in reasons["codes"]]
    return card


# --- summary (5.3) ---------------------------------------------------------------------------------------


def _counted(n: int, noun: str) -> str:
    singular, plural = _SUMMARIES["nouns"][noun]
    return f"{n} {singular if n == 1 else plural}"


def _summary(fill, label: str) -> str:
    """The summary with the order id in it, the id cut (ending with …) when the whole would pass the limit."""
    limit, cut = TEXTS["maxSummary"], _SUMMARIES["cut"]
    summary = fill(label)
    if len(summary) <= limit:
        return summary
    keep = len(label) - (len(summary) - limit) - len(cut)
    summary = fill(label[:max(keep, 0)] + cut)
    return summary if len(summary) <= limit else summary[:limit - len(cut)] + cut


# --- detail (5.4) ----------------------------------------------------------------------------------------


def _by_level(findings: list[Finding]) -> list[Finding]:
    """Errors, then warnings, then information; within a level by position in the request (line, column:
    the reading order the report gives), the pipeline's order where they tie."""
    far = float("inf")
    return [f for _, f in sorted(enumerate(findings), key=lambda item: (
        -item[1].severity.rank, item[1].line if item[1].line is not None else far,
        item[1].column if item[1].column is not None else far, item[0]))]


def _item(finding: Finding, body: dict) -> str:
    lines = [f"- **{_DETAIL_LEVELS[finding.severity.value]}** {_code(finding.rule_id)}: {_md(finding.message)}"]
    source = finding.source
    if source is not None and source.label:
        label = _md(source.label)
        lines.append(f"  - Source: [{label}]({_url(source.url)})" if source.url else f"  - Source: {label}")
    if finding.fhir_path:
        holder = _holder(body, finding.fhir_path)
        lines.append(f"  - At {_code(holder)}: {_code(finding.fhir_path)}" if holder
                     else f"  - At {_code(finding.fhir_path)}")
    return "\n".join(lines)


def _detail(items: list[str], closing: str | None, knowledge_base: str) -> str:
    parts = ["\n".join(items)] if items else []
    if closing:
        parts.append(closing)
    parts.append(_knowledge_base(knowledge_base))
    return "\n\n".join(parts)


def _knowledge_base(version: str) -> str:
    return _DETAIL["knowledgeBase"].format(version=_md(version))


def _data_used(order: OrderResult, body: dict) -> str:
    """Data used: each patient value the converter took, with the resource it came from and its time; then
    the keys not given."""
    given = (order.fhir or {}).get("patientData") or {}
    used, missing = [], []
    for key, name in _DETAIL["dataKeys"]:
        data = given.get(key)
        if not isinstance(data, dict):
            missing.append(name)
            continue
        shown = f"{name} {_md(_value_text(data.get('value')))}"
        if data.get("unit"):
            shown += f" {_md(str(data['unit']))}"
        path = data.get("path")
        time = data.get("effective")
        if key == "age" and path:  # age is counted from the birthDate its path names
            birth = _at(body, path)
            time = birth if isinstance(birth, str) else time
        holder = _holder(body, path) if path else None
        where = ([_code(holder)] if holder else []) + ([_md(str(time))] if time else [])
        used.append(shown + (f" ({', '.join(where)})" if where else ""))
    return f"Data used: {'; '.join(used) or 'none'}; not given: {', '.join(missing) or 'none'}."


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):  # a dose basis: its weight and bsa
        return ", ".join(f"{key} {_value_text(part.get('value'))} {part.get('unit') or ''}".rstrip()
                         if isinstance(part, dict) else f"{key} {_value_text(part)}" for key, part in value.items())
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return str(value)


def _md(text: str) -> str:
    """Text as GitHub Markdown shows it literally: the characters of 5.4 escaped, control characters (a line
    break would end the item) as spaces."""
    return _ESCAPED.sub(r"\\\1", _CONTROL.sub(" ", text))


def _code(text: str) -> str:
    """A code span that holds any text: a fence longer than its longest run of backticks."""
    text = _CONTROL.sub(" ", text)
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _url(url: str) -> str:
    return "".join({" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E"}.get(c, c) for c in url)


# --- where an element is in the request -------------------------------------------------------------------


def _steps(path: str) -> list[str | int]:
    """A FHIR path of docs/fhir.md (context.draftOrders.entry[1].resource...) as keys and list indices."""
    head = re.match(r"[^.\[]*", path)
    steps: list[str | int] = [head.group()] if head and head.group() else []
    for match in _STEP.finditer(path, head.end() if head else 0):
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
    return steps


def _walk(body: Any, path: str) -> list[tuple[list, Any]]:
    """Each node along ``path`` with the steps that reach it, as far as the request has it."""
    node, trail, walked = body, [], []
    for step in _steps(path):
        if isinstance(step, str) and isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(step, int) and isinstance(node, list) and step < len(node):
            node = node[step]
        else:
            break
        trail = trail + [step]
        walked.append((trail, node))
    return walked


def _at(body: Any, path: str) -> Any:
    walked = _walk(body, path)
    return walked[-1][1] if walked and len(walked[-1][0]) == len(_steps(path)) else None


def _holder(body: dict, path: str) -> str | None:
    """`{Type}/{id}` of the resource holding the element at ``path``; a contained one `{Type}/{id}#{id}`; the
    type alone for a resource without an id (the draftOrders Bundle)."""
    name = None
    for trail, node in _walk(body, path):
        if isinstance(node, dict) and isinstance(node.get("resourceType"), str):
            own = node.get("id") if isinstance(node.get("id"), str) and node.get("id") else None
            if name is not None and len(trail) >= 2 and trail[-2] == "contained":
                name = f"{name}#{own or ''}"
            else:
                name = f"{node['resourceType']}/{own}" if own else node["resourceType"]
    return name


def _inside(path: str, resource: str) -> bool:
    return path == resource or path.startswith((resource + ".", resource + "["))


def _first_resource(order: OrderResult) -> tuple[int, int]:
    """Where the order's first resource stands in draftOrders (its entry index); orders without one last."""
    fhir = order.fhir or {}
    places = [fhir.get("path")] + [request.get("path") for request in fhir.get("requests", [])]
    entries = [int(match.group(1)) for match in (_ENTRY.match(p) for p in places if isinstance(p, str)) if match]
    return (0, min(entries)) if entries else (1, 0)


def _resources_of(order: OrderResult, body: dict) -> list[str]:
    """The paths of the order's resources: its element, its requests, and the draftOrders Medications those
    requests name by medicationReference."""
    fhir = order.fhir or {}
    paths = [p for p in [fhir.get("path")] + [r.get("path") for r in fhir.get("requests", [])] if isinstance(p, str)]
    entries = _draft_entries(body)
    for path in list(paths):
        request = _at(body, path)
        reference = request.get("medicationReference") if isinstance(request, dict) else None
        target = reference.get("reference") if isinstance(reference, dict) else None
        if isinstance(target, str) and not target.startswith("#"):
            paths += [where for where, resource, full_url in entries if resource.get("resourceType") == "Medication"
                      and (target == full_url or target == f"Medication/{resource.get('id')}")]
    return paths


def _draft_entries(body: dict) -> list[tuple[str, dict, str | None]]:
    """(path, resource, fullUrl) of each draftOrders entry with a resource."""
    draft = (body.get("context") or {}).get("draftOrders") if isinstance(body.get("context"), dict) else None
    entries = draft.get("entry") if isinstance(draft, dict) else None
    return [(f"context.draftOrders.entry[{i}].resource", entry["resource"], entry.get("fullUrl"))
            for i, entry in enumerate(entries if isinstance(entries, list) else [])
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)]


# --- suggestion (5.6) ------------------------------------------------------------------------------------


def _suggestion(order: OrderResult, findings: list[Finding], body: dict, tolerance_percent: float) -> dict | None:
    """The one suggestion of 5.6, when its four conditions hold; else None."""
    errors = [f for f in findings if f.severity is Severity.ERROR]
    # 1. checked, and the only error is one dose-amount-mismatch that computed its amount (level × basis).
    if not order.checked or len(errors) != 1 or errors[0].rule_id != _SUGGESTION["rule"]:
        return None
    finding = errors[0]
    expected = finding.expected
    if expected is None or not finding.fhir_path:
        return None
    # 2. its MedicationRequest is a draftOrders entry with an id, not a contained resource.
    entry = _ENTRY.match(finding.fhir_path)
    if entry is None or finding.fhir_path[entry.end():].startswith(".contained"):
        return None
    resource = _at(body, entry.group())
    if not isinstance(resource, dict) or resource.get("resourceType") != "MedicationRequest" \
            or not isinstance(resource.get("id"), str) or not resource["id"]:
        return None
    # 3. its dose came from the doseAndRate element typed calculated, in mg or g.
    element = _calculated_element(resource)
    if element is None:
        return None
    index, quantity = element
    # 4. the computed amount, rounded, lies within the tolerance of the computed amount.
    amount = _rounded(expected.amount_mg)
    if abs(float(amount) - expected.amount_mg) > expected.amount_mg * tolerance_percent / 100 + 1e-9:
        return None
    value = int(amount) if amount == amount.to_integral_value() else float(amount)
    shown = json.dumps(value)
    days = ", ".join(str(day) for day in expected.days)
    cycle = finding.cycle if finding.cycle is not None else order.cycle
    updated = copy.deepcopy(resource)
    updated["dosageInstruction"][0]["doseAndRate"][index]["doseQuantity"] = {"value": value,
                                                                             **_SUGGESTION["doseQuantity"]}
    old_unit = quantity.get("unit") if isinstance(quantity.get("unit"), str) and quantity["unit"] else quantity["code"]
    return {
        "label": _SUGGESTION["label"].format(agent=finding.agent, cycle=cycle, days=days, amount=shown,
                                             level=expected.level, unit=expected.level_unit, basis=expected.basis),
        "uuid": str(uuid.uuid4()),
        "isRecommended": True,
        "actions": [{
            "type": "update",
            "description": _SUGGESTION["description"].format(
                resource=f"MedicationRequest/{resource['id']}", old=json.dumps(quantity["value"]), unit=old_unit,
                amount=shown),
            "resource": updated,
        }],
    }


def _calculated_element(resource: dict) -> tuple[int, dict] | None:
    """(index, doseQuantity) of the one dosageInstruction[0].doseAndRate element typed calculated, when its
    quantity is in mg or g; else None."""
    dosage = resource.get("dosageInstruction")
    rates = dosage[0].get("doseAndRate") if isinstance(dosage, list) and dosage and isinstance(dosage[0], dict) \
        else None
    system, code = _SUGGESTION["doseRateType"]
    typed = [(i, rate) for i, rate in enumerate(rates if isinstance(rates, list) else [])
             if isinstance(rate, dict) and any(
                 isinstance(coding, dict) and coding.get("system") == system and coding.get("code") == code
                 for coding in ((rate.get("type") or {}).get("coding") or []
                                if isinstance(rate.get("type"), dict) else []))]
    if len(typed) != 1:
        return None
    index, rate = typed[0]
    quantity = rate.get("doseQuantity")
    units = {key: value for key, value in _SUGGESTION["doseUnits"].items() if not key.startswith("_")}
    if not isinstance(quantity, dict) or quantity.get("code") not in units.get(quantity.get("system"), []) \
            or isinstance(quantity.get("value"), bool) or not isinstance(quantity.get("value"), (int, float)):
        return None
    return index, quantity


def _rounded(amount_mg: float) -> Decimal:
    """Half up to a whole mg at 10 mg or more, to 0.1 mg below (5.6)."""
    rounding = _SUGGESTION["rounding"]
    step = rounding["step"] if amount_mg >= rounding["wholeMgFrom"] else rounding["stepBelow"]
    return Decimal(repr(amount_mg)).quantize(Decimal(step), rounding=ROUND_HALF_UP)
