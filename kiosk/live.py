"""The kiosk's live channel to the central server (issue 15): what it is doing now, up; attendants' commands, down.

- Up: the UI thread hands `publish()` a view of the session (`live_view`, cheap, after every change); the
  client's poster thread adds the device states and the outbox depth, and POSTs a `LiveState` to
  /v1/live/state whenever something changed: at most one every `debounce_s` (the newest state wins; the
  first change after a quiet spell goes at once). Each (re)connect of the command stream sends the state again.
- Down: a reader thread holds GET /v1/live/commands (server-sent events). Each `command` becomes an
  `AttendantCommand` event on the one EventQueue; the session acts on it on the UI thread and answers with
  `answer()`, which the poster thread POSTs as a `CommandResult` (retried until the server has it).
- The stream reconnects with capped full-jitter backoff. Nothing here blocks the UI thread, and without the
  server the kiosk works as before: live state is ephemeral, the journal stays the record.
Same base URL and kiosk token as the sync client (kiosk/sync.py).
"""
from __future__ import annotations

import logging
import random
import socket
import threading
import time
import uuid
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator

import httpx
from pydantic import ValidationError

from kiosk.events import AttendantCommand, EventQueue, Kind, Source
from kiosk.flows import states as st
from kiosk.sync_status import backoff_delay
from kiosk.wire import CommandResult, LiveCommand, LiveLine, LiveState

log = logging.getLogger("kiosk.live")
PHASES = {st.ATTRACT: "idle", st.CHECKOUT: "shopping", st.LOOKUP: "shopping", st.AGE_CHECK: "age_check",
          st.PAYMENT: "paying", st.PAYMENT_FAILED: "paying", st.PAYMENT_IN_DOUBT: "in_doubt", st.RECEIPT: "receipt",
          st.RECEIPT_QR: "receipt", st.THANKS: "receipt", st.CHECKIN: "checkin", st.CHECKIN_BOOKING: "checkin",
          st.CHECKIN_DONE: "checkin", st.OUT_OF_SERVICE: "out_of_service"}
STREAM_READ_TIMEOUT_S = 45  # the server pings every 15 s: three missed pings and the stream counts as dead
SEEN_COMMANDS = 1000  # command ids remembered, so a command sent again after a reconnect is acted on once


def live_view(session: Any, *, maintenance: bool = False, line_language: str | None = None) -> dict[str, Any]:
    """The session's part of a LiveState (everything but the devices, the outbox and the envelope); called on
    the UI thread after each change. Lines are named in `line_language` (the attendants'), else the customer's."""
    state = session.state
    checkout = session.checkout
    cart = checkout.cart
    at_rest = state in (st.ATTRACT, st.OUT_OF_SERVICE)
    flow = "maintenance" if maintenance else "idle" if at_rest else \
        "checkin" if state in (st.CHECKIN, st.CHECKIN_BOOKING, st.CHECKIN_DONE) or checkout.cart is None else "checkout"
    lang = line_language or session.lang
    lines = [] if cart is None or at_rest else [
        {"name": line.item.name(lang)[:200], "quantity": line.quantity, "amount_minor": line.total,
         "age_restricted": line.item.min_age > 0} for line in cart.active_lines][:500]
    closed = session.closed_reason or session.fault or ("devices not ready" if state == st.OUT_OF_SERVICE else None)
    return {
        "session_id": None if at_rest else session.session_id,
        "flow": flow, "phase": "maintenance" if maintenance else PHASES.get(state, "idle"),
        "screen": state, "language": session.lang, "lines": lines,
        "item_count": cart.item_count if cart is not None and not at_rest else 0,
        "total_minor": cart.total.amount if cart is not None and not at_rest else 0,
        "currency": session.backend.currency,
        "age_check_pending": bool(cart is not None and not at_rest and cart.awaiting_approval),
        "help_called": bool(session.help_called),
        "help_acknowledged_by": session.help_acknowledged_by if session.help_called else None,
        "payment_in_doubt": state == st.PAYMENT_IN_DOUBT,
        "out_of_service": closed[:1000] if closed else None,
        "closing": session.closing[:1000] if session.closing is not None else None,  # a close deferred
    }


