"""The kiosk's sync client: a background thread between the journal and the central server.

Push: the outbox goes up in sequence order, one batch per request; only what the server says it
holds is deleted from the outbox, so a lost reply just means the batch is sent again (the server
deduplicates by (kiosk, seq) and uuid). Failures are retried forever with capped full-jitter backoff.
Everything lives in the journal, so a restart resumes where the last acknowledgment left off.

Pull: catalog, bookings and this kiosk's config, by change number with If-None-Match. Each delta is
applied in one local transaction (Catalog/Bookings.apply_changes): a crash leaves the old or the new
version. A full snapshot also deletes whatever the kiosk holds that the snapshot lacks.

Every request is built from the kiosk.wire models the server itself uses and every reply is validated
with them before anything is applied: a reply that does not validate is a SyncError naming what was
wrong (logged, retried with backoff like a network error), and nothing of it is acknowledged or applied.

Nothing here blocks the UI: the UI reads `status()` (a snapshot) or the STATUS events posted to
the event queue, and may call `wake()` after a sale to send it at once.
"""
from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from kiosk import clock as wall_clock

import httpx

from kiosk.events import ERROR, STATUS, EventQueue
from kiosk.sync_status import SyncStatus, backoff_delay  # noqa: F401 (tests import them from here)
from kiosk.sync_wire import (SyncError, _booking, _build, _catalog_row, _describe, _parse, _record_of,
                             _write_atomically)
from kiosk.wire import (BatchReply, ConflictReply, Delta, Heartbeat, HeartbeatReply, KioskConfig, OutboxEntry,
                        SyncState, TransactionBatch)

log = logging.getLogger("kiosk.sync")
SOURCE = "sync"
SKEW_LIMIT_S = 180  # a clock further off the server's than this is logged and shown to the technician
# httpx logs every request at INFO: with a poll every few seconds that buried the kiosk's log. The sync
# client logs what changes instead (offline, online again, backlog drained); requests only as warnings.
if logging.getLogger("httpx").level == logging.NOTSET:
    logging.getLogger("httpx").setLevel(logging.WARNING)


