"""kiosk.clock: the system clock, stepped only by a simulated kiosk's control port (issue 14)."""
from __future__ import annotations

import time

import pytest

from kiosk import clock


@pytest.fixture(autouse=True)
def real_clock():
    clock.reset()
    yield
    clock.reset()


def test_the_clock_is_the_system_clock_until_stepped():
    assert abs(clock.time() - time.time()) < 1
    assert clock.offset_s() == 0
    assert clock.now().tzinfo is not None


def test_control_steps_back_and_forward_with_units_and_returns_to_real():
    assert "offset -86400 s" in clock.control(["-1d"])
    clock.control(["+1y"])
    assert clock.offset_s() == 364 * 86400
    clock.control(["+90"])
    assert clock.offset_s() == 364 * 86400 + 90
    assert abs(clock.time() - time.time() - clock.offset_s()) < 1
    assert "offset +0 s" in clock.control(["real"])
    assert "simulation only" in clock.control([])


@pytest.mark.parametrize("bad", ["1d", "+1w", "-", "soon", "+1e9"])
def test_a_bad_step_is_refused_with_a_clear_error(bad):
    with pytest.raises(ValueError, match="use \\+N or -N"):
        clock.control([bad])
    assert clock.offset_s() == 0


def test_journal_records_are_dated_by_the_kiosk_clock(tmp_path):
    from kiosk.journal import Journal
    clock.control(["+1y"])
    with Journal(tmp_path / "j.sqlite", "K-1") as journal:
        committed = journal.record_event("x", {})
    from datetime import datetime, timedelta
    assert committed.record.device_time[:10] == str((datetime.now().astimezone() + timedelta(days=365)).date())
