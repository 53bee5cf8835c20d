"""The live channel's HTTP routes: the kiosks' (/v1/live/…, kiosk token) and the administrators' (/v1/admin/live…,
/v1/admin/interventions/…, admin token). docs/live.md describes them."""

import asyncio
import contextlib
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.middleware import Middleware

from kiosk.wire import CommandKind, CommandResult, LiveState, Problem
from server.auth import RecentTokens, token_hash
from server.live import store
from server.live.fastpath import LiveStateFastPath
from server.live.hub import LiveHub
from server.live.model import AlreadyTaken, UnknownIntervention, UnknownKiosk

CommandId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$")]
InterventionId = Annotated[int, Path(ge=1, le=2**53)]
KioskIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Credentials = Annotated[HTTPAuthorizationCredentials | None,
                       Depends(HTTPBearer(auto_error=False, description="a kiosk token or an admin token"))]
STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


class LaneOut(BaseModel):
    kiosk_id: str
    name: str
    state: LiveState | None
    connected: bool
    last_seen_at: str | None
    status: Literal["idle", "shopping", "paying", "help", "age_check", "in_doubt", "out_of_service",
                    "device_fault", "offline"]
    status_since: str | None
    disabled: bool = False  # an administrator disabled the kiosk: its status is offline


class InterventionOut(BaseModel):
    id: int
    kiosk_id: str
    kind: Literal["help", "age_check", "payment_in_doubt", "device_fault", "offline", "outbox_growing"]
    session_id: str | None
    detail: str
    raised_at: str
    acknowledged_by: str | None
    acknowledged_at: str | None
    resolved_by: str | None
    resolved_at: str | None


class CommandRecordOut(BaseModel):
    id: str
    kiosk_id: str
    kind: CommandKind
    session_id: str | None
    by: str
    issued_at: str
    expires_at: str
    outcome: Literal["pending", "done", "refused", "expired", "failed"]
    detail: str
    answered_at: str | None


class LiveView(BaseModel):
    lanes: list[LaneOut]
    interventions: list[InterventionOut]


class CommandRequest(BaseModel):
    model_config = {"extra": "forbid"}
    kind: CommandKind
    session_id: Annotated[str, Field(max_length=64)] | None = None
    reason: Annotated[str, Field(max_length=1000)] = ""
    by: Name | None = None  # the attendant's name; the admin token's name when left out
    wait_s: Annotated[float, Field(ge=0, le=30)] = 5.0
    ttl_s: Annotated[float, Field(gt=0, le=3600)] | None = None  # default KSERVER_LIVE_COMMAND_TTL_S


class Actor(BaseModel):
    model_config = {"extra": "forbid"}
    by: Name


class Taken(BaseModel):
    detail: str
    by: str


TAKEN = {409: {"model": Taken, "description": "another attendant acted first (`by` names them)"}}
NOT_FOUND = {404: {"model": Problem, "description": "no such kiosk, intervention or command"}}
EVENT_STREAM = {200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                      "description": "a server-sent event stream (never ends; `: ping` every 15 s)"}}


def _taken(exc: AlreadyTaken) -> JSONResponse:
    return JSONResponse({"detail": str(exc), "by": exc.by}, status_code=409)


