"""The printer simulator understands what real drivers send (issue 13): python-escpos's three image
commands, GS v 0 scaling, QR / PDF417 parameters, 1D barcodes with Code128 code sets and HRI, kanji
mode, every ESC t page python-escpos can select, ESC & bitmaps; and shows what it does not understand."""
import logging

import pytest
from escpos.printer import Dummy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage

from devices.sim.escpos import Code, EscPosParser, Image
from devices.sim.render import to_png, to_text


def parse(data: bytes, **kw):
    answers = []
    parser = EscPosParser(answer=answers.append, **kw)
    parser.feed(data)
    return parser, answers


def items(parser):
    return parser.current.items + [item for doc in parser.documents for item in doc.items]


def checker_image(width=64, height=48):
    img = PILImage.new("1", (width, height), 1)
    for y in range(height):
        for x in range(width):
            if (x // 8 + y // 8) % 2 == 0:
                img.putpixel((x, y), 0)
    return img


# -- ESC &: the bitmap is data, never commands ------------------------------------------------------

def test_user_defined_character_bitmaps_are_not_read_as_commands():
    """A glyph column 10 04 01 was taken for DLE EOT 1 and answered with an unsolicited status byte."""
    glyph = bytes([0x10, 0x04, 0x01] * 4)  # 12 columns x 1 byte (y = 1)
    data = b"\x1b@" + b"\x1b&\x01\x41\x41" + bytes([12]) + glyph + b"\x1b%\x01AB\n\x1dV\x00"
    parser, answers = parse(data)
    assert answers == [] and parser.errors == []
    assert parser.documents[0].lines == ["AB"]
    assert 0x41 in parser.user_chars


def test_user_defined_characters_split_anywhere_wait_for_the_whole_bitmap():
    glyphs = b"\x1b&\x03\x41\x42" + bytes([2]) + b"\x10\x04\x01" * 2 + bytes([1]) + b"\x1b@\x0a"
    answers = []
    parser = EscPosParser(answer=answers.append)
    for byte in glyphs + b"ok\n":
        parser.feed(bytes([byte]))
    assert answers == [] and parser.errors == [] and parser.current.text == "ok"


# -- anything not understood is visible and logged -------------------------------------------------

def test_unknown_commands_are_marked_on_the_paper_and_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="devices.sim.escpos"):
        parser, _ = parse(b"left \x1b\x7fright\n\x1d(Z\x02\x00ab\x03\x1dV\x00")
    text = to_text(parser.documents[0])
    assert "left [?ESC 0x7f]right" in text
    assert "[?GS ( Z]" in text and "[?0x03]" in text
    assert len(parser.errors) == 3 and len([r for r in caplog.records if "byte" in r.getMessage()]) == 3
    assert parser.documents[0].markers == ["[?ESC 0x7f]", "[?GS ( Z]", "[?0x03]"]


def test_unknown_code_page_is_marked_not_silently_kept():
    parser, _ = parse(b"\x1bt\xc8abc\n")
    assert parser.current.items[0].text.startswith("[?ESC t 200]") and "abc" in parser.current.items[0].text


def test_feeding_by_dots_prints_the_line_buffer():
    parser, _ = parse(b"ab\x1bJ\x10cd\x1be\x02ef\n")
    assert parser.current.lines == ["ab", "cd", "ef"]


# -- images: GS v 0 (4 modes), GS ( L, ESC * --------------------------------------------------------

@pytest.mark.parametrize("impl", ["bitImageRaster", "graphics", "bitImageColumn"])
def test_python_escpos_images_in_all_three_commands_give_the_same_picture(impl, tmp_path):
    p = Dummy()
    p.image(checker_image(), impl=impl)
    p.text("after\n")
    parser, answers = parse(p.output)
    assert parser.errors == [] and answers == []
    [image] = [item for item in items(parser) if isinstance(item, Image)]
    reference = Dummy()
    reference.image(checker_image(), impl="bitImageRaster")
    expected = parse(reference.output)[0].current.items[0]
    assert (image.width, image.height) == (64, 48) and image.bits == expected.bits
    assert image.black_dots == 64 * 48 // 2
    assert parser.current.lines == ["after"]  # no blank lines from the ESC * strips' line feeds
    png = PILImage.open(to_png(parser.current, tmp_path / "i.png")).convert("L")
    assert png.getextrema() == (0, 255)


