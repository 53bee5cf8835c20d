"""One dedicated LISTEN connection per server process (psycopg 3, autocommit): a connection that loops on
notifies() can run nothing else, and a pooled one would drop LISTEN when returned to the pool."""
from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.engine import URL

log = logging.getLogger("kserver.live")
CHANNEL = "kiosk_live"


def payload(note: tuple) -> str:
    """("intervention", "k-1", 7) -> "intervention|k-1|7" (kiosk ids hold no "|"; far below NOTIFY's 8000 bytes)."""
    kind, kiosk_id, ident = note
    return f"{kind}|{kiosk_id}|{'' if ident is None else ident}"


def parse_payload(text: str) -> tuple | None:
    with contextlib.suppress(ValueError):
        kind, kiosk_id, ident = text.split("|")
        if kind in ("lane", "intervention", "command", "revoked"):
            return kind, kiosk_id, (ident or None)
    return None


def announce_revoked(conn, kiosk_id: str) -> None:
    """The kiosk was disabled or its token replaced (the CLI's transaction): on PostgreSQL every server process
    hears it at commit and ends the kiosk's command streams at once. SQLite has one process, whose sweep
    finds it within a second (server/live/hub.py)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_notify(%(c)s, %(p)s)", {"c": CHANNEL, "p": payload(("revoked", kiosk_id, None))})


class PgListener:
    def __init__(self, url: URL, heard, resync):
        """`heard(note)` for every notification; `resync()` (a coroutine) after a lost connection came back."""
        self.dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.heard, self.resync = heard, resync
        self.task: asyncio.Task | None = None
        self.connected = asyncio.Event()
        self.conn = None

    async def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())
        try:
            await asyncio.wait_for(self.connected.wait(), 10)
        except asyncio.TimeoutError:
            log.error("live channel: no LISTEN connection yet; retrying in the background")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                pass

    async def _run(self) -> None:
        import psycopg

        backoff, first = 0.5, True
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
                    self.conn = conn
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.connected.set()
                    backoff = 0.5
                    if not first:
                        await self.resync()
                    first = False
                    async for notify in conn.notifies():
                        note = parse_payload(notify.payload)
                        if note is not None:
                            self.heard(note)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live channel: LISTEN connection lost (%s); reconnecting in %.1f s", exc, backoff)
            self.connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10)
