"""Hypothesis throws generated input at every device parser: at least 10,000 inputs per parser per run.

Each parser must never raise on any input (only its documented "bad input" exception), must not depend
on how the bytes are chunked, and must give back what a well-formed input put in.
"""
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.base import DeviceError
from devices.codes import BadCode, check_digit, classify
from devices.hid import KeyAssembler, US_KEYS
from devices.printer import PrinterStatus, decode_status
from devices.receipt import ReceiptBuilder, Receipt, mask_pan
from devices.code_reader import LineAssembler
from devices.sim.console import Console
from devices.sim.escpos import EscPosParser
from devices.sim.samples import SHOP
from kiosk.wire import Payment, SaleBody, SaleLine, VatSummary

# Hypothesis costs about a millisecond per example on a loaded 2-core machine, so each example carries
# BATCH inputs: EXAMPLES * BATCH = 10,000 generated inputs per parser per run.
EXAMPLES, BATCH = 1_000, 10
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def batch(strategy):
    return st.lists(strategy, min_size=BATCH, max_size=BATCH)
AIMS = st.sampled_from(["", "]E0", "]E4", "]C0", "]C1", "]Q1", "]Q3", "]d1", "]d2", "]e0", "]A0", "]X0", "]Z9"])
CODE_TEXT = st.one_of(st.text(max_size=60), st.text(alphabet="0123456789\x1d", max_size=40),
                      st.text(alphabet=string.ascii_uppercase + string.digits + ":-", max_size=24))


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


# -- codes: classify --------------------------------------------------------------------------------

@FUZZ
@given(batch(st.tuples(AIMS, CODE_TEXT)))
def test_classify_never_fails_on_any_text(inputs):
    for aim, text in inputs:
        try:
            code = classify(aim + text)
        except BadCode as exc:
            assert str(exc)
            continue
        assert code.text and code.category in ("product", "gs1", "booking", "qr", "text")
        assert code.valid or code.problem
        if code.gtin:
            assert len(code.gtin) == 14 and code.gtin.isdigit()


@settings(max_examples=2_000, deadline=None, database=None)
@given(st.text(alphabet="0123456789", min_size=12, max_size=12), st.integers(1, 9))
def test_ean13_check_digit_is_validated(body, wrong):
    good = body + str(check_digit(body))
    bad = body + str((check_digit(body) + wrong) % 10)
    assert classify("]E0" + good).valid and classify("]E0" + good).gtin == "0" + good
    assert not classify("]E0" + bad).valid and "check digit" in classify("]E0" + bad).problem


@settings(max_examples=2_000, deadline=None, database=None)
@given(st.sampled_from("01"), st.text(alphabet="0123456789", min_size=6, max_size=6), st.integers(0, 9))
def test_scanned_upce_gets_the_catalog_key_kiosk_gtin_gives(number_system, digits, check):
    """One rule: the scanner's classification and the catalog's normalisation agree on every UPC-E."""
    from kiosk import gtin
    code = f"{number_system}{digits}{check}"
    found = classify("]E0" + code)
    try:
        key = gtin.normalize(code, upce=True)
    except gtin.InvalidCode:
        assert not found.valid and "check digit" in found.problem
    else:
        assert found.valid and found.symbology == "UPC-E" and found.gtin == key


# -- scanner: byte stream to lines --------------------------------------------------------------------

@FUZZ
@given(batch(st.tuples(st.binary(max_size=200), st.lists(st.integers(0, 200), max_size=5))),
       st.sampled_from(["CR", "CRLF", "TAB"]))
def test_scanner_framing_is_chunking_independent_and_never_fails(inputs, suffix):
    for data, cuts in inputs:
        check_scanner_framing(data, cuts, suffix)


def check_scanner_framing(data, cuts, suffix):
    whole = list(LineAssembler(suffix, max_length=64).feed(data, now=0.0))
    pieces = LineAssembler(suffix, max_length=64)
    split = [item for chunk in chunked(data, cuts) for item in pieces.feed(chunk, now=0.0)]
    assert split == whole
    for what, value in whole:
        if what == "line":
            assert value and len(value) <= 64 and not set(value) & set(b"\t" if suffix == "TAB" else b"\r\n")
            try:
                classify(value.decode("latin-1"))
            except BadCode:
                pass
        else:
            assert "discarded" in value
    assert all(what == "error" for what, _ in pieces.expire(now=5.0))


# -- printer: status replies and the ESC/POS stream ----------------------------------------------------

BYTE = st.integers(0, 255)


@FUZZ
@given(batch(st.tuples(BYTE, BYTE, BYTE)))
def test_status_replies_decode_or_give_a_clear_error(inputs):
    for b1, b2, b4 in inputs:
        try:
            status = decode_status(b1, b2, b4)
        except DeviceError as exc:
            assert "malformed reply" in str(exc)
            continue
        assert isinstance(status, PrinterStatus) and status.paper in ("ok", "near_end", "out")


