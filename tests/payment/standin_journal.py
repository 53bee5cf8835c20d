"""A stand-in for `kiosk.journal.Journal` (not landed yet) with the announced API, on SQLite.

Used by the payment tests until the real journal exists; then `journal_for_tests()` in
conftest switches to it. Durable: WAL + synchronous=FULL, each call one transaction.
"""
from __future__ import annotations

import json
import sqlite3
import uuid


class StandinJournal:
    def __init__(self, path, kiosk_id: str = "kiosk-test") -> None:
        self.path, self.kiosk_id = str(path), kiosk_id
        self.conn: sqlite3.Connection | None = None

    def start(self) -> None:
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript("""
            CREATE TABLE IF NOT EXISTS payment (intent_id TEXT PRIMARY KEY, sale_uuid TEXT, amount INTEGER,
                currency TEXT, status TEXT, facts TEXT);
            CREATE TABLE IF NOT EXISTS sale (sale_uuid TEXT PRIMARY KEY, intent_id TEXT, facts TEXT);
            CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, body TEXT);
        """)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def record_payment_intent(self, sale_uuid: str, amount: int, currency: str) -> str:
        intent = str(uuid.uuid4())
        self.conn.execute("INSERT INTO payment VALUES (?, ?, ?, ?, NULL, '{}')", (intent, sale_uuid, amount, currency))
        return intent

    def record_payment_result(self, intent_id: str, status: str, facts: dict) -> None:
        assert status in ("approved", "declined", "cancelled", "reversed", "in_doubt"), status
        self.conn.execute("UPDATE payment SET status = ?, facts = ? WHERE intent_id = ?",
                          (status, json.dumps(facts), intent_id))

    def payments_in_doubt(self) -> list[dict]:
        rows = self.conn.execute("SELECT intent_id, sale_uuid, amount, currency, facts FROM payment "
                                 "WHERE status IS NULL OR status = 'in_doubt' ORDER BY rowid").fetchall()
        return [{"intent_id": r[0], "sale_uuid": r[1], "amount": r[2], "currency": r[3], "facts": json.loads(r[4])}
                for r in rows]

    def complete_sale(self, sale_uuid: str, intent_id: str, payment_facts: dict) -> None:
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("UPDATE payment SET status = 'approved', facts = ? WHERE intent_id = ?",
                              (json.dumps(payment_facts), intent_id))
            self.conn.execute("INSERT INTO sale VALUES (?, ?, ?)", (sale_uuid, intent_id, json.dumps(payment_facts)))
            self.conn.execute("INSERT INTO outbox (body) VALUES (?)", (json.dumps({"sale": sale_uuid}),))

    # for the tests' comparisons
    def payments(self) -> list[dict]:
        rows = self.conn.execute("SELECT intent_id, sale_uuid, amount, status, facts FROM payment").fetchall()
        return [{"intent_id": r[0], "sale_uuid": r[1], "amount": r[2], "status": r[3], "facts": json.loads(r[4])}
                for r in rows]

    def sales(self) -> list[dict]:
        rows = self.conn.execute("SELECT sale_uuid, intent_id, facts FROM sale").fetchall()
        return [{"sale_uuid": r[0], "intent_id": r[1], "facts": json.loads(r[2])} for r in rows]
