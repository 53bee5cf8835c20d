"""The session record (issue 16): one summary per customer session, journaled when it ends, with what happened."""
from __future__ import annotations

from kiosk.flows import states as s
from kiosk.flows.actions import Action, perform
from kiosk.flows.session import Session
from kiosk.flows.shell import THANKS_SECONDS
from kiosk.wire import EventBody, SessionSummary

from .conftest import BEER, MILK, UNKNOWN, scan, terminal


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def new(backend):
    session = Session(backend, idle_timeout_s=60, countdown_s=20, now=0.0)
    clock = Clock()
    session.recorder.clock = clock
    return session, clock


def summaries(backend) -> list[SessionSummary]:
    # each one is a valid event body on the wire, as the journal and the server will see it
    return [SessionSummary.from_details(EventBody(event="session", details=d).details) for d in backend.sessions]


def test_a_completed_checkout_counts_what_the_customer_did(backend):
    session, clock = new(backend)
    session.set_language("de")
    perform(session, Action.TOUCH, 0.5)
    clock.t = 1.0
    session.handle(scan(MILK), 1.0)  # starts the session: first scan at 0 ms
    assert session.session_id  # the live channel's id; one without a long digit run, to compare below
    live_id = session.session_id = "0123abcd" * 4
    clock.t = 3.0
    session.handle(scan(UNKNOWN), 3.0)
    session.toggle_large_text()
    session.checkout.search("bread")
    clock.t = 5.0
    session.checkout.pay(5.0)
    sale = backend.payments[-1][0]
    clock.t = 6.0
    session.handle(terminal("result", sale_uuid=sale, status="declined", message_id="payment.declined"), 6.0)
    session.checkout.retry_payment(7.0)
    sale = backend.payments[-1][0]
    clock.t = 9.0
    session.handle(terminal("result", sale_uuid=sale, status="approved", message_id="payment.approved"), 9.0)
    session.checkout.receipt("qr", 10.0)
    session.done(10.0)
    session.rate(5, 11.0)
    session.answer_easy(True, 11.0)
    assert backend.sessions == []  # journaled at the end, not before
    clock.t = 12.0 + THANKS_SECONDS
    session.tick(12.0 + THANKS_SECONDS)
    assert session.state == s.ATTRACT
    [record] = summaries(backend)
    assert record.outcome == "completed" and record.flow == "checkout"
    assert (record.start_language, record.language) == ("de", "de")
    assert record.first_scan_ms == 0 and record.payment_ms == 4000 and record.paid_ms == 8000
    assert record.duration_ms == 26000
    assert (record.scans, record.unknown_codes, record.searches) == (2, 1, 1)
    assert (record.payment_attempts, record.declines) == (2, 1)
    assert record.messages >= 1 and record.large_text is True
    assert (record.rating, record.easy, record.receipt_choice) == (5, True, "qr") and record.taps == 1
    assert record.amount_minor == 119 and record.currency == backend.currency
    assert record.started_at.endswith("Z") and record.ended_at > record.started_at
    assert record.session_id.replace("-", "") == live_id  # the id the attendant console knows the session by


def test_abandoned_at_idle_with_an_age_check_wait(backend):
    session, clock = new(backend)
    clock.t = 1.0
    session.start_checkout(1.0)
    session.handle(scan(BEER), 1.0)
    clock.t = 31.0
    session.checkout.remove_restricted()  # the customer would rather not wait: the wait ends here
    clock.t = 100.0
    session.tick(61.0)
    session.tick(81.0)
    assert session.state == s.ATTRACT
    [record] = summaries(backend)
    assert record.outcome == "abandoned_idle" and record.age_checks == 1 and record.age_wait_ms == 30000
    assert record.amount_minor == 0 and record.paid_ms is None and record.payment_ms is None


def test_help_then_leaving_is_handed_to_staff_and_an_empty_cancel_is_cancelled(backend):
    session, _ = new(backend)
    session.start_checkout(1.0)
    session.handle(scan(MILK), 1.0)
    session.call_help()
    session.cancel(2.0)
    session.start_checkout(3.0)
    session.cancel(4.0)
    assert [r.outcome for r in summaries(backend)] == ["handed_to_staff", "cancelled"]
    assert summaries(backend)[0].help_calls == 1


def test_no_session_no_record_and_a_checkin_is_its_own_flow(backend):
    session, _ = new(backend)
    session.tick(500.0)
    session.set_language("nl")
    session.set_language("nl")
    assert backend.sessions == []
    session.start_checkin(1.0)
    session.checkin.type_code("demo-1234")
    session.checkin.enter_booking(session.checkin.checkin_code)
    session.checkin.confirm_checkin()
    session.done(2.0)
    session.done(3.0)
    [record] = summaries(backend)
    assert record.flow == "checkin" and record.outcome == "completed" and record.amount_minor == 0
    assert record.language_switches == 1 and record.start_language == "nl"
