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

Like a terminal it honours the registration (06 00) config byte: before registration (and after
log off, 06 02) it refuses payments, reversals, end of day and repeat receipt with 84 6B; it sends
intermediate status (04 FF) only when the ECR asked for it (bit 0x08), and receipt lines (06 D1/D3)
only when the ECR prints them (0x02 payment / 0x04 administration receipts, with 0x80 print lines).

It never goes silent: every reply is encoded before the ledger changes (then the change is saved,
then the reply is sent), and any failure inside a command becomes an error reply (84 xx before the
80 00 00, 06 1E xx after it) and a log line. Receipt numbers wrap at 9999, trace numbers at 999999.

Only masked card numbers leave the simulator unless SimConfig.send_full_pan is set (to test
that the kiosk masks what a misbehaving terminal sends).
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from devices.zvt import sim_replies as replies
from devices.zvt.apdu import Apdu, nak
from devices.zvt.driver import (ECR_PRINT_LINES, ECR_PRINTS_ADMIN_RECEIPT, ECR_PRINTS_PAYMENT_RECEIPT,
                                ECR_WANTS_INTERMEDIATE_STATUS)
from devices.zvt.results import ABORTED, ALREADY_REVERSED, BUSY, NOT_REGISTERED, REVERSAL_NOT_POSSIBLE, SUCCESS, \
    TURNOVER_FULL
from devices.zvt.sim_link import (FUNCTION_NOT_POSSIBLE, PROTOCOL_ERROR, STEPS, Fault, LinkError, SimLink,  # noqa: F401
                                  _Dropped, _peer_alive)
from devices.zvt.sim_replies import RECEIPT_MAX, TEST_PAN, TRACE_MAX, Booking, next_number  # noqa: F401

log = logging.getLogger("devices.zvt.sim")
NEEDS_REGISTRATION = {(0x06, 0x01), (0x06, 0x30), (0x06, 0x50), (0x06, 0x20)}


@dataclass
class SimConfig:
    password: str = "000000"
    result_code: int = SUCCESS  # 00 approves; anything else declines with that code
    pin_delay: float = 0.0  # seconds of "PIN entry" between the first status and the host decision
    status_texts: tuple[int, ...] = (0x0A, 0x17)  # intermediate status codes: insert card, please wait
    receipt: bool = True  # has receipts to send (as print lines 06 D1) when the ECR registered to print them
    text_block: bool = False  # send the receipt as one text block (06 D3) instead
    busy_after_payment: float = 0.0  # seconds after a payment during which new payments get 84 9C
    end_of_day_required: bool = False  # refuse payments with result 6A until an end of day runs
    send_full_pan: bool = False  # a misbehaving terminal: full card number in BMP 22 and on the receipt
    receipt_extra_lines: int = 0  # advertising lines: with text_block they make an extended-length APDU
    card_brand: str = "girocard"
    ack_wait: float = 10.0  # how long the terminal waits for the ECR's 80 00 00 before giving up the command


@dataclass
class LedgerEntry:
    kind: str  # "payment" or "reversal"
    amount: int
    receipt_no: int
    trace_no: int
    original_trace_no: int | None = None
    reversed: bool = False
    at: float = field(default_factory=time.time)
    batch: int = 1  # the end-of-day period it belongs to
    brand: str = "girocard"

    def booking(self) -> Booking:
        return Booking(self.kind, self.amount, self.receipt_no, self.trace_no, self.original_trace_no)


