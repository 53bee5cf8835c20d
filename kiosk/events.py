"""The one event queue between background threads and the UI.

Devices, the journal writer and the sync client run on their own threads. They never call into
the UI; they `post` events here. The UI drains the queue on its own thread, woken by a callback
(the Kivy app installs a Clock trigger as the waker, which is safe to call from any thread).

An event's `source` and `kind` are str-valued enums (`Source`, `Kind`), and what the session consumes
comes as a typed `payload` (`Scanned`, `PaymentResult`, `PrintJobFailed`, `AttendantChecked`...),
built by the device layer and the composition root. `Event.data` is the payload as a dict, kept for
the maintenance screen, tools and untyped events (sync, errors).
"""
from __future__ import annotations

import dataclasses
import queue
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, ClassVar


class Source(str, Enum):  # str-valued: `Source.SCANNER == "scanner"`, and logs stay readable
    """Who posted an event: a device (by its kiosk.toml section), the sync client, the journal, the
    composition root on the session's behalf."""
    __str__ = str.__str__
    __format__ = str.__format__
    SCANNER = "scanner"
    CAMERA = "camera"
    PRINTER = "printer"
    PAYMENT = "payment"
    SYNC = "sync"
    JOURNAL = "journal"
    SESSION = "session"
    LIVE = "live"  # the live channel to the central server: attendants' commands (kiosk/live.py)


class Kind(str, Enum):
    __str__ = str.__str__
    __format__ = str.__format__
    DATA = "data"  # something arrived: a scanned code, a payment status, a printed job
    STATUS = "status"  # a state change: device online/offline, paper out, sync progress
    ERROR = "error"  # something failed; data["message"] says what, in words a technician understands
    PAYMENT_FAILED = "payment_failed"  # the terminal could not even be asked (session source)
    ATTENDANT_CHECKED = "attendant_checked"  # an attendant PIN/badge check is done (session source)
    COMMAND = "command"  # an attendant's command from the central server (live source)
    COMMAND_DONE = "command_done"  # lane work a command started off the UI thread is finished (live source)


# Event kinds every source uses (the names older code imports).
DATA, STATUS, ERROR = Kind.DATA, Kind.STATUS, Kind.ERROR


class Payload:
    """A typed event payload. `TAG` (key, value) is put into `Event.data` so readers of the dict (the
    maintenance screen, tools, older tests) see what they always saw."""
    TAG: ClassVar[tuple[str, str] | None] = None

    def as_data(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        return {self.TAG[0]: self.TAG[1], **data} if self.TAG else data


@dataclass(frozen=True)
class Scanned(Payload):
    """A code from the scanner or the camera (devices.codes.Code)."""
    code: str
    symbology: str = ""
    category: str = ""  # product, gs1, booking, qr, text
    valid: bool = True
    problem: str = ""
    aim: str = ""
    gtin: str = ""
    ais: dict[str, str] = field(default_factory=dict)
    booking: str = ""


@dataclass(frozen=True)
class PaymentStatus(Payload):
    TAG = ("event", "status")
    code: int  # ZVT intermediate status
    message_id: str = ""


@dataclass(frozen=True)
class PaymentResult(Payload):
    TAG = ("event", "result")
    sale_uuid: str
    status: str  # approved | declined | cancelled | reversed | in_doubt
    message_id: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    receipt_lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PaymentInDoubt(Payload):
    TAG = ("event", "in_doubt")
    message_id: str = "payment.checking"


@dataclass(frozen=True)
class PaymentResolved(Payload):
    TAG = ("event", "resolved")
    results: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class EndOfDay(Payload):
    TAG = ("event", "end_of_day")
    totals: dict[str, Any] = field(default_factory=dict)
    receipt_lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PrintJobDone(Payload):
    TAG = ("job", "printed")
    job_id: int
    label: str = ""


@dataclass(frozen=True)
class PrintJobFailed(Payload):
    TAG = ("job", "failed")
    job_id: int
    label: str = ""
    error: str = ""


@dataclass(frozen=True)
class DeviceStatus(Payload):
    state: str
    previous: str = ""
    error: str = ""
    paper: str | None = None  # the printer's paper, when that changed

    def as_data(self) -> dict[str, Any]:
        data = super().as_data()
        if data["paper"] is None:
            del data["paper"]
        return data


@dataclass(frozen=True)
class PaymentFailed(Payload):
    sale_uuid: str | None
    message: str = ""


@dataclass(frozen=True)
class AttendantChecked(Payload):
    request: int
    attendant: str | None  # the attendant's id, or None: refused
    locked_for_s: float = 0.0  # > 0: too many wrong PINs or badges, no check made for this long (issue 14)


@dataclass(frozen=True)
class AttendantCommand(Payload):
    """An attendant's command (kiosk.wire.LiveCommand) as it reached the kiosk; the session answers it."""
    id: str
    kind: str  # kiosk.wire.CommandKind
    by: str
    issued_at: str
    expires_at: str
    session_id: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class CommandDone(Payload):
    """Lane work (test print, sync, config check) done off the UI thread for command `command_id`."""
    command_id: str
    outcome: str  # done | failed
    detail: str = ""


def _typed(value: Any, enum: type[Enum]) -> Any:
    try:
        return enum(value)
    except ValueError:
        return value  # a tool's or a test's own source or kind stays a string


@dataclass(frozen=True)
class Event:
    source: Source | str  # who posted it; a plain string only from tools and tests
    kind: Kind | str  # DATA, STATUS, ERROR or a source-specific kind
    data: dict[str, Any] = field(default_factory=dict)  # the payload as a dict (for readers of old)
    at: float = field(default_factory=time.monotonic)
    payload: Payload | None = None  # what the session consumes

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", _typed(self.source, Source))
        object.__setattr__(self, "kind", _typed(self.kind, Kind))
        if self.payload is not None and not self.data:
            object.__setattr__(self, "data", self.payload.as_data())


class EventQueue:
    """Thread-safe, unbounded, FIFO. Many producers, one consumer (the UI thread)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._waker: Callable[[], Any] | None = None

    def set_waker(self, waker: Callable[[], Any] | None) -> None:
        """`waker()` is called after every post, from the posting thread."""
        self._waker = waker

    def post(self, source: Source | str, kind: Kind | str, payload: Payload | None = None, **data: Any) -> Event:
        """`payload` (typed) or keyword `data`; with a payload, `Event.data` is `payload.as_data()`."""
        event = Event(source, kind, data, payload=payload)
        self._queue.put(event)
        waker = self._waker
        if waker is not None:
            waker()
        return event

    def drain(self, limit: int | None = None) -> list[Event]:
        """Everything queued now (at most `limit`), oldest first; never blocks."""
        events: list[Event] = []
        while limit is None or len(events) < limit:
            try:
                events.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return events

    def get(self, timeout: float | None = None) -> Event | None:
        """Blocks for the next event; for tools and tests that have no UI loop."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float) -> Event | None:
        """Next event matching `predicate` within `timeout` s; other events are dropped."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            event = self.get(left)
            if event is not None and predicate(event):
                return event
        return None

    def __len__(self) -> int:
        return self._queue.qsize()

    def __bool__(self) -> bool:
        # a queue is a thing, not a container to test for emptiness: `events or EventQueue()` once
        # replaced the devices' (empty, so falsy) queue with a second one that nobody posted to
        return True
