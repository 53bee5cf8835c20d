"""Kiosk lockdown: Escape, the window close request and Alt+F4 do not leave the customer flow."""
from __future__ import annotations

from kivy.base import EventLoop
from kivy.core.window import Window

from screens.app import KEY_ESCAPE, KEY_F4

from .helpers import MILK, scan


def test_escape_alt_f4_and_close_request_do_not_exit_in_customer_mode(driver, backend):
    scan(driver, backend, MILK)
    assert driver.app.sm.current == "checkout"
    driver.key(KEY_ESCAPE)
    driver.key(KEY_F4, ["alt"])
    assert Window.dispatch("on_request_close") is True  # refused
    assert Window.dispatch("on_request_close", source="keyboard") is True
    driver.frames(3)
    assert EventLoop.status == "started" and not EventLoop.quit
    assert driver.app.sm.current == "checkout" and len(driver.app.cart_lines) == 1  # still serving, cart kept
    driver.tap("plus_1")
    assert driver.app.cart_lines[0]["quantity"] == "2"


def test_technician_mode_may_close(driver):
    driver.app.customer_mode = False
    try:
        assert driver.app._on_request_close() is False
        assert driver.app._on_keyboard(Window, KEY_ESCAPE, 0, None, []) is False
    finally:
        driver.app.customer_mode = True


def test_logo_gesture_calls_the_maintenance_hook(driver):
    calls = []
    driver.app.maintenance_hook = calls.append
    try:
        for _ in range(4):
            driver.app.logo_tapped()
        assert calls == []
        driver.app.logo_tapped()
        assert calls == [driver.app]
    finally:
        driver.app.maintenance_hook = None


def test_kivy_is_configured_for_a_kiosk(driver):
    from kivy.config import Config
    assert Config.get("kivy", "exit_on_escape") == "0"
    assert Config.get("graphics", "show_cursor") == "0"
    assert "disable_multitouch" in Config.get("input", "mouse")  # no red dots on a right click


def test_full_screen_is_configured_when_asked(tmp_path):
    import subprocess
    import sys
    code = ("from pathlib import Path; from screens.boot import prepare_kivy; "
            f"prepare_kivy(Path({str(tmp_path)!r}), fullscreen=True); from kivy.config import Config; "
            "print(Config.get('graphics', 'fullscreen'), Config.get('graphics', 'borderless'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split()[-2:] == ["auto", "1"], out.stderr[-2000:]
