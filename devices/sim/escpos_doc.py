"""What the simulated printer put on paper: `Document` (one receipt, up to a cut) made of `Line`s of
styled `Run`s, raster `Image`s and `Code`s (QR, PDF417, 1D barcodes); and the code page tables."""
from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from functools import lru_cache


@dataclass
class Run:
    text: str
    bold: bool = False
    underline: bool = False
    width: int = 1  # character magnification
    height: int = 1
    invert: bool = False
    marker: bool = False  # "[?...]": bytes the simulator did not understand, shown where they were


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
    scale_x: int = 1  # each dot printed this many dots wide / high (GS v 0 m, GS ( L bx by, ESC * density)
    scale_y: int = 1
    align: str = "center"
    source: str = ""  # the command that printed it: "GS v 0", "GS ( L", "ESC *"

    @property
    def black_dots(self) -> int:
        return sum(bin(byte).count("1") for byte in self.bits)


@dataclass
class Code:
    kind: str  # "qr", "pdf417" or "barcode"
    data: bytes  # as sent
    size: int = 3  # QR / PDF417 module width in dots
    symbology: int = 0  # GS k m
    align: str = "left"
    name: str = ""  # "CODE128", "EAN13", ... for barcodes
    text: str = ""  # the content (Code128 code sets resolved: "{C" + bytes 12 34 -> "1234")
    options: dict = field(default_factory=dict)  # QR model / ec; PDF417 columns, rows, ec...; barcode hri, height


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

    @property
    def markers(self) -> list[str]:
        return [run.text for item in self.items if isinstance(item, Line) for run in item.runs if run.marker]


class TableDecoder(codecs.IncrementalDecoder):
    """A single-byte code page given as its 128 upper-half characters (python-escpos's "data" pages)."""

    def __init__(self, upper: str, errors: str = "replace") -> None:
        super().__init__(errors)
        self.table = "".join(chr(i) for i in range(128)) + upper.ljust(128, "\ufffd")

    def decode(self, data: bytes, final: bool = False) -> str:
        return "".join(self.table[b] for b in data)


def _with_euro(codec: str, byte: int) -> str:
    upper = bytes(range(128, 256)).decode(codec, errors="replace")
    return upper[:byte - 128] + "€" + upper[byte - 127:]


# Python's cp857 is IBM's page before the euro, with D5 undefined; IBM's update of the page (CCSID 9049) and
# esc-pos-encoder's Epson table put € at D5, and printer manuals name D5 as CP857's euro position.
EURO_UPDATES = {"cp857": _with_euro("cp857", 0xD5)}


@lru_cache(maxsize=16)
def code_pages(profile: str = "default") -> dict[int, tuple[str, str | None]]:
    """ESC t n -> (python-escpos code page name, Python codec or the 128-character upper half or None)
    for every page the python-escpos capability profile lists (the Epson numbering for "default")."""
    from escpos.capabilities import CAPABILITIES

    encodings = CAPABILITIES["encodings"]
    pages: dict[int, tuple[str, str | None]] = {}
    profiles = CAPABILITIES["profiles"]
    for n, name in (profiles.get(profile) or profiles["default"]).get("codePages", {}).items():
        info = encodings.get(name, {})
        codec = info.get("python_encode")
        if codec is None and info.get("data"):
            codec = "table:" + "".join(info["data"])
        elif codec is None and name == "RK1048":
            codec = "kz1048"
        pages[int(n)] = (name, codec)
    return pages


def decoder(codec: str | None) -> codecs.IncrementalDecoder:
    """An incremental decoder (multi-byte pages can be split across reads); bytes without a known
    meaning come out as U+FFFD, visible on paper."""
    if codec is None:
        return TableDecoder("")
    if codec.startswith("table:"):
        return TableDecoder(codec[6:])
    if codec == "jis":  # FS C 0: JIS X 0208 row/cell bytes without escapes
        return _JisDecoder()
    if codec in EURO_UPDATES:
        return TableDecoder(EURO_UPDATES[codec])
    return codecs.getincrementaldecoder(codec)(errors="replace")


class _JisDecoder(codecs.IncrementalDecoder):
    def __init__(self, errors: str = "replace") -> None:
        super().__init__(errors)
        self.inner = codecs.getincrementaldecoder("euc_jp")(errors="replace")

    def decode(self, data: bytes, final: bool = False) -> str:
        return self.inner.decode(bytes(b | 0x80 if 0x21 <= b <= 0x7E else b for b in data), final)
