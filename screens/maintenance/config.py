"""Config: the effective configuration; the keys marked editable can be changed with an on-screen
keyboard, validated exactly as at start-up and written back atomically (the old file is kept)."""
from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from screens.maintenance.shell import Page
from screens.widgets import InvisibleIgnoresTouch, KButton

KEY_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl:", "zxcvbnm./-", '_"[],')


class EditKey(KButton):
    key = StringProperty("")


class ConfigRow(BoxLayout):
    key = StringProperty("")
    value = StringProperty("")
    editable = BooleanProperty(False)


class EditorPanel(InvisibleIgnoresTouch, BoxLayout):
    """Drawn over the list while a key is edited; hidden, it lets taps through to the list."""


class ConfigPage(Page):
    def on_m(self, _page, model) -> None:
        model.bind(config_rows=self._rebuild)

    def on_kv_post(self, _base) -> None:
        keys = self.ids.keyboard
        for row in KEY_ROWS:
            for key in row:
                keys.add_widget(EditKey(key=key))
        for key in ("space", "⌫", "clear"):
            keys.add_widget(EditKey(key=key))

    def on_pre_enter(self, *_):
        self.m.refresh()

    def _rebuild(self, _model, rows) -> None:
        box = self.ids.rows
        box.clear_widgets()
        for row in rows:
            box.add_widget(ConfigRow(key=row["key"], value=row["value"], editable=row["editable"]))
