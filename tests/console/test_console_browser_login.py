"""Login, language and logout in a real headless browser (Debian's chromium, Playwright)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect, sync_playwright

from browser import launch
from console_harness import PASSWORD, add_site, add_user, console_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv, close = console_server(tmp_path_factory.mktemp("console-login"))
    kiosk_id, _ = srv.enroll("lane-1")
    add_site(srv, "site-a", kiosk_id)
    add_user(srv, "anna", sites=("site-a",), display="Anna B.")
    yield srv
    close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def test_login_wrong_password_then_right_then_logout(server, browser):
    page = browser.new_page(locale="en-GB")
    page.goto(f"{server.url}/console")
    expect(page).to_have_url(f"{server.url}/console/login")
    page.fill("input[name=name]", "anna")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("Wrong name or password")
    page.fill("input[name=name]", "anna")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}/console")
    expect(page.locator(".who")).to_contain_text("Anna B.")
    page.click("#logout")
    expect(page).to_have_url(f"{server.url}/console/login")
    page.goto(f"{server.url}/console")
    expect(page).to_have_url(f"{server.url}/console/login")
    page.close()


def test_german_from_accept_language_and_dutch_by_choice(server, browser):
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    page.goto(f"{server.url}/console/login")
    expect(page.locator("button[type=submit]")).to_have_text("Anmelden")
    page.fill("input[name=name]", "anna")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h2").first).to_have_text("Kassen")
    page.select_option("#lang-select", "nl")
    expect(page.locator("h2").first).to_have_text("Kassa's")
    context.close()


def test_login_page_fits_a_phone(server, browser):
    page = browser.new_page(viewport={"width": 360, "height": 740})
    page.goto(f"{server.url}/console/login")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.close()


def test_sound_and_notification_are_off_until_switched_on_and_then_remembered(server, browser):
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.goto(f"{server.url}/console/login")
    page.fill("input[name=name]", "anna")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#alerts")).not_to_be_checked()
    page.check("#alerts")
    page.reload()
    expect(page.locator("#alerts")).to_be_checked()
    assert page.evaluate("() => localStorage.getItem('console-alerts')") == "on"
    context.close()


def test_five_wrong_passwords_lock_the_account_and_the_login_page_says_so(server, browser):
    add_user(server, "bert", sites=("site-a",), display="Bert C.")
    page = browser.new_page(locale="en-GB")
    page.goto(f"{server.url}/console/login")
    for _ in range(5):
        page.fill("input[name=name]", "bert")
        page.fill("input[name=password]", "wrong password")
        page.click("button[type=submit]")
        expect(page.locator("#login-error")).to_be_visible()
    expect(page.locator("#login-error")).to_contain_text("locked")
    page.fill("input[name=name]", "bert")
    page.fill("input[name=password]", PASSWORD)  # the right password, but locked
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("locked")
    expect(page).to_have_url(f"{server.url}/console/login")
    page.close()


def test_a_post_from_the_logged_in_page_without_its_csrf_token_is_refused(server, browser):
    page = browser.new_page(locale="en-GB")
    page.goto(f"{server.url}/console/login")
    page.fill("input[name=name]", "anna")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}/console")
    post = """async (withToken) => {
        const headers = {"Content-Type": "application/x-www-form-urlencoded"};
        const token = document.querySelector("input[name=csrf]").value;
        const body = "kind=test_print" + (withToken ? "&csrf=" + encodeURIComponent(token) : "");
        const reply = await fetch("/console/kiosks/lane-1/commands", {method: "POST", headers, body});
        return [reply.status, await reply.text()];
    }"""
    status, text = page.evaluate(post, False)  # the session cookie goes along, the token does not
    assert status == 403, (status, text)
    status, text = page.evaluate(post, True)  # the same request with the page's token is not refused as forged
    assert status != 403, (status, text)
    page.close()
