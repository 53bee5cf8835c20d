"""POST /v1/live/state without FastAPI's routing and dependency solving, for the ordinary case.

Every kiosk posts a state a second; at 500 kiosks FastAPI's per-request work (matching ~100 routes, solving
the token and body dependencies) was most of the server's CPU per update. This ASGI middleware sits inside
LimitsMiddleware (body size and deadline still apply) and answers 204 itself when the kiosk token is one
verified recently (the live routes' token cache), the body is `application/json` free of NaN, Infinity and
lone surrogates, and it is a valid LiveState. Anything else — an unknown or uncached token, bad JSON, an
invalid state — is handed on, body included, to the FastAPI route, which answers exactly as it always did
(401, 403, 422, …) and caches the token for the next time.
"""
from __future__ import annotations

from pydantic import ValidationError

from kiosk.wire import LiveState
from server.auth import RecentTokens
from server.limits import HostileJson, check_json

PATH = "/v1/live/state"
NO_CONTENT = {"type": "http.response.start", "status": 204, "headers": []}
EMPTY = {"type": "http.response.body", "body": b""}


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json"


class LiveStateFastPath:
    def __init__(self, app, hub, tokens: RecentTokens):
        self.app, self.hub, self.tokens = app, hub, tokens

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        authorization = content_type = None
        for name, value in scope["headers"]:  # the first of each, as Starlette reads them
            if name == b"authorization" and authorization is None:
                authorization = value
            elif name == b"content-type" and content_type is None:
                content_type = value
        owner = None
        if authorization is not None and authorization[:7].lower() == b"bearer ":
            owner = self.tokens.get(authorization[7:].strip().decode("latin-1"))
        is_json = content_type is not None and _is_json(content_type)
        if owner is None or not is_json:
            return await self.app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away mid-body: let the route see it
                return await self.app(scope, _replay([], message, receive), send)
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        state = _state(body)
        if state is None:
            return await self.app(scope, _replay(chunks, None, receive), send)
        await self.hub.post_state(owner, state)
        await send(NO_CONTENT)
        await send(EMPTY)


def _state(body: bytes) -> LiveState | None:
    try:
        check_json(body)
        return LiveState.model_validate_json(body)
    except (HostileJson, ValidationError, ValueError):
        return None


def _replay(chunks: list[bytes], last, receive):
    """The body already read, then whatever the connection says next."""
    queue = [{"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks]
    if last is not None:
        queue.append(last)
    elif queue:
        queue[-1]["more_body"] = False

    async def replayed():
        return queue.pop(0) if queue else await receive()
    return replayed