@pytest.mark.parametrize("mode, scale", [(0, (1, 1)), (1, (2, 1)), (2, (1, 2)), (3, (2, 2)), (51, (2, 2))])
def test_raster_image_scaling_modes(mode, scale, tmp_path):
    bits = bytes([0xF0, 0x0F]) * 64  # 16 x 64 dots
    parser, _ = parse(b"\x1dv0" + bytes([mode, 2, 0, 64, 0]) + bits)
    [image] = parser.current.items
    assert (image.scale_x, image.scale_y) == scale and image.bits == bits
    assert f"[image {16 * scale[0]}x{64 * scale[1]}]" in to_text(parser.current)
    plain = PILImage.open(to_png(parse(b"\x1dv0\x00\x02\x00\x40\x00" + bits)[0].current, tmp_path / "a.png"))
    scaled = PILImage.open(to_png(parser.current, tmp_path / "b.png"))
    assert scaled.height - plain.height == 64 * (scale[1] - 1)


def test_graphics_scale_and_stored_graphics():
    body = b"0" + b"\x02\x02" + b"1" + bytes([16, 0, 2, 0]) + b"\xff\x00\x00\xff"
    store = b"\x1d(L" + (len(body) + 2).to_bytes(2, "little") + b"0p" + body
    parser, _ = parse(store + b"\x1d(L\x02\x0002")
    [image] = parser.current.items
    assert (image.width, image.height, image.scale_x, image.scale_y) == (16, 2, 2, 2)
    parser, _ = parse(b"\x1d(L\x02\x0002")  # print with nothing stored: marked
    assert parser.errors and "no graphics" in parser.errors[0]


# -- 2D codes ---------------------------------------------------------------------------------------

def test_qr_model_size_and_error_correction_come_through():
    from escpos.constants import QR_ECLEVEL_H, QR_MODEL_1
    p = Dummy()
    p.qr("https://example.org/r/1", ec=QR_ECLEVEL_H, size=6, model=QR_MODEL_1, native=True)
    parser, _ = parse(p.output)
    [code] = parser.current.items
    assert code.kind == "qr" and code.text == "https://example.org/r/1" and parser.errors == []
    assert code.options["ec"] == "H" and code.options["model"] == 1 and code.size == 6


def test_pdf417_parameters_and_print():
    def fn(f, *args):
        body = bytes([48, f, *args])
        return b"\x1d(k" + len(body).to_bytes(2, "little") + body
    data = (fn(65, 4) + fn(66, 10) + fn(67, 2) + fn(68, 5) + fn(69, 49, 5) + fn(70, 1) + fn(80, 48, *b"PDF 417")
            + fn(81, 48))
    parser, _ = parse(data)
    [code] = parser.current.items
    assert parser.errors == [] and code.kind == "pdf417" and code.text == "PDF 417"
    assert code.options == {"columns": 4, "rows": 10, "size": 2, "row_height": 5, "ec": "ratio 50%",
                            "options": "truncated"}
    assert "[PDF417 PDF 417]" in to_text(parser.current)


# -- 1D barcodes --------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, text", [(b"{BABC-123", "ABC-123"), (b"{C\x0c\x22\x38\x4e", "12345678"),
                                        (b"{BNo.{C\x01\x02", "No.0102"), (b"{A\x41\x42{B{{x", "AB{x")])
def test_code128_code_sets_are_resolved(data, text, tmp_path):
    p = Dummy()
    p.set(align="center")
    p._raw(b"\x1dH\x02\x1dh\x50\x1dw\x03")
    p._raw(b"\x1dkI" + bytes([len(data)]) + data)
    parser, _ = parse(p.output)
    [code] = [item for item in parser.current.items if isinstance(item, Code)]
    assert (code.name, code.text) == ("CODE128", text) and parser.errors == []
    assert code.options == {"hri": "below", "height": 80, "module": 3}
    assert f"[barcode CODE128 {text}]" in to_text(parser.current)
    import zxingcpp
    found = zxingcpp.read_barcodes(PILImage.open(to_png(parser.current, tmp_path / "b.png")).convert("L"))
    assert [r.text for r in found] == [text]


