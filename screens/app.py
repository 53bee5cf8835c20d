"""The kiosk App: the view-model the `.kv` files bind to.

Screens only show App properties and call App methods; the decisions are made by the pure flow
(`kiosk.flows.session.Session`). Device, payment and sync events arrive on `kiosk.events.EventQueue`
and are drained on the UI thread by a Clock trigger that the queue's waker fires. After every tap
or event `refresh()` copies the session into the properties, translated into the current language,
so switching the language at any moment re-renders every text.
"""
from __future__ import annotations

import gc
import importlib
import logging
import time
from pathlib import Path
from typing import Callable

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import (BooleanProperty, DictProperty, ListProperty, NumericProperty, ObjectProperty,
                             StringProperty)
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.config import Settings
from kiosk.events import Event, EventQueue
from kiosk.flows import states as flow
from kiosk.flows.actions import Action, perform
from kiosk.i18n import Translator, language_name
from kiosk.pictures import Pictures, cache_dir
from screens import theme
from screens.lockdown import KEY_ESCAPE, KEY_F4, Lockdown  # noqa: F401 (KEY_*: tests import them from here)
from screens.session_texts import SessionTexts

log = logging.getLogger("screens.app")
HERE = Path(__file__).resolve().parent
# module screens/<name>.py defines <Name>Screen, screens/<name>.kv its layout
SCREENS = ["attract", "checkout", "lookup", "age_check", "payment", "receipt", "checkin", "thanks",
           "out_of_service"]
SCREEN_OF_STATE = {
    flow.ATTRACT: "attract", flow.CHECKOUT: "checkout", flow.LOOKUP: "lookup", flow.AGE_CHECK: "age_check",
    flow.PAYMENT: "payment", flow.PAYMENT_FAILED: "payment", flow.PAYMENT_IN_DOUBT: "payment",
    flow.RECEIPT: "receipt", flow.RECEIPT_QR: "receipt", flow.CHECKIN: "checkin", flow.CHECKIN_BOOKING: "checkin",
    flow.CHECKIN_DONE: "checkin", flow.THANKS: "thanks", flow.OUT_OF_SERVICE: "out_of_service",
}


def screen_class_name(name: str) -> str:
    return "".join(part.title() for part in name.split("_")) + "Screen"


