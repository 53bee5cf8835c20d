"""Classify a scanned code before it reaches the core: symbology, category, validity, GTIN, GS1 AIs.

Used by every reader (serial and HID scanners, camera). Pure functions, no I/O.

    classify("]E04006381333931") -> Code(symbology="EAN-13", category="product", gtin="04006381333931", ...)

Categories:
    product   EAN-13 / EAN-8 / UPC-A / UPC-E (check digit validated), `gtin` is the GTIN-14 key
    gs1       a GS1 element string (GS1-128, GS1 DataMatrix, GS1 QR, DataBar) parsed into `ais`
    booking   a booking code (`BOOKING_PATTERN`), `booking` holds the code itself
    qr        any other 2D code text (QR, DataMatrix, Aztec...)
    text      any other linear code text (Code 128, Code 39...)
An invalid code (bad check digit, broken GS1 string) has `valid=False` and `problem` says why.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import biip

from kiosk.events import Scanned
from kiosk.gtin import check_digit as gs1_check_digit, upce_body

GS = "\x1d"  # GS1 field separator (FNC1 inside a GS1 message)
MAX_CODE_LENGTH = 4096
BOOKING_PATTERN = re.compile(r"^(?:BK|BOOKING)[:\-]?([A-Z0-9]{4,20})$")

# AIM symbology identifier "]" + code character + modifier -> (symbology name, is GS1)
_AIM_SYMBOLOGY = {
    "A": "Code39", "C": "Code128", "E": "EAN-13", "F": "Codabar", "G": "Code93", "I": "ITF",
    "L": "PDF417", "Q": "QR", "d": "DataMatrix", "e": "DataBar", "z": "Aztec", "X": "unknown",
}
# GS1 modifiers. DataMatrix (zxing-cpp core/src/datamatrix/DMDecoder.cpp, DecodedBitStreamParser::Decode, and
# SymbologyIdentifier::toString in core/src/Content.h): modifier 1 plain, 2 FNC1 first (GS1), 3 FNC1 second
# (AIM); +3 with an ECI (4, 5, 6); the rectangular extension (DMRE, ISO/IEC 21471) adds 6 to that, and values
# from 10 up are written as letters: 7, 8, 9 and, with an ECI, A, B, C. So d2, d5, d8 and dB are GS1.
_AIM_GS1 = {"C1", "d2", "d5", "d8", "dB", "Q3", "Q5", "e0", "z1", "z4"}
_AIM_SPECIAL = {"C1": "GS1-128", "d2": "GS1 DataMatrix", "d5": "GS1 DataMatrix", "d8": "GS1 DataMatrix",
                "dB": "GS1 DataMatrix", "Q3": "GS1 QR", "Q5": "GS1 QR", "E4": "EAN-8", "e0": "GS1 DataBar"}
_TWO_D = {"QR", "DataMatrix", "Aztec", "PDF417", "GS1 DataMatrix", "GS1 QR"}
_AIM_RE = re.compile(r"^\]([A-Za-z])([0-9A-Za-z])")  # a scanner's prefix: one modifier character
_DECODER_AIM_RE = re.compile(r"^\][A-Za-z][0-9A-Za-z]$")  # from a decoder: one modifier character too
# Control characters that are content: TAB, LF, CR (multi-line QR codes: vCard, MECARD, two-line bookings),
# EOT, FS, GS, RS, US (GS1 and ISO/IEC 15434 separators). Any other C0 control or DEL cannot be content.
_CONTROL_RE = re.compile(r"[\x00-\x03\x05-\x08\x0b\x0c\x0e-\x1b\x7f]")
# A camera decoder's text is exactly the symbol's content (no line noise can add to it; a QR code may carry binary
# data), so there only NUL is refused: no store downstream (journal, PostgreSQL text) can hold it.
_DECODED_CONTROL_RE = re.compile(r"\x00")


@dataclass(frozen=True)
class Code:
    text: str  # the code's content, without AIM prefix or suffix
    symbology: str  # "EAN-13", "EAN-8", "UPC-A", "UPC-E", "GS1-128", "QR", "DataMatrix", "Code128"...
    category: str  # product, gs1, booking, qr, text
    valid: bool = True
    problem: str = ""  # why it is not valid
    aim: str = ""  # the AIM identifier as received, e.g. "]E0"
    gtin: str = ""  # GTIN-14 for products and GS1 strings with AI 01
    ais: dict[str, str] = field(default_factory=dict)  # GS1 application identifier -> value
    booking: str = ""

    def as_scanned(self) -> Scanned:
        """The payload of a DATA event."""
        return Scanned(**self.as_event())

    def as_event(self) -> dict:
        """The fields of a DATA event."""
        return {"code": self.text, "symbology": self.symbology, "category": self.category, "valid": self.valid,
                "problem": self.problem, "aim": self.aim, "gtin": self.gtin, "ais": dict(self.ais),
                "booking": self.booking}


class BadCode(ValueError):
    """The bytes are not a code at all (empty, control bytes, too long); str() says why."""


def decode_bytes(raw: bytes) -> str:
    """Scanner bytes to text: UTF-8 when valid, otherwise Latin-1 (many scanners' default)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def split_aim(text: str) -> tuple[str, str]:
    """("]E0", "4006381333931") from "]E04006381333931"; ("", text) without an AIM identifier."""
    match = _AIM_RE.match(text)
    return (text[:3], text[3:]) if match else ("", text)


def symbology_of(aim: str) -> str:
    if not aim:
        return ""
    special = _AIM_SPECIAL.get(aim[1:])
    return special or _AIM_SYMBOLOGY.get(aim[1], "unknown")


def check_digit(digits: str) -> int:
    """GS1 mod-10 check digit for the payload `digits` (without the check digit): kiosk.gtin's rule."""
    return int(gs1_check_digit(digits))


def upce_to_upca(upce: str) -> str:
    """8-digit UPC-E (number system, 6 digits, check) to its 12-digit UPC-A form (the check digit kept
    as scanned, to be verified): kiosk.gtin's expansion."""
    return upce_body(upce[0], upce[1:7]) + upce[7]


def classify(text: str, aim: str | None = None, *, decoded: bool = False) -> Code:
    """Classify one code. `aim` None: take it from the start of `text` when present.

    Raises BadCode for text that is not a code (empty, control characters, too long). `decoded`: the text
    comes from a camera decoder, where every control character but NUL is content.
    """
    if aim is None:
        aim, text = split_aim(text)
    if not text:
        raise BadCode("empty code")
    if len(text) > MAX_CODE_LENGTH:
        raise BadCode(f"code is {len(text)} characters long, more than {MAX_CODE_LENGTH}")
    bad = (_DECODED_CONTROL_RE if decoded else _CONTROL_RE).search(text)
    if bad:
        raise BadCode(f"code contains control character 0x{ord(bad.group()):02x} at position {bad.start()}")
    symbology = symbology_of(aim)
    if aim[1:] in _AIM_GS1 or (not aim and GS in text and text[:2].isdigit()):
        return _gs1(text, aim, symbology or "GS1")
    if aim[1:2] == "E" or (not aim and text.isascii() and text.isdigit() and len(text) in (8, 12, 13)):
        return _ean_upc(text, aim)
    booking = BOOKING_PATTERN.match(text.splitlines()[0].strip())  # a booking QR may add lines (a name...)
    if booking:
        return Code(text, symbology or "unknown", "booking", aim=aim, booking=booking.group(1))
    if text.startswith(("http://", "https://")) and "/01/" in text:
        link = _digital_link(text, aim, symbology or "QR")
        if link is not None:
            return link
    kind = "qr" if symbology in _TWO_D or not aim and not text.isascii() else "text"
    return Code(text, symbology or "unknown", kind, aim=aim)


# zxing-cpp format names (BarcodeFormat.name) -> our symbology names
_ZXING_NAMES = {"EAN13": "EAN-13", "EAN8": "EAN-8", "UPCA": "UPC-A", "UPCE": "UPC-E", "Code128": "Code128",
                "QRCode": "QR", "DataMatrix": "DataMatrix", "DataBar": "GS1 DataBar", "DataBarOmni": "GS1 DataBar",
                "DataBarStk": "GS1 DataBar", "DataBarStkOmni": "GS1 DataBar", "DataBarLtd": "GS1 DataBar",
                "DataBarLimited": "GS1 DataBar", "DataBarExp": "GS1 DataBar", "DataBarExpanded": "GS1 DataBar",
                "DataBarExpStk": "GS1 DataBar"}


def code_from_decoder(text: str, aim: str, fmt: str = "", extra: dict | None = None) -> Code:
    """Classify a camera decoder's read: its text, AIM identifier and format name (zxing-cpp's
    BarcodeFormat name or pyzbar's type). Raises BadCode like `classify`.

    zxing-cpp reports a UPC-A as a 13-digit EAN-13 with a leading 0 and a UPC-E as its 13-digit UPC-A
    expansion (the 8 digits in `extra["UPCE"]`): both come back labelled UPC-A / UPC-E with their own digits;
    the GTIN is the same either way. DataMatrix DMRE modifiers (]d7..]d9, ]dA..]dC) are kept as they are.
    """
    aim = aim if _DECODER_AIM_RE.match(aim or "") else ""
    if aim[1:2] == "E" and text.isascii() and text.isdigit():
        upce = (extra or {}).get("UPCE", "")
        if fmt == "UPCE" and len(upce) == 8:
            code = classify(upce, aim, decoded=True)
            return code if code.symbology == "UPC-E" else classify(text, aim, decoded=True)
        if fmt in ("EAN13", "UPCA") and len(text) == 13 and text[0] == "0":
            return _relabel(classify(text[1:], aim, decoded=True), "UPC-A")
    code = classify(text, aim, decoded=True)
    if not aim and fmt in _ZXING_NAMES and code.symbology == "unknown":
        return _relabel(code, _ZXING_NAMES[fmt])
    return code


def _relabel(code: Code, symbology: str) -> Code:
    return Code(code.text, symbology, code.category, code.valid, code.problem.replace(code.symbology, symbology),
                code.aim, code.gtin, dict(code.ais), code.booking)


def _ean_upc(text: str, aim: str) -> Code:
    name = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13"}.get(len(text), "EAN/UPC")
    if aim == "]E4":
        name = "EAN-8"
    if not (text.isascii() and text.isdigit()):
        return Code(text, name, "product", False, "EAN/UPC code contains characters other than digits", aim)
    if len(text) not in (8, 12, 13):
        return Code(text, name, "product", False, f"EAN/UPC code has {len(text)} digits, expected 8, 12 or 13", aim)
    full = text
    if len(text) == 8 and aim == "]E0" or (len(text) == 8 and not aim and text[0] in "01" and
                                            check_digit(text[:7]) != int(text[7])):
        name, full = "UPC-E", upce_to_upca(text)  # UPC-E is sent under ]E0; EAN-8 under ]E4
    expected = check_digit(full[:-1])
    if expected != int(full[-1]):
        return Code(text, name, "product", False, f"invalid {name} check digit: expected {expected}, got {full[-1]}",
                    aim)
    return Code(text, name, "product", aim=aim, gtin=full.zfill(14))


def _gs1(text: str, aim: str, symbology: str) -> Code:
    try:
        result = biip.parse(text)
    except Exception as exc:  # biip raises ParseError; anything else must not escape either
        return Code(text, symbology, "gs1", False, f"not a valid GS1 element string: {exc}", aim)
    message = result.gs1_message
    if message is None:
        problem = result.gs1_message_error or "not a valid GS1 element string"
        return Code(text, symbology, "gs1", False, problem, aim)
    ais = {es.ai.ai: es.value for es in message.element_strings}
    problems = [f"AI ({es.ai.ai}): {err}" for es in message.element_strings
                for err in (es.gtin_error, es.sscc_error, es.gln_error) if err]
    gtin = ais.get("01", "")
    return Code(text, symbology, "gs1", not problems, "; ".join(problems), aim, gtin, ais)


def _digital_link(text: str, aim: str, symbology: str) -> Code | None:
    try:
        result = biip.parse(text)
    except Exception:
        return None
    link = result.gs1_digital_link_uri
    if link is None:
        return None
    ais = {es.ai.ai: es.value for es in link.element_strings}
    return Code(text, symbology, "gs1", aim=aim, gtin=ais.get("01", ""), ais=ais)
