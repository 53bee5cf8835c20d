"""The customer session state machine, without a display: every flow and its edge cases."""
from __future__ import annotations

import pytest

from kiosk.flows import states as s
from kiosk.flows import texts
from kiosk.flows.session import Session
from kiosk.flows.shell import THANKS_SECONDS
from launcher.demo import DEMO_BADGE, DEMO_PIN

from .conftest import BEER, BREAD, MILK, UNKNOWN, scan, terminal


def new(backend, **kw):
    return Session(backend, idle_timeout_s=60, countdown_s=20, now=0.0, **kw)


def checkout(backend, *codes, now=1.0):
    session = new(backend)
    session.start_checkout(now)
    for code in codes:
        session.handle(scan(code), now)
    return session


def test_scan_on_attract_starts_checkout_and_adds_the_item(backend):
    session = new(backend)
    session.handle(scan(MILK), 1.0)
    assert session.state == s.CHECKOUT
    assert [(line.item.gtin, line.quantity) for line in session.checkout.cart.lines] == [("0" + MILK, 1)]


def test_same_item_twice_is_one_line_of_two_and_plus_minus_void(backend):
    session = checkout(backend, MILK, MILK, BREAD)
    assert [(line.line_no, line.quantity) for line in session.checkout.cart.lines] == [(1, 2), (2, 1)]
    session.checkout.plus(2)
    session.checkout.minus(1)
    assert [line.quantity for line in session.checkout.cart.lines] == [1, 2]
    session.checkout.minus(1)  # at one, minus removes the line
    assert session.checkout.cart.lines[0].voided
    session.checkout.void(2)
    assert session.checkout.cart.total.amount == 0 and not session.checkout.cart.can_pay
    assert backend.event_names().count("line_voided") == 2


def test_unknown_barcode_says_so_offers_help_and_keeps_the_cart(backend):
    session = checkout(backend, MILK)
    session.handle(scan(UNKNOWN), 2.0)
    assert session.message.msgid == texts.UNKNOWN_ITEM and session.message.help
    assert session.message.params["code"] == UNKNOWN
    assert len(session.checkout.cart.active_lines) == 1
    session.call_help()
    assert session.help_called and backend.events[-1] == ("help_called", {
        "screen": "checkout", "sale_uuid": session.checkout.cart.sale_uuid, "items": 1, "reason": "customer"})


def test_invalid_and_non_product_codes_are_refused_with_a_reason(backend):
    session = checkout(backend)
    session.handle(scan("4006381333932", valid=False), 1.0)
    assert session.message.msgid == texts.INVALID_CODE
    session.handle(scan("https://example.com", category="qr", symbology="QR"), 1.0)
    assert session.message.msgid == texts.NOT_AN_ITEM
    assert session.checkout.cart.lines == []


def test_lookup_by_search_and_plu_grid(backend):
    session = checkout(backend)
    session.checkout.open_lookup()
    session.checkout.search("xylophone")
    assert session.checkout.search_results == []
    session.checkout.search("mil")
    names = [item.name("en") for item in session.checkout.search_results]
    assert "Milk 1 L" in names
    session.checkout.search("Banane")  # any language's name finds the item
    assert [item.plu for item in session.checkout.search_results] == ["4011"]
    plu = session.checkout.plu_items()
    assert {item.plu for item in plu} >= {"4011", "4131", "101"}
    session.checkout.add_item(plu[0].id)
    assert session.state == s.CHECKOUT and session.checkout.cart.lines[0].item.id == plu[0].id


def test_age_restricted_item_waits_for_attendant_pin_without_losing_the_cart(backend):
    session = checkout(backend, MILK, BEER)
    assert session.state == s.AGE_CHECK
    assert "age_check_requested" in backend.event_names()
    session.checkout.attendant("0000", 3.0)
    backend.answer_checks(session, 3.0)
    assert session.message.msgid == texts.WRONG_ATTENDANT and session.state == s.AGE_CHECK
    session.checkout.back_to_cart()
    session.checkout.pay(4.0)  # cannot pay while an item waits: back to the age check
    assert session.state == s.AGE_CHECK and backend.payments == []
    session.checkout.back_to_cart()  # "keep shopping while I wait": no longer on the way to pay
    session.checkout.attendant(DEMO_PIN, 5.0)
    backend.answer_checks(session, 5.0)
    assert session.state == s.CHECKOUT and session.checkout.cart.can_pay
    assert session.checkout.cart.lines[1].approved_by == "demo-attendant"
    assert len(session.checkout.cart.active_lines) == 2