def test_python_escpos_barcodes_render_as_bars(tmp_path):
    p = Dummy()
    p.barcode("4006381333931", "EAN13", height=60, width=2, pos="BELOW")
    p.barcode("{B012345", "CODE128", function_type="B")
    parser, _ = parse(p.output)
    codes = [item for item in parser.current.items if isinstance(item, Code)]
    assert [(c.name, c.text) for c in codes] == [("EAN13", "4006381333931"), ("CODE128", "012345")]
    assert codes[0].options == {"hri": "below", "height": 60, "module": 2}
    import zxingcpp
    found = zxingcpp.read_barcodes(PILImage.open(to_png(parser.current, tmp_path / "b.png")).convert("L"))
    assert sorted(r.text for r in found) == ["012345", "4006381333931"]


# -- characters: kanji mode and every ESC t page ----------------------------------------------------

def test_kanji_mode_on_and_off():
    data = b"\x1c&" + "收据 合计".encode("gb18030") + b"\x1c.\x1bt\x10" + "ü".encode("cp1252") + b"\n"
    data += b"\x1cC\x01\x1c&" + "領収書".encode("shift_jis") + b"\x1c.\n"
    parser, _ = parse(data)
    assert parser.current.lines == ["收据 合计ü", "領収書"] and parser.errors == []


def test_kanji_split_between_reads():
    raw = b"\x1c&" + "收据".encode("gb18030") + b"\n"
    parser = EscPosParser()
    for byte in raw:
        parser.feed(bytes([byte]))
    assert parser.current.lines == ["收据"]


def _encodable_pages(profile):
    """The pages python-escpos can select: those it has an encoder (a Python codec or a table) for."""
    from escpos.capabilities import CAPABILITIES
    pages = CAPABILITIES["profiles"][profile]["codePages"]
    return [(profile, int(n), name) for n, name in pages.items()
            if {"python_encode", "data"} & set(CAPABILITIES["encodings"][name])]


@pytest.mark.parametrize("profile, n, name", _encodable_pages("default") + _encodable_pages("TM-T88V")
                         + _encodable_pages("TSP600"))
def test_every_code_page_python_escpos_can_select(profile, n, name):
    from escpos.capabilities import CAPABILITIES
    info = CAPABILITIES["encodings"][name]
    if "data" in info:
        sample = "".join(c for c in "".join(info["data"]) if c not in " \ufffd")[:40]
        raw = bytes(0x80 + "".join(info["data"]).index(c) for c in sample)
    else:
        sample = "".join(c for c in bytes(range(0xA0, 0x100)).decode(info["python_encode"], "ignore")
                         if c.isprintable() and c != " ")[:40]
        raw = sample.encode(info["python_encode"])
    assert sample
    parser, _ = parse(b"\x1bt" + bytes([n]) + raw + b"\n", **({"profile": profile} if profile != "default" else {}))
    assert parser.errors == [] and parser.current.lines == [sample]



def test_every_code_page_of_every_python_escpos_profile():
    from escpos.capabilities import CAPABILITIES
    checked = 0
    for profile in CAPABILITIES["profiles"]:
        for profile_, n, name in _encodable_pages(profile):
            test_every_code_page_python_escpos_can_select(profile_, n, name)
            checked += 1
    assert checked > 700

# -- whatever arrives, it renders ---------------------------------------------------------------------

PIECES = [b"\x1b", b"\x1d", b"\x1c", b"\x10", b"(", b"k", b"L", b"v0", b"*", b"&", b"!", b"\x00", b"\x01",
          b"\x02", b"\x03", b"\x08", b"\x30", b"\x31", b"\x32", b"\x41", b"\x43", b"\x45", b"\x50", b"\x51", b"p",
          b"\xff", b"I", b"{C", b"\x0a", b"text ", b"\x1dV\x00", b"\x1c&", b"\x1c.", b"\xe4\xb8\xad"]


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(PIECES), max_size=50).map(b"".join))
def test_any_stream_renders_to_text_and_png(data):
    import tempfile
    parser, _ = parse(data)
    with tempfile.TemporaryDirectory() as folder:
        for i, doc in enumerate([*parser.documents, parser.current]):
            assert isinstance(to_text(doc), str)
            to_png(doc, f"{folder}/{i}.png")
