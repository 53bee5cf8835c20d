"""Payments that survive link drops, timeouts and kiosk crashes: never charge twice, never hand
over goods that were not paid for.

The rules, in the order things happen in `PaymentFlow.pay`:

1. The intent (sale, amount) is journaled, then its "prior trace" (the trace number of the
   terminal's last booked transaction before ours) is journaled as in-doubt facts. Only then is
   06 01 sent. An intent without facts therefore was never sent: it resolves to "cancelled".
2. A clear answer is journaled: approved -> `finish_sale` (the journal's complete_sale, one
   transaction with the payment facts); declined/aborted -> "declined"/"cancelled".
3. Anything else (link lost, timeout, crash) leaves the payment in doubt. New sales are blocked
   (`blocked`) until `recover()` resolves it with the terminal: a status enquiry (wait while busy),
   then a repeat receipt (06 20) for the last transaction. A newer transaction than the prior trace
   with our amount is ours: the sale is finished. No newer transaction: ours never happened.
4. A customer cancel that loses the race (the terminal approved anyway) and an approval recovered
   for a sale the customer had cancelled are reversed (06 30). "reversing" is journaled first, so
   a crash mid-reversal sends the reversal again; "already reversed" (B4) counts as done.

Every step is idempotent against the journal and the terminal, so resolution survives any number
of crashes. 06 01 is sent once per intent; only a refusal (nothing was started) makes the kiosk send
it again: 84 9C "busy" for up to `busy_wait` seconds, 84 6B "not registered" once after registering.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from devices.zvt.apdu import ZvtError
from devices.zvt.driver import RECEIPT_FACTS, Ecr, Outcome
from devices.zvt.results import ABORTED, ALREADY_REVERSED, BUSY, MESSAGES, NOT_REGISTERED, SUCCESS, customer_message
from devices.zvt.transport import LinkError
from kiosk.ports import PaymentJournal

FinishSale = Callable[[str, Any, dict[str, Any], list[str]], None]  # (sale_uuid, intent_id, facts, receipt lines)


@dataclass
class PaymentResult:
    status: str  # approved | declined | cancelled | reversed | in_doubt
    message_id: str
    facts: dict[str, Any] = field(default_factory=dict)
    receipt_lines: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return MESSAGES[self.message_id]


def receipt_facts(status: dict[str, Any]) -> dict[str, Any]:
    """Only the whitelisted receipt facts; the PAN was masked by the parser already."""
    return {k: status[k] for k in RECEIPT_FACTS if k in status}


class PaymentFlow:
    """One kiosk's card payments against one terminal. Not thread-safe: one sale at a time.

    connect() -> Ecr opens a fresh link (after a lost link the old Ecr is dropped).
    trace(step) is called at every step (flow and protocol); the fault tests crash here.
    """

    def __init__(self, journal: PaymentJournal, connect: Callable[[], Ecr], finish_sale: FinishSale, currency: str = "EUR",
                 busy_wait: float = 30.0, trace: Callable[[str], Any] | None = None,
                 on_status: Callable[[int], Any] | None = None) -> None:
        self.journal, self._connect, self.finish_sale = journal, connect, finish_sale
        self.currency, self.busy_wait, self.trace, self.on_status = currency, busy_wait, trace, on_status
        self._ecr: Ecr | None = None
        self._last_lines: list[str] = []
        self._last_trace: int | None = None
        self._last_trace_known = False
        self._cancel_requested = False

    # -- public --------------------------------------------------------------------------------

    @property
    def blocked(self) -> bool:
        """True while a payment is in doubt: the kiosk must not start a new sale."""
        return bool(self.journal.payments_in_doubt())

    def pay(self, sale_uuid: str, amount: int, draft: dict[str, Any] | None = None) -> PaymentResult:
        """Charge `amount` for the sale; `draft` (the sale's lines, VAT...) is journaled with the intent so
        the sale can be completed from it after a crash."""
        if self.blocked:
            raise RuntimeError("a card payment is still being checked with the terminal; no new sale until then")
        try:
            prior = self._prior_trace()
        except (LinkError, ZvtError):  # nothing journaled, nothing sent: the customer can simply retry
            self._drop_link()
            return PaymentResult("cancelled", "payment.unavailable")
        intent = self.journal.record_payment_intent(sale_uuid, amount, self.currency, draft=draft)
        self._step("intent journaled")
        self.journal.record_payment_result(intent, "in_doubt", {"stage": "authorising", "prior_trace": prior},
                                           write_ahead=True)
        self._step("prior trace journaled")
        if self._cancel_requested:  # the customer cancelled before anything went to the terminal
            self.journal.record_payment_result(intent, "cancelled", {"resolved": "cancelled before sending"})
            return PaymentResult("cancelled", "payment.cancelled")
        try:
            outcome = self.ecr().pay(amount)
            if outcome.refused and outcome.result_code == NOT_REGISTERED and self.ecr().register().approved:
                outcome = self.ecr().pay(amount)  # the terminal restarted and forgot us (a serial link stays open)
            deadline = time.monotonic() + self.busy_wait
            while outcome.refused and outcome.result_code == BUSY and time.monotonic() < deadline:
                time.sleep(0.25)  # busy with the last payment for a few seconds; refused = nothing started
                outcome = self.ecr().pay(amount)
        except (LinkError, ZvtError):
            self._drop_link()
            return self._resolve_now(intent, sale_uuid, amount)
        return self._settle(intent, sale_uuid, amount, outcome)

    def start_sale(self) -> None:
        """Forget a cancel of the previous sale; call before `pay` (the device does)."""
        self._cancel_requested = False

    def cancel(self) -> None:
        """Customer pressed cancel during the payment: abort at the terminal, reverse if it approved anyway."""
        self._cancel_requested = True
        if self._ecr is not None:
            self._ecr.request_abort()

    def recover(self) -> list[PaymentResult]:
        """Resolve every payment in doubt; those that cannot be resolved now (no link) stay in doubt."""
        results = []
        for record in self.journal.payments_in_doubt():
            intent = record["intent_id"]
            self.journal.note_doubt(intent)  # left open by a lost link or a crash: it really was in doubt
            facts = record.get("facts") or {}
            try:
                results.append(self._resolve(intent, record["sale_uuid"], record["amount"], facts))
            except (LinkError, ZvtError):
                self._drop_link()
                results.append(PaymentResult("in_doubt", "payment.checking"))
        return results

    def close(self) -> None:
        self._drop_link()

    # -- settling a known outcome ------------------------------------------------------------------

    def _settle(self, intent, sale_uuid: str, amount: int, outcome: Outcome) -> PaymentResult:
        facts = receipt_facts(outcome.status)
        if outcome.approved:
            self._last_trace, self._last_trace_known = facts.get("trace_no"), True  # only bookings count
            if self._cancel_requested or outcome.abort_sent:
                return self._reverse(intent, facts)  # the abort lost the race: undo the charge
            self._step("before finish sale")
            self.finish_sale(sale_uuid, intent, facts, outcome.receipt_lines)
            self._step("sale finished")
            return PaymentResult("approved", "payment.approved", facts, outcome.receipt_lines)
        code = outcome.result_code if outcome.result_code is not None else 0xFF
        status = "cancelled" if code == ABORTED or outcome.refused else "declined"
        self.journal.record_payment_result(intent, status, dict(facts, result_code=code))
        self._step("result journaled")
        return PaymentResult(status, customer_message(code)[0], facts)

    def _reverse(self, intent, facts: dict[str, Any]) -> PaymentResult:
        self.journal.record_payment_result(intent, "in_doubt", dict(facts, stage="reversing"), write_ahead=True)
        self._step("reversing journaled")
        try:
            outcome = self.ecr().reversal(facts["receipt_no"])
        except (LinkError, ZvtError):
            self._drop_link()
            self.journal.note_doubt(intent)
            return PaymentResult("in_doubt", "payment.checking", facts)
        if outcome.approved or outcome.result_code == ALREADY_REVERSED:
            if "trace_no" in outcome.status:
                self._last_trace, self._last_trace_known = outcome.status["trace_no"], True
            self.journal.record_payment_result(intent, "reversed", dict(facts, reversal=receipt_facts(outcome.status)))
            self._step("reversed journaled")
            return PaymentResult("reversed", "payment.cancelled", facts)
        self.journal.note_doubt(intent)
        return PaymentResult("in_doubt", "payment.checking", facts)  # stays in doubt; retried by recover()

    # -- resolving the unknown ---------------------------------------------------------------------

    def _resolve_now(self, intent, sale_uuid: str, amount: int) -> PaymentResult:
        """Right after a lost link: one attempt to resolve; otherwise the payment stays in doubt."""
        self.journal.note_doubt(intent)
        record = next((r for r in self.journal.payments_in_doubt() if r["intent_id"] == intent), None)
        facts = (record.get("facts") or {}) if record is not None else {}
        try:
            return self._resolve(intent, sale_uuid, amount, facts)
        except (LinkError, ZvtError):
            self._drop_link()
            return PaymentResult("in_doubt", "payment.checking")

    def _resolve(self, intent, sale_uuid: str, amount: int, facts: dict[str, Any]) -> PaymentResult:
        stage = facts.get("stage")
        if stage is None:  # crashed between the two journal writes: 06 01 was never sent
            self.journal.record_payment_result(intent, "cancelled", {"resolved": "never sent"})
            self._step("resolved journaled")
            return PaymentResult("cancelled", "payment.cancelled")
        if stage == "reversing":
            return self._reverse(intent, {k: v for k, v in facts.items() if k != "stage"})
        self._wait_until_ready()
        last = self._last_transaction()
        prior = facts.get("prior_trace")
        ours = (last is not None and last.get("trace_no") != prior and "original_trace_no" not in last
                and last.get("amount") == amount)
        if not ours:
            self.journal.record_payment_result(intent, "cancelled", {"resolved": "terminal has no newer booking"})
            self._step("resolved journaled")
            return PaymentResult("cancelled", "payment.cancelled")
        found = receipt_facts(last)
        if self._cancel_requested:
            return self._reverse(intent, found)
        self._step("before finish sale")
        self.finish_sale(sale_uuid, intent, found, self._last_lines)
        self._step("sale finished")
        return PaymentResult("approved", "payment.approved", found, self._last_lines)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.busy_wait
        while True:
            outcome = self.ecr().status_enquiry()
            if outcome.refused and outcome.result_code == BUSY or outcome.terminal_status == BUSY:
                if time.monotonic() > deadline:
                    raise LinkError("the terminal stayed busy")
                time.sleep(0.2)
                continue
            return

    def _last_transaction(self) -> dict[str, Any] | None:
        outcome = self.ecr().repeat_receipt()
        if outcome.refused:  # busy or not possible now: no conclusion can be drawn
            raise LinkError(f"the terminal refused the repeat receipt ({outcome.text})")
        self._last_lines = outcome.receipt_lines
        if outcome.result_code != SUCCESS or "trace_no" not in outcome.status:
            self._last_trace, self._last_trace_known = None, True
            return None
        self._last_trace, self._last_trace_known = outcome.status["trace_no"], True
        return outcome.status

    def _prior_trace(self) -> int | None:
        if not self._last_trace_known:
            self._last_transaction()
        return self._last_trace

    # -- link --------------------------------------------------------------------------------------

    def ecr(self) -> Ecr:
        if self._ecr is None:
            self._ecr = self._connect()
            self._ecr.trace = self._step
            if self.on_status is not None:
                self._ecr.on_status = self.on_status
        return self._ecr

    def _drop_link(self) -> None:
        ecr, self._ecr = self._ecr, None
        if ecr is not None:
            try:
                ecr.transport.close()
            except Exception:
                pass

    def _step(self, name: str) -> None:
        if self.trace is not None:
            self.trace(name)
