"""Issue 14 on the launched kiosk: a journal damaged while the kiosk was stopped is not used; one damaged while
it runs is found by the technician's full check, which takes the kiosk out of service and says what to do."""
from __future__ import annotations

import struct
import time

from launched import MILK, TECHNICIAN_PIN


def _garble_middle(path):
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(size // 2 // 4096 * 4096)
        f.write(bytes(range(256)) * 16)  # 4 KiB of garbage


def test_a_damaged_journal_starts_out_of_service_and_a_scan_sells_nothing(launch):
    kiosk = launch()
    for _ in range(3):  # some history, so the file has pages in the middle to damage
        kiosk.scan(MILK)
    kiosk.terminate()
    journal = kiosk.data_dir / "journal.sqlite"
    import sqlite3
    conn = sqlite3.connect(journal)  # more pages: events as the kiosk writes them
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    if journal.stat().st_size < 3 * 4096:
        raise AssertionError(f"journal too small to damage in the middle: {journal.stat().st_size}")
    _garble_middle(journal)
    damaged = journal.read_bytes()

    kiosk.start(screen="out_of_service")
    view = kiosk.ui()
    assert view["state"] == "out_of_service"
    assert any("Out of service" in text for text in view["texts"]), view["texts"]
    time.sleep(3)  # the devices come up; the scan must still start nothing
    assert kiosk.send(f"scan {MILK}") == ["sent"]
    time.sleep(2)
    view = kiosk.ui()
    assert view["state"] == "out_of_service" and view["cart"] == []
    assert kiosk.ledger() == []  # no card payment
    assert any("OUT OF SERVICE" in line and "journal" in line for line in kiosk.output), kiosk.output[-20:]
    assert journal.read_bytes() == damaged  # kept for the technician, never overwritten


def _garble_a_page_the_wal_does_not_hold(path) -> int:
    """Damages one page of the main file that no WAL frame shadows (what the running kiosk wrote since its start
    is in the WAL), so any reader sees the damage; returns its number."""
    header = path.read_bytes()[:100]
    page_size = struct.unpack(">H", header[16:18])[0] or 65536
    pages = path.stat().st_size // page_size
    wal = path.with_name(path.name + "-wal").read_bytes()
    in_wal = {struct.unpack(">I", wal[at:at + 4])[0] for at in range(32, len(wal) - 24, 24 + page_size)}
    candidates = [n for n in range(2, pages + 1) if n not in in_wal]
    assert candidates, f"every page of {path} is in the WAL"
    page = candidates[len(candidates) // 2]
    with open(path, "r+b") as f:
        f.seek((page - 1) * page_size)
        f.write((bytes(range(256)) * (page_size // 256))[:page_size])
    return page


def test_a_full_check_on_demand_finds_damage_made_while_running_and_the_technician_is_told_what_to_do(launch):
    kiosk = launch()
    for _ in range(3):  # some history, so the file has pages to damage
        kiosk.scan(MILK)
    kiosk.terminate()  # a clean stop: the next start runs the quick check only, which this file passes
    kiosk.start()
    _garble_a_page_the_wal_does_not_hold(kiosk.data_dir / "journal.sqlite")  # a disk going bad under a running kiosk

    kiosk.open_maintenance(TECHNICIAN_PIN)
    kiosk.tap("tab_system")
    kiosk.tap("check_journal")
    view = kiosk.wait_ui(lambda v: any("journal: check failed" in t for t in v["texts"]), 60, "the full check's verdict")
    kiosk.screenshot("system-page-after-the-check")
    texts = "\n".join(view["texts"])
    assert "is damaged: integrity_check:" in texts, texts
    assert "OUT OF SERVICE: journal damaged (found by a full check)" in texts, texts
    assert "What to do" in texts and "copy the whole data folder" in texts, texts  # advice for this fault
    assert any("OUT OF SERVICE" in line and "found by a full check" in line for line in kiosk.output)
    kiosk.tap("logout")
    kiosk.wait_screen("out_of_service", 30)
    assert kiosk.send(f"scan {MILK}") == ["sent"]
    time.sleep(2)
    view = kiosk.ui()
    assert view["state"] == "out_of_service" and view["cart"] == [] and kiosk.ledger() == []


def test_a_full_disk_starts_out_of_service_instead_of_dying(launch, tmp_path):
    """Issue 14: with the disk full every restart died. The data directory on a small tmpfs (root only)."""
    import shutil
    import subprocess

    import pytest
    disk = tmp_path / "data"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (not root)")
    try:
        kiosk = launch()
        kiosk.scan(MILK)
        kiosk.terminate()
        with open(disk / "fill", "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 1_048_576)
            except OSError:
                pass
        assert shutil.disk_usage(disk).free < 1_048_576
        # the local central server needs room for its own files: on a full disk it may not start, and the
        # kiosk must come up out of service all the same
        kiosk.start(screen="out_of_service", server=False)
        time.sleep(2)
        assert kiosk.send(f"scan {MILK}") == ["sent"]
        time.sleep(2)
        view = kiosk.ui()
        assert view["state"] == "out_of_service" and view["cart"] == []
        assert any("OUT OF SERVICE" in line and "disk is full" in line for line in kiosk.output), kiosk.output[-20:]
        kiosk.kill()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
