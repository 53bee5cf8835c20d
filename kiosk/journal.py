"""The kiosk's durable journal: one writer thread owns a SQLite database (WAL, synchronous=FULL).

Every write is a job run on that thread in its own transaction, in the order the jobs were
queued; callers block until it has committed (and so is on disk) - except `post_event`, which
queues an event and returns at once (the UI thread must not wait for an fsync). Completing a sale writes the transaction, its lines, its payment
facts and its outbox row in one transaction; the outbox row carries the wire record
(kiosk.wire.TransactionRecord) with a UUID, a gap-free per-kiosk sequence number, the boot id
and the device time. A payment intent is journaled before the terminal is asked to charge, with
the draft sale it pays for, so an interrupted payment can be finished or undone after a crash.
"""
from __future__ import annotations

import json
import queue
import sqlite3
import threading
import uuid as uuid_lib
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from kiosk import clock as wall_clock, wire
from kiosk.db import connect, migrate
from kiosk.journal_reads import JournalReads
from kiosk.journal_schema import MIGRATIONS

PAYMENT_FACT_KEYS = ("brand", "masked_pan", "auth_code", "receipt_no", "trace_no", "terminal_id")
OPEN_STATUSES = ("intent", "in_doubt")


from kiosk.journal_faults import JournalDamaged, JournalError, UnusableJournal, check_file  # noqa: F401,E402


@dataclass(frozen=True)
class Committed:
    uuid: str
    seq: int
    record: wire.TransactionRecord


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    uuid: str
    payload: str  # JSON of a wire.TransactionRecord
    created_at: str


def now_iso() -> str:
    return wall_clock.now_iso()  # the system clock (stepped only in simulation, see kiosk.clock)


