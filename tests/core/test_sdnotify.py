"""The sd_notify protocol against a real unix datagram socket, path and abstract namespace."""
from __future__ import annotations

import os
import socket
import tempfile
import uuid

import pytest

from kiosk.sdnotify import Notifier, encode, service_status


def _listen(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + address[1:].encode() if address.startswith("@") else address)
    sock.settimeout(5)
    return sock


@pytest.mark.parametrize("abstract", [False, True])
def test_ready_status_and_watchdog_arrive_as_one_datagram_each(abstract):
    folder = tempfile.mkdtemp(prefix="sdn-")
    address = f"@kiosk-test-{uuid.uuid4().hex}" if abstract else os.path.join(folder, "notify")
    listener = _listen(address)
    env = {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": str(os.getpid())}
    notifier = Notifier.from_environ(env)
    assert env == {}  # taken out: children must not speak for the kiosk
    assert notifier.watchdog_interval_s == 1.5
    assert notifier.ready("in service")
    assert listener.recv(4096) == b"READY=1\nSTATUS=in service"
    assert notifier.watchdog()
    assert listener.recv(4096) == b"WATCHDOG=1"
    assert notifier.status("out of service: printer out")
    assert not notifier.status("out of service: printer out")  # unchanged: not sent again
    assert notifier.watchdog()
    assert listener.recv(4096) == b"STATUS=out of service: printer out"
    assert listener.recv(4096) == b"WATCHDOG=1"
    notifier.close()
    listener.close()


def test_the_watchdog_is_off_for_another_process_and_without_a_socket():
    other = Notifier.from_environ({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"},
                                  pid=500, parent_pid=499)
    assert other.watchdog_interval_s == 0
    child_of_cage = Notifier.from_environ({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "2000000",
                                           "WATCHDOG_PID": "499"}, pid=500, parent_pid=499)
    assert child_of_cage.watchdog_interval_s == 1.0
    outside = Notifier.from_environ({})
    assert not outside.enabled and not outside.ready() and outside.watchdog_interval_s == 0


def test_bad_lines_and_addresses_are_refused_by_name():
    with pytest.raises(ValueError, match="VAR=value"):
        encode(["READY"])
    with pytest.raises(ValueError, match="VAR=value"):
        encode(["STATUS=a\nREADY=1"])
    assert not Notifier("relative/socket").send("READY=1")  # logged, never raised into the UI


def test_status_lines():
    assert service_status("attract", None, {}) == "in service"
    assert service_status("checkout", None, {"printer": "paper_out"}) == "in service, degraded: printer paper_out"
    assert service_status("out_of_service", None, {"payment": "offline", "scanner": "closed"}) == \
        "out of service: payment offline, scanner closed"
    assert service_status("out_of_service", "journal damaged", {}) == "out of service: journal damaged"
