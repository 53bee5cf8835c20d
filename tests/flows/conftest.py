"""A stand-in backend for the pure flow tests: real catalog and bookings (SQLite in tmp), a list
instead of the journal, and a terminal/printer that do what the test tells them."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kiosk import config
from kiosk.bookings import Bookings
from kiosk.catalog import Catalog
from kiosk.events import (AttendantChecked, Event, Kind, PaymentInDoubt, PaymentResolved, PaymentResult, PaymentStatus,
                          Scanned, Source)
from kiosk.flows.attendant import Attendants
from launcher.demo import seed_demo

MILK, BREAD, BEER, UNKNOWN = "4006381333931", "4000000000013", "4000000000075", "4000000000990"


class FakeBackend:
    kiosk_id = "kiosk-test"
    currency = "EUR"

    def __init__(self, tmp_path):
        settings = config.Settings()
        self.vat_rates = dict(settings.money.vat_rates)
        self.waits = settings.ui.waits
        self.catalog = Catalog(tmp_path / "catalog.sqlite", settings.catalog.price_embedded_prefixes)
        self.bookings = Bookings(tmp_path / "bookings.sqlite")
        self.attendants = Attendants(tmp_path / "attendants.json")
        self.locked_for_s = 0.0  # the attendant lockout, as the real backend reports it
        seed_demo(self.catalog, self.bookings, self.attendants, settings)
        self.states = {"scanner": "idle", "printer": "idle", "payment": "idle"}
        self.events: list[tuple[str, dict]] = []
        self.sessions: list[dict] = []  # session summaries (issue 16)
        self.payments: list[tuple[str, int, dict]] = []
        self.completed: set[str] = set()
        self.cancelled = 0
        self.printed: list[str] = []
        self.tickets = 0
        self.attendant_checks: list[tuple[str, int]] = []

    def device_state(self, name):
        return self.states.get(name)

    def pay(self, sale_uuid, amount, draft):
        self.payments.append((sale_uuid, amount, draft))

    def cancel_payment(self):
        self.cancelled += 1

    def sale_completed(self, sale_uuid):
        return sale_uuid in self.completed

    def print_receipt(self, sale_uuid, lang):
        if self.states["printer"] != "idle":
            return None
        self.printed.append(sale_uuid)
        return len(self.printed)

    def receipt_url(self, sale_uuid):
        return f"http://server/r/{sale_uuid}"

    def check_booking(self, code):
        return self.bookings.check(code, datetime.now(timezone.utc).astimezone())

    def complete_checkin(self, booking):
        self.bookings.mark_checked_in(booking.code)
        self.tickets += 1
        return self.tickets

    def print_ticket(self, ticket_no, booking, lang):
        return None if self.states["printer"] != "idle" else ticket_no

    def record_event(self, event, details):
        if event == "session":  # the session summary (issue 16): kept apart, the flow tests read `events`
            self.sessions.append(details)
            return
        self.events.append((event, details))

    def verify_attendant(self, secret):
        return self.attendants.verify(secret)

    def attendant_locked_for(self):
        return self.locked_for_s

    def check_attendant(self, secret, request):
        """Answered when the test says so (`answer_checks`), as the real backend's thread would."""
        self.attendant_checks.append((secret, request))

    def answer_checks(self, session, now):
        """The pending attendant checks come back to the session as events."""
        while self.attendant_checks:
            secret, request = self.attendant_checks.pop(0)
            session.handle(Event(Source.SESSION, Kind.ATTENDANT_CHECKED,
                                 payload=AttendantChecked(request, self.verify_attendant(secret))), now)

    def event_names(self):
        return [name for name, _ in self.events]

    def close(self):
        self.catalog.close()
        self.bookings.close()


def scan(code, category="product", symbology="EAN-13", **extra):
    return Event(Source.SCANNER, Kind.DATA, payload=Scanned(
        code=code, gtin=code.zfill(14) if category == "product" else "", category=category, symbology=symbology,
        **extra))


def terminal(event, **data):
    payload = {"status": PaymentStatus, "result": PaymentResult, "in_doubt": PaymentInDoubt,
               "resolved": PaymentResolved}[event](**data)
    return Event(Source.PAYMENT, Kind.DATA, payload=payload)


@pytest.fixture
def backend(tmp_path):
    b = FakeBackend(tmp_path)
    yield b
    b.close()
