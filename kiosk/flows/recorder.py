"""The session record (issue 16): watches one customer's session and journals its summary when it ends.

It only observes: the shell tells it about state changes, taps, scans, messages and language or text-size
switches; the events the flows journal anyway (help, age checks, receipt choice, rating, "was it easy",
abandoned, cancelled) it sees by wrapping the backend (`ObservedBackend`). At the session's end (`Session._reset`)
one `SessionSummary` is journaled as the event "session", in the same outbox as the sale, so it syncs like
every record: idempotent by uuid, gap-free by seq. A reset with no session under way journals nothing.
"""
from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from kiosk.flows import texts
from kiosk.flows.states import (ATTRACT, CHECKIN, CHECKIN_BOOKING, CHECKIN_DONE, OUT_OF_SERVICE, PAYMENT,
                                PAYMENT_FAILED, RECEIPT)
from kiosk.wire import SESSION_EVENT, SessionSummary

UNKNOWN_CODE_MESSAGES = (texts.UNKNOWN_ITEM, texts.INVALID_CODE, texts.NOT_AN_ITEM)
REST = (ATTRACT, OUT_OF_SERVICE)


def session_id(live: str | None = None) -> str:
    """The live channel's id of the session (as a UUID) if it has one, else a new uuid4; never one with a run of
    13 digits: the server dead-letters text that could be a card number."""
    try:
        text = str(uuid.UUID(live)) if live else ""
    except ValueError:
        text = ""
    while not text or re.search(r"\d(?:-?\d){12}", text):
        text = str(uuid.uuid4())
    return text


def _stamp(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class SessionRecorder:
    def __init__(self, journal_event: Callable[[str, dict], Any], currency: str = "",
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self._journal, self.currency, self.clock, self.wall = journal_event, currency, clock, wall
        self._clear()

    def _clear(self) -> None:
        self.started: float | None = None
        self.counts = dict.fromkeys(("scans", "taps", "searches", "unknown_codes", "messages", "help_calls",
                                     "age_checks", "payment_attempts", "declines", "language_switches"), 0)
        self.marks: dict[str, int] = {}  # first_scan_ms, payment_ms, paid_ms
        self.flow = "checkout"
        self.start_language: str | None = None
        self.large_text = False
        self.flags: set[str] = set()  # abandoned, cancelled, out_of_service
        self.age_since: float | None = None
        self.age_wait_ms = 0
        self.receipt_choice: str | None = None
        self.rating: int | None = None
        self.easy: bool | None = None

    def _ms(self) -> int:
        return max(0, int((self.clock() - (self.started or self.clock())) * 1000))

    def _mark(self, name: str) -> None:
        if self.started is not None:
            self.marks.setdefault(name, self._ms())

    # --- what the shell reports ---------------------------------------------------------------------------------

    def state(self, old: str, new: str, language: str, large_text: bool) -> None:
        if self.started is None and old in REST and new not in REST:
            self.started, self.began_at = self.clock(), self.wall()
            self.start_language, self.large_text = language, self.large_text or large_text
        if self.started is None:
            return
        if new in (CHECKIN, CHECKIN_BOOKING, CHECKIN_DONE):
            self.flow = "checkin"
        if new == PAYMENT and old != PAYMENT:
            self.counts["payment_attempts"] += 1
            self._mark("payment_ms")
        elif new == PAYMENT_FAILED and old != PAYMENT_FAILED:
            self.counts["declines"] += 1
        elif new in (RECEIPT, CHECKIN_DONE):
            self._mark("paid_ms")
        elif new == OUT_OF_SERVICE:
            self.flags.add("out_of_service")

    def count(self, name: str) -> None:
        self.counts[name] += 1
        if name == "scans":
            self._mark("first_scan_ms")

    def message(self, msgid: str) -> None:
        self.counts["messages"] += 1
        if msgid in UNKNOWN_CODE_MESSAGES:
            self.counts["unknown_codes"] += 1

    def text_size(self, large: bool) -> None:
        self.large_text = self.large_text or large

    def event(self, name: str, details: dict) -> None:
        """An event the flows journal: what it says about the session."""
        if name == "help_called":
            self.counts["help_calls"] += 1
        elif name == "age_check_requested":
            self.counts["age_checks"] += 1
            if self.age_since is None:
                self.age_since = self.clock()
        elif name in ("age_approved", "line_voided"):  # approved, or the waiting line taken off
            self._age_done()
        elif name == "receipt_choice":
            self.receipt_choice = details.get("choice")
        elif name == "rating":
            self.rating = details.get("stars")
        elif name == "was_it_easy":
            self.easy = bool(details.get("easy"))
        elif name == "session_abandoned":
            self.flags.add("abandoned")
        elif name == "session_cancelled":
            self.flags.add("cancelled")

    def _age_done(self) -> None:
        if self.age_since is not None:
            self.age_wait_ms += int((self.clock() - self.age_since) * 1000)
            self.age_since = None

    # --- the end ------------------------------------------------------------------------------------------------

    def finish(self, language: str, amount_minor: int, out_of_service: bool,
               live_id: str | None = None) -> SessionSummary | None:
        """The session ends: journal its summary (None, and nothing journaled, if none was under way)."""
        if self.started is None:
            self._clear()
            return None
        self._age_done()
        duration = self._ms()
        paid = "paid_ms" in self.marks
        outcome = ("completed" if paid else
                   "out_of_service" if out_of_service or "out_of_service" in self.flags else
                   "handed_to_staff" if self.counts["help_calls"] else
                   "abandoned_idle" if "abandoned" in self.flags else "cancelled")
        began = self.began_at
        summary = SessionSummary(
            session_id=session_id(live_id), flow=self.flow, language=language,
            start_language=self.start_language or language, started_at=_stamp(began),
            ended_at=_stamp(began + timedelta(milliseconds=duration)), duration_ms=duration, outcome=outcome,
            receipt_choice=self.receipt_choice, age_wait_ms=self.age_wait_ms,
            amount_minor=amount_minor if paid and self.flow == "checkout" else 0,
            currency=self.currency if paid and self.flow == "checkout" else "",
            rating=self.rating, easy=self.easy, large_text=self.large_text, **self.counts, **self.marks)
        self._journal(SESSION_EVENT, summary.model_dump())
        self._clear()
        return summary


class ObservedBackend:
    """The session's backend with its journaled events shown to the recorder first; all else passes through."""

    def __init__(self, backend: Any, recorder: SessionRecorder):
        object.__setattr__(self, "_backend", backend)
        object.__setattr__(self, "_recorder", recorder)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._backend, name, value)

    def record_event(self, event: str, details: dict) -> None:
        self._recorder.event(event, details)
        self._backend.record_event(event, details)
