"""Shared fixtures: a terminal simulator on 127.0.0.1 and a journal on a temporary file."""
from __future__ import annotations

import pytest

from devices.zvt.sim import SimConfig, TerminalSimulator
from tests.payment.helpers import make_journal, register


@pytest.fixture
def sim():
    simulator = TerminalSimulator(SimConfig()).start_tcp()
    register(simulator)
    yield simulator
    simulator.stop()


@pytest.fixture
def journal(tmp_path):
    j = make_journal(tmp_path / "journal.sqlite")
    yield j
    j.close()
