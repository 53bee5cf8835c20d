"""The frame of the maintenance screen: header (who, last outcome, log out), page tabs, and the
pages themselves in a ScreenManager that follows `model.page`. Any touch keeps the session alive."""
from __future__ import annotations

import importlib
from pathlib import Path

from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import ObjectProperty
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import NoTransition, Screen

HERE = Path(__file__).resolve().parent
PAGES = ("pin", "devices", "sync", "journal", "logs", "config", "system")


class Page(Screen):
    """A maintenance page; `m` is the MaintenanceModel."""
    m = ObjectProperty(None, allownone=True)


class RowsPage(Page):
    """A page showing the model's `rows_property` as label/value rows in its `grid`."""
    rows_property = ""

    def on_m(self, _page, model) -> None:
        model.bind(**{self.rows_property: self._rebuild})

    def on_pre_enter(self, *_):
        self.m.refresh()

    def _rebuild(self, _model, rows) -> None:
        grid = self.ids.grid
        grid.clear_widgets()
        for label, value in rows:
            grid.add_widget(Factory.MLabel(text=label, bold=True, size_hint_x=0.3))
            grid.add_widget(Factory.MLabel(text=value, size_hint_x=0.7))


class MaintenanceRoot(FloatLayout):
    m = ObjectProperty(None, allownone=True)

    @classmethod
    def create(cls, model) -> "MaintenanceRoot":
        Builder.load_file(str(HERE / "shell.kv"))
        root = cls(m=model)
        sm = root.ids.pages
        sm.transition = NoTransition()
        for name in PAGES:
            module = importlib.import_module(f"screens.maintenance.{name}")
            Builder.load_file(str(HERE / f"{name}.kv"))
            sm.add_widget(getattr(module, f"{name.title()}Page")(name=name, m=model))
        model.bind(page=lambda _m, page: setattr(sm, "current", page))
        sm.current = model.page
        return root

    def on_touch_down(self, touch):
        if self.m is not None:
            self.m.touched()
        super().on_touch_down(touch)
        return True  # nothing reaches the customer screens below
