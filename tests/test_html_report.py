"""`--format html`: one self-contained page per run, each order's calendar with its findings on it.

The report comes from the real Pipeline on a few example files (named
relative to the repository root, every test runs from there). The page is
parsed back with html.parser and compared with the results it was drawn
from; tests/snapshots/report.html holds the page for that report
(`UPDATE_SNAPSHOTS=1 pytest tests/test_html_report.py` writes a missing or
changed one, otherwise a difference fails). The browser test renders the
page in headless Chromium when it is installed.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from chemo_protovalidate.model.findings import (Administration, FileResult, Finding, KnowledgeBaseVersion, OrderResult, Severity, Source)
from chemo_protovalidate.report import html as html_report
from chemo_protovalidate.report.common import Report, order_title, summary
from conftest import ROOT
from browser import look_at, png_pixels

SNAPSHOT = Path(__file__).parent / "snapshots" / "report.html"
VALID = "examples/orders/valid/KdD-cycle1.jsonld"
OFF_SCHEDULE = "examples/orders/invalid/off-schedule.jsonld"  # lenalidomide on day 22: an error
HYDRATION = "examples/orders/warning/hydration-missing.jsonld"  # carfilzomib day 9 without fluid: a warning
NOT_JSON = "examples/orders/invalid/not-json.jsonld"  # a finding about the file, no order
PATHS = [VALID, OFF_SCHEDULE, HYDRATION, NOT_JSON]
VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "embed", "source", "track", "wbr"}

# The page's colours the screenshot is read by (src/chemo_protovalidate/report/html.py's CSS).
GIVEN_FILL = bytes.fromhex("ccfbf1")
ERROR_FILL = bytes.fromhex("dc2626")
WARNING_FILL = bytes.fromhex("f59e0b")


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="module")
def report(validator) -> Report:
    results = [validator.check(p, (ROOT / p).read_bytes()) for p in PATHS]
    # Fixed versions, so that a release (of the package or of the knowledge base) does not change the snapshot.
    return Report(results, Severity.ERROR, validator.rules(), tool_version="0.0.0-snapshot",
                  knowledge_base=KnowledgeBaseVersion("0", "0.0.0-snapshot"))


@pytest.fixture(scope="module")
def page_html(report) -> str:
    return html_report.render(report)


# --- reading the page back ----------------------------------------------------------------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    parent: "Node | None" = None
    children: list["Node | str"] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def all(self, tag: str | None = None, cls: str | None = None, **attrs) -> list["Node"]:
        """Every descendant with that tag, class and attribute values (an attribute given as True: present)."""
        found = []
        for child in self.children:
            if isinstance(child, str):
                continue
            if ((tag is None or child.tag == tag) and (cls is None or cls in child.classes)
                    and all(k.replace("_", "-") in child.attrs if v is True else
                            child.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())):
                found.append(child)
            found += child.all(tag, cls, **attrs)
        return found

    def one(self, tag: str | None = None, cls: str | None = None, **attrs) -> "Node":
        found = self.all(tag, cls, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag} class={cls} {attrs}>"
        return found[0]

    def ancestor(self, tag: str) -> "Node | None":
        node = self.parent
        while node is not None and node.tag != tag:
            node = node.parent
        return node


class Page(HTMLParser):
    """The page as a small tree; `errors` lists every tag closed out of turn or never closed."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root
        self.errors: list[str] = []
        self.feed(html)
        self.close()
        while self.current is not self.root:
            self.errors.append(f"unclosed <{self.current.tag}>")
            self.current = self.current.parent

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, dict(attrs), self.current))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.current.tag != tag:
            self.errors.append(f"</{tag}> closes <{self.current.tag}>")
            return
        self.current = self.current.parent

    def handle_data(self, data):
        self.current.children.append(data)

    # what the tests ask of it

    def file(self, path: str) -> Node:
        return self.root.one("section", "file", data_path=path)

    def calendars(self) -> list[Node]:
        return self.root.all("table", "calendar")

    def calendar(self, path: str, order_label: str | None = None) -> Node:
        orders = self.file(path).all("details", "order")
        if order_label is not None:
            orders = [o for o in orders if o.attrs["data-order"] == order_label]
        assert len(orders) == 1
        return orders[0].one("table", "calendar")


