"""A known synthetic set of session summaries (issue 16) and the records that carry them to the server."""
from __future__ import annotations

import math
import random
import uuid as uuidlib
from datetime import datetime, timedelta, timezone

from kiosk.flows.recorder import session_id
from kiosk.wire import SessionSummary, TransactionRecord
from server.db import COMPLETE_EDGES_S

OUTCOMES = ("completed", "completed", "completed", "abandoned_idle", "cancelled", "handed_to_staff", "out_of_service")


def summaries(seed: int, count: int, first_day: datetime, days: int) -> list[SessionSummary]:
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        start = first_day + timedelta(seconds=rnd.randrange(days * 86400), milliseconds=rnd.randrange(1000))
        outcome = rnd.choice(OUTCOMES)
        flow = "checkin" if rnd.random() < 0.2 else "checkout"
        done = outcome == "completed"
        duration = rnd.randrange(5_000, 900_000) if rnd.random() < 0.95 else rnd.randrange(3_600_000, 5_000_000)
        first_scan = rnd.randrange(0, 20_000) if flow == "checkout" and (done or rnd.random() < 0.7) else None
        payment = (first_scan or 0) + rnd.randrange(1_000, 60_000) if first_scan is not None and (
            done or rnd.random() < 0.5) else None
        attempts = (1 + rnd.randrange(3)) if payment is not None else 0
        declines = rnd.randrange(attempts) if attempts else 0
        ages = rnd.choice((0, 0, 0, 1, 2))
        out.append(SessionSummary(
            session_id=session_id(), flow=flow,
            language=rnd.choice(("en", "de", "nl")), start_language="en", language_switches=rnd.randrange(2),
            started_at=start.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            ended_at=(start + timedelta(milliseconds=duration)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            duration_ms=duration, outcome=outcome, first_scan_ms=first_scan, payment_ms=payment,
            paid_ms=(payment or 0) + 5_000 if done else None,
            receipt_choice=rnd.choice(("print", "qr", "none")) if done and flow == "checkout" else None,
            scans=rnd.randrange(0, 20), taps=rnd.randrange(0, 40), searches=rnd.randrange(3),
            unknown_codes=rnd.randrange(2), messages=rnd.randrange(4), help_calls=rnd.choice((0, 0, 0, 1, 2)),
            age_checks=ages, age_wait_ms=ages * rnd.randrange(5_000, 90_000), payment_attempts=attempts,
            declines=declines, amount_minor=rnd.randrange(100, 20_000) if done and flow == "checkout" else 0,
            currency="EUR" if done and flow == "checkout" else "",
            rating=rnd.choice((None, None, 1, 2, 3, 4, 5, 5)), easy=rnd.choice((None, True, True, False)),
            large_text=rnd.random() < 0.1))
    return out


def record(kiosk_id: str, seq: int, summary: SessionSummary, uid: str | None = None) -> dict:
    return TransactionRecord.model_validate(dict(
        uuid=uid or str(uuidlib.uuid4()), kiosk_id=kiosk_id, seq=seq, boot_id="boot-1",
        device_time=datetime.now(timezone.utc).isoformat(),
        body=dict(kind="event", event="session", details={"kiosk": kiosk_id, **summary.model_dump()}))
    ).model_dump(mode="json")


def _pct(part, whole):
    return None if not whole else 100 * part / whole


def _edge(ms):
    return next((e for e in COMPLETE_EDGES_S if ms <= e * 1000), COMPLETE_EDGES_S[-1])


def _nearest_rank(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered) / 100) - 1]


def expected(rows) -> dict:
    """The KPIs from raw session summaries, written out independently of the server's code."""
    n = len(rows)
    done = [r for r in rows if r.outcome == "completed"]
    rated = [r.rating for r in rows if r.rating is not None]
    answered = [r.easy for r in rows if r.easy is not None]
    ages = sum(r.age_checks for r in rows)
    attempts = sum(r.payment_attempts for r in rows)
    median, p90 = (_nearest_rank([r.duration_ms for r in done], p) for p in (50, 90))
    return {
        "sessions": n,
        "completion_rate": _pct(len(done), n),
        "abandonment_rate": _pct(sum(r.outcome in ("abandoned_idle", "cancelled") for r in rows), n),
        "median_complete_s": None if median is None else _edge(median),
        "p90_complete_s": None if p90 is None else _edge(p90),
        "csat": _pct(sum(1 for x in rated if x >= 4), len(rated)),
        "rating_avg": sum(rated) / len(rated) if rated else None,
        "easy_pct": _pct(sum(answered), len(answered)),
        "help_per_100": _pct(sum(r.help_calls for r in rows), n),
        "age_wait_s": sum(r.age_wait_ms for r in rows) / ages / 1000 if ages else None,
        "decline_rate": _pct(sum(r.declines for r in rows), attempts),
        "revenue_minor": sum(r.amount_minor for r in done),
    }
