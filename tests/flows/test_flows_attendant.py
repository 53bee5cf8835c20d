"""The attendant check runs off the UI thread (scrypt per stored PIN): the session asks, the answer comes back
as an event; meanwhile the age check says it is checking and item scans are no attempts."""
from __future__ import annotations

import threading
import time

from kiosk.events import AttendantChecked, Event, EventQueue, Kind, Source
from kiosk.flows import states as s
from kiosk.flows import texts
from launcher.demo import DEMO_BADGE, DEMO_PIN

from .conftest import BEER, MILK, FakeBackend, scan
from .test_flows_session import checkout

SLOW = 0.4


class SlowBackend(FakeBackend):
    """Checks like the real backend: on a thread, posting the answer to an event queue, slowly."""

    def __init__(self, tmp_path):
        super().__init__(tmp_path)
        self.queue = EventQueue()
        self.threads: list[threading.Thread] = []

    def check_attendant(self, secret, request):
        def run():
            time.sleep(SLOW)
            self.queue.post(Source.SESSION, Kind.ATTENDANT_CHECKED,
                            AttendantChecked(request, self.verify_attendant(secret)))
        thread = threading.Thread(target=run, daemon=True)
        self.threads.append(thread)
        thread.start()

    def next_answer(self, session, now):
        event = self.queue.get(timeout=10)
        assert event is not None and event.kind == "attendant_checked"
        session.handle(event, now)


def test_a_slow_pin_check_does_not_block_and_comes_back_as_an_event(tmp_path):
    backend = SlowBackend(tmp_path)
    try:
        session = checkout(backend, MILK, BEER)
        assert session.state == s.AGE_CHECK
        started = time.monotonic()
        session.checkout.attendant(DEMO_PIN, 2.0)
        assert time.monotonic() - started < SLOW / 4  # the UI thread goes on at once
        assert session.checkout.attendant_check is not None and session.state == s.AGE_CHECK
        session.checkout.attendant("0000", 2.1)  # a second PIN while checking: ignored, the screen says it is checking
        session.handle(scan(MILK), 2.2)  # an item is no attempt at a badge
        assert session.message.msgid == texts.AGE_CHECK_FIRST and len(backend.threads) == 1
        backend.next_answer(session, 3.0)
        assert session.state == s.CHECKOUT and session.checkout.attendant_check is None
        assert not session.checkout.cart.awaiting_approval and "age_approved" in backend.event_names()
        assert "attendant_refused" not in backend.event_names()
    finally:
        backend.close()


def test_a_badge_scan_is_checked_off_the_ui_thread_and_an_answer_for_an_ended_session_is_ignored(tmp_path):
    backend = SlowBackend(tmp_path)
    try:
        session = checkout(backend, BEER)
        session.handle(scan("NOT-A-BADGE", category="text", symbology="Code128"), 2.0)
        assert session.checkout.attendant_check is not None
        backend.next_answer(session, 2.5)
        assert session.message.msgid == texts.WRONG_ATTENDANT and session.state == s.AGE_CHECK
        session.handle(scan(DEMO_BADGE, category="text", symbology="Code128"), 3.0)
        session.cancel(3.1)  # the customer leaves before the answer
        assert session.checkout.attendant_check is None
        session.handle(scan(BEER), 3.2)  # the next customer's restricted item
        backend.next_answer(session, 4.0)  # the old badge's answer approves nothing of theirs
        assert session.state == s.AGE_CHECK and session.checkout.cart.awaiting_approval
    finally:
        backend.close()


# issue 14: the attendant PIN cannot be found by scanning badge after badge
def test_five_wrong_attendant_attempts_lock_the_check_across_a_restart(tmp_path):
    from kiosk import config
    from kiosk.events import EventQueue as Queue
    from launcher.backend import KioskBackend

    settings = config.load(environ={"KIOSK_KIOSK_DATA_DIR": str(tmp_path)})
    backend = KioskBackend(settings, Queue(), simulate=True, start_server=False)
    try:
        for attempt in range(4):
            assert backend.check_attendant_now(f"WRONG-{attempt}") == (None, 0.0)
        who, locked = backend.check_attendant_now("WRONG-5")
        assert who is None and 14 * 60 < locked <= 15 * 60
        who, locked = backend.check_attendant_now(DEMO_BADGE)  # the right badge, but locked: not even checked
        assert who is None and locked > 0
    finally:
        backend.close()
    backend = KioskBackend(settings, Queue(), simulate=True, start_server=False)  # a restart
    try:
        assert backend.attendant_locked_for() > 14 * 60
        assert backend.check_attendant_now(DEMO_PIN)[0] is None
    finally:
        backend.close()


def test_the_lockout_counts_remaining_time_not_the_wall_clock(tmp_path):
    from kiosk.maintenance.lockout import RemainingLockout

    now = [1000.0]
    path = tmp_path / "attendant-lock.json"
    lockout = RemainingLockout(path, clock=lambda: now[0], save_every_s=30)
    for _ in range(5):
        lockout.failed()
    assert lockout.locked_for() == 900
    now[0] += 600
    assert lockout.locked_for() == 300  # and saved: at most 30 s old in the file
    now[0] = 5.0  # a restart: the monotonic clock starts anew; the remaining time comes from the file
    again = RemainingLockout(path, clock=lambda: now[0])
    assert again.locked_for() == 300
    now[0] += 300
    assert again.locked_for() == 0
    assert again.failed() is False and again.tries_left == 4  # a fresh count after the lock
    path.write_text("{broken")
    assert RemainingLockout(path, clock=lambda: now[0]).locked_for() == 900  # a damaged file locks


def test_the_age_check_says_it_is_locked_and_offers_help(tmp_path):
    backend = FakeBackend(tmp_path)
    try:
        session = checkout(backend, MILK)
        backend.locked_for_s = 14 * 60 + 5
        session.handle(scan(BEER), 2.0)
        assert session.state == s.AGE_CHECK
        assert session.message.msgid == texts.ATTENDANT_LOCKED and session.message.help
        assert session.message.params == {"minutes": 15}
        session.checkout.attendant("WRONG", 3.0)
        request = backend.attendant_checks.pop()[1]
        session.handle(Event(Source.SESSION, Kind.ATTENDANT_CHECKED,
                             payload=AttendantChecked(request, None, 60.0)), 3.5)
        assert session.message.msgid == texts.ATTENDANT_LOCKED and session.message.params == {"minutes": 1}
        assert session.state == s.AGE_CHECK and session.checkout.cart.awaiting_approval
        assert ("attendant_refused", {"sale_uuid": session.checkout.cart.sale_uuid, "locked": True,
                                      "locked_for_s": 60}) in backend.events
    finally:
        backend.close()
