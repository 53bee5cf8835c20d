"""kiosk-update asks the kiosk to take no new customer right before it switches releases, so a session cannot
start between its last "is anyone here?" look and the restart.

It writes `<data_dir>/update-hold.json` ({"id", "pid"}: its own pid). The kiosk looks once a second (on the UI
thread, where sessions start): when idle it closes the lane with "Updating, one moment" and says the hold's id
in service-state.json ("held"); with a customer there it says nothing and the updater defers. The hold ends when
the file goes, or when the process that wrote it is gone (a killed updater never leaves the lane closed).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kiosk.flows import texts
from kiosk.flows.states import ATTRACT, OUT_OF_SERVICE

HOLD_FILE = "update-hold.json"


def requested(data_dir: Path) -> str | None:
    """The id of the hold kiosk-update asks for, if its process is alive."""
    try:
        hold = json.loads((data_dir / HOLD_FILE).read_text())
        pid, hold_id = int(hold["pid"]), str(hold["id"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return hold_id if pid > 0 and Path(f"/proc/{pid}").exists() else None


def apply(session: Any, wanted: str | None, held: str | None) -> str | None:
    """Takes the session to what is asked; returns the hold now in force (None: none, or a customer is there)."""
    if wanted is not None and wanted == held:
        return held
    if held is not None:  # released, or replaced by another run's hold
        if session.closed_reason == texts.UPDATING:
            session.closed_reason = None
            session._go(session._rest_state())
        held = None
    if wanted is not None and session.state in (ATTRACT, OUT_OF_SERVICE):
        if session.closed_reason is None:  # else staff closed the lane: nobody can start anyway
            session.closed_reason = texts.UPDATING
            session._go(OUT_OF_SERVICE)
        held = wanted
    return held


def write_request(data_dir: Path, hold_id: str) -> None:
    tmp = data_dir / f".{HOLD_FILE}.tmp"
    tmp.write_text(json.dumps({"id": hold_id, "pid": os.getpid()}))
    os.replace(tmp, data_dir / HOLD_FILE)


def withdraw(data_dir: Path) -> None:
    try:
        (data_dir / HOLD_FILE).unlink()
    except FileNotFoundError:
        pass
