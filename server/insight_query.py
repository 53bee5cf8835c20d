"""Fleet insight, the read side: KPIs, series, the heat map and drill-down. KPIs read only the rollups.

Which rollup a query reads: with a kiosk filter, `insight_hourly` by its primary key (kiosk_id, hour, …): at
most 24 rows per day and flow × language; without, `insight_daily` by its primary key (day, site_id, …): one row
per day × site × flow × language, whatever the number of kiosks or sessions. Day, week and month, the heat map and
the previous period are folded in Python from those per-day (or per-hour) sums.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from server.db import COMPLETE_EDGES_S, HOUR_METRICS, SUM_METRICS, insight_daily, insight_hourly, insight_sessions
from server import insight_devices
from server.insight import FLEET

HIST = tuple(f"d{i:02d}" for i in range(len(COMPLETE_EDGES_S) + 1))
FUNNEL = ("sessions", "reached_scan", "reached_payment", "paid", "receipt_chosen")
GROUPS = ("day", "week", "month")
TILES = ("sessions", "completion_rate", "abandonment_rate", "median_complete_s", "p90_complete_s", "csat",
         "rating_avg", "easy_pct", "help_per_100", "age_wait_s", "decline_rate", "revenue_minor")
SERIES_COLUMNS = ("period", "sessions", "completed", "completion_rate", "abandonment_rate", "csat", "easy_pct",
                  "help_per_100", "decline_rate", "median_complete_s", "revenue_minor")


@dataclass(frozen=True)
class Filters:
    start: date  # first day, UTC
    end: date  # last day, inclusive
    site: str | None = None
    kiosk: str | None = None
    flow: str | None = None
    language: str | None = None
    sites: tuple[str, ...] | None = None  # only these sites (a manager's); None: every site

    def previous(self) -> "Filters":
        days = (self.end - self.start).days + 1
        return replace(self, start=self.start - timedelta(days=days), end=self.start - timedelta(days=1))


def _where(table: sa.Table, f: Filters) -> list:
    conds = []
    for name in ("site", "kiosk", "flow", "language"):
        value = getattr(f, name)
        if value:
            conds.append(table.c[{"site": "site_id", "kiosk": "kiosk_id"}.get(name, name)] == value)
    if f.sites is not None:
        conds.append(table.c.site_id.in_(f.sites))
    elif not f.site and table is insight_daily:
        conds.append(table.c.site_id == FLEET)  # the whole fleet's row of each day
    return conds


def _sums(table: sa.Table, names) -> list:
    # PostgreSQL sums BIGINT as NUMERIC (Decimal in Python): back to BIGINT
    return [sa.cast(sa.func.sum(table.c[m]), sa.BigInteger).label(m) for m in names]


# Built once: a select of 70 summed columns costs more to construct than PostgreSQL takes to run it.
_DAY_OF_HOUR = sa.func.substr(insight_hourly.c.hour, 1, 10)
HOURLY_BY_DAY = sa.select(_DAY_OF_HOUR, *_sums(insight_hourly, SUM_METRICS)).group_by(_DAY_OF_HOUR)
HOURLY_BY_HOUR = sa.select(insight_hourly.c.hour, sa.cast(sa.func.sum(insight_hourly.c.sessions), sa.BigInteger)
                           ).group_by(insight_hourly.c.hour)
DAILY_BY_DAY = sa.select(insight_daily.c.day, *_sums(insight_daily, SUM_METRICS + HOUR_METRICS)
                         ).group_by(insight_daily.c.day)


def day_sums(conn: Connection, f: Filters) -> dict[str, dict[str, int]]:
    """Per UTC day: every summed metric and the sessions per hour of the day (h00..h23)."""
    if f.kiosk:
        t = insight_hourly
        where = [t.c.hour >= f.start.isoformat(), t.c.hour < (f.end + timedelta(days=1)).isoformat(), *_where(t, f)]
        zero = dict.fromkeys(HOUR_METRICS, 0)
        days = {row[0]: {**zero, **dict(zip(SUM_METRICS, row[1:]))}
                for row in conn.execute(HOURLY_BY_DAY.where(*where))}
        for hour, sessions in conn.execute(HOURLY_BY_HOUR.where(*where)):
            days[hour[:10]][f"h{hour[11:13]}"] += sessions
        return days
    t = insight_daily
    rows = conn.execute(DAILY_BY_DAY.where(t.c.day >= f.start.isoformat(), t.c.day <= f.end.isoformat(),
                                           *_where(t, f)))
    return {row[0]: dict(zip(SUM_METRICS + HOUR_METRICS, row[1:])) for row in rows}


def total(days) -> dict[str, int]:
    days = list(days)
    if len(days) == 1:
        return days[0]
    names = SUM_METRICS + HOUR_METRICS
    return dict(zip(names, (sum(col) for col in zip(*([d[n] for n in names] for d in days))))) if days \
        else dict.fromkeys(names, 0)


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def percentile_s(sums: dict[str, int], pct: int) -> int | None:
    """Nearest-rank percentile (`pct` %) of the time to complete, as the upper edge (s) of its histogram bucket."""
    n = sum(sums[h] for h in HIST)
    if not n:
        return None
    rank, seen = max(1, -(-pct * n // 100)), 0
    for i, h in enumerate(HIST):
        seen += sums[h]
        if seen >= rank:
            return COMPLETE_EDGES_S[min(i, len(COMPLETE_EDGES_S) - 1)]
    return COMPLETE_EDGES_S[-1]


def kpis(s: dict[str, int]) -> dict[str, float | int | None]:
    rated = sum(s[f"rating_{i}"] for i in range(1, 6))
    return dict(
        sessions=s["sessions"], completed=s["completed"],
        completion_rate=_pct(s["completed"], s["sessions"]),
        abandonment_rate=_pct(s["abandoned_idle"] + s["cancelled"], s["sessions"]),
        median_complete_s=percentile_s(s, 50), p90_complete_s=percentile_s(s, 90),
        csat=_pct(s["rating_4"] + s["rating_5"], rated),
        rating_avg=round(sum(i * s[f"rating_{i}"] for i in range(1, 6)) / rated, 2) if rated else None,
        easy_pct=_pct(s["easy_yes"], s["easy_yes"] + s["easy_no"]),
        help_per_100=_pct(s["help_calls"], s["sessions"]),
        age_wait_s=round(s["age_wait_ms"] / s["age_checks"] / 1000, 2) if s["age_checks"] else None,
        decline_rate=_pct(s["declines"], s["payment_attempts"]),
        revenue_minor=s["revenue_minor"])


def _period(day: str, group: str) -> str:
    if group == "month":
        return day[:7]
    if group == "week":
        d = date.fromisoformat(day)
        return (d - timedelta(days=d.weekday())).isoformat()  # the Monday
    return day


def report(conn: Connection, f: Filters, group: str = "day") -> dict:
    if group not in GROUPS:
        raise ValueError(f"group: expected one of {', '.join(GROUPS)}, got {group!r}")
    days = day_sums(conn, f)
    now_sums, before = total(days.values()), total(day_sums(conn, f.previous()).values())
    current, previous = kpis(now_sums), kpis(before)
    periods: dict[str, list] = {}
    for day in sorted(days):
        periods.setdefault(_period(day, group), []).append(days[day])
    series = [{"period": p, **{k: v for k, v in kpis(total(ds)).items() if k in SERIES_COLUMNS}}
              for p, ds in periods.items()]
    heat = [[0] * 24 for _ in range(7)]
    for day, sums in days.items():
        row = heat[date.fromisoformat(day).weekday()]
        for hour in range(24):
            row[hour] += sums[f"h{hour:02d}"]
    return {
        "filters": {"from": f.start.isoformat(), "to": f.end.isoformat(), "site": f.site, "kiosk": f.kiosk,
                    "flow": f.flow, "language": f.language, "group": group},
        "previous_period": {"from": f.previous().start.isoformat(), "to": f.previous().end.isoformat()},
        "tiles": {name: {"value": current[name], "previous": previous[name]} for name in TILES},
        "funnel": [{"step": step, "sessions": now_sums[step]} for step in FUNNEL],
        "ratings": [{"stars": i, "sessions": now_sums[f"rating_{i}"]} for i in range(1, 6)],
        "complete_histogram": [{"up_to_s": COMPLETE_EDGES_S[i] if i < len(COMPLETE_EDGES_S) else None,
                                "sessions": now_sums[h]} for i, h in enumerate(HIST)],
        "series_columns": list(SERIES_COLUMNS),
        "series": series,
        "heatmap": heat,  # [weekday Monday=0][hour of day UTC] sessions
        "device_columns": list(insight_devices.COLUMNS),
        "devices": insight_devices.uptime(conn, f),  # per kiosk and device: uptime %, faults, the last one
    }


def sessions(conn: Connection, f: Filters, outcome: str | None = None, limit: int = 200) -> list[dict]:
    """Drill-down: the raw sessions behind a number (newest first; raw rows are kept for the retention days)."""
    t = insight_sessions
    conds = [t.c.started_at >= f.start.isoformat(), t.c.started_at < (f.end + timedelta(days=1)).isoformat(),
             *_where(t, f)]
    if outcome:
        conds.append(t.c.outcome == outcome)
    rows = conn.execute(sa.select(t).where(*conds).order_by(t.c.started_at.desc()).limit(limit))
    return [dict(row._mapping) for row in rows]


def parse_day(text: str, name: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ValueError(f"{name}: expected a date as YYYY-MM-DD, got {text!r}") from None


def currency(conn: Connection) -> str:
    """The currency of the newest paid session (revenue is summed in one currency per fleet)."""
    t = insight_sessions
    return conn.execute(sa.select(t.c.currency).where(t.c.currency != "").order_by(t.c.started_at.desc())
                        .limit(1)).scalar() or "EUR"
