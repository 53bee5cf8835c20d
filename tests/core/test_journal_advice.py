"""What the maintenance screen tells a technician to do about each out-of-service reason the kiosk can give."""
import pytest

from kiosk.journal_faults import advice


@pytest.mark.parametrize("fault, says", [
    ("journal cannot be used: journal /var/lib/kiosk/journal.sqlite is damaged: quick_check: *** in database main "
     "*** Page 7: btreeInitPage() returns error code 11", "move journal.sqlite"),
    ("journal damaged (found by a full check): integrity_check: database disk image is malformed", "copy the whole"),
    ("journal write failed: database or disk is full", "Free space on the data disk"),
    ("journal cannot be used: unable to open database file (the disk is full: 0 bytes free)", "Free space"),
    ("journal cannot be used: attempt to write a readonly database (the data directory is read-only)", "mounted"),
    ("update intervention: release 2.1.0 migrated the journal and 1 sale(s) were journaled since", "intervention.json"),
    ("the server has refused this kiosk's transactions for 600 s (uuid held; it holds up to #12)", "kiosk-server admin"),
    ("catalog /var/lib/kiosk/catalog.sqlite cannot be opened: no such table", "Logs page"),
])
def test_each_out_of_service_reason_gets_its_own_advice(fault, says):
    assert says in advice(fault)
