"""One kiosk App for the whole UI test session (Kivy has one window per process), driven in-process."""
from __future__ import annotations

import os
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
    return config.load(environ={"KIOSK_KIOSK_DATA_DIR": str(_DATA), "KIOSK_UI_FULLSCREEN": "false"})


@pytest.fixture(scope="session")
def driver(ui_settings):
    from screens.app import KioskApp
    from screens.driver import AppDriver
    app = KioskApp(ui_settings)
    drv = AppDriver(app).start()
    yield drv
    drv.stop()
