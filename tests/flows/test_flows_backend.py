"""The real backend in simulation: simulated devices, demo data, and a local central server that
receives what the kiosk journals (the `kiosk --simulate` set-up), without any display."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from devices.base import wait_until
from kiosk import config
from kiosk.events import EventQueue
from launcher.backend import KioskBackend
from launcher.demo import DEMO_BADGE, DEMO_BOOKING

from .conftest import scan

ROOT = Path(__file__).resolve().parents[2]


def test_simulated_backend_syncs_journaled_events_to_the_local_server(tmp_path):
    settings = config.load(environ={"KIOSK_KIOSK_DATA_DIR": str(tmp_path), "KIOSK_SERVER_SYNC_INTERVAL_S": "1"})
    events = EventQueue()
    backend = KioskBackend(settings, events, simulate=True).open()
    try:
        assert backend.catalog.count() >= 18 and backend.verify_attendant(DEMO_BADGE) == "demo-attendant"
        assert backend.check_booking(DEMO_BOOKING).ok
        assert wait_until(lambda: all(d.state == "idle" for d in backend.devices.devices.values()), 30)
        assert wait_until(lambda: backend.sync is not None, 90), "local server and sync did not start"
        backend.record_event("help_called", {"screen": "checkout"})
        assert wait_until(lambda: backend.journal.outbox_stats()[0] == 0, 30), backend.sync.status()
        assert httpx.get(backend.server_url + "/v1/health", timeout=5).status_code == 200
        server = backend.server
        # catalog comes down: an item loaded on the central server reaches the kiosk's catalog
        items = tmp_path / "central-catalog.json"
        items.write_text(json.dumps([{"gtin": "4006381333931", "names": {"en": "Central milk"}, "price": "1.05",
                                      "vat": "B"}]))
        subprocess.run([sys.executable, "-m", "server.cli", "admin", "load-catalog", str(items)], env=server.env,
                       cwd=ROOT, check=True, capture_output=True, timeout=60)
        assert wait_until(lambda: (found := backend.catalog.lookup_code("4006381333931")) is not None
                          and found[0].name("en") == "Central milk", 30), backend.sync.status()
    finally:
        backend.close()
    assert server.proc.poll() is not None  # stopped with the kiosk


def test_close_during_server_start_leaves_no_server_behind(tmp_path):
    settings = config.load(environ={"KIOSK_KIOSK_DATA_DIR": str(tmp_path)})
    backend = KioskBackend(settings, EventQueue(), simulate=True)
    backend.close()  # at once: the start-up thread is still running
    assert backend.server is None or backend.server.proc.poll() is not None


def test_attendants_of_the_maintenance_store_may_approve_age_checks(tmp_path):
    from kiosk.maintenance.technicians import TechnicianStore
    settings = config.load(environ={"KIOSK_KIOSK_DATA_DIR": str(tmp_path)})
    TechnicianStore(tmp_path / "technicians.json").add("ada", "attendant", "135790", ["BADGE-ADA"])
    backend = KioskBackend(settings, EventQueue(), simulate=True, start_server=False)
    try:
        assert backend.verify_attendant("BADGE-ADA") == "ada"
        assert backend.verify_attendant("135790") == "ada"
        assert backend.verify_attendant(DEMO_BADGE) == "demo-attendant"  # the kiosk's own list still counts
        assert backend.verify_attendant("999999") is None
    finally:
        backend.close()


def test_qr_code_and_printed_receipt_use_the_public_receipt_url(tmp_path):
    """Issue 11: the QR screen showed the kiosk's own 127.0.0.1 server address, which no customer's phone reaches."""
    import uuid

    from devices.sim.escpos import Code

    def sale(journal) -> tuple[str, str]:
        sale_uuid, token = str(uuid.uuid4()), uuid.uuid4().hex
        line = {"line_no": 1, "item_id": "04006381333931", "name": "Milk", "quantity": 1, "unit_price": 119,
                "total": 119, "vat_code": "B", "vat_rate": 700}
        intent = journal.record_payment_intent(sale_uuid, 119, "EUR", {
            "lines": [line], "vat": [{"code": "B", "rate": 700, "gross": 119, "net": 111, "vat": 8}],
            "receipt_token": token})
        journal.complete_sale(sale_uuid, intent, {"brand": "girocard", "masked_pan": "672559******1234"})
        return sale_uuid, token

    settings = config.load(environ={"KIOSK_KIOSK_DATA_DIR": str(tmp_path / "plain")})
    backend = KioskBackend(settings, EventQueue(), simulate=True, start_server=False)
    try:
        sale_uuid, token = sale(backend.journal)
        assert backend.receipt_url(sale_uuid) == f"http://127.0.0.1:8765/r/{token}"  # "" = the server url
    finally:
        backend.close()
    settings = config.load(environ={"KIOSK_KIOSK_DATA_DIR": str(tmp_path / "public"),
                                    "KIOSK_SERVER_PUBLIC_RECEIPT_URL": '"https://receipts.example.com/shop/"'})
    backend = KioskBackend(settings, EventQueue(), simulate=True, start_server=False).open()
    try:
        sale_uuid, token = sale(backend.journal)
        url = f"https://receipts.example.com/shop/r/{token}"
        assert backend.receipt_url(sale_uuid) == url
        printer = backend.devices.simulators["printer"]
        assert wait_until(lambda: backend.devices["printer"].state == "idle", 30)
        assert backend.print_receipt(sale_uuid, "en") is not None
        [printed] = printer.wait_for_receipts(1)
        assert [item.data for item in printed.items if isinstance(item, Code)] == [url.encode()]
    finally:
        backend.close()


def test_screens_get_camera_frames_only_through_the_backends_frame_source(tmp_path):
    """Issue 12: the checkout preview and the maintenance camera test call `backend.frames(name)` (a
    kiosk.ports.FrameSource from the composition root), never a device's internals."""
    from devices.base import Device

    for path in list((ROOT / "screens").rglob("*.py")) + list((ROOT / "screens").rglob("*.kv")):
        text = path.read_text(encoding="utf-8")
        assert "latest_frame" not in text and "hasattr(camera" not in text, path
    settings = config.load(environ={"KIOSK_KIOSK_DATA_DIR": str(tmp_path)})
    backend = KioskBackend(settings, EventQueue(), simulate=True, start_server=False)
    try:
        class Camera(Device):
            kind = "camera"

            def latest_frame(self):
                return 7, "the frame"
        backend.devices.devices.pop("camera", None)
        assert backend.frames("camera") is None  # no camera: no preview
        backend.devices.devices["camera"] = Camera("camera", EventQueue())
        assert backend.frames("camera")() == (7, "the frame")
        assert backend.frames("scanner") is None  # not a camera
    finally:
        backend.close()


