"""ZVT APDUs and the fields inside them (PA00P015): pure functions, no I/O.

An APDU is CLASS INSTR LEN DATA. LEN is one byte; 0xFF means "extended": the real length follows
as two bytes, little-endian (so data of 255 bytes and more). DATA is a command-specific fixed
prefix (password, result code, status byte...) followed by BMP fields: a one-byte tag and a
value whose length is fixed per tag, or LLVAR/LLLVAR (length as 2/3 bytes 0xF0|digit), or the
TLV container BMP 06 (BER tag/length/value, possibly nested).

Anything malformed raises `ZvtError` whose text names the problem and where it is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field


class ZvtError(ValueError):
    """Bytes that are not valid ZVT; str() names the problem."""


COMMANDS = {
    (0x06, 0x00): "registration", (0x06, 0x01): "authorisation", (0x06, 0x02): "log off",
    (0x06, 0xE0): "display text", (0x04, 0xFF): "intermediate status",
    (0x06, 0xD1): "print line", (0x06, 0xD3): "print text block", (0x04, 0x0F): "status information",
    (0x06, 0x0F): "completion", (0x06, 0x1E): "abort", (0x06, 0x30): "reversal", (0x06, 0xB0): "abort from ECR",
    (0x06, 0x50): "end of day", (0x05, 0x01): "status enquiry", (0x06, 0x20): "repeat receipt",
    (0x80, 0x00): "positive acknowledgement", (0x84, None): "negative acknowledgement",
}

# BMP tag -> length: an int (fixed), "LL"/"LLL" (variable, F-digit length prefix) or "TLV".
BMP_LENGTHS: dict[int, int | str] = {
    0x01: 1, 0x02: 1, 0x03: 1, 0x04: 6, 0x05: 1, 0x06: "TLV", 0x0B: 3, 0x0C: 3, 0x0D: 2, 0x0E: 2,
    0x17: 2, 0x19: 1, 0x22: "LL", 0x23: "LL", 0x24: "LLL", 0x27: 1, 0x29: 4, 0x2A: 15, 0x2D: "LL",
    0x2E: "LLL", 0x37: 3, 0x3A: 2, 0x3B: 8, 0x3C: "LLL", 0x3D: 3, 0x49: 2, 0x60: "LLL", 0x87: 2,
    0x88: 3, 0x8A: 1, 0x8B: "LL", 0x8C: 1, 0x92: "LLL", 0x9A: "LLL", 0xA0: 1, 0xA7: "LL", 0xAA: 3,
    0xAF: "LLL", 0xBA: 5, 0xD0: 1, 0xD1: "LL", 0xD2: 1, 0xD3: 1, 0xE0: 1, 0xE1: "LL", 0xE2: "LL",
    0xE3: "LL", 0xE4: "LL", 0xE5: "LL", 0xE6: "LL", 0xE7: "LL", 0xE8: "LL", 0xE9: 1, 0xEA: 1,
    0xEB: 8,
    # display text (06 E0) and friends: F0 display duration, F1..F8 text lines 1..8, F9 beeps,
    # FA status, FB "confirm with OK", FC dialog control (PA00P015 BMP list; ecrterm bitmaps.py agrees)
    0xF0: 1, 0xF1: "LL", 0xF2: "LL", 0xF3: "LL", 0xF4: "LL", 0xF5: "LL", 0xF6: "LL", 0xF7: "LL", 0xF8: "LL",
    0xF9: 1, 0xFA: 1, 0xFB: 1, 0xFC: 1,
}

MAX_DATA = 0xFFFF


@dataclass(frozen=True)
class Apdu:
    cls: int
    instr: int
    data: bytes = b""

    def encode(self) -> bytes:
        n = len(self.data)
        if n > MAX_DATA:
            raise ZvtError(f"APDU data of {n} bytes is longer than the 65535 ZVT allows")
        head = bytes([self.cls, self.instr])
        if n < 0xFF:
            return head + bytes([n]) + self.data
        return head + bytes([0xFF, n & 0xFF, n >> 8]) + self.data

    @property
    def name(self) -> str:
        return COMMANDS.get((self.cls, self.instr)) or COMMANDS.get((self.cls, None)) \
            or f"command {self.cls:02X} {self.instr:02X}"

    def is_(self, cls: int, instr: int) -> bool:
        return self.cls == cls and self.instr == instr

    def __repr__(self) -> str:  # never print data: it may hold card data
        return f"Apdu({self.cls:02X} {self.instr:02X}, {len(self.data)} bytes: {self.name})"


ACK = Apdu(0x80, 0x00)


def nak(code: int = 0x00) -> Apdu:
    return Apdu(0x84, code)


def header_size(buf: bytes) -> tuple[int, int] | None:
    """(header length, data length) of the APDU starting `buf`, or None when more bytes are needed."""
    if len(buf) < 3:
        return None
    if buf[2] != 0xFF:
        return 3, buf[2]
    if len(buf) < 5:
        return None
    return 5, buf[3] | buf[4] << 8


def split_apdu(buf: bytes) -> tuple[Apdu, bytes] | None:
    """The first complete APDU in `buf` and the bytes after it, or None when it is not complete yet."""
    size = header_size(buf)
    if size is None or len(buf) < size[0] + size[1]:
        return None
    end = size[0] + size[1]
    return Apdu(buf[0], buf[1], bytes(buf[size[0]:end])), bytes(buf[end:])


def decode_apdu(raw: bytes) -> Apdu:
    """Exactly one APDU; extra or missing bytes are an error."""
    raw = bytes(raw)
    if len(raw) < 3:
        raise ZvtError(f"APDU too short: {len(raw)} bytes, need at least 3 (class, instruction, length)")
    size = header_size(raw)
    if size is None:
        raise ZvtError("APDU has an extended length marker (FF) but not the two length bytes after it")
    have = len(raw) - size[0]
    if have != size[1]:
        raise ZvtError(f"APDU {raw[0]:02X} {raw[1]:02X} says {size[1]} data bytes but has {have}")
    return Apdu(raw[0], raw[1], raw[size[0]:])


# -- BCD ---------------------------------------------------------------------------------------

def bcd(number: int, size: int) -> bytes:
    digits = str(number)
    if number < 0 or len(digits) > size * 2:
        raise ZvtError(f"{number} does not fit in {size} BCD bytes")
    return bytes.fromhex(digits.zfill(size * 2))


def unbcd(raw: bytes, what: str = "BCD field") -> int:
    text = raw.hex()
    if not text.isdigit():
        raise ZvtError(f"{what}: {text.upper()} is not BCD (a nibble is above 9)")
    return int(text) if text else 0


def password_bytes(password: str) -> bytes:
    if len(password) != 6 or not password.isdigit():
        raise ZvtError("the terminal password must be 6 digits")
    return bytes.fromhex(password)


# -- BMP fields ----------------------------------------------------------------------------------

def _var_length(data: bytes, pos: int, digits: int, tag: int) -> int:
    raw = data[pos:pos + digits]
    if len(raw) < digits:
        raise ZvtError(f"BMP {tag:02X}: length prefix cut off at byte {pos}")
    if any(b >> 4 != 0xF or (b & 0x0F) > 9 for b in raw):
        raise ZvtError(f"BMP {tag:02X}: bad length prefix {raw.hex().upper()} at byte {pos} (expected F0..F9 digits)")
    return int("".join(str(b & 0x0F) for b in raw))


def _var_prefix(n: int, digits: int) -> bytes:
    if n >= 10 ** digits:
        raise ZvtError(f"{n} bytes do not fit a {digits}-digit length prefix")
    return bytes(0xF0 | int(d) for d in str(n).zfill(digits))


def parse_bmps(data: bytes, start: int = 0) -> dict[int, bytes]:
    """BMP fields from `data[start:]` as tag -> raw value (the TLV container BMP 06 stays raw)."""
    fields: dict[int, bytes] = {}
    pos = start
    while pos < len(data):
        tag = data[pos]
        kind = BMP_LENGTHS.get(tag)
        if kind is None:
            raise ZvtError(f"unknown BMP {tag:02X} at byte {pos}")
        pos += 1
        if kind == "TLV":
            length, pos = _ber_length(data, pos, f"BMP 06 at byte {pos - 1}")
        elif isinstance(kind, str):
            digits = len(kind)
            length = _var_length(data, pos, digits, tag)
            pos += digits
        else:
            length = kind
        value = data[pos:pos + length]
        if len(value) < length:
            raise ZvtError(f"BMP {tag:02X} needs {length} bytes at byte {pos} but only {len(value)} are left")
        fields[tag] = bytes(value)
        pos += length
    return fields


def bmp(tag: int, value: bytes) -> bytes:
    """One encoded BMP field."""
    kind = BMP_LENGTHS.get(tag)
    if kind is None:
        raise ZvtError(f"unknown BMP {tag:02X}")
    if kind == "TLV":
        return bytes([tag]) + _ber_length_bytes(len(value)) + value
    if isinstance(kind, str):
        return bytes([tag]) + _var_prefix(len(value), len(kind)) + value
    if len(value) != kind:
        raise ZvtError(f"BMP {tag:02X} takes {kind} bytes, got {len(value)}")
    return bytes([tag]) + value


# -- TLV (BER-style tags and lengths) -----------------------------------------------------------

@dataclass(frozen=True)
class Tlv:
    tag: int
    value: bytes = b""
    children: tuple["Tlv", ...] = field(default=())

    @property
    def constructed(self) -> bool:
        first = self.tag.to_bytes((self.tag.bit_length() + 7) // 8 or 1, "big")[0]
        return bool(first & 0x20)

    def encode(self) -> bytes:
        value = b"".join(c.encode() for c in self.children) if self.children else self.value
        tag = self.tag.to_bytes((self.tag.bit_length() + 7) // 8 or 1, "big")
        return tag + _ber_length_bytes(len(value)) + value

    def find(self, tag: int) -> list["Tlv"]:
        """All descendants (and self) with this tag, depth first."""
        found = [self] if self.tag == tag else []
        for child in self.children:
            found += child.find(tag)
        return found


def _ber_length(data: bytes, pos: int, what: str) -> tuple[int, int]:
    if pos >= len(data):
        raise ZvtError(f"{what}: length missing")
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 2:
        raise ZvtError(f"{what}: unsupported length form {first:02X}")
    raw = data[pos + 1:pos + 1 + count]
    if len(raw) < count:
        raise ZvtError(f"{what}: length cut off")
    return int.from_bytes(raw, "big"), pos + 1 + count


def _ber_length_bytes(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    if n <= 0xFF:
        return bytes([0x81, n])
    if n <= 0xFFFF:
        return bytes([0x82]) + n.to_bytes(2, "big")
    raise ZvtError(f"TLV value of {n} bytes is too long")


def parse_tlv(data: bytes, depth: int = 0) -> tuple[Tlv, ...]:
    """A sequence of TLV objects; constructed tags (bit 0x20 of the first tag byte) are parsed into children."""
    if depth > 8:
        raise ZvtError("TLV nested more than 8 levels deep")
    items: list[Tlv] = []
    pos = 0
    while pos < len(data):
        start = pos
        first = data[pos]
        pos += 1
        tag = first
        if first & 0x1F == 0x1F:  # multi-byte tag: more bytes while bit 8 is set
            while True:
                if pos >= len(data):
                    raise ZvtError(f"TLV tag at byte {start} is cut off")
                if pos - start >= 3:
                    raise ZvtError(f"TLV tag at byte {start} is longer than 3 bytes")
                tag = tag << 8 | data[pos]
                pos += 1
                if not data[pos - 1] & 0x80:
                    break
        length, pos = _ber_length(data, pos, f"TLV tag {tag:X} at byte {start}")
        value = bytes(data[pos:pos + length])
        if len(value) < length:
            raise ZvtError(f"TLV tag {tag:X} at byte {start} needs {length} bytes, only {len(value)} left")
        pos += length
        if first & 0x20:
            items.append(Tlv(tag, b"", parse_tlv(value, depth + 1)))
        else:
            items.append(Tlv(tag, value))
    return tuple(items)


# -- PAN -----------------------------------------------------------------------------------------

def mask_pan(digits: str) -> str:
    """At most the first 6 and last 4 digits stay; every other character becomes '*'."""
    digits = "".join(c if c.isdigit() else "*" for c in digits)
    n = len(digits)
    keep_head, keep_tail = (6 if n >= 13 else 0), (4 if n >= 8 else 0)
    return digits[:keep_head] + "*" * (n - keep_head - keep_tail) + (digits[n - keep_tail:] if keep_tail else "")


def decode_pan(raw: bytes) -> str:
    """BMP 22 (BCD, E = masked digit, F = padding) to a masked PAN text."""
    text = raw.hex().upper().rstrip("F")
    text = "".join("*" if c == "E" else c if c.isdigit() else "*" for c in text)
    return mask_pan(text)


def encode_pan(masked: str) -> bytes:
    text = "".join("E" if c == "*" else c for c in masked)
    if len(text) % 2:
        text += "F"
    return bytes.fromhex(text)


_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){12,18}")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def mask_card_numbers(text: str) -> str:
    """Masks any 13-19 digit card number (spaces or dashes allowed) in free text, e.g. a receipt line."""
    def mask(match: re.Match) -> str:
        digits = re.sub(r"[ -]", "", match.group())
        return mask_pan(digits) if 13 <= len(digits) <= 19 and luhn_ok(digits) else match.group()
    return _DIGIT_RUN.sub(mask, text)
