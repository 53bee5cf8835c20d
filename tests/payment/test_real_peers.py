"""Issue 13, ZVT part: the simulator behaves like a real terminal, so the kiosk is tested against the
peer it will meet. Registration config byte, refusals before registration, log off, the real
end-of-day totals layout (BMP 60), F-range BMPs, and a terminal that never goes silent."""
from __future__ import annotations

import logging
import uuid

import pytest

from devices.base import IDLE, wait_until
from devices.payment import build
from devices.zvt.apdu import Apdu, bcd, bmp, parse_bmps
from devices.zvt.driver import Ecr, parse_status
from devices.zvt.sim import LedgerEntry, SimConfig, TerminalSimulator
from devices.zvt.transport import SerialTransport, TcpTransport
from kiosk.config import PaymentSettings
from kiosk.events import EventQueue
from tests.payment.helpers import make_journal


class Recorder:
    """A transport that records what the driver sends and answers from a list."""

    def __init__(self, answers):
        self.sent, self.answers = [], list(answers)

    def send(self, apdu):
        self.sent.append(apdu)

    def receive(self, timeout):
        return self.answers.pop(0) if self.answers else None


@pytest.fixture
def fresh():
    """A simulator nobody registered with yet, and an ECR connected to it (not registered)."""
    sim = TerminalSimulator(SimConfig()).start_tcp()
    ecr = Ecr(TcpTransport.connect("127.0.0.1", sim.port), first_answer_timeout=3, step_timeout=3)
    yield sim, ecr
    ecr.transport.close()
    sim.stop()


# -- registration config byte ----------------------------------------------------------------------

def test_the_kiosk_registers_for_intermediate_status_and_prints_every_receipt_itself():
    link = Recorder([Apdu(0x80, 0x00), Apdu(0x06, 0x0F)])
    assert Ecr(link).register().result_code == 0
    command = link.sent[0]
    assert command.is_(0x06, 0x00)
    config = command.data[3]
    assert config & 0x08, f"config byte {config:02X}: no intermediate status, the customer sees nothing at the PIN"
    assert config & 0x02 and config & 0x04 and config & 0x80  # payment + admin receipts, as print lines
    assert config & 0x10 and config & 0x20  # no amount entry, no administration started on the terminal
    assert command.data[4:6] == bcd(978, 2)


def test_no_intermediate_status_unless_the_ecr_asks_for_it(fresh):
    sim, ecr = fresh
    seen = []
    ecr.on_status = seen.append
    assert ecr.register(0x86).result_code == 0  # the old kiosk config byte: bit 0x08 missing
    assert ecr.pay(100).approved and seen == []
    assert ecr.register().result_code == 0
    assert ecr.pay(100).approved and seen == [0x0A, 0x17]


def test_receipt_lines_only_when_the_ecr_prints(fresh):
    sim, ecr = fresh
    assert ecr.register(0x08).result_code == 0  # the terminal prints its own receipts
    paid = ecr.pay(100)
    assert paid.approved and paid.receipt_lines == []
    assert ecr.end_of_day().receipt_lines == []
    assert ecr.register(0x8A).result_code == 0  # the ECR prints payment receipts, the terminal admin receipts
    assert "Zahlung erfolgt" in ecr.pay(100).receipt_lines
    assert ecr.end_of_day().receipt_lines == []
    assert ecr.register(0x0E).result_code == 0  # ECR "prints" but builds receipts itself from 04 0F: no lines
    assert ecr.pay(100).receipt_lines == []


def test_refused_before_registration_and_after_log_off(fresh):
    sim, ecr = fresh
    for command in (lambda: ecr.pay(100), lambda: ecr.reversal(1), ecr.end_of_day, ecr.repeat_receipt):
        outcome = command()
        assert outcome.refused and outcome.result_code == 0x6B and outcome.message[0] == "payment.unavailable"
    assert ecr.status_enquiry().terminal_status == 0  # a status enquiry needs no registration
    assert sim.ledger == []
    assert ecr.register().result_code == 0 and ecr.pay(100).approved
    assert ecr.log_off().result_code == 0 and sim.registration is None
    assert ecr.pay(100).result_code == 0x6B and len(sim.ledger) == 1


# -- end-of-day totals (BMP 60) -----------------------------------------------------------------

