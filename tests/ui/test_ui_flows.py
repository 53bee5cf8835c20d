"""Whole customer flows on the real app under Xvfb: simulated taps through the window, and the
scanner, terminal and printer simulators behind the real drivers."""
from __future__ import annotations

import pytest

from kiosk.flows import states as s
from launcher.demo import DEMO_BOOKING, DEMO_PIN

from .helpers import (BEER, BREAD, BUTTER, CHOCOLATE, COFFEE, MILK, UNKNOWN, journal_events, lines, scan,
                      wait_state)


@pytest.fixture(autouse=True)
def quick_terminal(backend):
    terminal = backend.devices.simulators["payment"]
    terminal.config.pin_delay, terminal.config.result_code = 0.1, 0x00
    yield terminal
    terminal.config.pin_delay, terminal.config.result_code = 0.1, 0x00


def test_five_item_checkout_paid_and_printed(driver, backend, quick_terminal):
    printer = backend.devices.simulators["printer"]
    printed_before, charges_before = len(printer.receipts), len(quick_terminal.charges())
    for code in (MILK, BREAD, BUTTER, COFFEE, CHOCOLATE):  # the first scan starts the session
        scan(driver, backend, code)
    assert driver.app.sm.current == "checkout" and len(lines(driver)) == 5
    assert driver.find("total").text == "€14.75"
    driver.tap("pay")
    wait_state(driver, s.RECEIPT)
    assert len(quick_terminal.charges()) == charges_before + 1 and quick_terminal.charges()[-1].amount == 1475
    driver.tap("receipt_print")
    assert driver.app.sm.current == "thanks"
    printer.wait_for_receipts(printed_before + 1)
    text = printer.text()
    assert "Milk 1 L" in text and "Dark chocolate" in text and "14.75" in text  # in the customer's language (en)
    sale = backend.journal.transaction(driver.app.session.checkout.sale_uuid)
    assert sale.body.total == 1475 and len(sale.body.lines) == 5
    driver.tap("rate_5")
    assert journal_events(backend, "rating")[0]["stars"] == 5


def test_declined_then_approved(driver, backend, quick_terminal):
    scan(driver, backend, MILK)
    quick_terminal.config.result_code = 0x05  # the issuer declines
    driver.tap("pay")
    wait_state(driver, s.PAYMENT_FAILED)
    assert "declined" in driver.find("payment_text").text
    quick_terminal.config.result_code = 0x00
    driver.tap("retry_payment")
    wait_state(driver, s.RECEIPT)
    sale = backend.journal.transaction(driver.app.session.checkout.sale_uuid)
    assert sale.body.total == 119
    statuses = [p["status"] for p in backend.journal.payments(5)]
    assert statuses[:2] == ["approved", "declined"]


def test_voided_line_is_kept_crossed_out_and_not_charged(driver, backend, quick_terminal):
    scan(driver, backend, MILK)
    scan(driver, backend, COFFEE)
    driver.tap("plus_1")
    driver.tap("void_2")
    assert lines(driver) == [("Milk 1 L", "2", False), ("Ground coffee 500 g", "1", True)]
    assert driver.find("total").text == "€2.38"
    driver.tap("minus_1")
    assert lines(driver)[0] == ("Milk 1 L", "1", False)
    driver.tap("pay")
    wait_state(driver, s.RECEIPT)
    body = backend.journal.transaction(driver.app.session.checkout.sale_uuid).body
    assert body.total == 119 and [line.voided for line in body.lines] == [False, True]
    assert journal_events(backend, "line_voided")


def test_age_restricted_item_approved_with_attendant_pin(driver, backend, quick_terminal):
    scan(driver, backend, MILK)
    scan(driver, backend, BEER)
    assert driver.app.sm.current == "age_check"
    for digit in "9999":
        driver.tap(f"key_pin_{digit}")
    driver.tap("pin_ok")  # checked off the UI thread: the answer comes back as an event
    driver.wait_until(lambda: "not valid" in driver.app.message_text, 10, "the wrong PIN to be refused")
    assert not driver.app.attendant_checking
    driver.tap("message_ok")
    for digit in DEMO_PIN:
        driver.tap(f"key_pin_{digit}")
    driver.tap("pin_ok")
    driver.wait_until(lambda: driver.app.sm.current == "checkout", 10, "the PIN to be approved")
    assert len(lines(driver)) == 2
    driver.tap("pay")
    wait_state(driver, s.RECEIPT)
    body = backend.journal.transaction(driver.app.session.checkout.sale_uuid).body
    assert body.lines[1].age_approved_by == "demo-attendant"


def test_unknown_barcode_then_lookup_by_search_and_plu(driver, backend):
    scan(driver, backend, MILK)
    scan(driver, backend, UNKNOWN)
    assert UNKNOWN in driver.find("message_text").text
    driver.tap("message_help")
    assert driver.app.help_visible and journal_events(backend, "help_called")
    driver.tap("help_ok")
    driver.tap("lookup")
    for key in "BUT":
        driver.tap(f"key_search_{key}")
    butter = backend.catalog.search("butter")[0]
    driver.wait_until(lambda: driver.has(f"item_{butter.id}"), 5, "search result tile")
    driver.tap(f"item_{butter.id}")
    assert driver.app.sm.current == "checkout" and lines(driver)[-1][0] == "Butter 250 g"
    driver.tap("lookup")
    banana = backend.catalog.by_plu("4011")
    driver.tap(f"item_{banana.id}")
    assert lines(driver)[-1][0] == "Banana"


