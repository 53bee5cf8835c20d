"""What every scanner driver shares: framing bytes into lines (`LineAssembler`) and turning lines into
classified codes posted as DATA or ERROR events (`CodeReader`)."""
from __future__ import annotations

import time
from typing import Iterator

from devices.base import Device
from devices.codes import MAX_CODE_LENGTH, BadCode, classify, decode_bytes

SUFFIX_BYTES = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n", "TAB": b"\t", "ETX": b"\x03"}
PARTIAL_LINE_TIMEOUT_S = 1.0  # a code's bytes arrive within a few ms; a lone fragment is garbage


class LineAssembler:
    """Bytes in, complete lines out. CR, LF and CRLF all end a line (a scanner set to CRLF must not
    double-fire; empty lines are skipped); with suffix TAB only TAB does, with ETX (0x03) only ETX.

    Multi-line codes (a vCard QR, a two-line booking) hold CR/LF: they arrive whole only when the scanner
    ends codes with a byte that is not in the data: ETX (never content) or TAB (if the codes hold no TAB).

    `feed` yields ("line", bytes) or ("error", text). An over-long line is reported once and then
    skipped up to its end; a fragment left without an end for `timeout` s is reported by `expire`.
    """

    def __init__(self, suffix: str = "CR", max_length: int = MAX_CODE_LENGTH,
                 timeout: float = PARTIAL_LINE_TIMEOUT_S) -> None:
        self.ends = {"TAB": b"\t", "ETX": b"\x03"}.get(suffix, b"\r\n")
        self.max_length = max_length
        self.timeout = timeout
        self._buffer = bytearray()
        self._skipping = False  # inside an over-long line, discarding up to its end
        self._since = 0.0  # when the current fragment started

    def feed(self, data: bytes, now: float | None = None) -> Iterator[tuple[str, bytes | str]]:
        now = time.monotonic() if now is None else now
        start = 0
        for index, byte in enumerate(data):
            if byte not in self.ends:
                continue
            yield from self._piece(data[start:index], now, end=True)
            start = index + 1
        yield from self._piece(data[start:], now, end=False)

    def _piece(self, chunk: bytes, now: float, end: bool) -> Iterator[tuple[str, bytes | str]]:
        if chunk and not self._buffer and not self._skipping:
            self._since = now
        if not self._skipping:
            self._buffer += chunk
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
            fragment = bytes(self._buffer)
            self._buffer.clear()
            yield "error", (f"{len(fragment)} bytes without a suffix for {self.timeout:g} s; discarded "
                            f"(is the scanner's suffix set to match the configured one?): {fragment[:40]!r}")


class CodeReader:
    """Shared by every scanner driver: lines to classified codes, posted as DATA or ERROR events."""

    def __init__(self, device: Device) -> None:
        self.device = device

    def line(self, raw: bytes) -> None:
        stats = self.device.statistics
        try:
            code = classify(decode_bytes(raw))
        except BadCode as exc:
            stats["bad_reads"] += 1
            self.device.post_error(f"bad read: {exc}", raw=raw[:64].hex())
            return
        except Exception as exc:  # a classifier bug must cost one code, not the connection
            stats["bad_reads"] += 1
            self.device.post_error(f"bad read: cannot classify {raw[:64]!r}: {type(exc).__name__}: {exc}")
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
                self.device.statistics["bad_reads"] += 1
                self.device.post_error(f"bad read: {value}")
