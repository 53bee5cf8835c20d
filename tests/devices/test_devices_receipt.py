"""Receipt data: built from the journal's transaction record, card numbers masked, € and umlauts in the code page."""
import pytest

from devices.receipt import Receipt, ReceiptBuilder, mask_pan, money
from devices.sim.escpos import EscPosParser
from devices.sim.samples import SHOP, sample_sale
from kiosk.wire import CheckinBody, TransactionRecord

RECORD = dict(uuid="0f8e7b3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b", kiosk_id="kiosk-007", seq=42, boot_id="b1",
              device_time="2026-11-23T15:40:12+01:00")


@pytest.mark.parametrize("pan, masked", [
    ("4111111111111111", "411111******1111"),
    ("4111 1111 1111 1111", "411111******1111"),
    ("672559******1234", "672559******1234"),
    ("6725591234567890123", "672559*********0123"),
    ("41111111111111111111XXXX1111", "411111******************1111"),
    ("1234", "1234"),
    ("123456789", "*****6789"),
    ("", ""),
])
def test_card_numbers_show_at_most_first_six_and_last_four(pan, masked):
    assert mask_pan(pan) == masked


def test_receipt_from_the_journal_record():
    record = TransactionRecord(**RECORD, body=sample_sale())
    receipt = Receipt.from_record(record, SHOP, qr_base_url="https://shop.example/r/")
    assert receipt.transaction_no == "kiosk-007/000042"
    assert receipt.printed_at == "2026-11-23 15:40"
    assert receipt.qr_url == "https://shop.example/r/q7Vx3kPz9Lw2"
    with pytest.raises(ValueError, match="only sales"):
        Receipt.from_record(TransactionRecord(**RECORD, body=CheckinBody(booking_code="X", party_size=1,
                                                                         ticket_no=1)), SHOP)


def test_receipt_from_a_plain_dict():
    receipt = Receipt.from_dict({"shop": {"name": "Kiosk", "address": ["Straße 1"]},
                                 "sale": sample_sale(2).model_dump(), "transaction_no": "k/1"})
    assert receipt.shop.address == ("Straße 1",) and len(receipt.sale.lines) == 2


def test_euro_and_umlauts_go_through_the_code_page():
    data = ReceiptBuilder().build(Receipt(SHOP, sample_sale(1), "k/1"))
    assert b"\x1bt\x13" in data  # ESC t 19: CP858
    assert "€".encode("cp858") in data and "ß".encode("cp858") in data
    parser = EscPosParser()
    parser.feed(data)
    assert "Bäckerei Süß" in parser.documents[0].text and "€" in parser.documents[0].text


def test_money_is_formatted_from_minor_units():
    assert [money(v) for v in (0, 5, 1234, -99, 123456789)] == ["0,00", "0,05", "12,34", "-0,99", "1.234.567,89"]


def test_control_characters_in_data_never_become_printer_commands():
    sale = sample_sale(1)
    name = "Tee\x1b@\x1dV\x00\x10\x04\x01"
    sale = sale.model_copy(update={"lines": [sale.lines[0].model_copy(update={"name": name})]})
    parser = EscPosParser()
    parser.feed(ReceiptBuilder().build(Receipt(SHOP, sale, "k/1")))
    [doc] = parser.documents  # no extra cut from the name
    assert any(line.startswith("Tee @ V") for line in doc.lines)
    assert "ß" in doc.text  # no reset to code page 437 either


# -- issue 13: layout at every paper width -------------------------------------------------------

NAMES = ["Bio-Vollkornbrot mit Sonnenblumenkernen und Kürbiskernen 750g",  # 60 characters, with spaces
         "X" * 60,  # one word longer than any line
         "Ein sehr langer Artikelname der umbricht ÄÖÜ äöü ß € 12345 ok"]


def _big_sale():
    """Totals up to 99.999.999,99 (9,999,999,999 minor units) and 60-character names."""
    from kiosk.wire import Payment, SaleBody, SaleLine, VatSummary
    amounts = [9_999_999_999, 1_154_939, 123_456_789]
    lines = [SaleLine(line_no=i + 1, item_id=f"PLU:{i}", name=name, quantity=1, unit_price=amount, total=amount,
                      vat_code="AB"[i % 2], vat_rate=(1900, 700)[i % 2])
             for i, (name, amount) in enumerate(zip(NAMES, amounts, strict=True))]
    vat = [VatSummary(code="A", rate=1900, gross=9_999_999_999, net=8_403_361_344, vat=1_596_638_655),
           VatSummary(code="B", rate=700, gross=1_235_785, net=1_154_939, vat=80_846)]
    pay = Payment(method="card", amount=9_999_999_999, status="approved", brand="VISA",
                  masked_pan="411111******1111")
    return SaleBody(currency="EUR", total=9_999_999_999, lines=lines, vat=vat, payments=[pay], receipt_token="t")


def _rendered(columns):
    from devices.sim.escpos import Line
    from devices.sim.render import to_text
    sale = _big_sale()
    parser = EscPosParser()
    parser.feed(ReceiptBuilder(columns=columns).build(Receipt(SHOP, sale, "kiosk-001/000123", "23.11.2026 15:40")))
    [doc] = parser.documents
    assert parser.errors == []
    widths = [sum(len(run.text) * run.width for run in item.runs) for item in doc.items if isinstance(item, Line)]
    return sale, doc, to_text(doc, columns).splitlines()[:-1], widths  # without the "(cut)" marker


@pytest.mark.parametrize("columns", [32, 42, 48, 56])
def test_every_line_fits_the_paper(columns):
    _, _, lines, widths = _rendered(columns)
    assert max(widths) <= columns
    assert all(len(line) <= columns for line in lines), "\n".join(line for line in lines if len(line) > columns)


@pytest.mark.parametrize("columns", [32, 42, 48, 56])
def test_vat_table_amounts_are_separated_and_complete(columns):
    """Issue 13: '7,00%11.549,39   808,4612.357,85' -- 9+ character amounts ran together."""
    sale, _, lines, _ = _rendered(columns)
    words = " ".join(lines).split()
    for vat in sale.vat:
        for amount in (vat.net, vat.vat, vat.gross):
            assert money(amount) in words, (money(amount), lines)
    assert "7,00%" in words and "19,00%" in words
    assert f"{money(sale.total)}" in words and money(9_999_999_999) == "99.999.999,99"


@pytest.mark.parametrize("columns", [32, 42, 48, 56])
def test_long_item_names_wrap_instead_of_being_cut(columns):
    import re
    sale, _, lines, _ = _rendered(columns)
    squeezed = re.sub(r"\s+", "", "".join(lines))
    for line in sale.lines:
        assert re.sub(r"\s+", "", line.name) + money(line.total) + line.vat_code in squeezed, line.name
        assert money(line.total) in " ".join(lines).split()


def test_a_clock_note_is_printed_under_the_date_and_wraps():
    note = "This kiosk's clock may be wrong: the date and time above may not be correct."
    parser = EscPosParser()
    parser.feed(ReceiptBuilder(columns=32).build(Receipt(SHOP, sample_sale(1), "k/1", printed_at="2027-12-01 22:30",
                                                         clock_note=note)))
    text = parser.documents[0].text
    assert " ".join(text.split()).count(note) == 1
    assert text.index("2027-12-01 22:30") < text.index("This kiosk's clock")
    assert all(len(line) <= 32 for line in text.splitlines())
    plain = EscPosParser()
    plain.feed(ReceiptBuilder(columns=32).build(Receipt(SHOP, sample_sale(1), "k/1", printed_at="2027-12-01 22:30")))
    assert "clock" not in plain.documents[0].text
