"""The attendant console's pages under /console: login, the lane board and the interventions queue.

Server-rendered (Jinja2) with htmx; live updates arrive on one SSE stream per page (/console/events) that
sends the re-rendered lanes and queue when the live hub reports a change. Every state-changing request needs
the session's CSRF token (form field `csrf` or header X-CSRF-Token) and must not come from another site
(Sec-Fetch-Site / Origin)."""
from __future__ import annotations

import hmac
import logging
import secrets
from pathlib import Path

import jinja2
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from server import fleet
from server.console import users
from server.console.forms import form_of
from server.console.i18n import LANGUAGES, Catalogs, pick_language
from server.db import writing
from server.limits import Throttle
from server.settings import ServerSettings

log = logging.getLogger("kserver.console")
HERE = Path(__file__).parent
COOKIE, PRE_COOKIE, LANG_COOKIE = "kconsole", "kconsole_pre", "kconsole_lang"
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Console:
    """The console's shared parts: database, settings, templates, catalogs."""

    def __init__(self, engine: Engine, settings: ServerSettings):
        self.engine, self.settings = engine, settings
        self.catalogs = Catalogs()
        # failed logins per client address (the API's token bucket, with the console's own budget)
        self.login_throttle = Throttle(settings.console_login_burst, settings.console_login_refill_s)
        self.templates = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                            trim_blocks=True, lstrip_blocks=True)

    def language(self, request: Request) -> str:
        return pick_language(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))

    def render(self, request: Request, name: str, status: int = 200, **values) -> HTMLResponse:
        return HTMLResponse(self.fragment(request, name, **values), status_code=status, headers=HEADERS)

    def fragment(self, request: Request, name: str, **values) -> str:
        lang = self.language(request)
        tr = self.catalogs.get(lang)
        return self.templates.get_template(name).render(_=tr.gettext, ngettext=tr.ngettext, lang=lang,
                                                        languages=LANGUAGES, **values)

    def secure(self, request: Request) -> bool:
        return self.settings.console_https or request.url.scheme == "https"

    def session(self, request: Request, touch: bool = True) -> users.Session | None:
        with writing(self.engine) as conn:
            return users.session(conn, request.cookies.get(COOKIE, ""), self.settings.console_idle_s, touch)

    def allowed(self, user: users.User) -> set[str] | None:
        with self.engine.connect() as conn:
            return users.kiosk_ids_for(conn, user)

    def audit(self, user: users.User, action: str, **details) -> None:
        with writing(self.engine) as conn:
            fleet.audit(conn, f"console {user.name}", action, **details)


def same_site(request: Request, secure: bool) -> bool:
    """False for a request another site made the browser send (OWASP: Fetch metadata, then Origin)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    scheme = "https" if secure else request.url.scheme
    return origin == f"{scheme}://{request.headers.get('host', '')}"


def _login(engine: Engine, name: str, password: str, idle_s: float, client: str) -> users.LoginResult:
    with writing(engine) as conn:
        result = users.login(conn, name, password, idle_s, client)
        if result.cookie or result.locked_until:
            fleet.audit(conn, f"console {name}", "console-login" if result.cookie else "console-locked",
                        client=client)
    return result


def mount(app: FastAPI, engine: Engine, settings: ServerSettings) -> Console:
    from server.console import actions, board  # the routes, registered on one router below

    console = Console(engine, settings)
    router = APIRouter(include_in_schema=False)
    app.state.console = console

    @router.get("/console/login")
    def login_page(request: Request, error: str = "") -> HTMLResponse:
        pre = secrets.token_urlsafe(24)
        page = console.render(request, "login.html", csrf=pre, error=error)
        page.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="strict", secure=console.secure(request),
                        path="/console")
        return page

    @router.post("/console/login")
    async def login(request: Request) -> Response:
        form = await form_of(request)
        pre = request.cookies.get(PRE_COOKIE, "")
        if not same_site(request, console.secure(request)) or not pre or not hmac.compare_digest(
                pre, form.get("csrf", "")):
            raise HTTPException(403, "cross-site request or missing CSRF token")
        name, password = form.get("name", "")[:64], form.get("password", "")[:1024]
        client = request.client.host if request.client else ""  # X-Forwarded-For's from a trusted proxy
        tr = console.catalogs.get(console.language(request))
        wait = console.login_throttle.wait(client)
        if wait:  # refused before the password is looked at: not a failure of the account
            log.warning("console login from %s refused: too many failures from that address", client)
            page = console.render(request, "login.html", status=429, csrf=pre, error=tr.ngettext(
                "Too many failed logins from this address. Try again in {seconds} second.",
                "Too many failed logins from this address. Try again in {seconds} seconds.", wait).format(seconds=wait))
            page.headers["Retry-After"] = str(wait)
            return page
        result = await run_in_threadpool(_login, engine, name, password, settings.console_idle_s, client)
        if not result.cookie:
            console.login_throttle.fail(client)
            error = (tr.gettext("Too many failed logins: this account is locked on this device for 15 minutes.")
                     if result.locked_until else tr.gettext("Wrong name or password."))
            return console.render(request, "login.html", status=401, csrf=pre, error=error)
        reply = RedirectResponse("/console", status_code=303)
        reply.set_cookie(COOKIE, result.cookie, httponly=True, samesite="lax", secure=console.secure(request),
                         path="/console")
        reply.delete_cookie(PRE_COOKIE, path="/console")
        return reply

    @router.post("/console/logout")
    async def logout(request: Request) -> Response:
        session = await checked(request)
        with writing(engine) as conn:
            users.logout(conn, request.cookies.get(COOKIE, ""))
            fleet.audit(conn, f"console {session.user.name}", "console-logout")
        reply = RedirectResponse("/console/login", status_code=303)
        reply.headers["HX-Redirect"] = "/console/login"
        reply.delete_cookie(COOKIE, path="/console")
        return reply

    @router.post("/console/language")
    async def language(request: Request) -> Response:
        await checked(request)
        lang = (await form_of(request)).get("lang", "")
        if lang not in LANGUAGES:
            raise HTTPException(400, f"language {lang!r}: expected one of {', '.join(LANGUAGES)}")
        reply = RedirectResponse("/console", status_code=303)
        reply.set_cookie(LANG_COOKIE, lang, samesite="lax", secure=console.secure(request), path="/console",
                         max_age=365 * 86400)
        return reply

    async def checked(request: Request) -> users.Session:
        """The session of a state-changing request, after the site and CSRF checks (403 otherwise)."""
        session = await run_in_threadpool(console.session, request)
        if session is None:
            raise HTTPException(401, "not logged in (or the session expired)")
        if not same_site(request, console.secure(request)):
            raise HTTPException(403, "cross-site request refused")
        token = request.headers.get("x-csrf-token") or (await form_of(request)).get("csrf", "")
        if not hmac.compare_digest(token.encode(), session.csrf_token.encode()):
            raise HTTPException(403, "missing or wrong CSRF token")
        return session

    board.routes(router, console)
    from server.console import insight_page  # fleet insight (issue 16), managers and admins
    insight_page.routes(router, console)
    actions.routes(router, console, checked)
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
    return console
