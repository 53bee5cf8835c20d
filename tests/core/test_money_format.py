"""One money formatter (kiosk.wire.format_amount) for the kiosk's screens, its receipts and the server's
receipt page: the locale's way of writing numbers, the currency's own minor units (Babel's precision)."""
import pytest

from devices.receipt import Receipt, ReceiptBuilder, Shop, money
from kiosk.i18n import Translator
from kiosk.wire import Payment, SaleBody, SaleLine, VatSummary, format_amount, minor_digits

NBSP = "\xa0"


@pytest.mark.parametrize("currency, digits", [("EUR", 2), ("JPY", 0), ("KWD", 3), ("CHF", 2)])
def test_minor_units_come_from_babel(currency, digits):
    assert minor_digits(currency) == digits


@pytest.mark.parametrize("currency, locale, text, number", [
    ("EUR", "de_DE", f"1.234,56{NBSP}€", "1.234,56"),
    ("EUR", "en_IE", "€1,234.56", "1,234.56"),
    ("EUR", "nl_NL", f"€{NBSP}1.234,56", "1.234,56"),
    ("JPY", "de_DE", f"123.456{NBSP}¥", "123.456"),     # no decimals: 123456 yen, not 1234,56
    ("JPY", "en", "¥123,456", "123,456"),
    ("KWD", "en", "KWD123.456", "123.456"),             # three decimals: 123 dinar 456 fils
    ("KWD", "de_DE", f"123,456{NBSP}KWD", "123,456"),
])
def test_format_amount(currency, locale, text, number):
    assert format_amount(123456, currency, locale) == text
    assert format_amount(123456, currency, locale, symbol=False) == number
    assert format_amount(-123456, currency, locale, symbol=False) == "-" + number


@pytest.mark.parametrize("lang, text", [("de", f"12,34{NBSP}€"), ("en", "€12.34"), ("nl", f"€{NBSP}12,34")])
def test_the_kiosk_shows_euros_in_the_customers_language(lang, text):
    assert Translator(["en", "de", "nl"]).money(1234, "EUR", lang) == text


@pytest.mark.parametrize("currency, minor, text", [("EUR", 1234, "12,34"), ("JPY", 1234, "1.234"),
                                                    ("KWD", 1234, "1,234")])
def test_receipt_money_has_the_currencys_decimals(currency, minor, text):
    assert money(minor, currency) == text  # German by default


def _receipt(currency: str, locale: str, total: int) -> Receipt:
    line = SaleLine(line_no=1, item_id="PLU:1", name="Tea", quantity=2, unit_price=total // 2, total=total,
                    vat_code="A", vat_rate=1900)
    vat = VatSummary(code="A", rate=1900, net=total - total * 19 // 119, vat=total * 19 // 119, gross=total)
    sale = SaleBody(currency=currency, total=total, lines=[line], vat=[vat],
                    payments=[Payment(method="card", amount=total, status="approved")], receipt_token="t")
    return Receipt(Shop("Shop"), sale, "k/000001", locale=locale)


@pytest.mark.parametrize("currency, locale, total, each, rate", [
    ("EUR", "en_IE", "1,234.56", "617.28", "19.00%"),
    ("EUR", "de_DE", "1.234,56", "617,28", "19,00%"),
    ("EUR", "nl_NL", "1.234,56", "617,28", "19,00%"),
    ("JPY", "en_IE", "123,456", "61,728", "19.00%"),
])
def test_the_receipt_is_printed_in_the_customers_language(currency, locale, total, each, rate):
    text = ReceiptBuilder(columns=42).build(_receipt(currency, locale, 123456)).decode("cp858", "replace")
    assert f"{total} A" in text and f"2 x {each}" in text and rate in text
