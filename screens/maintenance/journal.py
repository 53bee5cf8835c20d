"""Journal: the latest transactions with their state (queued or synced), reprint a receipt, the
latest card payments (in doubt ones first), and open help calls."""
from __future__ import annotations

from kivy.factory import Factory

from screens.maintenance.shell import Page


class JournalPage(Page):
    def on_m(self, _page, model) -> None:
        model.bind(tx_rows=self._rebuild, payment_rows=self._rebuild, help_rows=self._rebuild)

    def on_pre_enter(self, *_):
        self.m.refresh()

    def _rebuild(self, *_):
        m, box = self.m, self.ids.rows
        box.clear_widgets()
        box.add_widget(Factory.MLabel(text="Open help calls", bold=True))
        for call in m.help_rows:
            box.add_widget(Factory.MLabel(text=call["text"], color=m.app.c["danger"]))
        if m.help_rows:
            box.add_widget(Factory.MButton(text="Mark help calls as dealt with", tag="help_done",
                                           on_release=lambda *_: m.help_done()))
        else:
            box.add_widget(Factory.MLabel(text="none", color=m.app.c["muted"]))
        box.add_widget(Factory.MLabel(text="Card payments (newest first)", bold=True))
        for payment in m.payment_rows or [{"text": "none", "open": False}]:
            box.add_widget(Factory.MLabel(text=("IN DOUBT  " if payment["open"] else "") + payment["text"],
                                          color=m.app.c["danger" if payment["open"] else "text"]))
        box.add_widget(Factory.MLabel(text="Latest transactions", bold=True))
        for tx in m.tx_rows:
            row = Factory.BoxLayout(size_hint_y=None, height=48, spacing=8)
            row.add_widget(Factory.MLabel(text=f"#{tx['seq']}  {tx['when']}  {tx['what']}  ·  {tx['state']}",
                                          size_hint_y=1))
            if tx["kind"] == "sale":
                row.add_widget(Factory.MSecondary(text="Reprint", size_hint_x=None, width=140, height=44,
                                                  tag=f"reprint_{tx['seq']}",
                                                  on_release=lambda *_, u=tx["uuid"]: m.reprint(u)))
            box.add_widget(row)