class TerminalSimulator(SimLink):
    def __init__(self, config: SimConfig | None = None, serial_timeouts: dict | None = None,
                 state_file: str | os.PathLike[str] | None = None) -> None:
        """`state_file`: keep the ledger and counters there, as a terminal keeps them in non-volatile
        memory, so a restarted simulator (and the kiosk reconciling with it) sees what it booked before."""
        super().__init__(serial_timeouts)
        self.config = config or SimConfig()
        self.ledger: list[LedgerEntry] = []
        self.commands: list[str] = []  # names of the commands received, for tests
        self._lock = threading.RLock()
        self._trace_no = 0
        self._receipt_no = 0
        self._busy_until = 0.0
        self._eod_from = 1  # first receipt number of the open end-of-day period
        self._batch = 1  # number of the open end-of-day period
        self.registration: int | None = None  # the config byte while an ECR is registered
        self._active = 0  # bookings in progress (on any link)
        self._state_file = Path(state_file) if state_file else None
        if self._state_file is not None and self._state_file.exists():
            self._load()

    def _load(self) -> None:
        state = json.loads(self._state_file.read_text(encoding="utf-8"))
        self.ledger = [LedgerEntry(**entry) for entry in state["ledger"]]
        self._trace_no, self._receipt_no, self._eod_from = state["trace_no"], state["receipt_no"], state["eod_from"]
        self.registration = state.get("registration")
        if "batch" not in state:  # a file from before end-of-day periods were numbered
            for entry in self.ledger:
                entry.batch = 0 if entry.receipt_no < self._eod_from else 1
        self._batch = state.get("batch", 1)

    def _commit(self, change: Callable[[], None]) -> None:
        """Apply `change` to the ledger/counters and save; if saving fails, nothing changed. Lock held."""
        if self._state_file is None:
            change()
            return
        before = json.dumps(self._state())
        change()
        try:
            self._save()
        except Exception:
            self._restore(json.loads(before))
            raise

    def _state(self) -> dict:
        return {"ledger": [asdict(e) for e in self.ledger], "trace_no": self._trace_no, "receipt_no": self._receipt_no,
                "eod_from": self._eod_from, "batch": self._batch, "registration": self.registration}

    def _restore(self, state: dict) -> None:
        self.ledger[:] = [LedgerEntry(**entry) for entry in state["ledger"]]
        self._trace_no, self._receipt_no, self._eod_from = state["trace_no"], state["receipt_no"], state["eod_from"]
        self._batch, self.registration = state["batch"], state["registration"]

    def _save(self) -> None:
        """Called by _commit (lock held) once the replies are encoded, before the ECR hears of the change."""
        if self._state_file is None:
            return
        tmp = self._state_file.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(self._state(), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._state_file)

    # -- ledger views ----------------------------------------------------------------------------

    def charges(self) -> list[LedgerEntry]:
        """Payments that stand (charged and not reversed)."""
        with self._lock:
            return [e for e in self.ledger if e.kind == "payment" and not e.reversed]

    # -- commands --------------------------------------------------------------------------------

    def _command(self, t, apdu: Apdu) -> None:
        handlers = {(0x06, 0x00): self._registration, (0x06, 0x01): self._payment, (0x06, 0x30): self._reversal,
                    (0x06, 0x50): self._end_of_day, (0x05, 0x01): self._status_enquiry,
                    (0x06, 0x20): self._repeat_receipt, (0x06, 0x02): self._log_off}
        handler = handlers.get((apdu.cls, apdu.instr))
        if handler is None:
            if apdu.cls not in (0x80, 0x84) and not apdu.is_(0x06, 0xB0):
                t.send(nak(FUNCTION_NOT_POSSIBLE))
            return
        self.commands.append(apdu.name)
        command = (apdu.cls, apdu.instr)
        t.sim_acked = False  # set once this command got its 80 00 00: errors are then reported with 06 1E
        try:
            if command in NEEDS_REGISTRATION and self.registration is None:
                log.info("simulator: %s refused, no ECR registered (84 6B)", apdu.name)
                t.send(nak(NOT_REGISTERED))
                return
            if command in ((0x06, 0x01), (0x06, 0x30)):
                with self._lock:  # one booking at a time; other links see "busy" meanwhile
                    if self._active:
                        t.send(nak(BUSY))
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
        except (_Dropped, LinkError):
            raise
        except Exception as exc:  # never leave the ECR waiting: an error reply instead of silence
            self._error_reply(t, apdu, exc)

    def _authorised(self, t, request: dict) -> bool:
        """The ECR sent the terminal's password; if not, the request is refused (NAK, protocol error)."""
        if request.get("password") == self.config.password:
            return True
        t.send(nak(PROTOCOL_ERROR))
        return False

    def _ecr_wants(self, *bits: int) -> bool:
        return self.registration is not None and all(self.registration & bit for bit in bits)

    def _registration(self, t, command, apdu: Apdu) -> None:
        request = replies.parse_command(apdu)
        if not self._authorised(t, request):
            return
        self._ack(t, command)
        with self._lock:
            self._commit(lambda: setattr(self, "registration", request["config_byte"]))
        self._finish(t, command)

    def _log_off(self, t, command, apdu: Apdu) -> None:
        with self._lock:
            self._commit(lambda: setattr(self, "registration", None))
        self._ack(t, command)

    def _payment(self, t, command, apdu: Apdu) -> None:
        amount = replies.parse_command(apdu).get("amount")
        if amount is None:
            t.send(nak(PROTOCOL_ERROR))
            return
        if time.monotonic() < self._busy_until:
            t.send(nak(BUSY))
            return
        self._ack(t, command)
        if self.config.end_of_day_required or self._batch_full(amount):
            self._finish(t, command, TURNOVER_FULL)
            return
        if self._ecr_wants(ECR_WANTS_INTERMEDIATE_STATUS):
            for code in self.config.status_texts:
                self._send_and_wait_ack(t, command, Apdu(0x04, 0xFF, bytes([code, 0x00])), "status")
        if self._abort_requested(t, self.config.pin_delay):
            self._finish(t, command, ABORTED)
            return
        result = self.config.result_code
        with self._lock:  # encode every reply first, then book and save: a reply that cannot be built changes nothing
            trace = next_number(self._trace_no, TRACE_MAX)
            entry = LedgerEntry("payment", amount, next_number(self._receipt_no, RECEIPT_MAX), trace,
                                batch=self._batch, brand=self.config.card_brand) if result == SUCCESS else None
            info = replies.status_info(result, entry.booking() if entry else None, amount, trace,
                                       self.config.card_brand, self.config.send_full_pan)
            receipt = self._receipt(entry, "PAYMENT") if entry else []

            def book() -> None:
                self._trace_no = trace
                if entry is not None:
                    self._receipt_no = entry.receipt_no
                    self.ledger.append(entry)
            self._commit(book)
            if entry is not None:
                self._busy_until = time.monotonic() + self.config.busy_after_payment
        self._at(t, command, "authorised")
        self._send_and_wait_ack(t, command, info, "status-info")
        self._print(t, command, receipt)
        self._finish(t, command, None if result == SUCCESS else result)

    def _batch_full(self, amount: int) -> bool:
        """Like a terminal whose turnover file is full (6A): one more payment would not fit the 12 BCD
        digits of the end-of-day turnover."""
        with self._lock:
            return sum(e.amount for e in self.charges() if e.batch == self._batch) + amount > replies.TOTAL_MAX

    def _receipt(self, entry: LedgerEntry, title: str) -> list[Apdu]:
        """The payment receipt as the APDUs to send; none unless the ECR prints payment receipts as lines."""
        if not (self.config.receipt and self._ecr_wants(ECR_PRINTS_PAYMENT_RECEIPT, ECR_PRINT_LINES)):
            return []
        lines = replies.receipt_lines(entry.booking(), title, self.config.send_full_pan,
                                      self.config.receipt_extra_lines)
        return replies.print_apdus(lines, self.config.text_block)

    def _print(self, t, command, apdus: list[Apdu]) -> None:
        if not apdus:
            return
        for apdu in apdus:
            self._send_and_wait_ack(t, command, apdu, "print")
        self._at(t, command, "printed")

    def _reversal(self, t, command, apdu: Apdu) -> None:
        request = replies.parse_command(apdu)
        if not self._authorised(t, request):
            return
        receipt = request.get("receipt_no", 0)
        self._ack(t, command)
        with self._lock:  # only a payment of the open end-of-day period can be reversed
            original = next((e for e in reversed(self.ledger) if e.kind == "payment" and e.receipt_no == receipt
                             and e.batch == self._batch), None)
            entry = None
            if original is not None and not original.reversed:
                entry = LedgerEntry("reversal", original.amount, next_number(self._receipt_no, RECEIPT_MAX),
                                    next_number(self._trace_no, TRACE_MAX), original.trace_no, batch=self._batch,
                                    brand=original.brand)
                info = replies.status_info(SUCCESS, entry.booking(), entry.amount, entry.trace_no)
                receipt_apdus = self._receipt(entry, "STORNO")

                def book() -> None:
                    original.reversed = True
                    self._trace_no, self._receipt_no = entry.trace_no, entry.receipt_no
                    self.ledger.append(entry)
                self._commit(book)
        if entry is None:
            self._finish(t, command, REVERSAL_NOT_POSSIBLE if original is None else ALREADY_REVERSED)
            return
        self._at(t, command, "authorised")
        self._send_and_wait_ack(t, command, info, "status-info")
        self._print(t, command, receipt_apdus)
        self._finish(t, command)

    def _end_of_day(self, t, command, apdu: Apdu) -> None:
        if not self._authorised(t, replies.parse_command(apdu)):
            return
        self._ack(t, command)
        with self._lock:  # encode first: totals that do not fit BMP 60 give 06 1E and leave the period open
            payments = [e for e in self.charges() if e.batch == self._batch]
            by_type: dict[str, tuple[int, int]] = {}
            for e in payments:  # the count is one byte: it says 255 for more (an assumption), the turnover is exact
                count, total = by_type.get(replies.card_type_of(e.brand), (0, 0))
                by_type[replies.card_type_of(e.brand)] = (min(count + 1, replies.COUNT_MAX), total + e.amount)
            total = sum(e.amount for e in payments)
            first, last = self._eod_from, self._receipt_no
            trace = next_number(self._trace_no, TRACE_MAX)
            info = replies.end_of_day_info(total, trace, replies.end_of_day_totals(first, last, by_type))
            lines = []
            if self._ecr_wants(ECR_PRINTS_ADMIN_RECEIPT, ECR_PRINT_LINES):
                lines = replies.print_apdus(replies.end_of_day_lines(first, last, len(payments), total))

            def close() -> None:
                self._eod_from, self._batch, self._trace_no = next_number(last, RECEIPT_MAX), self._batch + 1, trace
            self._commit(close)
            self.config.end_of_day_required = False
        self._send_and_wait_ack(t, command, info, "status-info")
        self._print(t, command, lines)
        self._finish(t, command)

    def _status_enquiry(self, t, command, apdu: Apdu) -> None:
        if not self._authorised(t, replies.parse_command(apdu)):
            return
        self._ack(t, command)
        status = BUSY if self._active or time.monotonic() < self._busy_until else \
            TURNOVER_FULL if self.config.end_of_day_required else SUCCESS
        self._send_and_wait_ack(t, command, replies.status_completion(status), "completion")
        self._at(t, command, "done")

    def _repeat_receipt(self, t, command, apdu: Apdu) -> None:
        if not self._authorised(t, replies.parse_command(apdu)):
            return
        with self._lock:
            last = next((e for e in reversed(self.ledger)), None)
            if self._active:
                t.send(nak(BUSY))
                return
        self._ack(t, command)
        if last is None:
            self._finish(t, command, FUNCTION_NOT_POSSIBLE)  # nothing to repeat
            return
        info = replies.status_info(SUCCESS, last.booking(), last.amount, last.trace_no, last.brand,
                                   self.config.send_full_pan)
        receipt = self._receipt(last, "KOPIE")
        self._send_and_wait_ack(t, command, info, "status-info")
        self._print(t, command, receipt)
        self._finish(t, command)
