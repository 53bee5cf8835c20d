"""GTIN normalisation: UPC-A, UPC-E, EAN-8, EAN-13 and GTIN-14 to one 14-digit key.

Every accepted code has its GS1 check digit verified. Price-embedded (variable-measure) EAN-13s,
prefix 2, are laid out `2P IIIII VVVVV C`: an item reference and a value (the price in minor units);
the catalog stores such items under their base key, the code with the value zeroed.
"""
from __future__ import annotations

from dataclasses import dataclass


class InvalidCode(ValueError):
    """A code that is not a valid GTIN; the message says why."""


def check_digit(body: str) -> str:
    """GS1 mod-10 check digit for the digits before it (weights 3,1,3,... from the right)."""
    total = 3 * sum(map(int, body[-1::-2])) + sum(map(int, body[-2::-2]))
    return str(-total % 10)


def upce_body(number_system: str, digits: str) -> str:
    """The 11 digits of the UPC-A that the 6 UPC-E `digits` stand for, before the check digit."""
    d1, d2, d3, d4, d5, d6 = digits
    if d6 in "012":
        body = f"{d1}{d2}{d6}0000{d3}{d4}{d5}"
    elif d6 == "3":
        body = f"{d1}{d2}{d3}00000{d4}{d5}"
    elif d6 == "4":
        body = f"{d1}{d2}{d3}{d4}00000{d5}"
    else:
        body = f"{d1}{d2}{d3}{d4}{d5}0000{d6}"
    return number_system + body


def expand_upce(code: str) -> str:
    """A UPC-E code (6 digits, or 8 with number system and check digit) to its 12-digit UPC-A."""
    if len(code) == 6:
        number_system, digits, check = "0", code, None
    elif len(code) == 8:
        number_system, digits, check = code[0], code[1:7], code[7]
    else:
        raise InvalidCode(f"UPC-E has 6 or 8 digits, got {len(code)}")
    if not code.isdigit():
        raise InvalidCode(f"UPC-E must be digits only, got {code!r}")
    if number_system not in "01":
        raise InvalidCode(f"UPC-E number system must be 0 or 1, got {number_system}")
    upc_a = upce_body(number_system, digits)
    expected = check_digit(upc_a)
    if check is not None and check != expected:
        raise InvalidCode(f"bad check digit in UPC-E {code}: expected {expected}, got {check}")
    return upc_a + expected


_LENGTHS = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13", 14: "GTIN-14"}


def normalize(code: str, upce: bool = False) -> str:
    """Any GTIN to its 14-digit key. `upce=True` reads 6/8-digit codes as UPC-E (the scanner says so
    through its symbology identifier); otherwise 8 digits are EAN-8."""
    code = code.strip()
    if not code.isdigit() or not code.isascii():
        raise InvalidCode(f"a GTIN has digits only, got {code!r}")
    if upce or len(code) == 6:
        code = expand_upce(code)
    kind = _LENGTHS.get(len(code))
    if kind is None:
        raise InvalidCode(f"a GTIN has 8, 12, 13 or 14 digits, got {len(code)}")
    expected = check_digit(code[:-1])
    if code[-1] != expected:
        raise InvalidCode(f"bad check digit in {kind} {code}: expected {expected}, got {code[-1]}")
    return code.zfill(14)


def is_valid(code: str) -> bool:
    try:
        normalize(code)
    except InvalidCode:
        return False
    return True


@dataclass(frozen=True)
class PriceEmbedded:
    base_key: str  # the catalog key: the GTIN-14 with the value zeroed and the check digit redone
    value: int  # price in minor units


def price_embedded(key: str, prefixes: tuple[str, ...] | list[str]) -> PriceEmbedded | None:
    """Split a normalised key into base key and embedded price, if it is a price-embedded EAN-13."""
    if not key.startswith("0") or key[1:3] not in prefixes:
        return None
    ean13 = key[1:]
    body = ean13[:7] + "00000"
    return PriceEmbedded(("0" + body + check_digit(body)), int(ean13[7:12]))
