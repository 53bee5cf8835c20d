"""The kiosk's wall clock: the system clock, plus an offset that only a simulated kiosk ever sets.

Everything dated on the kiosk reads it: journal records (and so receipts and the end-of-day dates), the
terminal's end-of-day schedule, the skew against the server. `kiosk --simulate` lets the control port step
it (`clock +86400`, `clock -1d`, `clock real`), so a clock step can be shown and tested end to end on the
launched app without changing the machine's clock (that needs root and disturbs every other process;
faketime is not installed). SIMULATION ONLY: with real devices nothing steps it and the offset stays 0.
Durations (lockouts, timeouts) use time.monotonic and never read this clock."""
from __future__ import annotations

import re
import threading
import time as _time
from datetime import datetime, timezone

_lock = threading.Lock()
_offset_s = 0.0
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "y": 365 * 86400}


def time() -> float:
    """Seconds since the epoch, like time.time()."""
    return _time.time() + _offset_s


def now() -> datetime:
    """The local time, timezone-aware."""
    return datetime.fromtimestamp(time(), timezone.utc).astimezone()


def now_iso() -> str:
    return now().isoformat(timespec="milliseconds")


def offset_s() -> float:
    return _offset_s


def step(seconds: float) -> float:
    """Steps the clock by `seconds` (negative: back); returns the new offset."""
    global _offset_s
    with _lock:
        _offset_s += seconds
        return _offset_s


def reset() -> None:
    global _offset_s
    with _lock:
        _offset_s = 0.0


def control(args: list[str]) -> str:
    """The simulator console's `clock` command: `clock` (show), `clock +1d|-3600|+1y`, `clock real`."""
    if args and args[0] == "real":
        reset()
    elif args:
        m = re.fullmatch(r"([+-])(\d+(?:\.\d+)?)([smhdy]?)", args[0])
        if not m:
            raise ValueError(f"clock step {args[0]!r}: use +N or -N with an optional unit s, m, h, d or y "
                             "(e.g. clock -1d), or clock real")
        step((1 if m[1] == "+" else -1) * float(m[2]) * _UNITS[m[3] or "s"])
    return f"kiosk clock {now().isoformat(timespec='seconds')} (offset {_offset_s:+.0f} s, simulation only)"