class Journal(JournalReads):
    def __init__(self, path: str | Path, kiosk_id: str, boot_id: str | None = None,
                 clock: Callable[[], str] = now_iso):
        self.path = Path(path)
        self.kiosk_id = kiosk_id
        self.boot_id = boot_id or str(uuid_lib.uuid4())
        self.clock = clock
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()
        self.fault: str | None = None  # set when a write fails for good (disk full, read-only): stop selling
        self.unclean_start = False
        self.fresh = False

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def marker(self) -> Path:
        """Exists while the journal is open: found at start, the last run did not close cleanly."""
        return self.path.with_name(self.path.name + ".open")

    def start(self) -> "Journal":
        """Checks the file (quick_check; integrity_check after an unclean shutdown) and opens it.
        Raises JournalDamaged (the file untouched) when the check fails."""
        unclean = self.marker.exists()
        check_file(self.path, full=unclean)
        self.unclean_start = unclean
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.marker.touch()
        ready: Future = Future()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="journal-writer", daemon=True)
        self._thread.start()
        ready.result()
        self._reader = connect(self.path, check_same_thread=False)
        # new (or emptied): until the server has been asked where to continue (continue_after), across restarts
        self._write(lambda conn: conn.execute(
            "INSERT OR IGNORE INTO counters SELECT 'server_checked', 0 "
            "WHERE (SELECT value FROM counters WHERE name = 'seq') = 0"))
        self.fresh = self._read("SELECT value FROM counters WHERE name = 'server_checked'") == [(0,)]
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
            try:
                self.marker.unlink()
            except OSError:
                pass

    def __enter__(self) -> "Journal":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, ready: Future) -> None:
        try:
            conn = connect(self.path, durable=True)
            migrate(conn, MIGRATIONS, "journal")
        except BaseException as exc:
            ready.set_exception(exc)
            return
        ready.set_result(None)
        while (job := self._jobs.get()) is not None:
            work, future = job
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:  # SQLite may have rolled back itself (disk full): keep the real error
                        try:
                            conn.execute("ROLLBACK")
                        except sqlite3.Error:
                            pass
                    raise
            except BaseException as exc:
                self._note_failure(exc)
                future.set_exception(exc)
            else:
                future.set_result(result)
        conn.close()

    def _note_failure(self, exc: BaseException) -> None:
        """A write that cannot succeed until a technician acts (disk full, read-only, I/O error, damage)
        puts the kiosk out of service with the real reason; the app never crashes on it."""
        if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError) and self.fault is None:
            text = str(exc).lower()
            if any(word in text for word in ("full", "readonly", "read-only", "disk i/o", "malformed",
                                              "not a database", "unable to open")):
                self.fault = f"journal write failed: {exc}"
                import logging
                logging.getLogger("kiosk.journal").error("OUT OF SERVICE: %s", self.fault)

    def _write(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """Runs `work(conn)` in one transaction on the writer thread; returns once committed."""
        if self._thread is None:
            raise JournalError("journal is not started")
        future: Future = Future()
        self._jobs.put((work, future))
        return future.result()

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self._reader is None:
            raise JournalError("journal is not started")
        with self._reader_lock:
            return self._reader.execute(sql, params).fetchall()

    # --- transactions -------------------------------------------------------------------------

    def _append(self, conn: sqlite3.Connection, tx_uuid: str, body: wire.Body) -> Committed:
        """Inserts the transaction and its outbox row; the caller's transaction makes it atomic."""
        seq = conn.execute("UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value").fetchone()[0]
        record = wire.TransactionRecord(uuid=tx_uuid, kiosk_id=self.kiosk_id, seq=seq, boot_id=self.boot_id,
                                        device_time=self.clock(), body=body)
        payload = record.model_dump_json()
        total = body.total if isinstance(body, wire.SaleBody) else None
        conn.execute("INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (seq, tx_uuid, body.kind, self.boot_id, record.device_time, total, payload))
        conn.execute("INSERT INTO outbox VALUES (?, ?, ?, ?)", (seq, tx_uuid, payload, record.device_time))
        return Committed(tx_uuid, seq, record)

    @staticmethod
    def _existing(conn: sqlite3.Connection, tx_uuid: str) -> Committed | None:
        row = conn.execute("SELECT seq, record FROM transactions WHERE uuid = ?", (tx_uuid,)).fetchone()
        return Committed(tx_uuid, row[0], wire.TransactionRecord.model_validate_json(row[1])) if row else None

    def record_payment_intent(self, sale_uuid: str, amount: int, currency: str,
                              draft: Mapping[str, Any] | None = None) -> str:
        """Durably notes that the terminal is about to be asked for `amount`; returns the intent id.

        `draft` is the sale being paid: {"lines": [wire.SaleLine dicts], "vat": [...],
        "receipt_token": "..."}; the sale is completed from it, even after a crash."""
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise JournalError(f"payment amount must be a positive integer of minor units, got {amount!r}")
        intent_id = str(uuid_lib.uuid4())
        draft_json = json.dumps(dict(draft)) if draft is not None else None

        def work(conn: sqlite3.Connection) -> str:
            at = self.clock()
            conn.execute("INSERT INTO payments (intent_id, sale_uuid, amount, currency, status, draft, created_at, "
                         "updated_at) VALUES (?, ?, ?, ?, 'intent', ?, ?, ?)",
                         (intent_id, sale_uuid, amount, currency, draft_json, at, at))
            return intent_id
        return self._write(work)

    def record_payment_result(self, intent_id: str, status: str, facts: Mapping[str, Any] | None = None,
                              *, write_ahead: bool = False) -> None:
        """Any outcome but a completed sale: declined, cancelled, reversed, or in doubt.

        `write_ahead=True` (with "in_doubt"): the mark written just before a request goes to the
        terminal, so a crash leaves the payment to be resolved. That alone is no doubt yet: the time
        it went into doubt is kept only when the outcome really turned out unknown (`note_doubt`)."""
        if status not in ("declined", "cancelled", "reversed", "in_doubt"):
            raise JournalError(f"record_payment_result: unknown status {status!r} (approved goes through complete_sale)")

        def work(conn: sqlite3.Connection) -> None:
            self._update_payment(conn, intent_id, status, facts or {}, doubt=status == "in_doubt" and not write_ahead)
        self._write(work)

    def note_doubt(self, intent_id: str) -> None:
        """The outcome of this open payment is really unknown (link lost, kiosk restarted, reversal
        failed): keep when it went into doubt, the time of its last journal write, for the technician."""
        self._write(lambda conn: conn.execute(
            "UPDATE payments SET in_doubt_at = COALESCE(in_doubt_at, updated_at) "
            "WHERE intent_id = ? AND status IN ('intent', 'in_doubt')", (intent_id,)))

    def _update_payment(self, conn: sqlite3.Connection, intent_id: str, status: str,
                        facts: Mapping[str, Any], tx_seq: int | None = None, doubt: bool = False) -> None:
        row = conn.execute("SELECT facts FROM payments WHERE intent_id = ?", (intent_id,)).fetchone()
        if row is None:
            raise JournalError(f"no payment intent {intent_id}")
        merged = {**json.loads(row[0]), **facts}
        at = self.clock()
        conn.execute("UPDATE payments SET status = ?, facts = ?, updated_at = ?, tx_seq = COALESCE(?, tx_seq), "
                     "in_doubt_at = COALESCE(in_doubt_at, CASE WHEN ? THEN ? END) WHERE intent_id = ?",
                     (status, json.dumps(merged), at, tx_seq, doubt, at, intent_id))

    def complete_sale(self, sale_uuid: str, intent_id: str, payment_facts: Mapping[str, Any]) -> Committed:
        """The terminal approved: the sale (from the intent's draft), its payment facts and its outbox
        row commit together. Calling it again for the same sale returns the committed one."""
        def work(conn: sqlite3.Connection) -> Committed:
            existing = self._existing(conn, sale_uuid)
            if existing is not None:
                return existing
            row = conn.execute("SELECT amount, currency, draft, status FROM payments "
                               "WHERE intent_id = ? AND sale_uuid = ?", (intent_id, sale_uuid)).fetchone()
            if row is None:
                raise JournalError(f"no payment intent {intent_id} for sale {sale_uuid}")
            if row[3] not in OPEN_STATUSES:
                raise JournalError(f"payment {intent_id} is already {row[3]}: the sale cannot complete")
            amount, currency, draft = row[0], row[1], json.loads(row[2]) if row[2] else {}
            payment = wire.Payment(method="card", amount=amount, status="approved",
                                   **{k: str(payment_facts[k]) for k in PAYMENT_FACT_KEYS if payment_facts.get(k)})
            body = wire.SaleBody(currency=currency, total=amount, lines=draft.get("lines", []),
                                 vat=draft.get("vat", []), payments=[payment],
                                 receipt_token=draft.get("receipt_token") or uuid_lib.uuid4().hex)
            committed = self._append(conn, sale_uuid, body)
            conn.executemany("INSERT INTO sale_lines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             [(committed.seq, line.line_no, line.item_id, line.name, line.quantity, line.unit_price,
                               line.total, line.vat_code, line.vat_rate, int(line.voided)) for line in body.lines])
            self._update_payment(conn, intent_id, "approved", payment_facts, committed.seq)
            return committed
        return self._write(work)

    def complete_checkin(self, booking_code: str, party_size: int, day: str | None = None) -> Committed:
        """A confirmed check-in with the next queue (ticket) number of the day."""
        day = day or self.clock()[:10]

        def work(conn: sqlite3.Connection) -> Committed:
            conn.execute("INSERT OR IGNORE INTO counters VALUES (?, 0)", (f"ticket:{day}",))
            ticket = conn.execute("UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value",
                                  (f"ticket:{day}",)).fetchone()[0]
            body = wire.CheckinBody(booking_code=booking_code, party_size=party_size, ticket_no=ticket)
            return self._append(conn, str(uuid_lib.uuid4()), body)
        return self._write(work)

    def record_event(self, event: str, details: Mapping[str, Any] | None = None) -> Committed:
        """Help calls, abandoned sessions, ratings, maintenance audit entries...; returns once committed."""
        return self.post_event(event, details).result()

    def post_event(self, event: str, details: Mapping[str, Any] | None = None) -> Future:
        """Queues an event for the writer thread and returns at once, with a Future of its `Committed`.

        The writer commits (and fsyncs) it in its own transaction, in queue order: events stay durable
        and in order with every other write, and the caller (the UI thread) never waits for the disk.
        The price: a crash or power cut may lose the events queued but not yet committed - at most the
        last few, those of the last moments before it; nothing committed is ever lost. `close()` and
        `flush()` wait for them. A failing write is set on the Future (and not raised to the caller)."""
        if self._thread is None:
            raise JournalError("journal is not started")
        body = wire.EventBody(event=event, details=dict(details or {}))
        future: Future = Future()
        self._jobs.put((lambda conn: self._append(conn, str(uuid_lib.uuid4()), body), future))
        return future

    def flush(self) -> None:
        """Returns once everything queued before the call (e.g. by `post_event`) has committed."""
        self._write(lambda conn: None)

    # --- payments -----------------------------------------------------------------------------

    def continue_after(self, server_max_seq: int, server_held_through: int) -> Committed | None:
        """A new (lost, emptied, replaced) journal whose kiosk the server already holds records 1..N of:
        renumbers what this journal has written so far (nothing of it has been sent) after N, and journals
        the replacement as an event "journal_replaced" with the server's last seq. None if nothing to do."""
        if server_max_seq <= 0:
            self._write(lambda conn: conn.execute("UPDATE counters SET value = 1 WHERE name = 'server_checked'"))
            self.fresh = False
            return None

        def work(conn: sqlite3.Connection) -> Committed | None:
            conn.execute("UPDATE counters SET value = 1 WHERE name = 'server_checked'")
            current = conn.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()[0]
            if conn.execute("SELECT count(*) FROM transactions WHERE json_extract(record, '$.body.event') = "
                            "'journal_replaced'").fetchone()[0]:
                return None  # done before
            conn.execute("PRAGMA defer_foreign_keys = ON")
            offset = server_max_seq
            for table, column in (("transactions", "seq"), ("outbox", "seq"), ("sale_lines", "tx_seq"),
                                  ("payments", "tx_seq"), ("audit", "tx_seq")):
                conn.execute(f"UPDATE {table} SET {column} = -({column} + ?) WHERE {column} IS NOT NULL", (offset,))
                conn.execute(f"UPDATE {table} SET {column} = -{column} WHERE {column} < 0")
            conn.execute("UPDATE transactions SET record = json_set(record, '$.seq', seq)")
            conn.execute("UPDATE outbox SET payload = json_set(payload, '$.seq', seq)")
            conn.execute("UPDATE counters SET value = ? WHERE name = 'seq'", (current + offset,))
            body = wire.EventBody(event="journal_replaced", details={
                "server_max_seq": server_max_seq, "server_held_through": server_held_through,
                "renumbered": current})
            return self._append(conn, str(uuid_lib.uuid4()), body)
        committed = self._write(work)
        self.fresh = False
        return committed

    # --- outbox (for the sync client) ---------------------------------------------------------

    def pending_outbox(self, limit: int = 100, after: int = 0) -> list[OutboxRow]:
        """The oldest `limit` unsent rows with seq > `after`."""
        rows = self._read("SELECT seq, uuid, payload, created_at FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                          (after, limit))
        return [OutboxRow(*row) for row in rows]

    def acknowledge(self, through_seq: int) -> int:
        """The server holds every transaction up to `through_seq`: drop them from the outbox."""
        return self._write(lambda conn: conn.execute("DELETE FROM outbox WHERE seq <= ?", (through_seq,)).rowcount)

    # --- maintenance audit (issue 7) ------------------------------------------------------------

    def record_audit(self, technician: str, role: str, action: str,
                     details: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Appends a hash-chained audit record and, in the same transaction, the outbox event
        (the body `record_event("maintenance_audit", ...)` writes) that carries it to the server."""
        from kiosk.maintenance.audit import GENESIS, flat_details, record_hash
        details = flat_details(details or {})

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            seq = conn.execute("UPDATE counters SET value = value + 1 WHERE name = 'audit' RETURNING value").fetchone()[0]
            prev = conn.execute("SELECT hash FROM audit WHERE seq = ?", (seq - 1,)).fetchone()
            record = {"seq": seq, "at": self.clock(), "technician": technician, "role": role, "action": action,
                      "details": details}
            record["prev_hash"] = prev[0] if prev else GENESIS
            record["hash"] = record_hash(record["prev_hash"], record)
            body = wire.EventBody(event="maintenance_audit", details={
                **details, "audit_seq": seq, "technician": technician, "role": role, "action": action,
                "audit_hash": record["hash"]})
            committed = self._append(conn, str(uuid_lib.uuid4()), body)
            conn.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (seq, record["at"], technician, role, action, json.dumps(details), record["prev_hash"],
                          record["hash"], committed.seq))
            return record
        return self._write(work)
