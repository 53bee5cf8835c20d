"""Render a parsed receipt (`devices.sim.escpos.Document`) to plain text and to a PNG of the paper."""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import qrcode
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont, ImageOps

from devices.sim.escpos import Code, Document, Image, Line, Run

CELL_W, CELL_H = 12, 24  # font A: 12 x 24 dots
MARGIN = 16


def to_text(doc: Document, columns: int = 42) -> str:
    out: list[str] = []
    for item in doc.items:
        if isinstance(item, Line):
            text = "".join(run.text + " " * (len(run.text) * (run.width - 1)) for run in item.runs)
            out.append(_align(text.rstrip(), item.align, columns))
        elif isinstance(item, Image):
            size = f"{item.width * item.scale_x}x{item.height * item.scale_y}"
            out.append(_align(f"[image {size}]", item.align, columns))
        elif item.kind == "qr":
            out.append(_align(f"[QR {item.data.decode('utf-8', 'replace')}]", item.align, columns))
        elif item.kind == "pdf417":
            out.append(_align(f"[PDF417 {item.text}]", item.align, columns))
        else:
            out.append(_align(f"[barcode {item.name} {item.text}]", item.align, columns))
    if doc.incomplete:
        out.append(f"[printing stopped: {doc.dropped_lines} element(s) not printed]")
    if doc.cut:
        out.append("-" * columns + " (cut)")
    return "\n".join(out)


def _align(text: str, align: str, columns: int) -> str:
    if align == "center":
        return text.center(columns).rstrip()
    if align == "right":
        return text.rjust(columns)
    return text


@lru_cache(maxsize=4)
def _font(bold: bool) -> ImageFont.ImageFont:
    name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
    candidates = [Path("/usr/share/fonts/truetype/dejavu") / name]
    try:
        import barcode  # python-barcode, installed with python-escpos, ships DejaVu Sans Mono
        candidates.append(Path(os.path.dirname(barcode.__file__)) / "fonts" / "DejaVuSansMono.ttf")
    except ImportError:
        pass
    for path in candidates:
        if path.exists():
            return ImageFont.truetype(str(path), 20)
    return ImageFont.load_default(size=20)


def to_png(doc: Document, path: str | os.PathLike[str], columns: int = 42) -> Path:
    """Write the receipt as a PNG (white paper, black print) and return its path."""
    paper_w = columns * CELL_W
    parts: list[PILImage.Image] = []
    for item in doc.items:
        if isinstance(item, Line):
            parts.append(_line_image(item, paper_w))
        elif isinstance(item, Image):
            raster = ImageOps.invert(PILImage.frombytes("1", (item.width, item.height), item.bits).convert("L"))
            if (item.scale_x, item.scale_y) != (1, 1):
                raster = raster.resize((item.width * item.scale_x, item.height * item.scale_y), PILImage.NEAREST)
            parts.append(_placed(raster, item.align, paper_w))
        elif item.kind == "qr":
            qr = qrcode.QRCode(box_size=min(max(1, item.size), 16), border=2, error_correction=_QR_EC[item.options.get(
                "ec", "L")])  # model 1 and micro QR are drawn as model 2
            qr.add_data(item.data)
            parts.append(_placed(qr.make_image().get_image().convert("L"), item.align, paper_w))
        elif item.kind == "pdf417":
            parts.append(_placed(_pdf417_stand_in(item), item.align, paper_w))
        else:
            parts.extend(_barcode(item, paper_w))
    if doc.incomplete:
        parts.append(_line_image(Line([Run("<< printing stopped here >>")], "center"), paper_w))
    height = sum(p.height for p in parts) + 2 * MARGIN
    page = PILImage.new("L", (paper_w + 2 * MARGIN, max(height, 4 * CELL_H)), 255)
    y = MARGIN
    for part in parts:
        page.paste(part, (MARGIN, y))
        y += part.height
    path = Path(path)
    page.save(path)
    return path


