"""One customer's session: the shell (`shell.Shell`) with the checkout and the check-in flow on it.

    ATTRACT ──start/scan──> CHECKOUT ... (checkout.py) ──> THANKS ──> ATTRACT
    ATTRACT ──check in────> CHECKIN ... (checkin.py) ──> THANKS ──> ATTRACT
    ATTRACT <──> OUT_OF_SERVICE (when no offered flow has the devices it needs)

On top of any state: a message (unknown barcode, wrong code...), the help call, and the idle
"still there?" countdown which abandons the session (shell.py). The session routes device events
and scans to the flow the customer is in, starts the flows and runs the thank-you screen. Everything
the customer does is journaled through the backend. All methods run on one thread (the UI's);
nothing here blocks. A new customer gets new flow objects (`_reset`).
"""
from __future__ import annotations

import uuid
from typing import Any

from kiosk.events import (AttendantChecked, AttendantCommand, CommandDone, Event, Kind, PaymentFailed, PaymentInDoubt, PaymentResolved, PaymentResult,
                          PaymentStatus, PrintJobDone, PrintJobFailed, Scanned)
from kiosk.flows import texts
from kiosk.flows.checkin import CheckinFlow
from kiosk.flows.checkout import CheckoutFlow
from kiosk.flows.remote import RemoteDesk
from kiosk.flows.shell import Backend, Message, Shell
from kiosk.flows.states import (ATTRACT, CHECKIN, CHECKIN_BOOKING, CHECKIN_DONE, OUT_OF_SERVICE, RECEIPT_QR,
                                THANKS)

__all__ = ["Backend", "Message", "Session"]
CHECKIN_STATES = (CHECKIN, CHECKIN_BOOKING, CHECKIN_DONE)


