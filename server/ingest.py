"""Transaction batches: idempotent by UNIQUE (kiosk_id, seq) and UNIQUE (uuid) in the database.

A batch is applied in one database transaction that first locks the kiosk's row, so batches of one
kiosk never interleave. Each record is new (stored), a duplicate of what is held (skipped), invalid
(stored in dead_letters with the reason, and counted as held so the kiosk's queue never stalls) or a
conflict: a held seq or uuid with a different payload. A conflict stops the batch: what came before
it is kept, an alarm row is written and the reply (409) tells the kiosk how far it may acknowledge.
"""
from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from kiosk.wire import BatchReply, Conflict, ConflictReply, OutboxEntry, SessionSummary, TransactionRecord
from server import bulk, insight
from server.checks import mask_card_numbers, record_problem, seq_problem
from server.db import alarms, bookings, counters, dead_letters, kiosks, now, transactions, writing

log = logging.getLogger("kiosk-server.ingest")


def canonical(record: dict) -> str:
    # ASCII: \u escapes keep NUL and unpaired surrogates storable in any database
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def ingest(engine: Engine, kiosk_id: str, entries: list[OutboxEntry]) -> BatchReply | ConflictReply:
    entries = sorted(entries, key=lambda e: e.seq)
    if engine.dialect.name == "sqlite":
        return _group_commit(engine).submit(kiosk_id, entries)
    try:
        with writing(engine) as conn:
            return _ingest(conn, kiosk_id, entries, fast=True)
    except IntegrityError:
        pass  # a uuid held by another kiosk (or stored concurrently): look at everything, classify as conflict
    with writing(engine) as conn:
        return _ingest(conn, kiosk_id, entries, fast=False)


class GroupCommit:
    """SQLite has one writer and a commit costs an fsync: batches that arrive together are applied by one
    thread in one transaction, each in its own savepoint, and share the fsync. Replies go out after the
    commit, so nothing is acknowledged that is not on disk."""

    MAX_GROUP = 64

    def __init__(self, engine: Engine):
        self.engine = engine
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, name="group-commit", daemon=True).start()

    def submit(self, kiosk_id: str, entries: list[OutboxEntry]) -> BatchReply | ConflictReply:
        done: Future = Future()
        self.jobs.put((kiosk_id, entries, done))
        return done.result()

    def _run(self) -> None:
        while True:
            group = [self.jobs.get()]
            while len(group) < self.MAX_GROUP:
                try:
                    group.append(self.jobs.get_nowait())
                except queue.Empty:
                    break
            try:
                with writing(self.engine) as conn:
                    outcomes = [self._one(conn, kiosk_id, entries) for kiosk_id, entries, _ in group]
            except Exception as exc:  # the commit failed: nothing of the group is held, every caller hears so
                for *_, done in group:
                    done.set_exception(exc)
                continue
            for (*_, done), outcome in zip(group, outcomes):
                if isinstance(outcome, Exception):
                    done.set_exception(outcome)
                else:
                    done.set_result(outcome)

    @staticmethod
    def _one(conn: Connection, kiosk_id: str, entries: list[OutboxEntry]):
        for fast in (True, False):
            savepoint = conn.begin_nested()
            try:
                reply = _ingest(conn, kiosk_id, entries, fast)
            except IntegrityError as exc:
                savepoint.rollback()
                if not fast:
                    return exc
                continue  # a uuid held by another kiosk: look at everything, classify as conflict
            except Exception as exc:
                savepoint.rollback()
                return exc
            savepoint.commit()
            return reply


_groups_lock = threading.Lock()


def _group_commit(engine: Engine) -> GroupCommit:
    with _groups_lock:
        if getattr(engine, "info_group_commit", None) is None:
            engine.info_group_commit = GroupCommit(engine)
        return engine.info_group_commit


@dataclass
class _Plan:
    new: list[dict] = field(default_factory=list)
    dead: list[dict] = field(default_factory=list)
    duplicates: int = 0
    conflict: Conflict | None = None
    conflict_details: dict = field(default_factory=dict)
    alarms: list[dict] = field(default_factory=list)  # kept records that a person must look at
    sessions: list[SessionSummary] = field(default_factory=list)  # of the new records, for insight
    far: set[int] = field(default_factory=set)  # dead-lettered seqs far above the window: they move no counter


