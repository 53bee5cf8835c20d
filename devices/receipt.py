"""The receipt: what is printed (built from the journal's transaction record) and its ESC/POS bytes.

    receipt = Receipt.from_record(record, shop, qr_base_url="https://shop.example/r/")
    data = ReceiptBuilder(columns=42, profile="TM-T88V").build(receipt)   # bytes for the printer

`Receipt.sale` is a `kiosk.wire.SaleBody` (the same field names as the journal and the server).
Card numbers are printed masked, at most the first 6 and last 4 digits, whatever the input.
"""
from __future__ import annotations

import contextlib
import io
import re
import textwrap
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel.numbers import format_decimal
from escpos.printer import Dummy

from kiosk.wire import SaleBody, TransactionRecord, format_amount

# Code pages with €, ä, ö, ü, ß, in order of preference; the first the profile supports is used.
PREFERRED_CODE_PAGES = ("CP858", "CP1252", "ISO_8859-15")


@dataclass(frozen=True)
class Shop:
    name: str
    address: tuple[str, ...] = ()
    vat_id: str = ""
    footer: tuple[str, ...] = ("Thank you for your visit!",)
    logo: str = ""  # path to an image (PNG), printed at the top


@dataclass(frozen=True)
class Receipt:
    shop: Shop
    sale: SaleBody
    transaction_no: str  # e.g. "kiosk-001/000123"
    printed_at: str = ""  # as it should appear, e.g. "23.11.2026 15:40"
    qr_url: str = ""  # the receipt's page, e.g. <server>/r/<receipt_token>
    labels: dict[str, str] = field(default_factory=dict)  # translations of LABELS keys
    locale: str = "de_DE"  # the customer's language (a Babel locale): how amounts and numbers are written
    clock_note: str = ""  # printed under the date when the kiosk's clock looks wrong (translated)

    @classmethod
    def from_record(cls, record: TransactionRecord, shop: Shop, qr_base_url: str = "", **kw: Any) -> "Receipt":
        sale = record.body
        if not isinstance(sale, SaleBody):
            raise ValueError(f"only sales have receipts, not {sale.kind!r}")
        qr = qr_base_url + sale.receipt_token if qr_base_url else ""
        printed_at = kw.pop("printed_at", record.device_time[:16].replace("T", " "))
        return cls(shop, sale, f"{record.kiosk_id}/{record.seq:06d}", printed_at, qr, **kw)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Receipt":
        """{"shop": {...Shop fields}, "sale": {...SaleBody fields}, "transaction_no": ..., ...}"""
        shop = dict(data["shop"])
        for key in ("address", "footer"):
            if key in shop:
                shop[key] = tuple(shop[key])
        rest = {k: v for k, v in data.items() if k not in ("shop", "sale")}
        return cls(Shop(**shop), SaleBody.model_validate(data["sale"]), **rest)


LABELS = {"total": "TOTAL", "vat": "VAT", "net": "Net", "gross": "Gross", "card": "Card payment",
          "auth": "Auth code", "receipt_no": "Receipt no", "trace": "Trace", "terminal": "Terminal",
          "transaction": "Transaction", "vat_id": "VAT ID", "reversed": "REVERSED", "each": "each"}

_DIGITS = re.compile(r"\d")


def mask_pan(pan: str) -> str:
    """At most the first 6 and last 4 digits stay visible; everything else becomes '*'."""
    digits = _DIGITS.findall(pan)
    if not digits:
        return "*" * len(pan)
    if "*" in pan or "X" in pan:  # already masked: make sure no more than 6 + 4 digits show
        head = re.match(r"^\d{0,6}", pan).group()
        tail = re.search(r"\d{0,4}$", pan).group()
        return head + "*" * (len(pan) - len(head) - len(tail)) + tail
    if len(digits) <= 10:
        return "*" * max(0, len(digits) - 4) + "".join(digits[-4:])
    return "".join(digits[:6]) + "*" * (len(digits) - 10) + "".join(digits[-4:])


def money(minor: int, currency: str = "EUR", locale: str = "de_DE") -> str:
    """1234 -> "12,34" in the receipt's language, with the currency's own decimals (JPY none, KWD 3);
    the currency is shown once, on the total. kiosk.wire.format_amount: the kiosk's one money format."""
    return format_amount(minor, currency, locale, symbol=False)


def percent(basis_points: int, locale: str = "de_DE") -> str:
    return format_decimal(Decimal(basis_points) / 100, format="0.00", locale=locale) + "%"


