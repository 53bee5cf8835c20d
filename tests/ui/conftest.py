"""One kiosk App for the whole UI test session (Kivy has one window per process), driven in-process
against the real backend: journal, catalog, bookings and every device as its byte-level simulator."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from kiosk import config
from screens.boot import prepare_kivy

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
_DATA = Path(tempfile.mkdtemp(prefix="kiosk-ui-"))
prepare_kivy(_DATA, fullscreen=False)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def ui_settings() -> config.Settings:
    return config.load(environ={"KIOSK_KIOSK_DATA_DIR": str(_DATA), "KIOSK_UI_FULLSCREEN": "false",
                                "KIOSK_DEVICES_PRINTER_SIMULATOR_OUT_DIR": str(_DATA / "printed")})


@pytest.fixture(scope="session")
def kiosk(ui_settings):
    """(driver, backend): the app with its session, started once."""
    from devices.base import wait_until
    from kiosk.events import EventQueue
    from launcher.backend import KioskBackend
    from screens.app import KioskApp
    from screens.driver import AppDriver
    events = EventQueue()
    backend = KioskBackend(ui_settings, events, simulate=True, start_server=False).open()
    assert wait_until(lambda: all(d.state == "idle" for d in backend.devices.devices.values()), 30), \
        backend.devices.snapshot()
    app = KioskApp(ui_settings, backend=backend, events=events)
    drv = AppDriver(app).start()
    yield drv, backend
    drv.stop()
    backend.close()


@pytest.fixture
def driver(kiosk):
    """The driver, with the kiosk back on attract in English and nothing pending."""
    drv, backend = kiosk
    app = drv.app
    drv.wait_until(lambda: app.session.state not in ("payment", "payment_in_doubt"), 30, "payment to settle")
    backend.__dict__.pop("device_state", None)  # undo what a screenshot stage may have staged
    app.session.__dict__.pop("receipt_url", None)
    app.session.mode = app.settings.kiosk.mode
    app.session._reset(app.now())
    app.pin_text = ""
    app.refresh(force=True)
    drv.frames(2)
    return drv


@pytest.fixture
def backend(kiosk):
    return kiosk[1]