def _ingest(conn: Connection, kiosk_id: str, entries: list[OutboxEntry], fast: bool) -> BatchReply | ConflictReply:
    stamp = now()
    # The first statement writes: it takes the kiosk's row lock (PostgreSQL) or the write lock (SQLite).
    conn.execute(sa.update(kiosks).where(kiosks.c.id == kiosk_id).values(last_seen_at=stamp))
    held, max_seq, site = conn.execute(
        sa.select(kiosks.c.held_through, kiosks.c.max_seq, kiosks.c.site_id).where(kiosks.c.id == kiosk_id)).one()

    fresh = fast and len({e.seq for e in entries}) == len(entries) and entries[0].seq > max_seq
    plan = _classify(conn, kiosk_id, entries, stamp, fresh, held)
    flagged = _check_in(conn, kiosk_id, plan.new, stamp)
    if plan.new:
        if conn.dialect.name == "postgresql":
            bulk.insert(conn, transactions, plan.new)
        else:
            conn.execute(sa.insert(transactions), plan.new)
    if plan.dead:
        _bound_dead_letters(conn, kiosk_id, plan.dead, stamp)
        conn.execute(sa.insert(dead_letters), plan.dead)
    for details in plan.alarms:
        raise_alarm(conn, kiosk_id, details.pop("kind"), details, stamp)
    stored = [row["seq"] for row in plan.new + plan.dead if row["seq"] not in plan.far]
    if stored:
        max_seq = max(max_seq, *stored)
        held = _advance(conn, kiosk_id, held, max_seq, stored)
        conn.execute(sa.update(kiosks).where(kiosks.c.id == kiosk_id).values(held_through=held, max_seq=max_seq))
    # last: the fleet-wide rollup rows are shared by every kiosk, so their row locks are held only until the commit
    insight.add_sessions(conn, kiosk_id, plan.sessions, site or "")

    if plan.conflict is not None:
        c = plan.conflict
        raise_alarm(conn, kiosk_id, "conflict", c.model_dump() | plan.conflict_details, stamp)
        return ConflictReply(detail=f"record seq {c.seq} conflicts with a record already held: {c.reason}",
                             held_through=min(held, c.seq - 1), conflicts=[c])
    return BatchReply(held_through=held, accepted=len(plan.new), duplicates=plan.duplicates,
                      dead_lettered=len(plan.dead), flagged=flagged)


DEAD_LETTERS_PER_HOUR = 100  # per kiosk kept in full; beyond: seq, uuid, reason and the payload's hash
ALARMS_PER_HOUR = 20  # per kiosk; beyond: one "alarms_suppressed" row of the hour counts the rest
HASHED = "sha256:"


