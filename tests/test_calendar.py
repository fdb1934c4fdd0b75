"""`protovalidate show`: a regimen as a calendar, as text and as one self-contained HTML page.

The text grid and the HTML tables are parsed back and compared with the
regimen data and with the protocol (rule book v2, docs/rules.md), not with a frozen
snapshot. The browser test renders the page in headless Chromium when it is
installed.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from browser import look_at, png_pixels
from chemo_protovalidate.author.calendar import GIVEN, MAX_WIDTH, NOT_GIVEN, WINDOW, Row, render_html, render_text
from chemo_protovalidate.author.regimens import regimens
from chemo_protovalidate.check.knowledge import KnowledgeBase

COMMAND = shutil.which("protovalidate", path=str(Path(sys.executable).parent)) or "protovalidate"
RULE_BOOK_REGIMENS = ["D-KRd", "KRd", "KRd-27", "Isa-KRd", "KdD", "KdD-weekly-70", "Kd-weekly-70", "Kd-weekly-56",
                      "Kd-twice-weekly-56", "KCyD", "Isa-Kd"]
REGIMEN_IDS = [r.identifier for r in regimens(KnowledgeBase.load())]
"""Every regimen of the knowledge base: the rule book's, and any added since."""
MARKS = {GIVEN, WINDOW, NOT_GIVEN}


@pytest.fixture(scope="module")
def all_regimens():
    return {r.identifier: r for r in regimens(KnowledgeBase.load())}


# --- reading the text calendar back -------------------------------------------------------------------------------


@dataclasses.dataclass
class TextRow:
    agent: str
    route: str
    level: str
    note: str
    given: set[int]
    window: set[int]
    reference: str


def parse_text(text: str) -> dict[str, list[TextRow]]:
    """Title of each cycle range -> its grid rows, read by the columns of the range's day header."""
    lines = text.splitlines()
    grids: dict[str, list[TextRow]] = {}
    for i, line in enumerate(lines):
        if not re.fullmatch(r"\s*day(\s+\d+)+", line):
            continue
        title = lines[i - 2]
        assert title not in grids, f"two grids titled {title!r}"
        label_width = line.index("day") + 3
        columns = {int(m.group()): m.end() - 1 for m in re.finditer(r"\d+", line)}
        assert list(columns) == list(range(1, len(columns) + 1)), line
        rows = grids[title] = []
        for row_line in lines[i + 1:]:
            if not row_line.strip():
                break
            if row_line.startswith("  "):
                continue  # a note that did not fit beside its row (a row starts with its agent)
            cells = {day: row_line[position] for day, position in columns.items()}
            assert set(cells.values()) <= MARKS, f"a cell that is no mark in {row_line!r}"
            assert all(row_line[p - 1] == " " and row_line[p - 2] == " " for p in columns.values()), row_line
            fields = re.split(r"\s{2,}", row_line[:label_width].strip())
            agent, route, level, note = (fields + ["", "", "", ""])[:4]
            rows.append(TextRow(agent, route, level, note,
                                given={d for d, mark in cells.items() if mark == GIVEN},
                                window={d for d, mark in cells.items() if mark == WINDOW},
                                reference=row_line[max(columns.values()) + 1:].strip()))
    return grids


def rows_of(grid: list[TextRow], agent: str, level: str | None = None) -> list[TextRow]:
    return [r for r in grid if r.agent == agent and (level is None or r.level == level)]


# --- text ---------------------------------------------------------------------------------------------------------


def test_the_rule_books_regimens_are_all_drawn(all_regimens):
    assert set(RULE_BOOK_REGIMENS) <= set(all_regimens)


@pytest.mark.parametrize("identifier", REGIMEN_IDS)
def test_text_grids_follow_the_regimen_data(all_regimens, identifier):
    regimen = all_regimens[identifier]
    text = render_text(regimen)
    assert text.splitlines()[0].startswith(identifier) and regimen.label in text.splitlines()[0]
    assert f"Cycle length: {regimen.cycle_length} days" in text
    assert max(len(line) for line in text.splitlines()) <= MAX_WIDTH
    assert render_text(regimen) == text, "the calendar is not deterministic"

    grids = parse_text(text)
    titles = [("Cycle %d on" % s) if e is None else ("Cycle %d" % s if s == e else "Cycles %d-%d" % (s, e))
              for s, e in regimen.cycle_ranges()]
    assert list(grids) == titles
    for (start, _), title in zip(regimen.cycle_ranges(), titles):
        expected = sorted((c.agent, str(d.level), tuple(d.days)) for c in regimen.components for d in c.dosings
                          if d.applies_to(start))
        shown = sorted((r.agent, r.level, tuple(sorted(r.given | r.window))) for r in grids[title])
        assert shown == expected, title
        assert all(not (r.given and r.window) for r in grids[title])
    for component in regimen.components:
        assert any(rows_of(grid, component.agent) for grid in grids.values()), component.agent