def test_status_bits_decode_like_an_epson_printer():
    assert decode_status(0x12, 0x12, 0x12) == PrinterStatus()
    assert decode_status(0x12, 0x12, 0x1E).paper == "near_end"
    assert decode_status(0x1A, 0x32, 0x72) == PrinterStatus(online=False, paper="out")
    assert decode_status(0x1A, 0x16, 0x12).problem == "cover open"


ESCPOS_BYTES = st.one_of(st.binary(max_size=120), st.lists(st.sampled_from(
    [b"\x1b", b"\x1d", b"\x1c", b"\x10", b"\x04", b"\x0a", b"(", b"k", b"v", b"0", b"V", b"t", b"\x13", b"A", b"\x00",
     b"\xff", b"\xd5", b"!", b"E", b"\x01", b"\x03", b"1", b"P", b"Q", b"&", b"*", b"L", b"p", b"2", b"8", b"I",
     b"{C", b"\x1c&", b"\x1c.", b"\x1b&\x01AB", b"\x1d(L", b"\x1b*!", b"\x1dkI", b"\x1c", b"\x81"]),
    max_size=60).map(b"".join))


@FUZZ
@given(batch(st.tuples(ESCPOS_BYTES, st.lists(st.integers(0, 120), max_size=4))))
def test_escpos_parser_survives_any_bytes_in_any_chunking(inputs):
    for data, cuts in inputs:
        check_escpos_chunking(data, cuts)


def check_escpos_chunking(data, cuts):
    answers_whole, answers_split = [], []
    whole = EscPosParser(answer=answers_whole.append)
    whole.feed(data)
    split = EscPosParser(answer=answers_split.append)
    for chunk in chunked(data, cuts):
        split.feed(chunk)
    assert [d.text for d in split.documents] == [d.text for d in whole.documents]
    assert split.current.text == whole.current.text and answers_split == answers_whole
    assert split.errors == whole.errors


ITEM_NAME = st.text(alphabet=string.ascii_letters + " äöüÄÖÜß€.,-%/", min_size=1, max_size=30)


@st.composite
def sales(draw):
    lines = []
    for i in range(draw(st.integers(1, 8))):
        qty, price = draw(st.integers(1, 20)), draw(st.integers(0, 100_000))
        lines.append(SaleLine(line_no=i + 1, item_id=f"PLU:{i}", name=draw(ITEM_NAME).strip() or "x",
                              quantity=qty, unit_price=price, total=qty * price, vat_code="A", vat_rate=1900))
    total = sum(line.total for line in lines)
    pan = draw(st.text(alphabet="0123456789", min_size=12, max_size=19))
    payment = Payment(method="card", amount=total, status="approved", brand="VISA", masked_pan=mask_pan(pan),
                      auth_code=draw(st.text(alphabet=string.digits, min_size=6, max_size=6)))
    vat = VatSummary(code="A", rate=1900, gross=total, net=round(total / 1.19), vat=total - round(total / 1.19))
    return SaleBody(currency="EUR", total=total, lines=lines, vat=[vat], payments=[payment], receipt_token="t"), pan


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(sales())
def test_any_receipt_round_trips_through_the_printer_parser(sale_and_pan):
    sale, pan = sale_and_pan
    builder = ReceiptBuilder()
    parser = EscPosParser()
    parser.feed(builder.build(Receipt(SHOP, sale, "k/1", "", "http://x/r/t")))
    [doc] = parser.documents
    text = doc.text
    for line in sale.lines:
        assert line.name[: 42 - 12] in text
    assert pan not in text and (pan[:6] + "*" * (len(pan) - 10) + pan[-4:]) in text
    assert parser.errors == []


# -- HID key events and the console --------------------------------------------------------------------

KEY_EVENTS = st.lists(st.tuples(st.integers(0, 130), st.sampled_from([0, 1, 1, 1, 2])), max_size=30)


@FUZZ
@given(batch(KEY_EVENTS))
def test_hid_key_assembly_never_fails(inputs):
    for events in inputs:
        assembler = KeyAssembler("CR", max_length=32)
        for code, value in events:
            for what, text in assembler.feed(code, value):
                assert what in ("line", "error") and text
                if what == "line":
                    assert len(text) <= 32


@settings(max_examples=3_000, deadline=None, database=None)
@given(st.text(alphabet="".join(plain + shifted for plain, shifted in US_KEYS.values()), min_size=1, max_size=40))
def test_hid_typed_text_comes_back(text):
    from test_devices_hid import assemble, keystrokes
    assert assemble(keystrokes(text)) == [("line", text)]


@settings(max_examples=2_000, deadline=None, database=None)
@given(st.text(max_size=60))
def test_console_commands_never_raise(line):
    assert isinstance(Console({}).execute(line), str)
