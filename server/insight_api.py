"""Fleet insight over HTTP: GET /v1/admin/insight (JSON), /v1/admin/insight.csv (the series table as CSV) and
/v1/admin/insight/sessions (drill-down). Admin token; the console pages (issue 15) use the same functions."""

import csv
import io
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import Response
from sqlalchemy.engine import Engine

from kiosk.wire import Problem
from server import insight_query as q

Day = Annotated[str | None, Query(alias="from", max_length=10, description="first day (UTC), YYYY-MM-DD")]
DayTo = Annotated[str | None, Query(alias="to", max_length=10, description="last day (UTC, inclusive)")]
Name = Annotated[str | None, Query(max_length=64)]
MAX_DAYS = 3 * 366
REFUSED_FILTER = {422: {"model": Problem, "description": "a filter that is not a date, range, flow or group"}}


def filters(start: str | None, end: str | None, site: str | None, kiosk: str | None, flow: str | None,
            language: str | None) -> q.Filters:
    """The filters from query parameters; ValueError names what is wrong. Default: the last 30 days."""
    today = datetime.now(timezone.utc).date()
    last = q.parse_day(end, "to") if end else today
    first = q.parse_day(start, "from") if start else last - timedelta(days=29)
    if first > last:
        raise ValueError(f"from {first} is after to {last}")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValueError(f"the range is {(last - first).days + 1} days; at most {MAX_DAYS}")
    if flow and flow not in ("checkout", "checkin"):
        raise ValueError(f"flow: expected checkout or checkin, got {flow!r}")
    return q.Filters(first, last, site or None, kiosk or None, flow or None, language or None)


def csv_cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is quoted with a leading
    apostrophe (OWASP CSV injection); numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def series_csv(report: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([csv_cell(c) for c in report["series_columns"]])
    for row in report["series"]:
        writer.writerow([csv_cell(row[c]) for c in report["series_columns"]])
    return out.getvalue()


def devices_csv(report: dict) -> str:
    """The device uptime table (one row per kiosk and device) as CSV."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(report["device_columns"])
    for row in report["devices"]:
        writer.writerow([csv_cell(round(row[c], 2) if c == "ok_pct" else row[c]) for c in report["device_columns"]])
    return out.getvalue()


def add_routes(app: FastAPI, engine: Engine, admin_dependency: Any) -> None:
    Admin = admin_dependency

    def _report(start, end, site, kiosk, flow, language, group) -> dict:
        try:
            f = filters(start, end, site, kiosk, flow, language)
            with engine.connect() as conn:
                return q.report(conn, f, group)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None

    @app.get("/v1/admin/insight", tags=["insight"], responses=REFUSED_FILTER)
    def get_insight(_admin: Admin, start: Day = None, end: DayTo = None, site: Name = None, kiosk: Name = None,
                    flow: Name = None, language: Name = None, group: Annotated[str, Query(max_length=8)] = "day"):
        """KPI tiles with the previous period, funnel, ratings, time-to-complete histogram, the series by
        day/week/month and the weekday × hour heat map, from the rollups."""
        return _report(start, end, site, kiosk, flow, language, group)

    @app.get("/v1/admin/insight.csv", tags=["insight"], response_class=Response, responses=REFUSED_FILTER)
    def get_insight_csv(_admin: Admin, start: Day = None, end: DayTo = None, site: Name = None, kiosk: Name = None,
                        flow: Name = None, language: Name = None, group: Annotated[str, Query(max_length=8)] = "day"):
        report = _report(start, end, site, kiosk, flow, language, group)
        name = f"insight-{report['filters']['from']}-{report['filters']['to']}-{group}.csv"
        return Response(series_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.get("/v1/admin/insight/devices.csv", tags=["insight"], response_class=Response, responses=REFUSED_FILTER)
    def get_devices_csv(_admin: Admin, start: Day = None, end: DayTo = None, site: Name = None, kiosk: Name = None):
        """Per kiosk and device over the days: % of the time without a fault, faults begun, the last fault."""
        report = _report(start, end, site, kiosk, None, None, "day")
        name = f"insight-devices-{report['filters']['from']}-{report['filters']['to']}.csv"
        return Response(devices_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.get("/v1/admin/insight/sessions", tags=["insight"], responses=REFUSED_FILTER)
    def get_sessions(_admin: Admin, start: Day = None, end: DayTo = None, site: Name = None, kiosk: Name = None,
                     flow: Name = None, language: Name = None, outcome: Name = None,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 200):
        """The raw sessions behind a number, newest first (raw rows are kept for the retention days)."""
        try:
            f = filters(start, end, site, kiosk, flow, language)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        with engine.connect() as conn:
            return {"sessions": q.sessions(conn, f, outcome, limit)}


__all__ = ["add_routes", "devices_csv", "filters", "series_csv", "date"]
