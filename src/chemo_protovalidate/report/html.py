"""`--format html`: one self-contained page per run, for a pharmacist reviewing it.

Each order is drawn as its cycle calendar (one row per administration, one
column per cycle day), with a finding marked on the tile of the agent and day
it is about; the order's findings are listed under its calendar, those the
calendar cannot place (no day, or no administration of that agent that day)
among them. Inline CSS, no scripts, nothing loaded: links to sources only.
"""

from __future__ import annotations

from html import escape

from chemo_protovalidate.model.findings import Administration, FileResult, Finding, OrderResult, Severity
from chemo_protovalidate.report.common import Report, by_days, order_title, summary

CYCLE_DAYS = 28
"""Day columns drawn at least; more when an order gives a later day. (The report does not know a regimen's
cycle length: every regimen of the knowledge base has 28 days.)"""

_SEVERITIES = (Severity.ERROR, Severity.WARNING, Severity.INFO)
_MARKER = {Severity.ERROR: "!", Severity.WARNING: "!", Severity.INFO: "i"}

_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 40px; background: #f8fafc; color: #0f172a;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
code, .path, .loc { font-family: ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace; }
a { color: #1d4ed8; }
header h1 { margin: 0 0 6px; font-size: 24px; font-weight: 650; letter-spacing: -0.01em; }
header h1 .tool { display: inline-block; margin-right: 10px; padding: 1px 10px; border-radius: 6px;
  background: #0f172a; color: #fff; font-size: 20px; vertical-align: 2px; }
.verdict { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 14px; margin: 10px 0 12px; padding: 10px 14px;
  border-radius: 10px; border: 1px solid; font-size: 15px; }
.verdict.fail { background: #fef2f2; border-color: #fecaca; color: #7f1d1d; }
.verdict.pass { background: #f0fdf4; border-color: #bbf7d0; color: #14532d; }
.verdict b { font-weight: 700; }
.counts { display: flex; flex-wrap: wrap; gap: 8px; margin: 0 0 12px; padding: 0; list-style: none; }
.counts li { padding: 4px 12px; border-radius: 8px; background: #fff; border: 1px solid #e2e8f0; color: #475569; }
.counts li b { color: #0f172a; font-size: 16px; margin-right: 4px; font-variant-numeric: tabular-nums; }
.counts li.errors b { color: #b91c1c; }
.counts li.warnings b { color: #b45309; }
.counts li.infos b { color: #1d4ed8; }
.legend { display: flex; flex-wrap: wrap; gap: 8px 18px; align-items: center; margin: 0 0 8px; color: #334155;
  font-size: 13px; }
.legend > span { display: inline-flex; align-items: center; }
.legend .tile { width: 22px; height: 18px; margin-right: 6px; font-size: 11px; }
.legend .dot { display: inline-block; width: 22px; margin-right: 6px; text-align: center; color: #94a3b8; }
.judged { margin: 0 0 4px; color: #475569; font-size: 13px; }
.note { margin: 0 0 14px; color: #64748b; font-size: 13px; }
nav.files { margin: 0 0 22px; padding: 10px 14px; background: #fff; border: 1px solid #e2e8f0; border-radius: 10px; }
nav.files h2 { margin: 0 0 4px; font-size: 13px; color: #64748b; font-weight: 600; text-transform: uppercase;
  letter-spacing: 0.06em; }
nav.files ol { margin: 0; padding-left: 22px; columns: 2 420px; }
nav.files li { margin: 2px 0; }
nav.files a { color: #0f172a; text-decoration: none; }
nav.files a:hover { text-decoration: underline; }
section.file { margin: 0 0 26px; }
section.file > h2 { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; margin: 0 0 8px;
  font-size: 16px; font-weight: 650; }
section.file > h2 .path { word-break: break-all; }
section.file > h2 small { color: #64748b; font-weight: 400; font-size: 13px; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; border: 1px solid; font-size: 12px;
  font-weight: 650; white-space: nowrap; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
.badge.fail { background: #fee2e2; border-color: #fca5a5; color: #991b1b; }
.badge.warn { background: #fef3c7; border-color: #fcd34d; color: #92400e; }
.badge.info { background: #dbeafe; border-color: #93c5fd; color: #1e40af; }
.badge.pass { background: #dcfce7; border-color: #86efac; color: #166534; }
.badge.tool { background: #1e293b; border-color: #1e293b; color: #fff; }
.toolerror { margin: 0 0 10px; padding: 10px 14px; border-radius: 10px; background: #1e293b; color: #f8fafc; }
.toolerror b { color: #fca5a5; }
.panel { background: #fff; border: 1px solid #e2e8f0; border-radius: 10px; box-shadow: 0 1px 2px rgba(15, 23, 42, 0.06);
  margin: 0 0 10px; }
.panel.filefindings { padding: 4px 14px; }
details.order { background: #fff; border: 1px solid #e2e8f0; border-radius: 10px; margin: 0 0 10px;
  box-shadow: 0 1px 2px rgba(15, 23, 42, 0.06); }
details.order.fails { border-left: 4px solid #dc2626; }
details.order.warns { border-left: 4px solid #f59e0b; }
details.order.infos { border-left: 4px solid #3b82f6; }
details.order.clean { border-left: 4px solid #22c55e; }
details.order > summary { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 10px; padding: 9px 14px;
  cursor: pointer; list-style: none; }
details.order > summary::-webkit-details-marker { display: none; }
details.order > summary::before { content: "\\25B8"; color: #64748b; font-size: 13px; width: 10px; }
details.order[open] > summary::before { content: "\\25BE"; }
details.order[open] > summary { border-bottom: 1px solid #e2e8f0; }
summary .title { font-weight: 650; font-size: 15px; }
summary .what { color: #64748b; font-size: 13px; }
.scroll { overflow-x: auto; }
table { border-collapse: separate; border-spacing: 0; width: 100%; }
th, td { padding: 0; text-align: center; }
thead th { background: #f1f5f9; color: #475569; font-weight: 600; font-size: 12px; height: 24px;
  border-bottom: 1px solid #e2e8f0; }
thead tr.weeks th { height: 20px; font-weight: 500; color: #64748b; font-size: 11px; text-transform: uppercase;
  letter-spacing: 0.06em; border-bottom: 0; }
thead th.beyond { background: #fef2f2; color: #b91c1c; }
th.day, td.day { min-width: 34px; width: 34px; }
.wk { border-left: 2px solid #cbd5e1; }
th.agent, td.agent { position: sticky; left: 0; z-index: 2; text-align: left; min-width: 290px; width: 290px;
  padding: 4px 12px; background: #fff; border-right: 1px solid #e2e8f0; line-height: 1.3; }
thead th.agent { background: #f1f5f9; z-index: 3; }
td.agent .name { font-weight: 600; }
tr.flag-error td.agent { box-shadow: inset 4px 0 0 #f87171; }
tr.flag-warning td.agent { box-shadow: inset 4px 0 0 #fbbf24; }
tr.flag-info td.agent { box-shadow: inset 4px 0 0 #60a5fa; }
td.agent .route { display: inline-block; margin-left: 6px; padding: 0 5px; border-radius: 4px; background: #f1f5f9;
  color: #475569; font-size: 11px; font-weight: 600; }
td.agent .line { float: right; color: #94a3b8; font-size: 11.5px; margin-top: 1px; }
td.agent .detail { display: block; color: #334155; font-size: 12.5px; }
tbody td { height: 40px; border-bottom: 1px solid #f1f5f9; }
tbody tr.first td { border-top: 1px solid #e2e8f0; }
tbody tr:first-child td { border-top: 0; }
td.off { color: #cbd5e1; }
td.on { padding: 3px 2px; }
.tile { display: flex; align-items: center; justify-content: center; height: 28px; border-radius: 6px;
  border: 1.5px solid #5eead4; background: #ccfbf1; font-size: 13px; font-weight: 800; line-height: 1; }
.tile.error { background: #dc2626; border-color: #991b1b; color: #fff; box-shadow: 0 0 0 2px #fecaca; }
.tile.warning { background: #f59e0b; border-color: #b45309; color: #451a03; box-shadow: 0 0 0 2px #fde68a; }
.tile.info { background: #3b82f6; border-color: #1d4ed8; color: #fff; box-shadow: 0 0 0 2px #bfdbfe; }
.tile i { font-style: normal; }
td.empty { padding: 10px 12px; color: #64748b; text-align: left; }
ul.findings { margin: 0; padding: 0; list-style: none; }
details.order ul.findings { padding: 4px 14px 6px; border-top: 1px solid #e2e8f0; }
ul.findings > li { display: grid; grid-template-columns: 74px 1fr; gap: 2px 12px; padding: 7px 0;
  border-top: 1px solid #f1f5f9; }
ul.findings > li:first-child { border-top: 0; }
.sev { align-self: start; padding: 1px 0; border-radius: 5px; border: 1px solid; text-align: center; font-size: 12px;
  font-weight: 700; text-transform: uppercase; letter-spacing: 0.03em; }
.sev.error { background: #fee2e2; border-color: #fca5a5; color: #991b1b; }
.sev.warning { background: #fef3c7; border-color: #fcd34d; color: #92400e; }
.sev.info { background: #dbeafe; border-color: #93c5fd; color: #1e40af; }
.finding .message { color: #0f172a; }
.finding .meta { display: block; color: #64748b; font-size: 12.5px; }
.finding .meta > * { margin-right: 12px; }
.finding code.rule { color: #334155; background: #f1f5f9; padding: 0 5px; border-radius: 4px; font-size: 12px; }
.finding .where { color: #0f766e; font-weight: 600; }
.finding .where.unplaced { color: #64748b; font-weight: 400; font-style: italic; }
.finding .where a { color: inherit; }
p.none { margin: 0; padding: 8px 14px; color: #64748b; font-size: 13px; border-top: 1px solid #e2e8f0; }
footer { margin-top: 30px; color: #475569; font-size: 13px; }
footer h2 { font-size: 15px; margin: 0 0 6px; color: #0f172a; }
footer dl { margin: 0 0 12px; display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; }
footer dt code { color: #0f172a; font-weight: 600; }
footer dd { margin: 0; }
@media print { body { background: #fff; padding: 0; } .panel, details.order { box-shadow: none; }
  .scroll { overflow: visible; } details.order { break-inside: avoid; } }
"""


def render(report: Report) -> str:
    e = escape
    counts = summary(report.results)
    infos = counts["infos"]
    failing = [r for r in report.results if not report.conforms(r)]
    fail_on = report.fail_on.value
    if failing:
        verdict = (f'<div class="verdict fail"><span class="badge fail">FAILS</span><span>The run <b>fails</b> '
                   f"at fail-on {e(fail_on)}: {_plural(len(failing), 'file')} of {counts['files']} "
                   "failing.</span></div>")
    else:
        verdict = (f'<div class="verdict pass"><span class="badge pass">PASSES</span><span>The run <b>passes</b> '
                   f"at fail-on {e(fail_on)}: no finding reaches {e(fail_on)}.</span></div>")
    tally = (f"{_plural(counts['errors'], 'error')}, {_plural(counts['warnings'], 'warning')} in "
             f"{_plural(counts['files'], 'file')}")
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>protovalidate report: {e(tally)}{' (fails)' if failing else ''}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        '<h1><span class="tool">protovalidate</span>Order check report</h1>',
        f'<p class="judged">{_judged_by(report)}</p>',
        verdict,
        '<ul class="counts">',
        f'<li class="files"><b>{counts["files"]}</b>{_word(counts["files"], "file")}</li>',
        f'<li class="orders"><b>{counts["orders"]}</b>{_word(counts["orders"], "order")}</li>',
        f'<li class="errors"><b>{counts["errors"]}</b>{_word(counts["errors"], "error")}</li>',
        f'<li class="warnings"><b>{counts["warnings"]}</b>{_word(counts["warnings"], "warning")}</li>',
        f'<li class="infos"><b>{infos}</b>info</li>',
        "</ul>",
        '<div class="legend">',
        '<span><span class="tile"></span>given that day</span>',
        *(f'<span><span class="tile {s.value}"><i>{_MARKER[s]}</i></span>{s.value}</span>' for s in _SEVERITIES),
        '<span><span class="dot">·</span>not given</span>',
        "</div>",
        '<p class="note">One calendar per order: a row per administration, a column per cycle day. A marked tile is '
        "a finding about that agent on that day; hover it for the finding. Each order's findings are listed under "
        "its calendar; orders without findings are folded.</p>",
        "</header>",
    ]
    if len(report.results) > 1:
        out += ['<nav class="files">', "<h2>Files</h2>", "<ol>"]
        for index, result in enumerate(report.results, start=1):
            out.append(f'<li><a href="#file-{index}"><span class="path">{e(result.path)}</span></a> '
                       f"{_file_badge(report, result)}</li>")
        out += ["</ol>", "</nav>"]
    out.append("<main>")
    for index, result in enumerate(report.results, start=1):
        out += _file(report, result, f"file-{index}")
    out.append("</main>")
    out += _footer(report)
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


# --- a file -------------------------------------------------------------------------------------------------------


def _file_badge(report: Report, result: FileResult) -> str:
    if result.tool_error:
        return '<span class="badge tool">tool error</span>'
    findings = result.all_findings()
    if not report.conforms(result):
        return f'<span class="badge fail">fails · {_counts(findings)}</span>'
    if findings:
        return f'<span class="badge {_light(findings)}">passes · {_counts(findings)}</span>'
    return '<span class="badge pass">passes</span>'


def _file(report: Report, result: FileResult, anchor: str) -> list[str]:
    e = escape
    orders = f"<small>{_plural(len(result.orders), 'order')}</small>"
    out = [f'<section class="file" id="{anchor}" data-path="{e(result.path)}">',
           f'<h2><span class="path">{e(result.path)}</span>{_file_badge(report, result)}{orders}</h2>']
    if result.tool_error:
        out.append(f'<p class="toolerror"><b>Tool error:</b> {e(result.tool_error)} (the file could not be '
                   "checked)</p>")
    if result.findings:
        out += ['<div class="panel filefindings">', '<ul class="findings file-findings">']
        out += [_finding_item(result, f, None, in_order=False) for f in _by_severity(result.findings)]
        out += ["</ul>", "</div>"]
    for number, order in enumerate(result.orders, start=1):
        out += _order(report, result, order, f"{anchor}-order-{number}")
    out.append("</section>")
    return out


# --- an order -----------------------------------------------------------------------------------------------------


def _placements(order: OrderResult, findings: list[Finding]) -> dict[int, list[tuple[int, int]]]:
    """For each finding (by index): the tiles (administration index, day) it marks.

    A finding of an agent on a day marks that agent's administrations given that day; when there are
    several (a duplicate), the one whose lines the finding's line falls in (the last one starting at or
    before it), if the lines tell. A finding of an agent on no one day (a dose amount, a lab hold on an
    administration given on several days) marks every day of the administration it is placed on, found
    the same way."""
    placed = {}
    for f_index, finding in enumerate(findings):
        if finding.agent is None:
            continue
        candidates = [i for i, a in enumerate(order.administrations)
                      if a.agent == finding.agent and (finding.day is None or finding.day in a.days)]
        if len(candidates) > 1 and finding.line is not None:
            before = [i for i in candidates
                      if order.administrations[i].line is not None and order.administrations[i].line <= finding.line]
            if before:
                candidates = [max(before, key=lambda i: order.administrations[i].line)]
        if finding.day is None and len(candidates) != 1:
            continue        # no one administration to mark
        tiles = [(row, day) for row in candidates
                 for day in finding.days or ([finding.day] if finding.day is not None else order.administrations[row].days)
                 if day in order.administrations[row].days]
        if tiles:
            placed[f_index] = tiles
    return placed


def _order(report: Report, result: FileResult, order: OrderResult, anchor: str) -> list[str]:
    e = escape
    title = order_title(order)
    findings = by_days(order.findings)
    failing = not order.conforms(report.fail_on)
    if failing:
        state, badge = "fails", f'<span class="badge fail">fails · {_counts(findings)}</span>'
    elif findings:
        light = _light(findings)
        state = "warns" if light == "warn" else "infos"
        badge = f'<span class="badge {light}">passes · {_counts(findings)}</span>'
    else:
        state, badge = "clean", '<span class="badge pass">passes · no findings</span>'
    placements = _placements(order, findings)
    # What each tile shows: (administration index, day) -> the findings on it.
    on_tile: dict[tuple[int, int], list[Finding]] = {}
    for f_index, tiles in placements.items():
        for tile in tiles:
            on_tile.setdefault(tile, []).append(findings[f_index])
    given = [d for a in order.administrations for d in a.days]
    first_day, last_day = min([1, *given]), max([CYCLE_DAYS, *given])
    days = range(first_day, last_day + 1)

    what = _plural(len(order.administrations), "administration")
    open_attribute = " open" if findings else ""
    out = [f'<details class="order {state}" id="{anchor}" data-order="{e(order.label)}"{open_attribute}>',
           f'<summary><span class="title">{e(title)}</span>{badge}<span class="what">{what}</span></summary>',
           '<div class="scroll">', f'<table class="calendar" aria-label="{e(title)}">', "<thead>",
           '<tr class="weeks">', '<th class="agent"></th>']
    for day in days:
        if (day - 1) % 7 == 0 or day == first_day:
            span = min(7 - (day - 1) % 7, last_day - day + 1)
            week = (day - 1) // 7 + 1
            if 1 <= day <= CYCLE_DAYS:
                out.append(f'<th colspan="{span}"{_week_class(day, first_day)}>Week {week}</th>')
            else:
                out.append(f'<th colspan="{span}" class="beyond{" wk" if _week_start(day, first_day) else ""}" '
                           f'title="outside a {CYCLE_DAYS}-day cycle">{"outside" if span > 1 else "!"}</th>')
    out += ["</tr>", "<tr>", '<th class="agent" scope="col">Agent · dose level · dose</th>']
    for day in days:
        classes = " ".join(c for c in ("day", "wk" if _week_start(day, first_day) else "",
                                       "beyond" if day > CYCLE_DAYS or day < 1 else "") if c)
        out.append(f'<th class="{classes}" scope="col">{day}</th>')
    out += ["</tr>", "</thead>", "<tbody>"]
    if not order.administrations:
        out.append(f'<tr><td class="empty" colspan="{len(days) + 1}">The order administers nothing the report '
                   "can show.</td></tr>")
    previous_agent = None
    for row, administration in enumerate(order.administrations):
        out += _row(administration, row, days, first_day, on_tile, anchor, first=administration.agent != previous_agent)
        previous_agent = administration.agent
    out += ["</tbody>", "</table>", "</div>"]
    if findings:
        out.append('<ul class="findings order-findings">')
        for f_index in _severity_order(findings):
            where = None
            if f_index in placements:
                row, day = placements[f_index][0]
                where = (f"{anchor}-r{row + 1}-d{day}", f"{order.administrations[row].agent}, day {day}")
            out.append(_finding_item(result, findings[f_index], where, in_order=True))
        out.append("</ul>")
    else:
        out.append('<p class="none">No findings: every administration is as the regimen gives it.</p>')
    out.append("</details>")
    return out


def _row(administration: Administration, row: int, days: range, first_day: int,
         on_tile: dict[tuple[int, int], list[Finding]], anchor: str, first: bool) -> list[str]:
    e = escape
    a = administration
    dose = " · ".join(x for x in (a.dose_level, a.dose) if x) or "dose not given"
    described = f"{a.agent} {a.route or ''}".strip() + f", {dose}" + (f" (line {a.line})" if a.line else "")
    line = f'<span class="line">line {a.line}</span>' if a.line else ""
    route = f'<span class="route">{e(a.route)}</span>' if a.route else ""
    flagged = [f for (r, _), found in on_tile.items() if r == row for f in found]
    classes = " ".join(c for c in ("first" if first else "", f"flag-{_worst(flagged).value}" if flagged else "") if c)
    first_class = f' class="{classes}"' if classes else ""
    out = [f'<tr{first_class} data-agent="{e(a.agent)}" data-line="{a.line or ""}">',
           f'<td class="agent">{line}<span class="name">{e(a.agent)}</span>{route}'
           f'<span class="detail">{e(dose)}</span></td>']
    for day in days:
        week = " wk" if _week_start(day, first_day) else ""
        if day not in a.days:
            out.append(f'<td class="day off{week}" data-day="{day}">·</td>')
            continue
        findings = on_tile.get((row, day), [])
        if not findings:
            out.append(f'<td class="day on{week}" data-day="{day}" title="{e(f"Day {day}: {described}")}">'
                       '<span class="tile"></span></td>')
            continue
        worst = _worst(findings)
        tooltip = "\n".join([f"Day {day}: {described}"] + [_finding_line(f) for f in _by_severity(findings)])
        marker = _MARKER[worst] if len(findings) == 1 else str(len(findings))
        out.append(f'<td class="day on flagged {worst.value}{week}" data-day="{day}" data-severity="{worst.value}" '
                   f'id="{anchor}-r{row + 1}-d{day}" title="{e(tooltip)}"><span class="tile {worst.value}">'
                   f"<i>{marker}</i></span></td>")
    out.append("</tr>")
    return out


# --- findings -----------------------------------------------------------------------------------------------------


def _finding_item(result: FileResult, finding: Finding, where: tuple[str, str] | None, in_order: bool) -> str:
    """A finding as a list item; `where` is the anchor and name of the tile it marks, if it marks one."""
    e = escape
    f = finding
    meta = [f'<code class="rule">{e(f.rule_id)}</code>']
    if f.line:
        location = f"line {f.line}" + (f":{f.column}" if f.column else "")
        meta.append(f'<span class="loc" title="{e(result.path)}">{e(location)}</span>')
    if where is not None:
        meta.append(f'<span class="where">on the calendar: <a href="#{e(where[0])}">{e(where[1])}</a></span>')
    elif f.day is not None:
        about = f"{f.agent}, day {f.day}" if f.agent else f"day {f.day}"
        meta.append(f'<span class="where unplaced">{e(about)}: not an administration of this order</span>')
    elif in_order:
        about = f"{f.agent}, no day" if f.agent else "no day"
        meta.append(f'<span class="where unplaced">{e(about)}: not on the calendar</span>')
    if f.source is not None:
        meta.append(f"<span>source: {_source_link(f)}</span>")
    placed_attribute = ' data-placed="1"' if where is not None else ""
    return (f'<li class="finding" data-rule="{e(f.rule_id)}" data-severity="{f.severity.value}"{placed_attribute}>'
            f'<span class="sev {f.severity.value}">{f.severity.value}</span>'
            f'<div><span class="message">{e(f.message)}</span>{_at(f)}<span class="meta">{"".join(meta)}</span></div></li>')


def _at(finding: Finding) -> str:
    """On a FHIR input, the element the finding points at (docs/fhir.md)."""
    return f' <span class="where">(at {escape(finding.fhir_path)})</span>' if finding.fhir_path else ""


def _source_link(finding: Finding) -> str:
    source = finding.source
    if source.url and source.url.lower().startswith(("https://", "http://")):
        return f'<a href="{escape(source.url)}" rel="noreferrer noopener">{escape(source.label)}</a>'
    return escape(source.label)


def _finding_line(finding: Finding) -> str:
    place = "".join(f":{n}" for n in (finding.line, finding.column) if n)
    return f"{finding.severity.value} [{finding.rule_id}] {finding.message}" + (f" (line {place[1:]})" if place else "")


def _footer(report: Report) -> list[str]:
    e = escape
    used = sorted({f.rule_id for _, _, f in report.findings()})
    out = ["<footer>"]
    if used:
        out += ["<h2>Rules in this report</h2>", "<dl>"]
        for rule_id in used:
            info = report.rules.get(rule_id)
            if info is None:
                out.append(f"<dt><code>{e(rule_id)}</code></dt><dd>not in the rule catalogue</dd>")
                continue
            source = ""
            if info.source is not None:
                link = (f'<a href="{e(info.source.url)}" rel="noreferrer noopener">{e(info.source.label)}</a>'
                        if info.source.url and info.source.url.lower().startswith(("https://", "http://"))
                        else e(info.source.label))
                source = f" (source: {link})"
            levels = " or ".join(s.value for s in info.levels)
            out.append(f"<dt><code>{e(rule_id)}</code></dt><dd>{e(levels)}: {e(info.description)}"
                       f"{source}</dd>")
        out.append("</dl>")
    out += [f"<p>{_judged_by(report)}, failing on {e(report.fail_on.value)}. A report to read: "
            "the orders themselves are in the files named above.</p>", "</footer>"]
    return out


def _judged_by(report: Report) -> str:
    """The tool and the knowledge base that judged the orders (rule book v2, C25), escaped."""
    kb = report.knowledge_base
    judged = f", {kb}" if kb is not None else ""
    return escape(f"protovalidate {report.tool_version}{judged}")


# --- helpers ------------------------------------------------------------------------------------------------------


def _week_start(day: int, first_day: int) -> bool:
    return day != first_day and (day - 1) % 7 == 0


def _week_class(day: int, first_day: int) -> str:
    return ' class="wk"' if _week_start(day, first_day) else ""


def _worst(findings: list[Finding]) -> Severity:
    return max((f.severity for f in findings), key=lambda s: s.rank)


def _light(findings: list[Finding]) -> str:
    """The badge colour of findings that do not fail the run."""
    return "warn" if _worst(findings) is not Severity.INFO else "info"


def _by_severity(findings: list[Finding]) -> list[Finding]:
    return [findings[i] for i in _severity_order(findings)]


def _severity_order(findings: list[Finding]) -> list[int]:
    """Indexes of the findings, errors first; otherwise in the order the validator gave them."""
    return sorted(range(len(findings)), key=lambda i: -findings[i].severity.rank)


def _counts(findings: list[Finding]) -> str:
    parts = [_plural(sum(f.severity is s for f in findings), s.value) for s in _SEVERITIES
             if any(f.severity is s for f in findings)]
    return ", ".join(parts) or "no findings"


def _word(n: int, word: str) -> str:
    return word if n == 1 or word == "info" else word + "s"


def _plural(n: int, word: str) -> str:
    return f"{n} {_word(n, word)}"
