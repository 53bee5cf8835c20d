"""The journal's reads (mixed into kiosk.journal.Journal): payments, transactions, events, the outbox's
depth and the audit records. Each runs on the caller's thread through `Journal._read` (WAL readers do
not wait for the writer)."""
from __future__ import annotations

import json
from typing import Any

from kiosk import wire


class JournalReads:
    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        raise NotImplementedError

    def payments_in_doubt(self) -> list[dict[str, Any]]:
        """Intents whose outcome is not known: the kiosk must resolve these before selling again."""
        rows = self._read("SELECT intent_id, sale_uuid, amount, currency, status, facts, created_at FROM payments "
                          "WHERE status IN ('intent', 'in_doubt') ORDER BY created_at, rowid")
        return [{"intent_id": r[0], "sale_uuid": r[1], "amount": r[2], "currency": r[3], "status": r[4],
                 "facts": json.loads(r[5]), "created_at": r[6]} for r in rows]

    def payments(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._read("SELECT intent_id, sale_uuid, amount, currency, status, facts, created_at, tx_seq "
                          "FROM payments ORDER BY rowid DESC LIMIT ?", (limit,))
        return [{"intent_id": r[0], "sale_uuid": r[1], "amount": r[2], "currency": r[3], "status": r[4],
                 "facts": json.loads(r[5]), "created_at": r[6], "tx_seq": r[7]} for r in rows]

    def transaction(self, tx_uuid: str) -> wire.TransactionRecord | None:
        rows = self._read("SELECT record FROM transactions WHERE uuid = ?", (tx_uuid,))
        return wire.TransactionRecord.model_validate_json(rows[0][0]) if rows else None

    def recent(self, limit: int = 50) -> list[wire.TransactionRecord]:
        rows = self._read("SELECT record FROM transactions ORDER BY seq DESC LIMIT ?", (limit,))
        return [wire.TransactionRecord.model_validate_json(r[0]) for r in rows]

    def last_event_time(self, event: str) -> str | None:
        """device_time of the newest event called `event` (None if there is none)."""
        rows = self._read("SELECT device_time FROM transactions WHERE kind = 'event' "
                          "AND json_extract(record, '$.body.event') = ? ORDER BY seq DESC LIMIT 1", (event,))
        return rows[0][0] if rows else None

    def event_times(self, event: str, limit: int = 800) -> list[str]:
        """device_time of the newest `limit` events called `event`, newest first."""
        rows = self._read("SELECT device_time FROM transactions WHERE kind = 'event' "
                          "AND json_extract(record, '$.body.event') = ? ORDER BY seq DESC LIMIT ?", (event, limit))
        return [r[0] for r in rows]

    def last_seq(self) -> int:
        return self._read("SELECT value FROM counters WHERE name = 'seq'")[0][0]

    def queued_seqs(self, seqs: list[int]) -> set[int]:
        """Which of `seqs` are still in the outbox (not yet acknowledged by the server)."""
        if not seqs:
            return set()
        marks = ",".join("?" * len(seqs))
        return {r[0] for r in self._read(f"SELECT seq FROM outbox WHERE seq IN ({marks})", tuple(seqs))}

    def outbox_stats(self) -> tuple[int, str | None]:
        depth, oldest = self._read("SELECT count(*), min(created_at) FROM outbox")[0]
        return depth, oldest

    def integrity_check(self) -> str:
        return self._read("PRAGMA integrity_check")[0][0]

    def audit_records(self, limit: int | None = None, after: int = 0) -> list[dict[str, Any]]:
        """Oldest first, those with seq > `after`; with `limit`, the newest `limit` records."""
        sql = f"SELECT seq, at, technician, role, action, details, prev_hash, hash FROM audit WHERE seq > {int(after)} ORDER BY seq"
        if limit is not None:
            sql = f"SELECT * FROM ({sql} DESC LIMIT {int(limit)}) ORDER BY seq"
        return [{"seq": r[0], "at": r[1], "technician": r[2], "role": r[3], "action": r[4],
                 "details": json.loads(r[5]), "prev_hash": r[6], "hash": r[7]} for r in self._read(sql)]

    def payment_history(self, limit: int = 10) -> list[dict[str, Any]]:
        """The newest payments with when their outcome was settled and, if it ever was, when it went into
        doubt (for the maintenance Journal page)."""
        rows = self._read("SELECT intent_id, amount, currency, status, facts, created_at, updated_at, in_doubt_at "
                          "FROM payments ORDER BY rowid DESC LIMIT ?", (limit,))
        return [{"intent_id": r[0], "amount": r[1], "currency": r[2], "status": r[3], "facts": json.loads(r[4]),
                 "created_at": r[5], "updated_at": r[6], "in_doubt_at": r[7]} for r in rows]

    def audit_written(self) -> int:
        return self._read("SELECT value FROM counters WHERE name = 'audit'")[0][0]
