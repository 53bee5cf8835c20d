"""Kiosks: enrolment, per-kiosk config, heartbeats, fleet status, held records and the public receipt view."""
from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kiosk.wire import (FleetStatus, HeldPage, HeldRecord, Heartbeat, KioskConfig, KioskStatus, Receipt,
                        ReceiptLine, ReceiptPayment, TransactionRecord)
from server.auth import new_token, token_hash
from server.checks import neutralise_bidi, token_problem
from server.db import admin_log, admin_tokens, alarms, dead_letters, kiosks, now, transactions

KIOSK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # the same rule as the kiosk's own config
RECEIPT_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")  # short tokens would be guessable: never looked up


class AdminError(Exception):
    """str() says what is wrong, for the CLI and HTTP replies."""


def audit(conn: Connection, actor: str, action: str, **details) -> None:
    """Every administrator action is logged (PCI DSS 10.2.1.2)."""
    conn.execute(sa.insert(admin_log).values(at=now(), actor=actor, action=action,
                                             details=json.dumps(details, sort_keys=True)))


def enroll(conn: Connection, kiosk_id: str, name: str = "", rotate: bool = False) -> str:
    """Creates the kiosk (or with `rotate`, replaces its token) and returns the new token, shown only this once."""
    if not KIOSK_ID.match(kiosk_id):
        raise AdminError(f"kiosk id {kiosk_id!r}: expected 1 to 64 letters, digits, '.', '_' or '-'")
    token = new_token()
    exists = conn.execute(sa.select(kiosks.c.id).where(kiosks.c.id == kiosk_id)).first() is not None
    if exists and not rotate:
        raise AdminError(f"kiosk {kiosk_id} is already enrolled; use --rotate to issue a new token")
    if exists:
        values = {"token_hash": token_hash(token)} | ({"name": name} if name else {})
        conn.execute(sa.update(kiosks).where(kiosks.c.id == kiosk_id).values(**values))
        from server.live.bus import announce_revoked  # streams opened with the old token end
        announce_revoked(conn, kiosk_id)
    else:
        conn.execute(sa.insert(kiosks).values(id=kiosk_id, name=name, token_hash=token_hash(token), enrolled_at=now()))
    return token


def new_admin_token(conn: Connection, name: str) -> str:
    """A named admin token (the name is stored in the `note` column): the name is unique among live tokens and
    shows as the actor in the audit log."""
    name = name.strip()
    if not name or len(name) > 200 or any(ord(c) < 32 for c in name):
        raise AdminError("an admin token needs a name: 1 to 200 printable characters")
    if conn.execute(sa.select(admin_tokens.c.note).where(admin_tokens.c.note == name)).first() is not None:
        raise AdminError(f"an admin token named {name!r} exists; revoke it first or choose another name")
    token = new_token()
    conn.execute(sa.insert(admin_tokens).values(token_hash=token_hash(token), note=name, created_at=now()))
    return token


def admin_token_names(conn: Connection) -> list[tuple[str, str]]:
    """(name, created_at) of every admin token, oldest first."""
    return [tuple(r) for r in conn.execute(sa.select(admin_tokens.c.note, admin_tokens.c.created_at)
                                           .order_by(admin_tokens.c.created_at))]


def revoke_admin_token(conn: Connection, name: str) -> None:
    if conn.execute(sa.delete(admin_tokens).where(admin_tokens.c.note == name)).rowcount == 0:
        raise AdminError(f"no admin token named {name!r}")


def admin_token_name(conn: Connection, token: str) -> str | None:
    """The name of this admin token, or None if it is none (\"\" for an unnamed token made before names)."""
    return conn.execute(sa.select(admin_tokens.c.note).where(admin_tokens.c.token_hash == token_hash(token))).scalar()


def is_admin(conn: Connection, token: str) -> bool:
    return admin_token_name(conn, token) is not None


def set_disabled(conn: Connection, kiosk_id: str, disabled: bool) -> None:
    if conn.execute(sa.update(kiosks).where(kiosks.c.id == kiosk_id).values(disabled=disabled)).rowcount == 0:
        raise AdminError(f"kiosk {kiosk_id} is not enrolled")
    if disabled:
        from server.live.bus import announce_revoked  # its live streams end on every server process
        announce_revoked(conn, kiosk_id)


