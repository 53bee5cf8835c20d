"""Money in integer minor units, VAT-inclusive prices and the per-rate VAT split.

Rounding rules (the only places where division happens):
1. Line totals are exact: unit price (minor units) x quantity. Weighed items are priced per kg and
   their line total is `price_per_kg * grams / 1000`, rounded half up (commercial rounding).
2. VAT is computed once per rate on the sum of that rate's VAT-inclusive line totals, never per line:
   vat = gross * rate / (100 % + rate), rounded half up; net = gross - vat. So for every rate
   net + vat == gross exactly, and the receipt total is exactly the sum of the lines.
3. "Half up" means half away from zero, so a refund (negative amount) mirrors its sale.
Rates are integer basis points (19 % = 1900): no floats anywhere.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Iterable

from kiosk.wire import minor_digits  # noqa: F401 (one place: how amounts are represented)

BASIS = 10_000  # basis points in 100 %


def div_round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, halves away from zero."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return sign * quotient


def vat_in_gross(gross: int, rate_bp: int) -> int:
    """The VAT contained in a VAT-inclusive amount."""
    return div_round_half_up(gross * rate_bp, BASIS + rate_bp)


def weighed_total(price_per_kg: int, grams: int) -> int:
    return div_round_half_up(price_per_kg * grams, 1000)




_PLAIN_AMOUNT = re.compile(r"(\d{1,12})(?:\.(\d{1,3}))?")


def parse_amount(text: str, currency: str) -> int:
    """"1.99" in major units to 199 minor units; refuses more decimals than the currency has."""
    digits = minor_digits(currency)
    plain = _PLAIN_AMOUNT.fullmatch(text) if isinstance(text, str) else None
    if plain and len(plain[2] or "") <= digits:  # the common case, without Decimal
        return int(plain[1]) * 10 ** digits + int((plain[2] or "").ljust(digits, "0") or 0)
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise ValueError(f"expected an amount such as \"1.99\", got {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"expected an amount such as \"1.99\", got {text!r}")
    scaled = value.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{currency} amounts have at most {digits} decimals, got {text!r}")
    return int(scaled)


@dataclass(frozen=True)
class Money:
    amount: int  # minor units
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError(f"Money amount must be an int of minor units, got {type(self.amount).__name__}")

    def _same(self, other: "Money") -> None:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {getattr(other, 'currency', other)!r}")

    def __add__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int) -> "Money":
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError("Money can only be multiplied by an integer")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    def major_str(self) -> str:
        """Plain decimal text in major units ("12.34"), for logs and files; the UI formats per locale."""
        digits = minor_digits(self.currency)
        return str(Decimal(self.amount).scaleb(-digits).quantize(Decimal(1).scaleb(-digits)))


@dataclass(frozen=True)
class VatLine:
    code: str
    rate: int  # basis points
    gross: int
    net: int
    vat: int


def vat_summary(lines: Iterable[tuple[str, int, int]]) -> list[VatLine]:
    """(vat code, rate in basis points, VAT-inclusive amount) per line -> one VatLine per code."""
    gross_by_code: dict[str, int] = {}
    rate_by_code: dict[str, int] = {}
    for code, rate, gross in lines:
        if rate_by_code.setdefault(code, rate) != rate:
            raise ValueError(f"VAT code {code} has two rates: {rate_by_code[code]} and {rate}")
        gross_by_code[code] = gross_by_code.get(code, 0) + gross
    summary = []
    for code in sorted(gross_by_code):
        gross, rate = gross_by_code[code], rate_by_code[code]
        vat = vat_in_gross(gross, rate)
        summary.append(VatLine(code, rate, gross, gross - vat, vat))
    return summary
