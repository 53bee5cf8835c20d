"""Fleet insight, the write side: session records (the kiosk's event "session") become raw rows and rollups.

`record_sessions` runs inside the ingest transaction of a batch, after its records are stored: a session's raw
row is inserted with ON CONFLICT DO NOTHING on its session_id, and only the rows that really went in are added to
the rollups, so a session synced twice (or sent again under another record) counts once. The increments are
summed per rollup key first (one key may appear only once in an INSERT … ON CONFLICT DO UPDATE) and written in
key order (concurrent batches lock rollup rows in the same order: no deadlocks). Same SQL on SQLite and PostgreSQL.
"""
from __future__ import annotations

import bisect
import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from kiosk.wire import SESSION_EVENT, SessionSummary, TransactionRecord
from server import bulk
from server.db import (COMPLETE_EDGES_S, HOUR_METRICS, SUM_METRICS, insight_daily, insight_hourly, insight_sessions,
                       kiosks, transactions)

HOURLY_KEY = ("kiosk_id", "hour", "flow", "language")
FLEET = "*"  # the daily rollup's site for the whole fleet (site ids cannot contain it): fleet pages read 1 row a day
DAILY_KEY = ("day", "site_id", "flow", "language")


def session_of(record: TransactionRecord) -> tuple[str, SessionSummary | None]:
    """(why a record that says it is a session summary is not a valid one, else "";
    the summary, or None if it is no valid summary)."""
    body = record.body
    if body.kind != "event" or body.event != SESSION_EVENT:
        return "", None
    try:
        return "", SessionSummary.from_details(body.details)
    except ValidationError as exc:
        return "body.details (a session record): " + "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]), None


def session_problem(record: TransactionRecord) -> str:
    """Why a record that says it is a session summary is not a valid one ("" if it is, or is no summary)."""
    return session_of(record)[0]


def complete_bucket(duration_ms: int) -> int:
    """The histogram bucket of a time to complete: bucket i holds durations up to COMPLETE_EDGES_S[i] seconds."""
    return bisect.bisect_left(COMPLETE_EDGES_S, duration_ms / 1000)


def increments(s: SessionSummary) -> dict[str, int]:
    """What one session adds to its rollup rows."""
    done = s.outcome == "completed"
    inc = dict(sessions=1, completed=int(done), abandoned_idle=int(s.outcome == "abandoned_idle"),
               cancelled=int(s.outcome == "cancelled"), handed_to_staff=int(s.outcome == "handed_to_staff"),
               out_of_service=int(s.outcome == "out_of_service"),
               reached_scan=int(s.first_scan_ms is not None), reached_payment=int(s.payment_ms is not None),
               paid=int(s.paid_ms is not None), receipt_chosen=int(s.receipt_choice is not None),
               complete_ms=s.duration_ms if done else 0,
               easy_yes=int(s.easy is True), easy_no=int(s.easy is False), large_text=int(s.large_text),
               language_switches=s.language_switches, help_calls=s.help_calls, scans=s.scans, taps=s.taps,
               searches=s.searches, unknown_codes=s.unknown_codes, messages=s.messages, age_checks=s.age_checks,
               age_wait_ms=s.age_wait_ms, payment_attempts=s.payment_attempts, declines=s.declines,
               revenue_minor=s.amount_minor if done else 0)
    if s.rating is not None:
        inc[f"rating_{s.rating}"] = 1
    if done:
        inc[f"d{complete_bucket(s.duration_ms):02d}"] = 1
    return inc


def _upsert_statement(dialect, table: sa.Table, key: tuple[str, ...]):
    stmt = dialect.insert(table)
    summed = [c.name for c in table.c if c.name not in key and c.name != "site_id"]
    return stmt.on_conflict_do_update(index_elements=list(key),
                                      set_={c: table.c[c] + stmt.excluded[c] for c in summed})


# Built once: the statement with ~70 summed columns costs more to construct than to run.
UPSERTS = {(name, table.name): _upsert_statement(dialect, table, key) for name, dialect in
           (("postgresql", postgresql), ("sqlite", sqlite))
           for table, key in ((insight_hourly, HOURLY_KEY), (insight_daily, DAILY_KEY))}


NEW_SESSIONS = {name: dialect.insert(insight_sessions).on_conflict_do_nothing(index_elements=["session_id"])
                .returning(insight_sessions.c.session_id) for name, dialect in (("postgresql", postgresql),
                                                                                ("sqlite", sqlite))}


