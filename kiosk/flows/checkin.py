"""The check-in flow: a booking code typed or scanned, the booking shown, confirmed, a queue ticket printed.

    CHECKIN ──code ok──> CHECKIN_BOOKING ──confirm──> CHECKIN_DONE ──> THANKS

One `CheckinFlow` per customer (the session makes a new one when it resets).
"""
from __future__ import annotations

from kiosk.bookings import Booking, code_from_qr, normalize_code
from kiosk.events import Scanned
from kiosk.flows import texts
from kiosk.flows.shell import Flow, Shell
from kiosk.flows.states import CHECKIN, CHECKIN_BOOKING, CHECKIN_DONE, OUT_OF_SERVICE


class CheckinFlow(Flow):
    def __init__(self, shell: Shell):
        super().__init__(shell)
        self.booking: Booking | None = None
        self.ticket_no: int | None = None
        self.checkin_code = ""

    def start(self, now: float) -> None:
        self.checkin_code = ""
        self.booking = None
        self.shell.message = None
        self.shell.last_touch = now
        self._go(CHECKIN)

    def scanned(self, scan: Scanned, now: float) -> None:
        """A booking's QR code or a code from the scanner while checking in."""
        if self.state in (CHECKIN, CHECKIN_BOOKING):
            booking = scan.booking or code_from_qr(scan.code) or scan.code
            self.checkin_code = (normalize_code(booking) or booking).upper()[:20]  # the scan replaces what was typed
            self.enter_booking(booking, now)

    def type_code(self, text: str) -> None:
        self.checkin_code = text.upper()[:20]
        self._changed()

    def enter_booking(self, code: str | None, now: float = 0.0) -> None:
        """A typed code or a scanned QR payload: shows the booking or says why it cannot check in."""
        normal = normalize_code(code) if code else None
        result = self.backend.check_booking(normal)
        if not result.ok:
            params = {}
            if result.reason == "too_early" and result.booking is not None:
                params["time"] = result.booking.slot_start
            self.backend.record_event("checkin_refused", {"reason": result.reason, "code": normal or ""})
            self._say(texts.CHECKIN_REASONS[result.reason], help=True, **params)
            if self.state != CHECKIN:
                self._go(CHECKIN)
            return
        self.shell.message = None
        self.booking = result.booking
        self._go(CHECKIN_BOOKING)

    def confirm_checkin(self) -> None:
        assert self.booking is not None
        try:
            self.ticket_no = self.backend.complete_checkin(self.booking)
        except Exception as exc:  # noqa: BLE001 - the journal failed (disk full...): never crash the UI
            import logging
            logging.getLogger("kiosk.flows").error("check-in not recorded: %s", exc)
            self._go(OUT_OF_SERVICE)  # stays there while the backend reports the fault
            return
        self.shell.print_job = self.backend.print_ticket(self.ticket_no, self.booking, self.lang)
        self.shell.print_kind = "ticket"
        self._go(CHECKIN_DONE)
        if self.shell.print_job is None:
            self.shell._print_failed(overdue=False)

    def print_failed(self, overdue: bool) -> None:
        """The ticket will not come out: its number stays on the screen, with a line saying so."""
        if self.ticket_no is not None:
            self._go(CHECKIN_DONE)
            self.shell.notice = texts.OVERDUE["ticket"] if overdue else texts.TICKET_NOT_PRINTED
