"""Updates end to end: a real central server hands out signed releases (real wheels built here with `pip wheel`),
`kiosk-update` runs as its own process against a temporary /opt/kiosk, and a stand-in for systemd restarts the
kiosk (see updates_harness.py)."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kserver_harness import start_server
from updates_harness import Fleet, Kiosk, Supervisor, build_wheel

KIOSK_ID = "shop1-k1"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheels")
    return {v: build_wheel(tmp, v, mode) for v, mode in
            [("1.0.0", "good"), ("1.1.0", "good"), ("1.2.0", "crash"), ("1.3.0", "good"), ("1.4.0", "good"),
             ("0.9.0", "good")]}


@pytest.fixture
def setup(tmp_path, wheels):
    server, close = start_server("sqlite", tmp_path)
    fleet = Fleet(server, tmp_path)
    private, public = fleet.keygen("keys")
    _, headers = server.enroll(KIOSK_ID)
    kiosk = Kiosk(tmp_path / "kiosk", server.url, KIOSK_ID, headers["Authorization"].split()[1], public)
    supervisor = Supervisor(kiosk)
    yield fleet, private, kiosk, supervisor, wheels
    supervisor.stop()
    close()


def _first_install(fleet, private, kiosk, supervisor, wheels) -> None:
    fleet.publish(wheels["1.0.0"], private, "1.0.0")
    done = kiosk.update()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "release 1.0.0 reached READY: it stays" in done.stdout
    supervisor.wait_running("1.0.0")


def test_a_good_update_switches_and_reports_ready(setup):
    fleet, private, kiosk, supervisor, wheels = setup
    _first_install(fleet, private, kiosk, supervisor, wheels)
    fleet.publish(wheels["1.1.0"], private, "1.1.0")
    done = kiosk.update()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "switched to 1.1.0; restarting the kiosk" in done.stdout
    assert "release 1.1.0 reached READY: it stays" in done.stdout
    assert kiosk.current() == "1.1.0" and kiosk.running()["version"] == "1.1.0"
    assert (kiosk.prefix / "releases/1.0.0/.complete").exists()  # the old one stays beside it, for a rollback
    assert kiosk.state()["trial"] is None
    again = kiosk.update()
    assert again.returncode == 0 and "up to date (1.1.0)" in again.stdout


def test_a_release_that_crashes_at_start_is_rolled_back_within_the_limit(setup):
    fleet, private, kiosk, supervisor, wheels = setup
    _first_install(fleet, private, kiosk, supervisor, wheels)
    fleet.publish(wheels["1.2.0"], private, "1.2.0")
    done = kiosk.update()
    assert done.returncode == 1, done.stdout + done.stderr
    assert kiosk.current() == "1.0.0"
    supervisor.wait_running("1.0.0")
    tried = [v for v in supervisor.starts if v == "1.2.0"]
    assert 1 <= len(tried) <= 3, supervisor.starts  # --max-starts 3
    assert any("rolled back to 1.0.0: release 1.2.0 did not reach READY in 3 starts in a row" in out
               for out in supervisor.pre_output), supervisor.pre_output
    assert kiosk.state()["refused"] == ["1.2.0"]
    again = kiosk.update()
    assert again.returncode == 3 and "release 1.2.0 was rolled back here before: refused" in again.stdout


def test_a_release_that_never_gets_ready_is_rolled_back_after_the_timeout(setup, tmp_path):
    fleet, private, kiosk, supervisor, wheels = setup
    _first_install(fleet, private, kiosk, supervisor, wheels)
    fleet.publish(wheels["1.2.0"], private, "1.2.0")
    done = kiosk.update("--max-starts", "1000", "--ready-timeout", "4")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "rolled back to 1.0.0: release 1.2.0 did not reach READY within 4 s" in done.stdout + \
        "".join(supervisor.pre_output)
    supervisor.wait_running("1.0.0")


def test_tampered_foreign_signed_and_older_releases_are_refused(setup, tmp_path):
    fleet, private, kiosk, supervisor, wheels = setup
    _first_install(fleet, private, kiosk, supervisor, wheels)
    # tampered: the stored wheel changed after it was signed
    fleet.publish(wheels["1.3.0"], private, "1.3.0")
    with sqlite3.connect(Path(fleet.server.proc.data_dir) / "server.db") as db:
        content = db.execute("SELECT content FROM release_files WHERE version = '1.3.0'").fetchone()[0]
        db.execute("UPDATE release_files SET content = ? WHERE version = '1.3.0'", (content[:-1] + b"X",))
    done = kiosk.update()
    assert done.returncode == 3 and "is not the signed one (size or sha256 differ): refused" in done.stdout, done.stdout
    # signed, but not with this fleet's release key
    stranger, _ = fleet.keygen("stranger")
    fleet.publish(wheels["1.4.0"], stranger, "1.4.0")
    done = kiosk.update()
    assert done.returncode == 3 and "signature does not match the release key: refused" in done.stdout, done.stdout
    # not signed at all
    with sqlite3.connect(Path(fleet.server.proc.data_dir) / "server.db") as db:
        db.execute("UPDATE release_files SET signature = '' WHERE version = '1.4.0'")
    done = kiosk.update()
    assert done.returncode == 3 and "signature" in done.stdout and "refused" in done.stdout, done.stdout
    # older than the running release
    fleet.publish(wheels["0.9.0"], private, "0.9.0")
    done = kiosk.update()
    assert done.returncode == 3 and "release 0.9.0 is older than the running 1.0.0: downgrade refused" in done.stdout
    assert kiosk.current() == "1.0.0" and sorted(p.name for p in (kiosk.prefix / "releases").iterdir()) == ["1.0.0"]
    supervisor.wait_running("1.0.0")


@pytest.mark.parametrize("step", ["downloaded", "installing", "installed", "trial-saved", "switched", "restarted"])
def test_sigkill_at_every_step_leaves_a_release_that_starts(setup, step):
    fleet, private, kiosk, supervisor, wheels = setup
    _first_install(fleet, private, kiosk, supervisor, wheels)
    fleet.publish(wheels["1.1.0"], private, "1.1.0")
    killed = kiosk.update(kill_at=step)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    supervisor.proc.terminate()  # the kiosk restarts (a power cut, or systemd) before any other update run
    version = kiosk.current()
    assert version in ("1.0.0", "1.1.0")
    supervisor.wait_running(version)
    done = kiosk.update()  # the next timer run finishes the job
    assert done.returncode == 0, done.stdout + done.stderr
    supervisor.wait_running("1.1.0")
    assert kiosk.current() == "1.1.0" and kiosk.state()["trial"] is None


def test_canary_share_per_site(setup):
    fleet, private, kiosk, supervisor, wheels = setup
    fleet.admin("release", "upload", str(wheels["1.0.0"]), "--key", str(private))
    fleet.admin("release", "upload", str(wheels["1.1.0"]), "--key", str(private))
    fleet.admin("release", "site", KIOSK_ID, "north")
    fleet.admin("release", "rollout", "1.0.0", "--site", "north")
    out = fleet.admin("release", "rollout", "1.1.0", "--site", "north", "--canary", "0").stdout
    assert out.strip() == "site north: 0 % of its kiosks get 1.1.0; the others keep 1.0.0"
    done = kiosk.update()
    assert "release 1.0.0 reached READY" in done.stdout  # outside the canary share: the site's stable release
    fleet.admin("release", "rollout", "1.1.0", "--site", "north", "--canary", "100")
    done = kiosk.update()
    assert "release 1.1.0 reached READY" in done.stdout
    bad = fleet.admin("release", "rollout", "1.1.0", "--site", "north", "--canary", "150", check=False)
    assert bad.returncode == 1 and "canary share: expected a percentage 0-100, got 150" in bad.stderr
