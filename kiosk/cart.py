"""The customer's cart: lines added by scan, PLU or search; quantities; voids; age approval.

Voided lines stay in the cart (and the journal) marked as voided, as tills do, but count for
nothing. A line for an age-restricted item holds payment until an attendant approves it.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Mapping

from pydantic import ValidationError

from kiosk import gtin, wire
from kiosk.catalog import Catalog, Item
from kiosk.money import Money, VatLine, vat_summary

MAX_QUANTITY = 99


class CartError(Exception):
    """A cart operation that cannot be done; `code` names it for translation, str() explains it."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class CartLine:
    line_no: int
    item: Item
    unit_price: int
    quantity: int = 1
    price_embedded: bool = False  # the price came from the barcode: one line per label, quantity fixed
    voided: bool = False
    approved_by: str | None = None

    @property
    def total(self) -> int:
        return 0 if self.voided else self.unit_price * self.quantity

    @property
    def needs_approval(self) -> bool:
        return not self.voided and self.item.min_age > 0 and self.approved_by is None


@dataclass
class Cart:
    catalog: Catalog
    vat_rates: Mapping[str, int]  # code -> basis points
    currency: str
    sale_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    lines: list[CartLine] = field(default_factory=list)

    # --- adding -------------------------------------------------------------------------------

    def add_scan(self, code: str, upce: bool = False) -> CartLine:
        try:
            found = self.catalog.lookup_code(code, upce=upce)
        except gtin.InvalidCode as exc:
            raise CartError("invalid_code", str(exc)) from None
        if found is None:
            raise CartError("unknown_item", f"no item with code {code}")
        item, embedded_price = found
        if embedded_price is not None:
            return self._new_line(item, embedded_price, price_embedded=True)
        return self.add_item(item)

    def add_plu(self, plu: str) -> CartLine:
        item = self.catalog.by_plu(plu)
        if item is None:
            raise CartError("unknown_item", f"no item with PLU {plu}")
        return self.add_item(item)

    def add_item(self, item: Item) -> CartLine:
        """One more of `item`: the open line for it grows, or a new line starts."""
        for line in self.lines:
            if line.item.id == item.id and not line.voided and not line.price_embedded:
                return self.set_quantity(line.line_no, line.quantity + 1)
        return self._new_line(item, item.price)

    def _new_line(self, item: Item, price: int, price_embedded: bool = False) -> CartLine:
        if item.vat_code not in self.vat_rates:
            raise CartError("bad_item", f"item {item.key} has VAT code {item.vat_code}, which is not configured")
        line = CartLine(len(self.lines) + 1, item, price, price_embedded=price_embedded)
        self.lines.append(line)
        return line

    # --- changing -----------------------------------------------------------------------------

    def line(self, line_no: int) -> CartLine:
        if not 1 <= line_no <= len(self.lines) or self.lines[line_no - 1].voided:
            raise CartError("no_line", f"there is no line {line_no} in the cart")
        return self.lines[line_no - 1]

    def set_quantity(self, line_no: int, quantity: int) -> CartLine:
        line = self.line(line_no)
        if quantity < 1:
            raise CartError("bad_quantity", "quantity must be at least 1; void the line to remove it")
        if quantity > MAX_QUANTITY:
            raise CartError("bad_quantity", f"at most {MAX_QUANTITY} of one item")
        if line.price_embedded and quantity != 1:
            raise CartError("fixed_quantity", "a weighed or price-labelled item is scanned once per label")
        line.quantity = quantity
        return line

    def void_line(self, line_no: int) -> CartLine:
        line = self.line(line_no)
        line.voided = True
        return line

    def restore_line(self, line_no: int) -> CartLine:
        """Undoes a void: the line counts again, as it was."""
        if not 1 <= line_no <= len(self.lines) or not self.lines[line_no - 1].voided:
            raise CartError("no_line", f"there is no removed line {line_no} in the cart")
        line = self.lines[line_no - 1]
        line.voided = False
        return line

    def approve_age(self, approver: str) -> list[CartLine]:
        """An attendant has checked the customer's age: every waiting line is approved."""
        waiting = self.awaiting_approval
        for line in waiting:
            line.approved_by = approver
        return waiting

    # --- reading ------------------------------------------------------------------------------

    @property
    def active_lines(self) -> list[CartLine]:
        return [line for line in self.lines if not line.voided]

    @property
    def awaiting_approval(self) -> list[CartLine]:
        return [line for line in self.lines if line.needs_approval]

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.active_lines)

    @property
    def total(self) -> Money:
        return Money(sum(line.total for line in self.lines), self.currency)

    def vat(self) -> list[VatLine]:
        return vat_summary((line.item.vat_code, self.vat_rates[line.item.vat_code], line.total)
                           for line in self.active_lines)

    @property
    def can_pay(self) -> bool:
        return bool(self.active_lines) and not self.awaiting_approval and self.total.amount > 0

    def draft(self, language: str, receipt_token: str) -> wire.SaleDraft:
        """The sale as the journal keeps it with a payment intent, validated against the wire schema:
        CartError("invalid_sale") if the server would refuse it (checked before anything is charged)."""
        try:
            return wire.SaleDraft(
                currency=self.currency, total=self.total.amount, receipt_token=receipt_token,
                lines=[{"line_no": line.line_no, "item_id": line.item.key, "name": line.item.name(language),
                        "quantity": line.quantity, "unit_price": line.unit_price, "total": line.total,
                        "vat_code": line.item.vat_code, "vat_rate": self.vat_rates.get(line.item.vat_code, -1),
                        "voided": line.voided, "age_approved_by": line.approved_by} for line in self.lines],
                vat=[vars(v) for v in self.vat()])
        except (ValidationError, KeyError) as exc:  # KeyError: a VAT code without a rate
            raise CartError("invalid_sale", f"the sale does not fit the wire schema: {exc}") from None
