"""Per-kiosk device uptime and faults for fleet insight (issue 16).

The kiosks already tell the server how each device is, in every live state (`devices`: name -> "ok" or what is
wrong). `track` turns the changes into fault spans (insight_device_faults: opened when a device stops being "ok",
closed when it is again), inside the transaction that stores the state. `uptime` reads them for a period: per
kiosk and device the share of the period without an open fault, the faults that began in it and the last one.
The period runs from its first day's 00:00 UTC to the end of its last day, or now if that is sooner; a device
counts as up unless a fault was reported (a kiosk that is offline reports nothing).
"""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kiosk.wire import LiveState
from server.db import insight_device_faults as faults_t, kiosks, live_lanes

STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"


def faulty(state: LiveState | None) -> dict[str, str]:
    """device -> what is wrong, for the devices of this state that are not "ok"."""
    if state is None:
        return {}
    return {name[:64].replace("\x00", "\ufffd"): (what[:256].replace("\x00", "\ufffd"))
            for name, what in state.devices.items() if what.strip().lower() != "ok"}


def track(conn: Connection, kiosk_id: str, old: LiveState | None, new: LiveState, now: str) -> None:
    """Opens, updates and closes the kiosk's fault spans so that the open ones are the new state's faults. Costs
    nothing when the faults did not change (most states); otherwise heals any disagreement with what is held."""
    after = faulty(new)
    if after == faulty(old):
        return
    t = faults_t
    open_spans = {row.device: row for row in conn.execute(
        sa.select(t.c.id, t.c.device, t.c.detail).where(t.c.kiosk_id == kiosk_id, t.c.ended_at.is_(None)))}
    for device, detail in after.items():
        span = open_spans.get(device)
        if span is None:
            conn.execute(sa.insert(t).values(kiosk_id=kiosk_id, device=device, detail=detail, started_at=now))
        elif span.detail != detail:
            conn.execute(sa.update(t).where(t.c.id == span.id).values(detail=detail))
    for device, span in open_spans.items():
        if device not in after:
            conn.execute(sa.update(t).where(t.c.id == span.id).values(ended_at=now))


def _ms(stamp: str) -> int:
    when = datetime.strptime(stamp, STAMP).replace(tzinfo=timezone.utc)
    return int(when.timestamp() * 1000)


def uptime(conn: Connection, f, now: datetime | None = None) -> list[dict]:
    """Per kiosk and device over the filters' days (site and kiosk filters apply; flow and language do not)."""
    start = datetime.combine(f.start, time(), timezone.utc)
    end = min(datetime.combine(f.end + timedelta(days=1), time(), timezone.utc), now or datetime.now(timezone.utc))
    if end <= start:
        return []
    start_s, end_s = start.strftime(STAMP), end.strftime(STAMP)
    t = faults_t
    conds = []
    if f.kiosk:
        conds.append(kiosks.c.id == f.kiosk)
    if f.site:
        conds.append(kiosks.c.site_id == f.site)
    if f.sites is not None:
        conds.append(kiosks.c.site_id.in_(f.sites))
    spans = conn.execute(
        sa.select(t.c.kiosk_id, t.c.device, t.c.detail, t.c.started_at, t.c.ended_at)
        .join(kiosks, kiosks.c.id == t.c.kiosk_id)
        .where(t.c.started_at < end_s, sa.or_(t.c.ended_at.is_(None), t.c.ended_at > start_s), *conds)
        .order_by(t.c.kiosk_id, t.c.device, t.c.started_at)).all()
    sites = dict(conn.execute(sa.select(kiosks.c.id, kiosks.c.site_id).where(*conds)).all())
    devices: dict[tuple[str, str], list] = {}
    for kiosk_id, state in conn.execute(sa.select(live_lanes.c.kiosk_id, live_lanes.c.state)
                                        .join(kiosks, kiosks.c.id == live_lanes.c.kiosk_id)
                                        .where(live_lanes.c.state.is_not(None), *conds)):
        for device in json.loads(state).get("devices", {}):
            devices.setdefault((kiosk_id, device[:64]), [])
    for span in spans:
        devices.setdefault((span.kiosk_id, span.device), []).append(span)
    lo, hi = _ms(start_s), _ms(end_s)
    rows = []
    for (kiosk_id, device), found in sorted(devices.items()):
        down, covered = 0, lo  # spans of one device do not overlap; `covered` guards against any that would
        for span in found:
            a = max(lo, covered, _ms(span.started_at))
            b = min(hi, _ms(span.ended_at) if span.ended_at else hi)
            if b > a:
                down += b - a
                covered = b
        last = found[-1] if found else None
        rows.append({"kiosk": kiosk_id, "site": sites.get(kiosk_id) or "", "device": device,
                     "ok_pct": 100 * (hi - lo - down) / (hi - lo),
                     "faults": sum(1 for s in found if s.started_at >= start_s), "fault_s": down / 1000,
                     "last_fault_at": last.started_at if last else None, "last_fault": last.detail if last else None,
                     "last_fault_open": bool(last and last.ended_at is None)})
    return rows


COLUMNS = ("kiosk", "site", "device", "ok_pct", "faults", "fault_s", "last_fault_at", "last_fault")
