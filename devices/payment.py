"""The card payment terminal as a kiosk device (ZVT over TCP or serial; see devices/zvt/).

    [devices.payment]
    driver = "zvt-tcp"        # or "zvt-serial" (url = /dev/ttyUSB0, stopbits = 2), or "simulator"
    host = "192.168.1.60"
    port = 20007
    password = "000000"
    currency = "EUR"
    end_of_day_at = "23:30"   # daily end of day; "" = only from the maintenance screen

All terminal work runs on the device's I/O thread, one job at a time; the UI calls `pay`,
`cancel`, `end_of_day` and `recover`, which return at once (a Future for tools and tests).
The kiosk attaches its journal with `attach(journal)`; without one, no payment is taken.

Events (source "payment"):
    DATA  event="status"  code=<intermediate status byte>, message_id   (while the customer pays)
    DATA  event="result"  sale_uuid, status, message_id, facts, receipt_lines
    DATA  event="in_doubt" message_id="payment.checking"             (new sales are blocked)
    DATA  event="resolved" results=[...]                             (in-doubt payments settled)
    DATA  event="end_of_day" totals, receipt_lines
    STATUS / ERROR as every device (busy while a payment runs, offline when the link is lost).
Facts carry at most a masked PAN (first 6 / last 4); receipt lines are masked too.
"""
from __future__ import annotations

import datetime as dt
import logging
import queue
from concurrent.futures import Future
from typing import Any

from devices.base import BUSY, IDLE, Device, DeviceError
from devices.zvt.driver import Ecr
from devices.zvt.reconcile import FinishSale, PaymentFlow, PaymentResult
from devices.zvt.results import status_message
from devices.zvt.transport import LinkError, SerialTransport, TcpTransport
from kiosk import clock as wall_clock
from kiosk.business_day import end_of_day_due
from kiosk.config import PaymentSettings
from kiosk import events as ev  # the typed payloads (`events` is the queue parameter below)
from kiosk.events import EventQueue
from kiosk.ports import PaymentJournal

log = logging.getLogger("devices.payment")
IDLE_POLL = 1.0  # seconds between checks for in-doubt payments and the end-of-day schedule