def kiosk_by_token(conn: Connection, token: str) -> tuple[str, bool] | None:
    """(kiosk id, disabled) of the kiosk this token belongs to, or None."""
    row = conn.execute(sa.select(kiosks.c.id, kiosks.c.disabled).where(kiosks.c.token_hash == token_hash(token))).first()
    return None if row is None else (row.id, bool(row.disabled))


def kiosk_for_token(conn: Connection, token: str) -> str | None:
    return conn.execute(sa.select(kiosks.c.id).where(kiosks.c.token_hash == token_hash(token),
                                                     sa.not_(kiosks.c.disabled))).scalar()


def set_config(conn: Connection, kiosk_id: str, config: dict) -> int:
    version = conn.execute(sa.update(kiosks).where(kiosks.c.id == kiosk_id)
                           .values(config=json.dumps(config, sort_keys=True), config_version=kiosks.c.config_version + 1)
                           .returning(kiosks.c.config_version)).scalar()
    if version is None:
        raise AdminError(f"kiosk {kiosk_id} is not enrolled")
    return version


def get_config(conn: Connection, kiosk_id: str) -> KioskConfig:
    row = conn.execute(sa.select(kiosks.c.config, kiosks.c.config_version).where(kiosks.c.id == kiosk_id)).one()
    return KioskConfig(version=row.config_version, config=json.loads(row.config))


log = logging.getLogger("server.fleet")


def heartbeat(conn: Connection, kiosk_id: str, beat: Heartbeat) -> None:
    stamp = now()
    conn.execute(sa.update(kiosks).where(kiosks.c.id == kiosk_id).values(
        last_seen_at=stamp, last_heartbeat_at=stamp, app_version=beat.app_version,
        device_states=json.dumps(beat.device_states), queue_depth=beat.queue_depth,
        oldest_unsent_age_s=beat.oldest_unsent_age_s, clock_skew_s=clock_skew(beat.device_time)))
    if beat.out_of_service:  # an alarm, once per distinct reason (a beat a minute must not pile them up)
        details = json.dumps({"reason": beat.out_of_service})
        last = conn.execute(sa.select(alarms.c.details).where(alarms.c.kiosk_id == kiosk_id,
                                                              alarms.c.kind == "out_of_service")
                            .order_by(alarms.c.id.desc()).limit(1)).scalar()
        if last != details:
            conn.execute(sa.insert(alarms).values(kiosk_id=kiosk_id, kind="out_of_service", details=details,
                                                  created_at=stamp))
            log.warning("ALARM kiosk %s out of service: %s", kiosk_id, beat.out_of_service)


