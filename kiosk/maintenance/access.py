"""Who is in the maintenance screen, what they may do, and the audit of everything they do.

`Maintenance.login(pin)` checks the PIN against the technician store under the lockout; a session
ends after `timeout_s` without a touch (`touch()` on every tap, `expired()` polled by the screen).
Every action goes through `act(action, **details)`, which checks the role and writes the
hash-chained audit record (journal.record_audit), so nothing is done without a trace. A journal that fails
the write (damaged, disk full) gets the record in the log instead: the technician must still get in then.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

from kiosk.maintenance.lockout import PinLockout
from kiosk.maintenance.technicians import Technician, TechnicianStore

log = logging.getLogger("kiosk.maintenance")

SESSION_TIMEOUT_S = 120
# Attendants help customers and fix the everyday things (paper, reprints, a stuck device);
# changing the kiosk itself or leaving it is for technicians.
TECHNICIAN_ONLY = frozenset({"exit_desktop", "edit_config", "switch_simulator", "export_queue", "end_of_day"})


class NotAllowed(PermissionError):
    pass


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    who: Technician | None = None
    tries_left: int = 0
    locked_for_s: float = 0.0  # > 0: the pad is locked for this long


class Maintenance:
    def __init__(self, store: TechnicianStore, lockout: PinLockout, journal,
                 timeout_s: float = SESSION_TIMEOUT_S, clock: Callable[[], float] = time.monotonic):
        self.store, self.lockout, self.journal = store, lockout, journal
        self.timeout_s, self.clock = timeout_s, clock
        self.who: Technician | None = None
        self.last_touch = 0.0

    # --- entering and leaving -------------------------------------------------------------------

    def login(self, pin: str, via: str = "pin") -> LoginResult:
        locked = self.lockout.locked_for()
        if locked:
            self._audit(None, "pin_refused_locked", locked_for_s=int(locked))
            return LoginResult(False, locked_for_s=locked)
        who = self.store.verify_pin(pin)
        if who is None:
            now_locked = self.lockout.failed()
            self._audit(None, "pin_failed", tries_left=self.lockout.tries_left, locked=now_locked)
            return LoginResult(False, tries_left=self.lockout.tries_left, locked_for_s=self.lockout.locked_for())
        self.lockout.succeeded()
        self.who, self.last_touch = who, self.clock()
        self._audit(who, "login", via=via)
        return LoginResult(True, who)

    def logout(self, reason: str = "logout") -> None:
        if self.who is not None:
            self._audit(self.who, "logout", reason=reason)
            self.who = None

    def touch(self) -> None:
        self.last_touch = self.clock()

    def expired(self) -> bool:
        return self.who is not None and self.clock() - self.last_touch >= self.timeout_s

    @property
    def role(self) -> str | None:
        return self.who.role if self.who else None

    # --- doing things ---------------------------------------------------------------------------

    def may(self, action: str) -> bool:
        if self.who is None:
            return False
        return self.who.role == "technician" or action not in TECHNICIAN_ONLY

    def act(self, action: str, **details: Any) -> dict[str, Any]:
        """Checks the role, then writes the audit record; raises NotAllowed (audited too) if refused."""
        if not self.may(action):
            if self.who is not None:
                self._audit(self.who, "refused", refused_action=action)
            raise NotAllowed(f"{action.replace('_', ' ')} needs the technician role"
                             if self.who is not None else "log in first")
        self.touch()
        return self._audit(self.who, action, **details)

    def _audit(self, who: Technician | None, action: str, **details: Any) -> dict[str, Any]:
        technician, role = (who.id, who.role) if who else ("unknown", "none")
        try:
            return self.journal.record_audit(technician, role, action, details)
        except Exception as exc:  # noqa: BLE001 - whatever the journal raises (sqlite3, JournalError), log it
            record = {"technician": technician, "role": role, "action": action, "details": details}
            log.warning("maintenance audit (not journaled: %s): %s", exc, record)
            return record
