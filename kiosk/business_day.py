"""Once-a-day work (the terminal's end of day) against a wall clock that may be stepped back or forward.

The rule: at most once per business date. A step back to a date already closed does nothing; a step
forward closes the new date once; stepping back again does not close the earlier date a second time."""
from __future__ import annotations

import datetime as dt
from typing import Iterable


def end_of_day_due(now: dt.datetime, at: str, done: Iterable[dt.date]) -> bool:
    """True if the daily time `at` ("HH:MM", "" = off) has passed on `now`'s date and that date has not been
    closed yet (`done`: the business dates already closed, from the journal)."""
    if not at:
        return False
    due = now.replace(hour=int(at[:2]), minute=int(at[3:]), second=0, microsecond=0)
    return now >= due and now.date() not in set(done)
