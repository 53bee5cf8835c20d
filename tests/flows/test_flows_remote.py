"""Attendants' commands from the attendant station (kiosk/flows/remote.py), on the pure session: each is
acted on only for the session it names and before it expires, never in the middle of a payment, and every
outcome is journaled and answered."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kiosk.events import AttendantCommand, CommandDone, Event, Kind, Source
from kiosk.flows import states as s
from kiosk.flows import texts
from kiosk.live import live_view

from .conftest import BEER, MILK, scan, terminal
from .test_flows_session import checkout, new

NOW = datetime(2026, 12, 1, 23, 0, tzinfo=timezone.utc)


@pytest.fixture
def desk(backend):
    """The fake backend with what the live channel adds: answers, lane work and the server's clock."""
    backend.answers, backend.work = [], []
    backend.answer_command = lambda command_id, outcome, detail: backend.answers.append((command_id, outcome, detail))
    backend.lane_work = lambda kind, command_id: backend.work.append((kind, command_id))
    backend.server_time = lambda: NOW.timestamp()
    return backend


def command(kind, session_id=None, *, id="c1", by="Anna", reason="", expires_in=30.0):
    issued = NOW - timedelta(seconds=1)
    return Event(Source.LIVE, Kind.COMMAND, payload=AttendantCommand(
        id=id, kind=kind, by=by, issued_at=issued.isoformat(),
        expires_at=(NOW + timedelta(seconds=expires_in)).isoformat(), session_id=session_id, reason=reason))


def journaled(backend, command_id="c1"):
    [entry] = [d for name, d in backend.events if name == "attendant_command" and d["command"] == command_id]
    return entry


def test_approve_age_for_the_open_session_continues_the_same_cart_to_payment(desk):
    session = checkout(desk, MILK, BEER)
    session.checkout.pay(2.0)  # the customer pressed Pay: waits for the age check
    assert session.state == s.AGE_CHECK and session.session_id
    sale = session.checkout.cart.sale_uuid
    session.handle(command("approve_age", session.session_id), 3.0)
    assert desk.answers == [("c1", "done", desk.answers[0][2])]
    assert session.state == s.PAYMENT and desk.payments[0][0] == sale  # nobody touched the kiosk
    assert [line.approved_by for line in session.checkout.cart.lines if line.item.min_age] == ["Anna"]
    entry = journaled(desk)
    assert (entry["kind"], entry["by"], entry["outcome"], entry["session_id"]) == \
        ("approve_age", "Anna", "done", session.session_id)
    approved = [d for name, d in desk.events if name == "age_approved"][0]
    assert approved["attendant"] == "Anna" and approved["via"] == "attendant_station"


def test_a_stale_approval_for_a_customer_who_left_never_applies_to_the_next(desk):
    session = checkout(desk, BEER)
    first = session.session_id
    session.cancel(2.0)  # the customer left
    session.handle(scan(BEER), 3.0)  # the next customer, with an age-restricted item too
    assert session.state == s.AGE_CHECK and session.session_id != first
    session.handle(command("approve_age", first), 4.0)
    assert desk.answers[0][1] == "refused" and "is over" in desk.answers[0][2]
    assert session.state == s.AGE_CHECK and session.checkout.cart.awaiting_approval
    assert journaled(desk)["outcome"] == "refused"


def test_approval_without_a_session_or_a_pending_check_is_refused(desk):
    session = checkout(desk, MILK)
    session.handle(command("approve_age", None, id="a"), 2.0)
    session.handle(command("approve_age", session.session_id, id="b"), 2.0)
    assert [(i, o) for i, o, _ in desk.answers] == [("a", "refused"), ("b", "refused")]
    assert "no age check" in desk.answers[1][2] and session.state == s.CHECKOUT


def test_an_expired_command_is_refused_as_expired(desk):
    session = checkout(desk, BEER)
    session.handle(command("approve_age", session.session_id, expires_in=-1), 2.0)
    assert desk.answers[0][1] == "expired"
    assert session.state == s.AGE_CHECK and session.checkout.cart.awaiting_approval


def test_refuse_age_removes_the_item_and_tells_the_customer(desk):
    session = checkout(desk, MILK, BEER)
    session.handle(command("refuse_age", session.session_id), 2.0)
    assert desk.answers[0][1] == "done"
    assert session.state == s.CHECKOUT and session.message.msgid == texts.AGE_REFUSED
    assert [line.voided for line in session.checkout.cart.lines] == [False, True]
    assert "age_refused" in desk.event_names()


def test_cancel_session_is_refused_during_a_payment_and_done_otherwise(desk):
    session = checkout(desk, MILK)
    session.checkout.pay(2.0)
    assert session.state == s.PAYMENT
    session.handle(command("cancel_session", session.session_id, id="during"), 3.0)
    assert desk.answers[-1][:2] == ("during", "refused") and session.state == s.PAYMENT
    sale = session.checkout.paying_sale
    session.handle(terminal("result", sale_uuid=sale, status="declined", message_id="payment.declined"), 4.0)
    session.handle(command("cancel_session", session.session_id, id="after"), 5.0)
    assert desk.answers[-1][:2] == ("after", "done") and session.state == s.ATTRACT
    cancelled = [d for name, d in desk.events if name == "session_cancelled"][-1]
    assert cancelled["by"] == "Anna" and cancelled["command"] == "after"


