"""The kiosk App: the view-model the `.kv` files bind to.

Screens only show App properties and call App methods; the decisions are made by the pure flow
(`kiosk.flows.session.Session`). Device, payment and sync events arrive on `kiosk.events.EventQueue`
and are drained on the UI thread by a Clock trigger that the queue's waker fires.
"""
from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, DictProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.config import Settings
from kiosk.i18n import Translator, language_name
from screens import theme

log = logging.getLogger("screens.app")
HERE = Path(__file__).resolve().parent
SCREENS = ["attract"]  # module screens/<name>.py defines <Name>Screen, screens/<name>.kv its layout
KEY_ESCAPE, KEY_F4 = 27, 285


def screen_class_name(name: str) -> str:
    return "".join(part.title() for part in name.split("_")) + "Screen"


class KioskApp(App):
    title = "Self-service kiosk"
    lang = StringProperty("en")
    languages = ListProperty()
    language_names = DictProperty()
    high_contrast = BooleanProperty(False)  # large text and high-contrast colours go together
    fs = NumericProperty(1.0)  # font scale
    c = DictProperty(theme.colours(False))
    shop_name = StringProperty("")
    logo_path = StringProperty(str(theme.ASSETS / "logo.png"))
    customer_mode = BooleanProperty(True)  # False only while a technician is in the maintenance screen
    offers_checkout = BooleanProperty(True)
    offers_checkin = BooleanProperty(True)
    checkout_available = BooleanProperty(True)
    help_visible = BooleanProperty(False)

    def __init__(self, settings: Settings, backend=None, **kw):
        super().__init__(**kw)
        self.settings = settings
        self.backend = backend
        self.translator = Translator(settings.locale.languages)
        self.languages = list(settings.locale.languages)
        self.language_names = {lang: language_name(lang) for lang in self.languages}
        self.lang = settings.locale.default_language
        self.shop_name = settings.kiosk.name
        self.offers_checkout = settings.kiosk.mode in ("checkout", "both")
        self.offers_checkin = settings.kiosk.mode in ("checkin", "both")
        self.set_large_text(settings.ui.large_text)
        self.maintenance_hook = None  # issue 7: callable(app) opening the gesture+PIN maintenance entry
        self._logo_taps: list[float] = []

    # --- building -----------------------------------------------------------------------------------

    def build(self):
        Builder.load_file(str(HERE / "widgets.kv"))
        self.sm = ScreenManager(transition=NoTransition())
        for name in SCREENS:
            module = importlib.import_module(f"screens.{name}")
            Builder.load_file(str(HERE / f"{name}.kv"))
            self.sm.add_widget(getattr(module, screen_class_name(name))(name=name))
        Window.bind(on_request_close=self._on_request_close, on_keyboard=self._on_keyboard)
        return self.sm

    def load_kv(self, filename=None):
        return False  # our kv files are loaded explicitly in build()

    # --- view-model actions (called from .kv) -------------------------------------------------------

    def tr(self, msgid: str, _lang: str | None = None) -> str:
        """Translated text; kv passes `app.lang` as the 2nd argument so the binding follows the language."""
        return self.translator.gettext(msgid, self.lang)

    def set_language(self, lang: str) -> None:
        if lang in self.languages:
            self.lang = lang

    def set_large_text(self, on: bool) -> None:
        self.high_contrast = on
        self.fs = theme.LARGE_TEXT_SCALE if on else 1.0
        self.c = theme.colours(on)

    def toggle_large_text(self) -> None:
        self.set_large_text(not self.high_contrast)

    def touch_to_start(self) -> None:
        if self.offers_checkout and not self.offers_checkin:
            self.start_checkout()
        elif self.offers_checkin and not self.offers_checkout:
            self.start_checkin()

    def start_checkout(self) -> None:
        pass

    def start_checkin(self) -> None:
        pass

    def call_help(self) -> None:
        self.help_visible = True

    def logo_tapped(self) -> None:
        """Five taps on the logo within 3 s: the technician gesture (then a PIN, issue 7)."""
        now = Clock.get_time()
        self._logo_taps = [t for t in self._logo_taps if now - t < 3.0] + [now]
        if len(self._logo_taps) >= 5:
            self._logo_taps.clear()
            if self.maintenance_hook is not None:
                self.maintenance_hook(self)

    # --- lockdown ---------------------------------------------------------------------------------------

    def _on_request_close(self, *_args, **_kw) -> bool:
        """Window close (the WM's close button, Alt+F4): refused while a customer may be at the screen."""
        if self.customer_mode:
            log.info("window close request ignored in customer mode")
            return True
        return False

    def _on_keyboard(self, _window, key, _scancode, _codepoint, modifiers) -> bool:
        if not self.customer_mode:
            return False
        if key == KEY_ESCAPE or (key == KEY_F4 and "alt" in modifiers):
            return True  # swallowed: no exit, no back navigation
        return False


def run(settings: Settings, simulate: bool = False) -> int:
    app = KioskApp(settings)
    shot = os.environ.get("KIOSK_TEST_SCREENSHOT")
    if shot:  # smoke test of the real entry point: screenshot once the first screen is drawn, then quit
        def take(_dt):
            from screens.driver import AppDriver
            AppDriver(app).screenshot(shot)
            app.stop()
        Clock.schedule_once(take, 1.0)
    app.run()
    return 0
