"""Findings of the walkthrough of the real kiosk (issue 11), each pinned by a test of the session."""
from __future__ import annotations

import pytest

from kiosk.flows import states as s
from kiosk.flows import texts
from launcher.demo import DEMO_BADGE, DEMO_BOOKING, DEMO_PIN

from .conftest import BEER, BREAD, MILK, scan, terminal
from .test_flows_session import approved, checkout, new


def booking_qr(code):
    return scan(f"BOOKING:{code}", category="booking", symbology="QR", booking=code)


@pytest.mark.parametrize("code", ["NOPE9999", "USED0001", "LATE0001", "x"])
def test_checkin_refusals_offer_help(backend, code):
    session = new(backend)
    session.start_checkin(1.0)
    session.checkin.enter_booking(code)
    assert session.message.help


def test_a_scanned_booking_replaces_the_typed_code(backend):
    session = new(backend)
    session.start_checkin(1.0)
    session.checkin.type_code("ABC")
    session.handle(booking_qr("USED0001"), 2.0)
    assert session.state == s.CHECKIN and session.checkin.checkin_code == "USED0001"
    session.handle(booking_qr(DEMO_BOOKING), 3.0)
    assert session.state == s.CHECKIN_BOOKING and session.checkin.checkin_code == DEMO_BOOKING


def test_declined_says_what_is_possible_here(backend):
    session = checkout(backend, MILK)
    session.checkout.pay(2.0)
    session.handle(terminal("result", sale_uuid=backend.payments[0][0], status="declined",
                            message_id="payment.declined"), 3.0)
    assert session.state == s.PAYMENT_FAILED
    assert "another way to pay" not in session.checkout.payment_message and "help" in session.checkout.payment_message


@pytest.mark.parametrize("where", ["thanks", "receipt_qr"])
def test_a_scan_after_the_sale_starts_the_next_customer_with_that_item(backend, where):
    session = checkout(backend, MILK)
    sale = approved(backend, session)
    session.checkout.receipt("none" if where == "thanks" else "qr", 4.0)
    assert session.state == where
    session.handle(scan(BREAD), 5.0)
    assert session.state == s.CHECKOUT and session.checkout.sale_uuid is None
    assert [line.item.gtin for line in session.checkout.cart.lines] == ["0" + BREAD] and session.checkout.cart.sale_uuid != sale


def test_a_scan_on_the_ticket_screen_starts_shopping(backend):
    session = new(backend)
    session.start_checkin(1.0)
    session.checkin.enter_booking(DEMO_BOOKING)
    session.checkin.confirm_checkin()
    session.handle(scan(MILK), 2.0)
    assert session.state == s.CHECKOUT and len(session.checkout.cart.lines) == 1 and session.checkin.ticket_no is None


@pytest.mark.parametrize("doubt", [False, True])
def test_a_scan_while_paying_says_why_it_is_not_taken_and_the_result_clears_it(backend, doubt):
    session = checkout(backend, MILK)
    session.checkout.pay(2.0)
    sale = backend.payments[0][0]
    if doubt:
        session.handle(terminal("in_doubt", message_id="payment.checking"), 2.5)
    session.handle(scan(BREAD), 3.0)
    assert session.message.msgid == texts.FINISH_PAYING and len(session.checkout.cart.lines) == 1
    backend.completed.add(sale)
    session.handle(terminal("resolved", results=[]) if doubt else
                   terminal("result", sale_uuid=sale, status="approved", message_id="payment.approved"), 4.0)
    assert session.state == s.RECEIPT and session.message is None


def test_a_scan_after_a_decline_goes_back_to_the_cart_with_the_item(backend):
    session = checkout(backend, MILK)
    session.checkout.pay(2.0)
    first = backend.payments[0][0]
    session.handle(terminal("result", sale_uuid=first, status="declined", message_id="payment.declined"), 3.0)
    session.handle(scan(BREAD), 4.0)
    assert session.state == s.CHECKOUT and len(session.checkout.cart.active_lines) == 2 and session.checkout.cart.sale_uuid != first


def test_a_scan_on_the_receipt_choice_says_to_choose_first(backend):
    session = checkout(backend, MILK)
    sale = approved(backend, session)
    session.handle(scan(BREAD), 4.0)
    assert session.state == s.RECEIPT and session.message.msgid == texts.RECEIPT_FIRST
    assert session.checkout.sale_uuid == sale and len(session.checkout.cart.lines) == 1


