"""Updates end to end: a real central server hands out signed releases (real wheels built here with `pip wheel`),
`kiosk-update` runs as its own process against a temporary /opt/kiosk, and a stand-in for systemd restarts the
kiosk (see updates_harness.py)."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from kserver_harness import start_server
from kiosk.db import migrate
from kiosk.journal_schema import MIGRATIONS
from updates_harness import Fleet, Kiosk, Supervisor, build_wheel

KIOSK_ID = "shop1-k1"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheels")
    return {v: build_wheel(tmp, v, mode) for v, mode in
            [("1.0.0", "good"), ("1.1.0", "good"), ("1.2.0", "crash"), ("1.3.0", "good"), ("1.4.0", "good"),
             ("0.9.0", "good"), ("2.0.0", "migrate"), ("2.1.0", "migrate-sell"), ("1.5.0", "ready-crash")]}


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
    assert "release 1.0.0 stayed up 1 s after READY: it stays" in done.stdout
    supervisor.wait_running("1.0.0")


def test_a_good_update_switches_and_reports_ready(setup):
    fleet, private, kiosk, supervisor, wheels = setup
    _first_install(fleet, private, kiosk, supervisor, wheels)
    fleet.publish(wheels["1.1.0"], private, "1.1.0")
    done = kiosk.update()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "switched to 1.1.0; restarting the kiosk" in done.stdout
    assert "release 1.1.0 reached READY; on probation for 1 s" in done.stdout
    assert "release 1.1.0 stayed up 1 s after READY: it stays" in done.stdout
    assert kiosk.current() == "1.1.0" and kiosk.running()["version"] == "1.1.0"
    assert (kiosk.prefix / "releases/1.0.0/.complete").exists()  # the old one stays beside it, for a rollback
    assert kiosk.state()["trial"] is None
    assert "(kept on 1)" in [line for line in fleet.admin("release", "list").stdout.splitlines()
                             if line.startswith("1.1.0")][0]
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
    assert "1 release report(s) sent to the central server" in done.stdout  # the run that watched the trial
    said = fleet.admin("release", "reports", "--version", "1.2.0").stdout
    assert f"{KIOSK_ID}  1.2.0  rolled back: did not reach READY in 3 starts in a row; rolled back to 1.0.0" in said
    assert kiosk.state()["reports"] == []  # the server has it: nothing waits
    again = kiosk.update()
    assert again.returncode == 0 and "up to date (1.0.0)" in again.stdout  # the server halted 1.2.0's rollout
    fleet.admin("release", "rollout", "1.2.0")  # given again anyway: this kiosk still never takes it back
    again = kiosk.update()
    assert again.returncode == 3 and "release 1.2.0 was rolled back here before: refused" in again.stdout


def test_a_release_that_reaches_ready_then_crashes_is_rolled_back_on_probation(setup):
    fleet, private, kiosk, supervisor, wheels = setup
    _first_install(fleet, private, kiosk, supervisor, wheels)
    fleet.publish(wheels["1.5.0"], private, "1.5.0")
    kiosk.common[kiosk.common.index("--probation") + 1] = "30"  # for the timer's run and --on-start alike
    done = kiosk.update()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "release 1.5.0 reached READY; on probation for 30 s" in done.stdout  # READY alone does not keep it
    assert "stayed up" not in done.stdout
    assert kiosk.current() == "1.0.0"
    supervisor.wait_running("1.0.0")
    runs = [v for v in supervisor.starts if v == "1.5.0"]
    assert len(runs) == 3, supervisor.starts  # the first run, then two restarts; the third restart rolls back
    said = "".join(supervisor.pre_output)
    assert "release 1.5.0 restarted on probation (1 of 3)" in said, said
    assert "rolled back to 1.0.0: release 1.5.0 reached READY but restarted 3 times within its 30 s probation" \
        in said, said
    assert kiosk.state()["refused"] == ["1.5.0"] and kiosk.state()["trial"] is None
    fleet.admin("release", "rollout", "1.5.0")  # the rollback halted it on the server; given again anyway
    again = kiosk.update()
    assert again.returncode == 3 and "release 1.5.0 was rolled back here before: refused" in again.stdout


def test_a_release_that_never_gets_ready_is_rolled_back_after_the_timeout(setup, tmp_path):
    fleet, private, kiosk, supervisor, wheels = setup
    _first_install(fleet, private, kiosk, supervisor, wheels)
    fleet.publish(wheels["1.2.0"], private, "1.2.0")
    # the start count (kiosk-update --on-start before every start) must not end the trial first: a release
    # that dies at once restarts several times in 4 s
    kiosk.common[kiosk.common.index("--max-starts") + 1] = "1000"
    done = kiosk.update("--ready-timeout", "4")
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


@pytest.mark.parametrize("step", ["downloaded", "installing", "installed", "backed-up", "trial-saved", "switched",
                                  "restarted"])
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


def _journal_with_a_sale(kiosk) -> Path:
    """The kiosk's journal at the current schema, with one sale in it."""
    path = kiosk.data / "journal.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(db, MIGRATIONS, "journal")
    db.execute("INSERT INTO transactions (seq, uuid, kind, boot_id, device_time, total, record) "
               "VALUES (1, 'first-sale', 'sale', 'b', '2026-12-01T10:00:00Z', 199, '{}')")
    db.close()
    return path


def _journal_facts(path: Path) -> tuple[int, list[str]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return (db.execute("PRAGMA user_version").fetchone()[0],
                [r[0] for r in db.execute("SELECT uuid FROM transactions ORDER BY seq")])


def test_a_rollback_puts_the_migrated_journal_back_when_nothing_was_sold_since(setup):
    fleet, private, kiosk, supervisor, wheels = setup
    _first_install(fleet, private, kiosk, supervisor, wheels)
    journal = _journal_with_a_sale(kiosk)
    fleet.publish(wheels["2.0.0"], private, "2.0.0")
    done = kiosk.update()
    assert done.returncode == 1, done.stdout + done.stderr
    supervisor.wait_running("1.0.0")
    assert kiosk.current() == "1.0.0"
    assert _journal_facts(journal) == (len(MIGRATIONS), ["first-sale"])  # schema 99 undone: 1.0.0 can read it
    assert any("journal restored from" in out for out in supervisor.pre_output), supervisor.pre_output
    assert (kiosk.data / "backups/journal-before-2.0.0.sqlite").exists()
    assert not (kiosk.data / "intervention.json").exists()


def test_after_a_sale_on_the_migrated_journal_the_kiosk_stays_and_calls_a_technician(setup):
    fleet, private, kiosk, supervisor, wheels = setup
    _first_install(fleet, private, kiosk, supervisor, wheels)
    journal = _journal_with_a_sale(kiosk)
    fleet.publish(wheels["2.1.0"], private, "2.1.0")
    done = kiosk.update("--ready-timeout", "8")
    assert kiosk.current() == "2.1.0"  # not rolled back: the sale exists only in the migrated journal
    assert _journal_facts(journal) == (99, ["first-sale", "sold-under-2.1.0"])
    reason = json.loads((kiosk.data / "intervention.json").read_text())["reason"]
    assert "migrated the journal and 1 sale(s) were journaled since: not rolled back to 1.0.0" in reason
    assert "INTERVENTION" in done.stdout + "".join(supervisor.pre_output)
    said = fleet.admin("release", "reports", "--version", "2.1.0").stdout
    assert f"{KIOSK_ID}  2.1.0  INTERVENTION: release 2.1.0" in said, said
    assert kiosk.state()["trial"] is None and kiosk.state()["refused"] == []
