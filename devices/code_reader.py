"""What every scanner driver shares: framing bytes into lines (`LineAssembler`) and turning lines into
classified codes posted as DATA or ERROR events (`CodeReader`)."""
from __future__ import annotations

import time
from typing import Iterator

from devices.base import Device
from devices.codes import MAX_CODE_LENGTH, BadCode, classify, decode_bytes

SUFFIX_BYTES = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n", "TAB": b"\t", "ETX": b"\x03"}
MAX_ERRORS_PER_S = 5  # bad-read ERROR events a scanner may post per second; the rest are only counted
PARTIAL_LINE_TIMEOUT_S = 1.0  # a code's bytes arrive within a few ms; a lone fragment is garbage
PARTIAL_LINE_GAP_S = 0.3  # bytes after such a pause start a new code: line noise must not spoil the next scan


class LineAssembler:
    """Bytes in, complete lines out. CR, LF and CRLF all end a line (a scanner set to CRLF must not
    double-fire; empty lines are skipped); with suffix TAB only TAB does, with ETX (0x03) only ETX.

    Multi-line codes (a vCard QR, a two-line booking) hold CR/LF: they arrive whole only when the scanner
    ends codes with a byte that is not in the data: ETX (never content) or TAB (if the codes hold no TAB).

    `feed` yields ("line", bytes) or ("error", text). An over-long line is reported once and then
    skipped up to its end; a fragment left without an end for `timeout` s is reported by `expire`, and one
    that new bytes follow only after a pause of `gap` s is dropped (reported) before them.
    """

    def __init__(self, suffix: str = "CR", max_length: int = MAX_CODE_LENGTH,
                 timeout: float = PARTIAL_LINE_TIMEOUT_S, gap: float = PARTIAL_LINE_GAP_S) -> None:
        self.ends = {"TAB": b"\t", "ETX": b"\x03"}.get(suffix, b"\r\n")
        self.max_length = max_length
        self.timeout, self.gap = timeout, gap
        self._last = 0.0  # when the last bytes came
        self._end_bytes = [bytes([byte]) for byte in self.ends]
        self._buffer = bytearray()
        self._skipping = False  # inside an over-long line, discarding up to its end
        self._since = 0.0  # when the current fragment started

    def feed(self, data: bytes, now: float | None = None) -> Iterator[tuple[str, bytes | str]]:
        """Splits at suffix bytes with C-speed searches (a 1 MB line must not cost a Python loop per byte);
        bytes past `max_length` of an over-long line are dropped at once, never accumulated."""
        now = time.monotonic() if now is None else now
        if self._buffer and data and now - self._last >= self.gap:
            yield self._drop(f"followed only after {now - self._last:.1f} s")
        self._last = now if data else self._last
        start, size = 0, len(data)
        while start <= size:
            index = self._next_end(data, start)
            if index < 0:
                yield from self._piece(data, start, size, now, end=False)
                return
            yield from self._piece(data, start, index, now, end=True)
            start = index + 1

    def _next_end(self, data: bytes, start: int) -> int:
        found = [index for index in (data.find(end, start) for end in self._end_bytes) if index >= 0]
        return min(found) if found else -1

    def _piece(self, data: bytes, start: int, stop: int, now: float, end: bool) -> Iterator[tuple[str, bytes | str]]:
        if stop > start and not self._buffer and not self._skipping:
            self._since = now
        if not self._skipping and stop > start:
            room = self.max_length + 1 - len(self._buffer)
            self._buffer += data[start:min(stop, start + room)]  # never more than max_length + 1 bytes
            if len(self._buffer) > self.max_length:
                yield "error", f"line longer than {self.max_length} bytes without a suffix; discarded"
                self._buffer.clear()
                self._skipping = True
        if end:
            line = bytes(self._buffer)
            self._buffer.clear()
            self._skipping = False
            if line:
                yield "line", line

    def expire(self, now: float | None = None) -> Iterator[tuple[str, bytes | str]]:
        now = time.monotonic() if now is None else now
        if self._buffer and now - self._since >= self.timeout:
            yield self._drop(f"for {self.timeout:g} s")

    def _drop(self, why: str) -> tuple[str, str]:
        fragment = bytes(self._buffer)
        self._buffer.clear()
        return "error", (f"{len(fragment)} bytes without a suffix {why}; discarded "
                         f"(is the scanner's suffix set to match the configured one?): {fragment[:40]!r}")


class CodeReader:
    """Shared by every scanner driver: lines to classified codes, posted as DATA or ERROR events."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self._window = 0.0  # start of the current one-second window for bad-read ERROR events
        self._errors_in_window = 0
        self._suppressed = 0

    def _bad_read(self, message: str, now: float | None = None, **data) -> None:
        """At most MAX_ERRORS_PER_S bad-read ERROR events a second: a scanner spewing garbage must not flood
        the event queue (and the UI behind it). The statistics count every bad read; the first error of the
        next window says how many were not reported."""
        self.device.statistics["bad_reads"] += 1
        now = time.monotonic() if now is None else now
        if now - self._window >= 1.0:
            self._window, self._errors_in_window = now, 0
            if self._suppressed:
                message = f"{message} ({self._suppressed} more bad reads not reported)"
                self._suppressed = 0
        if self._errors_in_window >= MAX_ERRORS_PER_S:
            self._suppressed += 1
            return
        self._errors_in_window += 1
        self.device.post_error(message, **data)

    def line(self, raw: bytes) -> None:
        stats = self.device.statistics
        try:
            code = classify(decode_bytes(raw))
        except BadCode as exc:
            self._bad_read(f"bad read: {exc}", raw=raw[:64].hex())
            return
        except Exception as exc:  # a classifier bug must cost one code, not the connection
            self._bad_read(f"bad read: cannot classify {raw[:64]!r}: {type(exc).__name__}: {exc}")
            return
        stats["reads"] += 1
        if not code.valid:
            stats["invalid_codes"] += 1
        self.device.post_payload(code.as_scanned())

    def results(self, items: Iterator[tuple[str, bytes | str]]) -> None:
        for what, value in items:
            if what == "line":
                self.line(value)  # type: ignore[arg-type]
            else:
                self._bad_read(f"bad read: {value}")  # type: ignore[arg-type]
