"""Bookings for check-in: look up by typed code or scanned QR payload, check the time window."""
from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterable
from urllib.parse import parse_qs, urlparse

from kiosk.db import connect, migrate

MIGRATIONS = [
    """
    CREATE TABLE bookings (
        code TEXT PRIMARY KEY,               -- normalised: upper case, no spaces or dashes
        name TEXT NOT NULL,
        slot_start TEXT NOT NULL,            -- ISO 8601 with offset
        slot_end TEXT NOT NULL,
        party_size INTEGER NOT NULL CHECK (party_size >= 1),
        status TEXT NOT NULL CHECK (status IN ('booked', 'checked_in', 'cancelled'))
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta VALUES ('version', '0');
    """,
]

CODE_PATTERN = re.compile(r"^[A-Z0-9]{4,16}$")
QR_PREFIX = "BOOKING:"


@dataclass(frozen=True)
class Booking:
    code: str
    name: str
    slot_start: datetime
    slot_end: datetime
    party_size: int
    status: str


@dataclass(frozen=True)
class CheckinCheck:
    ok: bool
    reason: str  # "ok", "unknown", "already_used", "cancelled", "too_early", "too_late", "invalid"
    booking: Booking | None = None


def normalize_code(text: str) -> str | None:
    """What a customer typed ("ab12-cd 34") to the stored form ("AB12CD34"), or None if it cannot be one."""
    code = re.sub(r"[\s\-]", "", text).upper()
    return code if CODE_PATTERN.match(code) else None


def code_from_qr(payload: str) -> str | None:
    """A booking code from a QR payload: "BOOKING:AB12CD34", a URL ending in /b/<code> or with
    ?code=<code>, or the bare code."""
    payload = payload.strip()
    if payload.upper().startswith(QR_PREFIX):
        return normalize_code(payload[len(QR_PREFIX):])
    if payload.lower().startswith(("http://", "https://")):
        url = urlparse(payload)
        if "code" in (query := parse_qs(url.query)):
            return normalize_code(query["code"][0])
        parts = [p for p in url.path.split("/") if p]
        if len(parts) >= 2 and parts[-2] == "b":
            return normalize_code(parts[-1])
        return None
    return normalize_code(payload)


class Bookings:
    def __init__(self, path: str | Path, early: timedelta = timedelta(minutes=60),
                 late: timedelta = timedelta(minutes=30)):
        self.conn = connect(path, durable=True)
        migrate(self.conn, MIGRATIONS, "bookings")
        self.early, self.late = early, late

    def close(self) -> None:
        self.conn.close()

    def get(self, code: str) -> Booking | None:
        row = self.conn.execute("SELECT code, name, slot_start, slot_end, party_size, status FROM bookings "
                                "WHERE code = ?", (code,)).fetchone()
        if row is None:
            return None
        return Booking(row[0], row[1], datetime.fromisoformat(row[2]), datetime.fromisoformat(row[3]), row[4], row[5])

    def check(self, code: str | None, now: datetime) -> CheckinCheck:
        """Can this booking check in now? `code` is normalised (normalize_code / code_from_qr)."""
        if code is None:
            return CheckinCheck(False, "invalid")
        booking = self.get(code)
        if booking is None:
            return CheckinCheck(False, "unknown")
        if booking.status != "booked":
            return CheckinCheck(False, "already_used" if booking.status == "checked_in" else "cancelled", booking)
        if now < booking.slot_start - self.early:
            return CheckinCheck(False, "too_early", booking)
        if now > booking.slot_start + self.late:
            return CheckinCheck(False, "too_late", booking)
        return CheckinCheck(True, "ok", booking)

    def codes(self) -> list[str]:
        return [code for (code,) in self.conn.execute("SELECT code FROM bookings")]

    def mark_checked_in(self, code: str) -> None:
        self.conn.execute("UPDATE bookings SET status = 'checked_in' WHERE code = ?", (code,))

    def delete(self, codes: Iterable[str]) -> None:
        """Forget these bookings, checked in or not (demo data re-armed at start-up)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany("DELETE FROM bookings WHERE code = ?", ((code,) for code in codes))
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def apply_changes(self, upserts: Iterable[Booking], deletes: Iterable[str], version: int) -> None:
        """A delta from the central server in one transaction. A booking checked in here stays
        checked in even if the server has not heard of it yet."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("DELETE FROM bookings WHERE code = ?", ((code,) for code in deletes))
            conn.executemany(
                "INSERT INTO bookings VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET "
                "name = excluded.name, slot_start = excluded.slot_start, slot_end = excluded.slot_end, "
                "party_size = excluded.party_size, status = CASE WHEN bookings.status = 'checked_in' "
                "THEN 'checked_in' ELSE excluded.status END",
                ((b.code, b.name, b.slot_start.isoformat(), b.slot_end.isoformat(), b.party_size, b.status)
                 for b in upserts))
            conn.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(version),))
            conn.execute("COMMIT")
        except sqlite3.Error:
            conn.execute("ROLLBACK")
            raise

    @property
    def version(self) -> int:
        return int(self.conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0])