def live_router(hub: LiveHub, any_kiosk, admin, tokens: RecentTokens, route_class, refused: dict,
                too_large: dict) -> APIRouter:
    router = APIRouter(route_class=route_class)

    async def live_kiosk(request: Request, creds: Credentials) -> str:
        """any_kiosk, with the answer kept for KSERVER_LIVE_TOKEN_CACHE_S (a state a second per kiosk)."""
        token = creds.credentials if creds is not None else ""
        owner = tokens.get(token) if token else None
        if owner is None:
            owner = await run_in_threadpool(any_kiosk, request, creds)
            tokens.put(token, owner)
        return owner
    AnyKiosk = Annotated[str, Depends(live_kiosk)]
    Admin = Annotated[str, Depends(admin)]
    ping_s = hub.settings.live_ping_s

    @router.post("/v1/live/state", status_code=204, response_class=Response, responses={**refused, **too_large})
    async def post_state(kiosk_id: AnyKiosk, state: LiveState) -> Response:
        """The kiosk's live state; an older or equal `seq` of the same `boot_id` than the one held is ignored."""
        await hub.post_state(kiosk_id, state)
        return Response(status_code=204)

    @router.get("/v1/live/commands", response_class=StreamingResponse, responses={**EVENT_STREAM, **refused})
    async def command_stream(kiosk_id: AnyKiosk, creds: Credentials) -> StreamingResponse:
        """`event: command` with a LiveCommand as data; unanswered, unexpired commands are sent first. The
        kiosk counts as connected while this stream is open; it ends within a second or two when the kiosk
        is disabled or its token replaced (a reconnect then gets 403 or 401)."""
        key = token_hash(creds.credentials) if creds is not None else None

        async def events():
            stream = await hub.open_stream(kiosk_id, key)
            try:
                yield ": open\n\n"
                while True:
                    try:
                        text = await asyncio.wait_for(stream.queue.get(), ping_s)
                    except asyncio.TimeoutError:
                        yield ": ping\n\n"
                        continue
                    if text is None:
                        return
                    yield f"event: command\ndata: {text}\n\n"
            finally:
                hub.close_stream(stream)
        return StreamingResponse(events(), media_type="text/event-stream", headers=STREAM_HEADERS)

    @router.post("/v1/live/commands/{command_id}/result", status_code=204, response_class=Response,
                 responses={**NOT_FOUND, 409: {"model": Problem, "description": "already answered or expired"},
                            **refused, **too_large})
    async def post_result(kiosk_id: AnyKiosk, command_id: CommandId, result: CommandResult) -> Response:
        try:
            await hub.answer(kiosk_id, command_id, result)
        except store.NotYours as exc:
            raise HTTPException(404, str(exc)) from None
        except store.Answered as exc:
            raise HTTPException(409, str(exc)) from None
        return Response(status_code=204)

    @router.get("/v1/admin/live", response_model=LiveView, responses=refused)
    def live_view(_admin: Admin, include_resolved: bool = False) -> LiveView:
        return LiveView(lanes=[LaneOut(**vars(lane)) for lane in hub.lanes()],
                        interventions=[InterventionOut(**vars(i)) for i in hub.interventions(
                            include_resolved=include_resolved)])

    @router.get("/v1/admin/live/events", response_class=StreamingResponse, responses={**EVENT_STREAM, **refused})
    async def live_events(_admin: Admin) -> StreamingResponse:
        """`event: change` with {kind: lane|intervention, kiosk_id, intervention_id} for every change."""
        async def events():
            await hub.start()
            changes = hub.subscribe()
            yield ": open\n\n"
            try:
                while True:
                    try:  # all changes since the last write go out as one chunk
                        batch = await asyncio.wait_for(changes.take(), ping_s)
                    except asyncio.TimeoutError:
                        yield ": ping\n\n"
                        continue
                    yield "".join(f"event: change\ndata: {json.dumps(vars(change))}\n\n" for change in batch)
            finally:
                await changes.aclose()
        return StreamingResponse(events(), media_type="text/event-stream", headers=STREAM_HEADERS)

    @router.post("/v1/admin/kiosks/{kiosk_id}/commands", response_model=CommandRecordOut,
                 responses={**NOT_FOUND, **TAKEN, **refused, **too_large})
    async def issue_command(actor: Admin, kiosk_id: KioskIdPath, body: CommandRequest):
        """Sends a command; answers with its record once the kiosk answered, it expired or `wait_s` ran out
        (outcome "pending" then). An age decision for a session that is not the lane's current one is
        refused here (outcome "refused") and never sent."""
        try:
            record = await hub.command(kiosk_id, body.kind, body.by or actor, body.session_id, body.reason,
                                       wait_s=body.wait_s, ttl_s=body.ttl_s)
        except UnknownKiosk:
            raise HTTPException(404, f"no kiosk {kiosk_id}") from None
        except AlreadyTaken as exc:
            return _taken(exc)
        return CommandRecordOut(**vars(record))

    def intervention_route(action: str):
        async def act(actor: Admin, intervention_id: InterventionId, body: Actor):
            try:
                done = await getattr(hub, action)(intervention_id, body.by)
            except UnknownIntervention:
                raise HTTPException(404, f"no intervention {intervention_id}") from None
            except AlreadyTaken as exc:
                return _taken(exc)
            return InterventionOut(**vars(done))
        act.__name__ = f"{action}_intervention"
        router.post(f"/v1/admin/interventions/{{intervention_id}}/{action}", response_model=InterventionOut,
                    responses={**NOT_FOUND, **TAKEN, **refused, **too_large})(act)

    intervention_route("acknowledge")
    intervention_route("resolve")
    return router



def install_live(app: FastAPI, hub: LiveHub, any_kiosk, admin, tokens: RecentTokens, route_class, refused: dict,
                 too_large: dict) -> None:
    """The live channel's routes, and its hub on `app.state.live`, started and stopped with the app."""
    app.include_router(live_router(hub, any_kiosk, admin, tokens, route_class, refused, too_large))
    # innermost: inside the request limits, in front of the router (server/live/fastpath.py)
    app.user_middleware.append(Middleware(LiveStateFastPath, hub=hub, tokens=tokens))
    app.state.live = hub
    hub.tokens = tokens
    outer = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a):
        async with outer(a) as state:
            await hub.start()
            try:
                yield state
            finally:
                await hub.stop()
    app.router.lifespan_context = lifespan
