"""The payment terminal device (devices.base contract) against the simulator it builds itself."""
from __future__ import annotations

import uuid

import pytest

from devices.base import IDLE, wait_until
from devices.payment import build
from devices.zvt.sim import Fault
from kiosk.config import PaymentSettings
from kiosk.events import DATA, EventQueue
from tests.payment.helpers import make_journal


@pytest.fixture
def device(tmp_path):
    events = EventQueue()
    journal = make_journal(tmp_path / "journal.sqlite")
    terminal, sim = build(PaymentSettings(driver="simulator", simulator_pin_delay_ms=0), events)
    terminal.attach(journal)
    terminal.open()
    assert wait_until(lambda: terminal.state == IDLE, 10), terminal.last_error
    yield terminal, sim, journal, events
    terminal.close()
    sim.stop()
    journal.close()


def results(events):
    return [e.data for e in events.drain() if e.kind == DATA and e.data.get("event") == "result"]


def test_pay_completes_the_sale_and_posts_the_result(device):
    terminal, sim, journal, events = device
    sale = str(uuid.uuid4())
    result = terminal.pay(sale, 1999).result(timeout=20)
    assert result.status == "approved" and result.facts["masked_pan"] == "672559******7898"
    [payment] = journal.payments()
    assert payment["status"] == "approved" and payment["facts"]["receipt_no"] == sim.charges()[0].receipt_no
    drained = events.drain()
    [posted] = [e.data for e in drained if e.kind == DATA and e.data.get("event") == "result"]
    assert posted["sale_uuid"] == sale and posted["message_id"] == "payment.approved"
    shown = [e.data["message_id"] for e in drained if e.kind == DATA and e.data.get("event") == "status"]
    assert shown == ["payment.status.insert_card", "payment.status.wait"]
    assert terminal.statistics["payments_approved"] == 1


def test_declined_payment(device):
    terminal, sim, journal, events = device
    sim.config.result_code = 0x05
    result = terminal.pay(str(uuid.uuid4()), 500).result(timeout=20)
    assert result.status == "declined" and result.message_id == "payment.declined"
    assert journal.payments()[0]["status"] == "declined" and sim.ledger == []


def test_end_of_day_is_journaled(device):
    terminal, sim, journal, events = device
    terminal.pay(str(uuid.uuid4()), 300).result(timeout=20)
    totals = terminal.end_of_day().result(timeout=20)
    assert totals["count"] == 1 and totals["total"] == 300
    assert any(r.body.kind == "event" and r.body.event == "payment_end_of_day" for r in journal.recent())


def test_lost_link_mid_payment_is_resolved_after_reconnect(device):
    terminal, sim, journal, events = device
    assert terminal.pay(str(uuid.uuid4()), 100).result(timeout=20).status == "approved"
    sim.inject(Fault("drop", "status-info"))  # charged, then the link dies before the kiosk hears it
    sim.inject(Fault("drop", "received", command=(0x06, 0x20)))  # and the first repeat receipt dies too
    result = terminal.pay(str(uuid.uuid4()), 4200).result(timeout=20)
    assert result.status == "in_doubt" and terminal.blocked
    assert wait_until(lambda: not terminal.blocked, 20)
    assert wait_until(lambda: terminal.state == IDLE, 10)
    assert [p["status"] for p in journal.payments()] == ["approved", "approved"] and len(sim.charges()) == 2
    assert journal.payments()[0]["facts"]["receipt_no"] == sim.charges()[1].receipt_no
    assert terminal.statistics["reconnects"] >= 1


def test_health_check_asks_the_terminal(device):
    terminal, sim, journal, events = device
    assert terminal.health_check() == (True, "terminal ready")


def test_payment_waits_while_the_terminal_is_busy_after_the_last_one(device):
    terminal, sim, journal, events = device
    sim.config.busy_after_payment = 1.0
    assert terminal.pay(str(uuid.uuid4()), 100).result(timeout=20).status == "approved"
    assert terminal.pay(str(uuid.uuid4()), 200).result(timeout=20).status == "approved"  # waited, then paid
    assert [e.amount for e in sim.charges()] == [100, 200]


def test_scheduled_end_of_day_runs_once_a_day(tmp_path):
    events = EventQueue()
    journal = make_journal(tmp_path / "journal.sqlite")
    terminal, sim = build(PaymentSettings(driver="simulator", simulator_pin_delay_ms=0, end_of_day_at="00:00"),
                          events)
    terminal.attach(journal)
    terminal.open()
    try:
        done = events.wait_for(lambda e: e.kind == DATA and e.data.get("event") == "end_of_day", 15)
        assert done is not None and done.data["totals"]["count"] == 0
        assert terminal.pay(str(uuid.uuid4()), 100).result(timeout=20).status == "approved"
        assert wait_until(lambda: terminal.statistics["steps"] > 0 and terminal.state == IDLE, 10)
        assert sim.commands.count("end of day") == 1  # not again the same day
    finally:
        terminal.close()
        sim.stop()
        journal.close()


def test_scheduled_end_of_day_is_not_repeated_after_a_restart(tmp_path):
    journal = make_journal(tmp_path / "journal.sqlite")
    settings = PaymentSettings(driver="simulator", simulator_pin_delay_ms=0, end_of_day_at="00:00")
    runs = []
    try:
        for _start in range(2):  # the kiosk restarted the same day, with the same journal
            events = EventQueue()
            terminal, sim = build(settings, events)
            terminal.attach(journal)
            terminal.open()
            try:
                events.wait_for(lambda e: e.kind == DATA and e.data.get("event") == "end_of_day", 4)
                runs.append(sim.commands.count("end of day"))
            finally:
                terminal.close()
                sim.stop()
        assert runs == [1, 0]
        assert journal.last_event_time("payment_end_of_day") is not None
    finally:
        journal.close()


def test_cancel_before_the_payment_reaches_the_terminal(device):
    terminal, sim, journal, events = device
    import threading
    gate = threading.Event()
    sim.on_step = lambda command, step: gate.wait(20) if command == (0x06, 0x50) else None
    blocker = terminal.end_of_day()  # holds the I/O thread until the gate opens
    future = terminal.pay(str(uuid.uuid4()), 100)
    terminal.cancel()
    gate.set()
    blocker.result(timeout=20)
    result = future.result(timeout=20)
    assert result.status == "cancelled" and sim.ledger == [] and "authorisation" not in sim.commands
    assert journal.payments()[0]["status"] == "cancelled"
