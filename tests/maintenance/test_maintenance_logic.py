"""The maintenance logic without a display: PINs, lockout, roles, the audit chain, config edits,
the USB export and the log tail. Real journal (SQLite) and real files throughout."""
from __future__ import annotations

import json
import sqlite3

import pytest

from kiosk import config
from kiosk.journal import Journal
from kiosk.maintenance.access import Maintenance, NotAllowed
from kiosk.maintenance.audit import ChainCheck, verify_chain
from kiosk.maintenance.config_edit import ConfigEditor, NotEditable, effective, set_key, started_from
from kiosk.maintenance.export import ExportError, export_unsent
from kiosk.maintenance.lockout import PinLockout
from kiosk.maintenance.logs import tail
from kiosk.maintenance.technicians import TechnicianError, TechnicianStore


class Clock:
    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def journal(tmp_path):
    with Journal(tmp_path / "journal.sqlite", "kiosk-test") as j:
        yield j


@pytest.fixture
def store(tmp_path):
    s = TechnicianStore(tmp_path / "technicians.json")
    s.add("tom", "technician", "1379")
    s.add("ada", "attendant", "2468", ["ATT-7"])
    return s


def test_pins_are_salted_scrypt_hashes_and_identify_their_owner(store, tmp_path):
    stored = json.loads((tmp_path / "technicians.json").read_text())["technicians"]
    assert all(p["pin"].startswith("scrypt$") and "1379" not in p["pin"] for p in stored)
    TechnicianStore(tmp_path / "other.json").add("tom", "technician", "1379")
    other = json.loads((tmp_path / "other.json").read_text())["technicians"][0]["pin"]
    assert other != stored[0]["pin"]  # salted: the same PIN hashes differently
    assert store.verify_pin("1379").id == "tom" and store.verify_pin("2468").role == "attendant"
    assert store.verify_pin("0000") is None and store.verify_pin("") is None and store.verify_pin("13a9") is None
    assert store.verify_badge("ATT-7").id == "ada"
    with pytest.raises(TechnicianError, match="belongs to someone else"):
        store.add("eve", "technician", "1379")
    with pytest.raises(TechnicianError, match="role must be"):
        store.add("eve", "admin", "5555")


@pytest.mark.parametrize("content", ["{garbage", "[1, 2]", '{"technicians": 5}', "\xff\xfe"])
def test_a_damaged_technicians_file_lets_nobody_in_and_is_not_overwritten(tmp_path, content):
    path = tmp_path / "technicians.json"
    path.write_text(content, encoding="latin-1")
    store = TechnicianStore(path)
    assert store.verify_pin("1379") is None and store.verify_badge("X") is None and store.people() == []
    with pytest.raises(TechnicianError, match="not a technicians file"):
        store.add("tom", "technician", "1379")
    assert path.read_text(encoding="latin-1") == content


def test_config_path_from_the_command_line():
    assert started_from(["main.py", "--config", "/etc/k.toml"], {}) == "/etc/k.toml"
    assert started_from(["kiosk", "--config=/etc/k.toml", "--simulate"], {}) == "/etc/k.toml"
    assert started_from(["kiosk"], {"KIOSK_CONFIG": "/x.toml"}) == "/x.toml"
    assert started_from(["kiosk"], {}) == "kiosk.toml"


def test_five_wrong_pins_lock_for_15_minutes_and_the_lock_survives_a_restart(tmp_path):
    clock = Clock()
    lock = PinLockout(tmp_path / "lock.json", clock=clock)
    assert [lock.failed() for _ in range(5)] == [False, False, False, False, True]
    assert lock.locked_for() == 15 * 60
    clock.t += 60
    again = PinLockout(tmp_path / "lock.json", clock=clock)  # a restart
    assert again.locked_for() == 14 * 60
    clock.t -= 3600  # the clock set back an hour: still at most 15 minutes
    assert again.locked_for() == 15 * 60
    clock.t += 3600 + 14 * 60
    assert again.locked_for() == 0
    assert again.failed() is False and again.tries_left == 4  # a fresh count after the lock


