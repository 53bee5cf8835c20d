"""Demo data for `kiosk --simulate`, in one place: the catalog, bookings around now, and the demo staff.

    booking code DEMO1234 (due now), LATE0001 (window over), USED0001 (already checked in)
    attendant PIN 2468, badge ATT-0001 (age checks); technician PIN 1379 (maintenance screen)
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kiosk.bookings import Booking, Bookings
from kiosk.catalog import Catalog, ItemValidator
from kiosk.config import Settings
from kiosk.flows.attendant import Attendants
from kiosk.maintenance.technicians import TechnicianStore

ASSETS = Path(__file__).resolve().parents[1] / "assets"
DEMO_PIN, DEMO_BADGE = "2468", "ATT-0001"
DEMO_TECHNICIAN_PIN = "1379"
DEMO_BOOKING = "DEMO1234"


def seed_demo(catalog: Catalog, bookings: Bookings, attendants: Attendants, settings: Settings) -> None:
    if catalog.count() == 0:
        validator = ItemValidator(settings.money.vat_rates, settings.money.currency, settings.locale.languages)
        rows = json.loads((ASSETS / "demo" / "catalog.json").read_text(encoding="utf-8"))
        catalog.apply_changes([validator(row) for row in rows], [], version=0)
    refresh_demo_bookings(bookings)
    if attendants.verify(DEMO_BADGE) is None:
        attendants.add("demo-attendant", DEMO_PIN, [DEMO_BADGE])
    staff = TechnicianStore(technicians_path(settings))
    if not staff.people():
        staff.add("demo-technician", "technician", DEMO_TECHNICIAN_PIN)
        staff.add("demo-attendant", "attendant", DEMO_PIN)


def technicians_path(settings: Settings) -> Path:
    return Path(settings.maintenance.technicians_file or settings.data_path / "technicians.json")


def refresh_demo_bookings(bookings: Bookings) -> None:
    """Demo bookings around now, re-armed at every start."""
    now = datetime.now(timezone.utc).astimezone().replace(microsecond=0)
    demo = [Booking(DEMO_BOOKING, "Alex Example", now + timedelta(minutes=10), now + timedelta(minutes=70), 2, "booked"),
            Booking("LATE0001", "Sam Later", now - timedelta(hours=3), now - timedelta(hours=2), 1, "booked"),
            Booking("USED0001", "Kim Used", now, now + timedelta(hours=1), 3, "checked_in")]
    bookings.delete([b.code for b in demo])
    bookings.apply_changes(demo, [], version=bookings.version)
