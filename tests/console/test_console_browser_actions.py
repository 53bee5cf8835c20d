"""Lane actions from the browser on a simulated kiosk over the real live channel: out of service and back,
a stale age approval (the customer has left) refused by the server and never sent, and role checks."""
from __future__ import annotations

import threading

from playwright.sync_api import expect

from console_harness import LIVE_MS, login


def _answer_next(kiosk, kind: str, then: dict, seen: dict) -> threading.Thread:
    def run():
        command = kiosk.next_command(kind)
        seen["command"] = command
        kiosk.answer(command)
        kiosk.post(**then)
    worker = threading.Thread(target=run)
    worker.start()
    return worker


def test_out_of_service_and_back(server, browser, kiosk):
    ctx, page = login(browser, server, "anna")
    tile = page.locator("#lane-lane-1")
    tile.locator("summary").click()
    seen: dict = {}
    worker = _answer_next(kiosk, "out_of_service", {"out_of_service": "closed by Anna B."}, seen)
    tile.locator("[data-kind=out_of_service]").click()
    worker.join(15)
    assert seen["command"]["by"] == "Anna B."
    expect(page.locator("#flash")).to_contain_text("Out of service: Done")
    expect(tile.locator(".words")).to_have_text("Out of service", timeout=LIVE_MS)
    expect(tile.locator(".icon")).to_have_text("⛔")
    expect(tile.locator("details")).to_have_attribute("open", "")  # the open panel survived the update
    worker = _answer_next(kiosk, "in_service", {"out_of_service": None}, seen)
    tile.locator("[data-kind=in_service]").click()
    worker.join(15)
    expect(tile.locator(".words")).to_have_text("Idle", timeout=LIVE_MS)
    ctx.close()


def test_stale_approval_is_refused_and_never_sent(server, browser, kiosk):
    kiosk.post(session_id="s-first", phase="age_check", age_check_pending=True, item_count=1, total_minor=349,
               lines=[{"name": "Pale Ale", "quantity": 1, "amount_minor": 349, "age_restricted": True}])
    ctx, page = login(browser, server, "anna")
    item = page.locator("#queue li[data-kiosk=lane-1]", has_text="Age check")
    expect(item).to_be_visible(timeout=LIVE_MS)
    page.context.route("**/console/events*", lambda route: route.abort())
    page.reload()  # this page no longer updates: it still shows the first customer's age check
    kiosk.post(session_id="s-next", phase="age_check", age_check_pending=True)  # the next customer
    item = page.locator("#queue li[data-kiosk=lane-1]", has_text="Age check")
    item.locator("input[name=seen_id]").check()
    item.locator("[data-action=approve]").click()
    expect(page.locator("#flash")).to_contain_text("Refused")
    kiosk.post(age_check_pending=False, session_id=None, phase="idle")
    events = []
    while True:
        try:
            events.append(kiosk.commands.next("command", timeout=1))
        except AssertionError:
            break
    assert not [c for c in events if c["kind"] == "approve_age"], events
    ctx.close()


def test_attendant_may_not_reload_config(server, browser, kiosk):
    ctx, page = login(browser, server, "anna")
    page.locator("#lane-lane-1 summary").click()
    expect(page.locator("#lane-lane-1 [data-kind=test_print]")).to_be_visible()
    expect(page.locator("#lane-lane-1 [data-kind=reload_config]")).to_have_count(0)
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    reply = page.request.post(f"{server.url}/console/kiosks/lane-1/commands", form={"kind": "reload_config"},
                              headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert reply.status == 403
    ctx.close()
