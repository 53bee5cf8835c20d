"""Two `kiosk-server serve` processes on one PostgreSQL database, as behind a load balancer: the simulated
kiosk streams from process A, the attendant's browser is on process B. Help and age approval still work."""
from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect

from console_harness import LIVE_MS, SimKiosk, add_site, add_user, login
from kserver_harness import servers_on_one_postgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def two(tmp_path):
    with servers_on_one_postgres(tmp_path, env={"KSERVER_FAILURE_BURST": "1000000"}) as servers:
        yield servers


def test_kiosk_on_a_browser_on_b(two, browser):
    a, b = two
    _, headers = a.enroll("lane-1")
    add_site(a, "site-a", "lane-1")
    add_user(a, "anna", sites=("site-a",), display="Anna B.")
    kiosk = SimKiosk(a, "lane-1", headers)
    try:
        kiosk.post(phase="idle")
        ctx, page = login(browser, b, "anna")
        tile = page.locator("#lane-lane-1")
        expect(tile.locator(".words")).to_have_text("Idle")
        kiosk.post(help_called=True, phase="help")
        expect(tile.locator(".words")).to_have_text("Needs help", timeout=LIVE_MS)
        page.locator("#queue [data-action=acknowledge]").click()
        assert kiosk.next_command("help_acknowledged")["by"] == "Anna B."
        expect(page.locator("#flash")).to_contain_text("Acknowledged.")

        kiosk.post(help_called=False, session_id="s-1", phase="age_check", age_check_pending=True)
        item = page.locator("#queue li", has_text="Age check")
        expect(item).to_be_visible(timeout=LIVE_MS)
        seen = {}

        def kiosk_side():
            seen["command"] = kiosk.next_command("approve_age")
            kiosk.answer(seen["command"])
            kiosk.post(age_check_pending=False, phase="shopping")
        worker = threading.Thread(target=kiosk_side)
        worker.start()
        item.locator("input[name=seen_id]").check()
        item.locator("[data-action=approve]").click()
        worker.join(15)
        assert seen["command"]["session_id"] == "s-1"
        expect(page.locator("#flash")).to_contain_text("Approve age: Done")
        expect(tile.locator(".words")).to_have_text("Shopping", timeout=LIVE_MS)
        ctx.close()
    finally:
        kiosk.close()