def test_age_check_by_badge_scan_and_removing_instead(backend):
    session = checkout(backend, BEER)
    session.handle(scan(DEMO_BADGE, category="text", symbology="Code128"), 2.0)
    backend.answer_checks(session, 2.0)
    assert session.state == s.CHECKOUT and not session.checkout.cart.awaiting_approval
    session.handle(scan(BEER), 3.0)  # same item again: the approved line grows, no new check
    assert session.state == s.CHECKOUT
    other = checkout(backend, MILK, BEER)
    other.checkout.remove_restricted()
    assert other.state == s.CHECKOUT and other.checkout.cart.can_pay and len(other.checkout.cart.active_lines) == 1


def test_payment_follows_terminal_texts_and_approval_leads_to_receipt(backend):
    session = checkout(backend, MILK, BREAD)
    session.checkout.pay(2.0)
    assert session.state == s.PAYMENT
    sale, amount, draft = backend.payments[0]
    assert amount == 119 + 249 and sale == session.checkout.cart.sale_uuid
    assert [line.name for line in draft.lines] == ["Milk 1 L", "Wholemeal bread"] and draft.total == amount
    session.handle(terminal("status", code=0x01), 2.1)
    assert session.checkout.payment_text == texts.ENTER_PIN
    session.handle(terminal("status", code=0x99), 2.2)
    assert session.checkout.payment_text == texts.FOLLOW_TERMINAL
    session.handle(terminal("result", sale_uuid="another-sale", status="approved"), 2.3)
    assert session.state == s.PAYMENT  # not ours
    session.handle(terminal("result", sale_uuid=sale, status="approved", message_id="payment.approved"), 2.4)
    assert session.state == s.RECEIPT and session.checkout.sale_uuid == sale


def test_a_sale_the_wire_schema_refuses_is_never_charged(backend):
    """Validated before the terminal is asked: approved and then refused by the journal, it stayed in doubt."""
    backend.vat_rates["B"] = 70000  # a misconfigured rate (700 %): no SaleLine takes it
    session = checkout(backend, MILK)
    session.checkout.pay(2.0)
    assert backend.payments == [] and session.state == s.CHECKOUT
    assert session.message.msgid == texts.SALE_INVALID and session.message.help
    assert "sale_invalid" in backend.event_names()
    backend.vat_rates["B"] = 700
    session.checkout.cart.lines[0].unit_price = 10 ** 12 + 1  # a total beyond the wire limit
    session.checkout.pay(3.0)
    assert backend.payments == [] and session.message.msgid == texts.SALE_INVALID
    session.checkout.cart.lines[0].unit_price = 119  # fixed: the same cart pays
    session.checkout.pay(4.0)
    assert session.state == s.PAYMENT and len(backend.payments) == 1


def test_declined_then_try_again_uses_a_new_sale_and_can_be_approved(backend):
    session = checkout(backend, MILK)
    session.checkout.pay(2.0)
    first = backend.payments[0][0]
    session.handle(terminal("result", sale_uuid=first, status="declined", message_id="payment.declined"), 3.0)
    assert session.state == s.PAYMENT_FAILED
    assert session.checkout.payment_message == texts.PAYMENT_MESSAGES["payment.declined"]
    session.checkout.retry_payment(4.0)
    second = backend.payments[1][0]
    assert second != first and session.state == s.PAYMENT
    session.handle(terminal("result", sale_uuid=second, status="approved", message_id="payment.approved"), 5.0)
    assert session.state == s.RECEIPT


def test_cancel_during_payment_returns_to_the_cart(backend):
    session = checkout(backend, MILK)
    session.checkout.pay(2.0)
    sale = backend.payments[0][0]
    session.checkout.cancel_payment()
    assert backend.cancelled == 1 and session.checkout.payment_text == texts.CANCELLING
    session.handle(terminal("status", code=0x0A), 2.5)  # late status texts do not overwrite "cancelling"
    assert session.checkout.payment_text == texts.CANCELLING
    session.handle(terminal("result", sale_uuid=sale, status="cancelled", message_id="payment.cancelled"), 3.0)
    assert session.state == s.CHECKOUT and session.checkout.cart.sale_uuid != sale
    assert session.message.msgid == texts.PAYMENT_MESSAGES["payment.cancelled"]


def test_payment_in_doubt_waits_calmly_until_resolved(backend):
    session = checkout(backend, MILK)
    session.checkout.pay(2.0)
    sale = backend.payments[0][0]
    session.handle(terminal("in_doubt", message_id="payment.checking"), 3.0)
    assert session.state == s.PAYMENT_IN_DOUBT
    session.tick(500.0)  # no "still there?" while the payment is being checked
    assert session.state == s.PAYMENT_IN_DOUBT and session.still_there_until is None
    backend.completed.add(sale)
    session.handle(terminal("resolved", results=[]), 501.0)
    assert session.state == s.RECEIPT and session.checkout.sale_uuid == sale


