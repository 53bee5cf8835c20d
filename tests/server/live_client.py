"""Test helpers for the live channel: an SSE reader on a thread, and LiveState bodies."""
from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from datetime import datetime, timezone

import httpx


def state(seq: int, boot_id: str = "boot-1", **fields) -> dict:
    return {"boot_id": boot_id, "seq": seq, "sent_at": datetime.now(timezone.utc).isoformat(), **fields}


class SseReader:
    """Reads one SSE stream on a thread: `events` gets (event, data) pairs, comments as ("comment", text)."""

    def __init__(self, url: str, headers: dict):
        self.url, self.headers = url, headers
        self.events: queue.Queue = queue.Queue()
        self.status: int | None = None
        self.opened = threading.Event()
        self.client = httpx.Client(timeout=httpx.Timeout(10, read=None))
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with self.client.stream("GET", self.url, headers=self.headers) as response:
                self.status = response.status_code
                self.content_type = response.headers.get("content-type", "")
                event, data = "message", []
                for line in response.iter_lines():
                    if line.startswith(":"):
                        if line.strip() == ": open":
                            self.opened.set()
                        self.events.put(("comment", line[1:].strip()))
                    elif line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].strip())
                    elif line == "" and data:
                        self.events.put((event, json.loads("\n".join(data))))
                        event, data = "message", []
        except Exception as exc:  # closed by the test, or the server ended the stream
            self.events.put(("closed", repr(exc)))
        else:
            self.events.put(("closed", "ended"))
        finally:
            self.opened.set()

    def wait_open(self, timeout: float = 10) -> "SseReader":
        assert self.opened.wait(timeout), "the stream did not open"
        assert self.status == 200, self.status
        return self

    def next(self, kind: str = "command", timeout: float = 10):
        """The next event of this kind (others are skipped); AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                event, data = self.events.get(timeout=left)
            except queue.Empty:
                break
            if event == kind:
                return data
            if event == "closed" and kind != "closed":
                raise AssertionError(f"stream closed while waiting for {kind}: {data}")
        raise AssertionError(f"no {kind} event within {timeout} s")

    def close(self) -> None:
        self.client.close()
        self.thread.join(10)


def wait_for(check, timeout: float = 10, step: float = 0.05):
    """Polls `check()` until it returns something truthy; that value, or AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)


def session() -> str:
    return "s-" + uuid.uuid4().hex[:8]