def _upsert(conn: Connection, table: sa.Table, rows: list[dict], key: tuple[str, ...]) -> None:
    if conn.dialect.name == "postgresql":  # one statement for all rows (server/bulk.py)
        bulk.insert(conn, table, rows, conflict=key, add=tuple(c for c in rows[0] if c not in key and c != "site_id"))
    else:
        conn.execute(UPSERTS[(conn.dialect.name, table.name)], rows)


def _new_sessions(conn: Connection, rows: list[dict]) -> set[str]:
    """Inserts the raw rows of the sessions not held yet; their ids."""
    if conn.dialect.name == "postgresql":
        result = bulk.insert(conn, insight_sessions, rows, conflict=("session_id",), returning="session_id")
    else:
        result = conn.execute(NEW_SESSIONS[conn.dialect.name], rows)
    return set(result.scalars().all())


def _site(conn: Connection, kiosk_id: str) -> str:
    if "site_id" not in kiosks.c:  # the console's sites (issue 15) are not in this schema
        return ""
    return conn.execute(sa.select(kiosks.c.site_id).where(kiosks.c.id == kiosk_id)).scalar() or ""


def add_sessions(conn: Connection, kiosk_id: str, summaries: list[SessionSummary], site: str | None = None) -> int:
    """Stores the sessions not yet held and adds them to the rollups; returns how many were new."""
    if not summaries:
        return 0
    site = _site(conn, kiosk_id) if site is None else site
    rows = [dict(session_id=s.session_id, kiosk_id=kiosk_id, site_id=site, started_at=s.started_at,
                 duration_ms=s.duration_ms, flow=s.flow, language=s.language, outcome=s.outcome, scans=s.scans,
                 help_calls=s.help_calls, declines=s.declines, rating=s.rating, easy=s.easy,
                 amount_minor=s.amount_minor, currency=s.currency) for s in summaries]
    new = _new_sessions(conn, rows)
    hourly: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SUM_METRICS, 0))
    daily: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SUM_METRICS + HOUR_METRICS, 0))
    for s in summaries:
        if s.session_id not in new:
            continue
        new.discard(s.session_id)  # the same session twice in one batch counts once too
        hour = s.started_at[:13]
        h = hourly[(kiosk_id, hour, s.flow, s.language)]
        d, fleet = daily[(hour[:10], site, s.flow, s.language)], daily[(hour[:10], FLEET, s.flow, s.language)]
        for name, value in increments(s).items():
            h[name] += value
            d[name] += value
            fleet[name] += value
        d[f"h{hour[11:13]}"] += 1
        fleet[f"h{hour[11:13]}"] += 1
    if hourly:
        _upsert(conn, insight_hourly, [dict(zip(HOURLY_KEY, k), site_id=site, **v) for k, v in sorted(hourly.items())],
                HOURLY_KEY)
        _upsert(conn, insight_daily, [dict(zip(DAILY_KEY, k), **v) for k, v in sorted(daily.items())], DAILY_KEY)
    return sum(v["sessions"] for v in hourly.values())


def record_sessions(conn: Connection, kiosk_id: str, stored: list[dict]) -> int:
    """The session summaries among a batch's newly stored transaction rows, into insight."""
    summaries = []
    for row in stored:
        if row["kind"] == "event" and '"event":"session"' in row["payload"]:
            body = json.loads(row["payload"])["body"]
            if body.get("event") == SESSION_EVENT:
                summaries.append(SessionSummary.from_details(body["details"]))
    return add_sessions(conn, kiosk_id, summaries)


def rebuild(conn: Connection, batch: int = 5000) -> int:
    """Adds the session records held as transactions but not in insight yet (e.g. synced to this server before
    it had insight); returns how many sessions were added."""
    added, after = 0, 0
    while True:
        rows = conn.execute(sa.select(transactions.c.id, transactions.c.kiosk_id, transactions.c.kind,
                                      transactions.c.payload)
                            .where(transactions.c.kind == "event", transactions.c.id > after,
                                   transactions.c.payload.contains('"event":"session"'))
                            .order_by(transactions.c.id).limit(batch)).all()
        if not rows:
            return added
        after = rows[-1].id
        by_kiosk: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            by_kiosk[row.kiosk_id].append(dict(kind=row.kind, payload=row.payload))
        for kiosk_id, stored in sorted(by_kiosk.items()):
            added += record_sessions(conn, kiosk_id, stored)


def purge(conn: Connection, days: int, today: datetime | None = None) -> int:
    """Deletes raw session rows that started more than `days` days ago (the rollups keep their numbers)."""
    cutoff = ((today or datetime.now(timezone.utc)) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return conn.execute(sa.delete(insight_sessions).where(insight_sessions.c.started_at < cutoff)).rowcount
