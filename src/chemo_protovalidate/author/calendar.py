"""A regimen as a calendar: agents by cycle day, for each range of cycles.

`render_text` is what `protovalidate show` prints; `render_html` is the same
calendar as one self-contained page (inline CSS, no scripts, nothing loaded).
Both show one grid per range of `Regimen.cycle_ranges()`, one row per dosing
that applies in that range: rows of one agent whose days overlap are
alternatives (a route, a split first dose, a renal band), not doses to add up.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from html import escape

from chemo_protovalidate.author.regimens import Dosing, Regimen
from chemo_protovalidate.model.findings import Source

MAX_WIDTH = 160
"""No line of the text calendar is wider than this."""

GIVEN, WINDOW, NOT_GIVEN = "●", "○", "·"
"""The text calendar's cells: given that day at the row's level; a day of a window within which doses are spaced
out (every 48 h: never two days running); not given."""

_CELL = 3
"""Characters per day column of the text grid (two-digit day numbers, one space)."""

_AGENT_WIDTH = 24
"""An agent's name longer than this is cut short in the text grid, so that its route and level still show."""


# Words of a dosing's label that the calendar's days cannot show, and the note a row gives for them.
# (regimens.Dosing does not carry pv:minDaysBetweenDoses yet: until it does, "every 48 hours" is read from the label.)
_LABEL_NOTES = (("split", "split first dose"),)


@dataclass(frozen=True)
class Row:
    """One line of a grid: a dosing that applies in a range of cycles."""

    agent: str
    dosing: Dosing
    source_number: int | None

    @property
    def route(self) -> str:
        return "/".join(self.dosing.routes) if self.dosing.routes else "?"

    @property
    def level(self) -> str:
        return str(self.dosing.level) if self.dosing.level is not None else "level not given"

    @property
    def note(self) -> str | None:
        """What the days, route and level do not show: a renal band, a split dose, the spacing, the infusion minimum."""
        label = self.dosing.label.lower()
        notes = [self.dosing.condition] if self.dosing.condition else []
        notes += [note for phrase, note in _LABEL_NOTES if phrase in label]
        if self.min_days_between_doses == 2:
            notes.append("every 48 h")
        elif self.min_days_between_doses > 2:
            notes.append(f"doses at least {self.min_days_between_doses} days apart")
        if self.dosing.min_infusion_minutes is not None:
            notes.append(f"infused over at least {self.dosing.min_infusion_minutes:g} min")
        return "; ".join(notes) or None

    @property
    def min_days_between_doses(self) -> int:
        """pv:minDaysBetweenDoses; 1 (daily at most) where the dosing has none."""
        return self.dosing.min_days_between_doses or 1

    @property
    def every_other_day(self) -> bool:
        """The row's days are a window: doses go at most every other day within them, not on each of them."""
        return self.min_days_between_doses > 1

    def mark(self, day: int) -> str:
        if day not in self.dosing.days:
            return NOT_GIVEN
        return WINDOW if self.every_other_day else GIVEN

    @property
    def cell_text(self) -> str:
        """The level without its unit, as a calendar cell shows it: "20", "36–56", "1800"."""
        level = self.dosing.level
        if level is None:
            return GIVEN
        low, high = (f"{v:g}" for v in (level.minimum, level.maximum))
        return low if low == high else f"{low}–{high}"


def range_title(start: int, end: int | None) -> str:
    """"Cycle 1", "Cycles 3-6", "Cycle 7 on"."""
    if end is None:
        return f"Cycle {start} on"
    return f"Cycle {start}" if start == end else f"Cycles {start}-{end}"


def sources(regimen: Regimen) -> list[Source]:
    """The regimen's sources, then those of its dosings, each once, in order of first mention."""
    found: dict[str, Source] = {}
    for source in regimen.sources:
        found.setdefault(source.iri, source)
    for component in regimen.components:
        for dosing in component.dosings:
            if dosing.source is not None:
                found.setdefault(dosing.source.iri, dosing.source)
    return list(found.values())


def grids(regimen: Regimen) -> list[tuple[str, list[Row]]]:
    """For each cycle range: its title and the rows of the dosings that apply in it."""
    numbers = {source.iri: n for n, source in enumerate(sources(regimen), start=1)}
    result = []
    for start, end in regimen.cycle_ranges():
        rows = []
        for component in regimen.components:
            applying = [d for d in component.dosings if d.applies_to(start)]
            for dosing in sorted(applying, key=_row_order):
                number = numbers.get(dosing.source.iri) if dosing.source is not None else None
                rows.append(Row(component.agent, dosing, number))
        result.append((range_title(start, end), rows))
    return result