def test_a_damaged_lock_file_keeps_the_pad_locked(tmp_path):
    (tmp_path / "lock.json").write_text("{garbage")
    assert PinLockout(tmp_path / "lock.json", clock=Clock()).locked_for() == 15 * 60


def test_login_lockout_roles_timeout_and_audit(store, journal, tmp_path):
    clock, wall = Clock(100.0), Clock()
    m = Maintenance(store, PinLockout(tmp_path / "lock.json", clock=wall), journal, clock=clock)
    for _ in range(4):
        assert not m.login("9999").ok
    assert m.login("2468").ok and m.role == "attendant"  # a right PIN resets the count
    assert m.may("reprint") and not m.may("exit_desktop") and not m.may("edit_config")
    with pytest.raises(NotAllowed, match="exit desktop needs the technician role"):
        m.act("exit_desktop")
    m.act("reprint", job_id=3)
    clock.t += 119
    assert not m.expired()
    m.touch()
    clock.t += 120
    assert m.expired()
    m.logout("timeout")
    for _ in range(5):
        result = m.login("9999")
    assert result.locked_for_s == 15 * 60
    assert not m.login("1379").ok  # even the right PIN while locked
    wall.t += 15 * 60
    assert m.login("1379").ok and m.may("exit_desktop")
    actions = [(r["technician"], r["action"]) for r in journal.audit_records()]
    assert actions[:6] == [("unknown", "pin_failed")] * 4 + [("ada", "login"), ("ada", "refused")]
    assert ("ada", "reprint") in actions and ("ada", "logout") in actions
    assert actions[-2:] == [("unknown", "pin_refused_locked"), ("tom", "login")]
    assert verify_chain(journal.audit_records(), journal.audit_written()) == []
    # every audit record is also an outbox event, so it syncs
    events = [r for r in journal.recent(100) if r.body.kind == "event" and r.body.event == "maintenance_audit"]
    assert len(events) == len(actions)
    assert journal.outbox_stats()[0] >= len(actions)


def tamper(journal, sql: str, *params) -> None:
    conn = sqlite3.connect(journal.path)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


@pytest.mark.parametrize("sql, problem", [
    ("UPDATE audit SET details = '{\"job_id\": 99}' WHERE seq = 2", "audit record 2 was changed after it was written"),
    ("UPDATE audit SET technician = 'eve' WHERE seq = 3", "audit record 3 was changed after it was written"),
    ("DELETE FROM audit WHERE seq = 2", "audit record 2 deleted"),
    ("DELETE FROM audit WHERE seq = 4", "audit record 4 deleted (the journal counted 4)"),
])
def test_the_audit_chain_detects_edited_and_deleted_records(journal, sql, problem):
    for n in range(4):
        journal.record_audit("tom", "technician", "reprint", {"job_id": n})
    assert verify_chain(journal.audit_records(), journal.audit_written()) == []
    tamper(journal, sql)
    assert problem in verify_chain(journal.audit_records(), journal.audit_written())


def test_the_chain_check_reads_only_new_records_after_the_first_full_check(journal):
    read = []

    def records(after):
        rows = journal.audit_records(after=after)
        read.append(len(rows))
        return rows
    for n in range(50):
        journal.record_audit("tom", "technician", "reprint", {"job_id": n})
    check = ChainCheck(records, journal.audit_written)
    assert check.full() == [] and read == [50]
    assert check.update() == [] and read[-1] == 1  # a refresh with nothing new reads the newest verified record
    journal.record_audit("tom", "technician", "reprint", {"job_id": 50})
    assert check.update() == [] and read[-1] == 2 and check.verified == 51
    tamper(journal, "DELETE FROM audit WHERE seq = 51")  # the newest verified record: checked in full again
    assert check.update() == ["audit record 51 deleted (the journal counted 51)"]
    assert check.update() == ["audit record 51 deleted (the journal counted 51)"]  # stays reported


