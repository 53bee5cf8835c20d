"""No wait strands a customer: each waiting state has a limit, after which the screen says what happens
next and help is called; a timeout never decides a payment."""
from __future__ import annotations

from kiosk.events import DATA, Event, PrintJobDone
from kiosk.flows import states as s
from kiosk.flows import texts
from kiosk.flows.shell import THANKS_SECONDS
from launcher.demo import DEMO_BOOKING, DEMO_PIN

from .conftest import BEER, MILK, terminal
from .test_flows_session import approved, checkout, new


def help_reasons(backend):
    return [details["reason"] for name, details in backend.events if name == "help_called"]


def paying(backend, now=2.0):
    session = checkout(backend, MILK)
    session.checkout.pay(now)
    session.tick(now)  # the wait is timed from the first tick that sees it
    return session, backend.payments[-1][0]


def test_waits_come_from_the_ui_settings(backend):
    assert new(backend).waits == {"payment": 180, "cancelling": 30, "in_doubt": 60, "age_check": 120,
                                  "printing": 30}
    backend.waits = {**backend.waits, "payment": 5}
    assert new(backend).waits["payment"] == 5


def test_terminal_not_answering_says_what_happens_and_calls_help_but_a_late_approval_still_counts(backend):
    session, sale = paying(backend)
    session.tick(2.0 + 179)
    assert session.notice == "" and help_reasons(backend) == []
    session.tick(2.0 + 180)
    assert session.state == s.PAYMENT and session.notice == texts.OVERDUE["payment"]
    assert session.help_called and not session.help_box and help_reasons(backend) == ["payment_timeout"]
    assert backend.cancelled == 0 and session.checkout.paying_sale == sale  # neither paid nor unpaid
    session.tick(2.0 + 500)
    assert help_reasons(backend) == ["payment_timeout"]  # called once
    session.handle(terminal("result", sale_uuid=sale, status="approved", message_id="payment.approved"), 600.0)
    assert session.state == s.RECEIPT and session.checkout.sale_uuid == sale and session.notice == ""


def test_cancel_not_confirmed_says_what_happens_and_calls_help(backend):
    session, sale = paying(backend)
    session.tick(10.0)
    session.checkout.cancel_payment()
    session.tick(11.0)  # the cancel wait starts now
    session.tick(11.0 + 29)
    assert session.notice == ""
    session.tick(11.0 + 30)
    assert session.notice == texts.OVERDUE["cancelling"] and help_reasons(backend) == ["cancelling_timeout"]
    assert session.state == s.PAYMENT and session.checkout.paying_sale == sale
    session.handle(terminal("result", sale_uuid=sale, status="cancelled", message_id="payment.cancelled"), 50.0)
    assert session.state == s.CHECKOUT and len(session.checkout.cart.active_lines) == 1


def test_payment_in_doubt_too_long_says_do_not_pay_again_and_calls_help(backend):
    session, sale = paying(backend)
    session.handle(terminal("in_doubt", message_id="payment.checking"), 3.0)
    session.tick(3.0)
    session.tick(3.0 + 59)
    assert session.notice == ""
    session.tick(3.0 + 60)
    assert session.state == s.PAYMENT_IN_DOUBT and session.notice == texts.OVERDUE["in_doubt"]
    assert help_reasons(backend) == ["in_doubt_timeout"] and session.still_there_until is None
    backend.completed.add(sale)
    session.handle(terminal("resolved", results=[]), 100.0)
    assert session.state == s.RECEIPT and session.checkout.sale_uuid == sale


def test_age_check_without_an_attendant_calls_again_and_says_what_the_customer_can_do(backend):
    session = checkout(backend, BEER, now=1.0)
    session.tick(1.0)
    session.tick(1.0 + 100)  # waiting for the attendant is not being idle: no "still there?"
    assert session.still_there_until is None and session.notice == ""
    session.tick(1.0 + 120)
    assert session.state == s.AGE_CHECK and session.notice == texts.OVERDUE["age_check"]
    assert help_reasons(backend) == ["age_check_timeout"]
    session.checkout.attendant(DEMO_PIN, 130.0)
    backend.answer_checks(session, 130.0)
    assert session.state == s.CHECKOUT and session.notice == ""


def test_receipt_that_never_prints_turns_into_the_qr_code_and_calls_help(backend):
    session = checkout(backend, MILK)
    approved(backend, session)
    session.checkout.receipt("print", 4.0)
    session.tick(4.0)
    session.tick(4.0 + THANKS_SECONDS + 1)  # not back to attract while the receipt is on its way
    assert session.state == s.THANKS
    session.tick(4.0 + 30)
    assert session.state == s.RECEIPT_QR and session.notice == texts.OVERDUE["receipt"]
    assert help_reasons(backend) == ["printing_timeout"] and session.print_job is None


def test_printed_receipt_ends_the_wait(backend):
    session = checkout(backend, MILK)
    approved(backend, session)
    session.checkout.receipt("print", 4.0)
    session.tick(4.0)
    session.handle(Event("printer", DATA, payload=PrintJobDone(session.print_job)), 5.0)
    session.tick(4.0 + THANKS_SECONDS)
    assert session.state == s.ATTRACT and help_reasons(backend) == []


def test_ticket_that_never_prints_shows_the_number_again_and_calls_help(backend):
    session = new(backend)
    session.start_checkin(1.0)
    session.checkin.enter_booking(DEMO_BOOKING)
    session.checkin.confirm_checkin()
    assert session.print_job is not None
    session.done(2.0)
    session.tick(2.0)
    session.tick(2.0 + 30)
    assert session.state == s.CHECKIN_DONE and session.notice == texts.OVERDUE["ticket"]
    assert help_reasons(backend) == ["printing_timeout"]


def test_ticket_printer_down_says_so_on_the_screen_not_in_a_box(backend):
    backend.states["printer"] = "paper_out"
    session = new(backend)
    session.start_checkin(1.0)
    session.checkin.enter_booking(DEMO_BOOKING)
    session.checkin.confirm_checkin()
    assert session.state == s.CHECKIN_DONE and session.notice == texts.TICKET_NOT_PRINTED
    assert session.message is None
