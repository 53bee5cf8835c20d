"""Hypothesis fuzzing of the frame and APDU parsers: 21,000 generated inputs in all.
Garbage never crashes them; it gives a ZvtError (or an "error" link event) naming the problem."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from devices.zvt.apdu import Apdu, ZvtError, decode_apdu, parse_bmps, parse_tlv, split_apdu
from devices.zvt.driver import parse_status, print_lines
from devices.zvt.framing import FrameReader, encode_frame

FUZZ = settings(max_examples=7000, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                database=None)
KNOWN_PREFIXES = [b"\x04\x0f", b"\x06\x0f", b"\x06\x1e", b"\x06\xd1", b"\x06\xd3", b"\x04\xff", b"\x80\x00", b"\x84\x9c"]


@FUZZ
@given(st.binary(max_size=90), st.integers(0, 2**32 - 1))
def test_frame_reader_never_crashes(raw, knobs):
    """Garbage, a real frame (maybe with one byte changed), garbage; fed in two chunks. `knobs`
    picks where the garbage ends, which byte flips and where the stream is cut."""
    split1, split2, flip_at, flip = knobs & 0xFF, knobs >> 8 & 0xFF, knobs >> 16 & 0x7F, knobs >> 24
    before, apdu, after = raw[:split1 % 25], raw[split1 % 25:split1 % 25 + 40], raw[split1 % 25 + 40:]
    frame = bytearray(encode_frame(apdu))
    frame[flip_at % len(frame)] ^= flip
    stream = before + bytes(frame) + after
    cut = split2 % (len(stream) + 1)
    reader = FrameReader()
    events = reader.feed(stream[:cut]) + reader.feed(stream[cut:])
    for event in events:
        assert event.kind in ("ack", "nak", "frame", "error")
        if event.kind == "error":
            assert event.text
    if not flip and b"\x10" not in before:  # an intact frame after clean bytes always comes through
        assert ("frame", apdu) in [(e.kind, e.payload) for e in events]


@FUZZ
@given(st.binary(max_size=300))
def test_apdu_and_field_parsers_give_clear_errors(raw):
    for parse in (decode_apdu, parse_bmps, parse_tlv, parse_status):
        try:
            parse(raw)
        except ZvtError as exc:
            assert str(exc)
    assert split_apdu(raw) is None or isinstance(split_apdu(raw)[0], Apdu)


@FUZZ
@given(st.sampled_from(KNOWN_PREFIXES), st.binary(max_size=280))
def test_received_messages_give_clear_errors(prefix, data):
    apdu = Apdu(prefix[0], prefix[1], data)
    assert decode_apdu(apdu.encode()) == apdu
    try:
        if apdu.is_(0x04, 0x0F):
            parse_status(apdu.data)
        elif apdu.cls == 0x06 and apdu.instr in (0xD1, 0xD3):
            print_lines(apdu)
    except ZvtError as exc:
        assert str(exc)
