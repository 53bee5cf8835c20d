"""The receipt printer: python-escpos transports (network 9100, serial, USB, file), DLE EOT status,
and print jobs that are either printed or reported as failed and kept for a reprint.

    [devices.printer]
    driver = "network"          # "serial" (url = /dev/ttyUSB0, socket://, rfc2217://), "usb", "file", "simulator"
    host = "192.168.1.50"
    port = 9100
    profile = "TM-T88V"         # python-escpos capability profile
    columns = 42

Events (source "printer"): STATUS on every state change (idle / busy / error "paper out" ...) and
when the paper is nearly out (paper="near_end"); DATA job="printed" | "failed" with job_id; ERROR
for every failed job and lost connection.
"""
from __future__ import annotations

import itertools
import queue
import socket
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import serial
from escpos import printer as escpos_printer

from devices.base import BUSY, ERROR_STATE, IDLE, OFFLINE, CLOSED, Device, DeviceError, release_quietly
from devices.receipt import Receipt, ReceiptBuilder
from kiosk.config import PrinterSettings
from kiosk.events import STATUS, DeviceStatus, EventQueue, PrintJobDone, PrintJobFailed

DLE_EOT = b"\x10\x04"
CHUNK = 1024  # bytes per write, so a lost connection is noticed mid-job
KEEP_JOBS = 50


@dataclass(frozen=True)
class PrinterStatus:
    online: bool = True
    cover_open: bool = False
    paper: str = "ok"  # ok, near_end, out

    @property
    def problem(self) -> str:
        """Why the printer cannot print now, or ""."""
        if self.paper == "out":
            return "paper out"
        if self.cover_open:
            return "cover open"
        if not self.online:
            return "printer offline"
        return ""


def decode_status(printer: int, offline_cause: int, paper: int) -> PrinterStatus:
    """DLE EOT 1, 2 and 4 replies to a status; DeviceError for a byte that is not a status reply."""
    for n, byte in ((1, printer), (2, offline_cause), (4, paper)):
        if not 0 <= byte <= 255 or byte & 0x93 != 0x12:  # bits 1 and 4 always set, bits 0 and 7 clear
            raise DeviceError(f"malformed reply 0x{byte & 0xFF:02x} to status query DLE EOT {n}")
    out = bool(paper & 0x60) or bool(offline_cause & 0x20)
    near = bool(paper & 0x0C)
    return PrinterStatus(online=not printer & 0x08, cover_open=bool(offline_cause & 0x04),
                         paper="out" if out else "near_end" if near else "ok")


@dataclass
class Job:
    id: int
    data: bytes
    label: str = ""
    state: str = "queued"  # queued, printing, printed, failed
    error: str = ""
    attempts: int = 0


class _UrlSerial(escpos_printer.Serial):
    """escpos's Serial opens only device paths; this one takes any pyserial URL (socket://, rfc2217://)."""

    def open(self, raise_not_found: bool = True) -> None:
        self.device = serial.serial_for_url(self.devfile, baudrate=self.baudrate, bytesize=self.bytesize,
                                            parity=self.parity, stopbits=self.stopbits, timeout=self.timeout)


