"""Fleet insight in the console (issue 16), for managers (their sites) and admins (every site):
/console/insight (KPI tiles with the previous period, charts each with its data table, the heat map),
/console/insight.csv (the series table as shown) and /console/insight/sessions (drill-down to raw sessions).

Numbers come from server.insight_query, which reads only the rollups; the charts (uPlot, static/insight.js)
are drawn from the data tables on the page, so what is drawn is what the tables say."""
from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

import sqlalchemy as sa
from babel.numbers import format_decimal
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from kiosk.wire import format_amount
from server import insight_query as q
from server.console.i18n import BABEL_LOCALES
from server.db import kiosks, sites
from server.insight_api import devices_csv, filters, series_csv

ROLES = ("manager", "admin")
PARAMS = ("from", "to", "site", "kiosk", "flow", "language", "group")
OUTCOMES = ("completed", "abandoned_idle", "cancelled", "handed_to_staff", "out_of_service")
RATE_TILES = {"completion_rate", "abandonment_rate", "csat", "easy_pct", "decline_rate"}
LOWER_IS_BETTER = {"abandonment_rate", "median_complete_s", "p90_complete_s", "help_per_100", "age_wait_s",
                   "decline_rate"}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def labels(_) -> dict[str, str]:
    return {
        "sessions": _("Sessions"), "completed": _("Completed"), "completion_rate": _("Completion rate"),
        "abandonment_rate": _("Abandonment rate"), "median_complete_s": _("Median time to complete"),
        "p90_complete_s": _("90th percentile time to complete"), "csat": _("CSAT (4–5 stars)"),
        "rating_avg": _("Average rating"), "easy_pct": _("Found it easy"), "help_per_100": _("Help calls per 100"),
        "age_wait_s": _("Age-check wait"), "decline_rate": _("Card decline rate"), "revenue_minor": _("Revenue"),
        "period": _("Period"), "reached_scan": _("First scan"), "reached_payment": _("Payment"), "paid": _("Paid"),
        "receipt_chosen": _("Receipt choice"), "abandoned_idle": _("Abandoned (idle)"), "cancelled": _("Cancelled"),
        "handed_to_staff": _("Handed to staff"), "out_of_service": _("Out of service"),
        "Mon": _("Mon"), "Tue": _("Tue"), "Wed": _("Wed"), "Thu": _("Thu"), "Fri": _("Fri"), "Sat": _("Sat"),
        "Sun": _("Sun"),
    }