def _line_image(line: Line, paper_w: int) -> PILImage.Image:
    height = max((run.height for run in line.runs), default=1) * CELL_H
    pieces = []
    for run in line.runs:
        if not run.text:
            continue
        dark = run.invert or run.marker  # markers: white on black, so nothing not understood goes unseen
        piece = PILImage.new("L", (len(run.text) * CELL_W, CELL_H), 0 if dark else 255)
        draw = ImageDraw.Draw(piece)
        for i, ch in enumerate(run.text):  # cell by cell, so columns line up like on paper
            draw.text((i * CELL_W, 0), ch, font=_font(run.bold), fill=255 if dark else 0)
        if run.underline:
            draw.line((0, CELL_H - 2, piece.width, CELL_H - 2), fill=0, width=2)
        if run.width > 1 or run.height > 1:
            piece = piece.resize((piece.width * run.width, CELL_H * run.height))
        pieces.append(piece)
    width = sum(p.width for p in pieces)
    row = PILImage.new("L", (paper_w, height), 255)
    x = {"center": (paper_w - width) // 2, "right": paper_w - width}.get(line.align, 0)
    for piece in pieces:
        row.paste(piece, (max(0, x), height - piece.height))
        x += piece.width
    return row


_QR_EC = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
          "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}
_BARCODES = {"UPC-A": "upca", "EAN13": "ean13", "EAN8": "ean8", "CODE39": "code39", "ITF": "itf",
             "CODABAR": "codabar", "CODE128": "code128", "CODE128 auto": "code128", "GS1-128": "code128"}


def _barcode(code: Code, paper_w: int) -> list[PILImage.Image]:
    """Bars drawn from python-barcode's modules (module width and height as set by GS w / GS h), with the
    HRI text above / below as GS H asked; a symbology it cannot draw gets a hashed stand-in pattern."""
    module, height = code.options.get("module", 3), code.options.get("height", 162)
    bars, hri = _modules(code)
    if bars is None:
        bars = "101" + "".join(f"{b:08b}" for b in hashlib.sha256(code.data).digest()[:12]) + "101"
    strip = PILImage.new("L", (len(bars) * module, 1), 255)
    for i, bit in enumerate(bars):
        if bit == "1":
            strip.paste(0, (i * module, 0, (i + 1) * module, 1))
    symbol = PILImage.new("L", (strip.width + 20 * module, height), 255)
    symbol.paste(strip.resize((strip.width, height)), (10 * module, 0))
    caption = _line_image(Line([Run(hri)], code.align), paper_w)
    where = code.options.get("hri", "none")
    return ([caption] if where in ("above", "both") else []) + [_placed(symbol, code.align, paper_w)] + (
        [caption] if where in ("below", "both") else [])


def _modules(code: Code) -> tuple[str | None, str]:
    import barcode

    name = _BARCODES.get(code.name)
    if name is None:
        return None, code.text
    text = code.text.replace("\x1d", "")
    try:
        options = {"add_checksum": False} if name == "code39" else {}
        symbol = barcode.get(name, text, options=options)
        return "".join(symbol.build()), symbol.get_fullcode()
    except Exception:  # data the symbology cannot carry: the printer would print nothing useful either
        return None, code.text


def _pdf417_stand_in(code: Code) -> PILImage.Image:
    """Not a decodable PDF417 symbol: start / stop patterns around rows of modules hashed from the data,
    sized by the module width, row height and columns that were set."""
    size = min(max(1, code.size), 8)  # the ranges Epson allows: module 2-8, row height 2-8, 1-30 x 3-90
    row_h = min(max(1, code.options.get("row_height", 3)), 8) * size
    columns = min(code.options.get("columns") or 4, 30)
    rows = min(code.options.get("rows") or max(3, len(code.data) // (columns * 2) + 3), 90)
    digest = hashlib.sha256(code.data).digest() * (1 + rows * columns * 17 // 256)
    bits = "".join(f"{b:08b}" for b in digest)
    start, stop = "11111111010101000", "111111101000101001"
    img = PILImage.new("L", ((len(start) + 17 * columns + len(stop)) * size, rows * row_h), 255)
    draw = ImageDraw.Draw(img)
    for r in range(rows):
        row = start + "".join(bits[(r * columns + c) * 17:(r * columns + c + 1) * 17] for c in range(columns)) + stop
        for i, bit in enumerate(row):
            if bit == "1":
                draw.rectangle((i * size, r * row_h, (i + 1) * size - 1, (r + 1) * row_h - 1), fill=0)
    return img


def _placed(img: PILImage.Image, align: str, paper_w: int) -> PILImage.Image:
    if img.width > paper_w:
        img = img.resize((paper_w, img.height * paper_w // img.width))
    row = PILImage.new("L", (paper_w, img.height + 8), 255)
    x = {"center": (paper_w - img.width) // 2, "right": paper_w - img.width}.get(align, 0)
    row.paste(img, (x, 4))
    return row