def cells(row: Node) -> dict[int, Node]:
    return {int(td.attrs["data-day"]): td for td in row.all("td") if "data-day" in td.attrs}


def days_of(table: Node) -> list[int]:
    return [int(th.text) for th in table.all("th", "day")]


def rows_of(table: Node, agent: str) -> list[Node]:
    return [tr for tr in table.all("tr") if tr.attrs.get("data-agent") == agent]


# --- the page -----------------------------------------------------------------------------------------------------


def test_the_page_is_self_contained_and_deterministic(report, page_html):
    assert page_html == html_report.render(report)
    assert page_html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page_html
    lowered = page_html.lower()
    for loader in ("<script", "<link", "<img", "<iframe", "<object", "<embed", "<base", "<svg", "@import", "url(",
                   "@font-face", "javascript:", "srcset", "<form"):
        assert loader not in lowered, loader
    assert not re.search(r"""\ssrc\s*=""", lowered), "an element that loads something"
    assert not re.search(r"""\son[a-z]+\s*=""", lowered), "an event handler attribute"
    page = Page(page_html)
    assert page.errors == []
    # Every link is an anchor on the page or a finding's source: nothing else is reached from here.
    ids = {node.attrs["id"] for node in page.root.all(id=True)}
    sources = {f.source.url for _, _, f in report.findings() if f.source is not None}
    sources |= {r.source.url for r in report.rules.values() if r.source is not None}
    hrefs = [a.attrs["href"] for a in page.root.all("a")]
    assert hrefs
    for href in hrefs:
        assert (href.startswith("#") and href[1:] in ids) or href in sources, href


def test_the_header_sums_up_the_run(report, page_html):
    page = Page(page_html)
    header = page.root.one("header")
    counts = summary(report.results)
    shown = {li.attrs["class"]: int(li.one("b").text) for li in header.one("ul", "counts").all("li")}
    assert shown == {"files": 4, "orders": 3, "errors": 2, "warnings": 1, "infos": 0}
    assert {k: shown[k] for k in counts} == counts
    verdict = header.one("div", "verdict")
    assert "fail" in verdict.classes and "fails" in verdict.text and "fail-on error" in verdict.text
    assert "2 files of 4" in verdict.text
    legend = header.one("div", "legend")
    assert {t.text for t in legend.all("span", "tile")} >= {"!", "i"}
    assert [s for s in ("error", "warning", "info") if legend.all("span", s)] == ["error", "warning", "info"]
    assert page.root.one("title").text.startswith("protovalidate report: 2 errors, 1 warning in 4 files")

    # At fail-on warning the warning fails the run too; nothing else is decided by the page.
    stricter = Page(html_report.render(Report(report.results, Severity.WARNING, report.rules, tool_version="x")))
    assert "3 files of 4" in stricter.root.one("div", "verdict").text
    assert "passes" in Page(html_report.render(Report(report.results[:1], Severity.ERROR, report.rules))).root.one(
        "div", "verdict").text


def test_one_calendar_per_order_drawn_from_its_administrations(report, page_html):
    page = Page(page_html)
    orders = [(r.path, o) for r in report.results for o in r.orders]
    assert len(page.calendars()) == len(orders) == 3
    for path, order in orders:
        table = page.calendar(path, order.label)
        assert table.attrs["aria-label"] == order_title(order)
        assert days_of(table) == list(range(1, 29))
        rows = [tr for tr in table.all("tr") if "data-agent" in tr.attrs]
        assert [(tr.attrs["data-agent"], tr.attrs["data-line"]) for tr in rows] == [
            (a.agent, str(a.line)) for a in order.administrations]
        for tr, administration in zip(rows, order.administrations):
            label = tr.one("td", "agent").text
            assert administration.dose in label and (administration.dose_level or "") in label
            assert f"line {administration.line}" in label and administration.route in label
            on = sorted(day for day, td in cells(tr).items() if "on" in td.classes)
            assert on == list(administration.days)
            assert all(td.one("span", "tile") for td in cells(tr).values() if "on" in td.classes)
            assert all(td.text == "·" and not td.all("span") for td in cells(tr).values() if "off" in td.classes)


