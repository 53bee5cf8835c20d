"""What an attendant does from the console: acknowledge and resolve interventions, and commands for a kiosk
(through the live hub, which sends them and records who/when/what/outcome). Each is role- and site-checked;
the answer is a short message for the page's status line (htmx) or a redirect back (plain forms)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from server.console.board import find_intervention, hub_of
from server.console.views import COMMANDS, OUTCOMES, allowed_commands
from server.console.forms import form_of


def routes(router: APIRouter, console, checked) -> None:
    def answer(request: Request, message: str, status: int = 200, tone: str = "ok") -> Response:
        if request.headers.get("hx-request") != "true":
            return RedirectResponse("/console", status_code=303)
        return console.render(request, "_flash.html", status=status, message=message, tone=tone)

    def hub(request: Request):
        live = hub_of(request)
        if live is None:
            raise HTTPException(503, "the live channel is not running")
        return live

    def in_scope(allowed: set[str] | None, kiosk_id: str) -> None:
        if allowed is not None and kiosk_id not in allowed:
            raise HTTPException(403, f"kiosk {kiosk_id} is not one of your sites' kiosks")

    @router.post("/console/interventions/{intervention_id}/{step}")
    async def intervention(intervention_id: Annotated[int, Path(ge=1, le=2**53)], step: str,
                           request: Request) -> Response:
        session = await checked(request)
        if step not in ("acknowledge", "resolve"):
            raise HTTPException(404, f"no action {step!r}: acknowledge or resolve")
        live = hub(request)
        found = await run_in_threadpool(find_intervention, console.engine, intervention_id)
        if found is None:
            raise HTTPException(404, f"no intervention {intervention_id}")
        in_scope(await run_in_threadpool(console.allowed, session.user), found.kiosk_id)
        tr = console.catalogs.get(console.language(request))
        by = session.user.label
        from server.live import AlreadyTaken
        try:
            await (live.acknowledge if step == "acknowledge" else live.resolve)(intervention_id, by)
        except AlreadyTaken as taken:
            text = (tr.gettext("Already acknowledged by {name}.") if step == "acknowledge"
                    else tr.gettext("Already resolved by {name}.")).format(name=taken.by)
            return answer(request, text, status=409, tone="taken")
        await run_in_threadpool(console.audit, session.user, f"console-{step}", intervention_id=intervention_id,
                                kiosk_id=found.kiosk_id, kind=found.kind)
        return answer(request, tr.gettext("Acknowledged.") if step == "acknowledge" else tr.gettext("Resolved."))

    @router.post("/console/kiosks/{kiosk_id}/commands")
    async def command(kiosk_id: str, request: Request) -> Response:
        session = await checked(request)
        form = await form_of(request)
        kind = form.get("kind", "")
        if kind not in COMMANDS:
            raise HTTPException(400, f"command {kind!r}: expected one of {', '.join(COMMANDS)}")
        if kind not in allowed_commands(session.user.role):
            raise HTTPException(403, f"a {session.user.role} may not send {kind}")
        in_scope(await run_in_threadpool(console.allowed, session.user), kiosk_id)
        live = hub(request)
        if not live.lanes([kiosk_id]):
            raise HTTPException(404, f"no kiosk {kiosk_id}")
        tr = console.catalogs.get(console.language(request))
        session_id = form.get("session_id") or None
        if kind in ("approve_age", "refuse_age") and not session_id:
            raise HTTPException(400, f"{kind} needs the session_id of the customer session it is for")
        if kind == "approve_age" and form.get("seen_id") != "on":
            return answer(request, tr.gettext("Confirm that you have seen the customer's ID."), 400, "error")
        from server.live import AlreadyTaken
        try:
            record = await live.command(kiosk_id, kind, by=session.user.label, session_id=session_id,
                                        reason=form.get("reason", "")[:1000])
        except AlreadyTaken as taken:
            return answer(request, tr.gettext("Already handled by {name}.").format(name=taken.by), 409, "taken")
        outcome = tr.gettext(OUTCOMES.get(record.outcome, record.outcome))
        text = f"{tr.gettext(COMMANDS[kind])}: {outcome}" + (f" ({record.detail})" if record.detail else "")
        return answer(request, text, tone="ok" if record.outcome in ("done", "pending") else "error")
