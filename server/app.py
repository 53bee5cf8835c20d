"""The HTTP API (/v1, OpenAPI at /v1/openapi.json). Run with `kiosk-server serve`."""

import hmac
import html
from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
import sqlalchemy as sa
from pydantic import BaseModel, Field, ValidationError
from pydantic.json_schema import models_json_schema
from sqlalchemy.engine import Engine

from kiosk.wire import (BatchReply, BookingRow, CatalogRow, ConflictReply, Delta, FleetStatus, HeldPage, Heartbeat,
                        HeartbeatReply, KioskConfig, Problem, Receipt, SyncState, TransactionBatch, format_amount)
from server import datasets, fleet, insight_alerts, release_routes
from server.auth import RecentTokens
from server.checks import neutralise_bidi
from server.db import kiosks, make_engine, now, writing
from server.ingest import ingest
from server.limits import HostileJson, LimitsMiddleware, Throttle, check_json
from server.live import LiveHub
from server.live.routes import install_live
from server.settings import ServerSettings, load

bearer = HTTPBearer(auto_error=False, description="a kiosk token or an admin token")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
KioskIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
ChangeNo = Annotated[int, Query(ge=0, le=2**53, description="the change number the kiosk holds; 0 = none")]
IfNoneMatch = Annotated[str | None, Header(max_length=200)]

# The public receipt page: no scripts, no framing, no referrer, not cached (the token is the only key).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

