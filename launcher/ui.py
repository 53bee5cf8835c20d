"""Starts the customer UI: the Kivy app on the shared event queue, the backend opened after the first
frame, the maintenance screen and the control port's read-only `ui` view, and the stop signals."""
from __future__ import annotations

import logging
import os
import signal

from kivy.clock import Clock

from kiosk.config import Settings
from kiosk.events import EventQueue
from screens.app import KioskApp

log = logging.getLogger("launcher.ui")


def run(settings: Settings, simulate: bool = False) -> int:
    events = EventQueue()

    def announce(text: str) -> None:
        log.info("%s", text)
        print(f"kiosk: {text}", flush=True)

    def open_backend():
        from launcher.backend import KioskBackend
        from screens.status import query
        backend = KioskBackend(settings, events, simulate=simulate, announce=announce).open()
        backend.devices.add_query("ui", lambda: query(app))
        return backend
    speech = make_speech(settings)
    app = KioskApp(settings, events=events, backend_factory=open_backend, speech=speech)
    from screens.maintenance import install as install_maintenance  # gesture/badge + PIN -> maintenance
    maintenance = install_maintenance(app)
    app.event_filters.append(maintenance.take_event)  # while it is open, scans go to its scan test
    _screenshot_when_ready(app, os.environ.get("KIOSK_TEST_SCREENSHOT"))

    def signals_to_app(*_):
        # after SDL is up: SDL turns these signals into a window close request, which the lockdown refuses
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, app.terminate)
    Clock.schedule_once(signals_to_app, 0)
    try:
        app.run()
    finally:
        if app.backend is not None:
            app.backend.close()
        if speech is not None:
            speech.close()
    print("kiosk: stopped", flush=True)
    return 0


def make_speech(settings: Settings):
    """The accessible mode's voice ([speech] in kiosk.toml), or None (engine "none")."""
    s = settings.speech
    if s.engine == "none":
        return None
    from devices.speech import SubprocessSpeech
    return SubprocessSpeech(engine=s.engine, voices=s.voices, rate=s.rate, volume=s.volume, volume_step=s.volume_step,
                            rate_step=s.rate_step, player=s.player, command=s.command, phrase_log=s.phrase_log,
                            wav_dir=s.wav_dir)


def _screenshot_when_ready(app: KioskApp, shot: str | None) -> None:
    """KIOSK_TEST_SCREENSHOT=path: a smoke test of the real entry point (a screenshot once the first screen
    is drawn and the devices are up, then quit)."""
    if not shot:
        return

    def take(_dt):
        if not app.ready:
            Clock.schedule_once(take, 0.2)
            return
        from screens.driver import AppDriver
        AppDriver(app).screenshot(shot)
        print(f"kiosk ready: {app.sm.current}, devices {app.backend.devices.snapshot()}", flush=True)
        app.stop()
    Clock.schedule_once(take, 1.0)
