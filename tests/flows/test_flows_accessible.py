"""The session's accessible mode and low-reach layout: entered for one customer, left when the session ends;
the "still there?" question and its countdown come 3 times later in the accessible mode, and the thank-you
screen stays 3 times as long (a key keeps it)."""
from __future__ import annotations

from kiosk.flows import states as s
from kiosk.flows.actions import Action, perform
from kiosk.flows.session import Session
from kiosk.flows.shell import THANKS_SECONDS

from .conftest import MILK, scan, terminal


def test_still_there_comes_three_times_later_and_the_mode_ends_with_the_session(backend):
    session = Session(backend, idle_timeout_s=60, countdown_s=20, now=0.0, accessible_idle_factor=3)
    perform(session, Action.ACCESSIBLE_MODE, 0.0)
    perform(session, Action.TOGGLE_LOW_REACH, 0.0)
    session.handle(scan(MILK), 0.0)
    assert session.accessible and session.low_reach and session.state == s.CHECKOUT
    session.tick(179.0)
    assert session.still_there_until is None  # 60 s would have asked already
    session.tick(180.0)
    assert session.still_there_left(180.0) == 60
    session.tick(239.0)
    assert session.state == s.CHECKOUT
    session.tick(240.0)
    assert session.state == s.ATTRACT and not session.accessible and not session.low_reach


def test_without_the_mode_the_usual_timeouts_apply(backend):
    session = Session(backend, idle_timeout_s=60, countdown_s=20, now=0.0)
    session.handle(scan(MILK), 0.0)
    session.tick(60.0)
    assert session.still_there_left(60.0) == 20 and not session.accessible


def test_a_kiosk_can_start_every_session_in_low_reach(backend):
    session = Session(backend, now=0.0, default_low_reach=True)
    perform(session, Action.TOGGLE_LOW_REACH, 0.0)
    assert not session.low_reach
    session.cancel(1.0)
    assert session.low_reach


def test_the_thank_you_screen_stays_three_times_as_long_and_a_key_keeps_it(backend):
    session = Session(backend, idle_timeout_s=60, countdown_s=20, now=0.0, accessible_idle_factor=3)
    perform(session, Action.ACCESSIBLE_MODE, 0.0)
    session.handle(scan(MILK), 1.0)
    session.checkout.pay(2.0)
    session.handle(terminal("result", sale_uuid=backend.payments[-1][0], status="approved",
                            message_id="payment.approved"), 3.0)
    session.checkout.receipt("none", 10.0)
    session.tick(10.0 + 3 * THANKS_SECONDS - 1)
    assert session.state == s.THANKS
    session.touch(10.0 + 3 * THANKS_SECONDS - 1)  # a key: the customer is still hearing it
    session.tick(10.0 + 6 * THANKS_SECONDS - 2)
    assert session.state == s.THANKS
    session.tick(10.0 + 6 * THANKS_SECONDS - 1)
    assert session.state == s.ATTRACT
