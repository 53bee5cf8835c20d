"""The lane board (/console), the interventions queue (/console/queue), one kiosk (/console/kiosks/{id}) and
the SSE stream (/console/events) that keeps them live: the lanes and the queue, re-rendered for this user
and sent (only when they changed) soon after the live hub reports a change to one of the user's kiosks."""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from server.console.views import allowed_commands, intervention_view, lane_view
from server.db import live_interventions
from server.live import Intervention

RECENT = 50  # resolved interventions the queue page shows

PING_S = 15.0
SETTLE_S = 0.03  # changes that arrive together go out as one update


def hub_of(request: Request) -> Any:
    return getattr(request.app.state, "live", None)


def _intervention(row) -> Intervention:
    return Intervention(**{field.name: row._mapping[field.name] for field in dataclasses.fields(Intervention)})


def recent_resolved(engine, kiosk_ids: set[str] | None, limit: int = RECENT) -> list[Intervention]:
    query = (sa.select(live_interventions).where(live_interventions.c.resolved_at.is_not(None))
             .order_by(live_interventions.c.resolved_at.desc()).limit(limit))
    if kiosk_ids is not None:
        query = query.where(live_interventions.c.kiosk_id.in_(sorted(kiosk_ids)))
    with engine.connect() as conn:
        return [_intervention(row) for row in conn.execute(query)]


def find_intervention(engine, ident: int) -> Intervention | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(live_interventions).where(live_interventions.c.id == ident)).first()
    return _intervention(row) if row is not None else None


def routes(router: APIRouter, console) -> None:
    def snapshot(request: Request, allowed: set[str] | None, resolved: bool = False) -> tuple[list, list]:
        hub = hub_of(request)
        if hub is None:
            return [], []
        lang = console.language(request)
        tr = console.catalogs.get(lang)
        lanes = hub.lanes(allowed)
        by_id = {lane.kiosk_id: lane for lane in lanes}
        items = hub.interventions(allowed) + (recent_resolved(console.engine, allowed) if resolved else [])
        helpers = {i.kiosk_id: i.acknowledged_by for i in items
                   if i.kind == "help" and i.acknowledged_by and not i.resolved_at}
        queue = [intervention_view(i, by_id, tr, lang) for i in items]
        return [lane_view(lane, tr, lang, helpers.get(lane.kiosk_id)) for lane in lanes], queue

    def page(request: Request, template: str, resolved: bool = False, only: str | None = None):
        session = console.session(request)
        if session is None:
            return RedirectResponse("/console/login", status_code=303)
        allowed = console.allowed(session.user)
        if only is not None:
            if allowed is not None and only not in allowed:
                raise HTTPException(403, f"kiosk {only} is not one of your sites' kiosks")
            allowed = {only}
        lanes, queue = snapshot(request, allowed, resolved)
        if only is not None and not lanes:
            raise HTTPException(404, f"no kiosk {only}")
        return console.render(request, template, user=session.user, csrf=session.csrf_token, lanes=lanes,
                              queue=queue, commands=allowed_commands(session.user.role),
                              live=hub_of(request) is not None, events=f"/console/events?view={template[:-5]}"
                              + (f"&kiosk={only}" if only else ""))

    @router.get("/console")
    def board(request: Request) -> Response:
        return page(request, "board.html")

    @router.get("/console/queue")
    def queue_page(request: Request) -> Response:
        return page(request, "queue.html", resolved=True)

    @router.get("/console/kiosks/{kiosk_id}")
    def kiosk_page(kiosk_id: str, request: Request) -> Response:
        return page(request, "board.html", only=kiosk_id[:64])

    @router.get("/console/events")
    async def events(request: Request, view: str = "board", kiosk: str = "") -> Response:
        session = await run_in_threadpool(console.session, request, False)
        hub = hub_of(request)
        if session is None:
            raise HTTPException(401, "not logged in (or the session expired)")
        if hub is None:
            raise HTTPException(503, "the live channel is not running")
        resolved = view == "queue"
        commands = allowed_commands(session.user.role)

        async def scope() -> set[str] | None:
            allowed = await run_in_threadpool(console.allowed, session.user)
            if kiosk:
                if allowed is not None and kiosk not in allowed:
                    return set()
                return {kiosk}
            return allowed

        def render(allowed: set[str] | None) -> dict[str, str]:
            lanes, queue = snapshot(request, allowed, resolved)
            values = dict(user=session.user, csrf=session.csrf_token, commands=commands)
            return {"lanes": console.fragment(request, "_lanes.html", lanes=lanes, **values),
                    "queue": console.fragment(request, "_queue.html", queue=queue, **values)}

        async def stream():
            changes: asyncio.Queue = asyncio.Queue()
            subscription = hub.subscribe()

            async def pump():
                async for change in subscription:
                    changes.put_nowait(change)
            pumping = asyncio.create_task(pump())
            sent: dict[str, str] = {}
            allowed = await scope()
            try:
                yield "retry: 1000\n\n"
                while True:
                    for name, html in (await run_in_threadpool(render, allowed)).items():
                        if sent.get(name) != html:
                            sent[name] = html
                            yield f"event: {name}\n" + "".join(f"data: {line}\n" for line in html.split("\n")) + "\n"
                    try:
                        change = await asyncio.wait_for(changes.get(), PING_S)
                    except asyncio.TimeoutError:
                        if await run_in_threadpool(console.session, request, False) is None:
                            yield "event: expired\ndata: \n\n"
                            return
                        allowed = await scope()
                        yield ": ping\n\n"
                        continue
                    await asyncio.sleep(SETTLE_S)
                    while not changes.empty():
                        changes.get_nowait()
                    if allowed is not None and change.kiosk_id not in allowed:
                        allowed = await scope()  # a kiosk may have joined one of the user's sites
            finally:
                pumping.cancel()
                with contextlib.suppress(BaseException):
                    await pumping
                closing = getattr(subscription, "aclose", None)
                if closing is not None:
                    await closing()

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