def _hour_before(stamp: str) -> str:
    return (datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ") - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dead_digest(payload: str) -> str:
    return payload[len(HASHED):] if payload.startswith(HASHED) else digest(payload)


def _bound_dead_letters(conn: Connection, kiosk_id: str, rows: list[dict], stamp: str) -> None:
    """One faulty or hostile kiosk must not fill the database: past the hourly allowance a dead letter keeps
    only its hash (enough to tell a resend from a conflict) and a short reason."""
    kept = conn.execute(sa.select(sa.func.count()).select_from(dead_letters).where(
        dead_letters.c.kiosk_id == kiosk_id, dead_letters.c.received_at >= _hour_before(stamp),
        sa.not_(dead_letters.c.payload.startswith(HASHED)))).scalar()
    for row in rows:
        if kept >= DEAD_LETTERS_PER_HOUR:
            row["payload"] = HASHED + digest(row["payload"])
            row["reason"] = row["reason"][:200]
        kept += 1


def raise_alarm(conn: Connection, kiosk_id: str, kind: str, details: dict, stamp: str) -> None:
    """An alarm row, at most ALARMS_PER_HOUR per kiosk and hour; the rest are counted in one row."""
    since = _hour_before(stamp)
    log.warning("ALARM kiosk %s %s: %s", kiosk_id, kind, details)
    count = conn.execute(sa.select(sa.func.count()).select_from(alarms).where(
        alarms.c.kiosk_id == kiosk_id, alarms.c.created_at >= since, alarms.c.kind != "alarms_suppressed")).scalar()
    if count < ALARMS_PER_HOUR:
        conn.execute(sa.insert(alarms).values(kiosk_id=kiosk_id, kind=kind, created_at=stamp,
                                              details=json.dumps(details)))
        return
    row = conn.execute(sa.select(alarms.c.id, alarms.c.details).where(
        alarms.c.kiosk_id == kiosk_id, alarms.c.created_at >= since, alarms.c.kind == "alarms_suppressed")
        .order_by(alarms.c.id.desc()).limit(1)).first()
    if row is None:
        conn.execute(sa.insert(alarms).values(kiosk_id=kiosk_id, kind="alarms_suppressed", created_at=stamp,
                                              details=json.dumps({"suppressed": 1, "last": kind})))
    else:
        suppressed = json.loads(row.details).get("suppressed", 0) + 1
        conn.execute(sa.update(alarms).where(alarms.c.id == row.id)
                     .values(details=json.dumps({"suppressed": suppressed, "last": kind})))


def _classify(conn: Connection, kiosk_id: str, entries: list[OutboxEntry], stamp: str,
              fresh: bool, held_through: int = 0) -> _Plan:
    """`fresh`: every seq is above what the kiosk ever sent, so only a uuid held elsewhere could clash,
    and the UNIQUE constraint catches that (the caller then retries with fresh=False)."""
    seqs = [e.seq for e in entries]
    by_seq, dead_by_seq, by_uuid = {}, {}, {}
    if not fresh:
        by_seq = {r.seq: (r.uuid, r.payload_hash) for r in conn.execute(
            sa.select(transactions.c.seq, transactions.c.uuid, transactions.c.payload_hash)
            .where(transactions.c.kiosk_id == kiosk_id, transactions.c.seq.in_(seqs)))}
        dead_by_seq = {r.seq: (r.uuid, _dead_digest(r.payload)) for r in conn.execute(
            sa.select(dead_letters.c.seq, dead_letters.c.uuid, dead_letters.c.payload)
            .where(dead_letters.c.kiosk_id == kiosk_id, dead_letters.c.seq.in_(seqs)))}
        by_uuid = {r.uuid: (r.kiosk_id, r.seq) for r in conn.execute(
            sa.select(transactions.c.uuid, transactions.c.kiosk_id, transactions.c.seq)
            .where(transactions.c.uuid.in_([e.uuid for e in entries])))}

    tokens = [e.record.body.receipt_token for e in entries
              if isinstance(e.record, TransactionRecord) and e.record.body.kind == "sale"
              and e.record.body.receipt_token.isprintable()]  # PostgreSQL cannot even compare a NUL: refused below
    by_token = {r.receipt_token: (r.kiosk_id, r.seq) for r in conn.execute(
        sa.select(transactions.c.receipt_token, transactions.c.kiosk_id, transactions.c.seq)
        .where(transactions.c.receipt_token.in_(tokens)))} if tokens else {}

    plan = _Plan()
    for entry in entries:
        valid = isinstance(entry.record, TransactionRecord)
        # pydantic's JSON of a valid record is canonical: field order from the model, defaults filled in
        text = entry.record.model_dump_json() if valid else canonical(entry.record)
        hashed = digest(text)
        held = by_seq.get(entry.seq) or dead_by_seq.get(entry.seq)
        if held is not None:
            if held == (entry.uuid, hashed) or (entry.seq not in by_seq and held[0] == entry.uuid
                                                and held[1] == digest(mask_card_numbers(text))):
                plan.duplicates += 1
                continue
            reason = ("a different payload under the same uuid" if held[0] == entry.uuid
                      else f"this seq is held with uuid {held[0]}")
            plan.conflict = Conflict(seq=entry.seq, uuid=entry.uuid, reason=reason)
            break
        if entry.uuid in by_uuid:
            other_kiosk, other_seq = by_uuid[entry.uuid]
            # the other kiosk's identity goes to the alarm, never to the reply
            reason = (f"this uuid is held as seq {other_seq}" if other_kiosk == kiosk_id
                      else "this uuid is held by another kiosk")
            plan.conflict = Conflict(seq=entry.seq, uuid=entry.uuid, reason=reason)
            plan.conflict_details = {"held_by": other_kiosk, "held_seq": other_seq}
            break
        far = seq_problem(entry.seq, held_through)
        problem, record, session = (far, None, None) if far else _validate(kiosk_id, entry, text if valid else None)
        token = record.body.receipt_token if record is not None and record.body.kind == "sale" else None
        if not problem and token is not None and token in by_token:
            problem = "body.receipt_token: already held for another sale (receipt tokens are unique)"
            plan.alarms.append(dict(kind="receipt_token_clash", seq=entry.seq, uuid=entry.uuid,
                                    held_by=by_token[token][0], held_seq=by_token[token][1]))
        if problem:
            if far:
                plan.far.add(entry.seq)
            kept = mask_card_numbers(text)  # a full card number is never stored, not even in a dead letter
            plan.dead.append(dict(kiosk_id=kiosk_id, seq=entry.seq, uuid=entry.uuid, reason=problem,
                                  payload=kept, received_at=stamp))
            dead_by_seq[entry.seq] = (entry.uuid, digest(kept))
            continue
        body = record.body
        plan.new.append(dict(
            kiosk_id=kiosk_id, seq=entry.seq, uuid=entry.uuid, kind=body.kind, payload=text, payload_hash=hashed,
            received_at=stamp, flag=None,
            receipt_token=body.receipt_token if body.kind == "sale" else None,
            booking_code=body.booking_code if body.kind == "checkin" else None))
        if session is not None:
            plan.sessions.append(session)
        by_seq[entry.seq] = (entry.uuid, hashed)
        by_uuid[entry.uuid] = (kiosk_id, entry.seq)
        if token is not None:
            by_token[token] = (kiosk_id, entry.seq)
    return plan


def _validate(kiosk_id: str, entry: OutboxEntry,
              text: str | None = None) -> tuple[str, TransactionRecord | None, SessionSummary | None]:
    """(the problem or "", the record if well-shaped, its session summary if it carries a valid one).
    `text`: the record's JSON if already made."""
    try:
        record = entry.record if isinstance(entry.record, TransactionRecord) \
            else TransactionRecord.model_validate(entry.record)  # fails: for the reason
    except ValidationError as exc:
        return printable("; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}"
                                   for e in exc.errors()[:10])), None, None
    for name, expected in (("kiosk_id", kiosk_id), ("seq", entry.seq), ("uuid", entry.uuid)):
        if getattr(record, name) != expected:
            return (printable(f"record {name} {getattr(record, name)!r} differs from the batch's {expected!r}"),
                    None, None)
    for name in ("receipt_token", "booking_code"):
        value = getattr(record.body, name, None)
        if value is not None and (len(value) > 128 or not value.isprintable()):
            return f"body.{name}: expected at most 128 printable characters", None, None
    problem = record_problem(record, text)
    if problem:
        return printable(problem), record, None
    problem, session = insight.session_of(record)
    return printable(problem), record, session