def test_in_doubt_resolved_as_not_charged_goes_back_to_the_cart(backend):
    session = checkout(backend, MILK)
    session.checkout.pay(2.0)
    session.handle(terminal("result", sale_uuid=backend.payments[0][0], status="in_doubt",
                            message_id="payment.checking"), 3.0)
    assert session.state == s.PAYMENT_IN_DOUBT
    session.handle(terminal("resolved", results=[]), 4.0)
    assert session.state == s.CHECKOUT and len(session.checkout.cart.active_lines) == 1


def test_payment_unavailable_when_the_terminal_is_down(backend):
    session = checkout(backend, MILK)
    backend.states["payment"] = "offline"
    session.checkout.pay(2.0)
    assert session.state == s.CHECKOUT and session.message.help and backend.payments == []


def approved(backend, session):
    session.checkout.pay(2.0)
    sale = backend.payments[-1][0]
    session.handle(terminal("result", sale_uuid=sale, status="approved", message_id="payment.approved"), 3.0)
    return sale


@pytest.mark.parametrize("choice", ["print", "none", "qr"])
def test_receipt_choices(backend, choice):
    session = checkout(backend, MILK)
    sale = approved(backend, session)
    session.checkout.receipt(choice, 4.0)
    assert ("receipt_choice", {"sale_uuid": sale, "choice": choice}) in backend.events
    if choice == "qr":
        assert session.state == s.RECEIPT_QR and session.checkout.receipt_url().endswith(sale)
        session.done(5.0)
    assert session.state == s.THANKS
    assert backend.printed == ([sale] if choice == "print" else [])


def test_printer_down_offers_the_qr_code_instead(backend):
    session = checkout(backend, MILK)
    approved(backend, session)
    backend.states["printer"] = "error"
    session.checkout.receipt("print", 4.0)
    assert session.state == s.RECEIPT_QR and session.notice == texts.PRINTER_FAILED and session.message is None


def test_thank_you_rating_is_journaled_and_returns_to_attract(backend):
    session = checkout(backend, MILK)
    approved(backend, session)
    session.checkout.receipt("none", 10.0)
    session.rate(4, 11.0)
    session.answer_easy(True, 12.0)
    assert ("rating", {"stars": 4, "sale_uuid": session.checkout.sale_uuid, "flow": "checkout"}) in backend.events
    assert backend.events[-1][0] == "was_it_easy"
    with pytest.raises(ValueError):
        session.rate(6, 12.0)
    session.tick(12.0 + THANKS_SECONDS - 1)
    assert session.state == s.THANKS
    session.tick(12.0 + THANKS_SECONDS)
    assert session.state == s.ATTRACT and session.checkout.cart is None


def test_idle_still_there_then_abandoned_and_journaled(backend):
    session = checkout(backend, MILK, now=0.0)
    session.set_language("de")
    session.tick(59.0)
    assert session.still_there_until is None
    session.tick(60.0)
    assert session.still_there_left(60.0) == 20
    session.touch(65.0)  # "yes, I'm still here"
    assert session.still_there_until is None and session.state == s.CHECKOUT
    session.tick(125.0)
    session.tick(144.9)
    assert session.state == s.CHECKOUT
    session.tick(145.0)
    assert session.state == s.ATTRACT and session.lang == "en"
    name, details = backend.events[-1]
    assert name == "session_abandoned" and details["items"] == 1 and details["total"] == 119


def test_checkin_by_typed_code_confirms_and_gives_a_ticket(backend):
    session = new(backend)
    session.start_checkin(1.0)
    session.checkin.type_code("demo-1234")
    session.checkin.enter_booking(session.checkin.checkin_code)
    assert session.state == s.CHECKIN_BOOKING and session.checkin.booking.name == "Alex Example"
    session.checkin.confirm_checkin()
    assert session.state == s.CHECKIN_DONE and session.checkin.ticket_no == 1
    session.done(2.0)
    assert session.state == s.THANKS


@pytest.mark.parametrize("code,reason", [("NOPE9999", "unknown"), ("USED0001", "already_used"),
                                         ("LATE0001", "too_late"), ("x", "invalid")])
def test_wrong_or_used_codes_say_why(backend, code, reason):
    session = new(backend)
    session.start_checkin(1.0)
    session.checkin.enter_booking(code)
    assert session.state == s.CHECKIN and session.message.msgid == texts.CHECKIN_REASONS[reason]
    assert backend.events[-1] == ("checkin_refused", {"reason": reason, "code": code if reason != "invalid" else ""})


