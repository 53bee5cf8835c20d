"""The systemd notify protocol (sd_notify(3)), written out because it is one datagram: newline-separated
`VAR=value` lines sent to the AF_UNIX datagram socket named by $NOTIFY_SOCKET ('@' = abstract namespace).

Used by the kiosk unit (`Type=notify`, `WatchdogSec=`): READY=1 once the first screen is drawn, WATCHDOG=1
from the UI thread's clock, STATUS= what `systemctl status kiosk` shows. Outside systemd (no NOTIFY_SOCKET)
every call is a no-op. This module is pure: the Kivy side lives in screens/service_notify.py.
"""
from __future__ import annotations

import logging
import os
import socket
from typing import Iterable, Mapping, MutableMapping

log = logging.getLogger("kiosk.sdnotify")
IN_SERVICE = "in service"


class Notifier:
    def __init__(self, address: str | None, watchdog_usec: int = 0) -> None:
        """`address`: $NOTIFY_SOCKET as systemd sets it (a path, or '@name' for the abstract namespace)."""
        self.address = address
        self.watchdog_usec = watchdog_usec
        self._sock: socket.socket | None = None
        self._last_status: str | None = None

    @classmethod
    def from_environ(cls, environ: MutableMapping[str, str] | None = None, pid: int | None = None,
                     parent_pid: int | None = None) -> "Notifier":
        """Takes NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID out of the environment, so processes the kiosk
        starts (its local server) do not speak for it. The watchdog counts when WATCHDOG_PID is unset, this
        process or its parent: under `cage -- kiosk` systemd's main PID is cage, the kiosk its child
        (the unit says NotifyAccess=all)."""
        environ = os.environ if environ is None else environ
        address = environ.pop("NOTIFY_SOCKET", None) or None
        usec_text = environ.pop("WATCHDOG_USEC", "")
        watchdog_pid = environ.pop("WATCHDOG_PID", "")
        usec = parse_usec(usec_text)
        mine = {str(os.getpid() if pid is None else pid), str(os.getppid() if parent_pid is None else parent_pid)}
        if watchdog_pid and watchdog_pid not in mine:
            usec = 0
        return cls(address, usec)

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    @property
    def watchdog_interval_s(self) -> float:
        """How often to send WATCHDOG=1: half the timeout, as sd_watchdog_enabled(3) advises; 0 = never."""
        return self.watchdog_usec / 2_000_000 if self.enabled else 0.0

    def send(self, *assignments: str) -> bool:
        """One datagram with these `VAR=value` lines; False (logged once per failure) when it was not sent."""
        if not self.address:
            return False
        payload = encode(assignments)
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(payload, socket_address(self.address))
            return True
        except (OSError, ValueError) as exc:
            log.warning("sd_notify to %s failed: %s", self.address, exc)
            return False

    def ready(self, status: str = IN_SERVICE) -> bool:
        self._last_status = status
        return self.send("READY=1", f"STATUS={status}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def status(self, text: str) -> bool:
        """STATUS=text, sent only when it differs from the last one sent."""
        if text == self._last_status:
            return False
        self._last_status = text
        return self.send(f"STATUS={text}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1", "STATUS=stopping")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def encode(assignments: Iterable[str]) -> bytes:
    lines = []
    for line in assignments:
        name, sep, value = line.partition("=")
        if not sep or not name or "\n" in line:
            raise ValueError(f"sd_notify: expected one VAR=value line, got {line!r}")
        lines.append(line)
    return "\n".join(lines).encode("utf-8")


def socket_address(address: str) -> str | bytes:
    if address.startswith("@"):
        return b"\0" + address[1:].encode("utf-8")
    if not address.startswith("/"):
        raise ValueError(f"NOTIFY_SOCKET: expected an absolute path or @name, got {address!r}")
    return address


def parse_usec(text: str) -> int:
    if not text:
        return 0
    try:
        value = int(text)
    except ValueError:
        log.warning("WATCHDOG_USEC: expected microseconds as an integer, got %r; watchdog off", text)
        return 0
    return max(value, 0)


def service_status(state: str, fault: str | None, unusable: Mapping[str, str]) -> str:
    """The STATUS= line: "in service", "in service, degraded: printer out" or "out of service: payment
    offline, scanner closed" (`unusable`: device name -> its state, for every device not usable)."""
    devices = ", ".join(f"{name} {dev_state}" for name, dev_state in sorted(unusable.items()))
    if state == "out_of_service":
        return f"out of service: {fault or devices or 'no flow available'}"
    return f"{IN_SERVICE}, degraded: {devices}" if devices else IN_SERVICE
