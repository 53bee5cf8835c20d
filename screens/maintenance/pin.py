"""The technician PIN pad (after the hidden gesture or a badge scan)."""
from __future__ import annotations

from screens.maintenance.shell import Page


class PinPage(Page):
    pass
