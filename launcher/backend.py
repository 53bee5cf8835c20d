"""The real backend of a session: catalog, bookings, journal, devices, sync, attendants.

Built once at start-up from the settings. Device calls return at once; their outcomes arrive as
events on the EventQueue (the UI drains it and hands each event to `Session.handle`).
With `simulate=True` every device is its simulator, an empty catalog and booking list are filled
with demo data, a demo attendant exists (PIN 2468, badge ATT-0001) and, when the server package is
installed, a local central server is started in a child process for receipts and sync.
"""
from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from kiosk import clock as wall_clock
from kiosk.bookings import Booking, Bookings, CheckinCheck
from kiosk.catalog import Catalog, ItemValidator
from kiosk.config import Settings
from kiosk.events import AttendantChecked, EventQueue, Kind, PaymentFailed, Source
from kiosk.flows.attendant import Attendants
from kiosk.i18n import Translator, babel_locale
from kiosk.flows.texts import RECEIPT_CLOCK_NOTE, RECEIPT_LABELS
from kiosk.journal import Journal, UnusableJournal
from kiosk.maintenance.lockout import RemainingLockout
from kiosk.pictures import cache_dir, prepare as prepare_pictures
from kiosk.ports import FrameSource
from kiosk.wire import SaleDraft
from launcher.demo import seed_demo
from launcher.journal_open import JournalOpening, disk_note, open_journal  # noqa: F401 (JournalOpening: for tests)

log = logging.getLogger("launcher.backend")
ROOT = Path(__file__).resolve().parents[1]
SIM_CONTROL_PORT = 7700
STOP_SHARE = 0.6  # of [kiosk] stop_timeout_s: the backend's parts; the rest is the app's and the process's