def _row_order(dosing: Dosing):
    """Within one agent: by route, first day, renal band (highest clearance first), then level (highest first)."""
    lowest_clearance = float("inf")
    if dosing.condition is not None:
        match = re.match(r"CrCl (\d+(?:\.\d+)?) ", dosing.condition)
        lowest_clearance = float(match.group(1)) if match else 0.0
    level = dosing.level.maximum if dosing.level is not None else 0.0
    return dosing.routes, dosing.days[:1], -lowest_clearance, -level


# --- text ---------------------------------------------------------------------------------------------------------


def render_text(regimen: Regimen) -> str:
    """The calendar as monospaced text: no line is wider than MAX_WIDTH, but for a source URL longer than that."""
    days = range(1, regimen.cycle_length + 1)
    all_sources = sources(regimen)
    all_grids = grids(regimen)
    rows = [row for _, grid_rows in all_grids for row in grid_rows]
    reference_width = max((len(f" [{row.source_number}]") for row in rows if row.source_number), default=0)
    label_room = MAX_WIDTH - _CELL * len(days) - reference_width
    def fields(row: Row) -> list[str]:
        agent = row.agent if len(row.agent) <= _AGENT_WIDTH else row.agent[:_AGENT_WIDTH - 1] + "…"
        return [agent, row.route, row.level]

    widths = [max((len(text) for text in column), default=0) for column in zip(*map(fields, rows))] or [0, 0, 0]
    notes = [row.note for row in rows if row.note]
    base_width = sum(widths) + 2 * (len(widths) - 1)
    note_width = max((len(note) for note in notes), default=0)
    inline_notes = bool(notes) and base_width + 2 + note_width <= label_room
    label_width = min(base_width + (2 + note_width if inline_notes else 0), label_room)

    def label(row: Row) -> str:
        parts = [text.ljust(width) for text, width in zip(fields(row), widths)]
        if inline_notes and row.note:
            parts.append(row.note)
        text = "  ".join(parts).rstrip()
        return text.ljust(label_width) if len(text) <= label_width else text[:label_width - 2] + "… "

    windows = any(row.every_other_day for row in rows)
    window = f"   {WINDOW} a window: doses spaced as the row's note says" if windows else ""
    lines = [
        *textwrap.wrap(f"{regimen.identifier}: {regimen.label}" if regimen.label else regimen.identifier, MAX_WIDTH),
        *textwrap.wrap(f"Setting: {regimen.setting or 'not given'}. Cycle length: {regimen.cycle_length} days."
                       + (f" Induction: {regimen.induction_cycles} cycles." if regimen.induction_cycles else ""), MAX_WIDTH),
        f"{GIVEN} given that day at the row's dose level{window}   {NOT_GIVEN} not given   "
        "[n] the row's source (listed at the end)",
        "Rows of one agent on the same day are alternatives (route, split first dose or renal band), not added up.",
    ]
    for title, grid_rows in all_grids:
        lines += ["", title]
        if not grid_rows:
            lines.append("  nothing is given in these cycles")
            continue
        weeks = "".join(f"week {(day - 1) // 7 + 1}".ljust(_CELL * 7) for day in days if day % 7 == 1)
        lines.append((" " * label_width + " " + weeks).rstrip())
        lines.append("day".rjust(label_width) + "".join(str(day).rjust(_CELL) for day in days))
        for row in grid_rows:
            cells = "".join(row.mark(day).rjust(_CELL) for day in days)
            reference = f" [{row.source_number}]" if row.source_number else ""
            lines.append(f"{label(row)}{cells}{reference}")
            if row.note and not inline_notes:
                lines.append(f"  {row.agent} {row.level}: {row.note}"[:MAX_WIDTH])
    lines += ["", "Sources:"]
    for number, source in enumerate(all_sources, start=1):
        lines += textwrap.wrap(source.label, MAX_WIDTH, initial_indent=f"[{number}] ".ljust(5),
                               subsequent_indent=" " * 5)
        if source.url:
            lines.append(f"     {source.url}")
    return "\n".join(line.rstrip() for line in lines) + "\n"


# --- HTML ---------------------------------------------------------------------------------------------------------

# Background, border and text colour per agent; agents not listed take the fallback colours in turn.
_AGENT_COLOURS = {
    "carfilzomib": ("#dbeafe", "#2563eb", "#1e3a8a"),
    "daratumumab": ("#ede9fe", "#7c3aed", "#4c1d95"),
    "isatuximab": ("#fce7f3", "#db2777", "#831843"),
    "lenalidomide": ("#dcfce7", "#16a34a", "#14532d"),
    "cyclophosphamide": ("#ffedd5", "#ea580c", "#7c2d12"),
    "dexamethasone": ("#fef3c7", "#d97706", "#78350f"),
}
_FALLBACK_COLOURS = [("#cffafe", "#0891b2", "#164e63"), ("#e0e7ff", "#4f46e5", "#312e81"),
                     ("#fee2e2", "#dc2626", "#7f1d1d"), ("#ecfccb", "#65a30d", "#365314")]