class SyncClient:
    def __init__(self, journal, *, server_url: str, token: str, kiosk_id: str,
                 batch_size: int = 100, interval_s: float = 5, timeout_s: float = 10,
                 backoff_base_s: float = 0.5, backoff_cap_s: float = 60, heartbeat_every_s: float = 60,
                 catalog: Callable[[], Any] | None = None, item_validator: Callable[[dict], tuple] | None = None,
                 bookings: Callable[[], Any] | None = None, config_path: str | Path | None = None,
                 on_config: Callable[[dict], None] | None = None, events: EventQueue | None = None,
                 app_version: str = "", device_states: Callable[[], dict[str, str]] = dict,
                 refused_limit_s: float = 600, wall: Callable[[], float] = wall_clock.time, fault: Callable[[], str | None] = lambda: None, monotonic: Callable[[], float] = time.monotonic,
                 http: httpx.Client | None = None, rng: random.Random | None = None):
        """`catalog` / `bookings` open the local stores (called on the sync thread, which then owns them);
        `item_validator` turns a server catalog row into Catalog.apply_changes' tuples (catalog.ItemValidator)."""
        if catalog is not None and item_validator is None:
            raise ValueError("a catalog needs an item_validator (kiosk.catalog.ItemValidator) to check server rows")
        self.journal, self.kiosk_id = journal, kiosk_id
        self.batch_size, self.interval_s = batch_size, interval_s
        self.backoff_base_s, self.backoff_cap_s, self.heartbeat_every_s = backoff_base_s, backoff_cap_s, heartbeat_every_s
        self._open_catalog, self._open_bookings = catalog, bookings
        self._catalog = self._bookings = None
        self.item_validator = item_validator
        self.config_path = Path(config_path) if config_path else None
        self.on_config, self.events = on_config, events
        self.app_version, self.device_states = app_version, device_states
        self.http = http or httpx.Client(timeout=timeout_s)
        self.http.base_url = server_url
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.rng = rng or random.Random()
        self._status = SyncStatus()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_heartbeat = 0.0
        self.refused_limit_s, self._monotonic, self.fault = refused_limit_s, monotonic, fault
        self._refused_since: float | None = None
        self._wall = wall
        self._continuation_checked = not getattr(journal, "fresh", False)

    # --- lifecycle (UI thread) ----------------------------------------------------------------

    def start(self) -> "SyncClient":
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sync", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def close(self) -> None:
        self.stop()
        for store in (self._catalog, self._bookings):
            if store is not None:
                store.close()
        self._catalog = self._bookings = None
        self.http.close()

    def wake(self) -> None:
        """Something new is in the outbox: send it now rather than at the next interval."""
        self._wake.set()

    def status(self) -> SyncStatus:
        with self._lock:
            return self._status

    # --- the loop (sync thread) ---------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync_once()
                delay = self.interval_s
            except Exception as exc:  # anything at all: report it, back off, try again; never die
                delay = self._failed(exc)
            self._wake.wait(delay)
            self._wake.clear()

    def sync_once(self) -> None:
        """One round: push the whole outbox, pull changes, heartbeat when due. Raises SyncError on failure."""
        while self.push_once():
            if self._stop.is_set():
                return
        self.pull_once()
        if time.monotonic() >= self._next_heartbeat:
            self.heartbeat()
            self._next_heartbeat = time.monotonic() + self.heartbeat_every_s
        self._succeeded()

    def push_once(self) -> bool:
        """Sends the oldest batch; True if it was acknowledged in full and more may be waiting."""
        if not self._continuation_checked and getattr(self.journal, "fresh", False):
            self._continue_after_server()
        rows = self.journal.pending_outbox(self.batch_size)
        if not rows:
            self._update(**self._queue_fields())
            return False
        batch = _build(TransactionBatch, "the transaction batch", records=[
            _build(OutboxEntry, f"outbox row {r.seq}", seq=r.seq, uuid=r.uuid, record=_record_of(r.payload))
            for r in rows])
        response = self._request("POST", f"/v1/kiosks/{self.kiosk_id}/transactions",
                                 json=batch.model_dump(mode="json"))
        if response.status_code not in (200, 409):
            raise SyncError(_describe(response, "sending transactions"))
        reply: BatchReply | ConflictReply = _parse(BatchReply if response.status_code == 200 else ConflictReply,
                                                   response, "sending transactions")
        self._note_server_time(reply.server_time)
        through = min(reply.held_through, rows[-1].seq)
        if isinstance(reply, BatchReply) and reply.accepted + reply.duplicates + reply.dead_lettered == len(rows):
            # The server holds every record of this batch even if it misses older ones (say, after a
            # restore from backup): those cannot be sent again, so do not resend this batch forever.
            through = rows[-1].seq
        if through >= rows[0].seq:
            self.journal.acknowledge(through)
        self._update(acknowledged_through=max(through, self.status().acknowledged_through), **self._queue_fields())
        if isinstance(reply, ConflictReply):
            self._refused(reply)
            if not reply.conflicts:
                raise SyncError(f"the server refuses a transaction ({reply.detail}); an alarm was raised at the server")
            conflict = reply.conflicts[0]
            raise SyncError(f"the server refuses transaction {conflict.seq} ({conflict.uuid}): "
                            f"{conflict.reason}; an alarm was raised at the server")
        if self._refused_since is not None or self.status().refused:
            self._refused_since = None
            self._update(refused=None)
            log.warning("sync: the server accepts this kiosk's transactions again")
        for flag in reply.flagged:
            self._post(ERROR, message=f"server flagged transaction {flag.seq}: {flag.reason}")
        return through == rows[-1].seq and len(rows) == self.batch_size

    def _note_server_time(self, server_time: str | None) -> None:
        """Every reply carries the server's time (if the server is new enough): a skew over SKEW_LIMIT_S is
        logged (once per change) and shown on the maintenance System page (status().clock_skew_s)."""
        if not server_time:
            return
        try:
            server = datetime.fromisoformat(server_time.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return
        skew = self._wall() - server
        before = self.status().clock_skew_s
        self._update(clock_skew_s=round(skew, 1))
        if abs(skew) > SKEW_LIMIT_S and (before is None or abs(before) <= SKEW_LIMIT_S):
            log.warning("clock: this kiosk's clock is %+.0f s off the server's (%s)", skew, server_time)
        elif abs(skew) <= SKEW_LIMIT_S and before is not None and abs(before) > SKEW_LIMIT_S:
            log.warning("clock: this kiosk's clock agrees with the server's again (%+.0f s)", skew)

    def _continue_after_server(self) -> None:
        """A new journal (lost, emptied, replaced) must not restart at seq 1 where the server holds 1..N:
        before its first upload ask the server what it holds and continue after it."""
        response = self._request("GET", f"/v1/kiosks/{self.kiosk_id}/sync-state")
        if response.status_code in (404, 405):  # an older server that cannot tell: upload as before
            log.warning("sync: the server cannot tell what it holds (%d); a replaced journal goes unnoticed",
                        response.status_code)
            self._continuation_checked = True
            return
        if response.status_code != 200:
            raise SyncError(_describe(response, "asking for the sync state"))
        state = _parse(SyncState, response, "asking for the sync state")
        committed = self.journal.continue_after(state.max_seq, state.held_through)
        if committed is not None:
            log.warning("sync: new journal, the server holds this kiosk's records up to #%d: continuing at #%d "
                        "(journal_replaced)", state.max_seq, committed.seq)
            self._post(ERROR, message=f"journal replaced: continuing after the server's #{state.max_seq}")
        self._continuation_checked = True
        self.journal.fresh = False

    def _refused(self, reply: ConflictReply) -> None:
        """A 409: once the server has refused for refused_limit_s without a success, it is for good."""
        now = self._monotonic()
        if self._refused_since is None:
            self._refused_since = now
        if now - self._refused_since >= self.refused_limit_s and not self.status().refused:
            what = reply.conflicts[0].reason if reply.conflicts else reply.detail
            reason = (f"the server has refused this kiosk's transactions for {int(now - self._refused_since)} s "
                      f"({what}; it holds up to #{reply.held_through})")
            log.error("OUT OF SERVICE: %s", reason)
            self._update(refused=reason)

    def pull_once(self) -> None:
        if self._open_catalog is not None:
            self._pull_catalog()
        if self._open_bookings is not None:
            self._pull_bookings()
        if self.config_path is not None or self.on_config is not None:
            self._pull_config()

    def heartbeat(self) -> None:
        fields = self._queue_fields()
        states = {str(k)[:64]: str(v)[:256] for k, v in list(self.device_states().items())[:64]}  # wire bounds
        beat = _build(Heartbeat, "the heartbeat", app_version=self.app_version.replace("\x00", "")[:64],
                      device_states=states, queue_depth=fields["queue_depth"],
                      oldest_unsent_age_s=fields["oldest_unsent_age_s"],
                      out_of_service=(self.fault() or self.status().refused or "")[:1000] or None,
                      device_time=datetime.fromtimestamp(self._wall(), timezone.utc).isoformat().replace("+00:00", "Z"))
        response = self._request("POST", f"/v1/kiosks/{self.kiosk_id}/heartbeat",
                                 json=beat.model_dump(mode="json", exclude_none=True))
        if response.status_code != 200:
            raise SyncError(_describe(response, "sending the heartbeat"))
        self._note_server_time(_parse(HeartbeatReply, response, "sending the heartbeat").server_time)

    def sync_state(self) -> SyncState:
        """What the server holds of this kiosk (held_through, max_seq): for diagnostics; blocks on the network."""
        response = self._request("GET", f"/v1/kiosks/{self.kiosk_id}/sync-state")
        if response.status_code != 200:
            raise SyncError(_describe(response, "asking for the sync state"))
        return _parse(SyncState, response, "asking for the sync state")

    # --- pulls --------------------------------------------------------------------------------

    def _delta(self, name: str, version: int) -> Delta | None:
        response = self._request("GET", f"/v1/{name}", params={"since": version},
                                 headers={"If-None-Match": f'"{name}-{version}"'})
        if response.status_code == 304:
            return None
        if response.status_code != 200:
            raise SyncError(_describe(response, f"pulling the {name}"))
        return _parse(Delta, response, f"pulling the {name}")

    def _pull_catalog(self) -> None:
        if self._catalog is None:
            self._catalog = self._open_catalog()
        catalog = self._catalog
        delta = self._delta("catalog", catalog.version)
        if delta is not None:
            rows, rejected = self._usable(delta.upserts, _catalog_row(self.item_validator), "catalog item")
            deletes = list(delta.deletes)
            if delta.full:
                keep = {row[0] or f"PLU:{row[1]}" for row in rows}
                deletes += [key for key in catalog.keys() if key not in keep]
            catalog.apply_changes(rows, deletes, delta.version)
            if rejected:
                self._post(ERROR, message=f"{rejected} catalog items from the server were not usable")
        self._update(catalog_version=catalog.version)

    def _pull_bookings(self) -> None:
        from kiosk.bookings import normalize_code  # only kiosks doing check-in need it

        if self._bookings is None:
            self._bookings = self._open_bookings()
        bookings = self._bookings
        delta = self._delta("bookings", bookings.version)
        if delta is not None:
            rows, _ = self._usable(delta.upserts, _booking, "booking")
            deletes = [code for code in map(normalize_code, delta.deletes) if code]
            if delta.full:
                keep = {b.code for b in rows}
                deletes += [code for code in bookings.codes() if code not in keep]
            bookings.apply_changes(rows, deletes, delta.version)
        self._update(bookings_version=bookings.version)

    def _usable(self, items, convert, what: str) -> tuple[list, int]:
        """(what `convert` made of the items it accepts, how many it refused); refusals are logged and counted."""
        rows, rejected = [], 0
        for item in items:
            try:
                rows.append(convert(item))
            except (KeyError, TypeError, ValueError) as exc:
                rejected += 1
                log.warning("%s from the server not usable: %s: %s", what, exc, item)
        self._update(rejected_items=self.status().rejected_items + rejected)
        return rows, rejected

    def _pull_config(self) -> None:
        held = self._held_config()
        version = held["version"] if held else 0
        response = self._request("GET", f"/v1/kiosks/{self.kiosk_id}/config",
                                 headers={"If-None-Match": f'"config-{version}"'})
        if response.status_code == 304:
            self._update(config_version=version)
            return
        if response.status_code != 200:
            raise SyncError(_describe(response, "pulling this kiosk's config"))
        config = _parse(KioskConfig, response, "pulling this kiosk's config")
        if self.config_path is not None:
            _write_atomically(self.config_path, json.dumps(config.model_dump(mode="json"), indent=1, sort_keys=True))
        if self.on_config is not None:
            self.on_config(config.config)
        self._update(config_version=config.version)

    def _held_config(self) -> dict | None:
        if self.config_path is None or not self.config_path.exists():
            return None
        try:
            return KioskConfig.model_validate_json(self.config_path.read_bytes()).model_dump()
        except (OSError, ValueError):  # pydantic's ValidationError is a ValueError
            return None  # unreadable: fetch it again

    # --- helpers ------------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SyncError(f"server not reachable ({type(exc).__name__}: {exc or 'no detail'})") from exc
        if response.status_code in (401, 403):
            raise SyncError(_describe(response, "authenticating") + "; check the kiosk's server token")
        return response

    def _queue_fields(self) -> dict:
        depth, oldest = self.journal.outbox_stats()
        age = None
        if oldest:
            try:
                age = max(0.0, (wall_clock.now() - datetime.fromisoformat(oldest)).total_seconds())
            except ValueError:
                age = None
        return {"queue_depth": depth, "oldest_unsent_age_s": age}

    def _succeeded(self) -> None:
        was = self.status()
        self._update(online=True, last_success_at=time.time(), last_error=None, attempt=0)
        if not was.online:
            log.info("sync: server %s reachable%s", self.http.base_url, " again" if was.last_error else "")

    def _failed(self, exc: Exception) -> float:
        message = str(exc) if isinstance(exc, SyncError) else f"{type(exc).__name__}: {exc}"
        status = self.status()
        attempt = status.attempt + 1
        try:
            queue = self._queue_fields()
        except Exception:  # the journal itself failing must not kill the loop either
            queue = {}
        self._update(online=False, last_error=message, last_error_at=time.time(), attempt=attempt, **queue)
        if message != status.last_error:
            log.warning("sync failed: %s", message)
            self._post(ERROR, message=message)
        return backoff_delay(attempt, self.backoff_base_s, self.backoff_cap_s, self.rng)

    def _update(self, **changes) -> None:
        with self._lock:
            old = self._status
            self._status = new = replace(old, **changes)
        if new != old:
            self._post(STATUS, status=new)
        if old.queue_depth and not new.queue_depth:
            log.info("sync: backlog drained, everything up to #%d sent", new.acknowledged_through)

    def _post(self, kind: str, **data) -> None:
        if self.events is not None:
            self.events.post(SOURCE, kind, **data)
