"""The journal at start-up: opened and checked (quick_check, or integrity_check after an unclean shutdown),
or, when it is damaged or cannot be written, an UnusableJournal with the reason, so the kiosk starts out of
service instead of dying. JournalOpening does it on a thread of its own while the window comes up."""
from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from kiosk.journal import Journal, JournalError, UnusableJournal

log = logging.getLogger("launcher.backend")


def disk_note(folder: Path) -> str:
    """What the disk says, for the technician: full, or read-only."""
    import os
    import shutil
    try:
        free = shutil.disk_usage(folder if folder.exists() else folder.parent).free
    except OSError:
        return ""
    if free < 1_000_000:
        return f" (the disk is full: {free} bytes free)"
    if folder.exists() and not os.access(folder, os.W_OK):
        return " (the data directory is read-only)"
    return ""


def open_journal(path: Path, kiosk_id: str) -> Journal | UnusableJournal:
    """The journal, checked; if it is damaged or cannot be opened for writing (disk full, read-only data
    directory), an UnusableJournal with the reason: the kiosk starts, out of service, and sells nothing.
    A damaged file is left exactly as it is for the technician."""
    try:
        return Journal(path, kiosk_id).start()
    except (JournalError, sqlite3.Error, OSError) as exc:
        reason = f"journal cannot be used: {exc}{disk_note(path.parent)}"
        log.error("OUT OF SERVICE: %s", reason)
        return UnusableJournal(path, kiosk_id, reason)


class JournalOpening:
    """`open_journal` on a thread of its own, begun as the process starts: the start check (quick_check, or
    integrity_check after an unclean shutdown, long on a large journal) then never holds up the UI thread,
    which draws the first screen meanwhile and asks `journal()` until it is there."""

    def __init__(self, data: Path, kiosk_id: str):
        self.path, self.kiosk_id = data / "journal.sqlite", kiosk_id
        self._done = threading.Event()
        self._journal: Journal | UnusableJournal | None = None
        self.thread = threading.Thread(target=self._open, name="journal-check", daemon=True)
        self.thread.start()

    def _open(self) -> None:
        try:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError:
                pass  # the backend notes it; the journal below says why it cannot be used
            self._journal = open_journal(self.path, self.kiosk_id)
        except BaseException as exc:  # noqa: BLE001 - never leave the UI waiting for a journal
            self._journal = UnusableJournal(self.path, self.kiosk_id, f"journal cannot be used: {exc}")
        finally:
            self._done.set()

    def journal(self, timeout: float | None = 0) -> Journal | UnusableJournal | None:
        """The opened journal, or None while it is still being checked."""
        return self._journal if self._done.wait(timeout) else None
