"""When the journal cannot be used: its check at start (`check_file`), the errors, and `UnusableJournal`,
which stands in so the kiosk starts out of service instead of selling on a damaged or full journal."""
from __future__ import annotations

import sqlite3
import uuid as uuid_lib
from concurrent.futures import Future
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping


class JournalError(Exception):
    pass


class JournalDamaged(JournalError):
    """The journal file failed its check at start: the kiosk must not sell on it. The file is left
    untouched (never opened for writing, never overwritten) for a technician to inspect."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"journal {path} is damaged: {reason}")
        self.path, self.reason = path, reason


def check_file(path: str | Path, full: bool) -> None:
    """Checks an existing journal file read-only before it is used: PRAGMA quick_check, or the full
    integrity_check (after an unclean shutdown). Raises JournalDamaged; a missing file passes."""
    path = Path(path)
    if not path.exists():
        return
    pragma = "integrity_check" if full else "quick_check"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            rows = conn.execute(f"PRAGMA {pragma}").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and not any(
                word in str(exc) for word in ("malformed", "not a database", "corrupt")):
            raise JournalError(f"journal {path} cannot be opened: {exc}") from exc  # disk full, read-only...
        raise JournalDamaged(path, f"{pragma}: {exc}") from exc
    results = [r[0] for r in rows]
    if results != ["ok"]:
        raise JournalDamaged(path, f"{pragma}: " + "; ".join(str(r) for r in results[:5]))


class UnusableJournal:
    """Stands in for a journal that cannot be used (damaged, disk full, read-only): nothing is sold on it.

    Reads answer "nothing"; writes raise JournalError with the reason (so a payment is never started:
    its intent cannot be journaled). Maintenance audit records are kept in memory (and logged) so a
    technician can still log in and see the reason; `fault` is the technician's reason."""

    def __init__(self, path: str | Path, kiosk_id: str, fault: str):
        import logging
        self.path, self.kiosk_id, self.fault = Path(path), kiosk_id, fault
        self.boot_id = str(uuid_lib.uuid4())
        self.unclean_start = False
        self.fresh = False
        self._audit: list[dict[str, Any]] = []
        self._log = logging.getLogger("kiosk.journal")

    def start(self) -> "UnusableJournal":
        return self

    def close(self) -> None:
        pass

    def _refuse(self, *_: Any, **__: Any) -> Any:
        raise JournalError(f"journal unusable: {self.fault}")

    record_payment_intent = record_payment_result = note_doubt = complete_sale = complete_checkin = _refuse
    record_event = acknowledge = flush = _refuse

    def post_event(self, event: str, details: Mapping[str, Any] | None = None) -> Future:
        future: Future = Future()
        future.set_exception(JournalError(f"journal unusable: {self.fault}"))
        return future

    def payments_in_doubt(self) -> list[dict[str, Any]]:
        return []

    def payments(self, limit: int = 100) -> list[dict[str, Any]]:
        return []

    payment_history = payments

    def transaction(self, tx_uuid: str) -> None:
        return None

    def recent(self, limit: int = 50) -> list:
        return []

    def last_event_time(self, event: str) -> None:
        return None

    def event_times(self, event: str, limit: int = 800) -> list[str]:
        return []

    def last_seq(self) -> int:
        return 0

    def pending_outbox(self, limit: int = 100, after: int = 0) -> list:
        return []

    def queued_seqs(self, seqs: list[int]) -> set[int]:
        return set()

    def outbox_stats(self) -> tuple[int, str | None]:
        return 0, None

    def integrity_check(self) -> str:
        return self.fault

    def record_audit(self, technician: str, role: str, action: str,
                     details: Mapping[str, Any] | None = None) -> dict[str, Any]:
        from kiosk.maintenance.audit import GENESIS, flat_details, record_hash
        details = flat_details(details or {})
        record = {"seq": len(self._audit) + 1, "at": datetime.now(timezone.utc).astimezone().isoformat(), "technician": technician, "role": role,
                  "action": action, "details": details}
        record["prev_hash"] = self._audit[-1]["hash"] if self._audit else GENESIS
        record["hash"] = record_hash(record["prev_hash"], record)
        self._audit.append(record)
        self._log.warning("maintenance audit (not journaled: %s): %s", self.fault, record)
        return record

    def audit_records(self, limit: int | None = None, after: int = 0) -> list[dict[str, Any]]:
        records = [r for r in self._audit if r["seq"] > after]
        return records[-limit:] if limit is not None else records

    def audit_written(self) -> int:
        return len(self._audit)


def advice(fault: str) -> str:
    """What a technician should do about an out-of-service reason (the maintenance screen's System page)."""
    text = fault.lower()
    if "update intervention" in text:
        return ("A new release migrated the journal and sales were made on it, so it was not rolled back: install a "
                "fixed newer release, or move those sales by hand; then delete intervention.json in the data "
                "folder and restart the app (docs/deploy.md, section 5).")
    if "damaged" in text or "malformed" in text or "not a database" in text:
        return ("The damaged journal.sqlite is left as it is. First copy the whole data folder for recovery: sales "
                "not yet sent (see the Sync page) are only in that file. Then move journal.sqlite (with its -wal and "
                "-shm files) out of the data folder and restart the app: a new journal continues after what the "
                "central server holds.")
    if "full" in text:
        return "Free space on the data disk (old logs, exports, backups), then restart the app. Nothing is lost."
    if "read-only" in text or "readonly" in text or "cannot be created" in text:
        return ("The data folder cannot be written: check the disk and how it is mounted (a disk with errors is "
                "often remounted read-only), then restart the app. Nothing is lost.")
    if "refused" in text:
        return ("The central server refuses this kiosk's transactions: check on the server (kiosk-server admin "
                "fleet, dead letters) why, and whether this kiosk was enrolled again or disabled.")
    return "See the log (Logs page) for the cause, fix it, then restart the app."
