"""Devices: state, last error, counters and last event of each device; health checks, test print /
scan test / terminal diagnosis, end of day, reconnect, switch to the simulator."""
from __future__ import annotations

from kivy.factory import Factory
from kivy.properties import BooleanProperty, StringProperty

from screens.maintenance.shell import Page

STATE_COLOUR = {"idle": "success", "busy": "primary", "offline": "danger", "error": "danger", "closed": "muted"}


class DeviceRow(Factory.BoxLayout):
    name = StringProperty("")
    kind = StringProperty("")
    state = StringProperty("")
    state_text = StringProperty("")  # kv cannot bind through root.state.upper()
    error = StringProperty("")
    counters = StringProperty("")
    last_event = StringProperty("")
    check = StringProperty("")
    check_failed = BooleanProperty(False)
    external = StringProperty("Test")
    simulated = BooleanProperty(False)


class DevicesPage(Page):
    def on_m(self, _page, model) -> None:
        model.bind(devices=self._rebuild)

    def on_pre_enter(self, *_):
        self.m.refresh()

    def _rebuild(self, _model, rows) -> None:
        box = self.ids.rows
        if [r["name"] for r in rows] == [child.name for child in reversed(box.children)]:
            for child, row in zip(reversed(box.children), rows):
                for key, value in row.items():
                    setattr(child, key, value)  # in place: cheap, and a finger on a button keeps its button
            return
        box.clear_widgets()
        for row in rows:
            box.add_widget(DeviceRow(**row))