@pytest.mark.parametrize("identifier", REGIMEN_IDS)
def test_text_ends_with_the_sources_each_row_points_to(all_regimens, identifier):
    regimen = all_regimens[identifier]
    text = render_text(regimen)
    listed = text[text.index("\nSources:\n"):]
    numbered = dict(re.findall(r"^\[(\d+)\]\s+(.+)$", listed, re.M))
    for source in regimen.sources:
        assert source.label in listed and source.url in listed
    for component in regimen.components:
        for dosing in component.dosings:
            assert dosing.source.label in listed and dosing.source.url in listed
    for grid in parse_text(text).values():
        for row in grid:
            number = row.reference.strip("[]")
            assert number in numbered, row
            dosing = next(d for c in regimen.components if c.agent == row.agent for d in c.dosings
                          if str(d.level) == row.level and set(d.days) == row.given | row.window)
            assert numbered[number].startswith(dosing.source.label[:40])


def test_kdd_text_calendar(all_regimens):
    grids = parse_text(render_text(all_regimens["KdD"]))
    assert list(grids) == ["Cycle 1", "Cycle 2", "Cycles 3-6", "Cycle 7 on"]

    cycle1 = grids["Cycle 1"]
    assert [r.given for r in rows_of(cycle1, "carfilzomib", "20 mg/m2")] == [{1, 2}]
    assert [r.given for r in rows_of(cycle1, "carfilzomib", "56 mg/m2")] == [{8, 9, 15, 16}]
    assert [(r.route, r.given) for r in rows_of(cycle1, "daratumumab")] == [
        ("IV", {1, 8, 15, 22}), ("IV", {1, 2}), ("SC", {1, 8, 15, 22})]
    assert [r.level for r in rows_of(cycle1, "daratumumab")] == ["16 mg/kg", "8 mg/kg", "1800 mg"]
    assert rows_of(cycle1, "daratumumab", "8 mg/kg")[0].note == "split first dose"
    assert [(r.route, r.given) for r in rows_of(cycle1, "dexamethasone")] == [("IV/PO", {1, 2, 8, 9, 15, 16, 22, 23})]

    cycles_3_6 = grids["Cycles 3-6"]
    daratumumab = rows_of(cycles_3_6, "daratumumab")
    assert [(r.route, r.level) for r in daratumumab] == [("IV", "16 mg/kg"), ("SC", "1800 mg")]
    assert all(r.given == {1, 15} and not r.window for r in daratumumab)
    assert [r.given for r in rows_of(cycles_3_6, "carfilzomib")] == [{1, 2, 8, 9, 15, 16}]
    assert [r.given for r in rows_of(grids["Cycle 2"], "daratumumab")] == [{1, 8, 15, 22}] * 2
    assert [r.given for r in rows_of(grids["Cycle 7 on"], "daratumumab")] == [{1}] * 2


def test_weekly_schedules_prime_on_day_1_only(all_regimens):
    for identifier, level, later in (("Kd-weekly-70", "70 mg/m2", "Cycles 2-9"), ("Kd-weekly-56", "56 mg/m2", "Cycle 2 on"),
                                     ("KdD-weekly-70", "70 mg/m2", "Cycle 2")):
        grids = parse_text(render_text(all_regimens[identifier]))
        assert [r.given for r in rows_of(grids["Cycle 1"], "carfilzomib")] == [{1}, {8, 15}], identifier
        assert [r.level for r in rows_of(grids["Cycle 1"], "carfilzomib")] == ["20 mg/m2", level]
        assert [r.given for r in rows_of(grids[later], "carfilzomib")] == [{1, 8, 15}]


def test_kd_weekly_70_drops_day_22_dexamethasone_from_cycle_10(all_regimens):
    grids = parse_text(render_text(all_regimens["Kd-weekly-70"]))
    assert list(grids) == ["Cycle 1", "Cycles 2-9", "Cycle 10 on"]
    assert [r.given for r in rows_of(grids["Cycles 2-9"], "dexamethasone")] == [{1, 8, 15, 22}]
    assert [r.given for r in rows_of(grids["Cycle 10 on"], "dexamethasone")] == [{1, 8, 15}]


