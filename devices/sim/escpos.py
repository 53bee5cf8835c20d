"""An ESC/POS byte-stream parser: the printer simulator's "firmware".

Feed it bytes in any chunking; it builds a `Document` (text lines with style, raster images, QR /
PDF417 codes, barcodes) per receipt (a cut ends one), answers real-time status queries (DLE EOT n)
through a callback, and never raises on bad input. Whatever it does not understand is never dropped
silently: it is logged, recorded in `errors` with its byte offset, and shown on the paper as a marker
run "[?...]" where it occurred.

Understood besides text and styles: GS v 0 (4 scaling modes), ESC * column images, GS ( L / GS 8 L
graphics (store + print, NV / download graphics by key), ESC & user-defined characters, GS ( k QR and
PDF417 with their parameters, GS k 1D barcodes (Code128 code sets) with GS H / h / w / f, FS & / FS .
kanji mode (FS C code system), and ESC t for every page of the python-escpos capability profile.
"""
from __future__ import annotations

import logging
from typing import Callable

from devices.sim import escpos_codes as codes
from devices.sim import escpos_graphics as gfx
from devices.sim.escpos_commands import DLE, ESC, ESC_FIXED, FS, FS_FIXED, GS, GS_FIXED, KANJI, NAMES
from devices.sim.escpos_doc import Code, Document, Image, Line, Run, code_pages, decoder

__all__ = ["Code", "Document", "EscPosParser", "Image", "Line", "Run"]

log = logging.getLogger(__name__)
MAX_DATA = 4 * 1024 * 1024  # a declared payload larger than this is garbage, not a command
MAX_ERRORS = 200


