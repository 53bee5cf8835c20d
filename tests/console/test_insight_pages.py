"""The insight pages (issue 16) in the console: a real server, sites and users made by the CLI, session records
synced over HTTP; the numbers on the page (tiles, data tables) equal those computed here from the raw rows, over
HTTP and in a real browser (Debian's chromium); screenshots for the docs (desktop, English and Dutch)."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from console_harness import PASSWORD, Attendant, add_site, add_user, console_server
from insight_data import expected, record, summaries
from server_records import batch

FIRST = datetime(2026, 10, 22, tzinfo=timezone.utc)
RANGE = "from=2026-11-01&to=2026-11-10"
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv, close = console_server(tmp_path_factory.mktemp("insight-console"))
    rows = {}
    for n, (kiosk_id, site) in enumerate((("lane-a1", "site-a"), ("lane-a2", "site-a"), ("lane-b1", "site-b"))):
        _, headers = srv.enroll(kiosk_id)
        if site not in {s for _, s in rows.values()}:
            add_site(srv, site, kiosk_id)
        else:
            from console_harness import cli
            cli(srv, "site", "assign", kiosk_id, site)
        mine = summaries(seed=10 + n, count=120, first_day=FIRST, days=20)
        reply = httpx.post(f"{srv.url}/v1/kiosks/{kiosk_id}/transactions", headers=headers, timeout=60,
                           json=batch(*[record(kiosk_id, seq, s) for seq, s in enumerate(mine, 1)]))
        assert reply.json()["accepted"] == len(mine)
        rows[kiosk_id] = (mine, site)
    add_user(srv, "mia", role="manager", sites=("site-a",), display="Mia M.")
    add_user(srv, "adam", role="admin", display="Adam A.")
    add_user(srv, "anna", role="attendant", sites=("site-a",))
    srv.rows = rows
    yield srv
    close()


def in_range(server, site=None, kiosk=None):
    return [s for k, (ss, st) in server.rows.items() for s in ss if (site is None or st == site)
            and (kiosk is None or k == kiosk) and "2026-11-01" <= s.started_at[:10] <= "2026-11-10"]


class Cells(HTMLParser):
    """data-value attributes: per tile id, and per table id its rows."""

    def __init__(self):
        super().__init__()
        self.tiles, self.tables, self._table, self._row = {}, {}, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("class") == "kpi":
            self.tiles[a["id"][4:]] = a["data-value"]
        if tag == "table":
            self._table = self.tables.setdefault(a.get("id"), [])
        if tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        if tag in ("td", "th") and self._row is not None and "data-value" in a:
            self._row.append(a["data-value"])

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None


def parsed(html: str) -> Cells:
    cells = Cells()
    cells.feed(html)
    return cells


def check_tiles(tiles: dict, rows) -> None:
    for name, value in expected(rows).items():
        got = tiles[name]
        assert (got == "") if value is None else float(got) == pytest.approx(value, abs=0.006), name


def test_roles_and_sites_decide_who_sees_what(server):
    anna = Attendant(server)
    anna.login("anna")
    assert anna.http.get("/console/insight").status_code == 403
    assert Attendant(server).http.get("/console/insight").headers["location"] == "/console/login"
    mia = Attendant(server)
    mia.login("mia")
    page = mia.http.get(f"/console/insight?{RANGE}")
    assert page.status_code == 200 and "lane-b1" not in page.text
    check_tiles(parsed(page.text).tiles, in_range(server, site="site-a"))  # her sites only, with no filter
    assert mia.http.get(f"/console/insight?{RANGE}&site=site-b").status_code == 403
    assert mia.http.get(f"/console/insight?{RANGE}&kiosk=lane-b1").status_code == 403
    adam = Attendant(server)
    adam.login("adam")
    check_tiles(parsed(adam.http.get(f"/console/insight?{RANGE}").text).tiles, in_range(server))
    check_tiles(parsed(adam.http.get(f"/console/insight?{RANGE}&site=site-b").text).tiles,
                in_range(server, site="site-b"))
    check_tiles(parsed(adam.http.get(f"/console/insight?{RANGE}&kiosk=lane-a2").text).tiles,
                in_range(server, kiosk="lane-a2"))


def test_csv_equals_the_data_table_and_drill_down_lists_the_sessions(server):
    adam = Attendant(server)
    adam.login("adam")
    for group in ("day", "week", "month"):
        table = parsed(adam.http.get(f"/console/insight?{RANGE}&group={group}").text).tables["table-series"]
        exported = list(csv.reader(io.StringIO(adam.http.get(f"/console/insight.csv?{RANGE}&group={group}").text)))
        assert exported[1:] == [row for row in table if row]
    listed = adam.http.get(f"/console/insight/sessions?{RANGE}&site=site-b&outcome=cancelled").text
    want = [s.session_id for s in in_range(server, site="site-b") if s.outcome == "cancelled"]
    assert sorted(re.findall(r'data-session="([^"]+)"', listed)) == sorted(want)


def login(browser, locale: str, name: str = "mia"):
    context = browser.new_context(locale=locale, viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.goto(f"{server_url}/console/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server_url}/console")
    return context, page


server_url = ""


def test_the_browser_shows_the_numbers_draws_the_charts_and_filters(server, browser):
    global server_url
    server_url = server.url
    context, page = login(browser, "en-GB")
    page.click("text=Insight")
    page.fill("input[name=from]", "2026-11-01")
    page.fill("input[name=to]", "2026-11-10")
    page.click("#apply")
    expect(page.locator("#kpi-sessions")).to_have_attribute("data-value", str(len(in_range(server, site="site-a"))))
    for name, value in expected(in_range(server, site="site-a")).items():
        got = page.locator(f"#kpi-{name}").get_attribute("data-value")
        assert (got == "") if value is None else float(got) == pytest.approx(value, abs=0.006), name
    for plot in page.locator(".plot").all():
        expect(plot).to_have_attribute("data-drawn", "1")
        assert plot.locator("canvas").count() == 1
    sessions_in_table = sum(int(v) for v in page.locator("#table-series tbody td:nth-child(2)").evaluate_all(
        "cells => cells.map(c => c.dataset.value)"))
    assert sessions_in_table == len(in_range(server, site="site-a"))
    heat = page.locator("#table-heat tbody td").evaluate_all("cells => cells.map(c => Number(c.dataset.value))")
    assert sum(heat) == len(in_range(server, site="site-a"))
    rows = in_range(server, site="site-a")
    numbers = "cells => cells.map(c => Number(c.dataset.value))"
    funnel = page.locator("#table-funnel tbody td:nth-child(2)").evaluate_all(numbers)
    assert funnel == [len(rows), sum(r.first_scan_ms is not None for r in rows),
                      sum(r.payment_ms is not None for r in rows), sum(r.paid_ms is not None for r in rows),
                      sum(r.receipt_choice is not None for r in rows)]
    stars = page.locator("#table-ratings tbody td").evaluate_all(numbers)
    assert stars == [sum(r.rating == i for r in rows) for i in range(1, 6)]
    done = page.locator("#table-complete tbody td").evaluate_all(numbers)
    assert sum(done) == sum(r.outcome == "completed" for r in rows)
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_IMG / "insight-en.png"), full_page=True)
    page.select_option("select[name=kiosk]", "lane-a2")
    page.select_option("select[name=flow]", "checkout")
    page.click("#apply")
    want = [s for s in in_range(server, kiosk="lane-a2") if s.flow == "checkout"]
    expect(page.locator("#kpi-sessions")).to_have_attribute("data-value", str(len(want)))
    assert float(page.locator("#kpi-completion_rate").get_attribute("data-value")) == pytest.approx(
        expected(want)["completion_rate"], abs=0.006)
    context.close()


def test_dutch_page_and_screenshot(server, browser):
    global server_url
    server_url = server.url
    context, page = login(browser, "nl-NL", "adam")
    page.goto(f"{server.url}/console/insight?{RANGE}")
    expect(page.locator("h1")).to_have_text("Inzicht")
    expect(page.locator("#kpi-completion_rate h3")).to_have_text("Voltooiingsgraad")
    expect(page.locator("#kpi-sessions")).to_have_attribute("data-value", str(len(in_range(server))))
    page.screenshot(path=str(DOCS_IMG / "insight-nl.png"), full_page=True)
    context.close()
