"""The ECR side of ZVT: send a command, then serve the terminal until it completes or aborts.

Every command follows one pattern: ECR sends the command, the terminal answers 80 00 00 (or
84 xx = refused, nothing was done), then sends any number of intermediate status (04 FF), print
line (06 D1) and text block (06 D3) messages and status information (04 0F), and ends with
completion (06 0F) or abort (06 1E <result code>). The ECR answers each of those with 80 00 00.

`Ecr` is not thread-safe except for `request_abort()`, which a UI thread may call while a payment
runs: the running exchange sends 06 B0 itself, between two reads, so the link is never written to
by two threads at once.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from devices.zvt.apdu import (ACK, Apdu, ZvtError, bcd, bmp, decode_pan, mask_card_numbers, parse_bmps, parse_tlv,
                              password_bytes, unbcd)
from devices.zvt.results import SUCCESS, customer_message, technician_text
from devices.zvt.transport import T2, T4, LinkError

CURRENCY_CODES = {"EUR": 978, "CHF": 756, "GBP": 826, "USD": 840, "DKK": 208, "SEK": 752, "NOK": 578, "PLN": 985,
                  "CZK": 203, "HUF": 348}
POLL = 0.05  # how often a waiting exchange looks for an abort request

# Registration config byte (06 00), bit by bit (PA00P015 "config-byte"; ecrterm and Portalum.Zvt agree):
ECR_PRINTS_PAYMENT_RECEIPT = 0x02  # 1: the ECR prints payment receipts (the terminal prints none)
ECR_PRINTS_ADMIN_RECEIPT = 0x04  # 1: the ECR prints administration receipts (end of day, diagnosis...)
ECR_WANTS_INTERMEDIATE_STATUS = 0x08  # 1: the terminal sends 04 FF status ("insert card", "PIN"...); 0: none
ECR_CONTROLS_PAYMENT = 0x10  # 1: no amount entry on the terminal keypad, payments only from the ECR
ECR_CONTROLS_ADMIN = 0x20  # 1: administration (end of day...) cannot be started on the terminal
ECR_PRINT_LINES = 0x80  # 1: receipts come as print lines/text blocks (06 D1/D3); 0: the ECR builds them from 04 0F
# The kiosk: it prints every receipt itself from the terminal's lines, shows the status texts on its
# screen, and nobody but the kiosk starts a payment or an administration function on an unattended terminal.
KIOSK_CONFIG = (ECR_PRINTS_PAYMENT_RECEIPT | ECR_PRINTS_ADMIN_RECEIPT | ECR_WANTS_INTERMEDIATE_STATUS
                | ECR_CONTROLS_PAYMENT | ECR_CONTROLS_ADMIN | ECR_PRINT_LINES)  # 0xBE

# End-of-day totals (BMP 60): card types in the order a terminal sends them (PA00P015 06 50; ecrterm).
TOTALS_CARD_TYPES = ("girocard", "jcb", "mastercard", "amex", "visa", "diners", "other")

# Which status-information facts the kiosk keeps. Nothing else from the terminal is stored.
RECEIPT_FACTS = ("result_code", "amount", "currency", "receipt_no", "trace_no", "original_trace_no", "turnover_no",
                 "date", "time", "brand", "card_type", "masked_pan", "auth_code", "terminal_id")


class TimeoutError_(LinkError):
    """The terminal went silent longer than allowed; the link is treated as lost."""


@dataclass
class Outcome:
    """How one command ended. `result_code` is None when the terminal said nothing about a result."""
    command: str
    result_code: int | None = None
    refused: bool = False  # 84 xx: the terminal did not start the command at all
    status: dict[str, Any] = field(default_factory=dict)  # facts from the last 04 0F (see RECEIPT_FACTS)
    receipt_lines: list[str] = field(default_factory=list)
    intermediate: list[int] = field(default_factory=list)  # intermediate status codes seen
    terminal_status: int | None = None  # from the completion of a status enquiry (00 = ready)
    abort_sent: bool = False

    @property
    def approved(self) -> bool:
        return self.result_code == SUCCESS and not self.refused

    @property
    def message(self) -> tuple[str, str]:
        return customer_message(self.result_code if self.result_code is not None else 0xFF)

    @property
    def text(self) -> str:
        return technician_text(self.result_code) if self.result_code is not None else "no result code"


def parse_status(data: bytes) -> dict[str, Any]:
    """Status information (04 0F) BMPs to plain facts; the PAN is masked to first 6 / last 4 at most."""
    fields = parse_bmps(data)
    facts: dict[str, Any] = {}
    if 0x27 in fields:
        facts["result_code"] = fields[0x27][0]
    if 0x04 in fields:
        facts["amount"] = unbcd(fields[0x04], "amount (BMP 04)")
    if 0x49 in fields:
        facts["currency"] = unbcd(fields[0x49], "currency (BMP 49)")
    for tag, name in ((0x87, "receipt_no"), (0x0B, "trace_no"), (0x37, "original_trace_no"), (0x88, "turnover_no"),
                      (0x29, "terminal_id")):
        if tag in fields:
            facts[name] = unbcd(fields[tag], f"{name} (BMP {tag:02X})")
    if 0x0D in fields:
        facts["date"] = fields[0x0D].hex()  # MMDD
    if 0x0C in fields:
        facts["time"] = fields[0x0C].hex()  # hhmmss
    if 0x8B in fields:
        facts["brand"] = fields[0x8B].decode("latin-1").strip("\x00 ")
    if 0x8A in fields:
        facts["card_type"] = fields[0x8A][0]
    if 0x22 in fields:
        facts["masked_pan"] = decode_pan(fields[0x22])
    if 0x3B in fields:
        facts["auth_code"] = fields[0x3B].decode("latin-1").strip("\x00 ")
    if 0x60 in fields:
        facts["totals"] = _parse_totals(fields[0x60])
    return facts


def _parse_totals(raw: bytes) -> dict[str, int]:
    """BMP 60 of an end of day: receipt-from and receipt-to (2 bytes BCD each), then per card type
    (TOTALS_CARD_TYPES order) a 1-byte binary count and a 6-byte BCD turnover. `count`/`total` are
    the sums; `<type>_count`/`<type>_total` are there for each card type that had any payment (flat,
    so the journal event can keep them as they are)."""
    if len(raw) < 4 or (len(raw) - 4) % 7:
        raise ZvtError(f"end-of-day totals (BMP 60): {len(raw)} bytes is not 4 + 7 per card type")
    totals: dict[str, int] = {"receipt_from": unbcd(raw[0:2], "receipt-from (BMP 60)"),
                              "receipt_to": unbcd(raw[2:4], "receipt-to (BMP 60)"), "count": 0, "total": 0}
    for n, pos in enumerate(range(4, len(raw), 7)):
        name = TOTALS_CARD_TYPES[n] if n < len(TOTALS_CARD_TYPES) else f"type{n + 1}"
        count, turnover = raw[pos], unbcd(raw[pos + 1:pos + 7], f"{name} turnover (BMP 60)")
        totals["count"] += count
        totals["total"] += turnover
        if count or turnover:
            totals[f"{name}_count"], totals[f"{name}_total"] = count, turnover
    return totals


def print_lines(apdu: Apdu) -> list[str]:
    """Receipt lines from 06 D1 / 06 D3, with any card number a terminal might print masked."""
    if apdu.is_(0x06, 0xD1):  # attribute byte, then the text
        raw = [apdu.data[1:]] if apdu.data else []
    else:  # 06 D3: BMP 06 with tag 25 (print texts) holding 07 (text lines)
        raw = [t.value for item in parse_tlv(parse_bmps(apdu.data).get(0x06, b"")) for t in item.find(0x07)]
    return [mask_card_numbers(line.decode("latin-1").rstrip()) for line in raw]


class Ecr:
    """One terminal, one exchange at a time. Callbacks run on the caller's thread.

    trace(step) is called at each protocol step ("send 06 01", "recv 04 0F"...): the device uses it
    for logging and the fault-injection tests use it to crash the kiosk at a chosen step.
    """

    def __init__(self, transport, password: str = "000000", currency: str = "EUR",
                 first_answer_timeout: float = T2, step_timeout: float = T4,
                 on_status: Callable[[int], Any] | None = None, on_print: Callable[[str], Any] | None = None,
                 trace: Callable[[str], Any] | None = None) -> None:
        if currency not in CURRENCY_CODES:
            raise ZvtError(f"currency {currency} has no ZVT code here; known: {', '.join(CURRENCY_CODES)}")
        self.transport = transport
        self.password = password_bytes(password)
        self.currency = CURRENCY_CODES[currency]
        self.first_answer_timeout, self.step_timeout = first_answer_timeout, step_timeout
        self.on_status, self.on_print, self.trace = on_status, on_print, trace
        self._abort = threading.Event()

    # -- commands ------------------------------------------------------------------------------

    def register(self, config_byte: int = KIOSK_CONFIG) -> Outcome:
        """06 00: password, config byte, currency. Tells the terminal who we are and how to behave;
        needed once after the terminal starts (it refuses payments before: result 6B).

        The default 0xBE = 0x02 the ECR prints payment receipts + 0x04 the ECR prints administration
        receipts + 0x80 as print lines (06 D1/D3), so the terminal prints nothing itself; 0x08 the
        terminal sends intermediate status (04 FF) while the customer pays, without which a real
        terminal sends none and the kiosk screen shows nothing during PIN entry; 0x10 no amount entry
        on the terminal and 0x20 no administration started on the terminal (unattended kiosk)."""
        data = self.password + bytes([config_byte]) + bcd(self.currency, 2)
        return self._run("registration", Apdu(0x06, 0x00, data))

    def log_off(self) -> Outcome:
        """06 02: the terminal forgets the registration (answers 80 00 00 only, no completion)."""
        return self._run("log off", Apdu(0x06, 0x02), ack_only=True)

    def pay(self, amount: int) -> Outcome:
        """06 01 authorisation of `amount` minor units."""
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise ZvtError(f"amount must be a positive integer of minor units, got {amount!r}")
        self._abort.clear()
        data = bmp(0x04, bcd(amount, 6)) + bmp(0x49, bcd(self.currency, 2))
        return self._run("authorisation", Apdu(0x06, 0x01, data), abortable=True)

    def reversal(self, receipt_no: int) -> Outcome:
        """06 30: undo the approved payment with this receipt number."""
        return self._run("reversal", Apdu(0x06, 0x30, self.password + bmp(0x87, bcd(receipt_no, 2))))

    def end_of_day(self) -> Outcome:
        return self._run("end of day", Apdu(0x06, 0x50, self.password))

    def status_enquiry(self) -> Outcome:
        return self._run("status enquiry", Apdu(0x05, 0x01, self.password))

    def repeat_receipt(self) -> Outcome:
        """06 20: the terminal repeats the last receipt and its status information (the last transaction)."""
        return self._run("repeat receipt", Apdu(0x06, 0x20, self.password))

    def request_abort(self) -> None:
        """Ask the running payment to stop (customer pressed cancel). Safe from any thread."""
        self._abort.set()

    # -- the exchange ----------------------------------------------------------------------------

    def _step(self, name: str) -> None:
        if self.trace is not None:
            self.trace(name)

    def _send(self, apdu: Apdu) -> None:
        self._step(f"send {apdu.cls:02X} {apdu.instr:02X}")
        self.transport.send(apdu)

    def _receive(self, timeout: float, abortable: bool, outcome: Outcome) -> Apdu:
        waited = 0.0
        while True:
            if abortable and self._abort.is_set() and not outcome.abort_sent:
                outcome.abort_sent = True
                self._send(Apdu(0x06, 0xB0))
            chunk = min(POLL, timeout - waited) if abortable else timeout - waited
            apdu = self.transport.receive(max(chunk, 0.0))
            if apdu is not None:
                self._step(f"recv {apdu.cls:02X} {apdu.instr:02X}")
                return apdu
            waited += chunk
            if waited >= timeout:
                raise TimeoutError_(f"the terminal did not answer within {timeout:g} s")

    def _run(self, name: str, command: Apdu, abortable: bool = False, ack_only: bool = False) -> Outcome:
        outcome = Outcome(name)
        self._send(command)
        answer = self._receive(self.first_answer_timeout, abortable, outcome)
        if answer.cls == 0x84:
            outcome.refused, outcome.result_code = True, answer.instr
            return outcome
        if not answer.is_(0x80, 0x00):
            raise ZvtError(f"expected 80 00 after {name}, the terminal sent {answer.name}")
        if ack_only:
            outcome.result_code = SUCCESS
            return outcome
        while True:
            message = self._receive(self.step_timeout, abortable, outcome)
            if message.is_(0x80, 0x00) or message.cls == 0x84:
                continue  # the terminal's answer to our 06 B0
            if message.is_(0x04, 0xFF):
                self._ack()
                if message.data:
                    outcome.intermediate.append(message.data[0])
                    if self.on_status is not None:
                        self.on_status(message.data[0])
            elif message.is_(0x06, 0xD1) or message.is_(0x06, 0xD3):
                lines = print_lines(message)
                self._ack()
                outcome.receipt_lines += lines
                if self.on_print is not None:
                    for line in lines:
                        self.on_print(line)
            elif message.is_(0x04, 0x0F):
                status = parse_status(message.data)
                self._ack()
                outcome.status = status
                if "result_code" in status:
                    outcome.result_code = status["result_code"]
            elif message.is_(0x06, 0x0F):
                self._ack()
                if message.data and 0xF0 <= message.data[0] <= 0xF9:  # status enquiry: version LLL, status
                    length = int("".join(str(b & 0x0F) for b in message.data[:3]))
                    tail = message.data[3 + length:]
                    outcome.terminal_status = tail[0] if tail else None
                if outcome.result_code is None:
                    outcome.result_code = SUCCESS
                return outcome
            elif message.is_(0x06, 0x1E):
                self._ack()
                outcome.result_code = message.data[0] if message.data else 0xFF
                return outcome
            else:
                raise ZvtError(f"unexpected {message.name} during {name}")

    def _ack(self) -> None:
        self._send(ACK)