def test_a_product_scan_in_the_age_check_says_why_and_a_badge_still_approves(backend):
    session = checkout(backend, BEER)
    session.handle(scan(MILK), 2.0)
    assert session.state == s.AGE_CHECK and session.message.msgid == texts.AGE_CHECK_FIRST
    assert len(session.checkout.cart.lines) == 1 and "attendant_refused" not in backend.event_names()
    session.handle(scan("NOT-A-BADGE", category="text", symbology="Code128"), 3.0)
    backend.answer_checks(session, 3.0)
    assert session.message.msgid == texts.WRONG_ATTENDANT
    session.handle(scan(DEMO_BADGE, category="text", symbology="Code128"), 4.0)
    backend.answer_checks(session, 4.0)
    assert session.state == s.CHECKOUT and not session.checkout.cart.awaiting_approval


def test_help_box_text_fits_the_screen_and_help_stays_on_its_way_until_the_session_ends(backend):
    session = new(backend)
    assert session.help_text == texts.HELP_OTHER  # attract: no cart to speak of
    session.start_checkout(1.0)
    session.handle(scan(MILK), 1.0)
    session.call_help()
    assert session.help_box and session.help_text == texts.HELP_CART
    session.dismiss_help()
    assert not session.help_box and session.help_called
    session.checkout.pay(2.0)
    assert session.help_text == texts.HELP_PAYMENT and session.help_called
    session.handle(terminal("result", sale_uuid=backend.payments[0][0], status="cancelled",
                            message_id="payment.cancelled"), 3.0)
    session.cancel(4.0)
    assert not session.help_called and not session.help_box
    session.start_checkin(5.0)
    assert session.help_text == texts.HELP_OTHER


def test_help_called_on_attract_stays_on_its_way_as_long_as_an_idle_session_would(backend):
    session = new(backend)
    session.call_help(now=1.0)
    session.dismiss_help()
    session.tick(1.0 + 79)
    assert session.help_called
    session.tick(1.0 + 80)
    assert not session.help_called and session.state == s.ATTRACT


def test_age_check_after_pay_goes_straight_on_to_payment_once_approved(backend):
    session = checkout(backend, MILK, BEER)
    session.checkout.back_to_cart()
    session.checkout.pay(2.0)
    assert session.state == s.AGE_CHECK and backend.payments == []
    session.checkout.attendant(DEMO_PIN, 3.0)
    backend.answer_checks(session, 3.0)
    assert session.state == s.PAYMENT and backend.payments[0][1] == 119 + session.checkout.cart.lines[1].unit_price


def test_undo_of_a_removed_line(backend):
    session = checkout(backend, MILK, BREAD)
    session.checkout.minus(1)  # at one: removed
    assert session.checkout.cart.lines[0].voided and session.checkout.cart.total.amount == 249
    session.checkout.restore(1)
    assert not session.checkout.cart.lines[0].voided and session.checkout.cart.lines[0].quantity == 1
    assert session.checkout.cart.total.amount == 119 + 249 and session.state == s.CHECKOUT
    assert backend.events[-1] == ("line_restored", {"sale_uuid": session.checkout.cart.sale_uuid, "line_no": 1,
                                                    "item": session.checkout.cart.lines[0].item.key, "quantity": 1})
    session.checkout.restore(1)  # not removed: nothing to undo
    assert session.checkout.cart.lines[0].quantity == 1 and backend.event_names().count("line_restored") == 1


def test_undo_of_a_removed_age_restricted_line_asks_for_the_age_check_again(backend):
    session = checkout(backend, MILK, BEER)
    session.checkout.remove_restricted()
    session.checkout.restore(2)
    assert session.state == s.AGE_CHECK and session.checkout.cart.awaiting_approval


def test_printer_not_ready_is_known_before_the_customer_chooses(backend):
    session = checkout(backend, MILK)
    approved(backend, session)
    assert session.printer_ready
    backend.states["printer"] = "paper_out"
    assert not session.printer_ready


@pytest.mark.parametrize("mode,state", [("checkout", s.CHECKOUT), ("checkin", s.CHECKIN), ("both", s.ATTRACT)])
def test_touch_to_start(backend, mode, state):
    session = new(backend, mode=mode)
    session.touch_to_start(1.0)
    assert session.state == state and session.choose_hint == (mode == "both")