def test_the_off_schedule_error_is_on_lenalidomides_day_22(report, page_html):
    [finding] = [f for r in report.results if r.path == OFF_SCHEDULE for f in r.all_findings()]
    page = Page(page_html)
    table = page.calendar(OFF_SCHEDULE)
    (lenalidomide,) = rows_of(table, "lenalidomide")
    tile = cells(lenalidomide)[22]
    assert {"on", "flagged", "error"} <= tile.classes and tile.attrs["data-severity"] == "error"
    assert "error" in tile.one("span", "tile").classes and tile.one("span", "tile").text == "!"
    assert "off-schedule" in tile.attrs["title"]
    assert "lenalidomide is not given on cycle 1 day 22" in tile.attrs["title"]
    assert tile.attrs["title"].startswith("Day 22: lenalidomide PO, 25 mg (line 25)")
    # ...and nowhere else: the other tiles of the order are plain.
    flagged = [(tr.attrs["data-agent"], day) for tr in table.all("tr") for day, td in cells(tr).items()
               if "flagged" in td.classes]
    assert flagged == [("lenalidomide", 22)]
    assert "flag-error" in lenalidomide.classes
    # The finding is listed under the calendar, with a link to its tile.
    order = table.ancestor("details")
    assert "open" in order.attrs and "fails" in order.one("summary").text
    (item,) = order.all("li", "finding")
    assert item.attrs["data-rule"] == "off-schedule" and item.attrs["data-severity"] == "error"
    assert "line 26:47" in item.text and f"source: {finding.source.label}" in item.text  # the label is data
    assert item.one("span", "where").one("a").attrs["href"] == f"#{tile.attrs['id']}"


def test_the_hydration_warning_is_marked_as_a_warning(page_html):
    page = Page(page_html)
    table = page.calendar(HYDRATION)
    carfilzomib = [tr for tr in rows_of(table, "carfilzomib") if tr.attrs["data-line"] == "18"]
    assert len(carfilzomib) == 1
    tile = cells(carfilzomib[0])[9]
    assert {"flagged", "warning"} <= tile.classes and "error" not in tile.classes
    assert "warning" in tile.one("span", "tile").classes
    assert "hydration-missing" in tile.attrs["title"] and tile.attrs["title"].count("\n") == 1
    order = table.ancestor("details")
    assert "open" in order.attrs and "warns" in order.classes
    assert "passes" in order.one("span", "badge").text and "1 warning" in order.one("span", "badge").text


def test_a_clean_order_is_folded_and_a_file_finding_is_listed_under_its_file(page_html):
    page = Page(page_html)
    clean = page.file(VALID).one("details", "order")
    assert "open" not in clean.attrs and "clean" in clean.classes
    assert len(clean.all("table", "calendar")) == 1 and not clean.all("li", "finding")
    assert not clean.all("td", "flagged")

    section = page.file(NOT_JSON)
    assert not section.all("table") and not section.all("details")
    (item,) = section.all("li", "finding")
    assert item.attrs["data-rule"] == "not-json" and item.attrs["data-severity"] == "error"
    assert "not valid JSON" in item.text and "line 5:3" in item.text
    assert "protovalidate order contract" in item.text
    assert item.ancestor("ul") is section.one("ul", "file-findings")
    # no other file lists it
    assert [i.ancestor("section").attrs["data-path"] for i in page.root.all("li", "finding", data_rule="not-json")] == [
        NOT_JSON]


def test_snapshot(page_html):
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        if not SNAPSHOT.exists() or SNAPSHOT.read_text(encoding="utf-8") != page_html:
            SNAPSHOT.parent.mkdir(exist_ok=True)
            SNAPSHOT.write_text(page_html, encoding="utf-8")
        return
    assert SNAPSHOT.exists(), f"no snapshot {SNAPSHOT}: run with UPDATE_SNAPSHOTS=1 and review it"
    assert page_html == SNAPSHOT.read_text(encoding="utf-8"), f"the page differs from {SNAPSHOT.name}"


# --- what the example files do not show ---------------------------------------------------------------------------

HOSTILE = "<script>alert('x')</script> & \"quoted\""
ESCAPED = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;"


