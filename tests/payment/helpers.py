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


def register(sim, config_byte=None):
    """Register with the simulator as the kiosk does when it starts (the terminal refuses payments before)."""
    ecr = Ecr(TcpTransport.connect("127.0.0.1", sim.port), first_answer_timeout=5, step_timeout=5)
    try:
        outcome = ecr.register() if config_byte is None else ecr.register(config_byte)
        assert outcome.result_code == 0 and not outcome.refused, outcome
    finally:
        ecr.transport.close()


def make_flow(sim, journal, trace=None, timeout=3.0, **kw):
    """A PaymentFlow against the simulator; registers first if no ECR is registered yet."""
    if sim.registration is None:
        register(sim)
    def connect():
        return Ecr(TcpTransport.connect("127.0.0.1", sim.port, timeout=timeout),
                   first_answer_timeout=timeout, step_timeout=timeout)
    return PaymentFlow(journal, connect, finish_sale(journal), trace=trace, **kw)
