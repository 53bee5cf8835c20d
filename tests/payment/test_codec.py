"""Pure unit tests of the codec: CRC, framing, APDUs, BMPs, TLV, PAN masking, result texts."""
from __future__ import annotations

import pytest

from devices.zvt.apdu import (Apdu, Tlv, ZvtError, bcd, bmp, decode_apdu, decode_pan, encode_pan, mask_card_numbers,
                              mask_pan, parse_bmps, parse_tlv, split_apdu, unbcd)
from devices.zvt.driver import parse_status
from devices.zvt.framing import FrameReader, crc16_kermit, encode_frame
from devices.zvt.results import customer_message, technician_text


def test_crc16_kermit_check_value():
    assert crc16_kermit(b"123456789") == 0x2189


def test_frame_doubles_dle_and_round_trips():
    apdu = Apdu(0x06, 0x01, bytes([0x10, 0x02, 0x10, 0x03])).encode()
    frame = encode_frame(apdu)
    assert frame.startswith(b"\x10\x02") and b"\x10\x10\x02\x10\x10\x03" in frame
    events = FrameReader().feed(frame)
    assert [(e.kind, e.payload) for e in events] == [("frame", apdu)]


def test_frame_reader_byte_by_byte_with_ack_nak_around():
    reader = FrameReader()
    stream = b"\x06" + encode_frame(b"\x80\x00\x00") + b"\x15"
    events = [e for byte in stream for e in reader.feed(bytes([byte]))]
    assert [e.kind for e in events] == ["ack", "frame", "nak"]


def test_bad_crc_is_named():
    frame = bytearray(encode_frame(b"\x80\x00\x00"))
    frame[-1] ^= 0x55
    [event] = FrameReader().feed(bytes(frame))
    assert event.kind == "error" and "bad CRC" in event.text


def test_extended_length_apdu():
    data = bytes(range(256)) * 3
    raw = Apdu(0x06, 0xD3, data).encode()
    assert raw[:5] == bytes([0x06, 0xD3, 0xFF, 0x00, 0x03])
    assert decode_apdu(raw).data == data
    assert split_apdu(raw + b"\x80") == (Apdu(0x06, 0xD3, data), b"\x80")
    assert split_apdu(raw[:-1]) is None


@pytest.mark.parametrize("raw, words", [(b"\x06", "too short"), (b"\x06\x01\x05\x00", "says 5 data bytes but has 1"),
                                        (b"\x06\x01\xff\x01", "extended length")])
def test_bad_apdus_are_named(raw, words):
    with pytest.raises(ZvtError, match=words):
        decode_apdu(raw)


def test_bmp_fixed_llvar_and_tlv():
    data = bmp(0x04, bcd(1234, 6)) + bmp(0x8B, b"girocard") + bmp(0x06, Tlv(0x25, children=(Tlv(0x07, b"hi"),)).encode())
    fields = parse_bmps(data)
    assert unbcd(fields[0x04]) == 1234 and fields[0x8B] == b"girocard"
    [container] = parse_tlv(fields[0x06])
    assert container.find(0x07)[0].value == b"hi"
    assert data[7:10] == b"\x8b\xf0\xf8"  # LLVAR length as F-digits


@pytest.mark.parametrize("data, words", [(b"\x99\x00", "unknown BMP 99"), (b"\x04\x00\x00", "needs 6 bytes"),
                                         (b"\x22\xf1", "length prefix cut off"), (b"\x22\x12\x34", "bad length prefix")])
def test_bad_bmps_are_named(data, words):
    with pytest.raises(ZvtError, match=words):
        parse_bmps(data)


def test_multibyte_tlv_tag_and_long_length():
    item = Tlv(0x1F07, b"x" * 200)
    [parsed] = parse_tlv(item.encode())
    assert parsed.tag == 0x1F07 and parsed.value == b"x" * 200


def test_bcd_rejects_non_digits():
    with pytest.raises(ZvtError, match="not BCD"):
        unbcd(b"\x1a")


def test_pan_is_masked_whatever_the_terminal_sends():
    assert decode_pan(encode_pan("672559******7898")) == "672559******7898"
    assert decode_pan(encode_pan("6725591234567898")) == "672559******7898"
    assert mask_pan("4111111111111111") == "411111******1111"
    assert parse_status(bmp(0x22, encode_pan("4111111111111111")))["masked_pan"] == "411111******1111"
    assert mask_card_numbers("card 4111 1111 1111 1111 ok") == "card 411111******1111 ok"
    assert mask_card_numbers("trace 1234567890123") == "trace 1234567890123"  # not Luhn-valid: left alone


def test_result_texts():
    assert customer_message(0x00)[0] == "payment.approved"
    assert customer_message(0x05)[0] == "payment.declined"
    assert customer_message(0x6C)[0] == "payment.cancelled"
    assert customer_message(0xDD)[0] == "payment.card_removed"
    assert customer_message(0x9C)[0] == "payment.busy"
    assert customer_message(0xFF)[0] == "payment.unavailable"
    assert technician_text(0x6A) == "result 6A: turnover file full: end of day required"
    assert "unknown" in technician_text(0xD9)
