"""The PIN pad lockout: after 5 wrong PINs in a row the pad is locked for 15 minutes.

The state is a small JSON file written atomically on every change, so neither a crash nor a
restart (nor pulling the plug) resets the count. PinLockout keeps wall-clock times (a clock set backwards
never makes a lock longer than `lock_s`, but a step forward ends it); RemainingLockout, used by both PIN
pads, keeps the remaining duration instead.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable

MAX_FAILURES = 5
LOCK_S = 15 * 60


class PinLockout:
    def __init__(self, path: str | Path, max_failures: int = MAX_FAILURES, lock_s: float = LOCK_S,
                 clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.max_failures, self.lock_s, self.clock = max_failures, lock_s, clock
        self.failures, self.locked_until = 0, 0.0
        self._load()

    def _load(self) -> None:
        try:
            self._restore(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            pass
        except (ValueError, TypeError, AttributeError):
            # a damaged file must not unlock the pad: treat it as a fresh lock
            self.failures, self.locked_until = self.max_failures, self.clock() + self.lock_s

    def _restore(self, state: dict) -> None:
        self.failures = int(state.get("failures", 0))
        self.locked_until = float(state.get("locked_until", 0))

    def _state(self) -> dict:
        return {"failures": self.failures, "locked_until": self.locked_until}

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        state = self._state()  # before the file is opened: working out the state may save it itself
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def locked_for(self) -> float:
        """Seconds the pad stays locked (0 = open)."""
        now = self.clock()
        left = self.locked_until - now
        if left > self.lock_s:  # the clock was stepped back: the lock lasts lock_s from now, not until then
            self.locked_until = now + self.lock_s
            self._save()
            left = self.lock_s
        return max(left, 0.0)

    def failed(self) -> bool:
        """A wrong PIN; True when this one locked the pad."""
        if self.locked_for() == 0 and self.failures >= self.max_failures:
            self.failures = 0  # the previous lock expired: a fresh count
        self.failures += 1
        locked = self.failures >= self.max_failures
        if locked:
            self.locked_until = self.clock() + self.lock_s
        self._save()
        return locked

    def succeeded(self) -> None:
        if self.failures or self.locked_until:
            self.failures, self.locked_until = 0, 0.0
            self._save()

    @property
    def tries_left(self) -> int:
        return max(self.max_failures - self.failures, 0)


class RemainingLockout(PinLockout):
    """The same lockout measured as a remaining duration: time.monotonic while running, and the remaining
    seconds in the file, so neither a clock step (forwards or back) nor a restart shortens or ends a lock.
    Used for the attendant's PIN or badge at the age check (issue 14): the file is rewritten at most every
    `save_every_s` while locked, so a restart adds at most that much."""

    def __init__(self, path: str | Path, max_failures: int = MAX_FAILURES, lock_s: float = LOCK_S,
                 clock: Callable[[], float] = time.monotonic, save_every_s: float = 30.0):
        self.save_every_s = save_every_s
        self._saved_at = 0.0
        super().__init__(path, max_failures, lock_s, clock)

    def _restore(self, state: dict) -> None:
        self.failures = int(state.get("failures", 0))
        if "remaining_s" in state:
            remaining = float(state["remaining_s"])
        else:  # a file of the wall-clock PinLockout (before the maintenance pad moved here): what is left of it
            remaining = float(state.get("locked_until", 0)) - time.time() if state.get("locked_until") else 0.0
        if remaining != remaining:  # NaN
            raise ValueError("remaining_s is NaN")
        remaining = min(max(remaining, 0.0), self.lock_s)
        self.locked_until = self.clock() + remaining if remaining else 0.0

    def _state(self) -> dict:
        return {"failures": self.failures, "remaining_s": round(self.locked_for(), 3)}

    def locked_for(self) -> float:
        left = min(max(self.locked_until - self.clock(), 0.0), self.lock_s) if self.locked_until else 0.0
        if self.locked_until and self.clock() - self._saved_at >= self.save_every_s:
            self._saved_at = self.clock()  # before saving: _save asks locked_for again
            if not left:
                self.locked_until = 0.0
            self._save()
        return left


def maintenance_lockout(data_dir: str | Path, clock: Callable[[], float] = time.monotonic) -> RemainingLockout:
    """The maintenance PIN pad's lockout: a remaining duration like the attendant check's, so a clock step
    neither stretches a lock (it lasted 24 h after a step back of a day) nor ends it (issue 14)."""
    return RemainingLockout(Path(data_dir) / "maintenance-lock.json", clock=clock)
