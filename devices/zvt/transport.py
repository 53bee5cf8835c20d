"""Moving APDUs: over TCP as plain APDUs, over serial inside DLE STX frames with ACK/NAK.

Both sides of the link (the kiosk's driver and the terminal simulator) use these classes.
`receive(timeout)` returns the next APDU or None when nothing complete arrived in time; a lost
link raises `LinkError`. Serial timeouts follow PA00P016 as we read it:

    T1  byte_timeout  0.2 s  longest gap between two bytes of one frame (a longer gap drops the frame)
    T3  ack_timeout   5 s    wait for ACK/NAK after sending a frame; then resend (3 tries in all)
    T2 / T4 (15 s for the terminal's first answer, 180 s for the end of a payment) are the driver's.
"""
from __future__ import annotations

import os
import select
import socket
import time
from collections import Counter, deque

from devices.zvt.apdu import Apdu, ZvtError, decode_apdu, split_apdu
from devices.zvt.framing import ACK, NAK, FrameReader, encode_frame

T1, T2, T3, T4 = 0.2, 15.0, 5.0, 180.0
SEND_TRIES = 3


class LinkError(ConnectionError):
    """The link to the other side is gone or unusable; str() says why."""


# -- byte pipes -----------------------------------------------------------------------------------

class SocketPipe:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def read(self, timeout: float) -> bytes:
        """Whatever arrives within `timeout` (b"" if nothing); LinkError when the peer closed."""
        try:
            ready, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
            if not ready:
                return b""
            data = self.sock.recv(65536)
        except (OSError, ValueError) as exc:
            raise LinkError(f"connection lost: {exc}") from None
        if not data:
            raise LinkError("connection closed by the other side")
        return data

    def write(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except (OSError, ValueError) as exc:
            raise LinkError(f"cannot send: {exc}") from None

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class FdPipe:
    """A raw file descriptor, e.g. the master side of a pty."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def read(self, timeout: float) -> bytes:
        try:
            ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
            if not ready:
                return b""
            data = os.read(self.fd, 65536)
        except (OSError, ValueError) as exc:  # EIO on a pty master once the slave is closed
            raise LinkError(f"serial line lost: {exc}") from None
        if not data:
            raise LinkError("serial line closed")
        return data

    def write(self, data: bytes) -> None:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view):]
        except (OSError, ValueError) as exc:
            raise LinkError(f"cannot write to the serial line: {exc}") from None

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


class SerialPipe:
    """A pyserial port (a real /dev/tty*, a pty slave, or any serial_for_url URL)."""

    def __init__(self, port) -> None:
        self.port = port

    def read(self, timeout: float) -> bytes:
        import serial
        try:
            self.port.timeout = max(0.0, timeout)
            first = self.port.read(1)
            if not first:
                return b""
            waiting = self.port.in_waiting
            return first + (self.port.read(waiting) if waiting else b"")
        except (serial.SerialException, OSError, TypeError) as exc:
            raise LinkError(f"serial line lost: {exc}") from None

    def write(self, data: bytes) -> None:
        import serial
        try:
            self.port.write(data)
            self.port.flush()
        except (serial.SerialException, OSError, TypeError) as exc:
            raise LinkError(f"cannot write to the serial line: {exc}") from None

    def close(self) -> None:
        try:
            self.port.close()
        except Exception:
            pass


# -- transports -------------------------------------------------------------------------------------

class TcpTransport:
    """ZVT over TCP: APDUs back to back, no framing, no link-level ACK."""

    def __init__(self, pipe) -> None:
        self.pipe = pipe
        self.statistics: Counter[str] = Counter()
        self._buf = b""

    @classmethod
    def connect(cls, host: str, port: int, timeout: float = 5.0) -> "TcpTransport":
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise LinkError(f"cannot connect to the terminal at {host}:{port}: {exc}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(SocketPipe(sock))

    def send(self, apdu: Apdu) -> None:
        self.pipe.write(apdu.encode())
        self.statistics["apdus_out"] += 1

    def receive(self, timeout: float) -> Apdu | None:
        deadline = time.monotonic() + timeout
        while True:
            found = split_apdu(self._buf)
            if found:
                apdu, self._buf = found
                self.statistics["apdus_in"] += 1
                return apdu
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._buf += self.pipe.read(left)

    def close(self) -> None:
        self.pipe.close()


class SerialTransport:
    """ZVT over serial: each APDU in a CRC-checked frame, acknowledged with ACK or NAK.

    Faults for the simulator and tests: `corrupt_sends` = how many of the next frames go out with
    a broken CRC; `nak_receives` = how many of the next good frames are answered with NAK.
    """

    def __init__(self, pipe, byte_timeout: float = T1, ack_timeout: float = T3) -> None:
        self.pipe = pipe
        self.byte_timeout, self.ack_timeout = byte_timeout, ack_timeout
        self.statistics: Counter[str] = Counter()
        self.corrupt_sends = 0
        self.nak_receives = 0
        self._reader = FrameReader()
        self._frames: deque[bytes] = deque()
        self._acks: deque[str] = deque()

    @classmethod
    def open(cls, url: str, baudrate: int = 9600, **timeouts: float) -> "SerialTransport":
        import serial
        try:
            port = serial.serial_for_url(url, baudrate=baudrate, bytesize=8, parity="N", stopbits=2, timeout=0)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LinkError(f"cannot open the serial port {url}: {exc}") from None
        return cls(SerialPipe(port), **timeouts)

    def send(self, apdu: Apdu) -> None:
        frame = encode_frame(apdu.encode())
        self._acks.clear()
        for attempt in range(SEND_TRIES):
            if attempt:
                self.statistics["retransmissions"] += 1
            if self.corrupt_sends > 0:
                self.corrupt_sends -= 1
                self.pipe.write(frame[:-2] + bytes([frame[-2] ^ 0xFF, frame[-1]]))
            else:
                self.pipe.write(frame)
            answer = self._wait_ack(time.monotonic() + self.ack_timeout)
            if answer == "ack":
                self.statistics["apdus_out"] += 1
                return
            self.statistics["naks_received" if answer == "nak" else "ack_timeouts"] += 1
        raise LinkError(f"{apdu.name} not acknowledged after {SEND_TRIES} tries")

    def receive(self, timeout: float) -> Apdu | None:
        deadline = time.monotonic() + timeout
        while not self._frames:
            if not self._pump(deadline):
                return None
        payload = self._frames.popleft()
        self.statistics["apdus_in"] += 1
        return decode_apdu(payload)

    def close(self) -> None:
        self.pipe.close()

    def _wait_ack(self, deadline: float) -> str | None:
        while not self._acks:
            if not self._pump(deadline):
                return None
        return self._acks.popleft()

    def _pump(self, deadline: float) -> bool:
        """Read once (at most until `deadline`); False on timeout. Answers every frame it completes."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        wait = min(left, self.byte_timeout) if self._reader.in_frame else left
        data = self.pipe.read(wait)
        if not data:
            if self._reader.in_frame:  # T1: the rest of the frame never came
                self._reader.reset()
                self.statistics["frames_timed_out"] += 1
                self.pipe.write(bytes([NAK]))
                return True
            return False
        for event in self._reader.feed(data):
            if event.kind in ("ack", "nak"):
                self._acks.append(event.kind)
            elif event.kind == "frame":
                self._accept(event.payload)
            else:
                self.statistics["bad_frames"] += 1
                if "CRC" in event.text or "DLE" in event.text or "longer" in event.text:
                    self.pipe.write(bytes([NAK]))
        return True

    def _accept(self, payload: bytes) -> None:
        try:
            decode_apdu(payload)
        except ZvtError:
            self.statistics["bad_frames"] += 1
            self.pipe.write(bytes([NAK]))
            return
        if self.nak_receives > 0:
            self.nak_receives -= 1
            self.statistics["naks_sent"] += 1
            self.pipe.write(bytes([NAK]))
            return
        self.pipe.write(bytes([ACK]))
        self._frames.append(payload)