def _made_report() -> Report:
    source = Source("https://w3id.org/protovalidate/kb/source-x", f"Source {HOSTILE}",
                    f"https://example.org/?a={HOSTILE}")
    evil = Source("https://w3id.org/protovalidate/kb/source-y", "Evil source", "javascript:alert(1)")
    administrations = [
        Administration("dexamethasone", "PO", (1, 8), None, "40 mg", line=10),
        Administration("dexamethasone", "IV", (1,), None, "20 mg", line=14),
        Administration(f"agent {HOSTILE}", "IV", (2, 30), "1 mg/m2", "2 mg", line=18),
    ]
    order = OrderResult(f"urn:x:{HOSTILE}", "KRd", 2, [
        Finding("duplicate-administration", Severity.ERROR, "twice on day 1", agent="dexamethasone", day=1, line=15),
        Finding("a-note", Severity.INFO, f"a note {HOSTILE}", source, agent=f"agent {HOSTILE}", day=30, line=19,
                column=4),
        Finding("off-schedule", Severity.WARNING, "not on day 9", evil, agent="dexamethasone", day=9, line=11),
        Finding("patient-data-conflict", Severity.ERROR, "conflicting weights", line=3),
    ], administrations)
    return Report([
        FileResult(f"orders/{HOSTILE}.jsonld", orders=[order, OrderResult("urn:x:empty", None, None)]),
        FileResult("orders/gone.jsonld", tool_error=f"no such file {HOSTILE}"),
    ], Severity.ERROR, {})


def test_findings_the_calendar_cannot_place_are_listed_and_the_rest_placed():
    report = _made_report()
    html = html_report.render(report)
    page = Page(html)
    assert page.errors == []
    first, empty = page.calendars()
    assert days_of(first) == list(range(1, 31)), "an administration on day 30 widens the calendar"
    assert "beyond" in first.all("th", "day")[-1].classes and "beyond" not in first.all("th", "day")[27].classes
    po, iv = rows_of(first, "dexamethasone")
    # the duplicate's finding is on the row its line falls in, not on both
    assert "flagged" in cells(iv)[1].classes and "flagged" not in cells(po)[1].classes
    (other,) = rows_of(first, f"agent {HOSTILE}")
    assert {"flagged", "info"} <= cells(other)[30].classes and "info" in cells(other)[30].one("span", "tile").classes
    assert cells(other)[30].one("span", "tile").text == "i"
    items = {li.attrs["data-rule"]: li for li in first.ancestor("details").all("li", "finding")}
    assert list(items) == ["duplicate-administration", "patient-data-conflict", "off-schedule", "a-note"]
    assert "data-placed" in items["duplicate-administration"].attrs and "data-placed" in items["a-note"].attrs
    assert "not an administration of this order" in items["off-schedule"].text
    assert "not on the calendar" in items["patient-data-conflict"].text
    assert "line 3" in items["patient-data-conflict"].text
    assert not any("flagged" in td.classes for tr in rows_of(first, "dexamethasone") for td in cells(tr).values()
                   if td.attrs["data-day"] == "9")
    # an order with nothing to draw still has its (empty) calendar; its summary gives no regimen or cycle
    assert days_of(empty) == list(range(1, 29)) and empty.one("td", "empty")
    assert empty.attrs["aria-label"] == "order urn:x:empty"
    # the tool error is shown under its file
    assert "no such file" in page.file("orders/gone.jsonld").one("p", "toolerror").text
    assert "tool error" in page.file("orders/gone.jsonld").one("span", "badge").text


def test_every_text_is_escaped_and_no_link_runs_anything():
    html = html_report.render(_made_report())
    assert "<script" not in html.lower() and "javascript:" not in html.lower()
    assert ESCAPED in html
    page = Page(html)
    assert page.errors == []
    assert page.file(f"orders/{HOSTILE}.jsonld").one("details", data_order=f"urn:x:{HOSTILE}")
    assert HOSTILE in page.root.one("p", "toolerror").text
    assert "Evil source" in html and not [a for a in page.root.all("a") if a.text == "Evil source"]
    assert [a.attrs["href"] for a in page.root.all("a") if a.text.startswith("Source ")] == [
        f"https://example.org/?a={HOSTILE}"]


# --- in a browser -------------------------------------------------------------------------------------------------


