"""The live channel's tables (server/db.py, migration 0003): every write is one transaction that also lists the
changes it made (`notes`), which the hub announces at commit (NOTIFY on PostgreSQL, in memory on SQLite)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kiosk.wire import CommandResult, LiveState
from server import insight_devices
from server.db import kiosks, live_commands, live_interventions, live_lanes
from server.live.model import (SESSION_KINDS, AlreadyTaken, CommandRecord, Intervention, Lane, UnknownIntervention,
                               UnknownKiosk, conditions, status_of)

Note = tuple[str, str, object]  # ("lane" | "intervention" | "command", kiosk_id, intervention or command id)


def stamp(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _t(text: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL: shown as U+FFFD (the same on SQLite, so both engines agree)."""
    return text.replace("\x00", "\ufffd") if text else text


def ago(now: str, seconds: float) -> str:
    return stamp(datetime.fromisoformat(now.replace("Z", "+00:00")) - timedelta(seconds=seconds))


def insert_ignore(conn: Connection, table: sa.Table, values: dict, returning=None):
    """INSERT … ON CONFLICT DO NOTHING [RETURNING `returning`]: no row back when nothing went in."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table).values(**values).on_conflict_do_nothing()
    return conn.execute(statement if returning is None else statement.returning(returning))


def _lane_row(conn: Connection, kiosk_id: str):
    query = sa.select(live_lanes).where(live_lanes.c.kiosk_id == kiosk_id).with_for_update()
    row = conn.execute(query).first()
    if row is None:
        insert_ignore(conn, live_lanes, {"kiosk_id": kiosk_id})
        row = conn.execute(query).first()
    return row


def _state(text: str | None) -> LiveState | None:
    return LiveState.model_validate_json(text) if text else None


def _raise(conn: Connection, kiosk_id: str, kind: str, session_id: str | None, detail: str, now: str,
           notes: list[Note]) -> int | None:
    ident = insert_ignore(conn, live_interventions, {"kiosk_id": kiosk_id, "kind": kind, "open_kind": kind,
                                                     "session_id": _t(session_id), "detail": _t(detail), "raised_at": now},
                          returning=live_interventions.c.id).scalar()
    if ident is None:
        return None
    ident = int(ident)
    notes.append(("intervention", kiosk_id, ident))
    return ident


def _close_open(conn: Connection, kiosk_id: str, kind: str, by: str, now: str, notes: list[Note]) -> None:
    where = (live_interventions.c.kiosk_id == kiosk_id, live_interventions.c.open_kind == kind)
    ident = conn.execute(sa.select(live_interventions.c.id).where(*where)).scalar()
    if ident is not None:
        conn.execute(sa.update(live_interventions).where(live_interventions.c.id == ident)
                     .values(open_kind=None, resolved_by=_t(by), resolved_at=now))
        notes.append(("intervention", kiosk_id, ident))


_SET_LANE = (sa.update(live_lanes).where(live_lanes.c.kiosk_id == sa.bindparam("k"))
             .values(boot_id=sa.bindparam("b_boot"), seq=sa.bindparam("b_seq"), state=sa.bindparam("b_state"),
                     state_at=sa.bindparam("b_now"), last_seen_at=sa.bindparam("b_now"),
                     status=sa.bindparam("b_status"), status_since=sa.bindparam("b_since")))


def post_states(conn: Connection, items: list[tuple[str, LiveState]], now: str, outbox_alert: int,
                cache: dict | None, notes: list[Note]) -> list[bool]:
    """Stores each state (in order) unless an equal or newer one of the same boot is held; raises and resolves
    interventions on the conditions that turned on or off. One transaction for many kiosks' states: the lanes
    are read in one query and written in one executemany. Per item: False when ignored. `cache` (kiosk ->
    (boot_id, seq, LiveState) as last written by this caller) spares parsing a held state that is still the
    row's; another process's newer write does not match and is parsed."""
    kiosk_ids = list(dict.fromkeys(kiosk_id for kiosk_id, _ in items))
    query = sa.select(live_lanes).where(live_lanes.c.kiosk_id.in_(kiosk_ids)).with_for_update()
    rows = {row.kiosk_id: row for row in conn.execute(query)}
    if len(rows) < len(kiosk_ids):
        for kiosk_id in kiosk_ids:
            if kiosk_id not in rows:
                rows[kiosk_id] = _lane_row(conn, kiosk_id)
    cache = {} if cache is None else cache
    held = {k: {"boot_id": r.boot_id, "seq": r.seq, "state": _held_state(cache, k, r), "status": r.status,
                "status_since": r.status_since, "connected": r.stream_id is not None} for k, r in rows.items()}
    applied = []
    for kiosk_id, state in items:
        lane = held[kiosk_id]
        boot_id = _t(state.boot_id)
        if lane["boot_id"] == boot_id and lane["state"] is not None and state.seq <= lane["seq"]:
            applied.append(False)
            continue
        _interventions(conn, kiosk_id, lane["state"], state, now, outbox_alert, notes)
        insight_devices.track(conn, kiosk_id, lane["state"], state, now)  # device uptime for insight
        status = status_of(state, lane["connected"])
        since = now if status != lane["status"] or lane["status_since"] is None else lane["status_since"]
        lane.update(boot_id=boot_id, seq=state.seq, state=state, status=status, status_since=since, dirty=True)
        applied.append(True)
    changed = [{"k": k, "b_boot": lane["boot_id"], "b_seq": lane["seq"], "b_state": lane["state"].model_dump_json(),
                "b_now": now, "b_status": lane["status"], "b_since": lane["status_since"]}
               for k, lane in held.items() if lane.get("dirty")]
    if changed:
        conn.execute(_SET_LANE, changed)
        notes.extend(("lane", change["k"], None) for change in changed)
        for change in changed:
            lane = held[change["k"]]
            cache[change["k"]] = (lane["boot_id"], lane["seq"], lane["state"])
    return applied


def _held_state(cache: dict, kiosk_id: str, row) -> LiveState | None:
    known = cache.get(kiosk_id)
    if known is not None and row.state is not None and (known[0], known[1]) == (row.boot_id, row.seq):
        return known[2]
    return _state(row.state)


def _interventions(conn: Connection, kiosk_id: str, old: LiveState | None, new: LiveState, now: str,
                   outbox_alert: int, notes: list[Note]) -> None:
    before, after = conditions(old, outbox_alert), conditions(new, outbox_alert)
    for kind, detail in after.items():
        if kind not in before:
            _raise(conn, kiosk_id, kind, new.session_id, detail, now, notes)
        elif detail != before[kind] and kind == "device_fault":
            conn.execute(sa.update(live_interventions).where(live_interventions.c.kiosk_id == kiosk_id,
                                                             live_interventions.c.open_kind == kind)
                         .values(detail=_t(detail)))
    for kind in before.keys() - after.keys():
        _close_open(conn, kiosk_id, kind, "kiosk", now, notes)


def stream_opened(conn: Connection, kiosk_id: str, stream_id: str, now: str, notes: list[Note]) -> None:
    row = _lane_row(conn, kiosk_id)
    status = status_of(_state(row.state), True)
    conn.execute(sa.update(live_lanes).where(live_lanes.c.kiosk_id == kiosk_id).values(
        stream_id=stream_id, stream_alive_at=now, last_seen_at=now, status=status,
        status_since=now if status != row.status or row.status_since is None else row.status_since))
    _close_open(conn, kiosk_id, "offline", "kiosk", now, notes)
    notes.append(("lane", kiosk_id, None))


def stream_closed(conn: Connection, kiosk_id: str, stream_id: str, now: str, notes: list[Note]) -> None:
    """Offline now, unless a newer stream of the kiosk took over meanwhile."""
    changed = conn.execute(sa.update(live_lanes).where(live_lanes.c.kiosk_id == kiosk_id,
                                                        live_lanes.c.stream_id == stream_id)
                           .values(stream_id=None, last_seen_at=now, status="offline", status_since=now)).rowcount
    if changed:
        notes.append(("lane", kiosk_id, None))


def streams_alive(conn: Connection, stream_ids: list[str], now: str) -> None:
    """The lease of this process's open streams; a crashed process's lapse (see `sweep`)."""
    for start in range(0, len(stream_ids), 500):
        conn.execute(sa.update(live_lanes).where(live_lanes.c.stream_id.in_(stream_ids[start:start + 500]))
                     .values(stream_alive_at=now, last_seen_at=now))


def sweep(conn: Connection, now: str, lease_s: float, offline_after_s: float, notes: list[Note]) -> None:
    """Lapsed streams go offline; a lane offline for longer than `offline_after_s` raises one offline
    intervention per outage; pending commands past their expiry are expired."""
    lapsed = conn.execute(sa.select(live_lanes.c.kiosk_id).where(live_lanes.c.stream_id.is_not(None),
                                                                 live_lanes.c.stream_alive_at < ago(now, lease_s))
                          ).scalars().all()
    for kiosk_id in lapsed:
        conn.execute(sa.update(live_lanes).where(live_lanes.c.kiosk_id == kiosk_id)
                     .values(stream_id=None, status="offline", status_since=now))
        notes.append(("lane", kiosk_id, None))
    raised = sa.select(live_interventions.c.id).where(live_interventions.c.kiosk_id == live_lanes.c.kiosk_id,
                                                      live_interventions.c.kind == "offline",
                                                      live_interventions.c.raised_at >= live_lanes.c.last_seen_at)
    gone = conn.execute(sa.select(live_lanes.c.kiosk_id, live_lanes.c.last_seen_at).where(
        live_lanes.c.stream_id.is_(None), live_lanes.c.last_seen_at < ago(now, offline_after_s),
        ~sa.exists(raised), live_lanes.c.kiosk_id.not_in(sa.select(kiosks.c.id).where(kiosks.c.disabled)))).all()
    for row in gone:
        _raise(conn, row.kiosk_id, "offline", None, f"no live connection since {row.last_seen_at}", now, notes)
    expired = conn.execute(sa.select(live_commands.c.id, live_commands.c.kiosk_id).where(
        live_commands.c.outcome == "pending", live_commands.c.expires_at < now)).all()
    for row in expired:
        _answer(conn, row.id, "expired", "the kiosk did not answer before the command expired", now, notes)


def _intervention(row) -> Intervention:
    return Intervention(id=int(row.id), kiosk_id=row.kiosk_id, kind=row.kind, session_id=row.session_id,
                        detail=row.detail, raised_at=row.raised_at, acknowledged_by=row.acknowledged_by,
                        acknowledged_at=row.acknowledged_at, resolved_by=row.resolved_by,
                        resolved_at=row.resolved_at)


def _get_intervention(conn: Connection, ident: int):
    row = conn.execute(sa.select(live_interventions).where(live_interventions.c.id == ident)
                       .with_for_update()).first()
    if row is None:
        raise UnknownIntervention(f"no intervention {ident}")
    return row


def acknowledge(conn: Connection, ident: int, by: str, now: str, notes: list[Note]) -> Intervention:
    row = _get_intervention(conn, ident)
    if row.resolved_at is not None:
        raise AlreadyTaken(row.resolved_by, "resolved")
    if row.acknowledged_at is not None:
        raise AlreadyTaken(row.acknowledged_by, "acknowledged")
    conn.execute(sa.update(live_interventions).where(live_interventions.c.id == ident)
                 .values(acknowledged_by=_t(by), acknowledged_at=now))
    notes.append(("intervention", row.kiosk_id, int(ident)))
    return _intervention(_get_intervention(conn, ident))


def resolve(conn: Connection, ident: int, by: str, now: str, notes: list[Note]) -> Intervention:
    row = _get_intervention(conn, ident)
    if row.resolved_at is not None:
        raise AlreadyTaken(row.resolved_by, "resolved")
    conn.execute(sa.update(live_interventions).where(live_interventions.c.id == ident)
                 .values(open_kind=None, resolved_by=_t(by), resolved_at=now))
    notes.append(("intervention", row.kiosk_id, int(ident)))
    return _intervention(_get_intervention(conn, ident))


def _record(row) -> CommandRecord:
    return CommandRecord(id=row.id, kiosk_id=row.kiosk_id, kind=row.kind, session_id=row.session_id, by=row.by,
                         issued_at=row.issued_at, expires_at=row.expires_at, outcome=row.outcome,
                         detail=row.detail, answered_at=row.answered_at)


def issue(conn: Connection, ident: str, kiosk_id: str, kind: str, by: str, session_id: str | None, reason: str,
          now: str, expires_at: str, notes: list[Note], intervention_id: int | None = None) -> CommandRecord:
    """Records the command; pending (to be sent) unless refused here: an age decision for a session that is
    not the lane's current one, or whose age check another attendant decided already (AlreadyTaken)."""
    if conn.execute(sa.select(kiosks.c.id).where(kiosks.c.id == kiosk_id)).first() is None:
        raise UnknownKiosk(f"no kiosk {kiosk_id}")
    outcome, detail, answered_at = "pending", "", None
    if kind in SESSION_KINDS:
        lane = _lane_row(conn, kiosk_id)
        current = (_state(lane.state).session_id if lane.state else None)
        if session_id is None or session_id != current:
            outcome, detail, answered_at = ("refused", f"session {session_id} is not the lane's current session "
                                            f"({current or 'none'})", now)
        else:
            open_row = conn.execute(sa.select(live_interventions).where(
                live_interventions.c.kiosk_id == kiosk_id, live_interventions.c.open_kind == "age_check")
                .with_for_update()).first()
            if open_row is not None:
                intervention_id = int(open_row.id)
                conn.execute(sa.update(live_interventions).where(live_interventions.c.id == open_row.id)
                             .values(open_kind=None, resolved_by=_t(by), resolved_at=now,
                                     acknowledged_by=open_row.acknowledged_by or _t(by),
                                     acknowledged_at=open_row.acknowledged_at or now))
                notes.append(("intervention", kiosk_id, intervention_id))
            else:
                taken = conn.execute(sa.select(live_commands.c.by).where(
                    live_commands.c.kiosk_id == kiosk_id, live_commands.c.session_id == _t(session_id),
                    live_commands.c.kind.in_(SESSION_KINDS), live_commands.c.outcome.in_(("pending", "done")))
                    .order_by(live_commands.c.issued_at)).scalar()
                if taken is not None:
                    raise AlreadyTaken(taken, "decided")
    conn.execute(sa.insert(live_commands).values(
        id=ident, kiosk_id=kiosk_id, kind=kind, session_id=_t(session_id), by=_t(by), reason=_t(reason), issued_at=now,
        expires_at=expires_at, outcome=outcome, detail=detail, answered_at=answered_at,
        intervention_id=intervention_id))
    notes.append(("command", kiosk_id, ident))
    return command(conn, ident)


