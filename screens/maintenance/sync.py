"""Sync: queue depth, oldest unsent transaction, last success and error, server reachable; sync now;
export the unsent queue to the USB stick."""
from __future__ import annotations

from screens.maintenance.shell import RowsPage


class SyncPage(RowsPage):
    rows_property = "sync_rows"
