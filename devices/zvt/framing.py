"""ZVT serial framing (PA00P016): DLE STX <APDU, every 0x10 doubled> DLE ETX CRC-lo CRC-hi.

The CRC is CRC-16/KERMIT (reflected poly 0x8408, init 0) over the un-doubled APDU plus the ETX
byte. The receiver answers every frame with ACK (06) or NAK (15); the link-level ACK is separate
from the APDU-level "80 00 00". Pure code: `FrameReader` turns a byte stream into events.
"""
from __future__ import annotations

from dataclasses import dataclass

DLE, STX, ETX, ACK, NAK = 0x10, 0x02, 0x03, 0x06, 0x15
MAX_FRAME = 0xFFFF + 5  # the longest APDU with an extended length


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _table()


def crc16_kermit(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc


def encode_frame(apdu: bytes) -> bytes:
    crc = crc16_kermit(apdu + bytes([ETX]))
    return bytes([DLE, STX]) + apdu.replace(b"\x10", b"\x10\x10") + bytes([DLE, ETX, crc & 0xFF, crc >> 8])


@dataclass(frozen=True)
class LinkEvent:
    kind: str  # "ack", "nak", "frame" (payload = the APDU bytes) or "error" (text says what was wrong)
    payload: bytes = b""
    text: str = ""


class FrameReader:
    """Feed bytes as they arrive; get ACK/NAK/frame/error events. Never raises on bad input."""

    def __init__(self) -> None:
        self._state = "idle"  # idle | body | dle | crc
        self._body = bytearray()
        self._crc = bytearray()

    @property
    def in_frame(self) -> bool:
        return self._state != "idle"

    def reset(self) -> None:
        self._state, self._body, self._crc = "idle", bytearray(), bytearray()

    def feed(self, data: bytes) -> list[LinkEvent]:
        events: list[LinkEvent] = []
        garbage = 0
        for byte in data:
            state = self._state
            if state == "idle":
                if byte == ACK:
                    events.append(LinkEvent("ack"))
                elif byte == NAK:
                    events.append(LinkEvent("nak"))
                elif byte == DLE:
                    self._state = "start"
                else:
                    garbage += 1
            elif state == "start":
                if byte == STX:
                    self._state, self._body = "body", bytearray()
                else:
                    self._state = "idle"
                    garbage += 2
            elif state == "body":
                if byte == DLE:
                    self._state = "dle"
                else:
                    self._body.append(byte)
                    if len(self._body) > MAX_FRAME:
                        events.append(LinkEvent("error", text=f"frame longer than {MAX_FRAME} bytes"))
                        self.reset()
            elif state == "dle":
                if byte == DLE:
                    self._body.append(DLE)
                    self._state = "body"
                elif byte == ETX:
                    self._state, self._crc = "crc", bytearray()
                elif byte == STX:  # a new frame starts inside the old one: the old one is lost
                    events.append(LinkEvent("error", text="frame interrupted by a new DLE STX"))
                    self._body = bytearray()
                    self._state = "body"
                else:
                    events.append(LinkEvent("error", text=f"DLE followed by {byte:02X} inside a frame "
                                                          "(expected 10 or 03)"))
                    self.reset()
            else:  # crc
                self._crc.append(byte)
                if len(self._crc) == 2:
                    events.append(self._finish())
                    self.reset()
        if garbage:
            events.insert(0, LinkEvent("error", text=f"{garbage} stray byte(s) outside a frame"))
        return events

    def _finish(self) -> LinkEvent:
        body = bytes(self._body)
        expected = crc16_kermit(body + bytes([ETX]))
        got = self._crc[0] | self._crc[1] << 8
        if got != expected:
            return LinkEvent("error", text=f"bad CRC: frame says {got:04X}, computed {expected:04X}")
        return LinkEvent("frame", payload=body)
