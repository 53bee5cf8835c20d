"""Per-address login throttling in a real headless browser (Debian's chromium, Playwright): the 429 page says
why and how long, translated; an attendant at another address logs in meanwhile."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from console_harness import PASSWORD, add_site, add_user, console_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv, close = console_server(tmp_path_factory.mktemp("console-throttle"),
                                env={"KSERVER_CONSOLE_LOGIN_BURST": "3", "KSERVER_CONSOLE_LOGIN_REFILL_S": "600"})
    kiosk_id, _ = srv.enroll("lane-1")
    add_site(srv, "site-a", kiosk_id)
    add_user(srv, "anna", sites=("site-a",), display="Anna B.")
    yield srv
    close()


def attempt(page, server, name: str, password: str):
    page.goto(f"{server.url}/console/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    with page.expect_response(f"{server.url}/console/login") as reply:
        page.click("button[type=submit]")
    return reply.value


def test_throttled_address_sees_why_in_german_and_anna_elsewhere_logs_in(server, browser):
    stranger = browser.new_context(locale="de-DE", extra_http_headers={"X-Forwarded-For": "203.0.113.50"})
    page = stranger.new_page()
    for _ in range(3):
        assert attempt(page, server, "anna", "wrong password").status == 401
        expect(page.locator("#login-error")).to_contain_text("Falscher Name oder falsches Passwort")
    reply = attempt(page, server, "anna", PASSWORD)
    assert reply.status == 429 and int(reply.headers["retry-after"]) > 500
    expect(page.locator("#login-error")).to_contain_text(
        "Zu viele fehlgeschlagene Anmeldungen von dieser Adresse. Versuchen Sie es in")
    expect(page.locator("#login-error")).to_contain_text("Sekunden erneut")
    stranger.close()

    station = browser.new_context(locale="en-GB", extra_http_headers={"X-Forwarded-For": "198.51.100.60"})
    page = station.new_page()
    page.goto(f"{server.url}/console/login")
    page.fill("input[name=name]", "anna")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}/console")
    expect(page.locator(".who")).to_contain_text("Anna B.")
    station.close()
