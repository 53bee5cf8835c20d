"""The last moment before a switch: kiosk-update has looked ("no customer") and is about to restart the kiosk.
A customer who arrives right then must not be cut off: the updater asks the launched kiosk to hold new
customers (kiosk/flows/update_hold.py) and switches only once the kiosk shows "Updating, one moment"; a
customer already there keeps the kiosk from holding, and the updater defers and lets go.

Real parts: the kiosk as launched (`make run`), its local central server with a signed release on it (a small
stand-in wheel: the release never has to run here), kiosk-update as its own process; the restart command is a
probe that looks at the kiosk's screen through the control port (and scans) instead of restarting it."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from launched import MILK, PYTHON, ROOT

sys.path.insert(0, str(ROOT / "tests" / "deploy"))
from updates_harness import build_wheel  # noqa: E402


def _admin(kiosk, *args: str) -> str:
    done = subprocess.run([str(PYTHON), "-m", "server.cli", "admin", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**kiosk.env, "KSERVER_DATA_DIR": str(kiosk.data_dir / "server")})
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _release(kiosk, tmp_path) -> tuple[list[str], dict]:
    """A signed release 1.0.0 for this kiosk's id; the kiosk-update command line and environment for it."""
    token = _admin(kiosk, "enroll", "hold-probe").strip().splitlines()[-1]
    _admin(kiosk, "release", "keygen", "--out", str(tmp_path / "keys"))
    wheel = build_wheel(tmp_path, "1.0.0")
    _admin(kiosk, "release", "upload", str(wheel), "--key", str(tmp_path / "keys/release-key.pem"))
    _admin(kiosk, "release", "rollout", "1.0.0", "--site", "default")
    config = tmp_path / "update.toml"
    config.write_text(f'[kiosk]\nid = "hold-probe"\ndata_dir = "{kiosk.data_dir}"\n'
                      f'[server]\nurl = "{kiosk.server_url}"\ntoken = "{token}"\n')
    env = {k: v for k, v in kiosk.env.items() if not k.startswith("KIOSK_")}
    # the probe "restart": scan (a customer tries to start), then record what the kiosk shows
    # (once: the rollback of the release that never gets READY here restarts again)
    seen = tmp_path / "at-restart.json"
    probe = (f"sh -c 'test -e {seen} && exit 0; "
             f"{PYTHON} -m devices.sim send --port {kiosk.control_port} \"scan {MILK}\"; sleep 2; "
             f"{PYTHON} -m devices.sim send --port {kiosk.control_port} ui > {seen}'")
    command = [str(PYTHON), "-m", "launcher.updater", "--config", str(config), "--prefix", str(tmp_path / "opt"),
               "--key", str(tmp_path / "keys/release-key.pub"), "--ready-timeout", "3", "--hold-timeout", "4",
               "--restart-command", probe]
    return command, env


def test_the_kiosk_holds_new_customers_while_the_updater_switches(launch, tmp_path):
    kiosk = launch()
    command, env = _release(kiosk, tmp_path)
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert "the kiosk holds new customers for the switch" in done.stdout, done.stdout + done.stderr
    assert "switched to 1.0.0; restarting the kiosk" in done.stdout, done.stdout + done.stderr
    seen = json.loads((tmp_path / "at-restart.json").read_text())
    assert seen["screen"] == "out_of_service" and seen["closed"] == "Updating, one moment please.", seen
    assert seen["cart"] == [], seen["cart"]  # the scan during the hold started nothing
    assert not (kiosk.data_dir / "update-hold.json").exists()
    kiosk.wait_screen("attract")  # the hold is over: the kiosk takes customers again


def test_a_customer_arriving_just_before_the_switch_defers_it(launch, tmp_path):
    kiosk = launch()
    command, env = _release(kiosk, tmp_path)
    updater = subprocess.Popen(command, cwd=ROOT, env={**env, "KUPDATE_TEST_SLEEP_AT": "checked:6"},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    installed = tmp_path / "opt/releases/1.0.0/.complete"
    deadline = time.monotonic() + 240
    while not installed.exists():
        assert time.monotonic() < deadline and updater.poll() is None, updater.stdout.read()
        time.sleep(0.1)
    time.sleep(1)  # past its last "is anyone here?" look, before it switches
    kiosk.scan(MILK)
    out, _ = updater.communicate(timeout=120)
    assert updater.returncode == 0, out
    assert "release 1.0.0 installed; switching deferred: a customer session started" in out, out
    assert "switched" not in out and not (tmp_path / "opt/current").exists()
    assert not (kiosk.data_dir / "update-hold.json").exists()
    view = kiosk.ui()
    assert view["screen"] == "checkout" and [line["name"] for line in view["cart"]] == ["Milk 1 L"], view
