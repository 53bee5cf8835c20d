"""Catalog row validation: a raw row (CSV cells or a JSON object) to the catalog's columns, or the
reason it is refused. Shared by the file import (kiosk.catalog.importer) and the server's catalog
deltas (kiosk.sync)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from kiosk import gtin
from kiosk.money import parse_amount

@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)


class RowInvalid(ValueError):
    pass


class ImportRefused(RowInvalid):
    """An import with no good rows: the old catalog stays (issue 14). `report` says why each row was refused."""

    def __init__(self, message: str, report: ImportReport) -> None:
        super().__init__(message)
        self.report = report


PLAIN_PRICE = re.compile(r"-?[0-9]+(\.[0-9]+)?")  # not 1e3, not "1,99", not " 1_000", not "Infinity"
MAX_PRICE_DIGITS = 9  # 999,999,999.99: more is a typo (and 1e30 overflowed SQLite's integers)


def normalize_plu(plu: str) -> str:
    """PLUs are numbers: "04131" and "4131" are the same item."""
    return plu.strip().lstrip("0") or "0"


def names_json(names: dict[str, str], _quote=json.encoder.encode_basestring) -> str:
    """json.dumps(names) for a dict of strings, compact, at a fraction of its cost."""
    return "{" + ",".join(f"{_quote(lang)}:{_quote(name)}" for lang, name in names.items()) + "}"


class ItemValidator:
    """Turns a raw row (CSV cells, or a JSON object) into catalog columns, or says what is wrong.

    Written for speed: a 1,000,000-row import spends most of its time here."""

    def __init__(self, vat_codes: Iterable[str], currency: str, languages: Iterable[str]):
        self.vat_codes = frozenset(vat_codes)
        self.currency = currency
        self.languages = tuple(languages)

    def __call__(self, row: Mapping[str, Any]) -> tuple:
        """A JSON object (or any mapping) with keys gtin, plu, names or name_<lang>, price, vat, min_age, image."""
        given = row.get("names")
        if given is None:
            names = {lang: _text(row, f"name_{lang}") for lang in self.languages}
        elif isinstance(given, dict):
            names = {str(k): v.strip() for k, v in given.items() if isinstance(v, str)}
        else:
            raise RowInvalid(f"names: expected an object such as {{\"en\": \"Milk\"}}, got {json.dumps(given)}")
        price = row.get("price")
        if not isinstance(price, str):
            raise RowInvalid(f"price: expected a decimal amount such as \"1.99\", got {json.dumps(price)}")
        return self.columns(_text(row, "gtin"), _text(row, "plu"), names, price.strip(), _text(row, "vat"),
                            _text(row, "min_age"), _text(row, "image"))

    def csv_rows(self, header: list[str]) -> Callable[[list[str]], tuple]:
        """A validator for CSV records with this header: cells by position, no dict per row."""
        where = {name: index for index, name in enumerate(header)}
        names = tuple((lang, where[f"name_{lang}"]) for lang in self.languages if f"name_{lang}" in where)
        fields = [where.get(name) for name in ("gtin", "plu", "price", "vat", "min_age", "image")]
        width = max(where.values()) + 1

        def validate(cells: list[str]) -> tuple:
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            gtin_, plu, price, vat, min_age, image = (cells[i].strip() if i is not None else "" for i in fields)
            return self.columns(gtin_, plu, {lang: cells[i].strip() for lang, i in names}, price, vat, min_age, image)
        return validate

    def columns(self, code: str, plu: str, names: dict[str, str], price_text: str, vat: str, min_age: str,
                image: str) -> tuple:
        if not code and not plu:
            raise RowInvalid("needs a gtin or a plu")
        key = None
        if code:
            if len(code) == 13 and code.isdigit() and code.isascii() and gtin.check_digit(code[:12]) == code[12]:
                key = "0" + code  # the usual EAN-13, without the general path's overhead
            else:
                try:
                    key = gtin.normalize(code)
                except gtin.InvalidCode as exc:
                    raise RowInvalid(f"gtin: {exc}") from None
        if plu:
            if not (plu.isdigit() and plu.isascii() and len(plu) <= 6):
                raise RowInvalid(f"plu: expected 1 to 6 digits, got {plu!r}")
            plu = normalize_plu(plu)
        names = {lang: name for lang, name in names.items() if name}
        if not names:
            raise RowInvalid(f"needs a name in at least one of {', '.join(self.languages)}")
        if max(map(len, names.values())) > 120:
            raise RowInvalid("name: longer than 120 characters")
        for lang, name in names.items():
            if name.startswith(("=", "@")):  # =HYPERLINK(...) is a spreadsheet formula, not a product name
                raise RowInvalid(f"name_{lang}: looks like a spreadsheet formula, got {name[:40]!r}")
        if not PLAIN_PRICE.fullmatch(price_text):
            raise RowInvalid(f"price: expected an amount such as \"1.99\", got {price_text[:40]!r}")
        if len(price_text.lstrip("-").split(".")[0].lstrip("0")) > MAX_PRICE_DIGITS:
            raise RowInvalid(f"price: more than {MAX_PRICE_DIGITS} digits before the decimal point, "
                             f"got {price_text[:40]!r}")
        try:
            price = parse_amount(price_text, self.currency)
        except ValueError as exc:
            raise RowInvalid(f"price: {exc}") from None
        if price < 0:
            raise RowInvalid(f"price: must not be negative, got {price_text!r}")
        if vat not in self.vat_codes:
            raise RowInvalid(f"vat: expected one of {', '.join(sorted(self.vat_codes))}, got {vat!r}")
        if min_age and not (min_age.isdigit() and int(min_age) <= 99):
            raise RowInvalid(f"min_age: expected a whole number of years 0-99, got {min_age!r}")
        return (key, plu or None, names_json(names), " ".join(names.values()), price, vat,
                int(min_age or 0), image)


def _text(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int):
        raise RowInvalid(f"{key}: expected text, got {json.dumps(value)}")
    return str(value)
