"""Device actions of the Devices page that need more than the device contract: reconnect, and
switching one device to its byte-level simulator (for the rest of this run; the config is unchanged)."""
from __future__ import annotations

from typing import Any


def reconnect(manager, name: str) -> None:
    """Close and open again (blocks up to the device's close timeout: call off the UI thread)."""
    manager.reconnect(name)


def test_print(printer, kiosk_id: str) -> tuple[bool, str]:
    """The Devices page's "Test print": the printer's external check, its test page naming this kiosk."""
    printer.kiosk_id = kiosk_id
    return printer.health_check("external")


def switch_to_simulator(manager, section: Any, name: str, journal=None) -> None:
    """Replace device `name` by its real driver pointed at a fresh simulator (blocking, as above)."""
    manager.replace(name, section.model_copy(update={"driver": "simulator"}), journal)
