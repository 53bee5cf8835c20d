"""Property tests across the whole number ranges: every reply the simulator can produce parses back
with the ECR's codec (through the real driver), and every command the driver can send parses in the
simulator. Amounts 1 .. 10^12-1 minor units, receipt numbers 1..9999, trace numbers 1..999999."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from devices.zvt import sim_replies as replies
from devices.zvt.apdu import ACK, Apdu, ZvtError, decode_apdu, nak
from devices.zvt.driver import TOTALS_CARD_TYPES, Ecr, _parse_totals, parse_status
from devices.zvt.sim_replies import RECEIPT_MAX, TOTAL_MAX, TRACE_MAX, Booking

PROPS = settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                 database=None)
amounts = st.integers(1, TOTAL_MAX)
receipts = st.integers(1, RECEIPT_MAX)
traces = st.integers(1, TRACE_MAX)
brands = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), min_size=1, max_size=40)


class Scripted:
    """A transport for the real driver: records what it sends, answers from a script (each APDU
    round-tripped through bytes first, as on a real link)."""

    def __init__(self, answers):
        self.sent, self.answers = [], [decode_apdu(a.encode()) for a in answers]

    def send(self, apdu):
        self.sent.append(decode_apdu(apdu.encode()))

    def receive(self, timeout):
        return self.answers.pop(0) if self.answers else None


def run(answers) -> Ecr:
    return Ecr(Scripted(answers), first_answer_timeout=0.01, step_timeout=0.01)


@PROPS
@given(amounts, receipts, traces, st.booleans(), brands, st.booleans(), st.integers(0, 5))
def test_every_payment_reply_parses_in_the_driver(amount, receipt, trace, block, brand, full_pan, extra):
    booking = Booking("payment", amount, receipt, trace)
    lines = replies.receipt_lines(booking, "PAYMENT", full_pan, extra)
    script = [ACK, replies.status_info(0, booking, amount, trace, brand, full_pan),
              *replies.print_apdus(lines, block), Apdu(0x06, 0x0F)]
    outcome = run(script).pay(amount)
    assert outcome.approved
    facts = outcome.status
    assert (facts["amount"], facts["receipt_no"], facts["trace_no"]) == (amount, receipt, trace)
    assert facts["brand"] == brand.strip("\x00 ") and facts["masked_pan"] == replies.MASKED_TEST_PAN
    assert len(outcome.receipt_lines) == len(lines) and f"Beleg-Nr. {receipt}" in outcome.receipt_lines


@PROPS
@given(amounts, receipts, traces, traces, st.integers(0, 255))
def test_every_reversal_decline_and_repeat_reply_parses(amount, receipt, trace, original, result):
    reversal = Booking("reversal", amount, receipt, trace, original)
    facts = parse_status(replies.status_info(0, reversal, amount, trace).data)
    assert (facts["receipt_no"], facts["original_trace_no"], facts["amount"]) == (receipt, original, amount)
    declined = run([ACK, replies.status_info(result, None, amount, trace), Apdu(0x06, 0x1E, bytes([result]))])
    outcome = declined.pay(amount)
    assert outcome.result_code == result and outcome.status["trace_no"] == trace


@PROPS
@given(receipts, receipts, st.dictionaries(st.sampled_from(TOTALS_CARD_TYPES),
                                           st.tuples(st.integers(0, 255), amounts)), traces)
def test_every_end_of_day_reply_parses(first, last, by_type, trace):
    total = sum(t for _, t in by_type.values())
    raw = replies.end_of_day_totals(first, last, by_type)
    lines = replies.end_of_day_lines(first, last, sum(c for c, _ in by_type.values()), total)
    if total > TOTAL_MAX:  # the sum does not fit BMP 04: the simulator answers 06 1E instead (and books nothing)
        with pytest.raises(ZvtError):
            replies.end_of_day_info(total, trace, raw)
        return
    info = replies.end_of_day_info(total, trace, raw)
    outcome = run([ACK, info, *replies.print_apdus(lines), Apdu(0x06, 0x0F)]).end_of_day()
    totals = outcome.status["totals"]
    assert totals == _parse_totals(raw)
    assert (totals["receipt_from"], totals["receipt_to"], totals["total"]) == (first, last, total)
    for name, (count, turnover) in by_type.items():
        assert totals.get(f"{name}_count", 0) == count and totals.get(f"{name}_total", 0) == turnover


@PROPS
@given(st.integers(0, 255))
def test_every_status_enquiry_reply_parses(status):
    assert run([ACK, replies.status_completion(status)]).status_enquiry().terminal_status == status


@PROPS
@given(amounts, receipts, st.integers(0, 255), st.sampled_from(["EUR", "CHF", "GBP", "USD", "DKK", "SEK"]),
       st.text("0123456789", min_size=6, max_size=6))
def test_every_driver_command_parses_in_the_simulator(amount, receipt, config_byte, currency, password):
    def sent(command):
        ecr = Ecr(Scripted([nak(0x83)]), password=password, currency=currency)
        command(ecr)
        [apdu] = ecr.transport.sent
        return replies.parse_command(apdu)
    assert sent(lambda e: e.pay(amount))["amount"] == amount
    assert sent(lambda e: e.reversal(receipt)) == {"password": password, "receipt_no": receipt}
    registration = sent(lambda e: e.register(config_byte))
    assert (registration["config_byte"], registration["password"]) == (config_byte, password)
    for command in (Ecr.end_of_day, Ecr.status_enquiry, Ecr.repeat_receipt):
        assert sent(command) == {"password": password}
    assert sent(Ecr.log_off) == {}
