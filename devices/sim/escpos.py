"""An ESC/POS byte-stream parser: the printer simulator's "firmware".

Feed it bytes in any chunking; it builds a `Document` (text lines with style, raster images, QR
codes, barcodes) per receipt (a cut ends one), answers real-time status queries (DLE EOT n) through
a callback, and never raises on bad input: unknown or malformed commands are skipped and recorded
in `errors` with their byte offset.
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from typing import Callable

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
MAX_DATA = 4 * 1024 * 1024  # a declared payload larger than this is garbage, not a command
MAX_ERRORS = 200

# ESC t n -> Python codec, after Epson's table (the escpos "default" profile uses the same numbers)
CODE_PAGES = {0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 13: "cp857", 14: "cp737",
              15: "iso8859_7", 16: "cp1252", 17: "cp866", 18: "cp852", 19: "cp858", 32: "cp720", 33: "cp775",
              34: "cp855", 35: "cp861", 36: "cp862", 37: "cp864", 38: "cp869", 39: "iso8859_2",
              40: "iso8859_15", 45: "cp1250", 46: "cp1251", 47: "cp1253", 48: "cp1254", 49: "cp1255",
              50: "cp1256", 51: "cp1257", 52: "cp1258"}

# Commands with a fixed number of argument bytes after ESC x / GS x / FS x
_ESC_FIXED = {b"@": 0, b"t": 1, b"a": 1, b"E": 1, b"-": 1, b"!": 1, b"M": 1, b"G": 1, b"{": 1, b"V": 1,
              b"2": 0, b"3": 1, b"d": 1, b"J": 1, b" ": 1, b"R": 1, b"r": 1, b"p": 3, b"i": 0, b"m": 0,
              b"e": 1, b"=": 1, b"U": 1, b"$": 2, b"\\": 2, b"L": 0, b"S": 0, b"T": 1, b"W": 8, b"K": 1,
              b"%": 1, b"?": 1, b"<": 0, b"c": 2}
_GS_FIXED = {b"!": 1, b"B": 1, b"L": 2, b"W": 2, b"h": 1, b"w": 1, b"H": 1, b"f": 1, b"a": 1, b"b": 1,
             b"P": 2, b"r": 1, b"I": 1, b"/": 1, b"E": 1, b"$": 2, b"\\": 2, b"T": 1, b"^": 3, b"C": 1,
             b"g": 2, b"z": 2}
_FS_FIXED = {b".": 0, b"&": 0, b"C": 1, b"!": 1, b"-": 1, b"W": 1, b"S": 2, b"p": 2}


@dataclass
class Run:
    text: str
    bold: bool = False
    underline: bool = False
    width: int = 1  # character magnification
    height: int = 1
    invert: bool = False


@dataclass
class Line:
    runs: list[Run] = field(default_factory=list)
    align: str = "left"

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)


@dataclass
class Image:
    width: int  # dots
    height: int
    bits: bytes  # rows of width/8 bytes, MSB first, 1 = black


@dataclass
class Code:
    kind: str  # "qr" or "barcode"
    data: bytes
    size: int = 3  # QR module size in dots
    symbology: int = 0  # GS k m
    align: str = "left"


@dataclass
class Document:
    """One receipt: everything printed up to a cut."""
    items: list[Line | Image | Code] = field(default_factory=list)
    cut: bool = False
    incomplete: bool = False  # something arrived while the printer could not print
    dropped_lines: int = 0

    @property
    def lines(self) -> list[str]:
        return [item.text for item in self.items if isinstance(item, Line)]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class EscPosParser:
    """`feed(data)`; finished receipts land in `documents`, the one being printed in `current`.

    `can_print()` is asked before each printed element (the simulator says no when paper is out or
    the cover is open); `answer(bytes)` sends a real-time status reply; `status(n)` gives DLE EOT n's.
    """

    def __init__(self, status: Callable[[int], int] = lambda n: 0x12, answer: Callable[[bytes], object] =
                 lambda b: None, can_print: Callable[[], bool] = lambda: True) -> None:
        self.status, self.answer, self.can_print = status, answer, can_print
        self.documents: list[Document] = []
        self.errors: list[str] = []
        self.bytes_seen = 0
        self._buffer = bytearray()
        self._offset = 0  # stream offset of _buffer[0], for error messages
        self.reset()
        self.current = Document()

    def reset(self) -> None:
        """ESC @: printer defaults (the current document and buffered bytes stay)."""
        self.codec = "cp437"
        self.align = "left"
        self.bold = self.underline = self.invert = False
        self.width = self.height = 1
        self._line = Line()
        self._qr_data = b""
        self._qr_size = 3

    # -- input --------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        self.bytes_seen += len(data)
        self._buffer += data
        pos = 0
        buffer = self._buffer
        while pos < len(buffer):
            used = self._command(buffer, pos)
            if used == 0:  # incomplete: wait for more bytes
                break
            pos += used
        del buffer[:pos]
        self._offset += pos

    def _error(self, pos: int, text: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(f"byte {self._offset + pos}: {text}")

    def _command(self, b: bytearray, pos: int) -> int:
        """Handle the command at b[pos]; return the bytes used, 0 when it is not complete yet."""
        lead = b[pos]
        if lead >= 0x20:
            end = pos
            while end < len(b) and b[end] >= 0x20:
                end += 1
            self._text(bytes(b[pos:end]))
            return end - pos
        if lead == 0x0A:
            self._print_line()
            return 1
        if lead in (0x0D, 0x00):
            return 1
        if lead == 0x09:
            self._text(b" " * (8 - len(self._line.text) % 8))
            return 1
        if lead == 0x0C:
            self._print_line()
            return 1
        if lead == 0x18:  # CAN: drop the unprinted line
            self._line = Line()
            return 1
        if lead not in (ESC, GS, FS, DLE):
            self._error(pos, f"unexpected control byte 0x{lead:02x}; skipped")
            return 1
        if pos + 1 >= len(b):
            return 0
        cmd = bytes(b[pos + 1:pos + 2])
        if lead == DLE:
            return self._dle(b, pos, cmd)
        table = {ESC: _ESC_FIXED, GS: _GS_FIXED, FS: _FS_FIXED}[lead]
        name = {ESC: "ESC", GS: "GS", FS: "FS"}[lead]
        if cmd in table:
            size = 2 + table[cmd]
            if pos + size > len(b):
                return 0
            self._fixed(lead, cmd, bytes(b[pos + 2:pos + size]), pos)
            return size
        variable = self._variable(lead, cmd, b, pos)
        if variable is not None:
            return variable
        self._error(pos, f"unknown command {name} {cmd!r} (0x{cmd[0]:02x}); skipped 2 bytes")
        return 2

    def _dle(self, b: bytearray, pos: int, cmd: bytes) -> int:
        if cmd in (b"\x04", b"\x05"):
            if pos + 3 > len(b):
                return 0
            if cmd == b"\x04":
                n = b[pos + 2]
                if 1 <= n <= 4:
                    self.answer(bytes([self.status(n)]))
                else:
                    self._error(pos, f"DLE EOT with n={n}, expected 1 to 4; not answered")
            return 3
        if cmd == b"\x14":  # DLE DC4 fn ...: fn 1/2 take 3 bytes, others 4
            if pos + 3 > len(b):
                return 0
            size = 5 if b[pos + 2] in (1, 2) else 6
            return size if pos + size <= len(b) else 0
        self._error(pos, f"unknown real-time command DLE 0x{cmd[0]:02x}; skipped 2 bytes")
        return 2

    def _variable(self, lead: int, cmd: bytes, b: bytearray, pos: int) -> int | None:
        """Commands whose length is in their arguments; None when `cmd` is not one of them."""
        have = len(b) - pos

        def declared(size: int, header: int, what: str) -> int:
            if size > MAX_DATA:
                self._error(pos, f"{what} declares {size} bytes of data, more than {MAX_DATA}; skipped header")
                return header
            return header + size if have >= header + size else 0

        if lead == GS and cmd == b"(":  # GS ( fn pL pH data
            if have < 5:
                return 0
            size = b[pos + 3] | b[pos + 4] << 8
            used = declared(size, 5, "GS (")
            if used == 5 + size:
                self._gs_paren(b[pos + 2], bytes(b[pos + 5:pos + used]))
            return used
        if lead == GS and cmd == b"v":  # GS v 0 m xL xH yL yH data
            if have < 8:
                return 0
            if b[pos + 2] != 0x30:
                self._error(pos, "GS v without '0'; skipped 3 bytes")
                return 3
            row_bytes = b[pos + 4] | b[pos + 5] << 8
            rows = b[pos + 6] | b[pos + 7] << 8
            used = declared(row_bytes * rows, 8, "GS v 0")
            if used == 8 + row_bytes * rows and self._printable():
                self._flush_line()
                self.current.items.append(Image(row_bytes * 8, rows, bytes(b[pos + 8:pos + used])))
            return used
        if lead == GS and cmd == b"k":  # GS k m d1..dk NUL  |  GS k m n d1..dn
            if have < 3:
                return 0
            m = b[pos + 2]
            if m <= 6:
                end = b.find(b"\x00", pos + 3, pos + 3 + 256)
                if end < 0:
                    if have > 3 + 255:
                        self._error(pos, "GS k barcode data without its terminating NUL; skipped 3 bytes")
                        return 3
                    return 0
                self._barcode(m, bytes(b[pos + 3:end]))
                return end + 1 - pos
            if have < 4:
                return 0
            n = b[pos + 3]
            if have < 4 + n:
                return 0
            self._barcode(m, bytes(b[pos + 4:pos + 4 + n]))
            return 4 + n
        if lead == GS and cmd == b"V":  # GS V m [n]
            if have < 3:
                return 0
            m = b[pos + 2]
            size = 4 if m in (65, 66, 97, 98, 103, 104) else 3
            if have < size:
                return 0
            self._cut()
            return size
        if lead == GS and cmd == b"8":  # GS 8 L p1 p2 p3 p4 data (large graphics): skipped
            if have < 7:
                return 0
            size = int.from_bytes(b[pos + 3:pos + 7], "little")
            return declared(size, 7, "GS 8 L")
        if lead == ESC and cmd == b"*":  # ESC * m nL nH data (column bit image): skipped
            if have < 5:
                return 0
            cols = b[pos + 3] | b[pos + 4] << 8
            return declared(cols * (3 if b[pos + 2] in (32, 33) else 1), 5, "ESC *")
        if lead == ESC and cmd == b"D":  # ESC D n1..nk NUL (tab stops)
            end = b.find(b"\x00", pos + 2, pos + 2 + 33)
            if end < 0:
                if have > 34:
                    self._error(pos, "ESC D without its terminating NUL; skipped 2 bytes")
                    return 2
                return 0
            return end + 1 - pos
        return None

    # -- effects ------------------------------------------------------------------------------

    def _fixed(self, lead: int, cmd: bytes, args: bytes, pos: int) -> None:
        n = args[0] if args else 0
        if lead == ESC:
            if cmd == b"@":
                self._flush_line()
                self.reset()
            elif cmd == b"t":
                codec = CODE_PAGES.get(n)
                if codec is None:
                    self._error(pos, f"ESC t {n}: code page not known to the simulator; keeping {self.codec}")
                else:
                    self.codec = codec
            elif cmd == b"a":
                self.align = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}.get(
                    n, "left")
            elif cmd == b"E":
                self.bold = bool(n & 1)
            elif cmd == b"-":
                self.underline = bool(n & 3)
            elif cmd == b"!":
                self.bold = bool(n & 0x08)
                self.height = 2 if n & 0x10 else 1
                self.width = 2 if n & 0x20 else 1
                self.underline = bool(n & 0x80)
            elif cmd == b"d":
                for _ in range(n):
                    self._print_line()
            elif cmd in (b"i", b"m"):
                self._cut()
        elif lead == GS:
            if cmd == b"!":
                self.width = (n >> 4 & 7) + 1
                self.height = (n & 7) + 1
            elif cmd == b"B":
                self.invert = bool(n & 1)

    def _gs_paren(self, fn: int, data: bytes) -> None:
        if fn != ord("k") or len(data) < 2 or data[0] != 49:  # only QR (cn 49) matters for the receipt
            return
        function = data[1]
        if function == 67 and len(data) >= 3:
            self._qr_size = data[2]
        elif function == 80 and len(data) >= 3:
            self._qr_data = data[3:]
        elif function == 81 and self._printable():
            self._flush_line()
            self.current.items.append(Code("qr", self._qr_data, self._qr_size, align=self.align))

    def _barcode(self, m: int, data: bytes) -> None:
        if self._printable():
            self._flush_line()
            self.current.items.append(Code("barcode", data, symbology=m, align=self.align))

    def _text(self, raw: bytes) -> None:
        text = codecs.decode(raw, self.codec, errors="replace")
        run = self._line.runs[-1] if self._line.runs else None
        style = (self.bold, self.underline, self.width, self.height, self.invert)
        if run is not None and (run.bold, run.underline, run.width, run.height, run.invert) == style:
            run.text += text
        else:
            self._line.runs.append(Run(text, *style))

    def _print_line(self) -> None:
        if not self._printable():
            self._line = Line()
            return
        self._line.align = self.align
        self.current.items.append(self._line)
        self._line = Line()

    def _flush_line(self) -> None:
        if self._line.runs:
            self._print_line()

    def _printable(self) -> bool:
        if self.can_print():
            return True
        self.current.incomplete = True
        self.current.dropped_lines += 1
        return False

    def _cut(self) -> None:
        self._flush_line()
        self.current.cut = True
        self.documents.append(self.current)
        self.current = Document()
