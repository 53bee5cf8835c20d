"""An update to THIS project: a wheel of the checkout at a bumped version (as docs/deploy.md builds releases),
published on a real central server, installed by `kiosk-update` into a new venv and started by the stand-in for
systemd as `kiosk --simulate` on the test's X display. The new release must say READY=1 over a real
NOTIFY_SOCKET, from its own pid, and keep pinging the watchdog; updating away from it, the real kiosk holds
new customers before the switch. The release's requirements come from this venv's
site-packages (--shared-site), so nothing is downloaded: PIP_NO_INDEX makes any download attempt fail."""
from __future__ import annotations

import re
import shutil
import subprocess
import sysconfig
import time
from pathlib import Path

from kserver_harness import start_server
from updates_harness import PY, ROOT, Fleet, Kiosk, Supervisor, build_wheel

KIOSK_ID = "shop1-k1"


def build_project_wheel(tmp: Path, version: str) -> Path:
    """`pip wheel --no-deps` of the committed files with pyproject's version set to `version`."""
    src = tmp / "project"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    pyproject = src / "pyproject.toml"
    text, found = re.subn(r'(?m)^version = "[^"]+"$', f'version = "{version}"', pyproject.read_text(), count=1)
    assert found == 1, "pyproject.toml has no version line"
    pyproject.write_text(text)
    subprocess.run([PY, "-m", "tools.i18n", "compile"], cwd=src, check=True, capture_output=True, timeout=120)
    out = tmp / "wheels"
    subprocess.run([PY, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(src)], check=True,
                   timeout=600, capture_output=True)
    [wheel] = out.glob(f"selfservice_kiosk-{version}-*.whl")
    return wheel


def test_an_update_to_the_real_app_starts_it_and_it_says_ready_over_sd_notify(tmp_path):
    stand_in = build_wheel(tmp_path, "0.0.1")
    version = "0.99.0"
    real = build_project_wheel(tmp_path, version)
    server, close = start_server("sqlite", tmp_path)
    supervisor = None
    try:
        fleet = Fleet(server, tmp_path)
        private, public = fleet.keygen("keys")
        _, headers = server.enroll(KIOSK_ID)
        kiosk = Kiosk(tmp_path / "kiosk", server.url, KIOSK_ID, headers["Authorization"].split()[1], public,
                      ready_timeout=240, probation=3)
        kiosk.env["PIP_NO_INDEX"] = "1"
        supervisor = Supervisor(kiosk, app_args=("--simulate",), notify=True, watchdog_s=4)
        fleet.publish(stand_in, private, "0.0.1")
        first = kiosk.update()
        assert first.returncode == 0, first.stdout + first.stderr
        supervisor.wait_running("0.0.1")

        fleet.publish(real, private, version)
        switched = time.time()
        done = kiosk.update("--shared-site", sysconfig.get_paths()["purelib"], timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr + "".join(supervisor.pre_output[-3:])
        assert f"switched to {version}; restarting the kiosk" in done.stdout
        assert f"release {version} stayed up 3 s after READY: it stays" in done.stdout
        assert kiosk.current() == version and kiosk.state()["trial"] is None
        running = kiosk.running()
        assert running["version"] == version and running["state"] == "attract", running
        assert running["pid"] == supervisor.proc.pid  # the release's own bin/kiosk, started as ExecStart
        site = next((kiosk.prefix / "releases" / version / "lib").glob("python3*/site-packages"))
        assert (site / "launcher" / "updater.py").exists()  # the app itself is the release's, not a checkout's
        mine = [(text, at) for pid, text, at in supervisor.notices if pid == running["pid"]]
        ready = [at for text, at in mine if "READY=1" in text.splitlines()]
        assert len(ready) == 1 and ready[0] > switched, supervisor.notices
        assert any("STATUS=in service" in text.splitlines() for text, _ in mine), mine
        time.sleep(5)  # WatchdogSec=4: pings at half that
        pings = [at for pid, text, at in supervisor.notices if pid == running["pid"]
                 and "WATCHDOG=1" in text.splitlines() and at > ready[0]]
        assert len(pings) >= 2, supervisor.notices

        # and away from it again: the real kiosk holds new customers before kiosk-update switches
        fleet.publish(build_wheel(tmp_path, "1.0.0"), private, "1.0.0")
        done = kiosk.update()
        assert done.returncode == 0, done.stdout + done.stderr
        assert "the kiosk holds new customers for the switch" in done.stdout, done.stdout
        assert "release 1.0.0 stayed up 3 s after READY: it stays" in done.stdout
        assert not (kiosk.data / "update-hold.json").exists()
    finally:
        if supervisor is not None:
            supervisor.stop()
        close()