def command(conn: Connection, ident: str) -> CommandRecord | None:
    row = conn.execute(sa.select(live_commands).where(live_commands.c.id == ident)).first()
    return None if row is None else _record(row)


def command_row(conn: Connection, ident: str):
    return conn.execute(sa.select(live_commands).where(live_commands.c.id == ident)).first()


def pending(conn: Connection, kiosk_id: str, now: str) -> list:
    return conn.execute(sa.select(live_commands).where(
        live_commands.c.kiosk_id == kiosk_id, live_commands.c.outcome == "pending",
        live_commands.c.expires_at > now).order_by(live_commands.c.issued_at)).all()


class NotYours(LookupError):
    pass


class Answered(Exception):
    pass


def answer(conn: Connection, kiosk_id: str, ident: str, result: CommandResult, now: str,
           notes: list[Note]) -> CommandRecord:
    row = conn.execute(sa.select(live_commands).where(live_commands.c.id == ident).with_for_update()).first()
    if row is None or row.kiosk_id != kiosk_id:
        raise NotYours(f"no command {ident} for kiosk {kiosk_id}")
    if row.outcome != "pending":
        raise Answered(f"command {ident} was already answered: {row.outcome}")
    _answer(conn, ident, result.outcome, result.detail, now, notes)
    return command(conn, ident)


