"""LiveHub: the kiosks' live lanes, the interventions and the attendants' commands, for every server process.

Each write is a transaction in server/live/store.py that lists what it changed. On PostgreSQL those notes are
NOTIFYed on channel `kiosk_live` inside the transaction (so they go out at commit) and every process hears
them, its own included, on one dedicated LISTEN connection (server/live/bus.py); on SQLite (one process) they
are handed to the listeners in memory after the commit. Listeners: subscribe() (the consoles), the kiosks'
command streams held by this process, and command() waiting for a kiosk's answer.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from datetime import datetime, timedelta, timezone
from typing import Collection, get_args

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from kiosk.wire import CommandKind, CommandResult, LiveState

from server.db import kiosks, make_engine, now as db_now, writing
from server.live import store
from server.live.bus import PgListener, payload
from server.live.model import Change, CommandRecord, Intervention, Lane
from server.settings import ServerSettings

log = logging.getLogger("kserver.live")
SWEEP_S = 1.0
FLUSH_GAP_S = 0.02
KINDS = get_args(CommandKind)


class Stream:
    """One kiosk's command stream held by this process: LiveCommand JSON texts to send, None to end it."""

    def __init__(self, kiosk_id: str, token_key: str | None = None):
        self.kiosk_id, self.id, self.token_key = kiosk_id, uuid.uuid4().hex, token_key  # the token's hash
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.sent: set[str] = set()

    def offer(self, ident: str, text: str) -> None:
        if ident not in self.sent:
            self.sent.add(ident)
            self.queue.put_nowait(text)


class Subscription:
    """Changes not yet taken, folded (a lane that changed 3 times before the reader came back is one change).
    Registered from its creation on; ends with aclose() or when dropped (the hub holds it weakly)."""

    def __init__(self, hub: "LiveHub"):
        self.hub = hub
        self.pending: dict[Change, None] = {}
        self.ready = asyncio.Event()
        self.batch: list[Change] = []
        hub.subscribers.add(self)

    def put(self, change: Change) -> None:
        self.pending[change] = None
        self.ready.set()

    def __aiter__(self) -> "Subscription":
        return self

    async def __anext__(self) -> Change:
        while not self.batch:
            await self.ready.wait()
            self.ready.clear()
            self.batch, self.pending = list(self.pending), {}
        return self.batch.pop(0)

    async def take(self) -> list[Change]:
        """Every change not yet taken (at least one; waits for it): a reader that writes them out together
        pays once per wake-up rather than once per change. Safe to cancel."""
        while not self.batch and not self.pending:
            await self.ready.wait()
            self.ready.clear()
        taken = self.batch + [c for c in self.pending if c not in self.batch]
        self.batch, self.pending = [], {}
        return taken

    async def aclose(self) -> None:
        self.hub.subscribers.discard(self)


