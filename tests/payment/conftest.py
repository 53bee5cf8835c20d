"""Shared fixtures: a terminal simulator on 127.0.0.1 and a journal on a temporary file."""
from __future__ import annotations

import pytest

from devices.zvt.driver import Ecr
from devices.zvt.reconcile import PaymentFlow
from devices.zvt.sim import SimConfig, TerminalSimulator
from devices.zvt.transport import TcpTransport


def make_journal(path):
    try:
        from kiosk.journal import Journal
    except ImportError:  # the kiosk journal has not landed yet: same API on SQLite
        from tests.payment.standin_journal import StandinJournal as Journal
    journal = Journal(path, "kiosk-test")
    journal.start()
    return journal


def finish_sale(journal):
    def finish(sale_uuid, intent_id, facts, lines):
        journal.complete_sale(sale_uuid, intent_id, facts)
    return finish


def make_flow(sim, journal, trace=None, timeout=3.0, **kw):
    def connect():
        return Ecr(TcpTransport.connect("127.0.0.1", sim.port, timeout=timeout),
                   first_answer_timeout=timeout, step_timeout=timeout)
    return PaymentFlow(journal, connect, finish_sale(journal), trace=trace, **kw)


@pytest.fixture
def sim():
    simulator = TerminalSimulator(SimConfig()).start_tcp()
    yield simulator
    simulator.stop()


@pytest.fixture
def journal(tmp_path):
    j = make_journal(tmp_path / "journal.sqlite")
    yield j
    j.close()
