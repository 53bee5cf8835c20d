"""The link side of the terminal simulator: serving TCP connections and a pty, the steps of a
command where faults are injected, and the acknowledgement exchange every terminal message needs.
`TerminalSimulator` (sim.py) adds the commands and the ledger."""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import tty
from dataclasses import dataclass
from typing import Callable

from devices.zvt.apdu import ACK, Apdu, ZvtError, nak
from devices.zvt.results import BUSY, SYSTEM_ERROR
from devices.zvt.transport import FdPipe, LinkError, SerialTransport, SocketPipe, TcpTransport

log = logging.getLogger("devices.zvt.sim")
PROTOCOL_ERROR = 0x9A
FUNCTION_NOT_POSSIBLE = 0x83

STEPS = ("received", "acked", "status", "authorised", "status-info", "status-info-acked", "print", "printed",
         "completion", "done")


@dataclass
class Fault:
    kind: str  # drop | silent | corrupt | nak
    step: str
    command: tuple[int, int] | None = (0x06, 0x01)  # None: any command
    times: int = 1


class _Dropped(Exception):
    """The simulated link was cut inside a command."""


class SimLink:
    """Serving and the per-command protocol steps; subclasses implement `_command(t, apdu)` and have
    `config.ack_wait` and `_lock`."""

    def __init__(self, serial_timeouts: dict | None = None) -> None:
        self.faults: list[Fault] = []
        self.on_step: Callable[[tuple[int, int], str], None] | None = None  # test hook, called at every step
        self.port: int | None = None
        self.path: str | None = None
        self._serial_timeouts = serial_timeouts or {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: socket.socket | None = None
        self._sessions: list = []

    def _command(self, t, apdu: Apdu) -> None:
        raise NotImplementedError

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    # -- serving ---------------------------------------------------------------------------------

    def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> "TerminalSimulator":
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(8)
        self._server, self.port = server, server.getsockname()[1]
        self._spawn(self._accept_loop, "zvt-sim-accept")
        return self

    def start_pty(self) -> "TerminalSimulator":
        master, slave = os.openpty()
        tty.setraw(slave)  # we keep the slave open too, so the master never sees EIO between ECR opens
        self._slave = slave
        self.path = os.ttyname(slave)
        transport = SerialTransport(FdPipe(master), **self._serial_timeouts)
        self._sessions.append(transport)
        self._spawn(lambda: self._session(transport, serial=True), "zvt-sim-pty")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            try:
                self._server.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            try:
                self._server.close()
            except OSError:
                pass
        for transport in list(self._sessions):
            transport.close()
        for thread in self._threads:
            thread.join(2.0)
        if getattr(self, "_slave", None) is not None:
            os.close(self._slave)
            self._slave = None

    def drop_connections(self) -> None:
        """Cut every open TCP connection now (a pulled network cable on the terminal side)."""
        for transport in list(self._sessions):
            if isinstance(transport, TcpTransport):
                transport.close()

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            transport = TcpTransport(SocketPipe(conn))
            self._sessions.append(transport)
            self._spawn(lambda t=transport: self._session(t, serial=False), "zvt-sim-conn")

    def _session(self, transport, serial: bool) -> None:
        try:
            while not self._stop.is_set():
                try:
                    apdu = transport.receive(0.2)
                except ZvtError:
                    continue  # a malformed APDU: ignore it, as a terminal would
                if apdu is None:
                    continue
                try:
                    self._command(transport, apdu)
                except _Dropped:
                    if not serial:
                        return
        except LinkError:
            return
        finally:
            if not serial:
                transport.close()
                if transport in self._sessions:
                    self._sessions.remove(transport)

        # -- commands --------------------------------------------------------------------------------

    def _at(self, t, command: tuple[int, int], step: str) -> None:
        """Reached `step` of `command`: run the test hook and any fault planned here."""
        if self.on_step is not None:
            self.on_step(command, step)
        with self._lock:
            fault = next((f for f in self.faults if f.step == step and f.command in (None, command)), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
        if fault is None:
            return
        if fault.kind == "drop":
            if isinstance(t, TcpTransport):
                t.close()
            raise _Dropped(step)
        if fault.kind == "silent":
            while not self._stop.wait(0.05):
                if isinstance(t, TcpTransport) and t.pipe.sock.fileno() < 0:
                    break
                try:  # swallow input, answer nothing, until the ECR gives up and closes
                    t.receive(0.05)
                except (LinkError, ZvtError):
                    break
            raise _Dropped(step)
        if fault.kind == "corrupt" and isinstance(t, SerialTransport):
            t.corrupt_sends += 1
        if fault.kind == "nak" and isinstance(t, SerialTransport):
            t.nak_receives += 1

    def _meanwhile(self, t, apdu: Apdu) -> None:
        """Something other than the awaited 80 00 00 arrived mid-command: a late abort or a new command
        gets 84 (nothing is started), a stray acknowledgement is ignored. Nothing is dropped silently."""
        if apdu.cls in (0x80, 0x84):
            return
        code = FUNCTION_NOT_POSSIBLE if apdu.is_(0x06, 0xB0) else BUSY
        log.info("simulator: %s arrived while a command runs: 84 %02X", apdu.name, code)
        t.send(nak(code))

    def _ack(self, t, command) -> None:
        t.send(ACK)
        t.sim_acked = True
        self._at(t, command, "acked")

    def _send_and_wait_ack(self, t, command, apdu: Apdu, step: str | None) -> None:
        t.send(apdu)
        if step is not None:
            self._at(t, command, step)
        deadline = time.monotonic() + self.config.ack_wait
        while time.monotonic() < deadline:
            answer = t.receive(deadline - time.monotonic())
            if answer is None:
                break
            if answer.is_(0x80, 0x00):
                if step == "status-info":
                    self._at(t, command, "status-info-acked")
                return
            self._meanwhile(t, answer)
        raise _Dropped("no acknowledgement from the ECR")

    def _finish(self, t, command, result: int | None = None) -> None:
        if result is None:
            self._send_and_wait_ack(t, command, Apdu(0x06, 0x0F), "completion")
        else:
            self._send_and_wait_ack(t, command, Apdu(0x06, 0x1E, bytes([result])), "completion")
        self._at(t, command, "done")

    def _error_reply(self, t, apdu: Apdu, exc: Exception) -> None:
        code = PROTOCOL_ERROR if isinstance(exc, ZvtError) and not t.sim_acked else SYSTEM_ERROR
        reply = Apdu(0x06, 0x1E, bytes([code])) if t.sim_acked else nak(code)
        log.error("simulator: %s failed (%s): answering %02X %02X %02X", apdu.name, exc, reply.cls, reply.instr,
                  code, exc_info=not isinstance(exc, (ZvtError, OSError)))  # a full or read-only disk is no bug
        if t.sim_acked:
            self._send_and_wait_ack(t, (apdu.cls, apdu.instr), reply, None)
        else:
            t.send(reply)

    def _abort_requested(self, t, delay: float) -> bool:
        """PIN entry: wait `delay` s, answering an ECR abort (06 B0) if one comes."""
        deadline = time.monotonic() + delay
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            answer = t.receive(min(left, 0.05))
            if answer is None:
                continue
            if answer.is_(0x06, 0xB0):
                t.send(ACK)
                return True
            self._meanwhile(t, answer)



def _peer_alive(t) -> bool:
    """A terminal does not start a booking for an ECR whose TCP connection is already closed."""
    if not isinstance(t, TcpTransport):
        return True
    try:
        return t.pipe.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
