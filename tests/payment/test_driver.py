"""The real ECR driver against the terminal simulator, over TCP and over a pty (serial framing)."""
from __future__ import annotations

import threading

import pytest

from devices.zvt.driver import Ecr, TimeoutError_
from devices.zvt.results import ABORTED, ALREADY_REVERSED, BUSY, TURNOVER_FULL
from devices.zvt.sim import Fault, SimConfig, TerminalSimulator
from devices.zvt.transport import SerialTransport, TcpTransport

LINKS = ("tcp", "pty")
SERIAL_TIMEOUTS = {"byte_timeout": 2.0, "ack_timeout": 3.0}  # generous: the CI machine may be loaded


@pytest.fixture(params=LINKS)
def terminal(request):
    """(simulator, connected Ecr) over the parametrised link."""
    sim = TerminalSimulator(SimConfig(), serial_timeouts=SERIAL_TIMEOUTS)
    if request.param == "tcp":
        sim.start_tcp()
        transport = TcpTransport.connect("127.0.0.1", sim.port)
    else:
        sim.start_pty()
        transport = SerialTransport.open(sim.path, **SERIAL_TIMEOUTS)
    ecr = Ecr(transport, first_answer_timeout=5, step_timeout=10)
    assert ecr.register().result_code == 0  # as the kiosk does on start; the terminal refuses payments before
    yield sim, ecr
    transport.close()
    sim.stop()


def test_registration_then_approved_payment(terminal):
    sim, ecr = terminal
    assert ecr.register().result_code == 0
    statuses = []
    ecr.on_status = statuses.append
    outcome = ecr.pay(1234)
    assert outcome.approved and outcome.message[0] == "payment.approved"
    assert statuses == [0x0A, 0x17]
    facts = outcome.status
    assert facts["amount"] == 1234 and facts["currency"] == 978 and facts["brand"] == "girocard"
    assert facts["masked_pan"] == "672559******7898" and facts["auth_code"] and facts["trace_no"] == 1
    [charge] = sim.charges()
    assert (charge.amount, charge.receipt_no) == (1234, facts["receipt_no"])
    assert "Betrag EUR 12,34" in outcome.receipt_lines


def test_declined_payment_charges_nothing(terminal):
    sim, ecr = terminal
    sim.config.result_code = 0x05
    outcome = ecr.pay(500)
    assert not outcome.approved and outcome.result_code == 0x05
    assert outcome.message[0] == "payment.declined"
    assert sim.ledger == []


def test_abort_during_pin_entry(terminal):
    sim, ecr = terminal
    sim.config.pin_delay = 30.0
    ecr.on_status = lambda code: ecr.request_abort() if code == 0x17 else None
    outcome = ecr.pay(700)
    assert outcome.abort_sent and outcome.result_code == ABORTED
    assert outcome.message[0] == "payment.cancelled"
    assert sim.ledger == []


def test_abort_from_another_thread(terminal):
    sim, ecr = terminal
    sim.config.pin_delay = 30.0
    timer = threading.Timer(0.2, ecr.request_abort)
    timer.start()
    outcome = ecr.pay(700)
    timer.join()
    assert outcome.result_code == ABORTED and sim.ledger == []


def test_reversal_and_second_reversal_refused(terminal):
    sim, ecr = terminal
    paid = ecr.pay(999)
    reversal = ecr.reversal(paid.status["receipt_no"])
    assert reversal.approved and reversal.status["original_trace_no"] == paid.status["trace_no"]
    assert sim.charges() == [] and sim.ledger[0].reversed
    again = ecr.reversal(paid.status["receipt_no"])
    assert again.result_code == ALREADY_REVERSED and not again.approved


def test_end_of_day_totals(terminal):
    sim, ecr = terminal
    ecr.pay(100)
    ecr.pay(250)
    outcome = ecr.end_of_day()
    assert outcome.approved
    assert outcome.status["totals"] == {"receipt_from": 1, "receipt_to": 2, "count": 2, "total": 350,
                                        "girocard_count": 2, "girocard_total": 350}
    assert outcome.status["amount"] == 350 and "KASSENSCHNITT" in outcome.receipt_lines
    assert ecr.end_of_day().status["totals"]["count"] == 0  # a new period


