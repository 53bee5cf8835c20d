"""Issue 14 on the launched kiosk: a journal lost while the kiosk was stopped (an emptied data directory's
journal) must not start again at seq 1 where the central server holds 1..N; and the attendant check's lockout
(5 wrong badges from the scanner) survives a restart of the whole app."""
from __future__ import annotations

import time

from launched import BEER, BREAD, MILK


def _sell(kiosk, code: str) -> None:
    kiosk.scan(code)
    kiosk.tap("pay")
    kiosk.wait_screen("receipt", 30)
    kiosk.tap("receipt_none")
    kiosk.wait_screen("thanks", 20)


def test_a_lost_journal_continues_after_what_the_server_holds_and_its_sales_reach_the_server(launch):
    kiosk = launch()
    _sell(kiosk, MILK)
    _sell(kiosk, BREAD)
    before = kiosk.assert_books_agree()
    held_before = kiosk.server_uuids()
    top = max(t["seq"] for t in kiosk.journal())
    kiosk.terminate()
    for suffix in ("", "-wal", "-shm"):
        (kiosk.data_dir / f"journal.sqlite{suffix}").unlink(missing_ok=True)

    kiosk.start()
    kiosk._wait(lambda: kiosk.events("journal_replaced"), 60, "the new journal to continue after the server's")
    [replaced] = kiosk.events("journal_replaced")
    assert replaced["server_max_seq"] >= top, (replaced, top)
    _sell(kiosk, MILK)
    journal = kiosk.journal()
    assert min(t["seq"] for t in journal) > top, [t["seq"] for t in journal]  # no seq 1 again
    [sale] = [t for t in journal if t["kind"] == "sale"]
    want = held_before | {t["uuid"] for t in journal}
    kiosk._wait(lambda: kiosk.server_uuids() == want, 60, "the server to hold the old and the new records")
    body = sale["record"]["body"]
    assert kiosk.server_receipt(body["receipt_token"])["total"] == body["total"]
    assert not any("OUT OF SERVICE" in line for line in kiosk.output), kiosk.output[-20:]
    assert len(before) == 2


def _age_check(kiosk) -> None:
    kiosk.scan(MILK)
    kiosk.scan(BEER)
    kiosk.wait_screen("age_check")


def _refusals(kiosk) -> list[dict]:
    return kiosk.events("attendant_refused")


def test_five_wrong_badges_lock_the_attendant_check_and_the_lock_survives_a_restart(launch):
    kiosk = launch()
    _age_check(kiosk)
    for n in range(5):
        kiosk.send(f"scan BADGE-WRONG-{n} QR")
        kiosk._wait(lambda: len(_refusals(kiosk)) == n + 1, 30, f"wrong badge {n + 1} to be refused")
    assert _refusals(kiosk)[-1].get("locked") is True, _refusals(kiosk)
    view = kiosk.wait_ui(lambda v: "locked" in v["message"], 10, "the lock to be said")
    assert view["screen"] == "age_check"
    kiosk.send("clock +1y")  # a clock step does not lift it either (it is a remaining duration)
    kiosk.send("scan ATT-0001 QR")  # the demo attendant's badge: refused while locked
    kiosk._wait(lambda: len(_refusals(kiosk)) == 6, 30, "the right badge to be refused while locked")
    assert _refusals(kiosk)[-1].get("locked") is True
    kiosk.send("clock real")
    kiosk.terminate()

    kiosk.start()
    _age_check(kiosk)
    view = kiosk.wait_ui(lambda v: "locked" in v["message"], 10, "the lock to be said after the restart")
    kiosk.send("scan ATT-0001 QR")
    kiosk._wait(lambda: len(_refusals(kiosk)) == 7, 30, "the right badge to be refused after the restart")
    assert _refusals(kiosk)[-1].get("locked") is True
    time.sleep(1)
    assert kiosk.ui()["screen"] == "age_check" and not kiosk.events("age_approved")