def test_end_of_day_totals_in_the_layout_real_terminals_send():
    # receipts 0001..0012; girocard 3 for 12.34, JCB none, Mastercard 2 for 100.00, Amex..other none
    raw = bcd(1, 2) + bcd(12, 2) + bytes([3]) + bcd(1234, 6) + bytes([0]) + bcd(0, 6) + bytes([2]) + bcd(10000, 6) \
        + (bytes([0]) + bcd(0, 6)) * 4
    totals = parse_status(bmp(0x27, b"\x00") + bmp(0x04, bcd(11234, 6)) + bmp(0x60, raw))["totals"]
    assert totals == {"receipt_from": 1, "receipt_to": 12, "count": 5, "total": 11234, "girocard_count": 3,
                      "girocard_total": 1234, "mastercard_count": 2, "mastercard_total": 10000}


def test_end_of_day_journals_what_was_sold(tmp_path):
    events = EventQueue()
    journal = make_journal(tmp_path / "journal.sqlite")
    terminal, sim = build(PaymentSettings(driver="simulator", simulator_pin_delay_ms=0), events)
    terminal.attach(journal)
    terminal.open()
    try:
        assert wait_until(lambda: terminal.state == IDLE, 10), terminal.last_error
        amounts = [1999, 250, 4, 120000]
        for amount in amounts:
            assert terminal.pay(str(uuid.uuid4()), amount).result(timeout=20).status == "approved"
        sim.config.result_code = 0x05
        assert terminal.pay(str(uuid.uuid4()), 777).result(timeout=20).status == "declined"
        totals = terminal.end_of_day().result(timeout=20)
        [record] = [r for r in journal.recent() if r.body.kind == "event" and r.body.event == "payment_end_of_day"]
        journaled = record.body.details
        sold = [p for p in journal.payments() if p["status"] == "approved"]
        assert journaled["count"] == len(sold) == len(amounts) == journaled["girocard_count"]
        assert journaled["total"] == sum(p["amount"] for p in sold) == sum(amounts) == journaled["girocard_total"]
        assert (journaled["receipt_from"], journaled["receipt_to"]) == (1, 4) and totals == journaled
    finally:
        terminal.close()
        sim.stop()
        journal.close()


# -- F-range BMPs ---------------------------------------------------------------------------------

def test_display_text_with_f_range_bmps_parses():
    # 06 E0 display text: F0 duration 5 s, lines 1 and 8, F9 two beeps, FA/FB/FC one byte each
    data = b"\xf0\x05" + bmp(0xF1, b"Bitte warten") + bmp(0xF8, b"Danke") + b"\xf9\x02\xfa\x00\xfb\x01\xfc\x00"
    assert data[2:5] == b"\xf1\xf1\xf2"  # LL length prefix
    fields = parse_bmps(Apdu(0x06, 0xE0, data).data)
    assert fields == {0xF0: b"\x05", 0xF1: b"Bitte warten", 0xF8: b"Danke", 0xF9: b"\x02", 0xFA: b"\x00",
                      0xFB: b"\x01", 0xFC: b"\x00"}


# -- never silent -----------------------------------------------------------------------------------

@pytest.fixture
def registered():
    sim = TerminalSimulator(SimConfig()).start_tcp()
    ecr = Ecr(TcpTransport.connect("127.0.0.1", sim.port), first_answer_timeout=3, step_timeout=3)
    assert ecr.register().result_code == 0
    yield sim, ecr
    ecr.transport.close()
    sim.stop()


def test_end_of_day_totals_too_large_give_an_error_not_silence(registered, caplog):
    sim, ecr = registered
    big = 10 ** 12 - 1  # the largest amount: two of them do not fit the 12 BCD digits of a turnover
    sim.ledger += [LedgerEntry("payment", big, 1, 1), LedgerEntry("payment", big, 2, 2)]
    outcome = ecr.end_of_day()  # before: the ECR waited forever (here: TimeoutError_ after 3 s)
    assert not outcome.approved and outcome.result_code == 0xFF
    assert "end of day failed" in caplog.text
    sim.ledger[1].reversed = True  # the period stayed open: once the totals fit, it closes with them
    assert ecr.end_of_day().status["totals"]["total"] == big


def test_receipt_numbers_wrap_at_9999(registered):
    sim, ecr = registered
    sim._receipt_no = 9998
    assert [ecr.pay(100).status["receipt_no"] for _ in range(3)] == [9999, 1, 2]
    assert ecr.reversal(1).approved  # the wrapped number identifies the payment
    assert [e.reversed for e in sim.ledger] == [False, True, False, False]


def test_an_internal_error_is_an_error_reply_and_books_nothing(registered, caplog, monkeypatch, tmp_path):
    sim, ecr = registered
    garbled = ecr._run("authorisation", Apdu(0x06, 0x01, b"\x04\x00\x01"))  # BMP 04 cut short
    assert garbled.refused and garbled.result_code == 0x9A  # before: ignored, the ECR waited (TimeoutError_)
    import devices.zvt.sim_replies as replies

    def broken(*args, **kwargs):
        raise RuntimeError("encoder broke")
    monkeypatch.setattr(replies, "status_info", broken)
    outcome = ecr.pay(100)
    assert outcome.result_code == 0xFF and not outcome.approved and sim.ledger == []
    assert "authorisation failed" in caplog.text and "encoder broke" in caplog.text