def test_a_change_to_verified_records_is_found_by_the_full_check(journal):
    for n in range(5):
        journal.record_audit("tom", "technician", "reprint", {"job_id": n})
    check = ChainCheck(lambda after: journal.audit_records(after=after), journal.audit_written)
    assert check.full() == []
    tamper(journal, "UPDATE audit SET technician = 'eve' WHERE seq = 2")
    journal.record_audit("tom", "technician", "reprint", {"job_id": 5})
    assert check.update() == []  # new record 6 follows verified record 5: the incremental check is content
    assert check.full() == ["audit record 2 was changed after it was written"]


def test_queued_seqs_asks_the_outbox_only_about_the_rows_shown(journal):
    seqs = [journal.record_event("help_called", {"n": n}).seq for n in range(5)]
    journal.acknowledge(seqs[2])
    assert journal.queued_seqs(seqs) == set(seqs[3:])
    assert journal.queued_seqs([]) == set()


def test_a_recomputed_hash_still_breaks_the_next_link(journal):
    from kiosk.maintenance.audit import record_hash
    for n in range(3):
        journal.record_audit("tom", "technician", "reprint", {"job_id": n})
    forged = journal.audit_records()[1] | {"details": {"job_id": 42}}
    tamper(journal, "UPDATE audit SET details = ?, hash = ? WHERE seq = 2", json.dumps({"job_id": 42}),
           record_hash(forged["prev_hash"], forged))
    assert verify_chain(journal.audit_records(), journal.audit_written()) == [
        "audit record 3 does not follow record 2 (chain broken)"]


SAMPLE = """[kiosk]
id = "kiosk-001"            # unique per kiosk
name = "Self-service"       # shop name

[ui]
idle_timeout_s = 60         # seconds without a touch

[devices.printer]
host = "127.0.0.1"          # network
"""