class KioskBackend:
    def __init__(self, settings: Settings, events: EventQueue, *, simulate: bool = False,
                 start_server: bool | None = None, translator: Translator | None = None,
                 announce=None, journal: Journal | UnusableJournal | None = None):
        """`announce(text)`: where start-up facts a person needs go (the control port, the local server's
        address); the `kiosk` command prints them, by default they are only logged. `journal`: one opened
        (and checked) already, see JournalOpening; by default it is opened and checked here."""
        self.settings, self.events, self.simulate = settings, events, simulate
        self.announce = announce or log.info
        self.kiosk_id = settings.kiosk.id
        self.currency = settings.money.currency
        self.vat_rates = dict(settings.money.vat_rates)
        self.waits = settings.ui.waits
        self.translator = translator or Translator(settings.locale.languages)
        data = settings.data_path
        self._start_fault: str | None = None  # a store that could not be opened (disk full, read-only)
        try:
            data.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._note_start_fault(f"data directory {data} cannot be created: {exc}")
        self.journal = journal if journal is not None else open_journal(data / "journal.sqlite", self.kiosk_id)
        from launcher.journal_backup import intervention  # kiosk-update could not roll back (issue 17)
        if (stuck := intervention(data)) is not None:
            self._note_start_fault(f"update intervention: {stuck}")
        self.catalog = self._store("catalog", lambda p: Catalog(p, settings.catalog.price_embedded_prefixes),
                                   data / "catalog.sqlite")
        self.bookings = self._store("bookings", lambda p: Bookings(
            p, timedelta(minutes=settings.checkin.early_minutes), timedelta(minutes=settings.checkin.late_minutes)),
            data / "bookings.sqlite")
        self.attendants = Attendants(data / "attendants.json")
        # 5 wrong attendant PINs or badges lock the check for 15 min, across restarts (issue 14)
        self.attendant_lockout = RemainingLockout(data / "attendant-lock.json")
        self._attendant_lock = threading.Lock()
        if simulate:
            try:
                seed_demo(self.catalog, self.bookings, self.attendants, settings)
            except (sqlite3.Error, OSError) as exc:
                self._note_start_fault(f"demo data cannot be written: {exc}")
        from devices.manager import DeviceManager
        self.devices = DeviceManager(settings.devices, events)
        self.devices.attach_journal(self.journal)
        self.server_url = settings.server.url
        self.control_port: int | None = None
        self.server = None
        self.sync = None
        self.live = None  # kiosk.live.LiveClient: state up, attendants' commands down (launcher/live.py)
        self._closing = threading.Event()
        self.pictures_ready = threading.Event()  # set once the items' pictures are in the cache (see open)
        self._server_thread: threading.Thread | None = None
        if start_server if start_server is not None else (simulate and settings.server.start_local):
            # in the background: the kiosk is usable at once, receipts and sync follow when it is up
            self._server_thread = threading.Thread(target=self._start_local_server, name="local-server", daemon=True)
            self._server_thread.start()
        elif settings.server.token:
            self._start_sync(settings.server.url, settings.server.token)

    def open(self) -> "KioskBackend":
        self.devices.open_all()
        # the items' emoji pictures, drawn now in the background: the UI only loads the cached files
        images = self.catalog.images()
        self._pictures_thread = threading.Thread(target=self._draw_pictures, args=(images,), name="pictures",
                                                 daemon=True)
        self._pictures_thread.start()
        if self.simulate:  # `python -m devices.sim send --port N "scan …"` drives the in-kiosk simulators
            try:
                port = self.devices.start_control(SIM_CONTROL_PORT)
            except OSError:  # taken, e.g. by a second simulated kiosk: any free port will do
                port = self.devices.start_control(0)
            self.control_port = port
            self.devices.add_command("clock", wall_clock.control)  # simulation only: step the kiosk's clock
            self.announce(f"simulator control port {port}: python -m devices.sim send --port {port} "
                          f"\"scan 4006381333931\"")
        return self

    def _draw_pictures(self, images: list[str]) -> None:
        try:
            drawn = prepare_pictures(images, cache_dir(self.settings.data_path))
            if drawn:
                log.info("item pictures: %d drawn into the cache", drawn)
        except Exception:
            log.exception("item pictures: drawing failed")
        finally:
            self.pictures_ready.set()

    def close(self) -> None:
        """Stops every part in turn within STOP_SHARE of [kiosk] stop_timeout_s; a part still busy when the
        time is up is left (its thread is a daemon), as systemd's SIGKILL would leave it. A slow part is logged."""
        self._closing.set()
        deadline = time.monotonic() + STOP_SHARE * self.settings.kiosk.stop_timeout_s

        def left(cap: float) -> float:
            return max(0.5, min(cap, deadline - time.monotonic()))
        steps = [("local server start", lambda: self._server_thread and self._server_thread.join(left(90))),
                 ("live channel", lambda: self.live and self.live.stop(left(5))),
                 ("sync", lambda: self.sync and self.sync.stop(left(30))),
                 ("devices", lambda: self.devices.close_all(lambda: left(5))),
                 ("local server", lambda: self.server and self.server.stop(left(30))),
                 ("journal", self.journal.close), ("catalog", self.catalog.close), ("bookings", self.bookings.close)]
        for name, step in steps:
            began = time.monotonic()
            step()
            if (took := time.monotonic() - began) > 2:
                log.warning("stopping: %s took %.1f s", name, took)

    # --- simulation: a local central server ---------------------------------------------------------

    def _start_local_server(self) -> None:
        try:
            from server.process import ServerProcess
        except ImportError:
            log.info("server package not installed: no local central server")
            return
        folder = self.settings.data_path / "server"
        try:
            # the pid file: a server left behind by a SIGKILLed kiosk is ended first (issue 14)
            self.server = ServerProcess(folder, pid_file=folder / "server.pid").start()
            if self._closing.is_set():  # the kiosk stopped while the server came up (close may not wait for it)
                self.server.stop()
                return
            env = dict(self.server.env)
            out = subprocess.run([sys.executable, "-m", "server.cli", "admin", "enroll", self.kiosk_id, "--rotate",
                                  "--name", self.settings.kiosk.name],
                                 env=env, capture_output=True, text=True, timeout=60,
                                 cwd=ROOT)
            if out.returncode != 0:
                out = subprocess.run([sys.executable, "-m", "server.cli", "admin", "enroll", self.kiosk_id,
                                      "--name", self.settings.kiosk.name],
                                     env=env, capture_output=True, text=True, timeout=60,
                                     cwd=ROOT)
            token = out.stdout.strip().splitlines()[-1] if out.returncode == 0 else ""
            self.server_url = self.server.url
            self.announce(f"local central server {self.server.url} (data in {folder})")
            if token and not self._closing.is_set():
                self._start_sync(self.server.url, token)
        except Exception as exc:  # the kiosk works without its server; sync catches up later
            log.warning("local central server did not start: %s", exc)

    def _start_sync(self, url: str, token: str) -> None:
        from kiosk.sync import SyncClient

        settings, data = self.settings, self.settings.data_path
        s = settings.server
        # the sync thread opens its own connections to the catalog and bookings: SQLite connections
        # belong to the thread that opened them, and WAL lets the UI keep reading meanwhile
        self.sync = SyncClient(
            self.journal, server_url=url, token=token, kiosk_id=self.kiosk_id,
            batch_size=s.batch_size, interval_s=s.sync_interval_s, timeout_s=s.timeout_s, events=self.events,
            catalog=lambda: Catalog(data / "catalog.sqlite", settings.catalog.price_embedded_prefixes),
            item_validator=ItemValidator(settings.money.vat_rates, settings.money.currency, settings.locale.languages),
            bookings=lambda: Bookings(data / "bookings.sqlite", timedelta(minutes=settings.checkin.early_minutes),
                                      timedelta(minutes=settings.checkin.late_minutes)),
            config_path=data / "server-config.json",
            device_states=lambda: {d["name"]: d["state"] for d in self.devices.snapshot()},
            fault=lambda: self.journal.fault or self._start_fault)
        self.sync.start()
        from launcher.live import start_live
        self.live = start_live(self, url, token)

    def _note_start_fault(self, reason: str) -> None:
        reason += disk_note(self.settings.data_path)
        log.error("OUT OF SERVICE: %s", reason)
        self._start_fault = self._start_fault or reason

    def _store(self, name: str, open_store, path: Path):
        """A local store; if it cannot be opened (disk full, read-only), an empty one in memory and the
        kiosk out of service with the reason (it starts and says so instead of dying at every start)."""
        try:
            return open_store(path)
        except (sqlite3.Error, OSError) as exc:
            self._note_start_fault(f"{name} {path} cannot be opened: {exc}")
            return open_store(":memory:")

    @property
    def fault(self) -> str | None:
        """The technician's reason the kiosk must not sell (a damaged or unwritable journal, a sync the
        server refuses for good), or None."""
        if self.journal.fault or self._start_fault:
            return self.journal.fault or self._start_fault
        return self.sync.status().refused if self.sync is not None else None

    # --- the Session's Backend protocol ---------------------------------------------------------------

    def frames(self, name: str = "camera") -> FrameSource | None:
        """The live picture of camera `name` for the screens (the checkout preview, the maintenance camera
        test), or None when there is no such camera: screens use only this, never the device itself."""
        device = self.devices.get(name)
        return device.latest_frame if device is not None and device.kind == "camera" else None

    def device_state(self, name: str) -> str | None:
        device = self.devices.get(name)
        return device.state if device is not None else None

    def pay(self, sale_uuid: str, amount: int, draft: SaleDraft) -> None:
        terminal = self.devices.get("payment")
        if terminal is None:
            self.events.post(Source.SESSION, Kind.PAYMENT_FAILED, PaymentFailed(sale_uuid, "no payment terminal"))
            return
        future = terminal.pay(sale_uuid, amount, draft.model_dump(mode="json"))

        def done(f):
            if f.exception() is not None:  # nothing was charged; the customer may try again
                self.events.post(Source.SESSION, Kind.PAYMENT_FAILED, PaymentFailed(sale_uuid, str(f.exception())))
        future.add_done_callback(done)

    def cancel_payment(self) -> None:
        terminal = self.devices.get("payment")
        if terminal is not None:
            terminal.cancel()

    def sale_completed(self, sale_uuid: str) -> bool:
        return self.journal.transaction(sale_uuid) is not None

    def receipt_url(self, sale_uuid: str) -> str:
        record = self.journal.transaction(sale_uuid)
        token = getattr(record.body, "receipt_token", "") if record else ""
        base = self.settings.server.public_receipt_url or self.server_url  # not 127.0.0.1 on a customer's phone
        return f"{base.rstrip('/')}/r/{token}" if token else ""

    def print_receipt(self, sale_uuid: str, lang: str) -> int | None:
        from devices.receipt import Receipt, Shop
        printer = self.devices.get("printer")
        record = self.journal.transaction(sale_uuid)
        if printer is None or record is None or printer.state not in ("idle", "busy"):
            return None
        labels = {key: self.translator.gettext(text, lang) for key, text in RECEIPT_LABELS.items()}
        shop = Shop(self.settings.kiosk.name, footer=(self.translator.gettext("Thank you for your visit!", lang),))
        base = self.settings.server.public_receipt_url or self.server_url
        note = self.translator.gettext(RECEIPT_CLOCK_NOTE, lang) if self.clock_looks_wrong() else ""
        receipt = Receipt.from_record(record, shop, qr_base_url=base.rstrip("/") + "/r/", labels=labels,
                                      locale=babel_locale(lang), clock_note=note)
        return printer.print_receipt(receipt)

    def clock_looks_wrong(self) -> bool:
        """The last sync reply put this kiosk's clock more than SKEW_LIMIT_S off the server's: the dates it
        prints (receipts) are doubtful, and say so."""
        from kiosk.sync import SKEW_LIMIT_S
        skew = self.sync.status().clock_skew_s if self.sync is not None else None
        return skew is not None and abs(skew) > SKEW_LIMIT_S

    def check_booking(self, code: str | None) -> CheckinCheck:
        return self.bookings.check(code, wall_clock.now())

    def complete_checkin(self, booking: Booking) -> int:
        committed = self.journal.complete_checkin(booking.code, booking.party_size)
        self.bookings.mark_checked_in(booking.code)
        return committed.record.body.ticket_no

    def print_ticket(self, ticket_no: int, booking: Booking, lang: str) -> int | None:
        printer = self.devices.get("printer")
        if printer is None or printer.state not in ("idle", "busy"):
            return None
        return printer.submit(ticket_bytes(self.settings.kiosk.name, ticket_no, booking, lang, self.translator),
                              f"ticket {ticket_no}")

    def record_event(self, event: str, details: dict) -> None:
        """Called on the UI thread: queues the event for the journal's writer and returns at once
        (see Journal.post_event: durable in order; a crash may lose at most the not yet committed)."""
        future = self.journal.post_event(event, {"kiosk": self.kiosk_id, **details})
        future.add_done_callback(lambda f: f.exception() and log.error(
            "journaling event %s failed: %s", event, f.exception()))
        if self.sync is not None:
            self.sync.wake()

    # --- attendants' commands from the attendant station (kiosk/flows/remote.py, launcher/live.py) ---------

    def answer_command(self, command_id: str, outcome: str, detail: str) -> None:
        if self.live is not None:
            self.live.answer(command_id, outcome, detail)

    def lane_work(self, kind: str, command_id: str) -> None:
        from launcher.live import lane_work
        lane_work(self, kind, command_id)

    def server_time(self) -> float:
        """The central server's clock as this kiosk knows it (its own, less the skew the sync client saw)."""
        skew = self.sync.status().clock_skew_s if self.sync is not None else None
        return time.time() - (skew or 0.0)

    def check_attendant(self, secret: str, request: int) -> None:
        """`verify_attendant` on a thread of its own (scrypt takes a while per stored PIN): the answer is
        posted as ("session", "attendant_checked") with the session's `request` number."""
        def run() -> None:
            who, locked = self.check_attendant_now(secret)
            self.events.post(Source.SESSION, Kind.ATTENDANT_CHECKED, AttendantChecked(request, who, locked))
        threading.Thread(target=run, name="attendant-check", daemon=True).start()

    def check_attendant_now(self, secret: str) -> tuple[str | None, float]:
        """(attendant or None, seconds locked): under the lockout, so a PIN cannot be found by scanning
        badge after badge; the session sends only PIN pad entries and badge-like scans (text, QR)."""
        with self._attendant_lock:
            locked = self.attendant_lockout.locked_for()
            if locked:
                return None, locked
            try:
                who = self.verify_attendant(secret)
            except Exception:  # noqa: BLE001 - a failed check refuses; the session must hear back
                log.exception("attendant check failed")
                return None, 0.0
            if who is None:
                self.attendant_lockout.failed()
                return None, self.attendant_lockout.locked_for()
            self.attendant_lockout.succeeded()
            return who, 0.0

    def attendant_locked_for(self) -> float:
        with self._attendant_lock:
            return self.attendant_lockout.locked_for()

    def verify_attendant(self, secret: str) -> str | None:
        """An attendant (or technician) of the maintenance store, or of the kiosk's attendants.json."""
        try:
            from kiosk.maintenance.technicians import TechnicianError, TechnicianStore
        except ImportError:
            return self.attendants.verify(secret)
        maintenance = getattr(self.settings, "maintenance", None)
        path = getattr(maintenance, "technicians_file", "") or self.settings.data_path / "technicians.json"
        try:
            staff = TechnicianStore(path)
            person = staff.verify_badge(secret) or staff.verify_pin(secret)
        except TechnicianError as exc:
            log.warning("cannot check attendants: %s", exc)
            person = None
        return person.id if person is not None else self.attendants.verify(secret)


def ticket_bytes(shop: str, ticket_no: int, booking: Booking, lang: str, tr: Translator) -> bytes:
    from escpos.printer import Dummy
    p = Dummy()
    p.hw("INIT")
    p.set(align="center", bold=True)
    p.textln(shop)
    p.textln(tr.gettext("Your queue number", lang))
    p.set(align="center", bold=True, double_height=True, double_width=True, custom_size=True, width=4, height=4)
    p.textln(str(ticket_no))
    p.set(align="center", normal_textsize=True)
    p.textln(booking.name)
    p.textln(tr.datetime(booking.slot_start, lang))
    p.cut()
    return p.output