def routes(router: APIRouter, console) -> None:
    def scope(request: Request):
        """(session, allowed site ids or None for all, allowed kiosk ids or None) or a redirect/403."""
        session = console.session(request)
        if session is None:
            return None
        if session.user.role not in ROLES:
            raise HTTPException(403, "insight is for managers and admins")
        if session.user.sees_all():
            return session, None, None
        return session, tuple(sorted(session.user.site_ids)), console.allowed(session.user) or set()

    def checked_filters(request: Request, allowed_sites, allowed_kiosks) -> q.Filters:
        p = request.query_params
        try:
            f = filters(p.get("from") or None, p.get("to") or None, p.get("site"), p.get("kiosk"), p.get("flow"),
                        p.get("language"))
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        if allowed_sites is not None:
            if f.site and f.site not in allowed_sites:
                raise HTTPException(403, f"site {f.site} is not one of your sites")
            if f.kiosk and f.kiosk not in allowed_kiosks:
                raise HTTPException(403, f"kiosk {f.kiosk} is not one of your sites' kiosks")
            f = replace(f, sites=allowed_sites)
        return f

    def viewer(request: Request):
        """(session, checked filters, allowed sites, allowed kiosks), or None without a session (to the login)."""
        found = scope(request)
        if found is None:
            return None
        session, allowed_sites, allowed_kiosks = found
        return session, checked_filters(request, allowed_sites, allowed_kiosks), allowed_sites, allowed_kiosks

    def group_of(request: Request) -> str:
        group = request.query_params.get("group", "day")
        if group not in q.GROUPS:
            raise HTTPException(422, f"group: expected one of {', '.join(q.GROUPS)}, got {group!r}")
        return group

    @router.get("/console/insight")
    def insight_page(request: Request) -> Response:
        seen = viewer(request)
        if seen is None:
            return RedirectResponse("/console/login", status_code=303)
        session, f, allowed_sites, allowed_kiosks = seen
        group = group_of(request)
        with console.engine.connect() as conn:
            report = q.report(conn, f, group)
            money = q.currency(conn)
            site_ids = [r.id for r in conn.execute(sa.select(sites.c.id).order_by(sites.c.id))]
            kiosk_ids = [r.id for r in conn.execute(sa.select(kiosks.c.id).order_by(kiosks.c.id))]
        if allowed_sites is not None:
            site_ids = [s for s in site_ids if s in allowed_sites]
            kiosk_ids = [k for k in kiosk_ids if k in allowed_kiosks]
        lang = console.language(request)
        tr = console.catalogs.get(lang)
        shown = {k: request.query_params.get(k, "") for k in PARAMS}
        shown.update({"from": report["filters"]["from"], "to": report["filters"]["to"], "group": group})
        return console.render(
            request, "insight.html", user=session.user, csrf=session.csrf_token, report=report, shown=shown,
            names=labels(tr.gettext), site_ids=site_ids, kiosk_ids=kiosk_ids, fmt=Formatter(lang, money),
            tiles=tile_views(report, Formatter(lang, money)), weekdays=[labels(tr.gettext)[d] for d in WEEKDAYS],
            heat_max=max((max(row) for row in report["heatmap"]), default=0), outcomes=OUTCOMES,
            query=lambda **extra: urlencode({k: v for k, v in {**shown, **extra}.items() if v}))

    @router.get("/console/insight.csv")
    def insight_csv(request: Request) -> Response:
        seen = viewer(request)
        if seen is None:
            return RedirectResponse("/console/login", status_code=303)
        f, group = seen[1], group_of(request)
        with console.engine.connect() as conn:
            report = q.report(conn, f, group)
        name = f"insight-{f.start}-{f.end}-{group}.csv"
        return Response(series_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    @router.get("/console/insight/devices.csv")
    def devices_csv_export(request: Request) -> Response:
        seen = viewer(request)
        if seen is None:
            return RedirectResponse("/console/login", status_code=303)
        f = seen[1]
        with console.engine.connect() as conn:
            report = q.report(conn, f)
        return Response(devices_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="insight-devices-{f.start}-{f.end}.csv"',
                                 "Cache-Control": "no-store"})

    @router.get("/console/insight/sessions")
    def sessions_page(request: Request) -> Response:
        seen = viewer(request)
        if seen is None:
            return RedirectResponse("/console/login", status_code=303)
        session, f = seen[:2]
        outcome = request.query_params.get("outcome") or None
        if outcome is not None and outcome not in OUTCOMES:
            raise HTTPException(422, f"outcome: expected one of {', '.join(OUTCOMES)}, got {outcome!r}")
        with console.engine.connect() as conn:
            rows = q.sessions(conn, f, outcome, limit=500)
            money = q.currency(conn)
        lang = console.language(request)
        tr = console.catalogs.get(lang)
        return console.render(request, "insight_sessions.html", user=session.user, csrf=session.csrf_token,
                              rows=rows, names=labels(tr.gettext), fmt=Formatter(lang, money), outcome=outcome,
                              back="/console/insight?" + urlencode({k: v for k, v in request.query_params.items()
                                                                   if k in PARAMS and v}))


class Formatter:
    def __init__(self, lang: str, currency: str):
        self.locale, self.currency = BABEL_LOCALES.get(lang, "en_IE"), currency

    def __call__(self, name: str, value) -> str:
        if value is None:
            return "–"
        if name == "revenue_minor" or name == "amount_minor":
            return format_amount(int(value), self.currency, self.locale)
        if name == "ok_pct":  # device uptime: 99.95 % is not 100 %
            return format_decimal(round(value, 2), format="#,##0.##", locale=self.locale) + " %"
        text = format_decimal(value, format="#,##0.#" if isinstance(value, float) else "#,##0", locale=self.locale)
        if name in RATE_TILES:
            return f"{text} %"
        if name.endswith("_s"):
            return f"{text} s"
        return text


def tile_views(report: dict, fmt: Formatter) -> list[dict]:
    out = []
    for name, tile in report["tiles"].items():
        value, previous = tile["value"], tile["previous"]
        delta = None if value is None or previous is None else round(value - previous, 2)
        better = None if not delta else (delta < 0) == (name in LOWER_IS_BETTER)
        out.append(dict(name=name, value=value, previous=previous, text=fmt(name, value),
                        previous_text=fmt(name, previous), delta=delta, better=better,
                        arrow="" if not delta else ("▲" if delta > 0 else "▼"),
                        delta_text="" if not delta else fmt(name, abs(delta))))
    return out
