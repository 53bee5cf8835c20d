"""The byte link a simulator talks over: a TCP port on 127.0.0.1 or a pseudo-terminal (pty).

Both look to the kiosk exactly like hardware: a `socket://127.0.0.1:<port>` serial scanner, a
network printer on a 9100-style port, or a serial device node (the pty's `path`, a stable symlink
like /dev/serial/by-id/... that survives unplug/replug).

`unplug()` drops the connection and refuses new ones (TCP: the port closes; pty: the device node
disappears); `replug()` brings it back on the same port or path.
"""
from __future__ import annotations

import os
import select
import socket
import tempfile
import threading
import tty
from typing import Any, Callable

OnBytes = Callable[[bytes, "Link"], None]


class Link:
    """Base: `send(data)` to the kiosk; received bytes go to `on_bytes(data, link)`."""

    def __init__(self, on_bytes: OnBytes | None = None) -> None:
        self.on_bytes = on_bytes or (lambda data, link: None)
        self.plugged = False
        self.connected = threading.Event()  # a peer is attached (TCP client connected; pty: always)
        self.on_connect: Callable[[], None] = lambda: None  # a new connection: reset protocol state
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        raise NotImplementedError

    def start(self) -> "Link":
        self.replug()
        return self

    def stop(self) -> None:
        self.unplug()

    def send(self, data: bytes) -> bool:
        raise NotImplementedError

    def unplug(self) -> None:
        raise NotImplementedError

    def replug(self) -> None:
        raise NotImplementedError


class TcpLink(Link):
    """Listens on 127.0.0.1:`port` (0 = pick a free one, kept across unplug/replug); one client at a time.

    With `rfc2217=True` it is a serial port server speaking RFC 2217 (telnet COM-port control), as
    the kiosk sees a scanner behind a networked serial server: url rfc2217://127.0.0.1:<port>.
    """

    def __init__(self, port: int = 0, on_bytes: OnBytes | None = None, host: str = "127.0.0.1",
                 rfc2217: bool = False) -> None:
        super().__init__(on_bytes)
        self.host, self.port, self.rfc2217 = host, port, rfc2217
        self._server: socket.socket | None = None
        self._client: socket.socket | None = None
        self._telnet: dict[socket.socket, Any] = {}  # rfc2217: the protocol state of each client

    @property
    def url(self) -> str:
        return f"{'rfc2217' if self.rfc2217 else 'socket'}://{self.host}:{self.port}"

    def replug(self) -> None:
        with self._lock:
            if self.plugged:
                return
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind((self.host, self.port))
            server.listen(4)
            self.port = server.getsockname()[1]
            self._server, self.plugged = server, True
        threading.Thread(target=self._accept_loop, args=(server,), name=f"sim-tcp-{self.port}", daemon=True).start()

    def unplug(self) -> None:
        with self._lock:
            self.plugged = False
            server, self._server = self._server, None
            client, self._client = self._client, None
        for sock in (client, server):
            if sock is not None:
                _close_socket(sock)
        self.connected.clear()

    def send(self, data: bytes) -> bool:
        client = self._client
        if client is None:
            return False
        telnet = self._telnet.get(client)
        try:
            client.sendall(b"".join(telnet.escape(data)) if telnet else data)
            return True
        except OSError:
            return False

    def _accept_loop(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return  # unplugged
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.rfc2217:
                self._telnet[client] = _telnet_server(client)
            with self._lock:
                if self._server is not server:  # unplugged while this connection was being accepted
                    _close_socket(client)
                    return
                old, self._client = self._client, client
            if old is not None:  # a reconnecting kiosk replaces its old connection
                _close_socket(old)
            self.on_connect()
            self.connected.set()
            threading.Thread(target=self._read_loop, args=(client,), daemon=True).start()

    def _read_loop(self, client: socket.socket) -> None:
        while True:
            try:
                data = client.recv(65536)
            except OSError:
                data = b""
            if not data:
                with self._lock:
                    if self._client is client:
                        self._client = None
                        self.connected.clear()
                _close_socket(client)
                self._telnet.pop(client, None)
                return
            telnet = self._telnet.get(client)
            if telnet is not None:  # strip telnet negotiation; answer it through the PortManager
                data = b"".join(telnet.filter(data))
            if data:
                self.on_bytes(data, self)


class PtyLink(Link):
    """A pseudo-terminal pair; the kiosk opens `path` (a symlink to the pty's slave device)."""

    def __init__(self, path: str | None = None, on_bytes: OnBytes | None = None) -> None:
        super().__init__(on_bytes)
        self.path = path or os.path.join(tempfile.mkdtemp(prefix="kiosk-sim-"), "tty")
        self._master: int | None = None
        self._slave: int | None = None
        self._wake_w: int | None = None  # per plug-in: wakes that plug-in's reader thread to stop

    @property
    def url(self) -> str:
        return self.path

    def replug(self) -> None:
        with self._lock:
            if self.plugged:
                return
            master, slave = os.openpty()
            tty.setraw(slave)  # no echo, no CR/LF translation: bytes pass unchanged
            tmp = self.path + ".new"
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(os.ttyname(slave), tmp)
            os.replace(tmp, self.path)
            wake_r, self._wake_w = os.pipe()
            self._master, self._slave, self.plugged = master, slave, True
        self.on_connect()
        self.connected.set()
        threading.Thread(target=self._read_loop, args=(master, wake_r), name=f"sim-pty-{self.path}",
                         daemon=True).start()

    def unplug(self) -> None:
        with self._lock:
            if not self.plugged:
                return
            self.plugged = False
            slave, wake_w = self._slave, self._wake_w  # the reader thread closes the master side
            self._master = self._slave = self._wake_w = None
            if os.path.lexists(self.path):
                os.unlink(self.path)
        self.connected.clear()
        os.close(wake_w)  # the reader sees EOF on its wake pipe, stops, and closes the pty itself
        if slave is not None:
            os.close(slave)

    def send(self, data: bytes) -> bool:
        master = self._master
        if master is None:
            return False
        try:
            view = memoryview(data)
            while view:
                written = os.write(master, view)
                view = view[written:]
            return True
        except OSError:
            return False

    def _read_loop(self, master: int, wake_r: int) -> None:
        try:
            while True:
                ready, _, _ = select.select([master, wake_r], [], [])
                if wake_r in ready:
                    return
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO while the kiosk side is closed: wait for it to reopen
                    data = b""
                if data:
                    self.on_bytes(data, self)
                else:
                    select.select([wake_r], [], [], 0.01)
        finally:
            os.close(master)
            os.close(wake_r)


def _telnet_server(client: socket.socket) -> Any:
    """pyserial's RFC 2217 server side, with a loop:// port standing in for the serial line settings."""
    import serial
    from serial.rfc2217 import PortManager

    class Writer:
        def write(self, data: bytes) -> None:
            try:
                client.sendall(data)
            except OSError:
                pass

    return PortManager(serial.serial_for_url("loop://"), Writer())


def make_link(transport: str, on_bytes: OnBytes | None = None, port: int = 0, path: str | None = None) -> Link:
    """"tcp", "rfc2217" or "pty"."""
    if transport in ("tcp", "rfc2217"):
        return TcpLink(port, on_bytes, rfc2217=transport == "rfc2217")
    if transport == "pty":
        return PtyLink(path, on_bytes)
    raise ValueError(f"unknown transport {transport!r}; expected 'tcp', 'rfc2217' or 'pty'")


def _close_socket(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
