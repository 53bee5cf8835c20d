"""Render a parsed receipt (`devices.sim.escpos.Document`) to plain text and to a PNG of the paper."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import qrcode
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont, ImageOps

from devices.sim.escpos import Document, Image, Line, Run

CELL_W, CELL_H = 12, 24  # font A: 12 x 24 dots
MARGIN = 16


def to_text(doc: Document, columns: int = 42) -> str:
    out: list[str] = []
    for item in doc.items:
        if isinstance(item, Line):
            text = "".join(run.text + " " * (len(run.text) * (run.width - 1)) for run in item.runs)
            out.append(_align(text.rstrip(), item.align, columns))
        elif isinstance(item, Image):
            out.append(_align(f"[image {item.width}x{item.height}]", "center", columns))
        elif item.kind == "qr":
            out.append(_align(f"[QR {item.data.decode('utf-8', 'replace')}]", item.align, columns))
        else:
            out.append(_align(f"[barcode {item.data.decode('latin-1')}]", item.align, columns))
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
            raster = PILImage.frombytes("1", (item.width, item.height), item.bits)
            parts.append(_placed(ImageOps.invert(raster.convert("L")), "center", paper_w))
        elif item.kind == "qr":
            qr = qrcode.QRCode(box_size=max(1, item.size), border=2)
            qr.add_data(item.data)
            parts.append(_placed(qr.make_image().get_image().convert("L"), item.align, paper_w))
        else:
            parts.append(_line_image(Line([Run(f"|||| {item.data.decode('latin-1')} ||||")], item.align),
                                     paper_w))
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
        piece = PILImage.new("L", (len(run.text) * CELL_W, CELL_H), 0 if run.invert else 255)
        draw = ImageDraw.Draw(piece)
        for i, ch in enumerate(run.text):  # cell by cell, so columns line up like on paper
            draw.text((i * CELL_W, 0), ch, font=_font(run.bold), fill=255 if run.invert else 0)
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


def _placed(img: PILImage.Image, align: str, paper_w: int) -> PILImage.Image:
    if img.width > paper_w:
        img = img.resize((paper_w, img.height * paper_w // img.width))
    row = PILImage.new("L", (paper_w, img.height + 8), 255)
    x = {"center": (paper_w - img.width) // 2, "right": paper_w - img.width}.get(align, 0)
    row.paste(img, (x, 4))
    return row
