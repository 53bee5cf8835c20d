"""Fleet insight (issue 16) through the real server over HTTP, on SQLite and PostgreSQL: a known set of session
records is synced (some twice), and every KPI the server reports equals the one computed here from the raw rows."""
from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest

from server_records import batch, event
from insight_data import expected, record, summaries

FIRST = datetime(2026, 10, 22, tzinfo=timezone.utc)  # 20 days: the previous period, then the one asked for
RANGE = {"from": "2026-11-01", "to": "2026-11-10"}


def assert_kpis(tiles: dict, want: dict, key: str = "value") -> None:
    for name, value in want.items():
        got = tiles[name][key]
        if value is None or got is None:
            assert got == value, name
        else:
            assert got == pytest.approx(value, abs=0.006), name


def within(rows, first: str, last: str, **filters):
    return [r for r in rows if first <= r.started_at[:10] <= last
            and all(getattr(r, k) == v for k, v in filters.items() if k != "kiosk")]


@pytest.fixture(scope="module")
def fleet(server):
    """Three kiosks' sessions synced over HTTP; a batch sent twice and one session in two records."""
    kiosks = {}
    for i in range(3):
        kiosk_id, headers = server.enroll()
        rows = summaries(seed=i, count=150, first_day=FIRST, days=20)
        records = [record(kiosk_id, seq, s) for seq, s in enumerate(rows, 1)]
        for start in range(0, len(records), 40):
            chunk = batch(*records[start:start + 40])
            reply = httpx.post(f"{server.url}/v1/kiosks/{kiosk_id}/transactions", json=chunk, headers=headers,
                               timeout=60)
            assert reply.status_code == 200 and reply.json()["accepted"] == len(chunk["records"]), reply.text
            if start == 40:  # the acknowledgement was lost: the kiosk sends the batch again
                again = httpx.post(f"{server.url}/v1/kiosks/{kiosk_id}/transactions", json=chunk, headers=headers,
                                   timeout=60).json()
                assert again["duplicates"] == len(chunk["records"]) and again["accepted"] == 0
        # the same session journaled again under a new record (a kiosk restored from a backup): still one
        twice = record(kiosk_id, len(records) + 1, rows[0])
        reply = httpx.post(f"{server.url}/v1/kiosks/{kiosk_id}/transactions", json=batch(twice), headers=headers,
                           timeout=60)
        assert reply.json()["accepted"] == 1
        kiosks[kiosk_id] = (headers, rows)
    return kiosks


def get(server, path="/v1/admin/insight", **params):
    reply = httpx.get(f"{server.url}{path}", params=params, headers=server.admin, timeout=60)
    assert reply.status_code == 200, reply.text
    return reply


def test_every_kpi_equals_the_one_computed_from_the_raw_rows(server, fleet):
    everything = [s for _, rows in fleet.values() for s in rows]
    report = get(server, **RANGE).json()
    assert report["previous_period"] == {"from": "2026-10-22", "to": "2026-10-31"}
    assert_kpis(report["tiles"], expected(within(everything, "2026-11-01", "2026-11-10")))
    assert_kpis(report["tiles"], expected(within(everything, "2026-10-22", "2026-10-31")), key="previous")
    rows = within(everything, "2026-11-01", "2026-11-10")
    funnel = {step["step"]: step["sessions"] for step in report["funnel"]}
    assert funnel == {"sessions": len(rows), "reached_scan": sum(r.first_scan_ms is not None for r in rows),
                      "reached_payment": sum(r.payment_ms is not None for r in rows),
                      "paid": sum(r.paid_ms is not None for r in rows),
                      "receipt_chosen": sum(r.receipt_choice is not None for r in rows)}
    stars = Counter(r.rating for r in rows)
    assert [x["sessions"] for x in report["ratings"]] == [stars[i] for i in range(1, 6)]
    heat = [[0] * 24 for _ in range(7)]
    for r in rows:
        heat[date.fromisoformat(r.started_at[:10]).weekday()][int(r.started_at[11:13])] += 1
    assert report["heatmap"] == heat


def test_series_by_day_week_month_and_csv_equal_to_the_table(server, fleet):
    everything = [s for _, rows in fleet.values() for s in rows]
    for group, key in (("day", lambda d: d), ("week", lambda d: (date.fromisoformat(d) - timedelta(
            days=date.fromisoformat(d).weekday())).isoformat()), ("month", lambda d: d[:7])):
        report = get(server, **RANGE, group=group).json()
        periods: dict[str, list] = {}
        for r in sorted(within(everything, "2026-11-01", "2026-11-10"), key=lambda r: r.started_at):
            periods.setdefault(key(r.started_at[:10]), []).append(r)
        assert [row["period"] for row in report["series"]] == list(periods)
        for row, (period, rows) in zip(report["series"], periods.items()):
            want = expected(rows)
            assert row["sessions"] == want["sessions"] and row["revenue_minor"] == want["revenue_minor"]
            assert row["completion_rate"] == pytest.approx(want["completion_rate"], abs=0.006)
        table = list(csv.reader(io.StringIO(get(server, "/v1/admin/insight.csv", **RANGE, group=group).text)))
        assert table[0] == report["series_columns"]
        assert table[1:] == [["" if row[c] is None else str(row[c]) for c in report["series_columns"]]
                             for row in report["series"]]


