"""Code classification (devices/codes.py): multi-line content, DataBar, DMRE, UPC labels, display form."""
import pytest

from devices.codes import BadCode, classify, code_from_decoder
from kiosk.flows.texts import shown_code

VCARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Muster;Erika\r\nTEL:+49301234567\r\nEND:VCARD"
MECARD = "MECARD:N:Muster,Erika;TEL:+49301234567;;"


@pytest.mark.parametrize("text", [VCARD, "line one\nline two", "a\tb", "BK-7Q2X9K\nErika Muster", MECARD])
def test_line_breaks_and_tabs_are_content(text):
    code = classify("]Q1" + text)
    assert code.text == text and code.category in ("qr", "booking") and code.valid


def test_a_two_line_booking_qr_is_a_booking():
    code = classify("]Q1BK-7Q2X9K\r\nErika Muster, 2 guests")
    assert code.category == "booking" and code.booking == "7Q2X9K"


@pytest.mark.parametrize("bad", ["AB\x00CD", "AB\x07CD", "\x1b[2J", "AB\x7fCD", "A\x0bB", "A\x0cB"])
def test_control_bytes_that_cannot_be_content_are_a_bad_read(bad):
    with pytest.raises(BadCode, match="control character"):
        classify("]Q1" + bad)


def test_from_a_camera_decoder_control_characters_are_content_but_nul_is_not():
    # ZXing's blackbox photo qrcode-2/33.png holds a QR code that starts with SOH DLE (tests/data/photos)
    code = code_from_decoder("\x01\x10AD:SUB:\u963f;;", "]Q1", "QRCode")
    assert code.text == "\x01\x10AD:SUB:\u963f;;" and code.category == "qr" and code.valid
    with pytest.raises(BadCode, match="control character 0x00"):
        code_from_decoder("AB\x00CD", "]Q1", "QRCode")


def test_gs1_separators_stay_legal():
    code = classify("]d2" + "0104006381333931" + "10LOT42\x1d" + "17261231")
    assert code.category == "gs1" and code.ais == {"01": "04006381333931", "10": "LOT42", "17": "261231"}


def test_the_display_form_makes_controls_visible_and_is_short():
    assert shown_code("4006381333931") == "4006381333931"
    shown = shown_code(VCARD)
    assert "\r" not in shown and "\n" not in shown and len(shown) <= 40 and shown.endswith("…")
    assert shown_code("01\x1d10LOT") == "01<GS>10LOT"
    assert shown_code("a\x00b\u202ec") == "a<00>b<202E>c"  # also bidi overrides, which reorder the message
    assert shown_code("x" * 100, limit=10) == "xxxxxxxxx…"


@pytest.mark.parametrize("text, ais", [
    ("0100614141999996", {"01": "00614141999996"}),  # omnidirectional, stacked, limited: AI 01 only
    ("0198898765432106320201234515991231", {"01": "98898765432106", "3202": "012345", "15": "991231"}),  # expanded
])
def test_databar_is_gs1_with_its_ais(text, ais):
    code = classify("]e0" + text)
    assert (code.symbology, code.category, code.valid, code.ais) == ("GS1 DataBar", "gs1", True, ais)
    assert code.gtin == ais["01"]


@pytest.mark.parametrize("aim", ["]d2", "]d5", "]d8", "]dB"])
def test_gs1_datamatrix_rectangular_extension_is_gs1(aim):
    # zxing-cpp (core/src/datamatrix/DMDecoder.cpp + Content.h): DMRE adds 6 to the modifier, values from 10
    # are letters, so GS1 is ]d2, ]d5 (ECI), ]d8 (DMRE), ]dB (DMRE + ECI)
    code = code_from_decoder("0104006381333931\x1d10LOT42", aim, "DataMatrix")
    assert code.category == "gs1" and code.ais["10"] == "LOT42" and code.symbology == "GS1 DataMatrix"
    assert code.aim == aim


@pytest.mark.parametrize("aim", ["]d7", "]d9", "]dA", "]dC"])
def test_dmre_modifiers_that_are_not_gs1(aim):
    code = code_from_decoder("0104006381333931", aim, "DataMatrix")
    assert (code.category, code.symbology, code.aim) == ("qr", "DataMatrix", aim)


def test_dmre_modifier_is_one_character_as_zxing_writes_it():
    # zxing-cpp never sends "]d11" (it writes 11 as "B"): a two-digit modifier is not an AIM identifier
    code = code_from_decoder("0104006381333931", "]d11", "DataMatrix")
    assert (code.aim, code.symbology) == ("", "DataMatrix") and code.category != "gs1"


def test_plain_dmre_is_a_datamatrix_text():
    code = code_from_decoder("LOT42-0815", "]d7", "DataMatrix")
    assert (code.category, code.symbology, code.text) == ("qr", "DataMatrix", "LOT42-0815")


@pytest.mark.parametrize("version", [31, 39, 48])  # zint's DMRE sizes: 8x48, 20x36, 26x64
def test_real_zxing_read_of_a_generated_gs1_dmre_code(version):
    import numpy as np
    import zxingcpp

    from devices.camera import zxing_decoder
    barcode = zxingcpp.create_barcode("(01)04006381333931(10)LOT42", zxingcpp.BarcodeFormat.DataMatrix,
                                      version=version, gs1=True)
    image = np.asarray(barcode.to_image(scale=4))
    assert image.shape[0] < image.shape[1]  # rectangular
    [(text, aim, fmt, *_)] = zxing_decoder()(np.pad(image, 16, constant_values=255))
    assert aim == "]d8"
    code = code_from_decoder(text, aim, fmt)
    assert (code.category, code.symbology, code.gtin, code.ais["10"]) == ("gs1", "GS1 DataMatrix",
                                                                          "04006381333931", "LOT42")
    plain = zxingcpp.create_barcode("LOT42-0815", zxingcpp.BarcodeFormat.DataMatrix, version=version)
    [(text, aim, fmt, *_)] = zxing_decoder()(np.pad(np.asarray(plain.to_image(scale=4)), 16, constant_values=255))
    assert (aim, code_from_decoder(text, aim, fmt).category) == ("]d7", "qr")


def test_upc_read_as_ean13_by_zxing_is_labelled_upc():
    code = code_from_decoder("0036000291452", "]E0", "EAN13")
    assert (code.symbology, code.text, code.gtin) == ("UPC-A", "036000291452", "00036000291452")
    code = code_from_decoder("0012345000065", "]E0", "UPCE", extra={"UPCE": "01234565"})
    assert (code.symbology, code.text, code.gtin) == ("UPC-E", "01234565", "00012345000065")
    code = code_from_decoder("4006381333931", "]E0", "EAN13")
    assert (code.symbology, code.text) == ("EAN-13", "4006381333931")
