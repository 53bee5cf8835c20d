"""kiosk-update's reports (POST /v1/kiosks/{id}/release-reports) on a real server process: a rollback at a site
halts that release's rollout there and raises one alarm (a resend changes nothing), other sites go on, the admin
CLI lists what the kiosks said, and giving the rollout again lifts the halt."""
from __future__ import annotations

import io
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import httpx
import pytest

from kserver_harness import start_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request, tmp_path):
    srv, close = start_server(request.param, tmp_path)
    yield srv
    close()


def admin(srv, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "server.cli", "admin", *args], env=srv.proc.env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def wheel(folder: Path, version: str) -> Path:
    path = folder / f"kiosk_app-{version}-py3-none-any.whl"
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as z:
        z.writestr(f"kiosk_app-{version}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: kiosk-app\n"
                                                                f"Version: {version}\n")
    path.write_bytes(data.getvalue())
    return path


def offered(srv, kiosk_id: str, headers: dict) -> str | None:
    reply = httpx.get(f"{srv.url}/v1/kiosks/{kiosk_id}/release", headers=headers, timeout=30)
    assert reply.status_code in (200, 204), reply.text
    return reply.json()["version"] if reply.status_code == 200 else None


def report(version: str, outcome: str = "rolled_back", report_id: str | None = None) -> dict:
    return {"report_id": report_id or str(uuid.uuid4()), "version": version, "outcome": outcome,
            "detail": "did not reach READY in 3 starts in a row; rolled back to 1.0.0", "at": "2026-12-02T05:00:00+00:00"}


def test_a_rollback_halts_the_rollout_at_its_site_once_and_a_new_rollout_lifts_it(served, tmp_path):
    srv = served
    admin(srv, "release", "keygen", "--out", str(tmp_path / "keys"))
    for version in ("1.0.0", "1.1.0"):
        admin(srv, "release", "upload", str(wheel(tmp_path, version)), "--key", str(tmp_path / "keys/release-key.pem"))
    lanes = {name: srv.enroll(f"{name}-{uuid.uuid4().hex[:6]}") for name in ("a", "b", "c")}
    for name, site in (("a", "north"), ("b", "north"), ("c", "south")):
        admin(srv, "release", "site", lanes[name][0], site)
    for site in ("north", "south"):
        admin(srv, "release", "rollout", "1.0.0", "--site", site)
        admin(srv, "release", "rollout", "1.1.0", "--site", site)
    assert offered(srv, *lanes["b"]) == "1.1.0"

    a_id, a_headers = lanes["a"]
    sent = report("1.1.0")
    for _ in range(2):  # the second is a resend (the first answer was lost): the same report, nothing new
        reply = httpx.post(f"{srv.url}/v1/kiosks/{a_id}/release-reports", json=sent, headers=a_headers, timeout=30)
        assert reply.status_code == 204, reply.text
    again = httpx.post(f"{srv.url}/v1/kiosks/{a_id}/release-reports", json=report("1.1.0"), headers=a_headers)
    assert again.status_code == 204  # the same outcome in a new report: nothing new is stored or raised
    assert offered(srv, *lanes["b"]) == "1.0.0"  # halted at north: b is not offered 1.1.0 any more
    assert offered(srv, *lanes["c"]) == "1.1.0"  # south goes on
    assert srv.kiosk_status(a_id)["alarms"] == 1
    kept = httpx.post(f"{srv.url}/v1/kiosks/{lanes['c'][0]}/release-reports", json=report("1.1.0", "kept"),
                      headers=lanes["c"][1], timeout=30)
    assert kept.status_code == 204 and srv.kiosk_status(lanes["c"][0])["alarms"] == 0

    listed = admin(srv, "release", "list")
    assert "1.1.0" in listed and "(kept on 1, rolled back on 1)" in listed, listed
    said = admin(srv, "release", "reports", "--version", "1.1.0")
    assert f"{a_id}  1.1.0  rolled back: did not reach READY in 3 starts in a row" in said, said

    again = admin(srv, "release", "rollout", "1.1.0", "--site", "north")
    assert f"the halt after {a_id} reported rolled back is lifted" in again, again
    assert offered(srv, *lanes["b"]) == "1.1.0"


def test_bad_and_foreign_reports_are_refused_with_the_reason(served):
    srv = served
    a_id, a_headers = srv.enroll()
    b_id, _ = srv.enroll()
    url = f"{srv.url}/v1/kiosks/{a_id}/release-reports"
    foreign = httpx.post(f"{srv.url}/v1/kiosks/{b_id}/release-reports", json=report("1.1.0"), headers=a_headers)
    assert foreign.status_code == 403
    assert httpx.post(url, json=report("1.1.0")).status_code == 401
    for bad, field in ((report("1.1.0", outcome="exploded"), "outcome"), ({**report("1.1.0"), "version": "1 1"},
                       "version"), ({**report("1.1.0"), "report_id": "x"}, "report_id")):
        reply = httpx.post(url, json=bad, headers=a_headers)
        assert reply.status_code == 422 and field in reply.text, reply.text
    unknown = httpx.post(url, json=report("9.9.9"), headers=a_headers)  # a release nobody uploaded
    assert unknown.status_code == 404 and "no release 9.9.9 is stored" in unknown.text
    assert srv.kiosk_status(a_id)["alarms"] == 0


def test_a_report_made_while_the_server_is_away_waits_in_the_update_state_and_goes_with_a_later_run(tmp_path):
    from kiosk import config
    from launcher import release_reports
    from launcher.release_store import State, Store

    def settings(url: str, token: str):
        toml = tmp_path / "kiosk.toml"
        toml.write_text(f'[kiosk]\nid = "lane-7"\ndata_dir = "{tmp_path / "data"}"\n'
                        f'[server]\nurl = "{url}"\ntoken = "{token}"\n')
        return config.load(toml, environ={})

    store = Store(tmp_path / "opt-kiosk")
    state = State()
    release_reports.add(state, "1.1.0", "rolled_back", "did not reach READY within 180 s; rolled back to 1.0.0")
    store.save(state)  # as kiosk-update --on-start saves it, with no network at that moment
    away = release_reports.send(store, settings("http://127.0.0.1:9", "t" * 32), timeout=2)
    assert away.startswith("release reports kept for the next run: ConnectError"), away
    [kept] = store.load().reports
    srv, close = start_server("sqlite", tmp_path)
    try:
        admin(srv, "release", "keygen", "--out", str(tmp_path / "keys"))
        admin(srv, "release", "upload", str(wheel(tmp_path, "1.1.0")), "--key", str(tmp_path / "keys/release-key.pem"))
        _, headers = srv.enroll("lane-7")
        back = release_reports.send(store, settings(srv.url, headers["Authorization"].split()[1]))
        assert back == "1 release report(s) sent to the central server", back
        assert store.load().reports == []
        said = admin(srv, "release", "reports")
        assert "lane-7  1.1.0  rolled back: did not reach READY within 180 s" in said, said
        assert release_reports.send(store, settings(srv.url, "x")) == ""  # nothing left to send
    finally:
        close()
