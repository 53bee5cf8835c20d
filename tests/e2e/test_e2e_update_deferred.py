"""kiosk-update never switches releases under a customer: run against the launched kiosk's data directory, it
goes ahead while the attract screen shows and defers while a customer shops or pays."""
from __future__ import annotations

import json
import subprocess
import time

from launched import MILK, PYTHON, ROOT


def _update(kiosk, tmp_path, token: str) -> str:
    config = tmp_path / "update.toml"
    config.write_text(f'[kiosk]\nid = "updater-probe"\ndata_dir = "{kiosk.data_dir}"\n'
                      f'[server]\nurl = "{kiosk.server_url}"\ntoken = "{token}"\n')
    env = {k: v for k, v in kiosk.env.items() if not k.startswith("KIOSK_")}
    done = subprocess.run([str(PYTHON), "-m", "launcher.updater", "--config", str(config), "--prefix",
                           str(tmp_path / "opt-kiosk"), "--key", str(tmp_path / "none.pub")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def _service_state(kiosk) -> dict:
    return json.loads((kiosk.data_dir / "service-state.json").read_text())


def _wait_state(kiosk, state: str) -> None:
    deadline = time.monotonic() + 20
    while _service_state(kiosk)["state"] != state:
        assert time.monotonic() < deadline, f"service-state.json never said {state}: {_service_state(kiosk)}"
        time.sleep(0.2)


def test_an_update_is_deferred_while_a_customer_shops_or_pays(launch, tmp_path):
    kiosk = launch()
    out = subprocess.run([str(PYTHON), "-m", "server.cli", "admin", "enroll", "updater-probe"], cwd=ROOT,
                         env={**kiosk.env, "KSERVER_DATA_DIR": str(kiosk.data_dir / "server")},
                         capture_output=True, text=True, timeout=60, check=True)
    token = out.stdout.strip().splitlines()[-1]
    seen = _service_state(kiosk)
    assert seen["state"] == "attract" and seen["ready_at"] > 0 and seen["version"]
    assert _update(kiosk, tmp_path, token) == "kiosk-update: no release is assigned to this kiosk"  # idle: it asks

    kiosk.send("payment pin 30")
    kiosk.scan(MILK)
    _wait_state(kiosk, "checkout")
    assert _update(kiosk, tmp_path, token) == "kiosk-update: update deferred: a customer session is open (checkout)"
    kiosk.tap("pay")
    _wait_state(kiosk, "payment")
    assert _update(kiosk, tmp_path, token) == "kiosk-update: update deferred: a customer session is open (payment)"


def test_an_update_intervention_starts_the_kiosk_out_of_service(launch):
    """kiosk-update could not roll back (a sale is only in the journal the new release migrated): the kiosk
    stays on that release, out of service, until a technician removes intervention.json."""
    kiosk = launch()
    kiosk.terminate()
    (kiosk.data_dir / "intervention.json").write_text(json.dumps({"reason": "release 2.1.0 needs a technician"}))
    kiosk.start(screen="out_of_service")
    deadline = time.monotonic() + 20
    while not _service_state(kiosk)["status"].startswith("out of service: update intervention: release 2.1.0"):
        assert time.monotonic() < deadline, _service_state(kiosk)
        time.sleep(0.2)
    assert kiosk.ui()["state"] == "out_of_service"
