"""The printer simulator against byte streams written by another ESC/POS implementation: escpos-php's
integration test outputs (see tests/data/escpos/escpos-php/README.md for source, commit and licence)."""
import hashlib
import os
import re
from pathlib import Path

import pytest
from PIL import Image as PILImage

from devices.sim.escpos import Code, Document, EscPosParser, Image
from devices.sim.render import to_png, to_text

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "tests" / "data" / "escpos" / "escpos-php" / "README.md"
SHA256 = dict(re.findall(r"^\| ([\w.-]+\.(?:bin|md)) \| \d+ \| ([0-9a-f]{64}) \|", README.read_text(), re.M))


def _folder() -> Path | None:
    candidates = [os.environ.get("ESCPOS_PHP_FIXTURES", ""), README.parent, ROOT.parent / "shared" / "escpos" /
                  "escpos-php", "/work/shared/escpos/escpos-php"]
    for folder in filter(None, candidates):
        if (Path(folder) / "barcode.bin").is_file():
            return Path(folder)
    return None


FOLDER = _folder()
pytestmark = pytest.mark.skipif(FOLDER is None, reason="escpos-php byte streams not present (not committed: see "
                                "tests/data/escpos/escpos-php/README.md); set ESCPOS_PHP_FIXTURES to their folder")


