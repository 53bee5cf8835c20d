"""The one event queue between background threads and the UI.

Devices, the journal writer and the sync client run on their own threads. They never call into
the UI; they `post` events here. The UI drains the queue on its own thread, woken by a callback
(the Kivy app installs a Clock trigger as the waker, which is safe to call from any thread).
"""
from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field
from typing import Any, Callable

# Event kinds every source uses; a source may add its own.
DATA = "data"  # something arrived: a scanned code, a decoded frame, a payment status text
STATUS = "status"  # a state change: device online/offline, paper out, sync progress
ERROR = "error"  # something failed; data["message"] says what, in words a technician understands


@dataclass(frozen=True)
class Event:
    source: str  # who posted it: "scanner", "camera", "printer", "payment", "sync", "journal"...
    kind: str  # DATA, STATUS, ERROR or a source-specific kind
    data: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


class EventQueue:
    """Thread-safe, unbounded, FIFO. Many producers, one consumer (the UI thread)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._waker: Callable[[], Any] | None = None

    def set_waker(self, waker: Callable[[], Any] | None) -> None:
        """`waker()` is called after every post, from the posting thread."""
        self._waker = waker

    def post(self, source: str, kind: str, **data: Any) -> Event:
        event = Event(source, kind, data)
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
