"""Barcode scanners: a serial scanner (pyserial `serial_for_url`) and the line framing it needs.

    [devices.scanner]
    driver = "serial"                      # or "hid" (devices/hid.py), or "simulator"
    url = "/dev/ttyACM0"                   # or socket://host:port, rfc2217://host:port
    baudrate = 9600                        # bytesize, parity, stopbits as the scanner is set up
    suffix = "CR"                          # what the scanner sends after each code
    aim_ids = true                         # scanner prefixes codes with ]E0, ]Q1...

Every code becomes one DATA event with the fields of `devices.codes.Code.as_event()`; bytes that
are not a code (garbage, an over-long line, a line cut off without its suffix) become one ERROR
event each and the scanner carries on.
"""
from __future__ import annotations

import time
from typing import Iterator

import serial

from devices.base import Device, DeviceError
from devices.codes import MAX_CODE_LENGTH, BadCode, classify, decode_bytes
from kiosk.config import ScannerSettings
from kiosk.events import EventQueue

SUFFIX_BYTES = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n", "TAB": b"\t"}
PARTIAL_LINE_TIMEOUT_S = 1.0  # a code's bytes arrive within a few ms; a lone fragment is garbage


class LineAssembler:
    """Bytes in, complete lines out. CR, LF and CRLF all end a line (a scanner set to CRLF must not
    double-fire; empty lines are skipped); with suffix TAB only TAB does.

    `feed` yields ("line", bytes) or ("error", text). An over-long line is reported once and then
    skipped up to its end; a fragment left without an end for `timeout` s is reported by `expire`.
    """

    def __init__(self, suffix: str = "CR", max_length: int = MAX_CODE_LENGTH,
                 timeout: float = PARTIAL_LINE_TIMEOUT_S) -> None:
        self.ends = b"\t" if suffix == "TAB" else b"\r\n"
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
        self.device.post_data(**code.as_event())

    def results(self, items: Iterator[tuple[str, bytes | str]]) -> None:
        for what, value in items:
            if what == "line":
                self.line(value)  # type: ignore[arg-type]
            else:
                self.device.statistics["bad_reads"] += 1
                self.device.post_error(f"bad read: {value}")


class SerialScanner(Device):
    kind = "scanner"

    def __init__(self, name: str, events: EventQueue, settings: ScannerSettings) -> None:
        super().__init__(name, events)
        if not settings.url:
            raise DeviceError("devices.scanner.url is empty; set it to /dev/ttyACM0, socket://host:port or "
                              "rfc2217://host:port")
        self.settings = settings
        self.reader = CodeReader(self)
        self._port: serial.SerialBase | None = None

    @property
    def endpoint(self) -> str:
        return self.settings.url

    def _connect(self) -> None:
        s = self.settings
        self._port = serial.serial_for_url(s.url, baudrate=s.baudrate, bytesize=s.bytesize, parity=s.parity,
                                           stopbits=s.stopbits, timeout=0.1, exclusive=True
                                           if s.url.startswith("/") else None)
        self.lines = LineAssembler(s.suffix)

    def _serve(self) -> None:
        port = self._port
        assert port is not None
        while not self.stopping.is_set():
            data = port.read(max(1, port.in_waiting))
            if data:
                self.statistics["bytes_in"] += len(data)
                self.reader.results(self.lines.feed(data))
            else:
                self.reader.results(self.lines.expire())

    def _disconnect(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception:
                pass

    def _check(self, level: str) -> str:
        if level == "external":  # a serial scanner has no standard beep command; reading is the test
            return "scan any code to test the scanner"
        return f"connected to {self.settings.url}"


def build(settings: ScannerSettings, events: EventQueue, name: str = "scanner"):
    """The device manager's builder (see devices/manager.py)."""
    if settings.driver == "hid":
        from devices.hid import HidScanner
        return HidScanner(name, events, settings), None
    if settings.driver == "simulator":
        from devices.sim.scanner import ScannerSimulator
        sim = ScannerSimulator(transport="tcp", suffix=settings.suffix, aim_ids=settings.aim_ids).start()
        settings = settings.model_copy(update={"url": sim.url})
        return SerialScanner(name, events, settings), sim
    return SerialScanner(name, events, settings), None
