"""The kiosk inside cage, as kiosk.service starts it: deploy/files/kiosk-session (cage -d -- the app), here with
wlroots' headless backend (no GPU, no seat) and the kiosk in simulation. It must say READY=1 over a real
NOTIFY_SOCKET from inside cage, and a scan sent to the simulator's control port must reach the screen.

cage refuses to run as root, so like the `kiosk` user of the unit it runs as an unprivileged user: uid 1000 in a
user namespace of its own (`unshare --user`), where setuid(0) fails as cage checks. Files keep the access of the
user who runs the test, so this checkout and its venv need not be readable by anybody else (CI clones into a
private temporary folder)."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from updates_harness import ROOT

sys.path.insert(0, str(ROOT))
from devices.sim.console import send  # noqa: E402

MILK = "4006381333931"
UNPRIVILEGED = ["unshare", "--user", "--map-user=1000", "--map-group=1000"]  # the test's user, seen as uid 1000


@pytest.fixture
def box():
    """Outside /tmp/pytest-of-<user>: the unix sockets' paths must stay short."""
    folder = Path(tempfile.mkdtemp(prefix="kiosk-cage-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _listen(path: Path, seen: list) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    os.chmod(path, 0o666)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)

    def loop():
        while True:
            try:
                data, ancillary, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except OSError:
                return
            pid = next((int.from_bytes(d[:4], "little") for level, kind, d in ancillary
                        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS), 0)
            seen.append((pid, data.decode()))
    threading.Thread(target=loop, daemon=True).start()
    return sock


def _wait(predicate, timeout: float, what: str, output: list[str]):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := predicate():
            return found
        time.sleep(0.3)
    raise AssertionError(f"no {what} in {timeout:g} s; cage and the kiosk said:\n" + "".join(output[-40:]))


def test_the_kiosk_in_cage_says_ready_and_a_scan_reaches_its_screen(box):
    assert shutil.which("cage") and shutil.which("Xwayland"), "cage and xwayland: scripts/setup-debian.sh"
    data, runtime, home = box / "data", box / "run", box / "home"
    for folder in (data, runtime, home):
        folder.mkdir(mode=0o700)
    config = box / "kiosk.toml"
    config.write_text(f'[kiosk]\nid = "cage-k1"\ndata_dir = "{data}"\n')
    notices: list[tuple[int, str]] = []
    sock = _listen(box / "notify.sock", notices)
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime), "LANG": "C.UTF-8",
           "WLR_BACKENDS": "headless", "WLR_LIBINPUT_NO_DEVICES": "1", "WLR_RENDERER": "pixman",
           "NOTIFY_SOCKET": str(box / "notify.sock"), "KIOSK_CONFIG": str(config),
           "KIOSK_APP": f"{sys.executable} {ROOT}/main.py --simulate"}
    proc = subprocess.Popen([*UNPRIVILEGED, "sh", str(ROOT / "deploy/files/kiosk-session")], env=env, cwd=data,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    ready = 0
    try:
        ready = _wait(lambda: next((pid for pid, text in notices if "READY=1" in text.splitlines()), 0), 180,
                      "READY=1", output)
        state = json.loads((data / "service-state.json").read_text())
        assert state["pid"] == ready and state["state"] == "attract", state
        parent = Path(f"/proc/{ready}/stat").read_text().rsplit(")", 1)[1].split()[1]
        assert Path(f"/proc/{parent}/comm").read_text().strip() == "cage"  # the app is cage's client
        assert Path(f"/proc/{ready}/uid_map").read_text().split()[:2] == ["1000", "0"]  # not root where it runs
        app_env = Path(f"/proc/{ready}/environ").read_bytes().split(b"\0")
        assert b"WAYLAND_DISPLAY=wayland-0" in app_env and b"SDL_VIDEODRIVER=x11" in app_env
        assert any(line.startswith("STATUS=in service") for _, text in notices for line in text.splitlines())
        port = int(_wait(lambda: re.search(r"simulator control port (\d+)", "".join(output)), 30,
                         "control port", output).group(1))
        log = "".join(p.read_text() for p in (data / "logs").glob("*.log"))
        assert "Window: Provider: sdl2" in log and "Provider: x11" not in log  # SDL's window, through Xwayland

        def view():
            [reply] = send(port, ["ui"])
            return json.loads(reply)
        assert view()["screen"] == "attract"
        assert send(port, [f"scan {MILK}"]) == ["sent"]
        shown = _wait(lambda: (v := view())["screen"] == "checkout" and v, 30, "checkout screen", output)
        assert [item["name"] for item in shown["cart"]] == ["Milk 1 L"], shown["cart"]
    finally:
        sock.close()
        _stop(proc, ready, box)


def _stop(proc: subprocess.Popen, app: int, box: Path) -> None:
    """The app first (it stops its local server), then cage; then what systemd's cgroup would catch."""
    if app:
        os.kill(app, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while Path(f"/proc/{app}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(box).encode() in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
        except OSError:
            pass
