"""Insight alerts (issue 16): per-site thresholds that raise an "insight" intervention on the lane board.

Checked after a batch with records is acknowledged (server/app.py), through the live hub so the board hears of it
at once; one open insight intervention per site (on the kiosk whose batch showed it), with every breach in its
detail. The rollups give completion and help calls over the window, the raw rows the last N ratings. A kiosk
that goes offline is raised by the live channel itself ("offline")."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from sqlalchemy.engine import Connection

from server.db import insight_alert_rules, insight_hourly, insight_sessions, kiosks, live_interventions
from server.db import now as db_now

KIND = "insight"
log = logging.getLogger("kiosk-server.insight")


class RuleError(ValueError):
    """str() says which threshold is wrong."""


def set_rule(conn: Connection, site_id: str, **values) -> None:
    """Sets (or with every threshold None, removes) a site's alert rule."""
    for name, low, high in (("min_completion_rate", 0, 100), ("max_help_per_100", 0, 10_000),
                            ("min_rating_avg", 1, 5)):
        value = values.get(name)
        if value is not None and not low <= value <= high:
            raise RuleError(f"{name}: expected {low} to {high}, got {value}")
    for name in ("rating_last_n", "window_hours", "min_sessions"):
        if values.get(name) is not None and values[name] < 1:
            raise RuleError(f"{name}: expected at least 1, got {values[name]}")
    conn.execute(sa.delete(insight_alert_rules).where(insight_alert_rules.c.site_id == site_id))
    if any(values.get(n) is not None for n in ("min_completion_rate", "max_help_per_100", "min_rating_avg")):
        conn.execute(sa.insert(insight_alert_rules).values(site_id=site_id, **{k: v for k, v in values.items()
                                                                               if v is not None}))


def breaches(conn: Connection, kiosk_id: str, now: datetime | None = None) -> tuple[str, list[str]]:
    """(the kiosk's site, what is over its site's thresholds now); ("", []) without a rule."""
    site = conn.execute(sa.select(kiosks.c.site_id).where(kiosks.c.id == kiosk_id)).scalar() or ""
    rule = conn.execute(sa.select(insight_alert_rules).where(insight_alert_rules.c.site_id == site)).first() \
        if site else None
    if rule is None:
        return site, []
    since = ((now or datetime.now(timezone.utc)) - timedelta(hours=rule.window_hours)).strftime("%Y-%m-%dT%H")
    h = insight_hourly
    site_kiosks = sa.select(kiosks.c.id).where(kiosks.c.site_id == site).scalar_subquery()
    sessions, completed, helps = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(h.c.sessions), 0), sa.func.coalesce(sa.func.sum(h.c.completed), 0),
                  sa.func.coalesce(sa.func.sum(h.c.help_calls), 0))
        .where(h.c.kiosk_id.in_(site_kiosks), h.c.hour >= since, h.c.site_id == site)).one()
    found = []
    if sessions >= rule.min_sessions:
        completion = 100 * completed / sessions
        if rule.min_completion_rate is not None and completion < rule.min_completion_rate:
            found.append(f"completion {completion:.1f} % < {rule.min_completion_rate:g} % "
                         f"({sessions} sessions, {rule.window_hours} h)")
        per_100 = 100 * helps / sessions
        if rule.max_help_per_100 is not None and per_100 > rule.max_help_per_100:
            found.append(f"help calls {per_100:.1f} per 100 > {rule.max_help_per_100:g} "
                         f"({sessions} sessions, {rule.window_hours} h)")
    if rule.min_rating_avg is not None:
        s = insight_sessions
        ratings = [r for (r,) in conn.execute(sa.select(s.c.rating).where(s.c.site_id == site, s.c.rating.is_not(None))
                                              .order_by(s.c.started_at.desc()).limit(rule.rating_last_n))]
        if len(ratings) >= min(rule.rating_last_n, rule.min_sessions) and \
                sum(ratings) / len(ratings) < rule.min_rating_avg:
            found.append(f"rating {sum(ratings) / len(ratings):.2f} < {rule.min_rating_avg:g} "
                         f"(last {len(ratings)} ratings)")
    return site, found


def raise_if_breached(conn: Connection, kiosk_id: str, now: str, notes: list) -> int | None:
    """For the live hub's writer: raises the site's insight intervention if a threshold is breached and none of
    the site's kiosks has one open; returns its id."""
    from server.live.store import _raise
    site, found = breaches(conn, kiosk_id)
    if not found:
        return None
    site_kiosks = sa.select(kiosks.c.id).where(kiosks.c.site_id == site).scalar_subquery()
    if conn.execute(sa.select(live_interventions.c.id).where(live_interventions.c.kiosk_id.in_(site_kiosks),
                                                             live_interventions.c.open_kind == KIND)).first():
        return None
    return _raise(conn, kiosk_id, KIND, None, f"site {site}: " + "; ".join(found), now, notes)


def has_rule(engine, kiosk_id: str) -> bool:
    """Whether the kiosk's site has an alert rule at all."""
    with engine.connect() as conn:
        return conn.execute(sa.select(insight_alert_rules.c.site_id)
                            .join(kiosks, kiosks.c.site_id == insight_alert_rules.c.site_id)
                            .where(kiosks.c.id == kiosk_id)).first() is not None


async def check_quietly(app, kiosk_id: str) -> None:
    """After an acknowledged batch: raise the site's insight intervention if due (a failure is logged only)."""
    hub = getattr(app.state, "live", None)
    if hub is None:
        return
    try:
        if not await run_in_threadpool(has_rule, hub.engine, kiosk_id):  # most sites: a read, no write transaction
            return
        await hub._write(raise_if_breached, kiosk_id, db_now())
    except Exception:  # noqa: BLE001 - the batch is held; an alert check must never turn that into an error
        log.exception("insight alert check for kiosk %s failed", kiosk_id)
