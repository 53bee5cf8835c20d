"""Attract: the shop's branding, "touch to start", the languages offered."""
from screens.widgets import CustomerScreen


class AttractScreen(CustomerScreen):
    def on_touch_down(self, touch):
        # a tap anywhere that is not a button starts the main flow (checkout-only or check-in-only kiosks)
        if super().on_touch_down(touch):
            return True
        from kivy.app import App
        App.get_running_app().touch_to_start()
        return True