def test_filters_change_the_numbers_correctly(server, fleet):
    (kiosk_id, (_, rows)), *others = fleet.items()
    report = get(server, **RANGE, kiosk=kiosk_id).json()
    assert_kpis(report["tiles"], expected(within(rows, "2026-11-01", "2026-11-10")))
    everything = [s for _, rs in fleet.values() for s in rs]
    for filters in ({"flow": "checkin"}, {"language": "nl"}, {"flow": "checkout", "language": "de"}):
        report = get(server, **RANGE, **filters).json()
        assert_kpis(report["tiles"], expected(within(everything, "2026-11-01", "2026-11-10", **filters)))
    report = get(server, **RANGE, kiosk=kiosk_id, language="en").json()
    assert_kpis(report["tiles"], expected(within(rows, "2026-11-01", "2026-11-10", language="en")))
    one_day = get(server, **{"from": "2026-11-03", "to": "2026-11-03"}).json()
    assert one_day["tiles"]["sessions"]["value"] == len(within(everything, "2026-11-03", "2026-11-03"))
    assert one_day["previous_period"] == {"from": "2026-11-02", "to": "2026-11-02"}


def test_drill_down_lists_the_sessions_behind_a_number(server, fleet):
    kiosk_id, (_, rows) = next(iter(fleet.items()))
    listed = get(server, "/v1/admin/insight/sessions", **RANGE, kiosk=kiosk_id, outcome="handed_to_staff",
                 limit=1000).json()["sessions"]
    want = within(rows, "2026-11-01", "2026-11-10", outcome="handed_to_staff")
    assert sorted(s["session_id"] for s in listed) == sorted(r.session_id for r in want)
    assert all(s["kiosk_id"] == kiosk_id for s in listed)


def test_bad_filters_and_bad_session_records_are_refused_with_the_reason(server, fleet):
    for params, words in (({"from": "2026-13-01"}, "from: expected a date"), ({"group": "year"}, "group"),
                          ({"from": "2026-11-10", "to": "2026-11-01"}, "is after"), ({"flow": "x"}, "flow")):
        reply = httpx.get(f"{server.url}/v1/admin/insight", params=params, headers=server.admin, timeout=30)
        assert reply.status_code == 422 and words in reply.text, (params, reply.text)
    kiosk_id, headers = server.enroll()
    assert httpx.get(f"{server.url}/v1/admin/insight", headers=headers, timeout=30).status_code == 403
    bad = event(kiosk_id, 1, name="session")  # a session record without its fields
    reply = httpx.post(f"{server.url}/v1/kiosks/{kiosk_id}/transactions", json=batch(bad), headers=headers,
                       timeout=30).json()
    assert reply["dead_lettered"] == 1 and reply["held_through"] == 1


def test_purge_keeps_the_rollups_and_rebuild_restores_insight_from_held_records(tmp_path):
    import sqlite3
    import subprocess
    import sys
    from kserver_harness import start_server

    srv, close = start_server("sqlite", tmp_path)
    try:
        kiosk_id, headers = srv.enroll()
        old = summaries(seed=5, count=30, first_day=datetime.now(timezone.utc) - timedelta(days=500), days=1)
        new = summaries(seed=6, count=20, first_day=datetime.now(timezone.utc) - timedelta(days=2), days=1)
        rows = old + new
        reply = httpx.post(f"{srv.url}/v1/kiosks/{kiosk_id}/transactions", headers=headers, timeout=60,
                           json=batch(*[record(kiosk_id, seq, s) for seq, s in enumerate(rows, 1)]))
        assert reply.json()["accepted"] == len(rows)
        span = {"from": min(r.started_at[:10] for r in rows), "to": max(r.started_at[:10] for r in rows)}
        before = get(srv, **span).json()["tiles"]

        def admin(*args):
            done = subprocess.run([sys.executable, "-m", "server.cli", "admin", *args], env=srv.proc.env,
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
            return done.stdout

        assert "30 raw session rows older than 400 days deleted" in admin("insight-purge")
        assert get(srv, **span).json()["tiles"] == before  # the rollups keep every number
        listed = get(srv, "/v1/admin/insight/sessions", **span, limit=1000).json()["sessions"]
        assert sorted(s["session_id"] for s in listed) == sorted(s.session_id for s in new)
        bad = subprocess.run([sys.executable, "-m", "server.cli", "admin", "insight-purge", "--days", "0"],
                             env=srv.proc.env, capture_output=True, text=True, timeout=120)
        assert bad.returncode == 1 and "--days: expected at least 1" in bad.stderr

        with sqlite3.connect(tmp_path / "server" / "server.db") as db:  # as if synced before insight existed
            for table in ("insight_sessions", "insight_hourly", "insight_daily"):
                db.execute(f"DELETE FROM {table}")
        assert get(srv, **span).json()["tiles"]["sessions"]["value"] == 0
        assert f"{len(rows)} session records added" in admin("insight-rebuild")
        assert get(srv, **span).json()["tiles"] == before
        assert "0 session records added" in admin("insight-rebuild")  # twice: still counted once
        assert get(srv, **span).json()["tiles"] == before
    finally:
        close()