class LiveHub:
    def __init__(self, engine: Engine, settings: ServerSettings):
        self.engine, self.settings = engine, settings
        self.postgres = engine.dialect.name == "postgresql"
        self.fast = _fast_engine(engine)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.streams: dict[str, list[Stream]] = {}
        self.subscribers: weakref.WeakSet[Subscription] = weakref.WeakSet()
        self.waiters: dict[str, asyncio.Event] = {}
        self.tasks: set[asyncio.Task] = set()
        self.listener: PgListener | None = None
        self.incoming: list[tuple[str, LiveState, asyncio.Future]] = []
        self.flushing: asyncio.Task | None = None
        self._next_flush = 0.0
        self.held: dict = {}  # kiosk -> (boot_id, seq, LiveState) last written here: not parsed back each time
        self._last_lease = 0.0
        self.tokens = None  # server.auth.RecentTokens of the kiosks' live routes (install_live sets it)

    # -- life cycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.loop is not None:
            return
        self.loop = asyncio.get_running_loop()
        if self.postgres:
            self.listener = PgListener(self.engine.url, self._heard, self._resync)
            await self.listener.start()
        self._spawn(self._sweeper())

    async def stop(self) -> None:
        open_streams = [s for streams in self.streams.values() for s in streams]
        for stream in open_streams:
            stream.queue.put_nowait(None)
        self.streams.clear()
        for task in list(self.tasks):
            task.cancel()
        for stream in open_streams:  # offline now rather than when the lease lapses
            try:
                await run_in_threadpool(self._write_sync, store.stream_closed, stream.kiosk_id, stream.id, db_now())
            except Exception:
                log.exception("live channel: could not mark %s offline", stream.kiosk_id)
        if self.listener is not None:
            await self.listener.stop()
        self.loop = None

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # -- reads (sync: the console's pages call them from their routes) --------------------------------------

    def lanes(self, kiosk_ids: Collection[str] | None = None) -> list[Lane]:
        with self.engine.connect() as conn:
            return store.lanes(conn, kiosk_ids)

    def interventions(self, kiosk_ids: Collection[str] | None = None,
                      include_resolved: bool = False) -> list[Intervention]:
        with self.engine.connect() as conn:
            return store.interventions(conn, kiosk_ids, include_resolved)

    def command_record(self, ident: str) -> CommandRecord | None:
        with self.engine.connect() as conn:
            return store.command(conn, ident)

    # -- writes ---------------------------------------------------------------------------------------------

    async def _write(self, fn, *args, durable: bool = True):
        await self.start()
        return await run_in_threadpool(self._write_sync, fn, *args, durable=durable)

    def _write_sync(self, fn, *args, durable: bool = True):
        """`durable=False` for the frequent, ephemeral writes (states, streams, sweeps): committed without
        waiting for the disk (SQLite synchronous=NORMAL, PostgreSQL synchronous_commit=off), which a state a
        second from each of 500 kiosks needs; commands, acknowledgements and resolutions wait for it."""
        notes: list[store.Note] = []
        with writing(self.engine if durable else self.fast) as conn:
            if self.postgres and not durable:
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            result = fn(conn, *args, notes)
            if self.postgres and notes:  # one statement for the whole batch's notes
                conn.exec_driver_sql("SELECT pg_notify('kiosk_live', p) FROM unnest(%(ps)s::text[]) AS p",
                                     {"ps": [payload(note) for note in dict.fromkeys(notes)]})
        if not self.postgres and notes and self.loop is not None:
            self.loop.call_soon_threadsafe(self._heard_all, notes)
        return result

    async def post_state(self, kiosk_id: str, state: LiveState) -> bool:
        """Stored (False: ignored as older) once the batch it joined is committed. The states that arrive while
        one batch is written form the next: one transaction for many kiosks (group commit)."""
        await self.start()
        done = self.loop.create_future()
        self.incoming.append((kiosk_id, state, done))
        if self.flushing is None or self.flushing.done():
            self.flushing = self._spawn(self._flush_states())
        return await done

    async def _flush_states(self) -> None:
        while self.incoming:
            wait = self._next_flush - self.loop.time()
            if wait > 0:  # at most one state transaction per FLUSH_GAP_S: bigger batches, less CPU per state
                await asyncio.sleep(wait)
            self._next_flush = self.loop.time() + FLUSH_GAP_S
            batch, self.incoming = self.incoming, []
            try:
                applied = await self._write(store.post_states, [(k, s) for k, s, _ in batch], db_now(),
                                            self.settings.live_outbox_alert, self.held, durable=False)
            except Exception as exc:
                for *_, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (*_, done), ok in zip(batch, applied):
                if not done.done():
                    done.set_result(ok)

    async def acknowledge(self, intervention_id: int, by: str) -> Intervention:
        done = await self._write(store.acknowledge, intervention_id, by, db_now())
        if done.kind == "help":
            await self.command(done.kiosk_id, "help_acknowledged", by, done.session_id, wait_s=0)
        return done

    async def resolve(self, intervention_id: int, by: str) -> Intervention:
        done = await self._write(store.resolve, intervention_id, by, db_now())
        if done.kind == "help":
            await self.command(done.kiosk_id, "help_resolved", by, done.session_id, wait_s=0)
        return done

    async def command(self, kiosk_id: str, kind: str, by: str, session_id: str | None = None, reason: str = "",
                      wait_s: float = 5.0, ttl_s: float | None = None) -> CommandRecord:
        """Records and sends the command; returns its record once the kiosk answered, it expired or `wait_s`
        ran out (outcome "pending" then). Raises AlreadyTaken, UnknownKiosk, ValueError (unknown kind)."""
        if kind not in KINDS:
            raise ValueError(f"unknown command kind {kind!r}; expected one of {', '.join(KINDS)}")
        await self.start()
        ident = uuid.uuid4().hex
        issued = datetime.now(timezone.utc)
        expires = store.stamp(issued + timedelta(seconds=ttl_s or self.settings.live_command_ttl_s))
        waiter = self.waiters[ident] = asyncio.Event()
        try:
            record = await self._write(store.issue, ident, kiosk_id, kind, by, session_id, reason,
                                       store.stamp(issued), expires)
            deadline = self.loop.time() + wait_s
            while record.outcome == "pending" and (left := deadline - self.loop.time()) > 0:
                try:
                    await asyncio.wait_for(waiter.wait(), left)
                except asyncio.TimeoutError:
                    break
                waiter.clear()
                record = await run_in_threadpool(self.command_record, ident)
            return record
        finally:
            self.waiters.pop(ident, None)

    async def answer(self, kiosk_id: str, ident: str, result: CommandResult) -> CommandRecord:
        """The kiosk's answer. Raises store.NotYours (404) or store.Answered (409)."""
        return await self._write(store.answer, kiosk_id, ident, result, db_now())

    # -- the kiosks' command streams ------------------------------------------------------------------------

    async def open_stream(self, kiosk_id: str, token_key: str | None = None) -> Stream:
        """Registers a command stream (ending an older one of the same kiosk on this process), marks the lane
        connected and queues every unexpired, unanswered command. `token_key`: the hash of the token it was
        opened with; the stream ends when the kiosk's token is no longer that one."""
        await self.start()
        stream = Stream(kiosk_id, token_key)
        for old in self.streams.get(kiosk_id, []):
            old.queue.put_nowait(None)
        self.streams[kiosk_id] = [stream]
        await self._write(store.stream_opened, kiosk_id, stream.id, db_now(), durable=False)
        await self._deliver_pending(stream)
        return stream

    def close_stream(self, stream: Stream) -> None:
        """Synchronous (called while the response is being cancelled); the lane goes offline in a task."""
        streams = self.streams.get(stream.kiosk_id, [])
        if stream in streams:
            streams.remove(stream)
            if not streams:
                del self.streams[stream.kiosk_id]
        if self.loop is not None:
            self._spawn(self._write(store.stream_closed, stream.kiosk_id, stream.id, db_now(), durable=False))

    async def _deliver_pending(self, stream: Stream) -> None:
        def read():
            with self.engine.connect() as conn:
                return store.pending(conn, stream.kiosk_id, db_now())
        for row in await run_in_threadpool(read):
            stream.offer(row.id, store.live_command_json(row))

    async def _deliver(self, kiosk_id: str, ident: str) -> None:
        def read():
            with self.engine.connect() as conn:
                return store.command_row(conn, ident)
        row = await run_in_threadpool(read)
        if row is not None and row.outcome == "pending" and row.expires_at > db_now():
            for stream in self.streams.get(kiosk_id, []):
                stream.offer(ident, store.live_command_json(row))

    def revoke(self, kiosk_id: str) -> None:
        """The kiosk was disabled: its command streams on this process end now and its cached tokens go (a
        reconnect is then refused 403 by the database)."""
        for stream in self.streams.get(kiosk_id, []):
            stream.queue.put_nowait(None)
        if self.tokens is not None:
            self.tokens.forget(kiosk_id)

    async def _check_revoked(self) -> None:
        """Kiosks disabled or given a new token since their stream opened or their token was cached: streams
        ended, tokens dropped. The CLI disables from another process, which on SQLite nothing announces."""
        cached = self.tokens.owners() if self.tokens is not None else {}
        ids = sorted(set(self.streams) | set(cached))
        if not ids:
            return

        def read():
            with self.engine.connect() as conn:
                return {row.id: (row.token_hash, bool(row.disabled)) for row in conn.execute(
                    sa.select(kiosks.c.id, kiosks.c.token_hash, kiosks.c.disabled).where(kiosks.c.id.in_(ids)))}
        held = await run_in_threadpool(read)
        for kiosk_id in ids:
            token_key, disabled = held.get(kiosk_id, (None, True))
            if disabled:
                self.revoke(kiosk_id)
                continue
            for stream in self.streams.get(kiosk_id, []):
                if stream.token_key is not None and stream.token_key != token_key:
                    stream.queue.put_nowait(None)
            if self.tokens is not None and cached.get(kiosk_id, set()) - {token_key}:
                self.tokens.forget(kiosk_id, keep=token_key)

    # -- changes --------------------------------------------------------------------------------------------

    def subscribe(self) -> Subscription:
        """Every change to a lane or an intervention, on any process, from this call on (an async iterator;
        aclose() it, or drop it, when done)."""
        return Subscription(self)

    def _heard_all(self, notes: list[store.Note]) -> None:
        for note in dict.fromkeys(notes):
            self._heard(note)

    def _heard(self, note: store.Note) -> None:
        kind, kiosk_id, ident = note
        if kind == "revoked":  # and the boards re-render the lane (disabled) at once
            self.revoke(kiosk_id)
            kind, ident = "lane", None
        if kind == "command":
            if ident in self.waiters:
                self.waiters[ident].set()
            if kiosk_id in self.streams:
                self._spawn(self._deliver(kiosk_id, ident))
            return
        change = Change(kind, kiosk_id, int(ident) if ident is not None else None)
        for sub in list(self.subscribers):
            sub.put(change)

    async def _resync(self) -> None:
        """After the LISTEN connection was lost: notifications may have been missed."""
        for lane in await run_in_threadpool(self.lanes):
            self._heard(("lane", lane.kiosk_id, None))
        for streams in list(self.streams.values()):
            for stream in streams:
                await self._deliver_pending(stream)
        for event in self.waiters.values():
            event.set()

    async def _sweeper(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                await self._check_revoked()
                if self.loop.time() - self._last_lease >= self.settings.live_ping_s / 2:
                    self._last_lease = self.loop.time()
                    ids = [s.id for streams in self.streams.values() for s in streams]
                    if ids:
                        await self._write(lambda conn, _notes: store.streams_alive(conn, ids, db_now()),
                                          durable=False)
                await self._write(store.sweep, db_now(), self.settings.live_lease_s,
                                  self.settings.live_offline_minutes * 60, durable=False)
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup must not end the sweeping
                log.exception("live channel sweep failed")



def _fast_engine(engine: Engine) -> Engine:
    """SQLite: a second engine on the same file whose commits do not wait for fsync (WAL, synchronous=NORMAL:
    a power cut may lose the last moments, never consistency); it queues on the same writer lock."""
    if engine.dialect.name != "sqlite":
        return engine
    fast = make_engine(engine.url.render_as_string(hide_password=False))

    @sa.event.listens_for(fast, "connect")
    def _normal(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")
    fast.info_write_lock = engine.info_write_lock
    return fast
