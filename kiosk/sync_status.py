"""What the sync client reports (`SyncStatus`, a snapshot the UI reads) and how long it waits between
failed rounds (`backoff_delay`)."""
from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class SyncStatus:
    online: bool = False
    queue_depth: int = 0
    oldest_unsent_age_s: float | None = None
    acknowledged_through: int = 0  # the highest seq the server confirmed this run
    last_success_at: float | None = None  # time.time() of the last fully successful round
    last_error: str | None = None  # None once a round succeeds again
    last_error_at: float | None = None
    attempt: int = 0  # consecutive failed rounds
    catalog_version: int | None = None
    bookings_version: int | None = None
    config_version: int | None = None
    rejected_items: int = 0  # catalog/bookings rows from the server this kiosk could not use
    clock_skew_s: float | None = None  # this kiosk's clock minus the server's (from the last reply)
    refused: str | None = None  # the server has refused the outbox for refused_limit_s: out of service


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Full jitter: uniform(0, min(cap, base * 2**attempt))."""
    return rng.uniform(0, min(cap, base * 2 ** min(attempt, 30)))
