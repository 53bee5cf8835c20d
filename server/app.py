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
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
import sqlalchemy as sa
from pydantic import BaseModel, Field, ValidationError
from pydantic.json_schema import models_json_schema
from sqlalchemy.engine import Engine

from kiosk.wire import (BatchReply, BookingRow, CatalogRow, ConflictReply, Delta, FleetStatus, HeldPage, Heartbeat,
                        HeartbeatReply, KioskConfig, Problem, Receipt, SyncState, TransactionBatch, format_amount)
from server import datasets, fleet
from server.checks import neutralise_bidi
from server.db import kiosks, make_engine, now, writing
from server.ingest import ingest
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

REFUSED = {401: {"model": Problem, "description": "missing or unknown token"},
           403: {"model": Problem, "description": "the token belongs to another kiosk, or is not an admin token"}}


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
    admin_hash = hmac.new(b"admin", settings.admin_token.encode(), "sha256").digest() if settings.admin_token else None

    def refuse(status: int, detail: str):
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return HTTPException(status, detail, headers=headers)

    def token_of(creds: HTTPAuthorizationCredentials | None) -> str:
        if creds is None or not creds.credentials:
            raise refuse(401, "missing bearer token")
        return creds.credentials

    def as_kiosk(kiosk_id: KioskIdPath, creds: Credentials) -> str:
        """The kiosk named in the path, if the token is that kiosk's own."""
        owner = any_kiosk(creds)
        if owner != kiosk_id:
            raise refuse(403, f"this token does not belong to kiosk {kiosk_id}")
        return kiosk_id

    def any_kiosk(creds: Credentials) -> str:
        token = token_of(creds)
        with engine.connect() as conn:
            owner = fleet.kiosk_for_token(conn, token)
        if owner is None:
            raise refuse(401, "unknown or disabled kiosk token")
        return owner

    def admin(creds: Credentials) -> str:
        token = token_of(creds)
        if admin_hash and hmac.compare_digest(admin_hash, hmac.new(b"admin", token.encode(), "sha256").digest()):
            return "admin (KSERVER_ADMIN_TOKEN)"
        with engine.connect() as conn:
            if fleet.is_admin(conn, token):
                return "admin token"
            if fleet.kiosk_for_token(conn, token) is not None:
                raise refuse(403, "a kiosk token cannot do admin operations")
        raise refuse(401, "unknown admin token")

    Kiosk = Annotated[str, Depends(as_kiosk)]
    AnyKiosk = Annotated[str, Depends(any_kiosk)]
    Admin = Annotated[str, Depends(admin)]

    @app.get("/v1/health", response_model=Health)
    def health() -> Health:
        return Health(status="ok")

    @app.post("/v1/kiosks/{kiosk_id}/transactions", response_model=BatchReply,
              responses={409: {"model": ConflictReply, "description": "a record conflicts with one already held"},
                         **REFUSED},
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/TransactionBatch"}}}}})
    async def post_transactions(kiosk_id: Kiosk, request: Request):
        # Parsed by pydantic straight from the bytes: about twice as fast as FastAPI's json.loads + validation.
        try:
            batch = TransactionBatch.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError([{"type": e["type"], "loc": ("body", *e["loc"]), "msg": e["msg"]}
                                          for e in exc.errors(include_url=False)]) from None
        reply = await run_in_threadpool(ingest, engine, kiosk_id, batch.records)
        if isinstance(reply, ConflictReply):
            return JSONResponse(reply.model_dump(), status_code=409)
        return reply

    @app.get("/v1/kiosks/{kiosk_id}/sync-state", response_model=SyncState, responses=REFUSED)
    def sync_state(kiosk_id: Kiosk) -> SyncState:
        with engine.connect() as conn:
            row = conn.execute(sa.select(kiosks.c.held_through, kiosks.c.max_seq)
                               .where(kiosks.c.id == kiosk_id)).one()
        return SyncState(kiosk_id=kiosk_id, held_through=row.held_through, max_seq=row.max_seq)

    @app.post("/v1/kiosks/{kiosk_id}/heartbeat", response_model=HeartbeatReply, responses=REFUSED)
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

    @app.get("/v1/receipts/{token}", response_model=Receipt, responses={404: {"model": Problem}})
    def get_receipt(token: Annotated[str, Path(max_length=200)], response: Response) -> Receipt:
        """Public: the receipt QR code's target. Shows no card data beyond brand and last 4 digits."""
        response.headers.update({k: PAGE_HEADERS[k] for k in ("X-Content-Type-Options", "Cache-Control",
                                                               "Referrer-Policy")})
        with engine.connect() as conn:
            found = fleet.receipt(conn, token)
        if found is None:
            raise HTTPException(404, "no receipt with this token")
        return found

    @app.get("/r/{token}", response_class=HTMLResponse, include_in_schema=False)
    def receipt_page(token: str) -> HTMLResponse:
        with engine.connect() as conn:
            found = fleet.receipt(conn, token)
        if found is None:
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

    @app.post("/v1/admin/kiosks", response_model=Enrolled, responses={409: {"model": Problem}, **REFUSED})
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
                responses={422: {"model": Problem}, **REFUSED})(put)

    load_route(datasets.CATALOG, CatalogRow)
    load_route(datasets.BOOKINGS, BookingRow)

    @app.put("/v1/admin/kiosks/{kiosk_id}/config", response_model=KioskConfig,
             responses={404: {"model": Problem}, **REFUSED})
    def put_config(actor: Admin, kiosk_id: KioskIdPath, config: dict[str, object]) -> KioskConfig:
        try:
            with writing(engine) as conn:
                fleet.set_config(conn, kiosk_id, config)
                fleet.audit(conn, actor, "set-config", kiosk_id=kiosk_id)
                return fleet.get_config(conn, kiosk_id)
        except fleet.AdminError as exc:
            raise HTTPException(404, str(exc)) from None

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
