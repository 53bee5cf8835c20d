"""A ZVT card terminal simulator: the terminal side of the protocol, over TCP or a pty.

    sim = TerminalSimulator(SimConfig(pin_delay=0.5)).start_tcp()      # sim.port on 127.0.0.1
    sim = TerminalSimulator().start_pty()                              # sim.path is the serial device
    sim.config.result_code = 0x05                                       # next payments are declined
    sim.inject(Fault("drop", "authorised"))                             # cut the link right after charging
    sim.ledger                                                          # every charge and reversal it booked

The ledger is the terminal's truth: a payment is charged the moment the "host" approves it (step
"authorised"), before the ECR hears about it. A link lost before that step voids the payment;
a link lost after it leaves the charge standing, exactly the case the kiosk must reconcile.

Steps of a command, where faults can be injected (Fault.step):
    received  acked  status  authorised  status-info  status-info-acked  print  printed  completion  done
Fault kinds: "drop" (TCP: close the connection; pty: abandon the command as a cut cable would),
"silent" (stop answering that command), "corrupt" (serial: next frame goes out with a bad CRC),
"nak" (serial: NAK the next frame received).

Only masked card numbers leave the simulator unless SimConfig.send_full_pan is set (to test
that the kiosk masks what a misbehaving terminal sends).
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import threading
import time
import tty
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from devices.zvt.apdu import ACK, Apdu, ZvtError, bcd, bmp, encode_pan, parse_bmps, unbcd
from devices.zvt.results import ABORTED, ALREADY_REVERSED, BUSY, REVERSAL_NOT_POSSIBLE, SUCCESS, TURNOVER_FULL
from devices.zvt.transport import FdPipe, LinkError, SerialTransport, SocketPipe, TcpTransport

STEPS = ("received", "acked", "status", "authorised", "status-info", "status-info-acked", "print", "printed",
         "completion", "done")
TEST_PAN = "6725591234567898"  # a made-up, Luhn-valid test card number; only its masked form is sent by default


@dataclass
class SimConfig:
    password: str = "000000"
    result_code: int = SUCCESS  # 00 approves; anything else declines with that code
    pin_delay: float = 0.0  # seconds of "PIN entry" between the first status and the host decision
    status_texts: tuple[int, ...] = (0x0A, 0x17)  # intermediate status codes: insert card, please wait
    receipt: bool = True  # send the receipt as print lines (06 D1)
    text_block: bool = False  # send the receipt as one text block (06 D3) instead
    busy_after_payment: float = 0.0  # seconds after a payment during which new payments get 84 9C
    end_of_day_required: bool = False  # refuse payments with result 6A until an end of day runs
    send_full_pan: bool = False  # a misbehaving terminal: full card number in BMP 22 and on the receipt
    receipt_extra_lines: int = 0  # advertising lines: with text_block they make an extended-length APDU
    card_brand: str = "girocard"
    ack_wait: float = 10.0  # how long the terminal waits for the ECR's 80 00 00 before giving up the command


@dataclass
class Fault:
    kind: str  # drop | silent | corrupt | nak
    step: str
    command: tuple[int, int] | None = (0x06, 0x01)  # None: any command
    times: int = 1


@dataclass
class LedgerEntry:
    kind: str  # "payment" or "reversal"
    amount: int
    receipt_no: int
    trace_no: int
    original_trace_no: int | None = None
    reversed: bool = False
    at: float = field(default_factory=time.time)


class _Dropped(Exception):
    """The simulated link was cut inside a command."""


class TerminalSimulator:
    def __init__(self, config: SimConfig | None = None, serial_timeouts: dict | None = None,
                 state_file: str | os.PathLike[str] | None = None) -> None:
        """`state_file`: keep the ledger and counters there, as a terminal keeps them in non-volatile
        memory, so a restarted simulator (and the kiosk reconciling with it) sees what it booked before."""
        self.config = config or SimConfig()
        self.ledger: list[LedgerEntry] = []
        self.faults: list[Fault] = []
        self.on_step: Callable[[tuple[int, int], str], None] | None = None  # test hook, called at every step
        self.commands: list[str] = []  # names of the commands received, for tests
        self.port: int | None = None
        self.path: str | None = None
        self._serial_timeouts = serial_timeouts or {}
        self._lock = threading.RLock()
        self._trace_no = 0
        self._receipt_no = 0
        self._busy_until = 0.0
        self._eod_from = 1
        self._active = 0  # bookings in progress (on any link)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: socket.socket | None = None
        self._sessions: list = []
        self._state_file = Path(state_file) if state_file else None
        if self._state_file is not None and self._state_file.exists():
            self._load()

    def _load(self) -> None:
        state = json.loads(self._state_file.read_text(encoding="utf-8"))
        self.ledger = [LedgerEntry(**entry) for entry in state["ledger"]]
        self._trace_no, self._receipt_no, self._eod_from = state["trace_no"], state["receipt_no"], state["eod_from"]

    def _save(self) -> None:
        """Called with the lock held, after every booking, before the ECR hears of it."""
        if self._state_file is None:
            return
        state = {"ledger": [asdict(e) for e in self.ledger], "trace_no": self._trace_no,
                 "receipt_no": self._receipt_no, "eod_from": self._eod_from}
        tmp = self._state_file.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._state_file)

    # -- ledger views ----------------------------------------------------------------------------

    def charges(self) -> list[LedgerEntry]:
        """Payments that stand (charged and not reversed)."""
        with self._lock:
            return [e for e in self.ledger if e.kind == "payment" and not e.reversed]

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    # -- serving ---------------------------------------------------------------------------------

    def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> "TerminalSimulator":
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(8)
        self._server, self.port = server, server.getsockname()[1]
        self._spawn(self._accept_loop, "zvt-sim-accept")
        return self

    def start_pty(self) -> "TerminalSimulator":
        master, slave = os.openpty()
        tty.setraw(slave)  # we keep the slave open too, so the master never sees EIO between ECR opens
        self._slave = slave
        self.path = os.ttyname(slave)
        transport = SerialTransport(FdPipe(master), **self._serial_timeouts)
        self._sessions.append(transport)
        self._spawn(lambda: self._session(transport, serial=True), "zvt-sim-pty")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            try:
                self._server.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            try:
                self._server.close()
            except OSError:
                pass
        for transport in list(self._sessions):
            transport.close()
        for thread in self._threads:
            thread.join(2.0)
        if getattr(self, "_slave", None) is not None:
            os.close(self._slave)
            self._slave = None

    def drop_connections(self) -> None:
        """Cut every open TCP connection now (a pulled network cable on the terminal side)."""
        for transport in list(self._sessions):
            if isinstance(transport, TcpTransport):
                transport.close()

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            transport = TcpTransport(SocketPipe(conn))
            self._sessions.append(transport)
            self._spawn(lambda t=transport: self._session(t, serial=False), "zvt-sim-conn")

    def _session(self, transport, serial: bool) -> None:
        try:
            while not self._stop.is_set():
                try:
                    apdu = transport.receive(0.2)
                except ZvtError:
                    continue  # a malformed APDU: ignore it, as a terminal would
                if apdu is None:
                    continue
                try:
                    self._command(transport, apdu)
                except _Dropped:
                    if not serial:
                        return
                except ZvtError:
                    continue
        except LinkError:
            return
        finally:
            if not serial:
                transport.close()
                if transport in self._sessions:
                    self._sessions.remove(transport)

    # -- commands --------------------------------------------------------------------------------

    def _command(self, t, apdu: Apdu) -> None:
        handlers = {(0x06, 0x00): self._registration, (0x06, 0x01): self._payment, (0x06, 0x30): self._reversal,
                    (0x06, 0x50): self._end_of_day, (0x05, 0x01): self._status_enquiry,
                    (0x06, 0x20): self._repeat_receipt}
        handler = handlers.get((apdu.cls, apdu.instr))
        if handler is None:
            if apdu.cls not in (0x80, 0x84) and not apdu.is_(0x06, 0xB0):
                t.send(Apdu(0x84, 0x83))  # function not possible
            return
        self.commands.append(apdu.name)
        command = (apdu.cls, apdu.instr)
        if command in ((0x06, 0x01), (0x06, 0x30)):
            with self._lock:  # one booking at a time; other links see "busy" meanwhile
                if self._active:
                    t.send(Apdu(0x84, BUSY))
                    return
                if not _peer_alive(t):
                    return
                self._active += 1
            try:
                self._at(t, command, "received")
                handler(t, command, apdu)
            finally:
                with self._lock:
                    self._active -= 1
            return
        self._at(t, command, "received")
        handler(t, command, apdu)

    def _at(self, t, command: tuple[int, int], step: str) -> None:
        """Reached `step` of `command`: run the test hook and any fault planned here."""
        if self.on_step is not None:
            self.on_step(command, step)
        with self._lock:
            fault = next((f for f in self.faults if f.step == step and f.command in (None, command)), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
        if fault is None:
            return
        if fault.kind == "drop":
            if isinstance(t, TcpTransport):
                t.close()
            raise _Dropped(step)
        if fault.kind == "silent":
            while not self._stop.wait(0.05):
                if isinstance(t, TcpTransport) and t.pipe.sock.fileno() < 0:
                    break
                try:  # swallow input, answer nothing, until the ECR gives up and closes
                    t.receive(0.05)
                except (LinkError, ZvtError):
                    break
            raise _Dropped(step)
        if fault.kind == "corrupt" and isinstance(t, SerialTransport):
            t.corrupt_sends += 1
        if fault.kind == "nak" and isinstance(t, SerialTransport):
            t.nak_receives += 1

    def _send_and_wait_ack(self, t, command, apdu: Apdu, step: str) -> None:
        t.send(apdu)
        self._at(t, command, step)
        deadline = time.monotonic() + self.config.ack_wait
        while time.monotonic() < deadline:
            answer = t.receive(deadline - time.monotonic())
            if answer is None:
                break
            if answer.is_(0x80, 0x00):
                if step == "status-info":
                    self._at(t, command, "status-info-acked")
                return
            if answer.is_(0x06, 0xB0):  # abort came too late: the transaction is past that point
                t.send(Apdu(0x84, 0x83))
        raise _Dropped("no acknowledgement from the ECR")

    def _password_ok(self, data: bytes) -> bool:
        return data[:3] == bytes.fromhex(self.config.password)

    def _finish(self, t, command, result: int | None = None) -> None:
        if result is None:
            self._send_and_wait_ack(t, command, Apdu(0x06, 0x0F), "completion")
        else:
            self._send_and_wait_ack(t, command, Apdu(0x06, 0x1E, bytes([result])), "completion")
        self._at(t, command, "done")

    def _registration(self, t, command, apdu: Apdu) -> None:
        if not self._password_ok(apdu.data):
            t.send(Apdu(0x84, 0x9A))
            return
        t.send(ACK)
        self._at(t, command, "acked")
        self._finish(t, command)

    def _payment(self, t, command, apdu: Apdu) -> None:
        fields = parse_bmps(apdu.data)
        if 0x04 not in fields:
            t.send(Apdu(0x84, 0x9A))
            return
        amount = unbcd(fields[0x04], "amount")
        if time.monotonic() < self._busy_until:
            t.send(Apdu(0x84, BUSY))
            return
        t.send(ACK)
        self._at(t, command, "acked")
        if self.config.end_of_day_required:
            self._finish(t, command, TURNOVER_FULL)
            return
        for code in self.config.status_texts:
            self._send_and_wait_ack(t, command, Apdu(0x04, 0xFF, bytes([code, 0x00])), "status")
        if self._abort_requested(t, self.config.pin_delay):
            self._finish(t, command, ABORTED)
            return
        result = self.config.result_code
        with self._lock:
            self._trace_no += 1
            trace = self._trace_no
            entry = None
            if result == SUCCESS:
                self._receipt_no += 1
                entry = LedgerEntry("payment", amount, self._receipt_no, trace)
                self.ledger.append(entry)
                self._busy_until = time.monotonic() + self.config.busy_after_payment
            self._save()
        self._at(t, command, "authorised")
        info = self._status_info(result, amount, trace, entry.receipt_no if entry else None)
        self._send_and_wait_ack(t, command, Apdu(0x04, 0x0F, info), "status-info")
        if entry is not None:
            self._print_receipt(t, command, entry, "PAYMENT")
        self._finish(t, command, None if result == SUCCESS else result)

    def _abort_requested(self, t, delay: float) -> bool:
        """PIN entry: wait `delay` s, answering an ECR abort (06 B0) if one comes."""
        deadline = time.monotonic() + delay
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            answer = t.receive(min(left, 0.05))
            if answer is not None and answer.is_(0x06, 0xB0):
                t.send(ACK)
                return True

    def _status_info(self, result: int, amount: int, trace: int, receipt: int | None,
                     original_trace: int | None = None) -> bytes:
        now = time.localtime()
        data = bmp(0x27, bytes([result])) + bmp(0x04, bcd(amount, 6)) + bmp(0x49, bcd(978, 2)) \
            + bmp(0x0B, bcd(trace, 3)) + bmp(0x0C, bytes.fromhex(time.strftime("%H%M%S", now))) \
            + bmp(0x0D, bytes.fromhex(time.strftime("%m%d", now))) + bmp(0x29, bcd(52500001, 4))
        if receipt is not None:
            data += bmp(0x87, bcd(receipt, 2))
        if original_trace is not None:
            data += bmp(0x37, bcd(original_trace, 3))
        if result == SUCCESS and original_trace is None:
            pan = TEST_PAN if self.config.send_full_pan else TEST_PAN[:6] + "*" * 6 + TEST_PAN[-4:]
            data += bmp(0x22, encode_pan(pan)) + bmp(0x8A, bytes([5])) \
                + bmp(0x8B, self.config.card_brand.encode("latin-1")) + bmp(0x3B, f"{trace:06d}AB".encode())
        return data

    def _print_receipt(self, t, command, entry: LedgerEntry, title: str) -> None:
        if not self.config.receipt:
            return
        pan = TEST_PAN if self.config.send_full_pan else TEST_PAN[:6] + "******" + TEST_PAN[-4:]
        lines = [title, f"Betrag EUR {entry.amount // 100},{entry.amount % 100:02d}", f"Beleg-Nr. {entry.receipt_no}",
                 f"Trace-Nr. {entry.trace_no}", "Karte " + pan,
                 "Zahlung erfolgt" if entry.kind == "payment" else "Storno erfolgt"]
        lines += [f"Werbung {n:03d}: Danke fuer Ihren Einkauf!" for n in range(self.config.receipt_extra_lines)]
        if self.config.text_block:
            from devices.zvt.apdu import Tlv
            block = Tlv(0x25, children=tuple(Tlv(0x07, line.encode("latin-1")) for line in lines)).encode()
            self._send_and_wait_ack(t, command, Apdu(0x06, 0xD3, bmp(0x06, block)), "print")
        else:
            for line in lines:
                self._send_and_wait_ack(t, command, Apdu(0x06, 0xD1, b"\x00" + line.encode("latin-1")), "print")
        self._at(t, command, "printed")

    def _reversal(self, t, command, apdu: Apdu) -> None:
        if not self._password_ok(apdu.data):
            t.send(Apdu(0x84, 0x9A))
            return
        fields = parse_bmps(apdu.data, 3)
        receipt = unbcd(fields.get(0x87, b""), "receipt number")
        t.send(ACK)
        self._at(t, command, "acked")
        with self._lock:
            original = next((e for e in self.ledger if e.kind == "payment" and e.receipt_no == receipt), None)
            if original is None or original.reversed:
                result, entry = (REVERSAL_NOT_POSSIBLE if original is None else ALREADY_REVERSED), None
            else:
                original.reversed = True
                self._trace_no += 1
                self._receipt_no += 1
                result = SUCCESS
                entry = LedgerEntry("reversal", original.amount, self._receipt_no, self._trace_no, original.trace_no)
                self.ledger.append(entry)
                self._save()
        if entry is None:
            self._finish(t, command, result)
            return
        self._at(t, command, "authorised")
        info = self._status_info(SUCCESS, entry.amount, entry.trace_no, entry.receipt_no, entry.original_trace_no)
        self._send_and_wait_ack(t, command, Apdu(0x04, 0x0F, info), "status-info")
        self._print_receipt(t, command, entry, "STORNO")
        self._finish(t, command)

    def _end_of_day(self, t, command, apdu: Apdu) -> None:
        if not self._password_ok(apdu.data):
            t.send(Apdu(0x84, 0x9A))
            return
        t.send(ACK)
        self._at(t, command, "acked")
        with self._lock:
            since = [e for e in self.ledger if e.receipt_no >= self._eod_from]
            payments = [e for e in since if e.kind == "payment" and not e.reversed]
            total = sum(e.amount for e in payments)
            first, last = self._eod_from, self._receipt_no
            self._eod_from = self._receipt_no + 1
            self.config.end_of_day_required = False
            self._trace_no += 1
            trace = self._trace_no
            self._save()
        totals = bcd(first, 2) + bcd(last, 2) + bcd(len(payments), 2) + bcd(total, 6)
        info = bmp(0x27, bytes([SUCCESS])) + bmp(0x04, bcd(total, 6)) + bmp(0x0B, bcd(trace, 3)) + bmp(0x60, totals)
        self._send_and_wait_ack(t, command, Apdu(0x04, 0x0F, info), "status-info")
        for line in ("KASSENSCHNITT", f"Belege {first}-{last}", f"Anzahl {len(payments)}",
                     f"Summe EUR {total // 100},{total % 100:02d}"):
            self._send_and_wait_ack(t, command, Apdu(0x06, 0xD1, b"\x00" + line.encode()), "print")
        self._finish(t, command)

    def _status_enquiry(self, t, command, apdu: Apdu) -> None:
        if not self._password_ok(apdu.data):
            t.send(Apdu(0x84, 0x9A))
            return
        t.send(ACK)
        self._at(t, command, "acked")
        status = BUSY if self._active or time.monotonic() < self._busy_until else \
            TURNOVER_FULL if self.config.end_of_day_required else SUCCESS
        version = b"ZVT-SIM 1.0"
        data = bytes(0xF0 | int(d) for d in f"{len(version):03d}") + version + bytes([status])
        self._send_and_wait_ack(t, command, Apdu(0x06, 0x0F, data), "completion")
        self._at(t, command, "done")

    def _repeat_receipt(self, t, command, apdu: Apdu) -> None:
        if not self._password_ok(apdu.data):
            t.send(Apdu(0x84, 0x9A))
            return
        with self._lock:
            last = next((e for e in reversed(self.ledger)), None)
            if self._active:
                t.send(Apdu(0x84, BUSY))
                return
        t.send(ACK)
        self._at(t, command, "acked")
        if last is None:
            self._finish(t, command, 0x83)  # nothing to repeat
            return
        info = self._status_info(SUCCESS, last.amount, last.trace_no, last.receipt_no, last.original_trace_no)
        self._send_and_wait_ack(t, command, Apdu(0x04, 0x0F, info), "status-info")
        self._print_receipt(t, command, last, "KOPIE")
        self._finish(t, command)


def _peer_alive(t) -> bool:
    """A terminal does not start a booking for an ECR whose TCP connection is already closed."""
    if not isinstance(t, TcpTransport):
        return True
    try:
        return t.pipe.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


# -- command line ------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devices.zvt.sim",
                                     description="Play a ZVT card terminal over TCP or a pty until Ctrl-C.")
    parser.add_argument("link", choices=("tcp", "pty"), nargs="?", default="tcp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=20007)
    parser.add_argument("--password", default="000000")
    parser.add_argument("--decline", metavar="CODE", help="decline payments with this hex result code, e.g. 05")
    parser.add_argument("--pin-delay", type=float, default=2.0, help="seconds of PIN entry (default 2)")
    parser.add_argument("--busy-after", type=float, default=4.0, help="busy seconds after a payment (default 4)")
    parser.add_argument("--end-of-day-required", action="store_true")
    parser.add_argument("--fault", action="append", default=[], metavar="KIND@STEP",
                        help="inject a fault into the next payment, e.g. drop@authorised, silent@acked, "
                             f"corrupt@status, nak@received; steps: {', '.join(STEPS)}")
    args = parser.parse_args(argv)
    config = SimConfig(password=args.password, pin_delay=args.pin_delay, busy_after_payment=args.busy_after,
                       end_of_day_required=args.end_of_day_required,
                       result_code=int(args.decline, 16) if args.decline else SUCCESS)
    sim = TerminalSimulator(config)
    for spec in args.fault:
        kind, _, step = spec.partition("@")
        if kind not in ("drop", "silent", "corrupt", "nak") or step not in STEPS:
            parser.error(f"bad --fault {spec!r}: expected KIND@STEP with KIND drop/silent/corrupt/nak")
        sim.inject(Fault(kind, step))
    if args.link == "tcp":
        sim.start_tcp(args.host, args.port)
        print(f"ZVT terminal simulator on {args.host}:{sim.port} (kiosk: driver = \"zvt-tcp\", port = {sim.port})")
    else:
        sim.start_pty()
        print(f"ZVT terminal simulator on {sim.path} (kiosk: driver = \"zvt-serial\", url = \"{sim.path}\")")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        for e in sim.ledger:
            print(f"ledger: {e.kind} receipt {e.receipt_no} trace {e.trace_no} amount {e.amount}"
                  + (" (reversed)" if e.reversed else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