def _garbled_journal(tmp_path):
    from kiosk.journal import Journal
    path = tmp_path / "journal.sqlite"
    with Journal(path, "K-1") as j:
        for n in range(300):
            j.record_event("filler", {"n": n, "pad": "x" * 200})
    with open(path, "r+b") as f:
        f.seek(path.stat().st_size // 2 // 4096 * 4096)
        f.write(bytes(range(256)) * 16)
    return path


def test_a_damaged_journal_starts_the_kiosk_out_of_service_and_sells_nothing(tmp_path, caplog):
    """Issue 14: a journal with 4 KiB of garbage in the middle was used (the kiosk took card payments)."""
    from kiosk.flows import states
    from kiosk.flows.session import Session
    path = _garbled_journal(tmp_path)
    before = path.read_bytes()
    settings = config.load(environ={"KIOSK_KIOSK_DATA_DIR": str(tmp_path)})
    backend = KioskBackend(settings, EventQueue(), simulate=True, start_server=False)
    try:
        assert backend.fault and "quick_check" in backend.fault
        assert "OUT OF SERVICE" in caplog.text and "quick_check" in caplog.text
        session = Session(backend, idle_timeout_s=60, countdown_s=20, now=0.0)
        session.tick(1.0)
        assert session.state == states.OUT_OF_SERVICE
        session.handle(scan("4006381333931"), 2.0)
        assert session.state == states.OUT_OF_SERVICE
        backend.record_event("help_called", {})  # the UI thread is never hit by the refused write
    finally:
        backend.close()
    assert path.read_bytes() == before  # kept for the technician, never overwritten


def test_an_unwritable_data_directory_starts_the_kiosk_out_of_service(tmp_path):
    """Issue 14: a journal that cannot be written (read-only, disk full) crashed the app at every start."""
    (tmp_path / "journal.sqlite").mkdir()  # stands for a file SQLite cannot open for writing
    settings = config.load(environ={"KIOSK_KIOSK_DATA_DIR": str(tmp_path)})
    backend = KioskBackend(settings, EventQueue(), simulate=True, start_server=False)
    try:
        assert backend.fault and "journal cannot be used" in backend.fault
    finally:
        backend.close()


def test_a_full_disk_starts_the_kiosk_out_of_service_with_the_real_reason(tmp_path):
    """Issue 14: with the disk still full every restart died. A 2 MB tmpfs, filled (needs root to mount)."""
    import shutil
    import pytest
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (not root)")
    try:
        settings = config.load(environ={"KIOSK_KIOSK_DATA_DIR": str(disk / "data")})
        KioskBackend(settings, EventQueue(), simulate=True, start_server=False).close()  # stores made
        with open(disk / "fill", "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
            except OSError:
                pass
        assert shutil.disk_usage(disk).free < 65536
        backend = KioskBackend(settings, EventQueue(), simulate=True, start_server=False)
        try:
            assert backend.fault and "disk is full" in backend.fault
            backend.record_event("help_called", {})  # refused quietly, no crash
        finally:
            backend.close()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)  # lazy: a closed store may still be unlinking


def test_the_journal_start_check_runs_off_the_calling_thread_and_the_backend_uses_its_journal(tmp_path, monkeypatch):
    """The start check (quick_check, integrity_check after an unclean shutdown) ran on the UI thread inside the
    backend factory; JournalOpening runs it on a thread of its own and says None until it is done."""
    import threading

    import launcher.journal_open as backend_module
    from launcher.backend import JournalOpening
    real_open, release, ran_on = backend_module.open_journal, threading.Event(), []

    def slow_open(path, kiosk_id):
        ran_on.append(threading.current_thread().name)
        release.wait(10)
        return real_open(path, kiosk_id)
    monkeypatch.setattr(backend_module, "open_journal", slow_open)
    opening = JournalOpening(tmp_path / "data", "kiosk-001")
    assert opening.journal() is None  # still checking: the UI thread draws meanwhile
    release.set()
    journal = opening.journal(timeout=10)
    assert journal is not None and ran_on == ["journal-check"]
    settings = config.load(environ={"KIOSK_KIOSK_DATA_DIR": str(tmp_path / "data")})
    backend = KioskBackend(settings, EventQueue(), simulate=True, start_server=False, journal=journal)
    try:
        assert backend.journal is journal and backend.fault is None
    finally:
        backend.close()


def test_a_damaged_journal_opened_in_the_background_is_refused_as_before(tmp_path):
    from launcher.backend import JournalOpening
    path = _garbled_journal(tmp_path)
    before = path.read_bytes()
    journal = JournalOpening(tmp_path, "K-1").journal(timeout=30)
    settings = config.load(environ={"KIOSK_KIOSK_DATA_DIR": str(tmp_path)})
    backend = KioskBackend(settings, EventQueue(), simulate=True, start_server=False, journal=journal)
    try:
        assert backend.fault and "quick_check" in backend.fault
    finally:
        backend.close()
    assert path.read_bytes() == before


def test_a_read_only_data_directory_starts_out_of_service_with_the_reason_and_keeps_the_journal(tmp_path):
    """Issue 14: a read-only data directory. A tmpfs made read-only by a bind mount (needs root to mount)."""
    import pytest
    from kiosk.flows import states
    from kiosk.flows.session import Session
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (not root)")
    try:
        settings = config.load(environ={"KIOSK_KIOSK_DATA_DIR": str(disk)})
        backend = KioskBackend(settings, EventQueue(), simulate=True, start_server=False)
        backend.journal.record_event("accepted_before", {"n": 1})
        backend.close()
        before = (disk / "journal.sqlite").read_bytes()
        subprocess.run(["mount", "--bind", str(disk), str(disk)], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(disk)], check=True)
        backend = KioskBackend(settings, EventQueue(), simulate=True, start_server=False)
        try:
            assert backend.fault and "read-only" in backend.fault, backend.fault
            session = Session(backend, idle_timeout_s=60, countdown_s=20, now=0.0)
            session.tick(1.0)
            assert session.state == states.OUT_OF_SERVICE
            session.handle(scan("4006381333931"), 2.0)
            assert session.state == states.OUT_OF_SERVICE
            backend.record_event("help_called", {})  # refused quietly, no crash
        finally:
            backend.close()
        assert (disk / "journal.sqlite").read_bytes() == before
    finally:
        while subprocess.run(["umount", "-l", str(disk)], capture_output=True).returncode == 0:
            pass
