"""The kiosk tells systemd how it is, from the UI thread (kiosk.sdnotify has the protocol):

- READY=1 after the first frame drawn with the backend attached (the attract or out-of-service screen);
- WATCHDOG=1 from a Kivy Clock interval at half of WatchdogSec: the clock runs on the UI thread, so a UI that
  hangs stops the pings and systemd restarts the kiosk (a pinger thread would keep a frozen kiosk "alive");
- STATUS= "in service" / "out of service: ..." whenever that changes.

The same facts go to `<data_dir>/service-state.json` (version, pid, when READY was reached, the session state),
which `kiosk-update` reads: a new release counts as started once it wrote READY there, and no update starts
while a customer is being served.
"""
from __future__ import annotations

import json
import os
import time
from importlib import metadata

from kivy.clock import Clock
from kivy.core.window import Window

from kiosk.flows import update_hold
from kiosk.sdnotify import Notifier, service_status

DEVICES = ("payment", "scanner", "camera", "printer")
STATUS_EVERY_S = 1.0
STATE_FILE = "service-state.json"


def app_version() -> str:
    try:
        return metadata.version("selfservice-kiosk")
    except metadata.PackageNotFoundError:
        return "0+unknown"


class ServiceNotify:
    def __init__(self, app, notifier: Notifier) -> None:
        self.app, self.notifier = app, notifier
        self.is_ready = False
        self.ready_at = 0.0
        self._written: tuple | None = None
        self.held: str | None = None  # the update hold in force (kiosk/flows/update_hold.py)

    def install(self) -> "ServiceNotify":
        if self.notifier.watchdog_interval_s > 0:
            self.notifier.watchdog()
            Clock.schedule_interval(self._ping, self.notifier.watchdog_interval_s)
        if self.app.ready:
            self._on_ready(self.app, True)
        else:
            self.app.bind(ready=self._on_ready)
        return self

    def _on_ready(self, _app, ready: bool) -> None:
        if ready and not self.is_ready:
            Window.bind(on_flip=self._drawn)

    def _drawn(self, *_):
        if self.app.sm.current not in ("attract", "out_of_service"):
            return
        Window.unbind(on_flip=self._drawn)
        self.is_ready, self.ready_at = True, time.time()
        status = self.status()
        self.notifier.ready(status)
        self._write_state(status)
        Clock.schedule_interval(self._send_status, STATUS_EVERY_S)

    # bound methods, not lambdas: Kivy's Clock holds its callbacks weakly (the caller keeps this object)
    def _ping(self, _dt) -> None:
        self.notifier.watchdog()

    def _send_status(self, _dt) -> None:
        wanted = update_hold.requested(self.app.settings.data_path)
        if wanted is not None or self.held is not None:
            self.held = update_hold.apply(self.app.session, wanted, self.held)
        status = self.status()
        self.notifier.status(status)
        self._write_state(status)

    def status(self) -> str:
        backend, session = self.app.backend, self.app.session
        unusable = {}
        for name in DEVICES:
            state = backend.device_state(name)
            if state is not None and state not in ("idle", "busy"):
                unusable[name] = state
        return service_status(session.state, session.fault, unusable)

    def _write_state(self, status: str) -> None:
        key = (self.app.session.state, status, self.held)
        if key == self._written:
            return
        path = self.app.settings.data_path / STATE_FILE
        tmp = path.with_name(f".{STATE_FILE}.tmp")
        try:
            tmp.write_text(json.dumps({"version": app_version(), "pid": os.getpid(), "ready_at": self.ready_at,
                                       "state": key[0], "status": status, "held": self.held}))
            os.replace(tmp, path)
            self._written = key
        except OSError:
            pass  # a full or read-only data directory: the kiosk says so elsewhere; this is only for kiosk-update

    def stopping(self) -> None:
        self.notifier.stopping()
        self.notifier.close()
        try:
            (self.app.settings.data_path / STATE_FILE).unlink()
        except OSError:
            pass
