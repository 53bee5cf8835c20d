"""The attendant console in a real browser against the kiosk as `make run` launches it (its local central
server serves the console): help pressed on the kiosk with a real X tap -> the lane's tile and the queue in
the browser -> acknowledged in the browser -> the kiosk shows the customer that help is on the way."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from launched import MILK, PYTHON, ROOT, LaunchedKiosk

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "console"))
from browser import launch as launch_browser  # noqa: E402

KIOSK = "kiosk-001"
PASSWORD = "e2e console password"


def console_user(kiosk: LaunchedKiosk, name: str) -> None:
    """An admin console user on the kiosk's local server (admins see every kiosk: no site needed)."""
    subprocess.run([str(PYTHON), "-m", "server.cli", "admin", "user", "add", name, "--role", "admin",
                    "--display-name", "Anna"], input=PASSWORD + "\n", text=True, cwd=ROOT, check=True,
                   env={**kiosk.env, "KSERVER_DATA_DIR": str(kiosk.data_dir / "server")}, capture_output=True,
                   timeout=120)


def test_help_tapped_on_the_kiosk_acknowledged_in_the_browser(launch):
    kiosk = launch()
    console_user(kiosk, "anna")
    with sync_playwright() as p:
        browser = launch_browser(p)
        page = browser.new_page(locale="en-GB")
        page.goto(f"{kiosk.server_url}/console/login")
        page.fill("input[name=name]", "anna")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
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