def clock_skew(device_time: str | None) -> float | None:
    """The kiosk's clock minus ours, in seconds (network delay included: it is for minutes, not milliseconds).
    A time that is not an ISO 8601 UTC stamp counts as unknown, not as an error: the beat is still taken."""
    if not device_time:
        return None
    try:
        then = datetime.fromisoformat(device_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    if then.tzinfo is None:
        return None
    skew = (then - datetime.now(timezone.utc)).total_seconds()
    return round(skew, 1) if abs(skew) < 10**10 else None


def held_records(conn: Connection, kiosk_id: str, after_seq: int, limit: int) -> HeldPage:
    rows = conn.execute(sa.select(transactions.c.seq, transactions.c.uuid)
                        .where(transactions.c.kiosk_id == kiosk_id, transactions.c.seq > after_seq)
                        .order_by(transactions.c.seq).limit(limit))
    return HeldPage(records=[HeldRecord(seq=r.seq, uuid=r.uuid) for r in rows])


def status(conn: Connection) -> FleetStatus:
    def counts(table, where=None):
        query = sa.select(table.c.kiosk_id, sa.func.count()).group_by(table.c.kiosk_id)
        return dict(conn.execute(query if where is None else query.where(where)).all())
    dead, alarm, flagged = counts(dead_letters), counts(alarms), counts(transactions, transactions.c.flag.is_not(None))
    result = []
    for k in conn.execute(sa.select(kiosks).order_by(kiosks.c.id)):
        result.append(KioskStatus(
            kiosk_id=k.id, name=k.name, enrolled_at=k.enrolled_at, last_seen_at=k.last_seen_at,
            last_heartbeat_at=k.last_heartbeat_at, app_version=k.app_version,
            device_states=json.loads(k.device_states), queue_depth=k.queue_depth,
            oldest_unsent_age_s=k.oldest_unsent_age_s, held_through=k.held_through, max_seq=k.max_seq,
            gaps=_gaps(conn, k.id, k.held_through, k.max_seq), dead_letters=dead.get(k.id, 0),
            alarms=alarm.get(k.id, 0), flagged=flagged.get(k.id, 0), clock_skew_s=k.clock_skew_s))
    return FleetStatus(kiosks=result)


def _gaps(conn: Connection, kiosk_id: str, held: int, max_seq: int, limit: int = 100) -> list[tuple[int, int]]:
    """Missing seq ranges between held_through and max_seq: records the kiosk has not (yet) delivered."""
    if max_seq <= held:
        return []
    above = sa.union(
        sa.select(transactions.c.seq).where(transactions.c.kiosk_id == kiosk_id, transactions.c.seq > held),
        sa.select(dead_letters.c.seq).where(dead_letters.c.kiosk_id == kiosk_id, dead_letters.c.seq > held),
    ).subquery()
    gaps, expected = [], held + 1
    for (seq,) in conn.execute(sa.select(above.c.seq).order_by(above.c.seq)):
        if seq > expected:
            gaps.append((expected, seq - 1))
            if len(gaps) == limit:
                break
        expected = seq + 1
    return gaps


def receipt(conn: Connection, token: str) -> Receipt | None:
    """The customer's view of a sale: no card data beyond brand and last 4 digits."""
    if not RECEIPT_TOKEN.match(token) or token_problem(token):
        return None  # weak tokens are refused on ingest; any held from before are not served either
    row = conn.execute(sa.select(transactions.c.payload, transactions.c.received_at)
                       .where(transactions.c.receipt_token == token, transactions.c.kind == "sale")
                       .order_by(transactions.c.id).limit(1)).first()
    if row is None:
        return None
    record = TransactionRecord.model_validate_json(row.payload)
    sale = record.body
    shop = conn.execute(sa.select(kiosks.c.name).where(kiosks.c.id == record.kiosk_id)).scalar()
    return Receipt(
        kiosk_id=record.kiosk_id, shop_name=neutralise_bidi(shop or ""), device_time=record.device_time, received_at=row.received_at,
        currency=sale.currency, total=sale.total,
        lines=[ReceiptLine(name=neutralise_bidi(l.name), quantity=l.quantity, unit_price=l.unit_price, total=l.total,
                           vat_code=l.vat_code, voided=l.voided) for l in sale.lines],
        vat=list(sale.vat),
        payments=[ReceiptPayment(method=p.method, brand=p.brand, amount=p.amount, status=p.status,
                                 card_last4=p.masked_pan[-4:] if p.masked_pan[-4:].isdigit() else "")
                  for p in sale.payments])


def problems(conn: Connection, kiosk_id: str | None = None, limit: int = 50) -> dict[str, list[dict]]:
    """What needs a person: dead letters (with the reason), alarms (refused conflicts), flagged transactions."""
    def rows(query, table):
        if kiosk_id is not None:
            query = query.where(table.c.kiosk_id == kiosk_id)
        return [dict(r._mapping) for r in conn.execute(query.order_by(table.c.id.desc()).limit(limit))]
    return {
        "dead_letters": rows(sa.select(dead_letters.c.kiosk_id, dead_letters.c.seq, dead_letters.c.uuid,
                                       dead_letters.c.reason, dead_letters.c.received_at), dead_letters),
        "alarms": rows(sa.select(alarms.c.kiosk_id, alarms.c.kind, alarms.c.details, alarms.c.created_at), alarms),
        "flagged": rows(sa.select(transactions.c.kiosk_id, transactions.c.seq, transactions.c.uuid,
                                  transactions.c.flag, transactions.c.received_at)
                        .where(transactions.c.flag.is_not(None)), transactions),
    }