def test_booking_qr_on_attract_starts_checkin(backend):
    session = new(backend)
    session.handle(scan("BOOKING:DEMO1234", category="booking", symbology="QR", booking="DEMO1234"), 1.0)
    assert session.state == s.CHECKIN_BOOKING


def test_out_of_service_when_no_flow_has_its_devices(backend):
    session = new(backend, mode="checkout")
    backend.states["payment"] = "offline"
    session.tick(1.0)
    assert session.state == s.OUT_OF_SERVICE
    session.handle(scan(MILK), 2.0)
    assert session.state == s.OUT_OF_SERVICE
    backend.states["payment"] = "idle"
    session.tick(3.0)
    assert session.state == s.ATTRACT


def test_checkin_still_offered_when_checkout_devices_are_down(backend):
    session = new(backend, mode="both")
    backend.states["scanner"] = "offline"
    session.tick(1.0)
    assert session.state == s.ATTRACT and not session.checkout_available
    session.start_checkout(2.0)
    assert session.state == s.ATTRACT and session.message.msgid == texts.CHECKOUT_UNAVAILABLE


def test_help_is_journaled_from_every_state(backend):
    session = checkout(backend, MILK)
    for state in s.STATES:
        session.state = state
        session.call_help()
        assert backend.events[-1][0] == "help_called" and backend.events[-1][1]["screen"] == state
        session.dismiss_help()
        assert not session.help_box and session.help_called  # the box goes, help is still coming


def test_failed_receipt_print_switches_to_the_qr_code(backend):
    from kiosk.events import DATA, Event, PrintJobFailed
    session = checkout(backend, MILK)
    approved(backend, session)
    session.checkout.receipt("print", 4.0)
    assert session.state == s.THANKS
    session.handle(Event("printer", DATA, payload=PrintJobFailed(session.print_job)), 5.0)
    assert session.state == s.RECEIPT_QR and session.notice == texts.PRINTER_FAILED


def test_language_and_large_text_return_to_the_defaults_after_each_customer(backend):
    session = new(backend, default_large_text=True, default_language="de")
    assert session.large_text and session.lang == "de"
    session.start_checkout(1.0)
    session.toggle_large_text()
    session.set_language("nl")
    session.cancel(2.0)
    assert session.large_text and session.lang == "de" and session.state == s.ATTRACT


def scanned(code, **fields):
    from kiosk.events import Event, Kind, Scanned, Source
    return Event(Source.SCANNER, Kind.DATA, payload=Scanned(code=code, **fields))


def test_an_unknown_code_is_shown_with_its_separators_visible_and_short(backend):
    session = checkout(backend)
    gs1 = "01" + UNKNOWN.zfill(14) + "10LOT42\x1d" + "17261231\x1d" + "21" + "9" * 60
    session.handle(scanned(gs1, category="gs1", gtin=UNKNOWN.zfill(14), symbology="GS1 DataMatrix"), 1.0)
    shown = session.message.params["code"]
    assert session.message.msgid == texts.UNKNOWN_ITEM
    assert "\x1d" not in shown and "<GS>" in shown and len(shown) <= texts.CODE_DISPLAY_LIMIT


def test_a_upc_e_scan_with_its_gtin_adds_the_item(backend):
    # a UPC-E read carries its 8 digits as code and the expanded GTIN-14: the GTIN is looked up as it is
    session = checkout(backend)
    session.handle(scanned("01234565", category="product", symbology="UPC-E", gtin="00012345000065"), 1.0)
    assert session.message is None or session.message.msgid != texts.INVALID_CODE


def test_every_declared_tap_is_mapped_to_the_session():
    from kiosk.flows.actions import DO, Action
    assert set(DO) == set(Action)


def test_a_failed_journal_write_at_checkin_goes_out_of_service_instead_of_crashing(backend):
    """Issue 14: a full disk crashed the app on a journal write from the UI thread."""
    import sqlite3
    session = new(backend)
    session.start_checkin(1.0)
    session.checkin.enter_booking("DEMO1234")

    def full(booking):
        backend.fault = "journal write failed: database or disk is full"
        raise sqlite3.OperationalError("database or disk is full")
    backend.complete_checkin = full
    session.checkin.confirm_checkin()
    assert session.state == s.OUT_OF_SERVICE
    session.tick(2.0)
    assert session.state == s.OUT_OF_SERVICE  # held there while the fault lasts
    session.handle(scan("BOOKING:DEMO1234", category="booking", symbology="QR", booking="DEMO1234"), 3.0)
    assert session.state == s.OUT_OF_SERVICE
