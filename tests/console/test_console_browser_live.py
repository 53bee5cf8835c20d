"""The lane board and the queue live in a real browser, with simulated kiosks on the real live channel:
help call -> tile and queue update without a reload -> acknowledge -> the kiosk gets help_acknowledged;
age check -> approve with "I have seen ID" -> the kiosk gets approve_age for its session; the second
attendant is told who was first; another site's kiosk never shows; a phone-wide board does not scroll sideways."""
from __future__ import annotations

import threading

import httpx

from playwright.sync_api import expect

from console_harness import LIVE_MS, TOKENS, SimKiosk, login


def test_help_call_shows_live_and_acknowledge_reaches_the_kiosk(server, browser, kiosk):
    ctx, page = login(browser, server, "anna")
    tile = page.locator("#lane-lane-1")
    expect(tile.locator(".words")).to_have_text("Idle")
    kiosk.post(help_called=True, phase="help")
    expect(tile.locator(".words")).to_have_text("Needs help", timeout=LIVE_MS)
    expect(tile.locator(".icon")).to_have_text("✋")
    item = page.locator("#queue li[data-kiosk=lane-1]", has_text="Help called")
    expect(item).to_be_visible(timeout=LIVE_MS)
    item.locator("[data-action=acknowledge]").click()
    command = kiosk.next_command("help_acknowledged")
    assert command["by"] == "Anna B."
    expect(page.locator("#flash")).to_contain_text("Acknowledged.")
    expect(item).to_contain_text("Acknowledged by Anna B.", timeout=LIVE_MS)
    expect(tile).to_contain_text("Help on the way: Anna B.")
    item.locator("[data-action=resolve]").click()
    assert kiosk.next_command("help_resolved")["by"] == "Anna B."
    expect(page.locator("#queue li[data-kiosk=lane-1][data-stage=raised]")).to_have_count(0)
    ctx.close()


def test_second_attendant_is_told_who_was_first(server, browser, kiosk):
    kiosk.post(help_called=True, phase="help")
    anna_ctx, anna = login(browser, server, "anna")
    ben_ctx, ben = login(browser, server, "ben")
    for page in (anna, ben):
        expect(page.locator("#queue [data-action=acknowledge]")).to_have_count(1, timeout=LIVE_MS)
    ben.context.route("**/console/events*", lambda route: route.abort())  # Ben's page stops updating
    ben.reload()
    anna.locator("#queue [data-action=acknowledge]").click()
    expect(anna.locator("#flash")).to_contain_text("Acknowledged.")
    ben.locator("#queue [data-action=acknowledge]").click()
    expect(ben.locator("#flash")).to_contain_text("Already acknowledged by Anna B.")
    anna_ctx.close()
    ben_ctx.close()


def test_approve_age_with_id_seen_sends_the_session(server, browser, kiosk):
    ctx, page = login(browser, server, "anna")
    kiosk.post(session_id="s-beer-1", phase="age_check", age_check_pending=True, item_count=1, total_minor=349,
               lines=[{"name": "Pale Ale", "quantity": 1, "amount_minor": 349, "age_restricted": True}])
    item = page.locator("#queue li[data-kiosk=lane-1]", has_text="Age check")
    expect(item).to_be_visible(timeout=LIVE_MS)
    expect(page.locator("#lane-lane-1 .words")).to_have_text("Waiting for age check")
    expect(item).to_contain_text("Pale Ale")
    item.locator("[data-action=approve]").click()  # without "I have seen ID": the form does not go out
    answered = {}

    def kiosk_side():
        command = kiosk.next_command("approve_age")
        answered["command"] = command
        kiosk.answer(command)
        kiosk.post(age_check_pending=False, phase="shopping")
    worker = threading.Thread(target=kiosk_side)
    worker.start()
    item.locator("input[name=seen_id]").check()
    item.locator("[data-action=approve]").click()
    worker.join(15)
    assert answered["command"]["session_id"] == "s-beer-1" and answered["command"]["by"] == "Anna B."
    expect(page.locator("#flash")).to_contain_text("Approve age: Done")
    expect(page.locator("#lane-lane-1 .words")).to_have_text("Shopping", timeout=LIVE_MS)
    ctx.close()


def test_other_sites_kiosk_never_shows(server, browser, kiosk):
    ctx, page = login(browser, server, "anna")
    other = SimKiosk(server, "lane-9", TOKENS["lane-9"])
    other.post(help_called=True, phase="help")
    kiosk.post(phase="shopping", item_count=2, total_minor=500)  # a change anna does see, after lane-9's
    expect(page.locator("#lane-lane-1 .words")).to_have_text("Shopping", timeout=LIVE_MS)
    expect(page.locator("#lane-lane-9")).to_have_count(0)
    expect(page.locator("#queue [data-kiosk=lane-9]")).to_have_count(0)
    assert page.request.get(f"{server.url}/console/kiosks/lane-9").status == 403
    live = httpx.get(f"{server.url}/v1/admin/live", headers=server.admin, timeout=10).json()
    [call] = [i for i in live["interventions"] if i["kiosk_id"] == "lane-9" and i["kind"] == "help"]
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    reply = page.request.post(f"{server.url}/console/interventions/{call['id']}/acknowledge",
                              headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert reply.status == 403
    other.post(help_called=False, phase="idle")
    other.close()
    ctx.close()


def test_phone_width_board_has_no_sideways_scroll(server, browser, kiosk):
    kiosk.post(help_called=True, phase="help", item_count=3, total_minor=1299)
    ctx, page = login(browser, server, "anna", viewport={"width": 360, "height": 740})
    expect(page.locator("#queue [data-action=acknowledge]")).to_have_count(1, timeout=LIVE_MS)
    page.locator("#lane-lane-1 summary").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    ctx.close()
