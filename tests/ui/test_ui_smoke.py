"""The app starts and draws its attract screen; the real entry point does too; config errors exit 2."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from screens.driver import is_blank

ROOT = Path(__file__).resolve().parents[2]


def test_app_starts_on_attract_and_draws_something(driver, artifacts):
    assert driver.app.sm.current == "attract"
    assert driver.has("start_checkout")
    shot = driver.screenshot(artifacts / "smoke_attract.png")
    assert not is_blank(shot)


def test_blank_detector_detects_blank(tmp_path):
    from PIL import Image
    Image.new("RGB", (64, 48), (244, 246, 248)).save(tmp_path / "blank.png")
    assert is_blank(tmp_path / "blank.png")


def test_main_py_simulate_starts_and_shows_attract(tmp_path):
    shot = tmp_path / "main.png"
    env = dict(os.environ, KIOSK_TEST_SCREENSHOT=str(shot), KIOSK_KIOSK_DATA_DIR=str(tmp_path / "var"))
    proc = subprocess.run([sys.executable, "main.py", "--simulate"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "kiosk ready: attract" in proc.stdout and "'state': 'offline'" not in proc.stdout
    assert shot.exists() and not is_blank(shot)


def test_config_error_prints_message_and_exits_2(tmp_path):
    bad = tmp_path / "kiosk.toml"
    bad.write_text('[devices.printer]\nbaudrate = "fast"\n')
    proc = subprocess.run([sys.executable, "main.py", "--config", str(bad)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "devices.printer.baudrate" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_config_file_exits_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "launcher.cli", "--config", str(tmp_path / "nope.toml")], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "file not found" in proc.stderr and "Traceback" not in proc.stderr


def test_sigterm_stops_the_locked_down_kiosk(tmp_path):
    import signal
    import time
    env = dict(os.environ, KIOSK_KIOSK_DATA_DIR=str(tmp_path / "var"), KIOSK_SERVER_START_LOCAL="false")
    proc = subprocess.Popen([sys.executable, "main.py", "--simulate"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        log = tmp_path / "var" / "logs" / "kiosk.log"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and "Start application main loop" not in (
                log.read_text() if log.exists() else ""):
            time.sleep(0.2)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_app_drains_the_queue_it_is_given_and_refuses_a_backend_on_another(ui_settings):
    """An empty EventQueue once counted as "no queue" (`events or EventQueue()`): the app drained a queue
    of its own and no device event ever reached the screen."""
    from types import SimpleNamespace

    import pytest
    from kivy.app import App

    from kiosk.events import EventQueue
    from screens.app import KioskApp
    running = App.get_running_app()
    try:
        devices_queue = EventQueue()
        app = KioskApp(ui_settings, events=devices_queue)
        assert app.events is devices_queue
        with pytest.raises(RuntimeError, match="miswired"):
            app.attach(SimpleNamespace(events=EventQueue()))
    finally:
        App._running_app = running


def test_the_app_keeps_drawing_while_the_backend_factory_waits_for_the_journal_check(tmp_path):
    """launcher.ui's factory returns None while the journal is checked off the UI thread: the app's loop keeps
    running and asks again, then attaches (own process: Kivy has one window per process)."""
    child = f"""
import threading, sys
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from screens.boot import prepare_kivy
prepare_kivy(Path({str(tmp_path)!r}), fullscreen=False)
from kivy.clock import Clock
from kivy.core.window import Window
from kiosk import config
from kiosk.events import EventQueue
from launcher.backend import KioskBackend
from screens.app import KioskApp
settings = config.load(environ={{"KIOSK_KIOSK_DATA_DIR": {str(tmp_path / "data")!r}, "KIOSK_UI_FULLSCREEN": "false"}})
events, release, asked, frames = EventQueue(), threading.Event(), [], []
def factory():
    asked.append(len(frames))
    if len(asked) == 1:  # the journal check takes a second from the first ask on
        threading.Timer(1.0, release.set).start()
    if not release.is_set():
        return None
    return KioskBackend(settings, events, simulate=True, start_server=False).open()
app = KioskApp(settings, events=events, backend_factory=factory)
Window.bind(on_flip=lambda *_: frames.append(1))
def check(_dt):
    if not app.ready:
        return Clock.schedule_once(check, 0.1)
    print("ASKED", len(asked), "FRAMES_BEFORE_FIRST_ASK", asked[0], flush=True)
    app.backend.close()
    app.stop()
Clock.schedule_once(check, 0.1)
app.run()
"""
    proc = subprocess.run([sys.executable, "-c", child], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    words = proc.stdout.split()
    asked, frames = int(words[words.index("ASKED") + 1]), int(words[words.index("FRAMES_BEFORE_FIRST_ASK") + 1])
    assert frames >= 1, proc.stdout  # the first screen is drawn before the backend is asked for
    assert asked > 3, proc.stdout  # 1 s of waiting: asked again and again, the UI loop never blocked
