"""System: version, uptime, disk and memory, the audit chain's state; restart the app; exit to the
desktop (technicians only)."""
from __future__ import annotations

from screens.maintenance.shell import RowsPage


class SystemPage(RowsPage):
    rows_property = "system_rows"