def _answer(conn: Connection, ident: str, outcome: str, detail: str, now: str, notes: list[Note]) -> None:
    row = command_row(conn, ident)
    conn.execute(sa.update(live_commands).where(live_commands.c.id == ident)
                 .values(outcome=outcome, detail=_t(detail), answered_at=now))
    notes.append(("command", row.kiosk_id, ident))
    if row.kind in SESSION_KINDS and outcome != "done":
        state = _state(conn.execute(sa.select(live_lanes.c.state).where(live_lanes.c.kiosk_id == row.kiosk_id))
                       .scalar())
        if state is not None and state.age_check_pending and state.session_id == row.session_id:
            _raise(conn, row.kiosk_id, "age_check", row.session_id,
                   f"{row.kind} by {row.by} was not applied ({outcome})", now, notes)


def lanes(conn: Connection, kiosk_ids=None) -> list[Lane]:
    """Every kiosk's lane; a disabled kiosk's shows offline (its streams were ended) and says it is disabled."""
    query = (sa.select(kiosks.c.id, kiosks.c.name, kiosks.c.disabled, kiosks.c.last_seen_at.label("synced_at"),
                       live_lanes)
             .select_from(kiosks.outerjoin(live_lanes, live_lanes.c.kiosk_id == kiosks.c.id)).order_by(kiosks.c.id))
    if kiosk_ids is not None:
        query = query.where(kiosks.c.id.in_(list(kiosk_ids)))
    return [Lane(kiosk_id=row.id, name=row.name, state=_state(row.state),
                 connected=row.stream_id is not None and not row.disabled,
                 last_seen_at=row.last_seen_at or row.synced_at,
                 status="offline" if row.disabled else row.status or "offline", status_since=row.status_since,
                 disabled=bool(row.disabled)) for row in conn.execute(query)]


def interventions(conn: Connection, kiosk_ids=None, include_resolved: bool = False, ident: int | None = None):
    query = sa.select(live_interventions).order_by(live_interventions.c.id)
    if kiosk_ids is not None:
        query = query.where(live_interventions.c.kiosk_id.in_(list(kiosk_ids)))
    if not include_resolved:
        query = query.where(live_interventions.c.resolved_at.is_(None))
    if ident is not None:
        query = query.where(live_interventions.c.id == ident)
    return [_intervention(row) for row in conn.execute(query)]


def live_command_json(row) -> str:
    return json.dumps({"id": row.id, "kind": row.kind, "session_id": row.session_id, "issued_at": row.issued_at,
                       "expires_at": row.expires_at, "by": row.by, "reason": row.reason}, ensure_ascii=False)
