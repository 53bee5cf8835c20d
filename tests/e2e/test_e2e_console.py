"""The attendant console in a real browser against the kiosk as `make run` launches it (its local central
server serves the console): help pressed on the kiosk with a real X tap -> the lane's tile and the queue in
the browser -> acknowledged in the browser -> the kiosk shows the customer that help is on the way; an
age-restricted item approved in the browser -> the kiosk pays the same cart with nobody touching it; the lane
closed and reopened from the browser; an approval clicked on a page that still shows a customer who has left is
refused and the next customer's age check stays."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import expect, sync_playwright

from launched import BEER, MILK, PYTHON, ROOT, LaunchedKiosk

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "console"))
from browser import launch as launch_browser  # noqa: E402

KIOSK = "kiosk-001"
PASSWORD = "e2e console password"


def console_user(kiosk: LaunchedKiosk, name: str) -> None:
    """An admin console user on the kiosk's local server (admins see every kiosk: no site needed), made once
    that server is up (it starts in the background and migrates its database first)."""
    deadline = time.monotonic() + 60
    while httpx.get(f"{kiosk.server_url}/v1/health", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "the local server did not come up"
        time.sleep(0.2)
    done = subprocess.run([str(PYTHON), "-m", "server.cli", "admin", "user", "add", name, "--role", "admin",
                           "--display-name", "Anna"], input=PASSWORD + "\n", text=True, cwd=ROOT,
                          env={**kiosk.env, "KSERVER_DATA_DIR": str(kiosk.data_dir / "server")},
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr


def open_console(browser, kiosk: LaunchedKiosk):
    console_user(kiosk, "anna")
    page = browser.new_page(locale="en-GB")
    page.goto(f"{kiosk.server_url}/console/login")
    page.fill("input[name=name]", "anna")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    return page


def test_help_tapped_on_the_kiosk_acknowledged_in_the_browser(launch):
    kiosk = launch()
    with sync_playwright() as p:
        browser = launch_browser(p)
        page = open_console(browser, kiosk)
        tile = page.locator(f"#lane-{KIOSK}")
        expect(tile.locator(".words")).to_have_text("Idle", timeout=30_000)  # connected, nobody shopping
        kiosk.scan(MILK)
        expect(tile.locator(".words")).to_have_text("Shopping", timeout=5000)
        kiosk.tap("help")  # a real X tap on the header's Help button
        expect(tile.locator(".words")).to_have_text("Needs help", timeout=5000)
        item = page.locator(f"#queue li[data-kiosk={KIOSK}]", has_text="Help called")
        expect(item).to_be_visible()
        assert not kiosk.ui()["help_coming"]
        item.locator("[data-action=acknowledge]").click()
        expect(page.locator("#flash")).to_contain_text("Acknowledged.")
        view = kiosk.wait_ui(lambda v: "Help is on the way" in v["help_coming"], 10, "help on the way")
        assert view["help_coming"] in view["texts"]
        expect(item).to_contain_text("Acknowledged by Anna")
        page.screenshot(path=str(kiosk.artifacts / "console-help-acknowledged.png"))
        browser.close()


def test_age_approved_in_the_browser_pays_the_same_cart(launch):
    kiosk = launch()
    with sync_playwright() as p:
        browser = launch_browser(p)
        page = open_console(browser, kiosk)
        expect(page.locator(f"#lane-{KIOSK} .words")).to_have_text("Idle", timeout=30_000)
        kiosk.scan(MILK)
        kiosk.scan(BEER)
        kiosk.wait_screen("age_check")
        kiosk.tap("age_back")  # keep shopping while the attendant comes ...
        kiosk.tap("pay")  # ... and pay: the age check comes first
        kiosk.wait_screen("age_check")
        item = page.locator(f"#queue li[data-kiosk={KIOSK}]", has_text="Age check")
        expect(item).to_be_visible(timeout=5000)
        item.locator("input[name=seen_id]").check()
        item.locator("[data-action=approve]").click()
        expect(page.locator("#flash")).to_contain_text("Approve age: Done", timeout=10_000)
        kiosk.wait_screen("receipt", 30)  # paid without anybody touching the kiosk
        page.screenshot(path=str(kiosk.artifacts / "console-age-approved.png"))
        browser.close()
    [acted] = kiosk.wait_events("attendant_command", 1, lambda e: e["kind"] == "approve_age")
    assert (acted["by"], acted["outcome"]) == ("Anna", "done")


def test_lane_closed_and_reopened_in_the_browser_and_a_stale_approval_refused_on_the_kiosk(launch):
    kiosk = launch()
    with sync_playwright() as p:
        browser = launch_browser(p)
        page = open_console(browser, kiosk)
        tile = page.locator(f"#lane-{KIOSK}")
        expect(tile.locator(".words")).to_have_text("Idle", timeout=30_000)
        tile.locator("summary").click()
        tile.locator("[data-kind=out_of_service]").click()
        expect(page.locator("#flash")).to_contain_text("Out of service: Done", timeout=10_000)
        kiosk.wait_screen("out_of_service", 10)  # the real kiosk, closed from the browser
        expect(tile.locator(".words")).to_have_text("Out of service", timeout=5000)
        tile.locator("[data-kind=in_service]").click()
        kiosk.wait_screen("attract", 10)
        expect(tile.locator(".words")).to_have_text("Idle", timeout=5000)

        kiosk.scan(BEER)  # the first customer's age check ...
        kiosk.wait_screen("age_check")
        item = page.locator(f"#queue li[data-kiosk={KIOSK}]", has_text="Age check")
        expect(item).to_be_visible(timeout=10_000)
        page.context.route("**/console/events*", lambda route: route.abort())
        page.reload()  # ... stays on this page, which no longer updates
        kiosk.tap("age_back")
        kiosk.tap("cancel_session")  # the first customer leaves
        kiosk.wait_screen("attract")
        kiosk.scan(BEER)  # the next one has a restricted item too
        kiosk.wait_screen("age_check")
        time.sleep(1)  # the server has the new customer's state now
        item = page.locator(f"#queue li[data-kiosk={KIOSK}]", has_text="Age check")
        item.locator("input[name=seen_id]").check()
        item.locator("[data-action=approve]").click()
        expect(page.locator("#flash")).to_contain_text("Refused", timeout=10_000)
        page.screenshot(path=str(kiosk.artifacts / "console-stale-approval-refused.png"))
        browser.close()
    view = kiosk.ui()
    assert view["screen"] == "age_check" and [line["status"] for line in view["cart"]] == ["Age check"]
    assert not [e for e in kiosk.events("attendant_command")
                if e["kind"] == "approve_age" and e["outcome"] == "done"]

