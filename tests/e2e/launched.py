"""The kiosk as it is launched: `make run` in its own process on its own Xvfb display, driven only
from outside.

- scans, payment outcomes, paper out: the simulators' control port (`python -m devices.sim send`);
- taps: real X pointer events (`xdotool` on the Xvfb display), at the place the `ui` query reports;
- what the customer sees: the read-only `ui` query, and screenshots of the X display;
- the books: the terminal simulator's ledger (control port), the journal file (read-only SQLite) and
  what the local central server holds (its HTTP API, with an admin token made by `kiosk-server admin`).
"""
from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import httpx

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
sys.path.insert(0, str(ROOT))
from devices.sim.console import send  # noqa: E402  (the console client a person would use)
from server.process import group_alive  # noqa: E402

# the demo catalog (assets/demo/catalog.json) and demo staff (kiosk --simulate)
MILK, BREAD, BUTTER, COFFEE, CHOCOLATE = "4006381333931", "4000000000013", "4000000000020", "4000000000037", \
    "4000000000044"
BEER = "4000000000075"
ATTENDANT_PIN, TECHNICIAN_PIN = "2468", "1379"


class Display:
    """An Xvfb server of its own (1280x800, like the kiosk's screen)."""

    def __init__(self) -> None:
        read, write = os.pipe()
        self.proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24",
                                      "-nolisten", "tcp"], pass_fds=[write], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as pipe:
            self.name = ":" + pipe.readline().strip()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class LaunchedKiosk:
    def __init__(self, display: Display, data_dir: Path, artifacts: Path, **config: str) -> None:
        """`config`: KIOSK_* settings from the environment, e.g. KIOSK_UI_IDLE_TIMEOUT_S="5"."""
        self.display, self.data_dir, self.artifacts = display, data_dir, artifacts
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "KSERVER_"))}
        self.env.update(DISPLAY=display.name, KIOSK_KIOSK_DATA_DIR=str(data_dir), **config)
        self.proc: subprocess.Popen | None = None
        self.output: list[str] = []
        self.control_port = 0
        self.server_url = ""
        self._admin_token = ""

    # --- life -----------------------------------------------------------------------------------------

    def start(self, timeout: float = 120, screen: str = "attract", server: bool = True) -> "LaunchedKiosk":
        """`make run`, the README's command, and wait until the attract screen (or `screen`) is up with every
        device ready; `server=False`: do not wait for the local central server (it cannot start, e.g. on a
        read-only data directory)."""
        self.output, self.control_port, self.server_url = [], 0, ""  # not the last run's (after a SIGKILL)
        self.proc = subprocess.Popen(["make", "run"], cwd=ROOT, env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        threading.Thread(target=self._read_output, args=(self.proc,), daemon=True).start()
        self._wait(lambda: self.control_port and (self.server_url or not server), timeout,
                   "the control port and server address")
        self.wait_ui(lambda v: v["ready"] and v["screen"] in ("attract", "out_of_service"), timeout, "ready")
        self.wait_ui(lambda v: v["screen"] == screen, 60, f"{screen} screen (devices ready)")
        return self

    def _read_output(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            self.output.append(line.rstrip("\n"))
            if m := re.search(r"simulator control port (\d+)", line):
                self.control_port = int(m.group(1))
            if m := re.search(r"local central server (http://\S+)", line):
                self.server_url = m.group(1)

    def terminate(self, timeout: float = 90) -> None:  # systemd's default TimeoutStopSec
        """SIGTERM to the process group, as `systemctl stop` does; returns once every process has ended
        and asserts the kiosk shut down cleanly (it says so as its last word)."""
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the kiosk did not stop within {timeout} s\n" + self._stacks()) from None
        self._wait(lambda: not group_alive(self.proc.pid), timeout, "every process of the kiosk to end")
        deadline = time.monotonic() + 10  # the output reader may not have the last line yet
        while "kiosk: stopped" not in self.output and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "kiosk: stopped" in self.output, "the kiosk did not say it stopped\n" + self._stacks()
        assert not _processes_with_env(f"KSERVER_DATA_DIR={self.data_dir / 'server'}"), "local server left running"
        self.control_port, self.server_url = 0, ""

    def kill(self) -> None:
        """SIGKILL to everything the kiosk started, the local server included (for teardown)."""
        if self.proc is not None and group_alive(self.proc.pid):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        for pid in _processes_with_env(f"KSERVER_DATA_DIR={self.data_dir / 'server'}"):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _stacks(self) -> str:
        """Why a kiosk is stuck: every thread's stack (faulthandler on SIGUSR1), its output and log tails."""
        for pid in _processes_with_env(f"KIOSK_KIOSK_DATA_DIR={self.data_dir}"):
            try:
                if b"main.py" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGUSR1)
            except OSError:
                pass
        time.sleep(2)
        log = self.data_dir / "logs" / "kiosk.log"
        log_tail = log.read_text(errors="replace").splitlines()[-40:] if log.exists() else []
        return "\n".join(["--- output:", *self.output[-120:], "--- kiosk.log:", *log_tail])

    # --- control port -------------------------------------------------------------------------------

    def send(self, *commands: str) -> list[str]:
        replies = send(self.control_port, list(commands))
        for command, reply in zip(commands, replies):
            assert not reply.startswith("error"), f"{command!r}: {reply}"
        return replies

    def ui(self) -> dict[str, Any]:
        [reply] = send(self.control_port, ["ui"])
        assert reply.startswith("{"), reply
        return json.loads(reply)

    def wait_ui(self, predicate: Callable[[dict], Any], timeout: float = 20, what: str = "") -> dict:
        deadline = time.monotonic() + timeout
        view: dict = {}
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the kiosk exited ({self.proc.returncode}):\n" + "\n".join(self.output[-40:]))
            try:
                view = self.ui()
            except (OSError, AssertionError):
                view = {}
            if view and predicate(view):
                return view
            time.sleep(0.1)
        summary = {k: view.get(k) for k in ("screen", "state", "message", "payment_text", "payment_message", "cart")}
        raise AssertionError(f"timed out after {timeout} s waiting for {what}; the screen shows {summary}")

    def wait_screen(self, screen: str, timeout: float = 20) -> dict:
        return self.wait_ui(lambda v: v["screen"] == screen, timeout, f"screen {screen}")

    def scan(self, code: str, symbology: str | None = None) -> None:
        """A scan, and wait until the screen shows it was handled (the view changed)."""
        before = self.ui()
        assert self.send(f"scan {code} {symbology or ''}".strip()) == ["sent"]
        self.wait_ui(lambda v: _shown(v) != _shown(before), 10, f"scan of {code} to reach the screen")

    # --- real X input -----------------------------------------------------------------------------------

    def button(self, view: dict, tag: str) -> dict:
        found = [b for b in view["buttons"] if b["tag"] == tag]
        assert found, f"no button {tag!r} on {view['screen']}: {[b['tag'] or b['text'] for b in view['buttons']]}"
        return found[-1]  # drawn last = on top

    def tap(self, tag: str, timeout: float = 10) -> dict:
        """Waits for a visible, enabled button tagged `tag`, clicks its centre with the X pointer, and waits
        until the screen changed; returns the view after."""
        view = self.wait_ui(lambda v: any(b["tag"] == tag and b["enabled"] for b in v["buttons"]), timeout,
                            f"button {tag}")
        b = self.button(view, tag)
        self.xclick(b["x"] + b["w"] // 2, b["y"] + b["h"] // 2)
        return self.wait_ui(lambda v: _shown(v) != _shown(view), timeout, f"a change after tapping {tag}")

    def open_maintenance(self, pin: str = "") -> dict:
        """The technician's way in, as a person does it: five taps on the logo, then the PIN on the pad."""
        logo = self.button(self.wait_screen("attract"), "logo")
        for _ in range(5):
            self.xclick(logo["x"] + logo["w"] // 2, logo["y"] + logo["h"] // 2)
            time.sleep(0.15)
        self.wait_ui(lambda v: any(b["tag"] == "pin_1" for b in v["buttons"]), 10, "the technician PIN pad")
        for digit in pin or TECHNICIAN_PIN:
            self.tap(f"pin_{digit}")
        self.tap("pin_ok")
        return self.wait_screen("maintenance", 20)

    def xclick(self, x: int, y: int) -> None:
        subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "1"], env={**os.environ,
                       "DISPLAY": self.display.name}, check=True, timeout=10)

    def screenshot(self, name: str) -> Path:
        from PIL import ImageGrab
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{name}.png"
        ImageGrab.grab(xdisplay=self.display.name).save(path)
        return path

    # --- the books ---------------------------------------------------------------------------------------

    def ledger(self) -> list[dict]:
        """What the simulated terminal booked: kind, amount, receipt number, reversed."""
        [reply] = self.send("payment ledger")
        entries = []
        for line in reply.splitlines():
            if line == "nothing booked":
                continue
            m = re.fullmatch(r"(payment|reversal) (\d+) receipt (\d+) trace (\d+)( reversed)?", line)
            assert m, line
            entries.append({"kind": m[1], "amount": int(m[2]), "receipt_no": int(m[3]), "reversed": bool(m[5])})
        return entries

    def journal(self) -> list[dict]:
        """Every transaction in the journal (seq, uuid, kind and its wire record), read-only."""
        uri = f"file:{self.data_dir / 'journal.sqlite'}?mode=ro"
        with sqlite3.connect(uri, uri=True, timeout=10) as conn:
            rows = conn.execute("SELECT seq, uuid, kind, total, record FROM transactions ORDER BY seq").fetchall()
        return [{"seq": s, "uuid": u, "kind": k, "total": t, "record": json.loads(r)} for s, u, k, t, r in rows]

    def open_payments(self) -> list[tuple[str, str]]:
        uri = f"file:{self.data_dir / 'journal.sqlite'}?mode=ro"
        with sqlite3.connect(uri, uri=True, timeout=10) as conn:
            return conn.execute("SELECT intent_id, status FROM payments WHERE status IN ('intent', 'in_doubt')"
                                ).fetchall()

    def server_uuids(self) -> set[str]:
        if not self._admin_token:
            out = subprocess.run([str(PYTHON), "-m", "server.cli", "admin", "admin-token", "--note", "e2e test"],
                                 cwd=ROOT, env={**self.env, "KSERVER_DATA_DIR": str(self.data_dir / "server")},
                                 capture_output=True, text=True, timeout=60, check=True)
            self._admin_token = out.stdout.strip().splitlines()[-1]
        page = httpx.get(f"{self.server_url}/v1/admin/kiosks/kiosk-001/transactions",
                         headers={"Authorization": f"Bearer {self._admin_token}"}, timeout=10)
        page.raise_for_status()
        return {r["uuid"] for r in page.json()["records"]}

    def server_receipt(self, token: str) -> dict:
        reply = httpx.get(f"{self.server_url}/v1/receipts/{token}", timeout=10)
        reply.raise_for_status()
        return reply.json()

    def assert_books_agree(self, timeout: float = 60) -> list[dict]:
        """What the terminal charged, what the journal holds and what the central server received agree
        exactly: one standing charge per sale and the same amount, nothing left in doubt, and the server
        holds every journaled transaction (no more) with the same totals and payments. Returns the sales."""
        self._wait(lambda: not self.open_payments(), timeout, "no payment left open or in doubt")
        journal = self.journal()
        sales = [t for t in journal if t["kind"] == "sale"]
        standing = sorted(e["amount"] for e in self.ledger() if e["kind"] == "payment" and not e["reversed"])
        assert standing == sorted(t["total"] for t in sales), (standing, [t["total"] for t in sales])
        for sale in sales:
            body = sale["record"]["body"]
            assert [p["amount"] for p in body["payments"] if p["status"] == "approved"] == [body["total"]], body
            assert sum(line["total"] for line in body["lines"] if not line.get("voided")) == body["total"], body
        want = {t["uuid"] for t in journal}
        self._wait(lambda: self.server_uuids() == want, timeout,
                   f"the central server to hold exactly the journal's {len(want)} transactions")
        for sale in sales:
            body = sale["record"]["body"]
            held = self.server_receipt(body["receipt_token"])
            assert (held["total"], [p["amount"] for p in held["payments"]]) == \
                (body["total"], [p["amount"] for p in body["payments"]])
        return sales

    def events(self, name: str) -> list[dict]:
        return [t["record"]["body"]["details"] for t in self.journal()
                if t["kind"] == "event" and t["record"]["body"]["event"] == name]

    def wait_events(self, name: str, count: int = 1, where: Callable[[dict], bool] = lambda e: True,
                    timeout: float = 20) -> list[dict]:
        """The journaled events called `name` (those `where` picks) once there are at least `count`: the kiosk
        queues events for its journal's writer, so one may land a moment after the screen that caused it."""
        self._wait(lambda: len([e for e in self.events(name) if where(e)]) >= count, timeout,
                   f"{count} journaled {name} event(s)")
        return [e for e in self.events(name) if where(e)]

    def _wait(self, predicate: Callable[[], Any], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}\n" + "\n".join(self.output[-20:]))
            time.sleep(0.2)


def _shown(view: dict) -> tuple:
    """What a customer would notice changing (not the countdown ticking)."""
    return (view["screen"], view["state"], view["message"], view["help"], view["payment_text"],
            view["payment_message"], json.dumps(view["cart"]), view["total"], view["booking"], view["ticket_no"],
            json.dumps([(b["tag"], b["text"], b["enabled"]) for b in view["buttons"]]), view["lang"],
            view["still_there_left"] >= 0, json.dumps(view["texts"]))


def _processes_with_env(entry: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if entry.encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                found.append(int(pid))
        except OSError:
            pass
    return found


def server_processes(data_dir: Path) -> list[int]:
    """The live (not zombie) processes of the local central server of `data_dir`."""
    alive = []
    for pid in _processes_with_env(f"KSERVER_DATA_DIR={data_dir / 'server'}"):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2:].split()[0] != "Z":
            alive.append(pid)
    return alive
