"""Helpers shared by the payment tests and the kiosk child process (no pytest import: the child
starts fast)."""
from __future__ import annotations

from devices.zvt.driver import Ecr
from devices.zvt.reconcile import PaymentFlow
from devices.zvt.transport import TcpTransport
from kiosk.journal import Journal


def make_journal(path):
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
