"""Shared fixtures for device tests: simulators on loopback TCP and on a pty, and an event queue."""
import pytest

from kiosk.events import EventQueue


@pytest.fixture
def events():
    return EventQueue()


def data_events(queue, source, count, timeout=10.0):
    """The next `count` DATA or ERROR events from `source` (status events are skipped)."""
    found = []
    while len(found) < count:
        event = queue.wait_for(lambda e: e.source == source and e.kind in ("data", "error"), timeout)
        assert event is not None, f"only {len(found)} of {count} events arrived: {found}"
        found.append(event)
    return found