def printable(text: str, limit: int = 2000) -> str:
    """Reasons quote what the kiosk sent: escape control characters (NUL cannot be stored) and cap the length."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text[:limit])


def _check_in(conn: Connection, kiosk_id: str, rows: list[dict], stamp: str) -> list[Conflict]:
    """The first check-in of a booking marks it used (and tells the other kiosks via the bookings delta);
    any later one is kept and flagged."""
    flagged: list[Conflict] = []
    checkins = [row for row in rows if row["kind"] == "checkin"]
    if not checkins:
        return flagged
    change_no = bump(conn, "bookings")
    for row in checkins:
        code = row["booking_code"]
        marked = conn.execute(
            sa.update(bookings).where(bookings.c.code == code, bookings.c.used_by.is_(None),
                                      sa.not_(bookings.c.deleted))
            .values(used_by=kiosk_id, used_at=stamp, change_no=change_no)).rowcount
        if marked:
            continue
        first = conn.execute(sa.select(bookings.c.used_by, bookings.c.used_at, bookings.c.deleted)
                             .where(bookings.c.code == code)).first()
        if first is None or first.deleted:
            row["flag"] = f"unknown booking {code}"
        else:
            row["flag"] = f"booking {code} was already checked in at kiosk {first.used_by} ({first.used_at})"
        flagged.append(Conflict(seq=row["seq"], uuid=row["uuid"], reason=row["flag"]))
    return flagged


def bump(conn: Connection, name: str) -> int:
    """The next change number of a data set; the row lock it takes orders concurrent writers."""
    value = conn.execute(sa.update(counters).where(counters.c.name == name)
                         .values(value=counters.c.value + 1).returning(counters.c.value)).scalar()
    if value is None:
        conn.execute(sa.insert(counters).values(name=name, value=1))
        value = 1
    return value


def _advance(conn: Connection, kiosk_id: str, held: int, max_seq: int, stored: list[int]) -> int:
    """The new highest contiguous seq. Usually the batch simply continues the run; otherwise walk the held seqs."""
    stored = sorted(stored)
    if stored[0] == held + 1 and stored[-1] - stored[0] + 1 == len(stored) and stored[-1] == max_seq:
        return stored[-1]
    above = sa.union(
        sa.select(transactions.c.seq).where(transactions.c.kiosk_id == kiosk_id, transactions.c.seq > held),
        sa.select(dead_letters.c.seq).where(dead_letters.c.kiosk_id == kiosk_id, dead_letters.c.seq > held),
    ).subquery()
    for (seq,) in conn.execute(sa.select(above.c.seq).order_by(above.c.seq)):
        if seq != held + 1:
            break
        held = seq
    return held
