"""The camera as the scanner: live preview on the checkout screen, codes held in front of it go
into the cart (the real camera driver reading the virtual camera's rendered frames)."""
from __future__ import annotations

import pytest

from devices.base import wait_until
from devices.camera import build
from kiosk.config import CameraSettings
from screens.driver import is_blank

from .helpers import BREAD, lines


@pytest.fixture
def camera(driver, backend):
    settings = CameraSettings(enabled=True, driver="simulator", fps=5, dedupe_s=0.5)
    device, sim = build(settings, driver.app.events, "camera")
    backend.devices.devices["camera"], backend.devices.simulators["camera"] = device, sim
    device.open()
    assert wait_until(lambda: device.state == "idle", 20), device.snapshot()
    yield sim
    device.close()
    sim.stop()
    del backend.devices.devices["camera"], backend.devices.simulators["camera"]
    driver.tap("cancel_session") if driver.has("cancel_session") else None


def test_camera_preview_and_scan_into_the_cart(driver, backend, camera, artifacts):
    driver.tap("start_checkout")
    driver.wait_until(lambda: driver.app.camera_texture is not None, 15, "camera preview")
    assert driver.find("scan_prompt").text == "Hold the barcode in front of the camera"
    camera.show(BREAD, "EAN-13")
    driver.wait_until(lambda: lines(driver), 20, "the code seen by the camera in the cart")
    assert lines(driver) == [("Wholemeal bread", "1", False)]
    assert not is_blank(driver.screenshot(artifacts / "en" / "checkout_camera.png"))
    camera.clear()
