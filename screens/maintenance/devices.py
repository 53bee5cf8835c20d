"""Devices: state, last error, counters and last event of each device; health checks, test print /
scan test / terminal diagnosis, end of day, reconnect, switch to the simulator."""
from __future__ import annotations

from kivy.factory import Factory
from kivy.properties import DictProperty

from screens.maintenance.shell import Page

STATE_COLOUR = {"idle": "success", "busy": "primary", "offline": "danger", "error": "danger", "closed": "muted"}


class DeviceRow(Factory.BoxLayout):
    row = DictProperty()


class DevicesPage(Page):
    def on_m(self, _page, model) -> None:
        model.bind(devices=self._rebuild)

    def on_pre_enter(self, *_):
        self.m.refresh()

    def _rebuild(self, _model, rows) -> None:
        box = self.ids.rows
        box.clear_widgets()
        for row in rows:
            box.add_widget(DeviceRow(row=row))
