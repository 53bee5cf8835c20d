"""Request limits (issue 14): body size per route, body read deadline, a header read deadline on the HTTP
protocol, hostile JSON (NaN, Infinity, lone surrogates) and a per-client token bucket for failures.

The body limits live in an ASGI middleware in front of FastAPI: a Content-Length over the route's limit is
answered 413 before a byte of the body is read, a chunked body is counted while it streams and cut off at
the limit; a body that is not complete within the body timeout is answered 408. Routes that need a token
are refused 401 there already when the request carries no bearer token at all.
"""
from __future__ import annotations

import asyncio
import json
import math
import re
import threading
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from uvicorn.protocols.http.h11_impl import H11Protocol

from server.settings import ServerSettings, load

MAX_HEADERS = 100
MAX_HEADER_BYTES = 64 * 1024  # request line + headers (h11 max_incomplete_event_size)
PUBLIC = ("/v1/health", "/v1/receipts/", "/r/", "/v1/openapi.json", "/v1/docs")


class BodyTooLarge(Exception):
    pass


class BodyTimeout(Exception):
    pass


LIVE_STATE_BYTES = 1024 * 1024  # a LiveState at its field limits, all \u-escaped (500 lines, 64 devices): ~0.8 MB
SMALL_BODY_BYTES = 8 * 1024  # a command, a command result, an attendant's name


def body_limit(settings: ServerSettings, method: str, path: str) -> int:
    if method == "POST" and path == "/v1/live/state":
        return LIVE_STATE_BYTES
    if method == "POST" and (path.startswith(("/v1/live/commands/", "/v1/admin/interventions/"))
                             or (path.startswith("/v1/admin/kiosks/") and path.endswith("/commands"))):
        return SMALL_BODY_BYTES
    if method == "POST" and path.startswith("/v1/kiosks/") and path.endswith("/transactions"):
        return settings.max_batch_bytes
    if method == "PUT" and path in ("/v1/admin/catalog", "/v1/admin/bookings"):
        return settings.max_load_bytes
    return settings.max_body_bytes


class LimitsMiddleware:
    def __init__(self, app, settings: ServerSettings, gate=None):
        """`gate(client, token)`: None if the token is known, else (status, detail, headers) to answer with."""
        self.app, self.settings, self.gate = app, settings, gate

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, method = scope["path"], scope["method"]
        if len(scope["headers"]) > MAX_HEADERS:
            return await _problem(send, 431, f"more than {MAX_HEADERS} request headers")
        headers = dict(scope["headers"])
        has_body = headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers
        if has_body and path.startswith("/v1/") and not path.startswith(PUBLIC):
            # the token before the body: FastAPI reads a declared body before it runs the token dependency
            authorization = headers.get(b"authorization", b"")
            if not authorization.lower().startswith(b"bearer "):
                return await _problem(send, 401, "missing bearer token", {"WWW-Authenticate": "Bearer"})
            if self.gate is not None:
                client = scope["client"][0] if scope.get("client") else ""
                token = authorization[7:].strip().decode("latin-1")
                quick = getattr(self.gate, "quick", None)  # a token known without the database: no thread hop
                refused = None if quick and quick(token) else await run_in_threadpool(self.gate, client, token)
                if refused is not None:
                    return await _problem(send, *refused)
        limit = body_limit(self.settings, method, path)
        try:
            length = int(headers.get(b"content-length", b"0"))
        except ValueError:
            length = 0
        if length > limit:
            return await _problem(send, 413, f"request body over {limit} bytes")
        deadline = time.monotonic() + self.settings.body_timeout
        received = 0
        started = complete = False

        async def limited_receive():
            nonlocal received, complete
            if complete:  # the body is in: what follows is the wait for a disconnect (long-lived streams)
                return await receive()
            remaining = deadline - time.monotonic()
            try:  # a timer, not wait_for's extra task per receive (every request's body passes here)
                async with asyncio.timeout(max(remaining, 0.001)):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
                complete = not message.get("more_body", False)
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _problem(send, 413, f"request body over {limit} bytes")
        except BodyTimeout:
            if not started:
                await _problem(send, 408, f"request body not complete within {self.settings.body_timeout:g} s")


async def _problem(send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
           (b"connection", b"close")]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


# -- hostile JSON ------------------------------------------------------------------------------------------

_SUSPECT = re.compile(rb"NaN|Infinity|\\u[dD][89a-fA-F]")


class HostileJson(ValueError):
    pass


def _no_constant(name: str):
    raise HostileJson(f"{name} is not valid JSON")


def check_json(body: bytes) -> None:
    """Raises HostileJson for NaN / Infinity / -Infinity or a lone surrogate; quick for ordinary bodies (one
    regex scan); a body that is not JSON at all is left to the normal validation."""
    if not _SUSPECT.search(body):
        return
    try:
        value = json.loads(body, parse_constant=_no_constant)
    except HostileJson:
        raise
    except ValueError:
        return
    _walk(value)


def _walk(value: Any) -> None:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise HostileJson("a string holds a lone surrogate (not valid Unicode)") from None
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, float) and not math.isfinite(v):
            raise HostileJson("numbers must be finite")


# -- throttling --------------------------------------------------------------------------------------------

class Throttle:
    """A token bucket per client address: `burst` failures, then one more every `refill_s` seconds."""

    def __init__(self, burst: int, refill_s: float, max_clients: int = 100_000):
        self.burst, self.refill_s, self.max_clients = burst, refill_s, max_clients
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def fail(self, client: str) -> int:
        """Counts a failure; returns 0 if it may be answered normally, else the seconds to wait (429)."""
        now = time.monotonic()
        with self.lock:
            level, at = self.buckets.get(client, (float(self.burst), now))
            level = min(float(self.burst), level + (now - at) / self.refill_s)
            if level >= 1:
                self.buckets[client] = (level - 1, now)
                if len(self.buckets) > self.max_clients:
                    self._prune(now)
                return 0
            self.buckets[client] = (level, now)
            return max(1, math.ceil((1 - level) * self.refill_s))

    def wait(self, client: str) -> int:
        """0 if the client's bucket holds a failure to spend, else the seconds until it does (nothing counted)."""
        now = time.monotonic()
        with self.lock:
            level, at = self.buckets.get(client, (float(self.burst), now))
        level = min(float(self.burst), level + (now - at) / self.refill_s)
        return 0 if level >= 1 else max(1, math.ceil((1 - level) * self.refill_s))

    def _prune(self, now: float) -> None:
        full = self.burst * self.refill_s
        for client, (_, at) in list(self.buckets.items()):
            if now - at > full:
                del self.buckets[client]


# -- header read deadline ----------------------------------------------------------------------------------

_header_timeout: float | None = None


def _timeout() -> float:
    global _header_timeout
    if _header_timeout is None:
        _header_timeout = load().header_timeout
    return _header_timeout


class LimitedH11Protocol(H11Protocol):
    """h11 with a deadline for the request line and headers: a connection that opens and sends nothing, or
    dribbles its headers a byte a second, is closed `KSERVER_HEADER_TIMEOUT` seconds after it opened (or
    after its previous response). uvicorn's keep-alive timeout alone restarts with every byte."""

    header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        if self.header_timer is None:
            self.header_timer = self.loop.call_later(_timeout(), self._header_deadline)

    def _disarm(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _header_deadline(self) -> None:
        self.header_timer = None
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self._arm()
        before = self.cycle
        super().data_received(data)
        if self.cycle is not before:
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)