def test_krd_27_omits_days_8_and_9_from_cycle_13(all_regimens):
    grids = parse_text(render_text(all_regimens["KRd-27"]))
    assert list(grids) == ["Cycle 1", "Cycles 2-12", "Cycles 13-18", "Cycle 19 on"]
    assert [r.given for r in rows_of(grids["Cycles 2-12"], "carfilzomib")] == [{1, 2, 8, 9, 15, 16}]
    assert [r.given for r in rows_of(grids["Cycles 13-18"], "carfilzomib")] == [{1, 2, 15, 16}]


def test_lenalidomide_renal_bands_show_their_condition(all_regimens):
    grid = parse_text(render_text(all_regimens["KRd"]))["Cycle 1"]
    lenalidomide = {r.level: r for r in rows_of(grid, "lenalidomide")}
    assert list(lenalidomide) == ["25 mg", "10 mg", "15 mg", "5 mg"]
    assert lenalidomide["25 mg"].note == "CrCl 60 mL/min or more, or not given"
    assert lenalidomide["10 mg"].note == "CrCl 30 to under 60 mL/min"
    assert lenalidomide["15 mg"].note.startswith("CrCl under 30 mL/min") and "48 h" in lenalidomide["15 mg"].note
    days_1_21 = set(range(1, 22))
    assert lenalidomide["5 mg"].note.startswith("on dialysis")
    assert lenalidomide["25 mg"].given == lenalidomide["10 mg"].given == lenalidomide["5 mg"].given == days_1_21
    # every 48 hours: days 1-21 are a window, not a dose on each day
    assert lenalidomide["15 mg"].window == days_1_21 and not lenalidomide["15 mg"].given


def test_long_names_keep_the_text_within_its_width(all_regimens):
    regimen = all_regimens["KRd"]
    long_agent = "carfilzomib-with-a-very-long-name-" * 4
    component = dataclasses.replace(regimen.components[0], agent=long_agent)
    components = (component, *regimen.components[1:])
    text = render_text(dataclasses.replace(regimen, label="a label " * 30, components=components))
    urls = {s.url for s in regimen.sources} | {d.source.url for c in regimen.components for d in c.dosings}
    assert all(len(line) <= MAX_WIDTH for line in text.splitlines() if line.strip() not in urls)
    cycle1 = parse_text(text)["Cycle 1"]
    assert [(r.level, r.given) for r in cycle1 if r.agent.startswith("carfilzomib-with")] == [
        ("20 mg/m2", {1, 2}), ("36-56 mg/m2", {8, 9, 15, 16})]
    assert [r.given for r in rows_of(cycle1, "dexamethasone")] == [{1, 2, 8, 9, 15, 16, 22, 23}]


def test_spacing_and_induction_come_from_the_data(all_regimens):
    """pv:minDaysBetweenDoses draws a window of spaced doses; pv:inductionCycles heads the calendar."""
    regimen = all_regimens["KRd"]
    dexamethasone = regimen.components[-1]
    assert dexamethasone.agent == "dexamethasone"
    spaced = dataclasses.replace(dexamethasone, dosings=tuple(
        dataclasses.replace(d, min_days_between_doses=3) for d in dexamethasone.dosings))
    text = render_text(dataclasses.replace(regimen, components=(*regimen.components[:-1], spaced), induction_cycles=8))
    assert "Induction: 8 cycles." in text.splitlines()[1]
    row = rows_of(parse_text(text)["Cycle 1"], "dexamethasone")[0]
    assert row.window == {1, 2, 8, 9, 15, 16, 22, 23} and not row.given and row.note == "doses at least 3 days apart"
    assert "Induction" not in render_text(regimen)
    assert "Induction: 8 cycles." in render_text(all_regimens["D-KRd"]).splitlines()[1]


# --- HTML ---------------------------------------------------------------------------------------------------------

VOID = {"meta", "br", "img", "input", "link", "hr", "col", "wbr", "source", "area", "base", "embed", "param", "track"}


