"""Starts the customer UI: the Kivy app on the shared event queue, the backend opened after the first
frame, the maintenance screen and the control port's read-only `ui` view, and the stop signals."""
from __future__ import annotations

import faulthandler
import logging
import os
import signal
import time

from kivy.clock import Clock

from kiosk.config import Settings
from kiosk.events import EventQueue
from kiosk.sdnotify import Notifier
from screens.app import KioskApp
from screens.service_notify import ServiceNotify

log = logging.getLogger("launcher.ui")


def run(settings: Settings, simulate: bool = False) -> int:
    events = EventQueue()
    notifier = Notifier.from_environ()  # first: the local server started later must not inherit NOTIFY_SOCKET

    def announce(text: str) -> None:
        log.info("%s", text)
        print(f"kiosk: {text}", flush=True)

    from launcher.journal_open import JournalOpening
    opening = JournalOpening(settings.data_path, settings.kiosk.id)  # checked while the window comes up

    def open_backend():
        """None while the journal is still being checked (the app asks again); then the backend."""
        journal = opening.journal()
        if journal is None:
            return None
        from launcher.backend import KioskBackend
        from screens.status import query
        backend = KioskBackend(settings, events, simulate=simulate, announce=announce, journal=journal).open()
        backend.devices.add_query("ui", lambda: query(app))
        if simulate:
            backend.devices.add_query("freeze", lambda seconds="5": freeze_ui(float(seconds)))
        return backend
    speech = make_speech(settings)
    app = KioskApp(settings, events=events, backend_factory=open_backend, speech=speech)
    from launcher.live import publish_view  # the live channel to the attendant station (issue 15)
    app.on_change.append(publish_view)
    Clock.schedule_interval(lambda _dt: publish_view(app), 1.0)  # and once a second: a client started late
    from screens.maintenance import install as install_maintenance  # gesture/badge + PIN -> maintenance
    maintenance = install_maintenance(app)
    app.event_filters.append(maintenance.take_event)  # while it is open, scans go to its scan test
    _screenshot_when_ready(app, os.environ.get("KIOSK_TEST_SCREENSHOT"))
    service = ServiceNotify(app, notifier).install()

    def stop_requested(*args):
        # a stop that hangs leaves every thread's stack on stderr and ends the process, before systemd's
        # SIGKILL would end it without a word (the journal is durable at every commit either way)
        faulthandler.dump_traceback_later(settings.kiosk.stop_timeout_s, exit=True)
        app.terminate(*args)

    def signals_to_app(*_):
        # after SDL is up: SDL turns these signals into a window close request, which the lockdown refuses
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, stop_requested)
    Clock.schedule_once(signals_to_app, 0)
    try:
        app.run()
    finally:
        faulthandler.dump_traceback_later(settings.kiosk.stop_timeout_s, exit=True)
        service.stopping()
        if app.backend is not None:
            app.backend.close()
        elif (journal := opening.journal(timeout=60)) is not None:  # closed before the backend was made
            journal.close()
        if speech is not None:
            speech.close()
        faulthandler.cancel_dump_traceback_later()
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


def freeze_ui(seconds: float) -> str:
    """Simulation only (the `freeze N` control-port command): blocks the UI thread for N seconds, as a hung
    screen would, so a test sees the systemd watchdog pings stop."""
    if not 0 < seconds <= 600:
        raise ValueError(f"expected seconds between 0 and 600, got {seconds:g}")
    Clock.schedule_once(lambda _dt: time.sleep(seconds), 0)
    return f"UI thread blocked for {seconds:g} s"