def run(name: str):
    data = (FOLDER / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == SHA256[name], f"{name} is not the version the README names"
    answers = []
    parser = EscPosParser(answer=answers.append)
    parser.feed(data)
    docs = parser.documents + ([parser.current] if parser.current.items else [])
    assert answers == [], "a status reply nobody asked for"
    return parser, docs


def text_of(docs) -> str:
    return "\n".join(to_text(doc, 48) for doc in docs)


def graphics(docs):
    return [item for doc in docs for item in doc.items if isinstance(item, (Image, Code))]


def assert_drawn(items, tmp_path):
    """Every image / code renders to a PNG with black in it; images carry black dots."""
    for i, item in enumerate(items):
        if isinstance(item, Image):
            assert item.black_dots > 0
        png = PILImage.open(to_png(Document([item]), tmp_path / f"{i}.png")).convert("L")
        assert png.getextrema()[0] == 0, f"{item!r:.80} rendered blank"


def test_the_license_is_kept_beside_the_files():
    assert hashlib.sha256((FOLDER / "LICENSE.md").read_bytes()).hexdigest() == SHA256["LICENSE.md"]


def test_barcodes(tmp_path):
    parser, docs = run("barcode.bin")
    assert [e.split(": ", 1)[1] for e in parser.errors] == ["GS w 7: module width out of range",
                                                            "GS w 8: module width out of range"]
    codes = graphics(docs)
    assert len(codes) == 40 and all(isinstance(c, Code) and c.kind == "barcode" for c in codes)
    names = {c.name for c in codes}
    assert {"UPC-A", "UPC-E", "EAN13", "EAN8", "CODE39", "ITF", "CODABAR", "CODE93", "CODE128"} <= names
    assert [c.options["height"] for c in codes[1:7]] == [1, 2, 4, 8, 16, 32]
    assert [c.options["module"] for c in codes[7:15]] == [1, 2, 3, 4, 5, 6, 6, 6]  # 7 and 8 refused
    assert [c.options["hri"] for c in codes[15:19]] == ["none", "above", "below", "both"]
    code128 = [c.text for c in codes if c.name == "CODE128"]
    assert code128[0] == "012ABCD" and "213243" in code128  # {C with bytes 21 32 43
    text = text_of(docs)
    for caption in ("Height and bar width", "Default look", "Text position", "Below", "Both"):
        assert caption in text
    assert_drawn(codes, tmp_path)


def test_qr_codes(tmp_path):
    parser, docs = run("qr-code.bin")
    assert parser.errors == []
    codes = graphics(docs)
    assert len(codes) == 19 and all(c.kind == "qr" for c in codes)
    assert codes[0].text == "Testing 123" and codes[2].text == "0123456789012345678901234567890123456789"
    assert codes[4].data == b"\0" * 40
    assert [c.options["ec"] for c in codes[5:9]] == ["L", "M", "Q", "H"]
    assert [c.size for c in codes[9:16]] == [1, 2, 3, 4, 5, 10, 16]
    assert [c.options["model"] for c in codes[16:19]] == [1, 2, "micro"]
    text = text_of(docs)
    assert "Most simple example" in text and "Error correction H" in text and "QR Model 1" in text
    assert_drawn(codes, tmp_path)


def test_pdf417_codes(tmp_path):
    parser, docs = run("pdf417-code.bin")
    assert parser.errors == []
    codes = graphics(docs)
    assert len(codes) == 24 and all(c.kind == "pdf417" and c.text == "Testing 123" for c in codes)
    assert {c.options["options"] for c in codes} == {"standard", "truncated"}
    assert {c.options["columns"] for c in codes} >= {0, 1, 2, 3, 4, 5, 30}
    assert {c.size for c in codes} >= {2, 3, 4, 8} and {c.options["row_height"] for c in codes} >= {2, 3, 4, 8}
    assert any(c.options["ec"].startswith("ratio") for c in codes)
    text = text_of(docs)
    assert "Error correction ratio 0.1" in text and "Column count 30 (maximum, doesnt fit!)" in text
    assert_drawn(codes, tmp_path)


@pytest.mark.parametrize("name, command, caption", [("graphics.bin", "GS ( L", "Tux."),
                                                    ("bit-image.bin", "GS v 0", "Tux (bit image).")])
def test_images_at_four_scales(name, command, caption, tmp_path):
    parser, docs = run(name)
    assert parser.errors == []
    images = graphics(docs)
    assert [(i.source, i.scale_x, i.scale_y) for i in images] == [(command, 1, 1), (command, 2, 1),
                                                                  (command, 1, 2), (command, 2, 2)]
    assert len({(i.width, i.height, i.bits) for i in images}) == 1
    text = text_of(docs)
    for word in ("Regular", "Wide", "Tall", "Large"):
        assert f"{word} {caption}" in text or f"{word} Tux in correct proportion" in text
    assert_drawn(images, tmp_path)


def test_receipt_with_logo(tmp_path):
    parser, docs = run("receipt-with-logo.bin")
    assert parser.errors == []
    [logo] = graphics(docs)
    assert isinstance(logo, Image) and logo.black_dots > 1000
    text = text_of(docs)
    for expected in ("ExampleMart Ltd.", "SALES INVOICE", "Example item #1", "4.00", "Total", "14.25"):
        assert expected in text
    assert_drawn([logo], tmp_path)


def test_demo(tmp_path):
    parser, docs = run("demo.bin")
    assert parser.errors == []
    assert len(docs) == 14 and all(doc.cut for doc in docs)
    assert docs[0].text == "Hello world"
    text = text_of(docs)
    assert "ABCDEFGHIJabcdefghijk" in text and "A man a plan a canal panama" in text
    items = graphics(docs)
    assert sum(isinstance(i, Image) for i in items) == 8
    assert [(c.name, c.text) for c in items if isinstance(c, Code) and c.kind == "barcode"] == [("CODE39", "9876")]
    assert [c.text for c in items if isinstance(c, Code) and c.kind == "qr"] == ["Testing 123"] * 3
    assert_drawn(items, tmp_path)


def test_character_encodings():
    parser, docs = run("character-encodings.bin")
    assert parser.errors == []
    lines = docs[0].lines
    for sentence in ("Falsches Üben von Xylophonmusik quält jeden größeren Zwerg.",
                     "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία",
                     "В чащах юга жил бы цитрус? Да, но фальшивый экземпляр!",
                     "Glāžšķūņa rūķīši dzērumā čiepj Baha koncertflīģeļu vākus.",
                     "Pijamalı hasta, yağız şoföre çabucak güvendi.",
                     "ｲﾛﾊﾆﾎﾍﾄ ﾁﾘﾇﾙｦ ﾜｶﾖﾀﾚｿ ﾂﾈﾅﾗﾑ",
                     "Árvíztűrő tükörfúrógép."):
        assert sentence in lines


def test_character_tables_mark_only_pages_without_a_table():
    from devices.sim.escpos_doc import code_pages
    parser, docs = run("character-tables.bin")
    untabled = {n for n, (_, codec) in code_pages().items() if codec is None}
    for error in parser.errors:
        n = int(re.search(r"ESC t (\d+)", error)[1])
        assert n in untabled and "has no table" in error
    assert "€" in docs[0].text and "Ω" in docs[0].text  # CP858 / CP1252 and the Greek pages decoded


@pytest.mark.parametrize("name, expected", [
    ("text-size.bin", ["Change height & width", "Very narrow text:", "Largest possible text:"]),
    ("margins-and-spacing.bin", ["Left margin", "left margin 512", "page width 64"]),
    ("unifont-print-buffer.bin", []),  # ESC & glyphs with bytes like 10 04 inside: consumed, never answered
])
def test_text_layout_and_user_defined_characters(name, expected):
    parser, docs = run(name)
    assert parser.errors == [] and docs and all(doc.markers == [] for doc in docs)
    text = text_of(docs)
    for line in expected:
        assert line in text