class Page(HTMLParser):
    """The page's structure: balanced tags, tables with their header days and body rows."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: list[dict] = []
        self.title = ""
        self._text_target: list[str] | None = None
        self._cell: dict | None = None
        self.feed(html)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed: {self.stack}")

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "table":
            self.tables.append({"label": attributes.get("aria-label"), "days": [], "rows": []})
        elif tag == "tr" and self.tables and "data-agent" in attributes:
            self.tables[-1]["rows"].append({"agent": attributes["data-agent"], "cells": {}, "label": attributes})
        elif tag == "td" and "data-day" in attributes:
            self._cell = {"day": int(attributes["data-day"]), "on": "on" in attributes.get("class", "").split(),
                          "title": attributes.get("title"), "text": []}
            self.tables[-1]["rows"][-1]["cells"][self._cell["day"]] = self._cell
            self._text_target = self._cell["text"]
        elif tag == "th" and "day" in (attributes.get("class") or "").split():
            self._text_target = []
            self.tables[-1]["days"].append(self._text_target)
        elif tag == "title":
            self._text_target = []
            self._title = self._text_target

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()
        if tag in ("td", "th", "title"):
            if tag == "title":
                self.title = "".join(self._title)
            self._text_target = None

    def handle_data(self, data):
        if self._text_target is not None:
            self._text_target.append(data)


def html_of(all_regimens, identifier: str) -> str:
    return render_html(all_regimens[identifier])


@pytest.mark.parametrize("identifier", REGIMEN_IDS)
def test_html_is_one_self_contained_page(all_regimens, identifier):
    regimen = all_regimens[identifier]
    html = render_html(regimen)
    assert html == render_html(regimen)
    assert html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in html
    lowered = html.lower()
    for loader in ("<script", "<link", "<img", "<iframe", "<object", "<embed", "@import", "url(", "@font-face",
                   "javascript:", " src=", "srcset", "<base"):
        assert loader not in lowered, loader
    assert not re.search(r"""src\s*=\s*["']?\s*https?:""", lowered)
    assert not re.search(r"""\son[a-z]+\s*=""", lowered), "an event handler attribute"

    page = Page(html)
    assert page.errors == []
    assert page.title.startswith(identifier)
    assert len(page.tables) == len(regimen.cycle_ranges())
    for table in page.tables:
        assert ["".join(day) for day in table["days"]] == [str(d) for d in range(1, regimen.cycle_length + 1)]
    # every href is a plain link to a source or an anchor on the page
    hrefs = [a.get("href") for tag, a in page.tags if tag == "a"]
    urls = {s.url for s in regimen.sources} | {d.source.url for c in regimen.components for d in c.dosings}
    assert hrefs and all(h.startswith("#source-") or h in urls for h in hrefs)
    styles = [a["style"] for _, a in page.tags if "style" in a]
    assert styles and all(re.fullmatch(r"[a-z-]+:#[0-9a-f]{6}(;[a-z-]+:#[0-9a-f]{6})*", s) for s in styles)


@pytest.mark.parametrize("identifier", REGIMEN_IDS)
def test_html_cells_follow_the_regimen_data(all_regimens, identifier):
    regimen = all_regimens[identifier]
    page = Page(render_html(regimen))
    for (start, _), table in zip(regimen.cycle_ranges(), page.tables):
        applying = [(c.agent, d) for c in regimen.components for d in c.dosings if d.applies_to(start)]
        assert len(table["rows"]) == len(applying)
        shown = sorted((row["agent"], tuple(sorted(day for day, cell in row["cells"].items() if cell["on"])))
                       for row in table["rows"])
        assert shown == sorted((agent, d.days) for agent, d in applying)
        for row in table["rows"]:
            assert sorted(row["cells"]) == list(range(1, regimen.cycle_length + 1))
            for cell in row["cells"].values():
                if cell["on"]:
                    assert cell["title"] and "source: " in cell["title"], cell
                    assert re.fullmatch(r"\d+(\.\d+)?(–\d+(\.\d+)?)?", "".join(cell["text"])), cell
                else:
                    assert cell["title"] is None and "".join(cell["text"]) == "·"


def test_kdd_html_calendar(all_regimens):
    page = Page(html_of(all_regimens, "KdD"))
    assert [t["label"] for t in page.tables] == ["Cycle 1", "Cycle 2", "Cycles 3-6", "Cycle 7 on"]

    def on(table, agent):
        return [{day: "".join(c["text"]) for day, c in row["cells"].items() if c["on"]}
                for row in table["rows"] if row["agent"] == agent]

    cycle1, _, cycles_3_6, cycle7 = page.tables
    assert on(cycle1, "carfilzomib") == [{1: "20", 2: "20"}, {8: "56", 9: "56", 15: "56", 16: "56"}]
    assert on(cycle1, "daratumumab") == [{1: "16", 8: "16", 15: "16", 22: "16"}, {1: "8", 2: "8"},
                                         {1: "1800", 8: "1800", 15: "1800", 22: "1800"}]
    assert on(cycles_3_6, "daratumumab") == [{1: "16", 15: "16"}, {1: "1800", 15: "1800"}]
    assert on(cycle7, "daratumumab") == [{1: "16"}, {1: "1800"}]
    priming = cycle1["rows"][0]["cells"][1]["title"]
    assert "20 mg/m2 IV priming dose" in priming and "Kyprolis" in priming