THROTTLED = {429: {"model": Problem, "description": "too many failures from this client address: wait for "
                                                   "Retry-After seconds",
                   "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}}}
REFUSED = {401: {"model": Problem, "description": "missing or unknown token"},
           403: {"model": Problem, "description": "the token belongs to another kiosk, is not an admin token, or "
                                                  "its kiosk is disabled"},
           **THROTTLED}
TOO_LARGE = {413: {"model": Problem, "description": "the request body is over this route's size limit"},
             408: {"model": Problem, "description": "the request body did not arrive within the body timeout"}}


def _short(value, limit: int = 200) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


class CheckedRoute(APIRoute):
    """Refuses NaN, Infinity and lone surrogates in JSON bodies (422) before FastAPI parses them; only on
    routes with a declared body, which FastAPI reads before the token anyway (the middleware has refused
    token-less bodies and capped the size already)."""

    def get_route_handler(self):
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def checked(request: Request):
            try:
                check_json(await request.body())
            except HostileJson as exc:
                return JSONResponse({"detail": [{"type": "value_error", "loc": ["body"], "msg": str(exc)}]}, 422)
            return await handler(request)
        return checked


class Enrolment(BaseModel):
    kiosk_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    name: Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")] = ""


class Enrolled(BaseModel):
    kiosk_id: str
    token: str


class LoadResult(BaseModel):
    version: int
    changed: int
    deleted: int


class Health(BaseModel):
    status: str


def create_app(settings: ServerSettings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or load()
    engine = engine or make_engine(settings.url)
    # The interactive docs pages load scripts from a CDN and show the API to anyone: off unless asked for
    # (KSERVER_API_DOCS=1); the OpenAPI JSON stays, clients and the tests read it.
    app = FastAPI(title="Kiosk central server", version="1", openapi_url="/v1/openapi.json",
                  docs_url="/v1/docs" if settings.api_docs else None,
                  redoc_url="/v1/redoc" if settings.api_docs else None)
    app.router.route_class = CheckedRoute
    throttle = Throttle(settings.failure_burst, settings.failure_refill_s)
    live_tokens = RecentTokens(settings.live_token_cache_s)

    def gate(client: str, token: str):
        """For the middleware, before a body is read: None if the token is any known one (the route's own
        dependency then decides what it may do), else the 401 / 429 to answer with."""
        if admin_hash and hmac.compare_digest(admin_hash, hmac.new(b"admin", token.encode("utf-8", "surrogatepass"),
                                                                   "sha256").digest()):
            return None
        with engine.connect() as conn:
            kiosk = fleet.kiosk_by_token(conn, token)
            if kiosk is not None and not kiosk[1]:
                live_tokens.put(token, kiosk[0])  # the live routes need not look it up again
            if kiosk is not None or fleet.admin_token_name(conn, token) is not None:
                return None
        wait = throttle.fail(client)
        if wait:
            return 429, "too many failed attempts from this address; retry later", {"Retry-After": str(wait)}
        return 401, "unknown token", {"WWW-Authenticate": "Bearer"}

    gate.quick = live_tokens.get
    app.add_middleware(LimitsMiddleware, settings=settings, gate=gate)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 without the input (it may be huge, or hold NaN or lone surrogates that JSON cannot carry)."""
        errors = [{"type": _short(e.get("type", ""), 64), "loc": [_short(part, 64) for part in e.get("loc", ())][:16],
                   "msg": _short(e.get("msg", ""))} for e in exc.errors()[:50]]
        return JSONResponse({"detail": errors}, status_code=422)

    def throttled(request: Request) -> None:
        """Counts a failure of this client; 429 once its bucket is empty."""
        wait = throttle.fail(request.client.host if request.client else "")
        if wait:
            raise HTTPException(429, "too many failed attempts from this address; retry later",
                                headers={"Retry-After": str(wait)})
    admin_hash = hmac.new(b"admin", settings.admin_token.encode(), "sha256").digest() if settings.admin_token else None

    def refuse(status: int, detail: str):
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return HTTPException(status, detail, headers=headers)

    def token_of(request: Request, creds: HTTPAuthorizationCredentials | None) -> str:
        if creds is None or not creds.credentials:
            throttled(request)
            raise refuse(401, "missing bearer token")
        return creds.credentials

    def as_kiosk(kiosk_id: KioskIdPath, request: Request, creds: Credentials) -> str:
        """The kiosk named in the path, if the token is that kiosk's own."""
        owner = any_kiosk(request, creds)
        if owner != kiosk_id:
            raise refuse(403, f"this token does not belong to kiosk {kiosk_id}")
        return kiosk_id

    def any_kiosk(request: Request, creds: Credentials) -> str:
        token = token_of(request, creds)
        with engine.connect() as conn:
            found = fleet.kiosk_by_token(conn, token)
        if found is None:
            throttled(request)
            raise refuse(401, "unknown kiosk token")
        owner, disabled = found
        if disabled:
            raise refuse(403, f"kiosk {owner} is disabled")
        return owner

    def admin(request: Request, creds: Credentials) -> str:
        token = token_of(request, creds)
        if admin_hash and hmac.compare_digest(admin_hash, hmac.new(b"admin", token.encode("utf-8", "surrogatepass"),
                                                                   "sha256").digest()):
            return "admin (KSERVER_ADMIN_TOKEN)"
        with engine.connect() as conn:
            name = fleet.admin_token_name(conn, token)
            if name is not None:
                return f"admin token {name}"
            if fleet.kiosk_by_token(conn, token) is not None:
                raise refuse(403, "a kiosk token cannot do admin operations")
        throttled(request)
        raise refuse(401, "unknown admin token")

    Kiosk = Annotated[str, Depends(as_kiosk)]
    AnyKiosk = Annotated[str, Depends(any_kiosk)]
    Admin = Annotated[str, Depends(admin)]
    release_routes.add_routes(app, engine, Kiosk, REFUSED)  # issue 17: what a kiosk should run

    @app.get("/v1/health", response_model=Health)
    def health() -> Health:
        return Health(status="ok")

    @app.post("/v1/kiosks/{kiosk_id}/transactions", response_model=BatchReply,
              responses={409: {"model": ConflictReply, "description": "a record conflicts with one already held"},
                         **REFUSED, **TOO_LARGE},
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/TransactionBatch"}}}}})
    async def post_transactions(kiosk_id: Kiosk, request: Request):
        # Parsed by pydantic straight from the bytes: about twice as fast as FastAPI's json.loads + validation.
        body = await request.body()
        try:
            check_json(body)
        except HostileJson as exc:
            raise RequestValidationError([{"type": "value_error", "loc": ("body",), "msg": str(exc)}]) from None
        try:
            batch = TransactionBatch.model_validate_json(body)
        except ValidationError as exc:
            raise RequestValidationError([{"type": e["type"], "loc": ("body", *e["loc"]), "msg": e["msg"]}
                                          for e in exc.errors(include_url=False)]) from None
        reply = await run_in_threadpool(ingest, engine, kiosk_id, batch.records)
        reply = reply.model_copy(update={"server_time": now()})  # the kiosk checks its clock against it
        if isinstance(reply, ConflictReply):
            return JSONResponse(reply.model_dump(exclude_none=True), status_code=409)
        if reply.accepted:
            await insight_alerts.check_quietly(request.app, kiosk_id)  # the batch is held whatever this finds
        return reply

    @app.get("/v1/kiosks/{kiosk_id}/sync-state", response_model=SyncState, responses=REFUSED)
    def sync_state(kiosk_id: Kiosk) -> SyncState:
        with engine.connect() as conn:
            row = conn.execute(sa.select(kiosks.c.held_through, kiosks.c.max_seq)
                               .where(kiosks.c.id == kiosk_id)).one()
        return SyncState(kiosk_id=kiosk_id, held_through=row.held_through, max_seq=row.max_seq, server_time=now())

    @app.post("/v1/kiosks/{kiosk_id}/heartbeat", response_model=HeartbeatReply, responses={**REFUSED, **TOO_LARGE})
    def post_heartbeat(kiosk_id: Kiosk, beat: Heartbeat) -> HeartbeatReply:
        with writing(engine) as conn:
            fleet.heartbeat(conn, kiosk_id, beat)
        return HeartbeatReply(server_time=now())

    @app.get("/v1/kiosks/{kiosk_id}/config", response_model=KioskConfig,
             responses={304: {"description": "not modified"}, **REFUSED})
    def get_config(kiosk_id: Kiosk, response: Response, if_none_match: IfNoneMatch = None):
        with engine.connect() as conn:
            config = fleet.get_config(conn, kiosk_id)
        return _tagged(response, f'"config-{config.version}"', if_none_match, config)

    def delta_route(dataset: datasets.DataSet):
        def pull(_kiosk: AnyKiosk, response: Response, since: ChangeNo = 0, if_none_match: IfNoneMatch = None):
            with engine.connect() as conn:
                current = datasets.version(conn, dataset.name)
                etag = f'"{dataset.name}-{current}"'
                if if_none_match == etag and since == current:
                    return Response(status_code=304, headers={"ETag": etag})
                delta = datasets.delta(conn, dataset, since, settings.full_after)
            return _tagged(response, f'"{dataset.name}-{delta.version}"', None, delta)
        pull.__name__ = f"get_{dataset.name}"
        pull.__doc__ = f"The {dataset.name} changes since a change number (with deletions), or a full snapshot."
        app.get(f"/v1/{dataset.name}", response_model=Delta,
                responses={304: {"description": "not modified"}, **REFUSED})(pull)

    delta_route(datasets.CATALOG)
    delta_route(datasets.BOOKINGS)

    @app.get("/v1/receipts/{token}", response_model=Receipt, responses={404: {"model": Problem}, **THROTTLED})
    def get_receipt(token: Annotated[str, Path(max_length=200)], request: Request, response: Response) -> Receipt:
        """Public: the receipt QR code's target. Shows no card data beyond brand and last 4 digits."""
        response.headers.update({k: PAGE_HEADERS[k] for k in ("X-Content-Type-Options", "Cache-Control",
                                                               "Referrer-Policy")})
        with engine.connect() as conn:
            found = fleet.receipt(conn, token)
        if found is None:
            throttled(request)
            raise HTTPException(404, "no receipt with this token")
        return found

    @app.get("/r/{token}", response_class=HTMLResponse, include_in_schema=False)
    def receipt_page(token: str, request: Request) -> HTMLResponse:
        with engine.connect() as conn:
            found = fleet.receipt(conn, token)
        if found is None:
            throttled(request)
            return HTMLResponse("<h1>Receipt not found</h1>", status_code=404, headers=PAGE_HEADERS)
        return HTMLResponse(_receipt_html(found), headers=PAGE_HEADERS)

    @app.get("/v1/admin/fleet", response_model=FleetStatus, responses=REFUSED)
    def fleet_status(_admin: Admin) -> FleetStatus:
        with engine.connect() as conn:
            return fleet.status(conn)

    @app.get("/v1/admin/kiosks/{kiosk_id}/transactions", response_model=HeldPage, responses=REFUSED)
    def held(_admin: Admin, kiosk_id: KioskIdPath, after_seq: ChangeNo = 0,
             limit: Annotated[int, Query(ge=1, le=10000)] = 1000) -> HeldPage:
        with engine.connect() as conn:
            return fleet.held_records(conn, kiosk_id, after_seq, limit)

    @app.post("/v1/admin/kiosks", response_model=Enrolled,
              responses={409: {"model": Problem}, **REFUSED, **TOO_LARGE})
    def enroll(actor: Admin, body: Enrolment) -> Enrolled:
        try:
            with writing(engine) as conn:
                token = fleet.enroll(conn, body.kiosk_id, body.name)
                fleet.audit(conn, actor, "enroll", kiosk_id=body.kiosk_id)
        except fleet.AdminError as exc:
            raise HTTPException(409, str(exc)) from None
        return Enrolled(kiosk_id=body.kiosk_id, token=token)

    def load_route(dataset: datasets.DataSet, row_model: type[BaseModel]):
        def put(actor: Admin, rows: list[row_model], replace: bool = True) -> LoadResult:
            try:
                items = datasets.check_items([row.model_dump(exclude_none=True) for row in rows], dataset,
                                             "request body")
            except datasets.LoadError as exc:
                raise HTTPException(422, str(exc)) from None
            with writing(engine) as conn:
                result = datasets.load(conn, dataset, items, replace)
                fleet.audit(conn, actor, f"load-{dataset.name}", items=len(items), replace=replace, **result)
            return LoadResult(**result)
        put.__name__ = f"put_{dataset.name}"
        app.put(f"/v1/admin/{dataset.name}", response_model=LoadResult,
                responses={422: {"model": Problem}, **REFUSED, **TOO_LARGE})(put)

    load_route(datasets.CATALOG, CatalogRow)
    load_route(datasets.BOOKINGS, BookingRow)

    @app.put("/v1/admin/kiosks/{kiosk_id}/config", response_model=KioskConfig,
             responses={404: {"model": Problem}, **REFUSED, **TOO_LARGE})
    def put_config(actor: Admin, kiosk_id: KioskIdPath, config: dict[str, object]) -> KioskConfig:
        try:
            with writing(engine) as conn:
                fleet.set_config(conn, kiosk_id, config)
                fleet.audit(conn, actor, "set-config", kiosk_id=kiosk_id)
                return fleet.get_config(conn, kiosk_id)
        except fleet.AdminError as exc:
            raise HTTPException(404, str(exc)) from None

    from server import insight_api
    insight_api.add_routes(app, engine, Admin)

    def openapi() -> dict:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, routes=app.routes)
            _, defs = models_json_schema([(TransactionBatch, "validation")],
                                         ref_template="#/components/schemas/{model}")
            schemas = document["components"]["schemas"]
            for name, schema in defs["$defs"].items():
                schemas.setdefault(name, schema)
            app.openapi_schema = document
        return app.openapi_schema
    app.openapi = openapi
    app.state.engine = engine
    from server.console.web import mount
    mount(app, engine, settings)
    install_live(app, LiveHub(engine, settings), any_kiosk, admin, live_tokens, CheckedRoute, REFUSED, TOO_LARGE)
    return app


def _tagged(response: Response, etag: str, if_none_match: str | None, body):
    if if_none_match == etag:
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return body


def _when(device_time: str) -> str:
    """The kiosk's local time of the sale as people write it: "23.11.2026 12:00" (the ISO text if unreadable)."""
    try:
        return f"{datetime.fromisoformat(device_time):%d.%m.%Y %H:%M}"
    except ValueError:
        return device_time


def _receipt_html(r: Receipt) -> str:
    cur = html.escape(r.currency)

    def e(text: str) -> str:  # escaped, and no bidi override can make a line read differently
        return html.escape(neutralise_bidi(text))

    def money(minor: int) -> str:  # the page is in English; the currency's own decimals (JPY 0, KWD 3)
        return format_amount(minor, r.currency, "en", symbol=False)

    shop = e(r.shop_name or r.kiosk_id)
    lines = "".join(f"<tr><td>{e(l.name)}{' (void)' if l.voided else ''}</td><td class=n>{l.quantity}</td>"
                    f"<td class=n>{money(l.total)}</td><td>{e(l.vat_code)}</td></tr>" for l in r.lines)
    vat = "".join(f"<tr class=vat-rate><td>{e(v.code)}</td><td class=n>{v.rate // 100}.{v.rate % 100:02d} %</td>"
                  f"<td class=n>{money(v.net)}</td><td class=n>{money(v.vat)}</td><td class=n>{money(v.gross)}</td></tr>"
                  for v in r.vat)
    vat_total = (f"<tr class=vat-total><th>Total</th><td></td><th class=n>{money(sum(v.net for v in r.vat))}</th>"
                 f"<th class=n>{money(sum(v.vat for v in r.vat))}</th><th class=n>{money(sum(v.gross for v in r.vat))}"
                 f"</th></tr>")
    pays = "".join(f"<li>{e(p.brand or p.method)} {'•••• ' + e(p.card_last4) if p.card_last4 else ''}: "
                   f"{money(p.amount)} {cur} ({e(p.status)})</li>" for p in r.payments)
    return (f"<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width, initial-scale=1'>"
            f"<title>Receipt · {shop}</title><style>body{{font-family:sans-serif;max-width:32em;margin:1em auto;"
            f"padding:0 1em}}table{{width:100%;border-collapse:collapse}}td,th{{padding:.2em .4em;text-align:left}}"
            f".n{{text-align:right}}</style>"
            f"<h1 class=shop>{shop}</h1><p class=when>{e(_when(r.device_time))} · {e(r.kiosk_id)}</p>"
            f"<table class=lines>{lines}</table>"
            f"<p class=total><b>Total {money(r.total)} {cur}</b></p>"
            f"<table class=vat><tr><th>VAT</th><th class=n>rate</th><th class=n>net</th><th class=n>VAT</th>"
            f"<th class=n>gross</th></tr>{vat}{vat_total}</table>"
            f"<ul class=payments>{pays}</ul>")