class Session(Shell):
    def __init__(self, backend: Backend, *, mode: str = "both", default_language: str = "en",
                 default_large_text: bool = False, idle_timeout_s: float = 60, countdown_s: float = 20,
                 now: float = 0.0, default_low_reach: bool = False, accessible_idle_factor: int = 3):
        super().__init__(backend, mode=mode, default_language=default_language,
                         default_large_text=default_large_text, idle_timeout_s=idle_timeout_s,
                         countdown_s=countdown_s, default_low_reach=default_low_reach,
                         accessible_idle_factor=accessible_idle_factor)
        self.remote = RemoteDesk(self)  # attendants' commands from the attendant station
        self._reset(now)

    def _reset(self, now: float) -> None:
        if hasattr(self, "checkout"):  # the session that ends (none before the first)
            paid = self.checkout.cart.total.amount if self.checkout.cart is not None else 0
            self.recorder.finish(self.lang, paid, out_of_service=bool(self.fault), live_id=self.session_id)
        self._reset_shell(now)
        if self.closing is not None:  # the lane was closed during the last customer's session
            self.closed_reason, self.closing = self.closing, None
        self.checkout = CheckoutFlow(self)
        self.checkin = CheckinFlow(self)
        self.rating: int | None = None
        self.easy: bool | None = None
        self._go(self._rest_state())

    # --- what the shell asks -----------------------------------------------------------------------------

    def _facts(self) -> dict[str, Any]:
        return {"screen": self.state, **self.checkout.facts()}

    def _waiting_for(self) -> str | None:
        return self.checkout.waiting_for() or super()._waiting_for()

    def _print_failed(self, overdue: bool) -> None:
        """The receipt or ticket will not come out: the receipt is still there as a QR code, the ticket's
        number on the screen, with a line saying so (not a box over the QR code or the number)."""
        kind, self.print_job = self.print_kind, None
        (self.checkout if kind == "receipt" else self.checkin).print_failed(overdue)
        self._changed()

    @property
    def help_text(self) -> str:
        return self.checkout.help_text or texts.HELP_OTHER

    def cancel(self, now: float) -> None:
        """The customer leaves on purpose ("cancel" on checkout or check-in)."""
        if self.checkout.cart is not None and self.checkout.cart.active_lines:
            self.backend.record_event("session_cancelled", self._facts())
        self._reset(now)

    # --- events from devices -------------------------------------------------------------------------

    def handle(self, event: Event, now: float) -> None:
        """A device's (or the backend's) event, by its typed payload; untyped ones only refresh the screen."""
        p = event.payload
        if isinstance(p, Scanned):
            self.scanned(p, now)
        elif isinstance(p, (PaymentStatus, PaymentResult, PaymentInDoubt, PaymentResolved, PaymentFailed)):
            self.checkout.payment_event(p, now)
        elif isinstance(p, AttendantChecked):
            self.checkout.attendant_checked(p, now)
        elif isinstance(p, (AttendantCommand, CommandDone)):
            self.remote.handle(p, now)
        elif isinstance(p, (PrintJobDone, PrintJobFailed)) and self.print_job is not None \
                and p.job_id == self.print_job:
            if isinstance(p, PrintJobFailed):
                self._print_failed(overdue=False)
            else:
                self.print_job = None
        elif event.kind == Kind.STATUS:
            self._changed()  # availability may have changed; tick() moves attract <-> out of service

    def scanned(self, scan: Scanned, now: float) -> None:
        """A code from the scanner or the camera, routed by what the customer is doing."""
        self.touch(now)
        if self.state in (THANKS, RECEIPT_QR, CHECKIN_DONE):
            self._reset(now)  # done: this is the next customer's first item (or booking)
        if self.state == OUT_OF_SERVICE or (self.state == ATTRACT and self.fault):
            self._go(self._rest_state())
            return  # nothing starts here (a damaged journal, no devices)
        if self.state == ATTRACT:
            if scan.category == "booking" and self.checkin_offered:
                self.start_checkin(now)
            elif self.checkout_available:
                self.start_checkout(now)
            else:
                return
        self.recorder.count("scans")
        if self.state in CHECKIN_STATES:
            self.checkin.scanned(scan, now)
        else:
            self.checkout.scanned(scan, now)

    # --- starting -----------------------------------------------------------------------------------------

    def touch_to_start(self, now: float) -> None:
        """A tap on attract outside its buttons: starts the kiosk's one flow; with two, points at them."""
        if self.state != ATTRACT:
            return
        if self.fault:
            self._go(OUT_OF_SERVICE)
            return
        if self.checkin_offered and not self.checkout_offered:
            self.start_checkin(now)
        elif self.checkout_offered and not self.checkin_offered:
            self.start_checkout(now)
        else:
            self.choose_hint = True
            self._changed()

    def start_checkout(self, now: float) -> None:
        if not self.checkout_available:
            self._say(texts.CHECKOUT_UNAVAILABLE, help=True)
            return
        self.session_id = self.session_id or uuid.uuid4().hex
        self.checkout.start(now)

    def start_checkin(self, now: float) -> None:
        self.session_id = self.session_id or uuid.uuid4().hex
        self.checkin.start(now)

    # --- the end: thank-you ---------------------------------------------------------------------------------

    def done(self, now: float) -> None:
        """"Done" on the QR, ticket and thank-you screens."""
        if self.state in (RECEIPT_QR, CHECKIN_DONE):
            self._thanks(now)
        elif self.state == THANKS:
            self._reset(now)

    def rate(self, stars: int, now: float) -> None:
        if not 1 <= stars <= 5:
            raise ValueError("a rating is 1 to 5")
        self.rating = stars
        self.backend.record_event("rating", {"stars": stars, "sale_uuid": self.checkout.sale_uuid,
                                             "flow": self._flow()})
        self.thanks_until = now + self.thanks_s
        self._changed()

    def answer_easy(self, easy: bool, now: float) -> None:
        self.easy = easy
        self.backend.record_event("was_it_easy", {"easy": easy, "sale_uuid": self.checkout.sale_uuid,
                                                  "flow": self._flow()})
        self.thanks_until = now + self.thanks_s
        self._changed()

    def _flow(self) -> str:
        return "checkin" if self.checkin.ticket_no is not None else "checkout"
