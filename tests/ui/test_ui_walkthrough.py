"""The walkthrough of the real kiosk (issue 11) on the real app: taps through the window, simulators
behind the real drivers."""
from __future__ import annotations

import pytest

from kiosk.events import DATA, PrintJobFailed
from kiosk.flows import states as s
from launcher.demo import DEMO_PIN, refresh_demo_bookings

from .helpers import BEER, MILK, journal_events, lines, scan, wait_state
from .test_ui_screens import stage


@pytest.fixture(autouse=True)
def quick_terminal(backend):
    terminal = backend.devices.simulators["payment"]
    terminal.config.pin_delay, terminal.config.result_code = 0.1, 0x00
    yield terminal
    terminal.config.pin_delay, terminal.config.result_code = 0.1, 0x00


def test_terminal_not_answering_tells_the_customer_and_a_late_approval_still_moves_on(driver, backend,
                                                                                      quick_terminal, artifacts):
    session = driver.app.session
    scan(driver, backend, MILK)
    quick_terminal.config.pin_delay = 4.0
    session.waits["payment"] = 1
    try:
        driver.tap("pay")
        driver.wait_until(lambda: driver.has("payment_notice"), 10, "the payment notice")
        assert "not answering" in driver.find("payment_notice").text and driver.has("cancel_payment")
        assert driver.find("help").text == "Help is on its way" and not driver.app.help_visible
        assert journal_events(backend, "help_called")[0]["reason"] == "payment_timeout"
        driver.screenshot(artifacts / "walkthrough" / "payment_timeout.png")
        wait_state(driver, s.RECEIPT)  # the terminal answers after all
    finally:
        session.waits["payment"] = backend.waits["payment"]
    assert backend.journal.transaction(session.checkout.sale_uuid).body.total == 119


def test_help_box_fits_the_screen_and_the_header_shows_help_is_coming_until_the_session_ends(driver, backend,
                                                                                             artifacts):
    driver.tap("help")
    assert "cart" not in driver.find("help_text").text  # attract: there is no cart
    driver.screenshot(artifacts / "walkthrough" / "help_box_attract.png")
    driver.tap("help_ok")
    assert not driver.has("help_ok") and driver.find("help").text == "Help is on its way"
    scan(driver, backend, MILK)
    assert driver.find("help").text == "Help is on its way"  # the scan started a session on the same call
    driver.screenshot(artifacts / "walkthrough" / "help_on_its_way_checkout.png")
    driver.tap("cancel_session")
    driver.tap("start_checkout")
    driver.tap("help")
    assert "Your items stay in the cart" in driver.find("help_text").text
    driver.tap("help_ok")
    driver.tap("cancel_session")
    assert driver.find("help").text == "Help"


def test_payment_failed_offers_help(driver, backend, quick_terminal, artifacts):
    scan(driver, backend, MILK)
    quick_terminal.config.result_code = 0x05
    driver.tap("pay")
    wait_state(driver, s.PAYMENT_FAILED)
    assert "another way to pay" not in driver.find("payment_text").text
    driver.screenshot(artifacts / "walkthrough" / "payment_failed.png")
    driver.tap("payment_help")
    assert driver.app.help_visible and journal_events(backend, "help_called")[0]["screen"] == "payment_failed"


def test_the_first_item_of_a_session_started_by_a_scan_is_at_the_top_of_the_cart(driver, backend):
    """As at the first scan after start-up: the checkout screen has never been shown (its list never laid out)."""
    app = driver.app
    old = app.sm.get_screen("checkout")
    app.unbind(cart_lines=old._follow_newest)
    app.sm.remove_widget(old)
    app.sm.add_widget(type(old)(name="checkout"))  # its kv rules are loaded already
    scan(driver, backend, MILK)
    cart = driver.find("cart")
    top = cart.to_window(cart.x, cart.top)[1]
    row = next(r for r in cart.layout_manager.children if r.line_no == 1)
    assert row.to_window(row.x, row.top)[1] == pytest.approx(top, abs=1)


def test_minus_at_one_can_be_undone(driver, backend, artifacts):
    scan(driver, backend, MILK)
    driver.tap("minus_1")
    assert lines(driver) == [("Milk 1 L", "1", True)]
    driver.screenshot(artifacts / "walkthrough" / "undo.png")
    driver.tap("undo_1")
    assert lines(driver) == [("Milk 1 L", "1", False)] and driver.find("total").text == "€1.19"
    assert journal_events(backend, "line_restored")[0]["line_no"] == 1


def test_age_check_names_the_item_and_pays_straight_after_approval(driver, backend):
    scan(driver, backend, MILK)
    scan(driver, backend, BEER)
    assert "Lager beer" in driver.find("age_items").text
    driver.tap("age_back")
    driver.tap("pay")
    assert driver.app.sm.current == "age_check"
    for digit in DEMO_PIN:
        driver.tap(f"key_pin_{digit}")
    driver.tap("pin_ok")
    wait_state(driver, s.RECEIPT)


def test_print_receipt_is_not_offered_while_the_printer_is_not_ready(driver, backend, artifacts):
    stage(driver, backend, "receipt_no_printer")
    assert not driver.has("receipt_print") and driver.has("receipt_qr_choice")
    assert "printer is not available" in driver.find("no_printer").text


def test_printer_failure_is_said_beside_the_qr_code_not_over_it(driver, backend, artifacts):
    stage(driver, backend, "thanks")
    session = driver.app.session
    session.print_job, session.print_kind = 999, "receipt"
    backend.events.post("printer", DATA, PrintJobFailed(999))
    wait_state(driver, s.RECEIPT_QR)
    assert driver.app.message_text == "" and not driver.has("message_ok")
    notice, qr = driver.find("receipt_notice"), driver.find("receipt_qr")
    assert "could not be printed" in notice.text
    assert notice.y >= qr.top or notice.top <= qr.y  # side by side, not on top of each other
    driver.screenshot(artifacts / "walkthrough" / "receipt_qr_print_failed.png")


def test_a_scan_on_the_thank_you_screen_starts_the_next_customer(driver, backend):
    stage(driver, backend, "thanks")
    scan(driver, backend, MILK)
    assert driver.app.sm.current == "checkout" and lines(driver) == [("Milk 1 L", "1", False)]


def test_checkin_scan_replaces_the_typed_code_and_a_refusal_offers_help(driver, backend):
    refresh_demo_bookings(backend.bookings)
    driver.tap("start_checkin")
    for key in "AB":
        driver.tap(f"key_checkin_{key}")
    scan(driver, backend, "BOOKING:USED0001", symbology="QR")
    assert driver.find("checkin_code").text == "USED0001"
    assert "already been checked in" in driver.app.message_text and driver.has("message_help")


@pytest.mark.parametrize("mode,screen", [("checkout", "checkout"), ("checkin", "checkin"), ("both", "attract")])
def test_touching_an_empty_part_of_attract(driver, backend, mode, screen, artifacts):
    driver.app.session.mode = mode
    driver.tap_at(40, 300)  # left of the logo, above the buttons: nothing there
    assert driver.app.sm.current == screen
    if mode == "both":
        assert driver.find("attract_prompt").text == "Please choose: start shopping or check in."
        driver.screenshot(artifacts / "walkthrough" / "attract_choose.png")
