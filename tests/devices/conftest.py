"""Fixtures for the device tests."""
import pytest

from kiosk.events import EventQueue


@pytest.fixture
def events():
    return EventQueue()
