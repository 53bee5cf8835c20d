"""The journal: atomic sale + payment + outbox, gap-free sequence, payment intents, crash safety."""
import sqlite3
import subprocess
import sys
import threading
import uuid
from concurrent.futures import Future
from pathlib import Path

import pytest

from kiosk.journal import MIGRATIONS, Journal, JournalError
from kiosk.wire import TransactionRecord

from .crash_harness import draft

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def journal(tmp_path):
    with Journal(tmp_path / "journal.sqlite", "kiosk-7") as j:
        yield j


def sell(journal, lines=3, facts=None):
    sale = str(uuid.uuid4())
    intent = journal.record_payment_intent(sale, 119 * lines, "EUR", draft(lines))
    return journal.complete_sale(sale, intent, facts or {"brand": "VISA", "masked_pan": "411111******1111",
                                                         "auth_code": "0815", "receipt_no": "17"})


def test_database_is_wal_with_full_sync(journal, tmp_path):
    conn = sqlite3.connect(tmp_path / "journal.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_sale_lines_payment_and_outbox_commit_together(journal):
    done = sell(journal)
    record = TransactionRecord.model_validate_json(journal.pending_outbox()[0].payload)
    assert record == done.record
    assert (record.seq, record.kiosk_id, record.boot_id) == (1, "kiosk-7", journal.boot_id)
    assert record.body.total == 357 and len(record.body.lines) == 3
    assert record.body.payments[0].masked_pan == "411111******1111"
    assert journal._read("SELECT count(*) FROM sale_lines WHERE tx_seq = 1")[0][0] == 3
    assert journal.payments()[0]["status"] == "approved" and journal.payments()[0]["tx_seq"] == 1


def test_a_failing_write_leaves_nothing_behind(journal):
    sale = str(uuid.uuid4())
    bad_draft = {"lines": [{"line_no": 1, "item_id": "x"}], "vat": [], "receipt_token": "t"}  # incomplete line
    intent = journal.record_payment_intent(sale, 100, "EUR", bad_draft)
    with pytest.raises(Exception):
        journal.complete_sale(sale, intent, {})
    assert journal.last_seq() == 0
    assert journal.pending_outbox() == []
    assert journal.payments_in_doubt()[0]["intent_id"] == intent  # still to be resolved, not lost
    assert sell(journal).seq == 1  # the failed attempt used no sequence number


def test_completing_twice_returns_the_same_sale(journal):
    sale = str(uuid.uuid4())
    intent = journal.record_payment_intent(sale, 119, "EUR", draft(1))
    first = journal.complete_sale(sale, intent, {"auth_code": "1"})
    again = journal.complete_sale(sale, intent, {"auth_code": "1"})
    assert first.seq == again.seq == 1 and journal.last_seq() == 1


def test_payment_intents_in_doubt_until_resolved(journal):
    sale = str(uuid.uuid4())
    intent = journal.record_payment_intent(sale, 500, "EUR", draft(1))
    assert [p["intent_id"] for p in journal.payments_in_doubt()] == [intent]
    journal.record_payment_result(intent, "in_doubt", {"stage": "authorising"})
    assert journal.payments_in_doubt()[0]["facts"] == {"stage": "authorising"}
    journal.record_payment_result(intent, "declined", {"result_code": "05"})
    assert journal.payments_in_doubt() == []
    with pytest.raises(JournalError, match="already declined"):
        journal.complete_sale(sale, intent, {})
    with pytest.raises(JournalError, match="unknown status"):
        journal.record_payment_result(intent, "approved", {})
    with pytest.raises(JournalError, match="positive integer"):
        journal.record_payment_intent(sale, 1.5, "EUR")


def test_checkins_get_daily_ticket_numbers_and_events_share_the_sequence(journal):
    a = journal.complete_checkin("AB12CD34", 2, day="2026-11-23")
    b = journal.complete_checkin("EF56GH78", 1, day="2026-11-23")
    c = journal.complete_checkin("IJ90KL12", 4, day="2026-11-24")
    e = journal.record_event("help_called", {"screen": "cart"})
    assert [a.record.body.ticket_no, b.record.body.ticket_no, c.record.body.ticket_no] == [1, 2, 1]
    assert [a.seq, b.seq, c.seq, e.seq] == [1, 2, 3, 4]


def test_post_event_does_not_wait_for_the_writer_and_keeps_the_order(journal):
    gate = threading.Event()
    journal._jobs.put((lambda conn: gate.wait(10), Future()))  # a slow disk: the writer is busy until `gate`
    futures = [journal.post_event("help_called", {"n": n}) for n in range(3)]  # returns at once
    assert not any(f.done() for f in futures)
    gate.set()
    committed = [f.result(10) for f in futures]
    assert [c.seq for c in committed] == sorted(c.seq for c in committed)
    assert [r.body.details["n"] for r in reversed(journal.recent(3))] == [0, 1, 2]


def test_events_posted_before_close_are_committed(tmp_path):
    with Journal(tmp_path / "journal.sqlite", "kiosk-7") as j:
        for n in range(20):
            j.post_event("help_called", {"n": n})
    with Journal(tmp_path / "journal.sqlite", "kiosk-7") as j:
        assert j.last_seq() == 20


def test_backend_record_event_returns_before_the_commit(tmp_path):
    from kiosk import config
    from kiosk.events import EventQueue
    from launcher.backend import KioskBackend
    settings = config.load(environ={"KIOSK_KIOSK_DATA_DIR": str(tmp_path)})
    backend = KioskBackend(settings, EventQueue(), simulate=True, start_server=False)
    try:
        gate = threading.Event()
        backend.journal._jobs.put((lambda conn: gate.wait(10), Future()))
        backend.record_event("help_called", {"screen": "checkout"})  # the writer is stuck: must not block
        gate.set()
        backend.journal.flush()
        assert backend.journal.recent(1)[0].body.event == "help_called"
    finally:
        backend.close()


def test_outbox_acknowledge_and_stats(journal):
    for _ in range(5):
        sell(journal)
    assert journal.outbox_stats()[0] == 5
    assert [row.seq for row in journal.pending_outbox(limit=2)] == [1, 2]
    assert journal.acknowledge(3) == 3
    assert [row.seq for row in journal.pending_outbox()] == [4, 5]
    assert len(journal.recent()) == 5  # the journal keeps what the outbox has sent


def test_concurrent_callers_get_gap_free_unique_sequence_numbers(journal):
    results, errors = [], []

    def worker():
        try:
            for _ in range(25):
                results.append(sell(journal, lines=1).seq)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == list(range(1, 101))


def test_sequence_resumes_after_restart(tmp_path):
    path = tmp_path / "journal.sqlite"
    with Journal(path, "k") as j:
        sell(j)
        first_boot = j.boot_id
    with Journal(path, "k") as j:
        done = sell(j)
        assert done.seq == 2 and done.record.boot_id != first_boot


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "journal.sqlite"
    with Journal(path, "k"):
        pass
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(RuntimeError, match="schema 99, newer than this app knows"):
        Journal(path, "k").start()


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_and_doubles_nothing(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tests.core.crash_harness", str(tmp_path / "crash.sqlite"),
                          "200", "7"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    result = dict(line.split("=") for line in out.stdout.split())
    assert int(result["crash_kills"]) == 200
    assert int(result["crash_acknowledged"]) > 200  # the kills really interrupted a running loop
    assert result["crash_lost"] == "0"
    assert result["crash_duplicated"] == "0"
    assert result["crash_seq_mismatch"] == "0"
    assert result["crash_seq_gaps"] == "0"
    assert result["crash_in_doubt"] == "0"
    assert result["crash_unpaid_sales"] == "0"
    assert result["crash_integrity_ok"] == "1"


# --- issue 14: a damaged journal is not used ------------------------------------------------------------

def _filled_journal(path: Path) -> int:
    with Journal(path, "K-1") as j:
        for n in range(300):
            j.record_event("filler", {"n": n, "pad": "x" * 200})
    return path.stat().st_size


def _garble_middle(path: Path) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(size // 2 // 4096 * 4096)
        f.write(bytes(range(256)) * 16)  # 4 KiB of garbage over a whole page


def test_a_journal_with_garbage_in_the_middle_is_refused_and_left_untouched(tmp_path):
    from kiosk.journal import JournalDamaged
    path = tmp_path / "journal.sqlite"
    assert _filled_journal(path) > 40_000
    _garble_middle(path)
    before = path.read_bytes()
    with pytest.raises(JournalDamaged) as caught:
        Journal(path, "K-1").start()
    assert "quick_check" in caught.value.reason
    assert path.read_bytes() == before


def test_an_unclean_shutdown_gets_the_full_integrity_check(tmp_path):
    from kiosk.journal import JournalDamaged
    path = tmp_path / "journal.sqlite"
    _filled_journal(path)
    j = Journal(path, "K-1")
    assert not j.marker.exists()  # removed on the clean close
    j.marker.touch()  # as a crash leaves it
    _garble_middle(path)
    with pytest.raises(JournalDamaged) as caught:
        j.start()
    assert "integrity_check" in caught.value.reason


def test_a_clean_journal_starts_and_marks_itself_open(tmp_path):
    path = tmp_path / "journal.sqlite"
    _filled_journal(path)
    j = Journal(path, "K-1").start()
    try:
        assert j.marker.exists() and not j.unclean_start
    finally:
        j.close()
    assert not j.marker.exists()


def test_a_full_disk_is_reported_as_such_and_puts_the_journal_out_of_service(tmp_path):
    """Issue 14: "database or disk is full" came out as "cannot rollback - no transaction is active"."""
    with Journal(tmp_path / "journal.sqlite", "K-1") as j:
        j.record_event("first")
        pages = j._read("PRAGMA page_count")[0][0]
        j._write(lambda conn: conn.execute(f"PRAGMA max_page_count = {pages}"))  # the disk is full now
        assert j.fault is None
        with pytest.raises(sqlite3.OperationalError, match="full"):
            for n in range(200):
                j.record_event("filler", {"pad": "x" * 2000, "n": n})
        assert j.fault and "full" in j.fault
        future = j.post_event("help_called", {"pad": "x" * 20000})  # the UI thread's way: never raises, the failure is on the future
        assert isinstance(future.exception(10), sqlite3.OperationalError)


# --- issue 14: clock steps ---------------------------------------------------------------------------------

def test_end_of_day_runs_at_most_once_per_business_date_whatever_the_clock_does():
    """Stepping the clock back a day and forward a year ran the terminal's end of day four times in 90 s."""
    from datetime import date, datetime, timedelta
    from kiosk.business_day import end_of_day_due
    done: set[date] = set()
    runs = []
    today = datetime(2026, 12, 1, 23, 45)
    for now in (today, today - timedelta(days=1), today + timedelta(days=365), today, today + timedelta(seconds=90),
                today - timedelta(days=1), today + timedelta(days=365)):
        if end_of_day_due(now, "23:30", done):
            runs.append(now.date())
            done.add(now.date())
    # yesterday was closed before the step back (the journal has it): load it as done
    assert runs.count(today.date()) == 1 and len(runs) == len(set(runs))
    assert not end_of_day_due(datetime(2026, 12, 2, 10, 0), "23:30", done)  # not yet time
    assert not end_of_day_due(today, "", set())  # off


def test_journal_lists_the_dates_of_past_end_of_days(journal):
    journal.record_event("payment_end_of_day", {"total": 1})
    journal.record_event("payment_end_of_day", {"total": 2})
    assert len(journal.event_times("payment_end_of_day")) == 2