def _interrupt(response: httpx.Response) -> None:
    """Ends the reader thread's blocking read of the stream now: closing the response from another thread
    does not wake a thread blocked in recv() (it waited out its read timeout), shutting the socket down does."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    try:
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        response.close()
    except Exception:  # noqa: BLE001 - the reader may be closing it at the same moment
        pass


def parse_sse(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(event name, data) per server-sent event; comments (": ping") and unknown fields are skipped."""
    name, data = "message", []
    for line in lines:
        if line == "":
            if data:
                yield name, "\n".join(data)
            name, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)


class LiveClient:
    def __init__(self, *, server_url: str, token: str, events: EventQueue,
                 extras: Callable[[], dict[str, Any]] = dict, debounce_s: float = 0.25, timeout_s: float = 10,
                 poll_s: float = 1.0, backoff_base_s: float = 0.5, backoff_cap_s: float = 30,
                 rng: random.Random | None = None):
        """`extras()` (called on the poster thread): {"devices": {...}, "outbox_depth": n}, read fresh for each
        state; they are also checked every `poll_s` so a device or outbox change alone is sent too."""
        self.events, self.extras = events, extras
        self.debounce_s, self.poll_s = debounce_s, poll_s
        self.backoff_base_s, self.backoff_cap_s = backoff_base_s, backoff_cap_s
        self.rng = rng or random.Random()
        headers = {"Authorization": f"Bearer {token}"}
        self.http = httpx.Client(base_url=server_url, headers=headers, timeout=timeout_s)
        self.stream_http = httpx.Client(base_url=server_url, headers=headers, timeout=httpx.Timeout(
            timeout_s, read=STREAM_READ_TIMEOUT_S))
        self.boot_id = uuid.uuid4().hex
        self.seq = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._view: dict[str, Any] | None = None
        self._sent: dict[str, Any] | None = None  # the content of the last state the server took
        self._answers: list[tuple[str, CommandResult]] = []
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._last_post = 0.0
        self._response: httpx.Response | None = None
        self._threads: list[threading.Thread] = []
        self.connected = False  # the command stream is open
        self.last_error: str | None = None
        self.states_sent = self.commands_received = 0
        self.plain_states = False  # the server predates LiveState.closing: sent without it

    # --- UI thread ---------------------------------------------------------------------------------------

    def start(self) -> "LiveClient":
        self._stop.clear()
        for target, name in ((self._post_loop, "live-state"), (self._read_loop, "live-commands")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def publish(self, view: dict[str, Any]) -> None:
        """The session's newest view (live_view); returns at once."""
        with self._lock:
            if view == self._view:
                return
            self._view = view
        self._wake.set()

    def answer(self, command_id: str, outcome: str, detail: str = "") -> None:
        """The session's answer to a command; posted by the poster thread (returns at once)."""
        result = CommandResult(outcome=outcome, detail=detail[:1000])
        with self._lock:
            self._answers.append((command_id, result))
        self._wake.set()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        self._wake.set()
        response = self._response
        if response is not None:
            _interrupt(response)
        for thread in self._threads:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("live: thread %s still busy after %g s", thread.name, timeout)
        self._threads = []
        self.http.close()
        self.stream_http.close()

    # --- poster thread -----------------------------------------------------------------------------------

    def _post_loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            try:
                self._post_answers()
                self._post_state()
                failures = 0
            except Exception as exc:  # anything: say it once, back off, try again; never die
                failures += 1
                self._note_error(f"posting live state: {exc}")
                self._stop.wait(backoff_delay(failures, self.backoff_base_s, self.backoff_cap_s, self.rng))

    def _post_answers(self) -> None:
        while True:
            with self._lock:
                if not self._answers:
                    return
                command_id, result = self._answers[0]
            reply = self.http.post(f"/v1/live/commands/{command_id}/result", json=result.model_dump(mode="json"))
            if reply.status_code in (404, 409):
                log.warning("live: the server did not take the answer to command %s (%d: %s)", command_id,
                            reply.status_code, reply.text[:200])
            elif reply.status_code >= 300:
                raise RuntimeError(f"the server answered {reply.status_code} to a command result: {reply.text[:200]}")
            with self._lock:
                self._answers.pop(0)

    def _post_state(self) -> None:
        wait = self._last_post + self.debounce_s - time.monotonic()
        if wait > 0:  # at most one state per debounce_s; what changes meanwhile goes with the next
            self._stop.wait(wait)
        with self._lock:
            view = self._view
        if view is None:
            return
        content = {**view, **self.extras()}
        if content == self._sent:
            return
        self.seq += 1
        state = LiveState(boot_id=self.boot_id, seq=self.seq, sent_at=datetime.now(timezone.utc).isoformat(),
                          **{**content, "lines": [LiveLine(**line) for line in content["lines"]]})
        self._last_post = time.monotonic()
        reply = self._send_state(state)
        if reply.status_code == 422 and state.closing is not None and '"closing"' in reply.text:
            self.plain_states = True  # an older server refuses the field it does not know: it goes without
            reply = self._send_state(state)
        if reply.status_code >= 300:
            raise RuntimeError(f"the server answered {reply.status_code}: {reply.text[:200]}")
        self._sent = content
        self.states_sent += 1

    def _send_state(self, state: LiveState) -> httpx.Response:
        """Newer fields only when set (and the server knows them), so older servers take the state as before."""
        leave_out = {"closing"} if state.closing is None or self.plain_states else None
        return self.http.post("/v1/live/state", content=state.model_dump_json(exclude=leave_out),
                              headers={"Content-Type": "application/json"})

    def _resend_state(self) -> None:
        self._sent = None  # the server may have lost it (restart): the next round sends it whatever it was
        self._wake.set()

    # --- reader thread -----------------------------------------------------------------------------------

    def _read_loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                with self.stream_http.stream("GET", "/v1/live/commands",
                                             headers={"Accept": "text/event-stream"}) as response:
                    if response.status_code != 200:
                        response.read()
                        raise RuntimeError(f"the server answered {response.status_code}: {response.text[:200]}")
                    self._response = response
                    if self._stop.is_set():  # stop() came while this stream was being opened
                        break
                    self._set_connected(True)
                    failures = 0
                    self._resend_state()
                    for name, data in parse_sse(response.iter_lines()):
                        if name == "command":
                            self._command(data)
                        if self._stop.is_set():
                            break
                raise RuntimeError("the server ended the command stream")
            except Exception as exc:  # noqa: BLE001 - the stream comes back; the kiosk carries on meanwhile
                self._response = None
                if self._stop.is_set():
                    break
                failures += 1
                self._set_connected(False)
                self._note_error(f"command stream: {type(exc).__name__}: {exc or 'no detail'}")
                self._stop.wait(backoff_delay(failures, self.backoff_base_s, self.backoff_cap_s, self.rng))
        self._set_connected(False)

    def _command(self, data: str) -> None:
        try:
            command = LiveCommand.model_validate_json(data)
        except ValidationError as exc:
            log.warning("live: a command from the server is not valid and was ignored: %s", exc)
            return
        if command.id in self._seen:
            return  # sent again after a reconnect: acted on (or queued) already
        self._seen[command.id] = None
        while len(self._seen) > SEEN_COMMANDS:
            self._seen.popitem(last=False)
        self.commands_received += 1
        log.info("live: command %s %s from %s", command.id, command.kind, command.by)
        self.events.post(Source.LIVE, Kind.COMMAND, AttendantCommand(
            id=command.id, kind=command.kind, by=command.by, issued_at=command.issued_at,
            expires_at=command.expires_at, session_id=command.session_id, reason=command.reason))

    def _set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            if connected:
                log.info("live: connected to the attendant station's server%s",
                         " again" if self.last_error else "")
                self.last_error = None

    def _note_error(self, message: str) -> None:
        if message != self.last_error:
            log.warning("live: %s", message)
        self.last_error = message