class ReceiptPrinter(Device):
    kind = "printer"
    kiosk_id = ""  # named on the test page; set by the kiosk (the device layer does not know its id)

    def __init__(self, name: str, events: EventQueue, settings: PrinterSettings) -> None:
        super().__init__(name, events)
        self.settings = settings
        self.builder = ReceiptBuilder(settings.columns, settings.profile, settings.code_page)
        self.status = PrinterStatus()
        self.jobs: OrderedDict[int, Job] = OrderedDict()
        self._queue: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._ids = itertools.count(1)
        self._escpos: escpos_printer.Escpos | None = None

    @property
    def endpoint(self) -> str:
        s = self.settings
        if s.driver in ("network", "simulator"):
            return f"{s.host}:{s.port}"
        if s.driver == "usb":
            return f"USB {s.usb_vendor_id:04x}:{s.usb_product_id:04x}"
        return s.url or ("/dev/usb/lp0" if s.driver == "file" else "")

    # -- for the kiosk ------------------------------------------------------------------------

    def print_receipt(self, receipt: Receipt) -> int:
        """Queue a receipt; returns the job id. The outcome arrives as a DATA event."""
        return self.submit(self.builder.build(receipt), f"receipt {receipt.transaction_no}")

    def submit(self, data: bytes, label: str = "") -> int:
        job = Job(next(self._ids), data, label)
        self.jobs[job.id] = job
        while len(self.jobs) > KEEP_JOBS:
            self.jobs.popitem(last=False)
        self._enqueue(job)
        return job.id

    def reprint(self, job_id: int) -> bool:
        """Queue a failed job again; False if there is no such failed job."""
        job = self.jobs.get(job_id)
        if job is None or job.state != "failed":
            return False
        self._enqueue(job)
        return True

    def failed_jobs(self) -> list[Job]:
        return [job for job in self.jobs.values() if job.state == "failed"]

    def _enqueue(self, job: Job) -> None:
        if self.state in (CLOSED, OFFLINE):  # do not let a customer wait for a printer that is not there
            self._fail(job, f"printer is {self.state}" + (f" ({self.last_error})" if self.last_error else ""))
            return
        job.state, job.error = "queued", ""
        self._queue.put(job)

    # -- the I/O thread -----------------------------------------------------------------------

    def _connect(self) -> None:
        self._escpos = _transport(self.settings)
        try:
            self._escpos.open()
        except Exception as exc:
            if type(exc).__name__ == "NoBackendError":  # pyusb without libusb
                raise DeviceError("USB printing needs libusb (Debian: apt install libusb-1.0-0)") from exc
            raise
        self._poll()

    def _disconnect(self) -> None:
        while True:  # jobs still waiting cannot be printed now: report them, they can be reprinted
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            self._fail(job, "printer connection lost before printing")
        p, self._escpos = self._escpos, None
        if p is not None:
            release_quietly(p.close)
            p._device = False  # so escpos's __del__ does not try to close it again

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                job = self._queue.get(timeout=self.settings.status_interval_s)
            except queue.Empty:
                self._poll()
                continue
            try:
                self._print(job)
            except Exception as exc:  # the connection broke: the job is failed, never silently dropped
                if job.state in ("queued", "printing"):
                    self._fail(job, f"connection lost: {exc}")
                raise

    def _print(self, job: Job) -> None:
        job.attempts += 1
        status = self._poll()
        if status.problem:
            self._fail(job, status.problem)
            return
        job.state = "printing"
        self._set_state(BUSY)
        p = self._escpos
        try:
            for start in range(0, len(job.data), CHUNK):
                p._raw(job.data[start:start + CHUNK])
                self.statistics["bytes_out"] += min(CHUNK, len(job.data) - start)
        except Exception as exc:
            raise DeviceError(f"connection lost while printing: {exc}") from exc
        status = self._poll()
        if status.problem:
            self._fail(job, f"{status.problem} during printing")
            return
        job.state = "printed"
        self.statistics["jobs_printed"] += 1
        self.post_payload(PrintJobDone(job.id, job.label))

    def _fail(self, job: Job, reason: str) -> None:
        job.state, job.error = "failed", reason
        self.statistics["jobs_failed"] += 1
        self.post_payload(PrintJobFailed(job.id, job.label, reason))
        self.post_error(f"{job.label or f'job {job.id}'} not printed: {reason}; it can be reprinted",
                        job_id=job.id)

    def _poll(self) -> PrinterStatus:
        """Ask the printer for its status and turn changes into state and events."""
        status = self._query_status()
        old, self.status = self.status, status
        if status.paper != old.paper:
            if status.paper == "near_end":
                self.statistics["paper_near_end_events"] += 1
            elif status.paper == "out":
                self.statistics["paper_out_events"] += 1
            self.events.post(self.name, STATUS, DeviceStatus(self.state, self.state, self.last_error, status.paper))
        if status.problem:
            self._set_state(ERROR_STATE, status.problem)
        else:
            self._set_state(IDLE)
        return status

    def _query_status(self) -> PrinterStatus:
        if isinstance(self._escpos, escpos_printer.File):
            return PrinterStatus()  # a file cannot answer; assume it prints
        replies = [self._ask(n) for n in (1, 2, 4)]
        return decode_status(*replies)

    def _ask(self, n: int) -> int:
        p = self._escpos
        timeout = self.settings.status_timeout_s
        if isinstance(p, escpos_printer.Network):
            sock: socket.socket = p.device
            sock.setblocking(False)
            try:
                while sock.recv(256):
                    pass
            except (BlockingIOError, InterruptedError):
                pass
            sock.settimeout(timeout)
            p._raw(DLE_EOT + bytes([n]))
            try:
                reply = sock.recv(16)
            except TimeoutError:
                reply = None
            if reply == b"":
                raise DeviceError("the printer closed the connection")
        elif isinstance(p, escpos_printer.Serial):
            port: serial.SerialBase = p.device
            port.reset_input_buffer()
            port.timeout = timeout
            p._raw(DLE_EOT + bytes([n]))
            reply = port.read(1)
        else:
            p._raw(DLE_EOT + bytes([n]))
            reply = p._read()
        if not reply:
            raise DeviceError(f"the printer did not answer the status query DLE EOT {n} within {timeout:g} s")
        self.statistics["status_queries"] += 1
        return reply[-1]

    def _check(self, level: str) -> str:
        if level == "external":
            p = _test_page(self.settings.columns, self.builder.code_page, self.kiosk_id)
            self.submit(p, "test page")
            return "test page queued"
        return self.status.problem or f"ready, paper {self.status.paper.replace('_', ' ')}"


