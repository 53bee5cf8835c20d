"""Issue 14 on the launched kiosk: a data directory that cannot be written. The kiosk never crashes, sells
nothing it cannot journal, says why, and loses nothing it accepted before. The data directory is a small
tmpfs of its own (mounting needs root; the e2e suite runs as root in CI)."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
import time

import pytest

from launched import BREAD, MILK


@pytest.fixture
def disk(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(folder)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (not root)")
    yield folder
    while subprocess.run(["umount", "-l", str(folder)], capture_output=True).returncode == 0:
        pass  # the bind mount, if a test left it, then the tmpfs


def _fill(folder) -> None:
    with open(folder / "fill", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 1_048_576)
                f.flush()
        except OSError:
            pass
    assert shutil.disk_usage(folder).free < 1_048_576


def _journal_rows(folder) -> list[tuple]:
    uri = f"file:{folder / 'journal.sqlite'}?mode=ro"
    with sqlite3.connect(uri, uri=True, timeout=10) as conn:
        return conn.execute("SELECT seq, uuid, kind, total FROM transactions ORDER BY seq").fetchall()


def _sell(kiosk, code: str) -> None:
    kiosk.scan(code)
    kiosk.tap("pay")
    kiosk.wait_screen("receipt", 30)
    kiosk.tap("receipt_none")
    kiosk.wait_screen("thanks", 20)


def test_a_read_only_data_directory_starts_out_of_service_and_keeps_every_sale(launch, disk):
    kiosk = launch()
    _sell(kiosk, MILK)
    [sale] = kiosk.assert_books_agree()
    kiosk.terminate()
    before = _journal_rows(disk)
    # a read-only bind mount over the folder (remounting the tmpfs itself is refused while files are open)
    subprocess.run(["mount", "--bind", str(disk), str(disk)], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", str(disk)], check=True)

    kiosk.start(screen="out_of_service", server=False)  # the local server cannot start on it either
    view = kiosk.ui()
    assert view["state"] == "out_of_service" and any("Out of service" in t for t in view["texts"]), view["texts"]
    time.sleep(2)
    assert kiosk.send(f"scan {MILK}") == ["sent"]
    time.sleep(2)
    view = kiosk.ui()
    assert view["state"] == "out_of_service" and view["cart"] == []
    assert [e for e in kiosk.ledger() if e["kind"] == "payment"] == [
        {"kind": "payment", "amount": sale["total"], "receipt_no": 1, "reversed": False}]  # nothing new charged
    reason = [line for line in kiosk.output if "OUT OF SERVICE" in line]
    assert reason and any("read-only" in line for line in reason), kiosk.output[-30:]
    assert not any("Traceback" in line for line in kiosk.output), kiosk.output[-30:]
    kiosk.terminate()

    subprocess.run(["umount", str(disk)], check=True)  # the read-only bind mount: writable again
    assert _journal_rows(disk) == before  # nothing accepted was lost or touched
    kiosk.start()  # writable again: it sells, and the books still agree
    _sell(kiosk, BREAD)
    assert len(kiosk.assert_books_agree()) == 2


def test_cancel_after_a_payment_refused_on_a_full_disk_shows_out_of_service_and_does_not_crash(launch, disk):
    """Issue 14: after the payment was correctly refused, Cancel crashed the app (a journal write on the UI
    thread, the real error masked as "cannot rollback - no transaction is active")."""
    kiosk = launch()
    _sell(kiosk, BREAD)
    kiosk.assert_books_agree()
    kiosk.scan(MILK)
    _fill(disk)
    kiosk.tap("pay")
    view = kiosk.wait_ui(lambda v: v["state"] == "payment_failed" or "not available" in v["message"], 30,
                         "the refused payment")
    if view["state"] == "payment_failed":
        kiosk.tap("payment_back")
    else:
        kiosk.tap("message_ok")  # "Card payment is not available right now": the customer gives up
    kiosk.tap("cancel_session")
    view = kiosk.wait_ui(lambda v: v["state"] == "out_of_service", 20, "out of service after Cancel")
    assert kiosk.proc.poll() is None
    time.sleep(2)
    assert kiosk.send(f"scan {MILK}") == ["sent"]
    time.sleep(1)
    assert kiosk.ui()["state"] == "out_of_service" and kiosk.ui()["cart"] == []
    assert len([e for e in kiosk.ledger() if e["kind"] == "payment"]) == 1  # the refused payment charged nothing
    reason = [line for line in kiosk.output if "OUT OF SERVICE" in line]
    assert reason and any("full" in line for line in reason), kiosk.output[-30:]
    assert not any("cannot rollback" in line or "Traceback" in line for line in kiosk.output), kiosk.output[-30:]
    assert kiosk.proc.poll() is None  # still running
    (disk / "fill").unlink()