def test_html_escapes_every_text(all_regimens):
    regimen = all_regimens["KdD"]
    hostile = "<script>alert('x')</script> & \"quoted\""
    source = dataclasses.replace(regimen.components[0].dosings[0].source, label=hostile,
                                 url=f"https://example.org/?a=1&b={hostile}")
    component = dataclasses.replace(regimen.components[0], agent=hostile, dosings=tuple(
        dataclasses.replace(d, label=hostile, condition=hostile, source=source) for d in regimen.components[0].dosings))
    tampered = dataclasses.replace(regimen, identifier=hostile, label=hostile, setting=hostile,
                                   components=(component, *regimen.components[1:]))
    html = render_html(tampered)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;" in html
    page = Page(html)
    assert page.errors == [] and len(page.tables) == 4
    assert hostile in page.title


# --- the command --------------------------------------------------------------------------------------------------


def test_show_prints_the_calendar_and_writes_the_page(all_regimens, tmp_path):
    page = tmp_path / "kdd.html"
    done = subprocess.run([COMMAND, "show", "KdD", "--html", str(page)], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode("utf-8") == render_text(all_regimens["KdD"])
    assert "Cycles 3-6" in parse_text(done.stdout.decode("utf-8"))
    assert page.read_text("utf-8") == render_html(all_regimens["KdD"])
    assert str(page) in done.stderr.decode()


def test_show_without_html_writes_nothing(tmp_path):
    done = subprocess.run([COMMAND, "show", "Kd-weekly-70"], capture_output=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0 and list(tmp_path.iterdir()) == []
    assert [r.given for r in rows_of(parse_text(done.stdout.decode())["Cycles 2-9"], "carfilzomib")] == [{1, 8, 15}]


def test_show_an_unknown_regimen_exits_2(tmp_path):
    done = subprocess.run([COMMAND, "show", "NoSuchRegimen", "--html", str(tmp_path / "x.html")],
                          capture_output=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout == b"" and b"NoSuchRegimen" in done.stderr
    assert not (tmp_path / "x.html").exists()


# --- in a browser -------------------------------------------------------------------------------------------------


def test_the_page_in_headless_chromium(all_regimens, tmp_path):
    page = tmp_path / "kdd.html"
    page.write_text(render_html(all_regimens["KdD"]), "utf-8")
    png, dom = look_at(page, 1400, 900)
    assert len(png) > 10_000

    width, height, rows = png_pixels(png)
    assert (width, height) == (1400, 900)
    sampled = Counter(row[i:i + 3] for row in rows[::3] for i in range(0, len(row), 9))  # every 3rd pixel and row
    assert len(sampled) > 50, "the screenshot is (nearly) one colour"
    # The day cells of cycles 1 and 2 in their agent's fill (the legend's chips alone give ~15 samples each).
    for agent, fill in (("carfilzomib", "dbeafe"), ("daratumumab", "ede9fe"), ("dexamethasone", "fef3c7")):
        assert sampled[bytes.fromhex(fill)] > 200, f"the {agent} day cells were not drawn in #{fill}"

    browser_page = Page(dom)
    assert [t["label"] for t in browser_page.tables] == ["Cycle 1", "Cycle 2", "Cycles 3-6", "Cycle 7 on"]
    for table in browser_page.tables:
        assert ["".join(day) for day in table["days"]] == [str(d) for d in range(1, 29)]
    assert {row["agent"] for table in browser_page.tables for row in table["rows"]} == {
        "carfilzomib", "daratumumab", "dexamethasone"}
    assert dom.count('class="day on') == render_html(all_regimens["KdD"]).count('class="day on')


def test_a_dosings_infusion_minimum_is_shown_beside_it(all_regimens):
    """show displays every constraint of a dosing: days, route, level, and its infusion minimum (pv:minInfusionMinutes)."""
    timed = [(component.agent, dosing) for regimen in all_regimens.values() for component in regimen.components
             for dosing in component.dosings if dosing.min_infusion_minutes is not None]
    assert timed, "the shipped regimens give infusion minima"
    for agent, dosing in timed:
        assert f"infused over at least {dosing.min_infusion_minutes:g} min" in Row(agent, dosing, None).note
    text = render_text(all_regimens["KRd-27"])
    carfilzomib = rows_of(parse_text(text)["Cycle 1"], "carfilzomib")
    assert [r.note for r in carfilzomib] == ["infused over at least 10 min"] * 2