def test_a_booking_that_cannot_be_saved_is_not_booked(tmp_path, monkeypatch):
    state = tmp_path / "terminal.json"
    sim = TerminalSimulator(SimConfig(), state_file=state).start_tcp()
    ecr = Ecr(TcpTransport.connect("127.0.0.1", sim.port), first_answer_timeout=3, step_timeout=3)
    try:
        assert ecr.register().result_code == 0 and ecr.pay(100).approved
        saved = state.read_text()
        real_open = type(state).open

        def full_disk(path, mode="r", *args, **kwargs):  # the "non-volatile memory" is full: saving fails
            if "w" in mode:
                raise OSError(28, "No space left on device")
            return real_open(path, mode, *args, **kwargs)
        monkeypatch.setattr(type(state), "open", full_disk)
        outcome = ecr.pay(200)
        monkeypatch.undo()
        assert outcome.result_code == 0xFF and [e.amount for e in sim.ledger] == [100] and state.read_text() == saved
        assert ecr.pay(300).status["receipt_no"] == 2
    finally:
        ecr.transport.close()
        sim.stop()
    restarted = TerminalSimulator(state_file=state)
    assert [e.amount for e in restarted.ledger] == [100, 300] and restarted.registration is not None


def test_a_command_while_the_terminal_waits_for_an_ack_is_answered():
    timeouts = {"byte_timeout": 2.0, "ack_timeout": 3.0}
    sim = TerminalSimulator(SimConfig(ack_wait=5.0), serial_timeouts=timeouts).start_pty()
    link = SerialTransport.open(sim.path, **timeouts)
    try:
        assert Ecr(link, first_answer_timeout=5, step_timeout=5).register().result_code == 0
        link.send(Apdu(0x06, 0x01, bmp(0x04, bcd(100, 6))))
        assert link.receive(5).is_(0x80, 0x00)
        assert link.receive(5).is_(0x04, 0xFF)  # the terminal now waits for our 80 00 00...
        link.send(Apdu(0x05, 0x01, bytes(3)))  # ...and gets a status enquiry instead
        answer = link.receive(5)
        assert answer is not None and answer.cls == 0x84, "the command was dropped silently"
        link.send(Apdu(0x80, 0x00))  # now the acknowledgement: the payment goes on
        rest = []
        while not rest or not rest[-1].is_(0x06, 0x0F):
            apdu = link.receive(5)
            assert apdu is not None
            rest.append(apdu)
            link.send(Apdu(0x80, 0x00))
        assert len(sim.charges()) == 1
    finally:
        link.close()
        sim.stop()


def test_log_lines_name_the_refusal(fresh, caplog):
    sim, ecr = fresh
    caplog.set_level(logging.INFO, logger="devices.zvt.sim")
    ecr.pay(100)
    assert "no ECR registered" in caplog.text


def test_a_full_turnover_file_refuses_payments_until_the_end_of_day(registered):
    sim, ecr = registered
    assert ecr.pay(10 ** 12 - 1).approved
    full = ecr.pay(1)  # one cent more would not fit the 12 BCD digits of the end-of-day totals
    assert full.result_code == 0x6A and full.message[0] == "payment.unavailable" and len(sim.ledger) == 1
    assert ecr.end_of_day().status["totals"]["total"] == 10 ** 12 - 1
    assert ecr.pay(1).approved  # a new period
    sim.ledger += [LedgerEntry("payment", 1, n, n, batch=2) for n in range(10, 10 + 299)]
    totals = ecr.end_of_day().status["totals"]  # 300 girocard payments: more than the one-byte count says
    assert (totals["girocard_count"], totals["girocard_total"]) == (255, 300)


def test_the_kiosk_registers_again_when_the_terminal_forgot_it(sim, journal):
    from tests.payment.helpers import make_flow
    flow = make_flow(sim, journal)
    try:
        assert flow.pay(str(uuid.uuid4()), 100).status == "approved"
        sim.registration = None  # the terminal restarted; over serial the link never dropped
        assert flow.pay(str(uuid.uuid4()), 200).status == "approved"
        assert sim.registration == 0xBE and [e.amount for e in sim.charges()] == [100, 200]
        assert [p["status"] for p in journal.payments()] == ["approved", "approved"]
    finally:
        flow.close()
