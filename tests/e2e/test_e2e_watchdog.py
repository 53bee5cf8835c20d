"""The launched kiosk speaks systemd's notify protocol to a real NOTIFY_SOCKET (a unix datagram socket this test
listens on, as systemd's manager does for `Type=notify` + `WatchdogSec=`): READY=1 once the attract screen is
up, WATCHDOG=1 at half the watchdog timeout from the UI clock, pings that stop while the UI thread hangs, and
STATUS= lines that follow the kiosk's service state."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from launched import send

WATCHDOG_USEC = 2_000_000  # WatchdogSec=2: pings every 1 s


class NotifySocket:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="kn-"))  # short: unix socket paths are at most 107 bytes
        self.path = self.folder / "notify"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.sock.settimeout(0.2)
        self.received: list[tuple[float, str]] = []
        self.running = True
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while self.running:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            self.received.append((time.monotonic(), data.decode()))

    def times(self, line: str, since: float = 0.0) -> list[float]:
        return [t for t, text in self.received if line in text.split("\n") and t >= since]

    def statuses(self) -> list[str]:
        return [part[len("STATUS="):] for _, text in self.received for part in text.split("\n")
                if part.startswith("STATUS=")]

    def close(self) -> None:
        self.running = False
        self.sock.close()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def notify():
    n = NotifySocket()
    yield n
    n.close()


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_ready_after_the_attract_screen_then_watchdog_pings_from_the_ui_clock_that_stop_when_it_hangs(launch, notify):
    kiosk = launch(NOTIFY_SOCKET=str(notify.path), WATCHDOG_USEC=str(WATCHDOG_USEC), KIOSK_KIOSK_MODE='"checkout"')
    _wait(lambda: notify.times("READY=1"), 20, "READY=1")
    [ready_at] = notify.times("READY=1")
    [ready] = [text for t, text in notify.received if t == ready_at]
    assert ready == "READY=1\nSTATUS=in service"  # sent with the session running: the attract screen is up
    assert kiosk.ui()["screen"] == "attract"
    first_ping = min(notify.times("WATCHDOG=1"))
    assert first_ping < ready_at  # the UI clock pings from its first frame, before start-up is done

    # the configured rate: WATCHDOG_USEC / 2
    start = time.monotonic()
    time.sleep(6)
    pings = notify.times("WATCHDOG=1", since=start)
    assert 4 <= len(pings) <= 8, pings
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert max(gaps) < WATCHDOG_USEC / 1e6, gaps  # never late enough for systemd to fire

    # a hung UI thread: the pings stop for as long as it hangs, then come back
    assert kiosk.send("freeze 5") == ["UI thread blocked for 5 s"]
    frozen_at = time.monotonic()
    _wait(lambda: notify.times("WATCHDOG=1", since=frozen_at + 5.5), 10, "pings after the freeze")
    pings = notify.times("WATCHDOG=1", since=frozen_at - 1.5)
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert max(gaps) > 4.0, gaps  # systemd (WatchdogSec=2) would have aborted and restarted this kiosk
    assert len(notify.times("READY=1")) == 1

    # STATUS follows the service state: a checkout kiosk without its scanner (and no camera) is out of service
    kiosk.send("unplug scanner")
    kiosk.wait_screen("out_of_service", 30)
    _wait(lambda: any(s.startswith("out of service: scanner") for s in notify.statuses()), 10,
          f"STATUS out of service, got {notify.statuses()}")
    kiosk.send("replug scanner")
    kiosk.wait_screen("attract", 60)
    _wait(lambda: notify.statuses()[-1] == "in service", 10, "STATUS in service again")

    kiosk.terminate()
    assert "STOPPING=1\nSTATUS=stopping" in [text for _, text in notify.received]


def test_no_notify_socket_no_watchdog_and_the_freeze_command_checks_its_argument(launch):
    kiosk = launch()
    [reply] = send(kiosk.control_port, ["freeze 9999"])
    assert reply == "error: freeze: expected seconds between 0 and 600, got 9999"
    [reply] = send(kiosk.control_port, ["ui extra"])
    assert reply == "error: ui: unexpected arguments 'extra'"
    kiosk.terminate()
    assert not any("sd_notify" in line for line in kiosk.output)  # outside systemd nothing is tried


def test_sigusr1_shows_every_threads_stack_and_a_stop_that_hangs_ends_in_stop_timeout_with_the_stacks(launch):
    kiosk = launch(KIOSK_KIOSK_STOP_TIMEOUT_S="5")
    [app] = [pid for pid in _kiosk_processes(kiosk)]
    os.kill(app, signal.SIGUSR1)  # a technician's `kill -USR1`: stacks on stderr, the kiosk goes on
    _wait(lambda: any(line.startswith("Thread 0x") for line in kiosk.output), 10, "thread stacks on SIGUSR1")
    assert kiosk.ui()["screen"] == "attract"

    kiosk.send("freeze 600")  # the UI thread hangs; SIGTERM's stop cannot finish
    time.sleep(0.5)
    began = time.monotonic()
    os.killpg(kiosk.proc.pid, signal.SIGTERM)
    kiosk.proc.wait(60)
    took = time.monotonic() - began
    assert took < 30, took  # not the 600 s of the freeze
    assert "kiosk: stopped" not in kiosk.output
    at = max(i for i, line in enumerate(kiosk.output) if line.startswith("Timeout (0:00:05)!"))
    stack = kiosk.output[at:]
    assert any("launcher/ui.py" in line and "freeze_ui" not in line and "<lambda>" in line for line in stack), stack


def _kiosk_processes(kiosk) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if f"KIOSK_KIOSK_DATA_DIR={kiosk.data_dir}".encode() in environ and b"main.py" in cmdline \
                and not cmdline.startswith(b"make"):
            found.append(int(pid))
    return found