_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 40px; background: #f8fafc; color: #0f172a;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header h1 { margin: 0 0 4px; font-size: 24px; font-weight: 650; letter-spacing: -0.01em; }
header h1 .id { display: inline-block; margin-right: 10px; padding: 1px 10px; border-radius: 6px;
  background: #0f172a; color: #fff; font-size: 20px; vertical-align: 2px; }
.facts { margin: 0 0 14px; color: #475569; }
.facts b { color: #0f172a; font-weight: 600; }
.legend { display: flex; flex-wrap: wrap; gap: 8px 18px; align-items: center; margin: 0 0 8px; color: #334155;
  font-size: 13px; }
.legend .chip { display: inline-block; width: 14px; height: 14px; margin-right: 6px; border-radius: 3px;
  border: 1.5px solid; vertical-align: -2px; }
.note { margin: 0 0 18px; color: #64748b; font-size: 13px; }
section { margin: 0 0 22px; }
section h2 { margin: 0 0 8px; font-size: 17px; font-weight: 650; }
section h2 small { color: #64748b; font-weight: 400; font-size: 13px; margin-left: 8px; }
.scroll { overflow-x: auto; background: #fff; border: 1px solid #e2e8f0; border-radius: 10px;
  box-shadow: 0 1px 2px rgba(15, 23, 42, 0.06); }
table { border-collapse: separate; border-spacing: 0; width: 100%; }
th, td { padding: 0; text-align: center; }
thead th { background: #f1f5f9; color: #475569; font-weight: 600; font-size: 12px;
  height: 26px; border-bottom: 1px solid #e2e8f0; }
thead tr.weeks th { height: 22px; font-weight: 500; color: #64748b; font-size: 11px; text-transform: uppercase;
  letter-spacing: 0.06em; border-bottom: 0; }
th.day, td.day { min-width: 36px; width: 36px; }
.wk { border-left: 2px solid #cbd5e1; }
th.agent, td.agent { position: sticky; left: 0; z-index: 2; text-align: left; min-width: 272px; width: 272px;
  padding: 5px 12px; background: #fff; border-right: 1px solid #e2e8f0; line-height: 1.3; }
thead th.agent { background: #f1f5f9; z-index: 3; }
td.agent .name { font-weight: 600; }
td.agent .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 7px; border-radius: 50%;
  vertical-align: 0; }
td.agent .detail { display: block; margin-left: 17px; color: #334155; font-size: 12.5px; }
td.agent .route { display: inline-block; margin-left: 5px; padding: 0 5px; border-radius: 4px; background: #f1f5f9;
  color: #475569; font-size: 11px; font-weight: 600; }
td.agent .condition { display: block; margin-left: 17px; color: #64748b; font-size: 12px; }
td.agent a.ref { color: #64748b; text-decoration: none; font-size: 11px; margin-left: 5px; }
tbody td { height: 46px; border-bottom: 1px solid #f1f5f9; }
tbody tr.first td { border-top: 1px solid #e2e8f0; }
tbody tr:first-child td { border-top: 0; }
td.off { color: #cbd5e1; }
td.on { padding: 3px 2px; }
td.on span { display: flex; align-items: center; justify-content: center; height: 30px; border-radius: 6px;
  border: 1.5px solid; font-size: 12px; font-weight: 650; font-variant-numeric: tabular-nums; white-space: nowrap;
  letter-spacing: -0.02em; cursor: default; }
td.on span.long { font-size: 10.5px; letter-spacing: -0.04em; }
td.on span.window { border-style: dashed; background: #fff !important; font-weight: 500; }
footer { margin-top: 26px; color: #475569; font-size: 13px; }
footer h2 { font-size: 15px; margin: 0 0 6px; color: #0f172a; }
footer ol { margin: 0; padding-left: 22px; }
footer li { margin: 2px 0; }
footer a { color: #1d4ed8; word-break: break-all; }
@media print { body { background: #fff; padding: 0; } .scroll { box-shadow: none; overflow: visible; }
  section { break-inside: avoid; } }
"""


def _colours(regimen: Regimen) -> dict[str, tuple[str, str, str]]:
    colours, spare = {}, iter(_FALLBACK_COLOURS * (1 + len(regimen.components)))
    for component in regimen.components:
        colours[component.agent] = _AGENT_COLOURS.get(component.agent) or next(spare)
    return colours


def render_html(regimen: Regimen) -> str:
    e = escape
    days = range(1, regimen.cycle_length + 1)
    colours = _colours(regimen)
    all_grids = grids(regimen)
    windows = any(row.every_other_day for _, rows in all_grids for row in rows)

    def week_start(day: int) -> bool:
        return day % 7 == 1 and day > 1

    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(regimen.identifier)}: {e(regimen.label or 'regimen')} (calendar)</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f'<h1><span class="id">{e(regimen.identifier)}</span>{e(regimen.label)}</h1>',
        f'<p class="facts">Setting <b>{e(regimen.setting or "not given")}</b> · cycle length '
        f"<b>{regimen.cycle_length} days</b>"
        + (f" · induction <b>{regimen.induction_cycles} cycles</b>" if regimen.induction_cycles else "")
        + f" · {len(all_grids)} cycle range{'s' if len(all_grids) != 1 else ''}</p>",
        '<div class="legend">',
    ]
    for agent, (background, border, _) in colours.items():
        out.append(f'<span><span class="chip" style="background:{background};border-color:{border}"></span>'
                   f"{e(agent)}</span>")
    out += [
        "</div>",
        '<p class="note">Each cell gives the dose level (unit in the row) on the cycle days it is given; hover a cell '
        "for the dosing and its source. Rows of one agent on the same day are alternatives (route, split first dose "
        "or renal band), not doses to add up."
        + (" Dashed cells: a window within which doses are spaced as the row says (every 48 h: never two days "
           "running)."
           if windows else "") + "</p>",
        "</header>",
        "<main>",
    ]
    for title, rows in all_grids:
        out += ["<section>", f"<h2>{e(title)}<small>{len(rows)} dosing{'s' if len(rows) != 1 else ''}</small></h2>",
                '<div class="scroll">', f'<table aria-label="{e(title)}">', "<thead>", '<tr class="weeks">',
                '<th class="agent"></th>']
        for day in days:
            if day % 7 == 1:
                span = min(7, regimen.cycle_length - day + 1)
                week = ' class="wk"' if week_start(day) else ""
                out.append(f'<th colspan="{span}"{week}>Week {(day - 1) // 7 + 1}</th>')
        out += ["</tr>", "<tr>", '<th class="agent" scope="col">Agent · dose level · route</th>']
        out += [f'<th class="day{" wk" if week_start(day) else ""}" scope="col">{day}</th>' for day in days]
        out += ["</tr>", "</thead>", "<tbody>"]
        if not rows:
            out.append(f'<tr><td class="agent">nothing is given in these cycles</td>'
                       f'<td colspan="{len(days)}"></td></tr>')
        previous_agent = None
        for row in rows:
            out += _html_row(row, days, colours[row.agent], first=row.agent != previous_agent, week_start=week_start)
            previous_agent = row.agent
        out += ["</tbody>", "</table>", "</div>", "</section>"]
    out += ["</main>", "<footer>", "<h2>Sources</h2>", "<ol>"]
    for number, source in enumerate(sources(regimen), start=1):
        link = f' <a href="{e(source.url)}" rel="noreferrer noopener">{e(source.url)}</a>' if source.url else ""
        out.append(f'<li id="source-{number}">{e(source.label)}{link}</li>')
    out += ["</ol>", "<p>Drawn by protovalidate from its knowledge base. A calendar to read, not an order: "
            "orders are checked with <code>protovalidate FILE</code>.</p>", "</footer>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


def _html_row(row: Row, days: range, colours: tuple[str, str, str], first: bool, week_start) -> list[str]:
    e = escape
    background, border, text = colours
    dosing = row.dosing
    reference = (f'<a class="ref" href="#source-{row.source_number}" title="source {row.source_number}">'
                 f"[{row.source_number}]</a>" if row.source_number else "")
    note = f'<span class="condition">{e(row.note)}</span>' if row.note else ""
    first_class = ' class="first"' if first else ""
    out = [f'<tr{first_class} data-agent="{e(row.agent)}">',
           f'<td class="agent" title="{e(dosing.label)}"><span class="swatch" style="background:{border}"></span>'
           f'<span class="name">{e(row.agent)}</span><span class="detail">{e(row.level)}'
           f'<span class="route">{e(row.route)}</span>{reference}</span>{note}</td>']
    source = f"source: {dosing.source.label}" if dosing.source else "source not given"
    when = f"within a window ({row.note})" if row.every_other_day else "given"
    span_classes = " ".join(name for name, wanted in (("long", len(row.cell_text) > 3),
                                                      ("window", row.every_other_day)) if wanted)
    span_class = f' class="{span_classes}"' if span_classes else ""
    for day in days:
        week = " wk" if week_start(day) else ""
        if day in dosing.days:
            tooltip = f"Day {day}, {when}: {row.agent} {dosing.label} ({source})"
            out.append(f'<td class="day on{week}" data-day="{day}" title="{e(tooltip)}"><span{span_class} '
                       f'style="background:{background};border-color:{border};color:{text}">{e(row.cell_text)}'
                       "</span></td>")
        else:
            out.append(f'<td class="day off{week}" data-day="{day}">·</td>')
    out.append("</tr>")
    return out
