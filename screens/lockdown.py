"""The kiosk App's lockdown (a mixin of screens.app.KioskApp): while a customer may be at the screen the
window cannot be closed and Escape / Alt+F4 do nothing; the system may always stop the kiosk; five taps
on the logo are the technician's way into the maintenance screen."""
from __future__ import annotations

import logging

from kivy.clock import Clock

log = logging.getLogger("screens.app")
KEY_ESCAPE, KEY_F4 = 27, 285


class Lockdown:
    def logo_tapped(self) -> None:
        """Five taps on the logo within 3 s: the technician gesture (then a PIN, issue 7)."""
        now = Clock.get_time()
        self._logo_taps = [t for t in self._logo_taps if now - t < 3.0] + [now]
        if len(self._logo_taps) >= 5:
            self._logo_taps.clear()
            if self.maintenance_hook is not None:
                self.maintenance_hook(self)

    def terminate(self, *_args) -> None:
        """SIGTERM/SIGINT (systemd stop, Ctrl+C in a terminal): the system may always stop the kiosk."""
        self._terminating = True
        Clock.schedule_once(lambda _dt: self.stop(), 0)

    def _on_request_close(self, *_args, **_kw) -> bool:
        """Window close (the WM's close button, Alt+F4): refused while a customer may be at the screen."""
        if self.customer_mode and not getattr(self, "_terminating", False):
            log.info("window close request ignored in customer mode")
            return True
        return False

    def _on_keyboard(self, _window, key, _scancode, _codepoint, modifiers) -> bool:
        if not self.customer_mode:
            return False
        if key == KEY_ESCAPE or (key == KEY_F4 and "alt" in modifiers):
            return True  # swallowed: no exit, no back navigation
        return False