def test_checkin_with_ticket(driver, backend):
    printer = backend.devices.simulators["printer"]
    before = len(printer.receipts)
    from launcher.demo import refresh_demo_bookings
    refresh_demo_bookings(backend.bookings)
    driver.tap("start_checkin")
    for key in "USED0001":
        driver.tap(f"key_checkin_{key}")
    driver.tap("checkin_submit")
    assert "already been checked in" in driver.app.message_text
    driver.tap("message_ok")
    for _ in range(8):
        driver.tap("key_checkin_⌫")
    for key in DEMO_BOOKING:
        driver.tap(f"key_checkin_{key}")
    driver.tap("checkin_submit")
    assert "Alex Example" in driver.find("booking_text").text
    driver.tap("checkin_confirm")
    ticket = driver.find("ticket_no").text
    assert ticket.isdigit()
    printer.wait_for_receipts(before + 1)
    assert ticket in printer.text() and "Alex Example" in printer.text()
    record = backend.journal.recent(1)[0]
    assert record.body.kind == "checkin" and record.body.ticket_no == int(ticket)


def test_checkin_by_scanning_the_booking_qr(driver, backend):
    from launcher.demo import refresh_demo_bookings
    refresh_demo_bookings(backend.bookings)
    scan(driver, backend, f"BOOKING:{DEMO_BOOKING}", symbology="QR")
    assert driver.app.session.state == s.CHECKIN_BOOKING


def test_abandoned_session_returns_to_attract_and_is_journaled(driver, backend):
    session = driver.app.session
    scan(driver, backend, MILK)
    session.idle_timeout_s, session.countdown_s = 0.3, 2.0  # time enough to tap "still here" on a slow machine
    try:
        driver.wait_until(lambda: driver.has("still_here"), 10, "still-there box")
        driver.tap("still_here")  # the customer is still there: the cart stays
        assert session.state == s.CHECKOUT and not driver.has("still_here")
        wait_state(driver, s.ATTRACT, 15)
    finally:
        session.idle_timeout_s, session.countdown_s = 60, 20
    assert journal_events(backend, "session_abandoned")[0]["items"] == 1


def test_language_switch_mid_flow_retranslates_everything(driver, backend):
    scan(driver, backend, MILK)
    scan(driver, backend, BREAD)
    driver.tap("lang_de")
    assert driver.find("scan_prompt").text == "Scannen Sie einen Artikel"
    assert driver.find("total").text == "3,68\u00a0€"
    assert lines(driver)[0][0] == "Milch 1 L"
    driver.tap("lang_nl")
    assert driver.find("total").text == "€\u00a03,68" and lines(driver)[1][0] == "Volkorenbrood"
    assert driver.find("pay").text.startswith("Betalen met kaart")
    assert len(lines(driver)) == 2  # nothing lost


def test_help_pressed_on_each_screen(driver, backend):
    from .test_ui_screens import STAGES, stage
    def customer_calls():
        return [c for c in journal_events(backend, "help_called") if c.get("reason") == "customer"]
    before = len(customer_calls())
    for name in STAGES:
        stage(driver, backend, name)
        if name == "still_there":
            driver.tap("still_here")
        driver.tap("message_help" if name == "message" else "help")  # a message box offers its own
        assert driver.find("help_title").text == "Help is on its way", name
        driver.tap("help_ok")
        assert not driver.app.help_visible
    calls = customer_calls()[:len(STAGES)]
    assert len(customer_calls()) - before == len(STAGES)
    assert {c["screen"] for c in calls} >= {"attract", "checkout", "lookup", "payment", "thanks", "checkin"}


def test_cart_list_shows_its_top_then_follows_the_newest_line(driver, backend):
    """A short cart is shown from its first line; once it overflows, every scan brings the new line
    into view in the frame that adds it."""
    codes = [MILK, BREAD, BUTTER, COFFEE, CHOCOLATE, "4000000000051", "4000000000068", "4000000000099",
             "4000000000105", "4000000000112"]

    def rows():  # line number -> (bottom, top) of its row in window coordinates
        return {row.line_no: (row.to_window(row.x, row.y)[1], row.to_window(row.x, row.top)[1])
                for row in cart.layout_manager.children}

    scan(driver, backend, MILK)
    scan(driver, backend, BREAD)
    cart = driver.find("cart")
    top = cart.to_window(cart.x, cart.top)[1]
    assert rows()[1][1] == pytest.approx(top, abs=1), "the first line is not at the top of the list"
    for n, code in enumerate(codes[2:], start=3):
        scan(driver, backend, code)
        bottom, row_top = rows()[n]
        box_bottom = cart.to_window(cart.x, cart.y)[1]
        assert box_bottom - 1 <= bottom and row_top <= top + 1, f"line {n} is not fully in view"
    assert len(driver.app.cart_lines) > 8  # the list did overflow its box


def test_the_age_check_says_it_is_checking_while_the_pin_is_checked_off_the_ui_thread(driver, backend):
    asked = []
    backend.check_attendant = lambda secret, request: asked.append((secret, request))  # held: still checking
    try:
        scan(driver, backend, BEER)
        for digit in DEMO_PIN:
            driver.tap(f"key_pin_{digit}")
        driver.tap("pin_ok")
        assert len(asked) == 1 and driver.app.attendant_checking and not driver.has("pin_ok")  # disabled
        assert "Checking" in driver.find("age_attendant").text
    finally:
        del backend.check_attendant
    type(backend).check_attendant(backend, *asked[0])  # the real check answers now
    driver.wait_until(lambda: driver.app.sm.current == "checkout", 10, "the PIN to be approved")
    assert not driver.app.attendant_checking