class EscPosParser:
    """`feed(data)`; finished receipts land in `documents`, the one being printed in `current`.

    `can_print()` is asked before each printed element (the simulator says no when paper is out or
    the cover is open); `answer(bytes)` sends a real-time status reply; `status(n)` gives DLE EOT n's.
    `profile` is the python-escpos capability profile whose ESC t numbering the printer follows.
    """

    def __init__(self, status: Callable[[int], int] = lambda n: 0x12, answer: Callable[[bytes], object] =
                 lambda b: None, can_print: Callable[[], bool] = lambda: True, profile: str = "default") -> None:
        self.status, self.answer, self.can_print = status, answer, can_print
        self.profile = profile
        self.documents: list[Document] = []
        self.errors: list[str] = []
        self.bytes_seen = 0
        self._buffer = bytearray()
        self._offset = 0  # stream offset of _buffer[0], for error messages
        self.gstate = gfx.GraphicsState()  # NV / download graphics by key survive ESC @
        self.reset()
        self.current = Document()

    def reset(self) -> None:
        """ESC @: printer defaults (the current document and buffered bytes stay)."""
        self.codec = "cp437"
        self.kanji = False
        self.kanji_codec = "gb18030"
        self._decoder = decoder(self.codec)
        self.align = "left"
        self.bold = self.underline = self.invert = False
        self.width = self.height = 1
        self._line = Line()
        self.codes = codes.CodeState()
        self.gstate.buffered = None
        self.user_chars: dict[int, Image] = {}  # ESC & glyphs (text still renders with the font)
        self._strip_pending = False

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

    def _error(self, pos: int, text: str, marker: str = "") -> None:
        """Not understood: logged, kept in `errors` and put on the paper as "[?marker]"."""
        message = f"byte {self._offset + pos}: {text}"
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)
            log.warning("printer simulator: %s", message)
        self._line.runs.append(Run(f"[?{marker or text}]", marker=True))

    def _command(self, b: bytearray, pos: int) -> int:
        """Handle the command at b[pos]; return the bytes used, 0 when it is not complete yet."""
        lead = b[pos]
        if lead >= 0x20:
            end = pos
            while end < len(b) and b[end] >= 0x20:
                end += 1
            self._text(bytes(b[pos:end]))
            return end - pos
        if lead in (0x0A, 0x0C):
            self._print_line()
            return 1
        if lead in (0x0D, 0x00):
            return 1
        if lead == 0x09:
            self._text(b" " * (8 - len(self._line.text) % 8))
            return 1
        if lead == 0x18:  # CAN: drop the unprinted line
            self._line = Line()
            return 1
        if lead not in NAMES:
            self._error(pos, f"unexpected control byte 0x{lead:02x}; skipped", f"0x{lead:02x}")
            return 1
        if pos + 1 >= len(b):
            return 0
        cmd = bytes(b[pos + 1:pos + 2])
        if lead == DLE:
            return self._dle(b, pos, cmd)
        table = {ESC: ESC_FIXED, GS: GS_FIXED, FS: FS_FIXED}[lead]
        name = f"{NAMES[lead]} {cmd.decode('latin-1') if 0x20 < cmd[0] < 0x7F else f'0x{cmd[0]:02x}'}"
        if cmd in table:
            size = 2 + table[cmd]
            if pos + size > len(b):
                return 0
            self._fixed(lead, cmd, bytes(b[pos + 2:pos + size]), pos)
            return size
        variable = self._variable(lead, cmd, b, pos)
        if variable is not None:
            return variable
        self._error(pos, f"unknown command {name} (0x{cmd[0]:02x}); skipped 2 bytes", name)
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
                    self._error(pos, f"DLE EOT with n={n}, expected 1 to 4; not answered", f"DLE EOT {n}")
            return 3
        if cmd == b"\x14":  # DLE DC4 fn ...: fn 1/2 take 3 bytes, others 4
            if pos + 3 > len(b):
                return 0
            size = 5 if b[pos + 2] in (1, 2) else 6
            return size if pos + size <= len(b) else 0
        self._error(pos, f"unknown real-time command DLE 0x{cmd[0]:02x}; skipped 2 bytes", f"DLE 0x{cmd[0]:02x}")
        return 2

    def _variable(self, lead: int, cmd: bytes, b: bytearray, pos: int) -> int | None:
        """Commands whose length is in their arguments; None when `cmd` is not one of them."""
        have = len(b) - pos

        def declared(size: int, header: int, what: str) -> int:
            if size > MAX_DATA:
                self._error(pos, f"{what} declares {size} bytes of data, more than {MAX_DATA}; skipped header", what)
                return header
            return header + size if have >= header + size else 0

        if lead == GS and cmd in (b"(", b"8"):  # GS ( fn pL pH data  |  GS 8 L p1 p2 p3 p4 data
            header = 5 if cmd == b"(" else 7
            if have < header:
                return 0
            if cmd == b"8" and b[pos + 2] != ord("L"):
                self._error(pos, f"GS 8 0x{b[pos + 2]:02x}; skipped 3 bytes", "GS 8")
                return 3
            size = int.from_bytes(b[pos + 3:pos + header], "little")
            used = declared(size, header, f"GS {cmd.decode()} {chr(b[pos + 2])}")
            if used == header + size:
                self._gs_paren(pos, b[pos + 2], bytes(b[pos + header:pos + used]))
            return used
        if lead == GS and cmd == b"v":  # GS v 0 m xL xH yL yH data
            if have < 8:
                return 0
            if b[pos + 2] != 0x30:
                self._error(pos, "GS v without '0'; skipped 3 bytes", "GS v")
                return 3
            row_bytes, rows = b[pos + 4] | b[pos + 5] << 8, b[pos + 6] | b[pos + 7] << 8
            used = declared(row_bytes * rows, 8, "GS v 0")
            if used == 8 + row_bytes * rows:
                if b[pos + 3] not in gfx.RASTER_MODES:
                    self._error(pos, f"GS v 0 mode {b[pos + 3]} out of range; printed unscaled", "GS v 0 m")
                self._image(gfx.raster(b[pos + 3], row_bytes, rows, bytes(b[pos + 8:pos + used])))
            return used
        if lead == GS and cmd == b"k":
            return self._gs_k(b, pos)
        if lead == GS and cmd == b"V":  # GS V m [n]
            if have < 3:
                return 0
            size = 4 if b[pos + 2] in (65, 66, 97, 98, 103, 104) else 3
            if have < size:
                return 0
            self._cut()
            return size
        if lead == ESC and cmd == b"*":  # ESC * m nL nH data (column bit image)
            if have < 5:
                return 0
            mode, cols = b[pos + 2], b[pos + 3] | b[pos + 4] << 8
            if mode not in gfx.COLUMN_MODES:
                self._error(pos, f"ESC * mode {mode} out of range; skipped 5 bytes", "ESC * m")
                return 5
            used = declared(cols * (gfx.COLUMN_MODES[mode][0] // 8), 5, "ESC *")
            if used > 5:
                self._column_strip(gfx.column_strip(mode, cols, bytes(b[pos + 5:pos + used])))
            return used
        if lead == ESC and cmd == b"&":  # ESC & y c1 c2 [x d...]...: user-defined characters
            used = gfx.user_chars_length(b, pos)
            if isinstance(used, str):
                self._error(pos, f"{used}; skipped 5 bytes", "ESC &")
                return 5
            if used:
                self.user_chars.update(gfx.user_chars(bytes(b[pos:pos + used])))
            return used
        if lead == ESC and cmd == b"D":  # ESC D n1..nk NUL (tab stops)
            end = b.find(b"\x00", pos + 2, pos + 2 + 33)
            if end < 0:
                if have > 34:
                    self._error(pos, "ESC D without its terminating NUL; skipped 2 bytes", "ESC D")
                    return 2
                return 0
            return end + 1 - pos
        return None

    def _gs_k(self, b: bytearray, pos: int) -> int:
        used, m, data = codes.gs_k_split(b, pos)
        if used and m < 0:
            self._error(pos, "GS k barcode data without its terminating NUL; skipped 3 bytes", "GS k")
        elif used:
            self._barcode(pos, m, data)
        return used

    # -- effects ------------------------------------------------------------------------------

    def _fixed(self, lead: int, cmd: bytes, args: bytes, pos: int) -> None:
        n = args[0] if args else 0
        if lead == ESC:
            if cmd == b"@":
                self._flush_line()
                self.reset()
            elif cmd == b"t":
                self._code_page(pos, n)
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
            elif cmd in (b"J", b"K", b"e"):  # print the buffer, feed n dots forward / back
                self._flush_line()
            elif cmd in (b"i", b"m"):
                self._cut()
            elif cmd == b"?":
                self.user_chars.pop(n, None)
        elif lead == GS:
            if cmd == b"!":
                self.width = (n >> 4 & 7) + 1
                self.height = (n & 7) + 1
            elif cmd == b"B":
                self.invert = bool(n & 1)
            elif cmd in (b"H", b"f", b"h", b"w"):
                problem = codes.set_barcode_option(self.codes, cmd, n)
                if problem:
                    self._error(pos, problem, f"GS {cmd.decode()} {n}")
        elif lead == FS:
            if cmd in (b"&", b"."):
                self._set_decoder(kanji=cmd == b"&")
            elif cmd == b"C":
                if n not in KANJI:
                    self._error(pos, f"FS C {n}: kanji code system not known", f"FS C {n}")
                else:
                    self.kanji_codec = KANJI[n]
                    self._set_decoder(kanji=self.kanji)

    def _code_page(self, pos: int, n: int) -> None:
        name, codec = code_pages(self.profile).get(n, (None, None))  # loaded at the first ESC t
        if name is None:
            self._error(pos, f"ESC t {n}: no such code page in the printer profile; keeping {self.codec}",
                        f"ESC t {n}")
            return
        if codec is None:
            self._error(pos, f"ESC t {n}: code page {name} has no table in the simulator; bytes 0x80-0xFF "
                        "print as \ufffd", f"ESC t {n} {name}")
        self.codec = codec or "table:"
        self._set_decoder(kanji=self.kanji)

    def _set_decoder(self, kanji: bool) -> None:
        self._flush_text(final=True)
        self.kanji = kanji
        self._decoder = decoder(self.kanji_codec if kanji else self.codec)

    def _gs_paren(self, pos: int, fn: int, data: bytes) -> None:
        if fn == ord("k"):
            result = codes.symbol_function(self.codes, data, self.align)
            if isinstance(result, Code):
                self._image(result)
            elif result:
                self._error(pos, result, f"GS ( k {data[:2].hex(' ')}")
        elif fn == ord("L"):
            self._graphics(pos, data)
        else:
            self._error(pos, f"GS ( {chr(fn)} (0x{fn:02x}) is not simulated; skipped {len(data)} data bytes",
                        f"GS ( {chr(fn)}")

    def _graphics(self, pos: int, data: bytes) -> None:
        result = gfx.graphics_function(self.gstate, data)
        if isinstance(result, Image):
            self._image(result)
        elif result:
            self._error(pos, result, f"GS ( L {data[1] if len(data) > 1 else ''}".strip())

    def _image(self, item: Image | Code) -> None:
        if self._printable():
            self._flush_line()
            if isinstance(item, Image) and item.source != "ESC &":
                item.align = self.align
            self.current.items.append(item)

    def _column_strip(self, strip: Image) -> None:
        """ESC * prints with the line: strips of one image arrive as ESC * ... LF, one under the other."""
        if not self._line.runs and self.current.items and gfx.append_strip(self.current.items[-1], strip):
            self._strip_pending = True
            return
        self._image(strip)
        self._strip_pending = True

    def _barcode(self, pos: int, m: int, data: bytes) -> None:
        if m not in codes.SYMBOLOGIES:
            self._error(pos, f"GS k {m}: barcode system not known", f"GS k {m}")
            return
        self._image(codes.barcode(self.codes, m, data, self.align))

    def _text(self, raw: bytes) -> None:
        self._append_text(self._decoder.decode(raw))

    def _flush_text(self, final: bool) -> None:
        rest = self._decoder.decode(b"", final=final)
        if rest:
            self._append_text(rest)

    def _append_text(self, text: str) -> None:
        if not text:
            return
        self._strip_pending = False
        run = self._line.runs[-1] if self._line.runs else None
        style = (self.bold, self.underline, self.width, self.height, self.invert)
        if run is not None and not run.marker and (run.bold, run.underline, run.width, run.height,
                                                   run.invert) == style:
            run.text += text
        else:
            self._line.runs.append(Run(text, *style))

    def _print_line(self) -> None:
        if self._strip_pending and not self._line.runs:
            self._strip_pending = False  # the LF after an ESC * strip: the strip was the line
            return
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
