"""Device uptime and faults on /console/insight (issue 16), in a real browser (Debian's chromium): a kiosk's live
states posted over HTTP open and close fault spans, a known set of past spans is held beside them, and the page's
table (and its CSV export) shows the uptime, faults and last fault computed here from the raw rows; in Dutch too."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect, sync_playwright

from browser import launch
from console_harness import PASSWORD, Attendant, add_site, add_user, console_server
from live_client import state
from server.db import insight_device_faults, make_engine

STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"
RANGE = "from=2026-09-01&to=2026-09-10"
SPANS = [("printer", "paper out", "2026-09-02T06:00:00.000000Z", "2026-09-02T18:00:00.000000Z"),
         ("printer", "jammed", "2026-09-05T00:00:00.000000Z", "2026-09-05T06:00:00.000000Z"),
         ("scanner", "unplugged", "2026-09-09T12:00:00.000000Z", None)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv, close = console_server(tmp_path_factory.mktemp("insight-devices"))
    _, headers = srv.enroll("lane-d1")
    add_site(srv, "site-d", "lane-d1")
    add_user(srv, "mila", role="manager", sites=("site-d",))
    for seq, printer in enumerate(("ok", "paper low", "ok"), 1):  # a fault today, over by now
        reply = httpx.post(f"{srv.url}/v1/live/state", headers=headers, timeout=10,
                           json=state(seq, devices={"printer": printer, "scanner": "ok"}))
        assert reply.status_code == 204, reply.text
    engine = make_engine(f"sqlite:///{srv.proc.data_dir}/server.db")
    with engine.begin() as conn:
        conn.execute(sa.insert(insight_device_faults), [dict(kiosk_id="lane-d1", device=d, detail=w, started_at=a,
                                                             ended_at=b) for d, w, a, b in SPANS])
    engine.dispose()
    yield srv
    close()


def expected() -> dict[str, tuple[float, int, str]]:
    """device -> (uptime %, faults, last fault) over 2026-09-01 .. 2026-09-10 from SPANS."""
    p0, p1 = datetime(2026, 9, 1, tzinfo=timezone.utc), datetime(2026, 9, 11, tzinfo=timezone.utc)
    out = {}
    for device in ("printer", "scanner"):
        mine = [s for s in SPANS if s[0] == device]
        down = sum(((datetime.strptime(b, STAMP).replace(tzinfo=timezone.utc) if b else p1)
                    - datetime.strptime(a, STAMP).replace(tzinfo=timezone.utc)).total_seconds() for _, _, a, b in mine)
        out[device] = (round(100 * (1 - down / (p1 - p0).total_seconds()), 2), len(mine), mine[-1][1])
    return out


def test_device_uptime_table_in_the_browser_equals_the_raw_rows_and_the_csv(server):
    want = expected()
    with sync_playwright() as p:
        browser = launch(p)
        try:
            for locale, heading in (("en-GB", "Device uptime and faults"),
                                    ("nl-NL", "Beschikbaarheid en storingen van apparaten")):
                context = browser.new_context(locale=locale, viewport={"width": 1440, "height": 1000})
                page = context.new_page()
                page.goto(f"{server.url}/console/login")
                page.fill("input[name=name]", "mila")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                expect(page).to_have_url(f"{server.url}/console")
                page.goto(f"{server.url}/console/insight?{RANGE}")
                expect(page.locator("#devices-heading")).to_have_text(heading)
                rows = page.locator("#table-devices tbody tr").evaluate_all(
                    "rows => rows.map(r => [r.dataset.device].concat(Array.from(r.cells).map(c => c.dataset.value)))")
                got = {r[0]: (float(r[3]), int(r[4]), r[6]) for r in rows}
                assert {d: (u, n) for d, (u, n, _) in got.items()} == {d: (u, n) for d, (u, n, _) in want.items()}
                shown = page.locator("#table-devices tbody tr[data-device=scanner] td").nth(4).text_content()
                assert "unplugged" in shown
                expect(page.locator(".plot[data-table=table-devices]")).to_have_attribute("data-drawn", "1")
                context.close()
        finally:
            browser.close()
    mila = Attendant(server)
    mila.login("mila")
    listed = list(csv.DictReader(io.StringIO(mila.http.get(f"/console/insight/devices.csv?{RANGE}").text)))
    assert {r["device"]: (float(r["ok_pct"]), int(r["faults"]), r["last_fault"]) for r in listed} == want
    today = datetime.now(timezone.utc).date().isoformat()
    now = mila.http.get(f"/console/insight?from={today}&to={today}").text  # today's fault, from the live states
    assert 'data-device="printer"' in now and "paper low" in now
