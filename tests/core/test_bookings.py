"""Bookings: code and QR lookup, the check-in window, deltas."""
from datetime import datetime, timedelta, timezone

import pytest

from kiosk.bookings import Booking, Bookings, code_from_qr, normalize_code

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)


@pytest.fixture
def bookings(tmp_path):
    store = Bookings(tmp_path / "bookings.sqlite")
    store.apply_changes([
        Booking("AB12CD34", "Ada Lovelace", T0, T0 + timedelta(hours=1), 2, "booked"),
        Booking("ZZ99ZZ99", "Cancelled Guest", T0, T0 + timedelta(hours=1), 1, "cancelled"),
    ], deletes=[], version=3)
    yield store
    store.close()


@pytest.mark.parametrize("text, code", [
    ("ab12cd34", "AB12CD34"), ("AB12-CD34", "AB12CD34"), (" ab12 cd34 ", "AB12CD34"),
    ("x", None), ("AB12CD34!", None), ("", None),
])
def test_typed_codes_normalise(text, code):
    assert normalize_code(text) == code


@pytest.mark.parametrize("payload, code", [
    ("BOOKING:AB12CD34", "AB12CD34"), ("booking:ab12-cd34", "AB12CD34"),
    ("https://tickets.example/b/AB12CD34", "AB12CD34"), ("https://tickets.example/checkin?code=ab12cd34", "AB12CD34"),
    ("AB12CD34", "AB12CD34"), ("https://evil.example/", None), ("<script>", None),
])
def test_qr_payloads(payload, code):
    assert code_from_qr(payload) == code


def test_check_window_and_states(bookings):
    ok = bookings.check("AB12CD34", T0 - timedelta(minutes=30))
    assert ok.ok and ok.booking.name == "Ada Lovelace" and ok.booking.party_size == 2
    assert bookings.check("AB12CD34", T0 - timedelta(minutes=61)).reason == "too_early"
    assert bookings.check("AB12CD34", T0 + timedelta(minutes=31)).reason == "too_late"
    assert bookings.check("NOPE1234", T0).reason == "unknown"
    assert bookings.check(None, T0).reason == "invalid"
    assert bookings.check("ZZ99ZZ99", T0).reason == "cancelled"
    bookings.mark_checked_in("AB12CD34")
    assert bookings.check("AB12CD34", T0).reason == "already_used"


def test_delta_does_not_undo_a_local_check_in(bookings):
    bookings.mark_checked_in("AB12CD34")
    bookings.apply_changes([Booking("AB12CD34", "Ada L.", T0, T0 + timedelta(hours=1), 3, "booked")], [], 4)
    booking = bookings.get("AB12CD34")
    assert (booking.status, booking.party_size, booking.name, bookings.version) == ("checked_in", 3, "Ada L.", 4)
    bookings.apply_changes([], ["ZZ99ZZ99"], 5)
    assert bookings.get("ZZ99ZZ99") is None
