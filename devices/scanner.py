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

import fcntl
import struct
import termios

import serial

from devices.base import Device, DeviceError, release_quietly
from devices.code_reader import CodeReader, LineAssembler
from kiosk.config import ScannerSettings
from kiosk.events import EventQueue

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
            data = port.read(max(1, _waiting(port)))
            if data:
                self.statistics["bytes_in"] += len(data)
                self.reader.results(self.lines.feed(data))
            else:
                self.reader.results(self.lines.expire())

    def _disconnect(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            release_quietly(port.close)

    def _check(self, level: str) -> str:
        if level == "external":  # a serial scanner has no standard beep command; reading is the test
            return "scan any code to test the scanner"
        return f"connected to {self.settings.url}"


def _waiting(port: serial.SerialBase) -> int:
    """Bytes ready to read. pyserial's socket:// port says 1 whenever anything is there, which turned a
    1 MB line into a million one-byte reads (8.5 s before the next code); ask the socket itself."""
    sock = getattr(port, "_socket", None)
    if sock is not None and type(port).__module__.endswith("protocol_socket"):
        try:
            return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
        except OSError:
            pass
    return port.in_waiting


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
