"""What the terminal simulator reads and writes, as pure functions (no I/O, no state).

The simulator builds every reply with these *before* it changes its ledger, so a reply that cannot
be encoded (a number too large for its BCD field) becomes an error reply and changes nothing.
The property tests feed them the whole number ranges and parse the results with the ECR's codec.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from devices.zvt.apdu import Apdu, Tlv, ZvtError, bcd, bmp, encode_pan, parse_bmps, unbcd
from devices.zvt.driver import TOTALS_CARD_TYPES
from devices.zvt.results import SUCCESS

TEST_PAN = "6725591234567898"  # a made-up, Luhn-valid test card number; only its masked form is sent by default
MASKED_TEST_PAN = TEST_PAN[:6] + "*" * 6 + TEST_PAN[-4:]
RECEIPT_MAX = 9999  # receipt numbers are 2 BCD bytes: after 9999 a terminal starts again at 1
TRACE_MAX = 999999  # trace numbers are 3 BCD bytes
TOTAL_MAX = 10 ** 12 - 1  # a turnover is 6 BCD bytes
COUNT_MAX = 255  # the count per card type in the end-of-day totals is one binary byte


def next_number(current: int, limit: int) -> int:
    """The number after `current` in a counter that wraps from `limit` back to 1."""
    return current + 1 if current < limit else 1


@dataclass(frozen=True)
class Booking:
    """The facts of one booking that go into a status information and onto a receipt."""
    kind: str  # "payment" or "reversal"
    amount: int
    receipt_no: int
    trace_no: int
    original_trace_no: int | None = None


# -- commands from the ECR -----------------------------------------------------------------------

def parse_command(apdu: Apdu) -> dict[str, Any]:
    """The fields of an ECR command the simulator uses. Raises ZvtError when they are malformed."""
    data, facts = apdu.data, {}
    if apdu.cls == 0x06 and apdu.instr in (0x00, 0x30, 0x50, 0x20) or apdu.is_(0x05, 0x01):
        if len(data) < 3:
            raise ZvtError(f"{apdu.name}: the 3-byte password is missing")
        facts["password"] = data[:3].hex()
    if apdu.is_(0x06, 0x00):
        if len(data) < 4:
            raise ZvtError("registration: the config byte is missing")
        facts["config_byte"] = data[3]
        if len(data) >= 6:
            facts["currency"] = unbcd(data[4:6], "registration currency")
    elif apdu.is_(0x06, 0x01):
        fields = parse_bmps(data)
        if 0x04 in fields:
            facts["amount"] = unbcd(fields[0x04], "amount (BMP 04)")
        if 0x49 in fields:
            facts["currency"] = unbcd(fields[0x49], "currency (BMP 49)")
    elif apdu.is_(0x06, 0x30):
        fields = parse_bmps(data, 3)
        if 0x87 in fields:
            facts["receipt_no"] = unbcd(fields[0x87], "receipt number (BMP 87)")
    return facts


# -- replies to the ECR ---------------------------------------------------------------------------

def status_info(result: int, booking: Booking | None, amount: int, trace_no: int, brand: str = "girocard",
                full_pan: bool = False, now: time.struct_time | None = None) -> Apdu:
    """04 0F for a payment or reversal (booking None: a declined payment, only amount and trace)."""
    now = now or time.localtime()
    data = bmp(0x27, bytes([result])) + bmp(0x04, bcd(amount, 6)) + bmp(0x49, bcd(978, 2)) \
        + bmp(0x0B, bcd(trace_no, 3)) + bmp(0x0C, bytes.fromhex(time.strftime("%H%M%S", now))) \
        + bmp(0x0D, bytes.fromhex(time.strftime("%m%d", now))) + bmp(0x29, bcd(52500001, 4))
    if booking is not None:
        data += bmp(0x87, bcd(booking.receipt_no, 2))
        if booking.original_trace_no is not None:
            data += bmp(0x37, bcd(booking.original_trace_no, 3))
    if result == SUCCESS and booking is not None and booking.kind == "payment":
        pan = TEST_PAN if full_pan else MASKED_TEST_PAN
        data += bmp(0x22, encode_pan(pan)) + bmp(0x8A, bytes([5])) \
            + bmp(0x8B, brand.encode("latin-1")) + bmp(0x3B, f"{trace_no % 10**6:06d}AB".encode())
    return Apdu(0x04, 0x0F, data)


def receipt_lines(booking: Booking, title: str, full_pan: bool = False, extra_lines: int = 0) -> list[str]:
    pan = TEST_PAN if full_pan else MASKED_TEST_PAN
    lines = [title, f"Betrag EUR {booking.amount // 100},{booking.amount % 100:02d}",
             f"Beleg-Nr. {booking.receipt_no}", f"Trace-Nr. {booking.trace_no}", "Karte " + pan,
             "Zahlung erfolgt" if booking.kind == "payment" else "Storno erfolgt"]
    return lines + [f"Werbung {n:03d}: Danke fuer Ihren Einkauf!" for n in range(extra_lines)]


def print_apdus(lines: list[str], text_block: bool = False) -> list[Apdu]:
    """A receipt as print lines (06 D1, attribute byte 00) or as one text block (06 D3, TLV 25/07)."""
    if text_block:
        block = Tlv(0x25, children=tuple(Tlv(0x07, line.encode("latin-1")) for line in lines)).encode()
        return [Apdu(0x06, 0xD3, bmp(0x06, block))]
    return [Apdu(0x06, 0xD1, b"\x00" + line.encode("latin-1")) for line in lines]


def end_of_day_totals(receipt_from: int, receipt_to: int, by_type: dict[str, tuple[int, int]]) -> bytes:
    """BMP 60 value: receipt-from, receipt-to (2 BCD each), then for each of TOTALS_CARD_TYPES a
    1-byte binary count and a 6-byte BCD turnover. `by_type`: card type -> (count, turnover)."""
    data = bcd(receipt_from, 2) + bcd(receipt_to, 2)
    for name in TOTALS_CARD_TYPES:
        count, turnover = by_type.get(name, (0, 0))
        if not 0 <= count <= COUNT_MAX:
            raise ZvtError(f"{count} {name} payments do not fit the one-byte count of BMP 60")
        data += bytes([count]) + bcd(turnover, 6)
    unknown = set(by_type) - set(TOTALS_CARD_TYPES)
    if unknown:
        raise ZvtError(f"card types {sorted(unknown)} have no place in BMP 60")
    return data


def end_of_day_info(total: int, trace_no: int, totals: bytes) -> Apdu:
    return Apdu(0x04, 0x0F, bmp(0x27, bytes([SUCCESS])) + bmp(0x04, bcd(total, 6)) + bmp(0x0B, bcd(trace_no, 3))
                + bmp(0x60, totals))


def end_of_day_lines(receipt_from: int, receipt_to: int, count: int, total: int) -> list[str]:
    return ["KASSENSCHNITT", f"Belege {receipt_from}-{receipt_to}", f"Anzahl {count}",
            f"Summe EUR {total // 100},{total % 100:02d}"]


def status_completion(status: int, version: bytes = b"ZVT-SIM 1.0") -> Apdu:
    """06 0F answering a status enquiry: software version (LLL) and the terminal status byte."""
    return Apdu(0x06, 0x0F, bytes(0xF0 | int(d) for d in f"{len(version):03d}") + version + bytes([status]))


def card_type_of(brand: str) -> str:
    """Where a card brand is counted in the end-of-day totals."""
    brand = brand.lower()
    for name in TOTALS_CARD_TYPES[:-1]:
        if name in brand or (name == "mastercard" and ("maestro" in brand or "eurocard" in brand)):
            return name
    return "other"
