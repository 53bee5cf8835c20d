"""System: version, uptime, disk and memory, the audit chain's state; restart the app; exit to the
desktop (technicians only)."""
from __future__ import annotations

from kivy.factory import Factory

from screens.maintenance.shell import Page


class SystemPage(Page):
    def on_m(self, _page, model) -> None:
        model.bind(system_rows=self._rebuild)

    def on_pre_enter(self, *_):
        self.m.refresh()

    def _rebuild(self, _model, rows) -> None:
        grid = self.ids.grid
        grid.clear_widgets()
        for label, value in rows:
            grid.add_widget(Factory.MLabel(text=label, bold=True, size_hint_x=0.3))
            grid.add_widget(Factory.MLabel(text=value, size_hint_x=0.7))