def test_out_of_service_at_rest_closes_the_lane_and_in_service_opens_it(desk):
    session = new(desk)
    session.handle(command("out_of_service", reason="spill in aisle 3"), 1.0)
    assert session.state == s.OUT_OF_SERVICE and session.closed_reason == "spill in aisle 3"
    session.handle(scan(MILK), 2.0)  # nothing starts on a closed lane
    session.tick(3.0)
    assert session.state == s.OUT_OF_SERVICE and session.checkout.cart is None
    assert live_view(session)["out_of_service"] == "spill in aisle 3"
    session.handle(command("in_service", id="c2"), 4.0)
    assert session.state == s.ATTRACT and desk.answers[-1][:2] == ("c2", "done")


def test_out_of_service_during_a_payment_waits_for_the_customer(desk):
    session = checkout(desk, MILK)
    session.checkout.pay(2.0)
    session.handle(command("out_of_service", reason="till count"), 3.0)
    assert desk.answers[0][1] == "done" and desk.answers[0][2].startswith("deferred")
    assert session.state == s.PAYMENT and session.closed_reason is None  # the payment goes on
    sale = session.checkout.paying_sale
    session.handle(terminal("result", sale_uuid=sale, status="approved", message_id="payment.approved"), 4.0)
    assert session.state == s.RECEIPT
    session.checkout.receipt("none", 5.0)
    session.done(6.0)
    session.tick(30.0)  # the thank-you screen ends: the lane closes now
    assert session.state == s.OUT_OF_SERVICE and session.closed_reason == "till count"


def test_help_acknowledged_shows_help_on_the_way_and_resolved_clears_it(desk):
    session = checkout(desk, MILK)
    session.handle(command("help_acknowledged", id="early"), 1.5)
    assert desk.answers[-1][:2] == ("early", "refused")  # no call open
    session.call_help(now=2.0)
    session.handle(command("help_acknowledged", session.session_id, id="ack"), 3.0)
    assert desk.answers[-1][:2] == ("ack", "done") and session.help_acknowledged_by == "Anna"
    assert live_view(session)["help_acknowledged_by"] == "Anna"
    session.handle(command("help_resolved", session.session_id, id="res"), 4.0)
    assert desk.answers[-1][:2] == ("res", "done")
    assert not session.help_called and session.help_acknowledged_by is None


def test_help_for_a_session_that_ended_is_refused(desk):
    session = checkout(desk, MILK)
    old = session.session_id
    session.call_help(now=2.0)
    session.cancel(3.0)
    session.handle(scan(MILK), 4.0)
    session.call_help(now=5.0)
    session.handle(command("help_acknowledged", old), 6.0)
    assert desk.answers[0][1] == "refused" and session.help_acknowledged_by is None


def test_lane_work_is_answered_when_the_backend_is_done(desk):
    session = new(desk)
    session.handle(command("test_print", id="tp"), 1.0)
    assert desk.work == [("test_print", "tp")] and desk.answers == []
    session.handle(Event(Source.LIVE, Kind.COMMAND_DONE, payload=CommandDone("tp", "done", "test page queued")), 2.0)
    assert desk.answers == [("tp", "done", "test page queued")]
    assert journaled(desk, "tp")["detail"] == "test page queued"


def test_live_view_describes_the_session(desk):
    session = new(desk)
    view = live_view(session)
    assert (view["flow"], view["phase"], view["session_id"], view["lines"]) == ("idle", "idle", None, [])
    session = checkout(desk, MILK, BEER)
    view = live_view(session, line_language="de")
    assert (view["flow"], view["phase"], view["session_id"]) == ("checkout", "age_check", session.session_id)
    assert view["age_check_pending"] and view["item_count"] == 2
    assert [line["age_restricted"] for line in view["lines"]] == [False, True]
    assert view["total_minor"] == sum(line["amount_minor"] for line in view["lines"])


def test_in_service_is_refused_while_kiosk_update_holds_the_lane_and_the_hold_reopens_it(desk):
    from kiosk.flows import update_hold
    session = new(desk)
    held = update_hold.apply(session, "run-1", None)  # kiosk-update is about to restart the kiosk
    assert held == "run-1" and session.state == s.OUT_OF_SERVICE and session.closed_reason == texts.UPDATING
    session.handle(command("in_service"), 1.0)
    assert desk.answers[-1][:2] == ("c1", "refused") and "new release" in desk.answers[-1][2]
    session.handle(scan(MILK), 2.0)
    assert session.state == s.OUT_OF_SERVICE and session.checkout.cart is None  # nobody starts mid-update
    assert update_hold.apply(session, None, held) is None  # the updater withdrew (or died): the lane opens
    assert session.state == s.ATTRACT and session.closed_reason is None