class PaymentTerminal(Device):
    kind = "payment"
    needs_journal = True  # the device manager attaches the kiosk journal (kiosk.ports.PaymentJournal)

    def __init__(self, name: str, events: EventQueue, settings: PaymentSettings) -> None:
        super().__init__(name, events)
        self.settings = settings
        self.journal: PaymentJournal | None = None
        self.finish_sale: FinishSale | None = None
        self.flow: PaymentFlow | None = None
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._last_end_of_day: dt.date | None = None
        self._end_of_day_dates: set[dt.date] = set()  # business dates closed (kiosk.business_day)
        self._paying: str | None = None  # the sale of the last pay() call
        self._cancelled = False  # cancel() was called for it

    @property
    def endpoint(self) -> str:
        s = self.settings
        return s.url if s.driver == "zvt-serial" else f"{s.host}:{s.port}"

    # -- what the kiosk uses (any thread) ---------------------------------------------------------

    def attach(self, journal: PaymentJournal, finish_sale: FinishSale | None = None) -> None:
        """Give the device the kiosk journal. `finish_sale(sale_uuid, intent_id, facts, receipt_lines)`
        completes the sale; the default is `journal.complete_sale`."""
        self.journal = journal
        self.finish_sale = finish_sale or (lambda sale, intent, facts, lines: journal.complete_sale(sale, intent, facts))

    @property
    def blocked(self) -> bool:
        """A payment is in doubt: show the calm message, sell nothing until it is resolved."""
        return self.journal is not None and bool(self.journal.payments_in_doubt())

    def pay(self, sale_uuid: str, amount: int, draft: dict[str, Any] | None = None) -> Future:
        with self._lock:
            self._paying, self._cancelled = sale_uuid, False
        return self._submit("pay", sale_uuid, amount, draft)

    def cancel(self) -> None:
        """Customer cancel: an abort goes to the terminal; an approval that wins the race is reversed.
        A cancel before the payment reached the terminal stops it there."""
        with self._lock:
            self._cancelled = True
            flow = self.flow
        if flow is not None:
            flow.cancel()

    def end_of_day(self) -> Future:
        return self._submit("end_of_day")

    def recover(self) -> Future:
        return self._submit("recover")

    # -- Device hooks (I/O thread) -------------------------------------------------------------------

    def _connect(self) -> None:
        if self.journal is None:
            raise DeviceError("no journal attached: payments are disabled")
        self.flow = PaymentFlow(self.journal, self._open_ecr, self._finish, currency=self.settings.currency,
                                trace=self._trace, on_status=self._on_status)
        ecr = self.flow.ecr()
        outcome = ecr.register()
        if outcome.refused or outcome.result_code not in (0, None):
            self.flow.close()
            raise DeviceError(f"the terminal refused registration: {outcome.text}")
        if self.settings.end_of_day_at and self._last_end_of_day is None:
            # a kiosk restarted after today's end of day must not run it again (read here, off the UI thread)
            last = self.journal.last_event_time("payment_end_of_day")
            if last:
                self._last_end_of_day = dt.datetime.fromisoformat(last).astimezone().date()
            for stamp in self.journal.event_times("payment_end_of_day"):
                self._end_of_day_dates.add(dt.datetime.fromisoformat(stamp).astimezone().date())
        self._resolve_doubts()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                job = self._jobs.get(timeout=IDLE_POLL)
            except queue.Empty:
                self._idle_work()
                continue
            if job is None:
                return
            self._run(*job)

    def _disconnect(self) -> None:
        if self.flow is not None:
            self.flow.close()

    def _interrupt(self) -> None:
        self._jobs.put(None)

    def _check(self, level) -> str:
        outcome = self._submit("status").result(timeout=30)
        return f"terminal status {outcome:02X}" if outcome else "terminal ready"

    # -- jobs ------------------------------------------------------------------------------------------

    def _submit(self, kind: str, *args: Any) -> Future:
        future: Future = Future()
        if self._thread is None:
            future.set_exception(DeviceError(f"{self.name} is not open"))
        else:
            self._jobs.put((kind, args, future))
        return future

    def _run(self, kind: str, args: tuple, future: Future) -> None:
        """One job. A lost link is raised on, so the device goes offline, reconnects and resolves
        whatever is in doubt; every other failure only fails the job."""
        self._set_state(BUSY)
        try:
            if kind == "pay":
                result = self._pay(*args)
            elif kind == "end_of_day":
                result = self._end_of_day()
            elif kind == "recover":
                result = self._resolve_doubts()
            else:
                result = self.flow.ecr().status_enquiry().terminal_status
        except LinkError as exc:
            future.set_exception(exc)
            raise
        except Exception as exc:
            future.set_exception(exc)
            self.post_error(f"{kind} failed: {exc}")
        else:
            future.set_result(result)
            if isinstance(result, PaymentResult) and result.status == "in_doubt":
                raise LinkError("payment result unknown: the link to the terminal was lost")
        self._set_state(IDLE)

    def _pay(self, sale_uuid: str, amount: int, draft) -> PaymentResult:
        if self.blocked:
            self._resolve_doubts()
            if self.blocked:
                raise DeviceError("a card payment is still in doubt; no new sale until it is resolved")
        with self._lock:
            self.flow.start_sale()
            if self._cancelled and self._paying == sale_uuid:
                self.flow.cancel()  # cancelled while queued: the flow journals it and sends nothing
        result = self.flow.pay(sale_uuid, amount, draft=draft)
        self.statistics[f"payments_{result.status}"] += 1
        log.info("payment for sale %s: %s (%s) %s", sale_uuid, result.status, result.message_id, result.facts)
        self.post_payload(ev.PaymentResult(sale_uuid, result.status, result.message_id, dict(result.facts),
                                        list(result.receipt_lines)))
        if result.status == "in_doubt":
            self.post_payload(ev.PaymentInDoubt("payment.checking"))
        return result

    def _resolve_doubts(self) -> list[PaymentResult]:
        if not self.blocked:
            return []
        self.post_payload(ev.PaymentInDoubt("payment.checking"))
        results = self.flow.recover()
        for result in results:
            log.info("in-doubt payment resolved: %s %s", result.status, result.facts)
        if any(r.status == "in_doubt" for r in results):
            raise LinkError("an in-doubt payment could not be resolved yet")
        self.post_payload(ev.PaymentResolved([{"status": r.status, "message_id": r.message_id, "facts": r.facts}
                                           for r in results]))
        return results

    def _end_of_day(self) -> dict[str, Any]:
        outcome = self.flow.ecr().end_of_day()
        if not outcome.approved:
            raise DeviceError(f"end of day failed: {outcome.text}")
        totals = dict(outcome.status.get("totals", {}), trace_no=outcome.status.get("trace_no"))
        self._last_end_of_day = wall_clock.now().date()  # the date the due check saw (same clock)
        self._end_of_day_dates.add(self._last_end_of_day)
        self.journal.record_event("payment_end_of_day", totals)
        log.info("end of day: %s", totals)
        self.post_payload(ev.EndOfDay(totals, list(outcome.receipt_lines)))
        return totals

    def _idle_work(self) -> None:
        self._resolve_doubts()
        if end_of_day_due(wall_clock.now(), self.settings.end_of_day_at, self._end_of_day_dates):
            self._run("end_of_day", (), Future())

    # -- helpers -----------------------------------------------------------------------------------------

    def _open_ecr(self) -> Ecr:
        s = self.settings
        if s.driver == "zvt-serial":
            transport = SerialTransport.open(s.url, baudrate=s.baudrate)
        else:
            transport = TcpTransport.connect(s.host, s.port, timeout=s.answer_timeout_s)
        self.statistics["connects"] += 1
        return Ecr(transport, password=s.password, currency=s.currency, first_answer_timeout=s.answer_timeout_s,
                   step_timeout=s.payment_timeout_s)

    def _finish(self, sale_uuid, intent_id, facts, lines) -> None:
        self.finish_sale(sale_uuid, intent_id, facts, lines)
        self.statistics["sales_completed"] += 1

    def _on_status(self, code: int) -> None:
        self.post_payload(ev.PaymentStatus(code, status_message(code)[0]))

    def _trace(self, step: str) -> None:
        self.statistics["steps"] += 1


def build(settings: PaymentSettings, events: EventQueue, name: str = "payment"):
    """The device manager's builder: with driver "simulator", a ZVT terminal simulator on 127.0.0.1."""
    if settings.driver == "simulator":
        from devices.zvt.sim import SimConfig, TerminalSimulator
        sim = TerminalSimulator(SimConfig(password=settings.password,
                                          pin_delay=settings.simulator_pin_delay_ms / 1000),
                                state_file=settings.simulator_state_file or None).start_tcp()
        settings = settings.model_copy(update={"host": "127.0.0.1", "port": sim.port, "driver": "zvt-tcp"})
        return PaymentTerminal(name, events, settings), sim
    return PaymentTerminal(name, events, settings), None