class KioskApp(Lockdown, SessionTexts, App):
    title = "Self-service kiosk"
    # --- presentation
    lang = StringProperty("en")
    languages = ListProperty()
    language_names = DictProperty()
    high_contrast = BooleanProperty(False)  # large text and high-contrast colours go together
    fs = NumericProperty(1.0)  # font scale
    low_reach = BooleanProperty(False)  # every control in the lower part of the screen (screens/accessible.py)
    accessible = BooleanProperty(False)  # speech guidance and keypad navigation, for this session
    c = DictProperty(theme.colours(False))
    shop_name = StringProperty("")
    logo_path = StringProperty(str(theme.ASSETS / "logo.png"))
    customer_mode = BooleanProperty(True)  # False only while a technician is in the maintenance screen
    offers_checkout = BooleanProperty(True)
    offers_checkin = BooleanProperty(True)
    checkout_available = BooleanProperty(True)
    # --- the session, as the screens show it
    state = StringProperty(flow.ATTRACT)
    message_text = StringProperty("")
    message_help = BooleanProperty(False)
    help_visible = BooleanProperty(False)  # the help box
    help_open = BooleanProperty(False)  # an attendant is on the way (the header says so)
    help_text = StringProperty("")
    help_coming_text = StringProperty("")  # an attendant took the help call at the attendant station
    closed_text = StringProperty("")  # the lane was closed by staff: why (the out-of-service screen says it)
    notice_text = StringProperty("")  # what the screen says of its own wait or failure (not a box)
    choose_hint = BooleanProperty(False)
    can_print = BooleanProperty(True)
    age_items_text = StringProperty("")
    still_there_left = NumericProperty(-1)
    cart_lines = ListProperty()
    total_text = StringProperty("")
    items_text = StringProperty("")
    can_pay = BooleanProperty(False)
    age_waiting = BooleanProperty(False)
    attendant_checking = BooleanProperty(False)  # a PIN or badge is being checked (off the UI thread)
    payment_text = StringProperty("")
    payment_message = StringProperty("")
    search_text = StringProperty("")
    search_results = ListProperty()
    plu_items = ListProperty()
    pin_text = StringProperty("")
    checkin_code = StringProperty("")
    booking_text = StringProperty("")
    ticket_no = StringProperty("")
    receipt_url = StringProperty("")
    rating = NumericProperty(0)
    easy_answer = StringProperty("")  # "", "yes", "no"
    camera_texture = ObjectProperty(None, allownone=True)

    ready = BooleanProperty(False)  # the backend (devices, journal...) is attached and a session runs
    all_screens_built = BooleanProperty(False)  # built one per frame after the first one is shown

    def __init__(self, settings: Settings, backend=None, events: EventQueue | None = None,
                 backend_factory=None, speech=None, **kw):
        """`backend`: ready-made (tests); or `backend_factory()`, called on the UI thread right after the
        first frame, so the attract screen shows while devices and databases are opened; it returns None
        while something it needs is still being prepared off the UI thread, and is asked again shortly.
        `speech`: a kiosk.speech.SpeechEngine for the accessible mode (None: silent)."""
        super().__init__(**kw)
        self.settings, self.speech = settings, speech
        # `is None`, not `or`: an empty EventQueue is falsy (it has __len__), and a second queue here
        # would leave the app draining a queue that no device posts to.
        self.events = events if events is not None else EventQueue()
        self.backend = backend
        self.backend_factory = backend_factory
        self.translator = Translator(settings.locale.languages)
        self.languages = list(settings.locale.languages)
        self.language_names = {lang: language_name(lang) for lang in self.languages}
        self.lang = settings.locale.default_language
        self.shop_name = settings.kiosk.name
        self.offers_checkout = settings.kiosk.mode in ("checkout", "both")
        self.offers_checkin = settings.kiosk.mode in ("checkin", "both")
        self.session = None  # kiosk.flows.session.Session, once the backend is attached
        self.maintenance_hook = None  # issue 7: callable(app), called after the technician gesture
        # Called in order with each event before the session sees it; the first that returns True takes it
        # (the maintenance screen takes scans while it is open). Registered by the composition root.
        self.event_filters: list[Callable[[Event], bool]] = []
        self.on_change: list[Callable[["KioskApp"], None]] = []  # after each change shown (the live channel)
        self._logo_taps: list[float] = []
        self._seen_version = -1
        self.set_large_text(settings.ui.large_text)
        # item pictures: files under assets/, or emoji drawn into <data_dir>/cache/pictures/ by the backend in
        # the background at start; the UI thread only loads the cached files (never draws, ~120 ms each)
        self.pictures = Pictures(theme.ASSETS, cache_dir(settings.data_path), draw=False)

    # --- building -----------------------------------------------------------------------------------

    def build(self):
        Builder.load_file(str(HERE / "widgets.kv"))
        self.sm = ScreenManager(transition=NoTransition())
        self.screen("attract")  # the others are built after the first frame (or on first use): fast start-up
        Clock.schedule_once(self._build_next_screen, 0.2)
        root = FloatLayout()
        root.add_widget(self.sm)
        from screens.widgets import Overlays
        root.add_widget(Overlays())
        from screens.accessible import install
        self.a11y = install(self, root, self.speech)
        Window.bind(on_request_close=self._on_request_close, on_keyboard=self._on_keyboard)
        self.bind(c=self._paint_background)
        self._paint_background()
        if self.backend is not None:
            self.attach(self.backend)
        elif self.backend_factory is not None:
            Window.bind(on_flip=self._first_flip)
        return root

    def _paint_background(self, *_):
        Window.clearcolor = self.c["bg"]

    def _first_flip(self, *_):
        Window.unbind(on_flip=self._first_flip)
        Clock.schedule_once(self._attach_when_ready, 0)

    def _attach_when_ready(self, _dt=None) -> None:
        backend = self.backend_factory()
        if backend is None:
            Clock.schedule_once(self._attach_when_ready, 0.05)
        else:
            self.attach(backend)

    def attach(self, backend) -> None:
        """Starts the customer session on `backend`; device events flow from now on."""
        from kiosk.flows.session import Session  # not needed for the first frame
        if getattr(backend, "events", self.events) is not self.events:
            raise RuntimeError("miswired kiosk: the app drains another event queue than the one its devices post to")
        self.backend = backend
        ui, lang = self.settings.ui, self.settings.locale.default_language
        self.session = Session(backend, mode=self.settings.kiosk.mode, default_language=lang,
                               default_large_text=ui.large_text, idle_timeout_s=ui.idle_timeout_s,
                               countdown_s=ui.still_there_countdown_s, now=self.now(),
                               default_low_reach=ui.low_reach,
                               accessible_idle_factor=self.settings.accessibility.idle_factor)
        self._drain_trigger = Clock.create_trigger(self.drain_events, -1)
        self.events.set_waker(self._drain_trigger)
        Clock.schedule_interval(self.tick, 0.5)
        self.ready = True
        self.refresh(force=True)
        self.drain_events()

    def screen(self, name: str):
        """The screen called `name`, built (kv loaded, widgets created) the first time it is needed."""
        if not self.sm.has_screen(name):
            module = importlib.import_module(f"screens.{name}")
            Builder.load_file(str(HERE / f"{name}.kv"))
            self.sm.add_widget(getattr(module, screen_class_name(name))(name=name))
        return self.sm.get_screen(name)

    def _build_next_screen(self, *_):
        missing = [name for name in SCREENS if not self.sm.has_screen(name)]
        if missing:
            self.screen(missing[0])
            Clock.schedule_once(self._build_next_screen, 0)
        else:
            self.all_screens_built = True
            # What exists now (widgets, kv rules, modules) lives as long as the app: moving it out of
            # the collector's reach makes each later full collection a pause of a few ms, not ~200 ms
            # in the middle of a customer's scan.
            gc.collect()
            gc.freeze()

    def load_kv(self, filename=None):  # our kv files are loaded explicitly in build()
        return False

    def on_stop(self):
        self.events.set_waker(None)
        gc.unfreeze()  # an app started again in this process (tests) freezes its own objects

    @staticmethod
    def now() -> float:
        return time.monotonic()

    # --- session -> properties --------------------------------------------------------------------------

    def drain_events(self, *_):
        if self.session is None:
            return
        now = self.now()
        for event in self.events.drain():
            if not any(take(event) for take in self.event_filters):
                self.session.handle(event, now)
        self.refresh()

    def tick(self, *_):
        if self.session is not None:
            self.session.tick(self.now())
            self.refresh()

    def act(self, action: Action, *args) -> None:
        """A tap: the session does `action` (kiosk.flows.actions.DO says how), then the screen follows."""
        if self.session is None:
            return
        perform(self.session, action, self.now(), *args)
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        s = self.session
        if s is None:
            return
        left = s.still_there_left(self.now())
        self.still_there_left = -1 if left is None else left
        if s.version == self._seen_version and not force:
            return
        self._seen_version = s.version
        if self.lang != s.lang:
            self.lang = s.lang
        if self.high_contrast != s.large_text:
            self.set_large_text(s.large_text)
        self.checkout_available, self.low_reach, self.accessible = s.checkout_available, s.low_reach, s.accessible
        self.help_visible = s.help_box
        self.help_open = s.help_called
        self.choose_hint = s.choose_hint
        self.attendant_checking = s.checkout.attendant_check is not None
        self.can_print = s.printer_ready
        self._refresh_texts()
        self.state = s.state
        screen = SCREEN_OF_STATE[s.state]
        if self.sm.current != screen:
            self.screen(screen)
            self.sm.current = screen
        for hook in self.on_change:
            hook(self)

    # --- view-model actions (called from .kv) -------------------------------------------------------

    def set_language(self, lang: str) -> None:
        if lang in self.languages:
            self.lang = lang
            if self.session is not None:
                self.session.touch(self.now())
                self.session.set_language(lang)
                self.refresh(force=True)

    def set_large_text(self, on: bool) -> None:
        self.high_contrast = on
        self.fs = theme.LARGE_TEXT_SCALE if on else 1.0
        self.c = theme.colours(on)

    def toggle_large_text(self) -> None:
        if self.session is not None:
            self.act(Action.TOGGLE_LARGE_TEXT)
        else:
            self.set_large_text(not self.high_contrast)

    def touch_to_start(self) -> None:
        self.act(Action.TOUCH_TO_START)

    def start_checkout(self) -> None:
        self.act(Action.START_CHECKOUT)

    def start_checkin(self) -> None:
        self.act(Action.START_CHECKIN)

    def call_help(self) -> None:
        if self.session is None:
            self.help_visible = True
        else:
            self.act(Action.CALL_HELP)

    def dismiss_help(self) -> None:
        if self.session is None:
            self.help_visible = False
        else:
            self.act(Action.DISMISS_HELP)

    def keyboard_input(self, target: str, key: str) -> None:
        """On-screen keyboard: `key` is a character, "⌫" (delete) or "clear"."""
        current = {"search": self.search_text, "checkin": self.checkin_code, "pin": self.pin_text}[target]
        text = "" if key == "clear" else current[:-1] if key == "⌫" else current + key
        if target == "search":
            self.act(Action.SEARCH, text)
        elif target == "checkin":
            self.act(Action.TYPE_CODE, text)
        else:
            self.pin_text = text[:12]
            if self.session is not None:
                self.session.touch(self.now())

    def submit_pin(self) -> None:
        pin, self.pin_text = self.pin_text, ""
        self.act(Action.ATTENDANT, pin)
