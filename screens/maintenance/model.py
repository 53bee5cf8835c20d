"""The maintenance screen's view-model: Kivy properties the pages bind to, and the actions they call.

The decisions live in `kiosk.maintenance` (who may do what, the audit, config edits...); this class
only turns them into texts and rows. Slow device work (health checks, reconnects, end of day) runs
on a worker thread and comes back to the UI thread through the Clock.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from kivy.clock import Clock
from kivy.event import EventDispatcher
from kivy.properties import BooleanProperty, ListProperty, StringProperty

from kiosk import config
from kiosk.events import DATA, STATUS, Event
from kiosk.flows.texts import shown_code
from kiosk.maintenance import logs
from kiosk.maintenance.access import Maintenance, NotAllowed
from kiosk.maintenance.audit import ChainCheck
from kiosk.maintenance.config_edit import ConfigEditor
from kiosk.maintenance.export import ExportError, export_unsent
from kiosk.maintenance.lockout import PinLockout
from kiosk.maintenance.technicians import TechnicianStore
from screens.maintenance.model_pages import ConfigPageModel, DevicesPageModel, SystemPageModel, ago, counted  # noqa: F401

log = logging.getLogger("screens.maintenance")
PAGES = ("devices", "sync", "journal", "logs", "config", "system")


def local_time(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%d.%m. %H:%M:%S")
    except (TypeError, ValueError):
        return str(iso)


class MaintenanceModel(DevicesPageModel, ConfigPageModel, SystemPageModel, EventDispatcher):
    shown = BooleanProperty(False)
    page = StringProperty("pin")
    who = StringProperty("")
    role = StringProperty("")
    pin_dots = StringProperty("")
    pin_message = StringProperty("")
    locked = BooleanProperty(False)
    pin_bad = BooleanProperty(False)  # the message is a warning (wrong PIN, locked)
    checking = BooleanProperty(False)  # a PIN is being checked (scrypt: off the UI thread)
    message = StringProperty("")  # the outcome of the last action
    message_bad = BooleanProperty(False)
    devices = ListProperty()
    last_scan = StringProperty("")
    preview_device = StringProperty("")  # a camera whose live preview (with decode overlay) is shown
    sync_rows = ListProperty()
    sync_message = StringProperty("")  # the outcome of "Sync now" / the USB export, shown on the Sync page
    sync_message_bad = BooleanProperty(False)
    tx_rows = ListProperty()
    payment_rows = ListProperty()
    help_rows = ListProperty()
    log_level = StringProperty("INFO")
    log_text = StringProperty("")
    config_rows = ListProperty()
    edit_key = StringProperty("")
    edit_text = StringProperty("")
    edit_message = StringProperty("")
    system_rows = ListProperty()
    audit_text = StringProperty("")
    audit_ok = BooleanProperty(True)

    def __init__(self, app, config_path: str | Path | None = None, environ=None,
                 restart: Callable[[], None] | None = None, quit: Callable[[], None] | None = None, **kw):
        super().__init__(**kw)
        self.app = app
        self.settings: config.Settings = app.settings
        m = self.settings.maintenance
        data = self.settings.data_path
        self.store = TechnicianStore(m.technicians_file or data / "technicians.json")
        self.lockout = PinLockout(data / "maintenance-lock.json")
        self.environ = os.environ if environ is None else environ
        self.config_path = Path(config_path or self.environ.get("KIOSK_CONFIG", "kiosk.toml"))
        self.editor = ConfigEditor(self.config_path, m.editable_keys, self.environ)
        self.restart_app = restart or self._restart
        self.quit_app = quit or self._quit
        self.access: Maintenance | None = None
        self._pin = ""
        self._last_event: dict[str, float] = {}
        self._checks: dict[str, str] = {}
        self._ticker = None
        self._chain: ChainCheck | None = None

    # --- plumbing ---------------------------------------------------------------------------------

    @property
    def backend(self):
        return self.app.backend

    @property
    def journal(self):
        return self.backend.journal

    def _access(self) -> Maintenance:
        if self.access is None:
            self.access = Maintenance(self.store, self.lockout, self.journal)
        return self.access

    def _say(self, text: str, bad: bool = False) -> None:
        self.message, self.message_bad = text, bad

    def _say_sync(self, text: str, bad: bool = False) -> None:
        """On the Sync page itself, in full: an export error (a missing stick, a full disk) is long and
        must be read; the header keeps "Logged in as ..."."""
        self.sync_message, self.sync_message_bad = text, bad

    def _background(self, work: Callable[[], Any], done: Callable[[Any, BaseException | None], None]) -> None:
        def run():
            try:
                result, error = work(), None
            except BaseException as exc:  # reported on the page, never lost
                log.warning("maintenance action failed: %s", exc)
                result, error = None, exc
            Clock.schedule_once(lambda _dt: done(result, error), 0)
        threading.Thread(target=run, name="maintenance-action", daemon=True).start()

    def _do(self, action: str, **details) -> bool:
        """Role check + audit record; False (with the reason shown) when not allowed."""
        try:
            self._access().act(action, **details)
            return True
        except NotAllowed as exc:
            self._say(str(exc), bad=True)
            return False

    # --- entering and leaving ---------------------------------------------------------------------

    def open_pad(self) -> None:
        if self.shown or self.backend is None:
            return
        self._pin, self.pin_dots = "", ""
        self.locked = self.lockout.locked_for() > 0
        self.pin_message = self._lock_text() if self.locked else "Technician PIN"
        self.pin_bad = self.locked
        self.page, self.shown = "pin", True
        self._ticker = Clock.schedule_interval(self.tick, 1.0)

    def _lock_text(self) -> str:
        minutes = int(self.lockout.locked_for() + 59) // 60
        return f"Too many wrong PINs: locked for {minutes} min"

    def pin_key(self, key: str) -> None:
        if key == "⌫":
            self._pin = self._pin[:-1]
        elif key == "clear":
            self._pin = ""
        elif key.isdigit() and len(self._pin) < 12:
            self._pin += key
        self.pin_dots = "●" * len(self._pin)

    def submit_pin(self) -> None:
        if self.checking:
            return
        pin, self._pin, self.pin_dots = self._pin, "", ""
        access = self._access()
        self.checking, self.pin_bad, self.pin_message = True, False, "Checking..."
        self._background(lambda: access.login(pin), self._pin_checked)

    def _pin_checked(self, result, error) -> None:
        self.checking = False
        if error is not None:
            self.pin_bad, self.pin_message = True, f"PIN check failed: {error}"
            return
        if result.ok:
            self.who, self.role = result.who.id, result.who.role
            self.app.customer_mode = result.who.role != "technician"  # an attendant stays locked in
            self._say(f"Logged in as {self.who} ({self.role})")
            self.go("devices")
            return
        self.locked = result.locked_for_s > 0
        self.pin_bad = True
        self.pin_message = self._lock_text() if self.locked else \
            "Wrong PIN: " + counted(self.app.translator, "{count} try left", "{count} tries left", result.tries_left)

    def cancel_pad(self) -> None:
        self.close()

    def logout(self, reason: str = "logout") -> None:
        if self.access is not None:
            self.access.logout(reason)
        self.close()

    def close(self) -> None:
        self.preview_device = ""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self.who = self.role = ""
        self.sync_message, self.sync_message_bad = "", False
        self.app.customer_mode = True
        self.shown = False
        self.page = "pin"

    def touched(self) -> None:
        if self.access is not None and self.who:
            self.access.touch()

    def tick(self, *_dt) -> None:
        if self.page == "pin":
            if self.locked and self.lockout.locked_for() == 0:
                self.locked, self.pin_bad, self.pin_message = False, False, "Technician PIN"
            elif self.locked:
                self.pin_message = self._lock_text()
            return
        if self.access is not None and self.access.expired():
            self.logout("timeout: 2 minutes without a touch")
            return
        if self.page in ("devices", "sync", "system"):
            self.refresh()

    def go(self, page: str) -> None:
        if page in PAGES and self.who:
            self.preview_device = "" if page != "devices" else self.preview_device
            self.page = page
            if page == "system":
                self._audit_check().full()  # the whole chain once; each second's refresh checks only new records
            self.refresh()

    def refresh(self) -> None:
        getattr(self, f"_refresh_{self.page}", lambda: None)()

    # --- events (every event passes here first, see screens.maintenance.install) -----------------

    def take_event(self, event: Event) -> bool:
        """True when the maintenance screen consumed the event (the customer flow never sees it)."""
        if self.backend is None:
            return False
        self._last_event[event.source] = time.time()
        if event.kind == DATA and event.source in ("scanner", "camera"):
            code = str(event.data.get("code", ""))
            if self.shown:
                self.last_scan = f"{shown_code(code, 80)}  ({event.data.get('symbology') or 'unknown symbology'})"
                self.touched()
                self._refresh_devices()
                return True
            age_check = self.app.session is not None and self.app.session.state == "age_check"
            if not age_check and self.settings.maintenance.gesture != "none" and self.store.verify_badge(code):
                self.open_pad()  # a technician badge: straight to the PIN pad
                return True
        if self.shown and self.page == "devices" and event.kind in (STATUS, DATA, "error"):
            self._refresh_devices()
        return False

    # --- Sync -------------------------------------------------------------------------------------

    def _refresh_sync(self) -> None:
        depth, oldest = self.journal.outbox_stats()
        sync = getattr(self.backend, "sync", None)
        rows = [("Unsent transactions", str(depth)),
                ("Oldest unsent", f"{local_time(oldest)} ({self._age(oldest)})" if oldest else "none")]
        if sync is None:
            rows += [("Server", f"{self.backend.server_url}: sync not running (no token or server not started)")]
        else:
            s = sync.status()
            rows += [("Server", f"{self.backend.server_url}: {'reachable' if s.online else 'NOT reachable'}"),
                     ("Last success", ago(s.last_success_at)),
                     ("Last error", f"{s.last_error} ({ago(s.last_error_at)})" if s.last_error else "none")]
        live = getattr(self.backend, "live", None)  # the live channel to the attendant station (issue 15)
        rows.append(("Attendant station", "off" if live is None else "connected" if live.connected
                     else f"NOT connected: {live.last_error or 'connecting'}"))
        rows.append(("USB export folder", self.settings.maintenance.usb_export_dir))
        self.sync_rows = rows

    @staticmethod
    def _age(iso: str) -> str:
        try:
            return ago(datetime.fromisoformat(iso).timestamp())
        except (TypeError, ValueError):
            return "?"

    def sync_now(self) -> None:
        if not self._do("sync_now"):
            return
        sync = getattr(self.backend, "sync", None)
        if sync is None:
            self._say_sync("sync is not running on this kiosk", bad=True)
        else:
            sync.wake()
            self._say_sync("sync started")
        self._refresh_sync()

    def export_queue(self) -> None:
        folder = self.settings.maintenance.usb_export_dir
        if not self._do("export_queue", folder=folder):
            return
        try:
            files, count = export_unsent(self.journal, folder, self.settings.kiosk.id)
        except ExportError as exc:
            self._say_sync(f"Export failed: {exc}", bad=True)
            return
        tr = self.app.translator
        self._say_sync(counted(tr, "{count} unsent transaction written", "{count} unsent transactions written", count)
                       + " " + counted(tr, "to {count} file in {folder}", "to {count} files in {folder}", len(files),
                                       folder=folder))
        self._refresh_sync()

    # --- Journal ----------------------------------------------------------------------------------

    def _refresh_journal(self) -> None:
        records = self.journal.recent(30)
        queued = self.journal.queued_seqs([record.seq for record in records])
        rows = []
        for record in records:
            body = record.body
            if body.kind == "sale":
                lines = counted(self.app.translator, "{count} line", "{count} lines", len(body.lines))
                what = f"sale {self.app.money(body.total)} ({lines})"
            elif body.kind == "checkin":
                what = f"check-in {body.booking_code}, ticket {body.ticket_no}"
            else:
                what = f"event {body.event}"
            rows.append({"seq": record.seq, "uuid": record.uuid, "kind": body.kind, "when": local_time(record.device_time),
                         "what": what, "state": "queued" if record.seq in queued else "synced"})
        self.tx_rows = rows
        self.payment_rows = [self._payment_row(p) for p in self.journal.payment_history(10)]
        self.help_rows = self._open_help_calls()

    def _payment_row(self, p: dict) -> dict:
        open_ = p["status"] in ("intent", "in_doubt")
        text = f"{local_time(p['created_at'])}  {self.app.money(p['amount'])}  "
        text += "not settled yet" if open_ else f"{p['status']} at {local_time(p['updated_at'])}"
        if p.get("in_doubt_at") and not open_:
            text += f" (in doubt from {local_time(p['in_doubt_at'])})"
        if p["facts"].get("masked_pan"):
            text += f"  {p['facts'].get('brand', '')} {p['facts']['masked_pan']}"
        return {"text": text, "open": open_}

    def _open_help_calls(self) -> list[dict]:
        calls = []
        for record in self.journal.recent(300):
            body = record.body
            if body.kind != "event":
                continue
            if body.event == "maintenance_audit" and body.details.get("action") == "help_done":
                break  # everything older was dealt with
            if body.event == "help_called":
                items = counted(self.app.translator, "{count} item", "{count} items", int(body.details.get("items", 0)))
                calls.append({"uuid": record.uuid, "text": f"{local_time(record.device_time)}  on the "
                                                           f"{body.details.get('screen', '?')} screen, {items}"})
        return calls

    def reprint(self, sale_uuid: str) -> None:
        if not self._do("reprint", sale_uuid=sale_uuid):
            return
        job = self.backend.print_receipt(sale_uuid, self.app.lang)
        self._say("receipt sent to the printer" if job is not None else "the printer is not ready", bad=job is None)

    def help_done(self) -> None:
        if self._do("help_done", calls=len(self.help_rows)):
            self._say("help calls marked as dealt with")
            self._refresh_journal()

    # --- Logs -------------------------------------------------------------------------------------

    def _refresh_logs(self) -> None:
        path = self.settings.data_path / "logs" / "kiosk.log"
        entries = logs.tail(path, self.log_level, limit=80)
        self.log_text = "\n".join(entries) if entries else f"no {self.log_level} or higher entries in {path}"

    def set_log_level(self, level: str) -> None:
        self.log_level = level
        self._refresh_logs()

    def restart(self) -> None:
        if self._do("restart_app"):
            self._say("restarting...")
            Clock.schedule_once(lambda _dt: self.restart_app(), 0.2)

    def exit_desktop(self) -> None:
        if self.role != "technician":
            self._do("exit_desktop")  # refused and audited
            self.app.customer_mode = True
            return
        if self._do("exit_desktop"):
            self.app.customer_mode = False
            Clock.schedule_once(lambda _dt: self.quit_app(), 0.2)

    def _restart(self) -> None:
        self.backend.close()
        os.execv(sys.executable, [sys.executable] + sys.argv)

    def _quit(self) -> None:
        self.app.stop()