@pytest.fixture
def editor(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text(SAMPLE)
    return ConfigEditor(path, config.MaintenanceSection().editable_keys, environ={})


def test_config_edit_keeps_comments_and_the_previous_file(editor):
    edit = editor.set("ui.idle_timeout_s", "90")
    assert (edit.old, edit.new) == (60, 90)
    text = editor.path.read_text()
    assert "idle_timeout_s = 90         # seconds without a touch" in text
    assert text.replace("= 90 ", "= 60 ") == SAMPLE
    assert (editor.path.parent / "kiosk.toml.previous").read_text() == SAMPLE
    editor.set("devices.printer.port", "9101")  # absent key: added to its table
    editor.set("server.sync_interval_s", "7")  # absent table: added
    settings = editor.load()
    assert (settings.devices.printer.port, settings.server.sync_interval_s, settings.ui.idle_timeout_s) == (9101, 7, 90)
    editor.set("kiosk.name", "Lobby shop")  # plain text is taken as a string
    assert editor.load().kiosk.name == "Lobby shop"


@pytest.mark.parametrize("key, text, message", [
    ("ui.idle_timeout_s", "0", "{path}: ui.idle_timeout_s: expected a number ≥ 1, got 0"),
    ("ui.idle_timeout_s", "soon", '{path}: ui.idle_timeout_s: expected an integer, got "soon"'),
    ("devices.printer.port", "70000", "{path}: devices.printer.port: expected a number ≤ 65535, got 70000"),
    ("server.url", "ftp://x", '{path}: server.url: expected an http:// or https:// URL, got "ftp://x"'),
])
def test_a_bad_value_is_refused_with_the_start_up_message_and_nothing_changes(editor, key, text, message):
    with pytest.raises(config.ConfigError) as info:
        editor.set(key, text)
    assert str(info.value) == message.format(path=editor.path)
    bad = editor.path.read_text().replace("idle_timeout_s = 60", "idle_timeout_s = 0")
    if key == "ui.idle_timeout_s" and text == "0":  # the very message start-up gives for that file
        editor.path.write_text(bad)
        with pytest.raises(config.ConfigError) as startup:
            config.load(editor.path, environ={})
        assert str(startup.value) == str(info.value)
    else:
        assert editor.path.read_text() == SAMPLE
        assert not (editor.path.parent / "kiosk.toml.previous").exists()
    assert not (editor.path.parent / "kiosk.toml.candidate").exists()


def test_only_editable_keys_and_secrets_stay_hidden(editor):
    with pytest.raises(NotEditable):
        editor.set("kiosk.data_dir", '"/tmp"')
    rows = {key: (value, editable) for key, value, editable in
            effective(config.Settings().model_copy(update={"server": config.ServerSection(token="s3cret")}),
                      editor.editable)}
    assert rows["server.token"] == ("(set)", False) and rows["ui.idle_timeout_s"] == ("60", True)


def test_editable_keys_must_name_settings():
    with pytest.raises(Exception, match="not an editable setting: ui.nope"):
        config.MaintenanceSection(editable_keys=["ui.nope"])


def test_set_key_handles_multi_line_arrays():
    text = 'x = 1\n[locale]\nlanguages = ["en",\n  "de"]  # offered\ndefault_language = "en"\n'
    assert set_key(text, "locale.languages", ["nl"]) == 'x = 1\n[locale]\nlanguages = ["nl"]\ndefault_language = "en"\n'


def test_usb_export_writes_upload_ready_batches(journal, tmp_path):
    for n in range(3):
        journal.record_event("help_called", {"n": n})
    with pytest.raises(ExportError, match="no USB stick at"):
        export_unsent(journal, tmp_path / "usb", "kiosk-test")
    (tmp_path / "usb").mkdir()
    files, count = export_unsent(journal, tmp_path / "usb", "kiosk-test")
    assert count == 3 and len(files) == 1
    body = json.loads(files[0].read_text())
    from kiosk.wire import TransactionBatch
    batch = TransactionBatch.model_validate(body)  # exactly what the server's upload takes
    assert [r.seq for r in batch.records] == [1, 2, 3]
    assert journal.outbox_stats()[0] == 3  # still queued for the normal sync


def test_log_tail_filters_by_level_and_keeps_tracebacks(tmp_path):
    log = tmp_path / "kiosk.log"
    log.write_text("garbage first line\n"
                   "2026-11-23 16:00:00,001 INFO kiosk: started\n"
                   "2026-11-23 16:00:01,002 ERROR devices.printer: paper out\n"
                   "Traceback (most recent call last):\n  boom\n"
                   "2026-11-23 16:00:02,003 WARNING kiosk.sync: server unreachable\n")
    assert len(tail(log, "INFO")) == 3
    assert tail(log, "ERROR") == ["2026-11-23 16:00:01,002 ERROR devices.printer: paper out\n"
                                  "Traceback (most recent call last):\n  boom"]
    assert tail(log, "WARNING", limit=1) == ["2026-11-23 16:00:02,003 WARNING kiosk.sync: server unreachable"]
    assert tail(tmp_path / "missing.log") == []
    with pytest.raises(ValueError, match="level must be one of"):
        tail(log, "LOUD")


def test_payment_history_says_when_a_payment_was_settled(journal):
    intent = journal.record_payment_intent("s-1", 500, "EUR")
    journal.record_payment_result(intent, "in_doubt")
    assert [(p["status"]) for p in journal.payment_history()] == ["in_doubt"]
    journal.record_payment_result(intent, "reversed", {"masked_pan": "672559******1234"})
    (row,) = journal.payment_history()
    assert row["status"] == "reversed" and row["updated_at"] >= row["created_at"]
    assert row["facts"] == {"masked_pan": "672559******1234"}
    assert row["in_doubt_at"] is not None and row["created_at"] <= row["in_doubt_at"] <= row["updated_at"]
    settled = journal.record_payment_intent("s-2", 300, "EUR")
    journal.record_payment_result(settled, "declined")
    assert journal.payment_history()[0]["in_doubt_at"] is None  # never in doubt


def test_journal_page_says_a_settled_payment_was_once_in_doubt(journal):
    from types import SimpleNamespace

    from screens.maintenance.model import MaintenanceModel
    page = SimpleNamespace(app=SimpleNamespace(money=lambda amount: f"{amount} ct"))
    intent = journal.record_payment_intent("s-1", 500, "EUR")
    journal.record_payment_result(intent, "in_doubt")
    assert MaintenanceModel._payment_row(page, journal.payment_history()[0])["text"].endswith("not settled yet")
    journal.record_payment_result(intent, "reversed")
    text = MaintenanceModel._payment_row(page, journal.payment_history()[0])["text"]
    assert "500 ct  reversed at " in text and "(in doubt from " in text


def _payment_texts(journal) -> list[str]:
    from types import SimpleNamespace

    from screens.maintenance.model import MaintenanceModel
    page = SimpleNamespace(app=SimpleNamespace(money=lambda amount: f"{amount} ct"))
    return [MaintenanceModel._payment_row(page, p)["text"] for p in journal.payment_history()]


def test_only_payments_that_really_went_into_doubt_say_so(journal):
    """Issue 11: every card payment is marked in doubt just before it goes to the terminal (so a crash
    leaves it to be resolved); a plain approval or decline must not show "(in doubt from ...)"."""
    import uuid

    from devices.zvt.sim import Fault, SimConfig, TerminalSimulator
    from tests.payment.helpers import make_flow

    sim = TerminalSimulator(SimConfig()).start_tcp()
    try:
        flow = make_flow(sim, journal)
        assert flow.pay(str(uuid.uuid4()), 500).status == "approved"
        sim.config.result_code = 0x05
        assert flow.pay(str(uuid.uuid4()), 300).status == "declined"
        sim.config.result_code = 0
        sim.inject(Fault("drop", "status-info"))  # the link is cut after the terminal approved
        assert flow.pay(str(uuid.uuid4()), 700).status == "approved"  # resolved at once, but it was in doubt
        flow.close()
    finally:
        sim.stop()
    lost, declined, approved = journal.payment_history()
    assert approved["in_doubt_at"] is None and declined["in_doubt_at"] is None
    assert lost["in_doubt_at"] is not None and lost["created_at"] <= lost["in_doubt_at"] <= lost["updated_at"]
    lost_text, declined_text, approved_text = _payment_texts(journal)
    assert "500 ct  approved at " in approved_text and "in doubt" not in approved_text
    assert "300 ct  declined at " in declined_text and "in doubt" not in declined_text
    assert "700 ct  approved at " in lost_text and "(in doubt from " in lost_text


def test_config_page_shows_the_simulators_ports_in_use_beside_the_configured_ones():
    """Issue 11: with driver "simulator" the real driver talks to an in-process simulator on a random
    port; the Config page showed only the configured port."""
    from types import SimpleNamespace

    from devices.manager import DeviceManager
    from kiosk.events import EventQueue
    from screens.maintenance.model import MaintenanceModel
    settings = config.Settings()  # every device its simulator
    manager = DeviceManager(settings.devices, EventQueue())
    try:
        snapshots = {snap["name"]: snap for snap in manager.snapshot()}
        printer, payment, scanner = (manager.simulators[n] for n in ("printer", "payment", "scanner"))
        assert snapshots["printer"]["endpoint"] == f"127.0.0.1:{printer.port}" != "127.0.0.1:9100"
        assert snapshots["payment"]["endpoint"] == f"127.0.0.1:{payment.port}"
        assert snapshots["scanner"]["endpoint"] == scanner.url
        page = SimpleNamespace(settings=settings, backend=SimpleNamespace(devices=manager),
                               editor=SimpleNamespace(editable=[]))
        MaintenanceModel._refresh_config(page)
        rows = {row["key"]: row["value"] for row in page.config_rows}
    finally:
        manager.close_all()
    assert rows["devices.printer.port"] == f"9100   (in use: simulator on 127.0.0.1:{printer.port})"
    assert rows["devices.printer.host"] == f'"127.0.0.1"   (in use: simulator on 127.0.0.1:{printer.port})'
    assert rows["devices.payment.port"] == f"20007   (in use: simulator on 127.0.0.1:{payment.port})"
    assert rows["devices.scanner.url"].endswith(f"   (in use: simulator on {scanner.url})")
    assert rows["devices.printer.columns"] == "42" and rows["devices.printer.driver"] == '"simulator"'
    # a real driver where it is configured: nothing to add
    real = settings.model_copy(update={"devices": settings.devices.model_copy(update={
        "printer": settings.devices.printer.model_copy(update={"driver": "network", "host": "10.0.0.7"})})})
    shown = {k: v for k, v, _ in effective(real, [], {"printer": "10.0.0.7:9100"})}
    assert shown["devices.printer.host"] == '"10.0.0.7"' and shown["devices.printer.port"] == "9100"


def test_counts_on_the_maintenance_pages_take_their_plural_form(journal):
    """Issue 11: "1 items" on the Journal page's help calls (and the like): counts go through ngettext."""
    from types import SimpleNamespace

    from kiosk.i18n import Translator
    from screens.maintenance.model import MaintenanceModel, counted
    tr = Translator(("en", "de", "nl"))
    journal.record_event("help_called", {"screen": "checkout", "items": 2})
    journal.record_event("help_called", {"screen": "checkout", "items": 1})
    page = SimpleNamespace(journal=journal, app=SimpleNamespace(translator=tr))
    one, two = (call["text"] for call in MaintenanceModel._open_help_calls(page))
    assert one.endswith("on the checkout screen, 1 item") and two.endswith("on the checkout screen, 2 items")
    assert counted(tr, "{count} try left", "{count} tries left", 1) == "1 try left"
    assert counted(tr, "to {count} file in {folder}", "to {count} files in {folder}", 2, folder="/usb") == \
        "to 2 files in /usb"
    assert counted(tr, "{count} record, chain intact", "{count} records, chain intact", 1) == "1 record, chain intact"


def test_a_pin_lockout_lasts_its_15_minutes_even_after_the_clock_steps_back(tmp_path):
    """Issue 14: after a step back of a day the lockout lasted 24 h while showing "15 minutes"."""
    clock = [1_000_000.0]
    pad = PinLockout(tmp_path / "lockout.json", max_failures=2, lock_s=900, clock=lambda: clock[0])
    pad.failed()
    assert pad.failed() and pad.locked_for() == 900
    clock[0] -= 86400  # the clock steps back a day
    assert pad.locked_for() == 900
    clock[0] += 901
    assert pad.locked_for() == 0
    clock[0] -= 86400 + 600  # and a restart after another step back: the stored lock is bounded too
    again = PinLockout(tmp_path / "lockout.json", max_failures=2, lock_s=900, clock=lambda: clock[0])
    assert again.locked_for() <= 900


def test_the_maintenance_pad_lock_is_a_remaining_duration_across_restarts_and_clock_steps(tmp_path, monkeypatch):
    """Issue 14: the maintenance lockout was only re-anchored after a step back (a step forward ended it).
    Now it is measured like the attendant check's: on the monotonic clock, the remaining time in the file."""
    import time as real_time

    from kiosk.maintenance.lockout import RemainingLockout, maintenance_lockout
    wall = [real_time.time()]
    monkeypatch.setattr(real_time, "time", lambda: wall[0])  # the wall clock must not matter any more
    mono = [500.0]
    pad = maintenance_lockout(tmp_path, clock=lambda: mono[0])
    assert isinstance(pad, RemainingLockout)
    assert [pad.failed() for _ in range(5)][-1] is True and pad.locked_for() == 900
    wall[0] += 365 * 86400  # a step forward of a year ends nothing
    mono[0] += 60
    assert pad.locked_for() == 840  # and saved (at most every 30 s while locked)
    wall[0] -= 2 * 365 * 86400  # a step back, and a restart: the monotonic clock starts anew
    mono[0] = 3.0
    again = maintenance_lockout(tmp_path, clock=lambda: mono[0])
    assert again.locked_for() == 840
    mono[0] += 840
    assert again.locked_for() == 0


def test_an_old_wall_clock_lock_file_keeps_what_is_left_of_its_lock(tmp_path):
    import json
    import time as real_time

    from kiosk.maintenance.lockout import maintenance_lockout
    (tmp_path / "maintenance-lock.json").write_text(json.dumps({"failures": 5, "locked_until": real_time.time() + 300}))
    assert 290 < maintenance_lockout(tmp_path).locked_for() <= 300
