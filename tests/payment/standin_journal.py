"""A stand-in with the payment part of `kiosk.journal.Journal`'s API, used only when that module
cannot be imported (it is being written in parallel). Same statuses, same merge of facts."""
from __future__ import annotations

import json
import sqlite3
import threading
import uuid


class StandinJournal:
    def __init__(self, path, kiosk_id: str = "kiosk-test") -> None:
        self.path, self.kiosk_id = str(path), kiosk_id
        self.conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def start(self) -> "StandinJournal":
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript("""
            CREATE TABLE IF NOT EXISTS payments (intent_id TEXT PRIMARY KEY, sale_uuid TEXT, amount INTEGER,
                currency TEXT, status TEXT, draft TEXT, facts TEXT, tx_seq INTEGER);
            CREATE TABLE IF NOT EXISTS transactions (seq INTEGER PRIMARY KEY, uuid TEXT UNIQUE, record TEXT);
        """)
        return self

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _tx(self, work):
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                result = work()
                self.conn.execute("COMMIT")
                return result
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    def record_payment_intent(self, sale_uuid, amount, currency, draft=None) -> str:
        intent = str(uuid.uuid4())
        self._tx(lambda: self.conn.execute("INSERT INTO payments VALUES (?, ?, ?, ?, 'intent', ?, '{}', NULL)",
                                           (intent, sale_uuid, amount, currency, json.dumps(draft))))
        return intent

    def _update(self, intent_id, status, facts, tx_seq=None):
        old = json.loads(self.conn.execute("SELECT facts FROM payments WHERE intent_id = ?", (intent_id,)).fetchone()[0])
        self.conn.execute("UPDATE payments SET status = ?, facts = ?, tx_seq = COALESCE(?, tx_seq) WHERE intent_id = ?",
                          (status, json.dumps({**old, **facts}), tx_seq, intent_id))

    def record_payment_result(self, intent_id, status, facts=None) -> None:
        assert status in ("declined", "cancelled", "reversed", "in_doubt"), status
        self._tx(lambda: self._update(intent_id, status, facts or {}))

    def complete_sale(self, sale_uuid, intent_id, payment_facts):
        def work():
            if self.conn.execute("SELECT 1 FROM transactions WHERE uuid = ?", (sale_uuid,)).fetchone():
                return
            status = self.conn.execute("SELECT status FROM payments WHERE intent_id = ?", (intent_id,)).fetchone()[0]
            assert status in ("intent", "in_doubt"), status
            seq = self.conn.execute("INSERT INTO transactions (uuid, record) VALUES (?, ?) RETURNING seq",
                                    (sale_uuid, json.dumps(payment_facts))).fetchone()[0]
            self._update(intent_id, "approved", payment_facts, seq)
        self._tx(work)

    def payments_in_doubt(self) -> list[dict]:
        return [p for p in self.payments() if p["status"] in ("intent", "in_doubt")]

    def payments(self, limit: int = 100) -> list[dict]:
        rows = self.conn.execute("SELECT intent_id, sale_uuid, amount, currency, status, facts, tx_seq FROM payments "
                                 "ORDER BY rowid DESC LIMIT ?", (limit,)).fetchall()
        return [{"intent_id": r[0], "sale_uuid": r[1], "amount": r[2], "currency": r[3], "status": r[4],
                 "facts": json.loads(r[5]), "tx_seq": r[6]} for r in rows]
