"""The parts of an update test: a real central server with signed releases, real wheels built with `pip wheel`,
real venvs under a temporary /opt/kiosk, and `kiosk-update` run as its own process.

`Supervisor` stands in for systemd (no systemd runs in CI): like kiosk.service with Restart=always it runs
`kiosk-update --on-start` (ExecStartPre) and then /opt/kiosk/current/bin/kiosk, again whenever it ends; the
restart command kiosk-update is given stops the running one, as `systemctl restart` would.
The stand-in app of each wheel does what the kiosk does at start: writes service-state.json with its version
once READY (or, for a "crash" release, exits at start; a "ready-crash" one exits half a second after READY).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
APP = '''
import json, os, signal, sys, time
from pathlib import Path
VERSION, MODE = {version!r}, {mode!r}
def main():
    data = Path(os.environ["KIOSK_KIOSK_DATA_DIR"])
    if MODE.startswith("migrate"):  # migrates the journal to a schema older releases refuse, then crashes
        import sqlite3
        db = sqlite3.connect(data / "journal.sqlite", isolation_level=None)
        db.execute("PRAGMA user_version = 99")
        if MODE == "migrate-sell":  # ... after a sale
            db.execute("INSERT INTO transactions (seq, uuid, kind, boot_id, device_time, total, record) VALUES "
                       "((SELECT coalesce(max(seq), 0) + 1 FROM transactions), 'sold-under-' || ?, 'sale', 'b', "
                       "'2026-12-01T12:00:00Z', 250, '{{}}')", (VERSION,))
        db.close()
    if MODE not in ("good", "ready-crash"):
        print("release " + VERSION + " crashes at start", file=sys.stderr)
        sys.exit(1)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    time.sleep(0.3)
    state = {{"version": VERSION, "pid": os.getpid(), "ready_at": time.time(), "state": "attract", "status": "in service"}}
    tmp = data / ".service-state.json.tmp"
    tmp.write_text(json.dumps(state))
    os.replace(tmp, data / "service-state.json")
    if MODE == "ready-crash":  # READY, in service for a moment, then it dies (every run)
        time.sleep(0.5)
        print("release " + VERSION + " crashes after READY", file=sys.stderr)
        sys.exit(1)
    while True:
        time.sleep(1)
'''


def build_wheel(tmp: Path, version: str, mode: str = "good") -> Path:
    """`pip wheel` of a tiny stand-in for the kiosk project at `version`."""
    src = tmp / f"src-{version}"
    (src / "kioskprobe").mkdir(parents=True)
    (src / "kioskprobe" / "__init__.py").write_text(APP.format(version=version, mode=mode))
    (src / "setup.py").write_text(
        "from setuptools import setup\n"
        f"setup(name='selfservice-kiosk', version={version!r}, packages=['kioskprobe'],\n"
        "      entry_points={'console_scripts': ['kiosk=kioskprobe:main']})\n")
    out = tmp / "wheels"
    subprocess.run([PY, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(src)],
                   check=True, timeout=300, capture_output=True)
    [wheel] = out.glob(f"selfservice_kiosk-{version}-*.whl")
    return wheel


class Fleet:
    """The server side: `kiosk-server admin release ...` against the running server's database."""

    def __init__(self, server, tmp: Path) -> None:
        self.server, self.tmp = server, tmp
        self.env = {**server.proc.env, "PYTHONPATH": str(ROOT)}  # the server's own database

    def admin(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([PY, "-m", "server.cli", "admin", *args], env=self.env, capture_output=True, text=True,
                              timeout=120, cwd=ROOT)
        if check:
            assert done.returncode == 0, done.stderr + done.stdout
        return done

    def keygen(self, name: str) -> tuple[Path, Path]:
        folder = self.tmp / name
        self.admin("release", "keygen", "--out", str(folder))
        return folder / "release-key.pem", folder / "release-key.pub"

    def publish(self, wheel: Path, key: Path, version: str, site: str = "default", canary: int = 100) -> None:
        self.admin("release", "upload", str(wheel), "--key", str(key))
        self.admin("release", "rollout", version, "--site", site, "--canary", str(canary))


class Kiosk:
    """One kiosk's /opt/kiosk, /etc/kiosk and data dir under tmp, and kiosk-update run as the timer would."""

    def __init__(self, tmp: Path, server_url: str, kiosk_id: str, token: str, public_key: Path,
                 ready_timeout: float = 20, max_starts: int = 3, probation: float = 1) -> None:
        self.prefix, self.data = tmp / "opt-kiosk", tmp / "data"
        self.data.mkdir(parents=True)
        self.pidfile = tmp / "app.pid"
        self.config = tmp / "kiosk.toml"
        self.config.write_text(f'[kiosk]\nid = "{kiosk_id}"\ndata_dir = "{self.data}"\n'
                               f'[server]\nurl = "{server_url}"\ntoken = "{token}"\n')
        self.common = ["--config", str(self.config), "--prefix", str(self.prefix), "--key", str(public_key),
                       "--ready-timeout", str(ready_timeout), "--max-starts", str(max_starts),
                       "--probation", str(probation),
                       "--restart-command", f"sh -c 'kill $(cat {self.pidfile}) 2>/dev/null || true'"]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
        self.env.update(PYTHONPATH=str(ROOT))

    def update(self, *extra: str, kill_at: str = "", timeout: float = 300) -> subprocess.CompletedProcess:
        env = {**self.env, **({"KUPDATE_TEST_KILL_AT": kill_at} if kill_at else {})}
        return subprocess.run([PY, "-m", "launcher.updater", *self.common, *extra], env=env, capture_output=True,
                              text=True, timeout=timeout, cwd=ROOT)

    def current(self) -> str | None:
        try:
            return Path(os.readlink(self.prefix / "current")).name
        except OSError:
            return None

    def state(self) -> dict:
        return json.loads((self.prefix / "update-state.json").read_text())

    def running(self) -> dict | None:
        try:
            seen = json.loads((self.data / "service-state.json").read_text())
        except (OSError, ValueError):
            return None
        return seen if Path(f"/proc/{seen['pid']}").exists() else None


class Supervisor:
    """systemd's part: ExecStartPre (kiosk-update --on-start), ExecStart (current/bin/kiosk), Restart=always.
    `app_args`: ExecStart's arguments; `notify=True`: like Type=notify it listens on a NOTIFY_SOCKET of its
    own and keeps every datagram with the sender's pid (SCM_CREDENTIALS), with WatchdogSec=`watchdog_s`."""

    def __init__(self, kiosk: Kiosk, app_args: tuple[str, ...] = (), notify: bool = False,
                 watchdog_s: float = 4) -> None:
        self.kiosk, self.app_args = kiosk, app_args
        self.starts: list[str | None] = []
        self.pre_output: list[str] = []
        self.notices: list[tuple[int, str, float]] = []  # (pid, datagram, time.time())
        self.notify_env: dict[str, str] = {}
        self.running = True
        if notify:
            path = kiosk.prefix.parent / "notify.sock"
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.sock.bind(str(path))
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            self.sock.settimeout(0.5)
            self.notify_env = {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": str(int(watchdog_s * 1e6))}
            threading.Thread(target=self._listen, daemon=True).start()
        self.proc: subprocess.Popen | None = None
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _listen(self) -> None:
        creds = socket.CMSG_SPACE(12)  # struct ucred: pid, uid, gid
        while self.running:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(4096, creds)
            except socket.timeout:
                continue
            pid = next((int.from_bytes(d[:4], "little") for level, kind, d in ancillary
                        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS), 0)
            self.notices.append((pid, data.decode(), time.time()))

    def _loop(self) -> None:
        k = self.kiosk
        while self.running:
            if k.current() is None:
                time.sleep(0.1)
                continue
            pre = subprocess.run([PY, "-m", "launcher.updater", "--on-start", *k.common], env=k.env,
                                 capture_output=True, text=True, timeout=120, cwd=ROOT)
            self.pre_output.append(pre.stdout + pre.stderr)
            version = k.current()
            self.starts.append(version)
            # no PYTHONPATH: the release runs its own installed code, not this checkout's
            env = {**{n: v for n, v in k.env.items() if n != "PYTHONPATH"}, **self.notify_env,
                   "KIOSK_KIOSK_DATA_DIR": str(k.data), "KIOSK_CONFIG": str(k.config)}
            self.proc = subprocess.Popen([str(k.prefix / "current" / "bin" / "kiosk"), *self.app_args], env=env,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=k.data,
                                         start_new_session=True)
            k.pidfile.write_text(str(self.proc.pid))
            self.proc.wait()
            time.sleep(0.2)  # RestartSec

    def wait_running(self, version: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.kiosk.running()
            if seen and seen["version"] == version:
                return seen
            time.sleep(0.1)
        raise AssertionError(f"release {version} never reached READY; starts {self.starts}, "
                             f"on-start said {self.pre_output[-3:]}")

    def stop(self) -> None:
        self.running = False
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # whatever the release started (its local server)
            except ProcessLookupError:
                pass
        self.thread.join(30)