def _test_page(columns: int, code_page: str, kiosk_id: str = "", at: datetime | None = None) -> bytes:
    """Which kiosk printed it and when (local time), so a page found later by the printer can be placed."""
    at = at or datetime.now().astimezone()
    p = escpos_printer.Dummy()
    p.charcode(code_page)
    p.textln("TEST PAGE".center(columns))
    p.textln(f"Kiosk: {kiosk_id or 'unknown'}"[:columns])
    p.textln(f"Time: {at:%d.%m.%Y %H:%M:%S %Z}".strip()[:columns])
    p.textln("€ ä ö ü ß Ä Ö Ü")
    p.textln("-" * columns)
    p.cut()
    return p.output


def _transport(s: PrinterSettings) -> escpos_printer.Escpos:
    if s.driver in ("network", "simulator"):
        return escpos_printer.Network(s.host, s.port, timeout=s.status_timeout_s, profile=s.profile)
    if s.driver == "serial":
        if not s.url:
            raise DeviceError("devices.printer.url is empty; set it to /dev/ttyUSB0, socket://host:port or "
                              "rfc2217://host:port")
        return _UrlSerial(s.url, baudrate=s.baudrate, bytesize=s.bytesize, parity=s.parity, stopbits=s.stopbits,
                          timeout=s.status_timeout_s, dsrdtr=False, profile=s.profile)
    if s.driver == "usb":
        return escpos_printer.Usb(s.usb_vendor_id, s.usb_product_id, profile=s.profile)
    if s.driver == "file":
        return escpos_printer.File(s.url or "/dev/usb/lp0", profile=s.profile)
    raise DeviceError(f"unknown printer driver {s.driver!r}")


def build(settings: PrinterSettings, events: EventQueue, name: str = "printer"):
    """The device manager's builder (see devices/manager.py)."""
    if settings.driver == "simulator":
        from devices.sim.printer import PrinterSimulator
        sim = PrinterSimulator(transport="tcp", columns=settings.columns, out_dir=settings.simulator_out_dir or None,
                               profile=settings.profile).start()
        settings = settings.model_copy(update={"host": "127.0.0.1", "port": sim.port})
        return ReceiptPrinter(name, events, settings), sim
    return ReceiptPrinter(name, events, settings), None
