"""Attendants' commands from the attendant station (issue 15), acted on by the session on the UI thread.

A command reaches the session as an event (kiosk/live.py reads it from the server's stream); the session
acts, journals the outcome (`attendant_command`: who, what, which session, the outcome; synced like every
event) and answers through `backend.answer_command`, which the live client posts back to the server.

Rules that keep a remote command from harming the wrong customer:
- a command past its `expires_at` (by the server's clock as the kiosk knows it) is refused as expired;
- approve_age, refuse_age and cancel_session name the customer session they are for: any other session
  (the customer has left, the next one is shopping) refuses them, and so does a session without a pending
  age check (approve/refuse);
- nothing interrupts a payment: cancel_session is refused while the terminal is paying or in doubt, and
  out_of_service during a customer's session closes the lane once that customer has finished.
Without the server none of this happens and the kiosk works as before (local help, local PIN approval).
"""
from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Callable

from kiosk.events import AttendantCommand, CommandDone
from kiosk.flows import texts
from kiosk.flows.states import ATTRACT, OUT_OF_SERVICE, PAYMENT, PAYMENT_IN_DOUBT

FOR_A_SESSION = ("approve_age", "refuse_age", "cancel_session")  # must name the open session
LANE_WORK = ("sync_now", "test_print", "reload_config")  # done by the backend off the UI thread
PAYING = (PAYMENT, PAYMENT_IN_DOUBT)
Outcome = tuple[str | None, str]  # (done | refused | expired | failed, detail); None: answered later


def parse_time(text: str) -> float:
    """An ISO 8601 time (with offset, or "Z") as a POSIX timestamp; ValueError when it is not one."""
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if at.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return at.timestamp()


class RemoteDesk:
    def __init__(self, session: Any):  # kiosk.flows.session.Session (not imported: no import circle)
        self.session = session
        self.pending: dict[str, AttendantCommand] = {}  # lane work under way, by command id

    def _server_time(self) -> float:
        clock: Callable[[], float] = getattr(self.session.backend, "server_time", time.time)
        return clock()

    def handle(self, p: AttendantCommand | CommandDone, now: float) -> None:
        if isinstance(p, CommandDone):
            command = self.pending.pop(p.command_id, None)
            if command is not None:
                self._answer(command, p.outcome, p.detail)
            return
        outcome, detail = self._act(p, now)
        if outcome is not None:
            self._answer(p, outcome, detail)

    def _act(self, command: AttendantCommand, now: float) -> Outcome:
        s = self.session
        try:
            expired = parse_time(command.expires_at) <= self._server_time()
        except ValueError as exc:
            return "refused", f"expires_at is not a time: {exc}"
        if expired:
            return "expired", f"expired at {command.expires_at} before the kiosk could act on it"
        if command.kind in FOR_A_SESSION or command.session_id is not None:
            if command.session_id is None:
                return "refused", f"{command.kind} must name the customer session it is for"
            if command.session_id != s.session_id:
                now_open = s.session_id or "none"
                return "refused", f"session {command.session_id} is over (the session now open: {now_open})"
        act = getattr(self, "_" + command.kind, None)
        if act is None:
            return "refused", f"unknown command {command.kind!r}"
        return act(command, now)

    def _answer(self, command: AttendantCommand, outcome: str, detail: str) -> None:
        s = self.session
        s.backend.record_event("attendant_command", {
            "command": command.id, "kind": command.kind, "by": command.by, "session_id": command.session_id,
            "issued_at": command.issued_at, "reason": command.reason[:200], "outcome": outcome,
            "detail": detail[:200]})
        answer = getattr(s.backend, "answer_command", None)
        if answer is not None:
            answer(command.id, outcome, detail)
        s._changed()

    # --- the customer's session -------------------------------------------------------------------------

    def _age_lines(self) -> list:
        cart = self.session.checkout.cart
        return list(cart.awaiting_approval) if cart is not None else []

    def _approve_age(self, command: AttendantCommand, now: float) -> Outcome:
        lines = self._age_lines()
        if not lines:
            return "refused", "no age check is pending in this session"
        self.session.checkout.approved(command.by, now, command=command.id, via="attendant_station")
        return "done", f"approved {len(lines)} line(s); the customer continues"

    def _refuse_age(self, command: AttendantCommand, now: float) -> Outcome:
        s, lines = self.session, self._age_lines()
        if not lines:
            return "refused", "no age check is pending in this session"
        s.backend.record_event("age_refused", {"sale_uuid": s.checkout.cart.sale_uuid, "attendant": command.by,
                                               "command": command.id,
                                               "lines": ",".join(str(line.line_no) for line in lines)})
        s.checkout.remove_restricted()
        s._say(texts.AGE_REFUSED, kind="info")
        return "done", f"removed {len(lines)} age-restricted line(s); the customer was told"

    def _cancel_session(self, command: AttendantCommand, now: float) -> Outcome:
        s = self.session
        if s.state in PAYING:
            return "refused", "a card payment is under way; cancel it on the terminal or wait for its result"
        s.backend.record_event("session_cancelled", {**s._facts(), "by": command.by, "command": command.id})
        s._reset(now)
        return "done", "the session was ended; the kiosk is ready for the next customer"

    # --- help ----------------------------------------------------------------------------------------------

    def _help_acknowledged(self, command: AttendantCommand, now: float) -> Outcome:
        s = self.session
        if not s.help_called:
            return "refused", "no help call is open on this kiosk"
        s.help_acknowledged_by = command.by
        return "done", "the customer sees that help is on the way"

    def _help_resolved(self, command: AttendantCommand, now: float) -> Outcome:
        s = self.session
        if not s.help_called and s.help_acknowledged_by is None:
            return "refused", "no help call is open on this kiosk"
        s.help_called = s.help_box = False
        s.help_acknowledged_by = None
        return "done", "the help call is closed on the kiosk"

    # --- the lane ------------------------------------------------------------------------------------------

    def _out_of_service(self, command: AttendantCommand, now: float) -> Outcome:
        s = self.session
        reason = command.reason.strip() or f"closed by {command.by}"
        if s.state in (ATTRACT, OUT_OF_SERVICE):
            s.closed_reason, s.closing = reason, None
            s._go(OUT_OF_SERVICE)
            return "done", "the lane shows out of service"
        s.closing = reason  # never in the middle of a customer (or a payment): when this session ends
        what = "paying" if s.state in PAYING else "finished"
        return "done", f"deferred: a customer is at the kiosk ({s.state}); the lane closes once they have {what}"

    def _in_service(self, command: AttendantCommand, now: float) -> Outcome:
        s = self.session
        if s.closed_reason == texts.UPDATING:  # kiosk-update restarts it next: a customer must not start now
            return "refused", "the kiosk is switching to a new release and reopens by itself when it is back"
        was = s.closed_reason or s.closing
        s.closed_reason = s.closing = None
        if s.state == OUT_OF_SERVICE:
            s._go(s._rest_state())
        if s.state == OUT_OF_SERVICE:
            return "done", f"reopened, but the kiosk cannot serve: {s.fault or 'its devices are not ready'}"
        return "done", "the lane is open" if was else "the lane was open already"

    def _lane_work(self, command: AttendantCommand, now: float) -> Outcome:
        work = getattr(self.session.backend, "lane_work", None)
        if work is None:
            return "failed", f"this kiosk cannot do {command.kind}"
        self.pending[command.id] = command
        work(command.kind, command.id)  # answered by a CommandDone event
        return None, ""

    _sync_now = _test_print = _reload_config = _lane_work
