"""Wiring of the live channel (issue 15): the LiveClient beside the sync client (same server and token), the
session's view published after every change, and the lane work attendants' commands ask for.

The app calls `publish_view` after each change it shows; the backend answers commands through the client and
runs sync_now / test_print / reload_config on a thread of their own, answering with a CommandDone event.
"""
from __future__ import annotations

import logging
import threading
from typing import Any  # the backend: launcher.backend.KioskBackend (not imported: no cycle)
from kiosk.events import CommandDone, Kind, Source
from kiosk.live import LiveClient, live_view

log = logging.getLogger("launcher.live")


def start_live(backend: Any, url: str, token: str) -> LiveClient | None:
    live = backend.settings.live
    if not live.enabled:
        return None

    def extras() -> dict:
        devices = {}
        for d in backend.devices.snapshot():
            problem = f"{d['state']}: {d.get('last_error') or ''}".strip(": ")[:256]
            devices[str(d["name"])[:64]] = "ok" if d["state"] in ("idle", "busy") else problem
        depth, _ = backend.journal.outbox_stats()
        return {"devices": devices, "outbox_depth": depth}
    return LiveClient(server_url=url, token=token, events=backend.events, extras=extras,
                      debounce_s=live.debounce_s, timeout_s=backend.settings.server.timeout_s,
                      backoff_cap_s=live.reconnect_max_s).start()


def publish_view(app) -> None:
    """After every change the app shows: the session's view to the live client (cheap; never blocks)."""
    client = getattr(app.backend, "live", None)
    if client is None or app.session is None:
        return
    maintenance = getattr(app, "maintenance", None)
    client.publish(live_view(app.session, maintenance=bool(maintenance is not None and maintenance.shown),
                             line_language=app.settings.locale.default_language))


def lane_work(backend: Any, kind: str, command_id: str) -> None:
    """sync_now, test_print or reload_config off the UI thread; the outcome comes back as a CommandDone."""
    def run() -> None:
        try:
            outcome, detail = WORK[kind](backend)
        except Exception as exc:  # noqa: BLE001 - an attendant's command must hear back, whatever failed
            log.exception("live: %s failed", kind)
            outcome, detail = "failed", f"{type(exc).__name__}: {exc}"
        backend.events.post(Source.LIVE, Kind.COMMAND_DONE, CommandDone(command_id, outcome, detail[:1000]))
    threading.Thread(target=run, name=f"live-{kind}", daemon=True).start()


def _sync_now(backend: Any) -> tuple[str, str]:
    if backend.sync is None:
        return "failed", "this kiosk has no sync client"
    backend.sync.wake()
    depth, _ = backend.journal.outbox_stats()
    return "done", f"sync started ({depth} record(s) waiting to be sent)"


def _test_print(backend: Any) -> tuple[str, str]:
    from kiosk.maintenance.device_ops import test_print
    printer = backend.devices.get("printer")
    if printer is None:
        return "failed", "this kiosk has no printer"
    ok, text = test_print(printer, backend.kiosk_id)
    return ("done" if ok else "failed"), text


def _reload_config(backend: Any) -> tuple[str, str]:
    """The config file is checked again and the server's config for this kiosk pulled now; a changed
    kiosk.toml takes effect at the next start (as the maintenance Config page says)."""
    import os
    import sys

    from kiosk import config
    from kiosk.maintenance.config_edit import started_from
    path = started_from(sys.argv, os.environ)
    try:
        config.load(path)
    except config.ConfigError as exc:
        return "failed", f"{path} has errors: {exc}"
    if backend.sync is not None:
        backend.sync.wake()
    return "done", (f"{path} is valid (changes take effect at the next start)"
                    + ("; the server's config for this kiosk is being pulled" if backend.sync else ""))


WORK = {"sync_now": _sync_now, "test_print": _test_print, "reload_config": _reload_config}