class ReceiptBuilder:
    """Receipt -> ESC/POS bytes for one printer profile and paper width (in characters)."""

    def __init__(self, columns: int = 42, profile: str = "default", code_page: str = "auto") -> None:
        self.columns = columns
        self.profile = profile
        self.code_page = _pick_code_page(profile) if code_page == "auto" else code_page

    def build(self, receipt: Receipt) -> bytes:
        p = Dummy(profile=self.profile)
        p.hw("INIT")
        p.charcode(self.code_page)
        label = {**LABELS, **receipt.labels}.__getitem__
        sale, shop, w = receipt.sale, receipt.shop, self.columns
        loc = receipt.locale

        def fmt(minor: int) -> str:
            return money(minor, sale.currency, loc)

        if shop.logo:
            p._raw(_logo_bytes(shop.logo, self.profile))
        p.set(align="center", bold=True, double_height=True, double_width=True)
        _lines(p, _wrap(shop.name, w // 2))  # double width: half the characters fit
        p.set(align="center", normal_textsize=True)
        for line in shop.address:
            _lines(p, _wrap(line, w))
        if shop.vat_id:
            _lines(p, _wrap(f"{label('vat_id')} {shop.vat_id}", w))
        p.set(align="left")
        _textln(p, "-" * w)
        for line in sale.lines:
            if line.voided:
                continue
            amount = f"{fmt(line.total)} {line.vat_code}"
            _lines(p, _two(line.name, amount, w))
            if line.quantity > 1 and line.unit_price * line.quantity == line.total:
                _lines(p, _wrap(f"  {line.quantity} x {fmt(line.unit_price)}", w))
            elif line.unit_price * line.quantity != line.total:  # weighed: quantity in grams
                kg = format_decimal(Decimal(line.quantity) / 1000, format="0.000", locale=loc)
                _lines(p, _wrap(f"  {kg} kg x {fmt(line.unit_price)}/kg", w))
        _textln(p, "-" * w)
        p.set(bold=True, double_height=True)
        _lines(p, _two(label("total"), f"{fmt(sale.total)} {_symbol(sale.currency)}", w))
        p.set(bold=False, normal_textsize=True)
        _textln(p, "")
        rows = [[vat.code, percent(vat.rate, loc), fmt(vat.net), fmt(vat.vat), fmt(vat.gross)] for vat in sale.vat]
        _lines(p, _table([label("vat"), "%", label("net"), label("vat"), label("gross")], rows, w))
        for pay in sale.payments:
            _textln(p, "-" * w)
            title = label("card") + (f" {label('reversed')}" if pay.status == "reversed" else "")
            _lines(p, _two(title, f"{fmt(pay.amount)} {_symbol(sale.currency)}", w))
            if pay.brand or pay.masked_pan:
                _lines(p, _two(pay.brand, mask_pan(pay.masked_pan), w))
            for key, value in (("auth", pay.auth_code), ("receipt_no", pay.receipt_no), ("trace", pay.trace_no),
                               ("terminal", pay.terminal_id)):
                if value:
                    _lines(p, _two(label(key), value, w))
        _textln(p, "-" * w)
        _lines(p, _two(label("transaction"), receipt.transaction_no, w))
        if receipt.printed_at:
            _lines(p, _wrap(receipt.printed_at, w))
        if receipt.clock_note:
            _lines(p, _wrap(receipt.clock_note, w))
        if receipt.qr_url:
            p.set(align="center")
            p.qr(receipt.qr_url, native=True, size=4)
        p.set(align="center")
        for line in shop.footer:
            _lines(p, _wrap(line, w))
        p.cut()
        return p.output


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _textln(p: Dummy, text: str) -> None:
    """One printed line; control characters in data (an item name, a shop line) must never reach the
    printer as commands."""
    p.textln(_CONTROL.sub(" ", text))


def _symbol(currency: str) -> str:
    return {"EUR": "€", "GBP": "£", "USD": "$", "CHF": "CHF"}.get(currency, currency)


def _lines(p: Dummy, lines: list[str]) -> None:
    for line in lines:
        _textln(p, line)


def _wrap(text: str, width: int) -> list[str]:
    """`text` over as many lines of at most `width` characters as it needs (words longer than a line
    are split); never cut."""
    if len(text) <= width:
        return [text]
    return textwrap.wrap(text, max(1, width)) or [""]


def _two(left: str, right: str, width: int) -> list[str]:
    """`left` wrapped over full lines, `right` at the end of its last line when a space and `right` still
    fit there, else right-aligned on a line of its own. Nothing is cut."""
    lines = _wrap(left, width) if left else []
    right_lines = _wrap(right, width)
    if lines and len(lines[-1]) + 1 + len(right_lines[0]) <= width and len(right_lines) == 1:
        return lines[:-1] + [lines[-1] + right.rjust(width - len(lines[-1]))]
    return lines + [line.rjust(width) for line in right_lines]


def _table(header: list[str], rows: list[list[str]], width: int) -> list[str]:
    """Columns as wide as their widest cell, with at least one space between them. The first column is
    left-aligned, the others right-aligned; spare room is shared out between the columns. When a row does not
    fit on one line, its columns go over several lines (the same split for the header and every row),
    each continuation line right-aligned."""
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    groups: list[list[int]] = [[]]
    for i, w in enumerate(widths):
        used = sum(widths[j] + 1 for j in groups[-1])
        if groups[-1] and used + w > width:
            groups.append([])
        groups[-1].append(i)
    out = []
    for row in table:
        for n, group in enumerate(groups):
            cells = [row[i].rjust(widths[i]) for i in group]
            if n == 0:  # spare room shared out between the gaps, the odd dots to the first
                cells[0] = row[group[0]].ljust(widths[group[0]])
                gaps = len(group) - 1
                spare = max(0, width - sum(widths[i] for i in group) - gaps)
                pads = [1 + spare // gaps + (spare % gaps if k == 0 else 0) for k in range(gaps)] if gaps else []
                line = cells[0] + "".join(" " * pad + cell for pad, cell in zip(pads, cells[1:], strict=True))
            else:
                line = " ".join(cells).rjust(width)
            out.extend(_wrap(line, width) if len(line) > width else [line])
    return out


@lru_cache(maxsize=8)
def _pick_code_page(profile: str) -> str:
    supported = set(Dummy(profile=profile).profile.get_code_pages())
    for name in PREFERRED_CODE_PAGES:
        if name in supported:
            return name
    raise ValueError(f"printer profile {profile!r} has none of the code pages {', '.join(PREFERRED_CODE_PAGES)} "
                     "needed for €, ä, ö, ü, ß")


@lru_cache(maxsize=8)
def _logo_bytes(path: str, profile: str) -> bytes:
    p = Dummy(profile=profile)
    p.set(align="center")
    with contextlib.redirect_stdout(io.StringIO()):  # escpos prints a notice when the profile has no paper width
        p.image(path, center=False)
    return p.output