def test_end_of_day_required(terminal):
    sim, ecr = terminal
    sim.config.end_of_day_required = True
    assert ecr.status_enquiry().terminal_status == TURNOVER_FULL
    refused = ecr.pay(100)
    assert refused.result_code == TURNOVER_FULL and refused.message[0] == "payment.unavailable"
    assert ecr.end_of_day().approved
    assert ecr.pay(100).approved


def test_busy_after_payment(terminal):
    sim, ecr = terminal
    sim.config.busy_after_payment = 30.0
    assert ecr.pay(100).approved
    assert ecr.status_enquiry().terminal_status == BUSY
    second = ecr.pay(100)
    assert second.refused and second.result_code == BUSY and second.message[0] == "payment.busy"
    assert len(sim.ledger) == 1


def test_status_enquiry_ready(terminal):
    sim, ecr = terminal
    assert ecr.status_enquiry().terminal_status == 0


def test_repeat_receipt_gives_the_last_booking(terminal):
    sim, ecr = terminal
    assert ecr.repeat_receipt().status == {}  # nothing booked yet
    paid = ecr.pay(4321)
    again = ecr.repeat_receipt()
    assert again.status["receipt_no"] == paid.status["receipt_no"] and again.status["amount"] == 4321


def test_extended_length_text_block(terminal):
    sim, ecr = terminal
    sim.config.text_block, sim.config.receipt_extra_lines = True, 40  # about 1.6 kB: length FF lo hi
    outcome = ecr.pay(100)
    assert outcome.approved
    assert len(outcome.receipt_lines) == 46 and outcome.receipt_lines[-1].startswith("Werbung 039")


def test_wrong_password_is_refused(terminal):
    sim, ecr = terminal
    sim.config.password = "123456"
    outcome = ecr.register()
    assert outcome.refused and outcome.result_code == 0x9A


def test_silent_terminal_times_out():
    sim = TerminalSimulator().start_tcp()
    try:
        sim.inject(Fault("silent", "received"))
        ecr = Ecr(TcpTransport.connect("127.0.0.1", sim.port), first_answer_timeout=0.3, step_timeout=0.3)
        ecr.register()
        with pytest.raises(TimeoutError_, match="did not answer"):
            ecr.pay(100)
        ecr.transport.close()
    finally:
        sim.stop()


# -- serial link faults ------------------------------------------------------------------------------

@pytest.fixture
def serial_terminal():
    sim = TerminalSimulator(serial_timeouts=SERIAL_TIMEOUTS).start_pty()
    transport = SerialTransport.open(sim.path, **SERIAL_TIMEOUTS)
    ecr = Ecr(transport, first_answer_timeout=5, step_timeout=10)
    assert ecr.register().result_code == 0
    yield sim, ecr, transport
    transport.close()
    sim.stop()


def test_retransmission_after_bad_crc(serial_terminal):
    sim, ecr, transport = serial_terminal
    sim.inject(Fault("corrupt", "acked"))  # the first 04 FF goes out with a broken CRC
    sim.inject(Fault("corrupt", "status-info"))  # and so does the receipt's first line
    outcome = ecr.pay(100)
    assert outcome.approved and len(sim.ledger) == 1
    assert transport.statistics["bad_frames"] == 2  # we NAKed both, the terminal sent them again
    assert "Beleg-Nr. 1" in outcome.receipt_lines


def test_retransmission_after_nak(serial_terminal):
    sim, ecr, transport = serial_terminal
    sim.inject(Fault("nak", "received"))  # the terminal NAKs our next frame (our 80 00 00 for 04 FF)
    sim.inject(Fault("nak", "status-info"))
    outcome = ecr.pay(100)
    assert outcome.approved
    assert transport.statistics["naks_received"] == 2 and transport.statistics["retransmissions"] == 2


def test_garbage_on_the_line_is_skipped(serial_terminal):
    sim, ecr, transport = serial_terminal
    [sim_side] = sim._sessions
    sim_side.pipe.write(b"\x00\xff\x10\x99garbage")
    outcome = ecr.pay(100)
    assert outcome.approved and transport.statistics["bad_frames"] >= 1