def _blobs(rows: list[bytes], colour: bytes) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (left, top, right, bottom) of the 8-connected areas drawn exactly in `colour`."""
    pixels = set()
    for y, row in enumerate(rows):
        i = row.find(colour)
        while i != -1:
            if i % 3 == 0:
                pixels.add((i // 3, y))
            i = row.find(colour, i + 1)
    boxes = []
    while pixels:
        todo = [pixels.pop()]
        xs, ys = [], []
        while todo:
            x, y = todo.pop()
            xs.append(x)
            ys.append(y)
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    if (x + dx, y + dy) in pixels:
                        pixels.remove((x + dx, y + dy))
                        todo.append((x + dx, y + dy))
        boxes.append((min(xs), min(ys), max(xs), max(ys)))
    return sorted(boxes, key=lambda b: (b[1], b[0]))


def _runs(row: bytes, colour: bytes, start: int, end: int) -> int:
    """How many separate stretches of `colour` the pixels start..end-1 of a row hold."""
    runs, inside = 0, False
    for x in range(start, end):
        here = row[3 * x:3 * x + 3] == colour
        runs += here and not inside
        inside = here
    return runs


def test_the_page_in_headless_chromium(report, page_html, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(page_html, "utf-8")
    png, dom = look_at(page, 1400, 2000)
    assert len(png) > 20_000

    width, height, rows = png_pixels(png)
    assert (width, height) == (1400, 2000)
    sampled = Counter(row[i:i + 3] for row in rows[::3] for i in range(0, len(row), 9))  # every 3rd pixel and row
    assert len(sampled) > 50, "the screenshot is (nearly) one colour"
    assert sampled[GIVEN_FILL] > 300, "the tiles of the days given were not drawn"

    # Tiles are 28 px high; the legend's sample tiles are 18 px high. The window holds the whole page.
    def tiles(colour):
        return [b for b in _blobs(rows, colour) if b[3] - b[1] >= 20 and b[2] - b[0] >= 20]

    (error,) = tiles(ERROR_FILL)
    (warning,) = tiles(WARNING_FILL)
    assert error[1] < warning[1], "the off-schedule order comes before the hydration one"
    # Lenalidomide's row: given days 1-21 to the left of the red tile, nothing to its right: day 22.
    middle = rows[(error[1] + error[3]) // 2]
    assert _runs(middle, GIVEN_FILL, 0, error[0]) == 21
    assert _runs(middle, GIVEN_FILL, error[2] + 1, width) == 0
    # The warning on carfilzomib's second row (days 8, 9, 15, 16): one tile before it, two after.
    middle = rows[(warning[1] + warning[3]) // 2]
    assert (_runs(middle, GIVEN_FILL, 0, warning[0]), _runs(middle, GIVEN_FILL, warning[2] + 1, width)) == (1, 2)

    browser_page = Page(dom)
    assert browser_page.errors == []
    titles = [order_title(o) for r in report.results for o in r.orders]
    assert [t.attrs["aria-label"] for t in browser_page.calendars()] == titles
    assert [s.one("span", "title").text for s in browser_page.root.all("summary")] == titles
    assert [td.attrs["data-day"] for td in browser_page.root.all("td", "flagged")] == ["22", "9"]


def test_a_dose_finding_on_no_one_day_marks_every_day_of_its_administration(validator):
    """dose-amount-mismatch speaks of the administration (cyclophosphamide on days 1, 8 and 15), not of a day:
    each of its tiles is marked, and no tile of another row."""
    path = "examples/orders/invalid/dose-amount-mismatch-cyclophosphamide-capped.jsonld"
    result = validator.check(path, (ROOT / path).read_bytes())
    (finding,) = [f for f in result.all_findings() if f.rule_id == "dose-amount-mismatch"]
    assert finding.day is None
    page = Page(html_report.render(Report([result], Severity.ERROR, validator.rules())))
    (calendar,) = page.calendars()
    flagged = {(tr.attrs["data-agent"], day) for tr in calendar.all("tr") if "data-agent" in tr.attrs
               for day, td in cells(tr).items() if "flagged" in td.classes}
    assert flagged == {("cyclophosphamide", 1), ("cyclophosphamide", 8), ("cyclophosphamide", 15)}
