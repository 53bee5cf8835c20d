"""The one device contract: every scanner, camera, printer and payment terminal is a `Device`.

A device owns one I/O thread. That thread connects (`_connect`), serves (`_serve`: reads, writes,
polls status) until the connection is lost, then goes `offline` and retries with capped backoff
(`RECONNECT_DELAYS`: a replugged device is back within about 1 s of reappearing). Nothing a device
does ever raises into the caller's thread: failures become state changes and events.

States (UPOS-like):
    closed   not opened, or closed again
    idle     connected and ready
    busy     connected and working on a job (printing, paying)
    offline  not connected; the I/O thread keeps trying to reconnect
    error    connected but unusable until something changes (paper out, cover open, bad reply)

Events posted to `kiosk.events.EventQueue`, always with `source=<device name>`:
    STATUS  state=<new state>, previous=<old state>, error=<last error text or "">
    DATA    whatever the device produced (a scanned code, a finished print job...)
    ERROR   message=<what went wrong, in words a technician understands>

A subclass implements four hooks, all called on the I/O thread except `_check("internal")`:
    _connect()      open the transport; raise on failure (the text of the exception is shown)
    _serve()        loop until `self.stopping` is set; raise when the connection is lost
    _disconnect()   close the transport (also after a failed `_connect`); must not raise
    _check(level)   health check; return a short text, raise on a problem
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any, Callable, Literal

from kiosk.events import DATA, ERROR, STATUS, DeviceStatus, EventQueue, Payload

CLOSED, IDLE, BUSY, OFFLINE, ERROR_STATE = "closed", "idle", "busy", "offline", "error"
STATES = (CLOSED, IDLE, BUSY, OFFLINE, ERROR_STATE)
HealthLevel = Literal["internal", "external"]

# Seconds to wait before each reconnect attempt; the last value repeats (the cap).
RECONNECT_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.0)


class DeviceError(Exception):
    """A device problem; str() is the text shown to a technician and put into ERROR events."""


class Device:
    """Base class for all devices. Thread-safe: any thread may read state and call open/close."""

    kind = "device"  # "scanner", "camera", "printer", "payment": for the maintenance screen
    # True for a device that works only with the kiosk journal (the payment terminal): the device manager
    # then calls its `attach(journal)` (see kiosk.ports.PaymentJournal) after building it.
    needs_journal = False

    def __init__(self, name: str, events: EventQueue) -> None:
        self.name = name
        self.events = events
        self.stopping = threading.Event()  # set by close(); `_serve` loops must watch it
        self.statistics: Counter[str] = Counter()  # e.g. reads, bad_reads, reconnects, bytes_in
        self._state = CLOSED
        self._last_error = ""
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None

    # -- what the rest of the kiosk uses ------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    @property
    def last_error(self) -> str:
        return self._last_error

    def open(self) -> None:
        """Start the I/O thread (it connects in the background); no-op when already open."""
        with self._lock:
            if self._thread is not None:
                return
            self.stopping.clear()
            self._set_state(OFFLINE)
            self._thread = threading.Thread(target=self._io_loop, name=f"device-{self.name}", daemon=True)
            self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the I/O thread and release the transport; state becomes closed."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is None:
                return
            self.stopping.set()
        self._interrupt()
        thread.join(timeout)
        self._set_state(CLOSED)

    def health_check(self, level: HealthLevel = "internal") -> tuple[bool, str]:
        """(ok, text). "internal" has no side effects; "external" prints, beeps or shows a pattern."""
        if level not in ("internal", "external"):
            return False, f"unknown health check level {level!r}; expected 'internal' or 'external'"
        if self._state in (CLOSED, OFFLINE):
            return False, f"{self.name} is {self._state}" + (f": {self._last_error}" if self._last_error else "")
        try:
            return True, self._check(level)
        except Exception as exc:  # a health check reports, it never raises
            return False, _describe(exc)

    @property
    def endpoint(self) -> str:
        """Where the driver actually talks to its device ("127.0.0.1:41235", "/dev/ttyACM0"); with
        driver "simulator" that is the in-process simulator's random port, not the configured one."""
        return ""

    def snapshot(self) -> dict[str, Any]:
        """One row for the maintenance screen."""
        return {"name": self.name, "kind": self.kind, "state": self._state, "last_error": self._last_error,
                "statistics": dict(self.statistics), "endpoint": self.endpoint}

    # -- for subclasses -----------------------------------------------------------------------

    def _connect(self) -> None:
        raise NotImplementedError

    def _serve(self) -> None:
        raise NotImplementedError

    def _disconnect(self) -> None:
        pass

    def _check(self, level: HealthLevel) -> str:
        return self._state

    def _interrupt(self) -> None:
        """Called by close() from the caller's thread to unblock `_serve` (e.g. close a socket)."""

    def post_data(self, **data: Any) -> None:
        """An untyped DATA event (tools and test devices); the session reads typed ones (`post_payload`)."""
        self.events.post(self.name, DATA, **data)

    def post_payload(self, payload: Payload) -> None:
        """A DATA event with a typed payload (kiosk.events), as the session consumes it."""
        self.events.post(self.name, DATA, payload)

    def post_error(self, message: str, **data: Any) -> None:
        """An ERROR event; the device stays in its state (use `_set_state(ERROR_STATE, ...)` for that)."""
        self.statistics["errors"] += 1
        self.events.post(self.name, ERROR, message=message, **data)

    def _set_state(self, state: str, error: str | None = None) -> None:
        """Change state and post a STATUS event (only when state or error text changed)."""
        assert state in STATES, state
        with self._lock:
            if self.stopping.is_set() and state != CLOSED:
                return  # closing: a late report from the I/O thread must not reopen the device's state
            previous, old_error = self._state, self._last_error
            if error is not None:
                self._last_error = error
            elif state in (IDLE, BUSY):
                self._last_error = ""
            if state == previous and self._last_error == old_error:
                return
            self._state = state
        self.events.post(self.name, STATUS, DeviceStatus(state, previous, self._last_error))

    # -- the I/O thread -----------------------------------------------------------------------

    def _io_loop(self) -> None:
        attempt = 0
        while not self.stopping.is_set():
            try:
                self._connect()
            except Exception as exc:
                self._disconnect()  # release whatever the failed attempt opened
                self._went_offline(f"cannot connect: {_describe(exc)}", attempt == 0)
                self.stopping.wait(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
                attempt += 1
                continue
            if attempt:
                self.statistics["reconnects"] += 1
            attempt = 0
            self._set_state(IDLE)
            try:
                self._serve()
                if not self.stopping.is_set():
                    raise DeviceError("connection ended")
            except Exception as exc:
                if not self.stopping.is_set():
                    self._went_offline(f"connection lost: {_describe(exc)}", True)
                    attempt = 1
            finally:
                self._disconnect()
        self._disconnect()

    def _went_offline(self, text: str, first: bool) -> None:
        # one error text and ERROR event per outage, not one per retry: the first says what happened
        if first:
            self._set_state(OFFLINE, text)
            self.post_error(text)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, DeviceError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def release_quietly(*actions: Callable[[], object]) -> None:
    """Runs each action (a port's close, a capture's release...) and ignores its failure: on disconnect the
    connection is dropped anyway, and a broken one often fails to close."""
    for action in actions:
        try:
            action()
        except Exception:
            pass


def wait_until(predicate, timeout: float, interval: float = 0.005) -> bool:
    """Poll `predicate` until true or `timeout` s passed; for tools and tests."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
