"""Logs: the tail of the app log, filtered by level."""
from __future__ import annotations

from screens.maintenance.shell import Page


class LogsPage(Page):
    def on_pre_enter(self, *_):
        self.m.refresh()
