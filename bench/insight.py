"""Fleet insight benchmark on PostgreSQL (issue 16). Prints name=value lines.

  dashboard_query_p95_ms     every insight page (report by day/week/month, CSV, drill-down) over 7/30/90/365 days,
                             fleet-wide and filtered by site, kiosk, flow, language; over HTTP (target <= 300)
  rollup_lag_s               a batch of session records acknowledged -> its numbers visible via the API (target <= 5)
  ingest_tx_per_s_postgres   batched ingest from many kiosks at once, half the records session summaries (>= 3,000)
                             (and _sales_only: bench/sync.py's load on the same server, for comparison)
  db_bytes_per_session       the whole database's size / sessions held (raw rows, rollups, indexes)

A chain of --kiosks kiosks (10 per site) × --days days ending yesterday (UTC), about --per-day sessions per kiosk
and day, is generated with numpy, its raw rows loaded with COPY, and its rollups built as the server builds them
(checked against server.insight.increments on a sample). Needs KIOSK_TEST_PG_DSN (scripts/ci-postgres.sh).

Usage: python bench/insight.py [--kiosks 500] [--days 365] [--per-day 27] [--keep]
       python bench/insight.py --ingest-only [--ingest-kiosks 20] [--client-procs 2] [--pg-workers 2]  (about 1 min)
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import sync  # noqa: E402
from bench.lib.ingest_load import ingest_only  # noqa: E402
from kiosk.wire import SessionSummary  # noqa: E402
from server.db import COMPLETE_EDGES_S, HOUR_METRICS, SUM_METRICS, make_engine, migrate  # noqa: E402
from server.insight import FLEET, increments  # noqa: E402
from server.process import ServerProcess  # noqa: E402
from tests.server.kserver_harness import new_postgres_database  # noqa: E402

FLOWS, LANGS = ("checkout", "checkin"), ("en", "de", "nl")
OUTCOMES = ("completed", "abandoned_idle", "cancelled", "handed_to_staff", "out_of_service")
OPEN_HOURS = np.array([0, 0, 0, 0, 0, 0, 0, 1, 3, 5, 6, 7, 8, 7, 6, 6, 7, 9, 10, 8, 5, 2, 0, 0], float)
SITE_SIZE = 10
NULL, EASY = "\\N", ("\\N", "t", "f")  # COPY text format
M = {name: i for i, name in enumerate(SUM_METRICS)}


def generate(rng: np.random.Generator, n: int, days: int) -> dict[str, np.ndarray]:
    """n sessions of one kiosk; columns as arrays."""
    g: dict[str, np.ndarray] = {}
    g["day"] = rng.integers(0, days, n)
    g["hour"] = rng.choice(24, n, p=OPEN_HOURS / OPEN_HOURS.sum())
    g["second"] = rng.integers(0, 3600, n)
    g["milli"] = rng.integers(0, 1000, n)
    g["flow"] = (rng.random(n) < 0.15).astype(np.int64)
    g["lang"] = rng.choice(3, n, p=[0.55, 0.3, 0.15])
    g["outcome"] = rng.choice(5, n, p=[0.8, 0.08, 0.05, 0.045, 0.025])
    done = g["outcome"] == 0
    checkout = g["flow"] == 0
    g["duration"] = np.minimum(rng.lognormal(np.log(110_000), 0.6, n).astype(np.int64), 6 * 3600 * 1000)
    g["scan"] = checkout & (done | (rng.random(n) < 0.7))
    g["pay"] = g["scan"] & (done | (rng.random(n) < 0.4))
    g["receipt"] = done & checkout
    g["rating"] = np.where(rng.random(n) < 0.35, rng.choice(5, n, p=[0.04, 0.04, 0.12, 0.3, 0.5]) + 1, 0)
    g["easy"] = np.where(rng.random(n) < 0.4, np.where(rng.random(n) < 0.85, 1, 2), 0)  # 0 none, 1 yes, 2 no
    g["large"] = rng.random(n) < 0.05
    g["switches"] = (rng.random(n) < 0.1).astype(np.int64)
    g["help"] = rng.poisson(0.05, n) + (g["outcome"] == 3)
    g["scans"] = np.where(checkout, rng.poisson(6, n), 0) * g["scan"]
    g["taps"] = rng.poisson(12, n)
    g["searches"] = rng.poisson(0.3, n)
    g["unknown"] = rng.poisson(0.1, n)
    g["messages"] = rng.poisson(0.5, n) + g["unknown"]
    g["ages"] = (checkout & (rng.random(n) < 0.08)).astype(np.int64)
    g["age_wait"] = g["ages"] * rng.integers(10_000, 120_000, n)
    g["attempts"] = g["pay"] * (1 + (rng.random(n) < 0.05))
    g["declines"] = np.where(done, np.maximum(g["attempts"] - 1, 0), g["attempts"] * (rng.random(n) < 0.5))
    g["amount"] = np.where(done & checkout, rng.integers(100, 20_000, n), 0)
    return g


def metric_rows(g: dict[str, np.ndarray]) -> np.ndarray:
    """What each session adds to its rollup rows (as server.insight.increments), one row per session."""
    n = len(g["day"])
    out = np.zeros((n, len(SUM_METRICS)), np.int64)
    done = g["outcome"] == 0
    out[:, M["sessions"]] = 1
    for i, name in enumerate(OUTCOMES):
        out[:, M[name if i else "completed"]] = g["outcome"] == i
    out[:, M["reached_scan"]], out[:, M["reached_payment"]] = g["scan"], g["pay"]
    out[:, M["paid"]], out[:, M["receipt_chosen"]] = done, g["receipt"]
    out[:, M["complete_ms"]] = np.where(done, g["duration"], 0)
    for stars in range(1, 6):
        out[:, M[f"rating_{stars}"]] = g["rating"] == stars
    out[:, M["easy_yes"]], out[:, M["easy_no"]] = g["easy"] == 1, g["easy"] == 2
    for name, col in (("large_text", "large"), ("language_switches", "switches"), ("help_calls", "help"),
                      ("scans", "scans"), ("taps", "taps"), ("searches", "searches"), ("unknown_codes", "unknown"),
                      ("messages", "messages"), ("age_checks", "ages"), ("age_wait_ms", "age_wait"),
                      ("payment_attempts", "attempts"), ("declines", "declines")):
        out[:, M[name]] = g[col]
    out[:, M["revenue_minor"]] = np.where(done, g["amount"], 0)
    bucket = np.searchsorted(np.array(COMPLETE_EDGES_S) * 1000, g["duration"], side="left")
    out[np.arange(n)[done], M["d00"] + bucket[done]] = 1
    return out


def summaries(g: dict[str, np.ndarray], first: date, rows: range) -> list[SessionSummary]:
    """The same sessions as the kiosk's wire model, for the check against the server's own increments."""
    out = []
    for i in rows:
        start = datetime(first.year, first.month, first.day, tzinfo=timezone.utc) + timedelta(
            days=int(g["day"][i]), hours=int(g["hour"][i]), seconds=int(g["second"][i]))
        stamp = start.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        done = g["outcome"][i] == 0
        out.append(SessionSummary(
            session_id=str(uuid.uuid4()), flow=FLOWS[g["flow"][i]], language=LANGS[g["lang"][i]], start_language="en",
            language_switches=int(g["switches"][i]), started_at=stamp, ended_at=stamp,
            duration_ms=int(g["duration"][i]), outcome=OUTCOMES[g["outcome"][i]],
            first_scan_ms=0 if g["scan"][i] else None, payment_ms=1 if g["pay"][i] else None,
            paid_ms=2 if done else None, receipt_choice="qr" if g["receipt"][i] else None,
            scans=int(g["scans"][i]), taps=int(g["taps"][i]), searches=int(g["searches"][i]),
            unknown_codes=int(g["unknown"][i]), messages=int(g["messages"][i]), help_calls=int(g["help"][i]),
            age_checks=int(g["ages"][i]), age_wait_ms=int(g["age_wait"][i]), payment_attempts=int(g["attempts"][i]),
            declines=int(g["declines"][i]), amount_minor=int(g["amount"][i]) if done else 0,
            rating=int(g["rating"][i]) or None, easy={0: None, 1: True, 2: False}[int(g["easy"][i])],
            large_text=bool(g["large"][i])))
    return out


def check_increments(g, first: date) -> None:
    sample = range(min(300, len(g["day"])))
    want: Counter = Counter()
    for s in summaries(g, first, sample):
        want.update(increments(s))
    got = metric_rows({k: v[:len(sample)] for k, v in g.items()}).sum(axis=0)
    mine = {name: int(got[i]) for i, name in enumerate(SUM_METRICS) if got[i]}
    if mine != {k: v for k, v in want.items() if v}:
        raise SystemExit(f"bench rollups differ from the server's: {mine} != {dict(want)}")


def group_sum(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return keys[starts], np.add.reduceat(values, starts, axis=0)


def load(dsn: str, kiosks: int, days: int, per_day: float, seed: int = 7) -> int:
    rng = np.random.default_rng(seed)
    first = datetime.now(timezone.utc).date() - timedelta(days=days)
    day_names = [(first + timedelta(days=d)).isoformat() for d in range(days)]
    sites = (kiosks + SITE_SIZE - 1) // SITE_SIZE
    daily = np.zeros((sites, days, 2, 3, len(SUM_METRICS) + 24), np.int64)
    epoch0 = np.datetime64(first.isoformat(), "ms")
    total = 0
    cols = ", ".join(SUM_METRICS)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for k in range(kiosks):
            kiosk_id, site_id = f"kiosk-{k:04d}", f"site-{k // SITE_SIZE:03d}"
            n = int(rng.poisson(per_day * days))
            g = generate(rng, n, days)
            if k == 0:
                check_increments(g, first)
            metrics = metric_rows(g)
            starts = epoch0 + (g["day"] * 86_400_000 + g["hour"] * 3_600_000 + g["second"] * 1000
                               + g["milli"]).astype("timedelta64[ms]")
            stamps = np.char.add(np.datetime_as_string(starts, unit="ms"), "Z").tolist()
            ids = os.urandom(16 * n).hex()
            buf = io.StringIO()
            flow, lang = g["flow"].tolist(), g["lang"].tolist()
            outcome, rating, easy = g["outcome"].tolist(), g["rating"].tolist(), g["easy"].tolist()
            dur, scans, helps = g["duration"].tolist(), g["scans"].tolist(), g["help"].tolist()
            declines, amount = g["declines"].tolist(), g["amount"].tolist()
            for i in range(n):
                h = ids[32 * i:32 * i + 32]
                done = outcome[i] == 0 and flow[i] == 0
                buf.write(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}\t{kiosk_id}\t{site_id}\t{stamps[i]}\t"
                          f"{dur[i]}\t{FLOWS[flow[i]]}\t{LANGS[lang[i]]}\t{OUTCOMES[outcome[i]]}\t{scans[i]}\t"
                          f"{helps[i]}\t{declines[i]}\t{rating[i] or NULL}\t{EASY[easy[i]]}\t"
                          f"{amount[i] if done else 0}\t{'EUR' if done else ''}\n")
            with cur.copy("COPY insight_sessions (session_id, kiosk_id, site_id, started_at, duration_ms, flow, "
                          "language, outcome, scans, help_calls, declines, rating, easy, amount_minor, currency) "
                          "FROM STDIN") as copy:
                copy.write(buf.getvalue())
            # kiosk × hour × flow × language
            hour_index = g["day"] * 24 + g["hour"]
            keys, sums = group_sum((hour_index * 2 + g["flow"]) * 3 + g["lang"], metrics)
            buf = io.StringIO()
            for key, row in zip(keys.tolist(), sums.tolist()):
                hi, rest = divmod(key, 6)
                f, la = divmod(rest, 3)
                buf.write(f"{kiosk_id}\t{day_names[hi // 24]}T{hi % 24:02d}\t{FLOWS[f]}\t{LANGS[la]}\t{site_id}\t"
                          + "\t".join(map(str, row)) + "\n")
            with cur.copy(f"COPY insight_hourly (kiosk_id, hour, flow, language, site_id, {cols}) FROM STDIN") as copy:
                copy.write(buf.getvalue())
            # site × day × flow × language, with sessions per hour of the day
            s = k // SITE_SIZE
            np.add.at(daily[s], (g["day"], g["flow"], g["lang"]),
                      np.concatenate([metrics, np.eye(24, dtype=np.int64)[g["hour"]]], axis=1))
            total += n
            if k % 50 == 49:
                conn.commit()
                print(f"# loaded {k + 1} kiosks, {total} sessions", file=sys.stderr, flush=True)
        buf = io.StringIO()
        for s, d, f, la in zip(*np.nonzero(daily[..., 0])):
            buf.write(f"{day_names[d]}\tsite-{s:03d}\t{FLOWS[f]}\t{LANGS[la]}\t"
                      + "\t".join(map(str, daily[s, d, f, la].tolist())) + "\n")
        fleet = daily.sum(axis=0)  # the whole fleet's rows (site "*"), as server.insight writes them
        for d, f, la in zip(*np.nonzero(fleet[..., 0])):
            buf.write(f"{day_names[d]}\t{FLEET}\t{FLOWS[f]}\t{LANGS[la]}\t"
                      + "\t".join(map(str, fleet[d, f, la].tolist())) + "\n")
        with cur.copy(f"COPY insight_daily (day, site_id, flow, language, {cols}, {', '.join(HOUR_METRICS)}) "
                      "FROM STDIN") as copy:
            copy.write(buf.getvalue())
        cur.execute("INSERT INTO kiosks (id, name, token_hash, enrolled_at) SELECT 'kiosk-' || lpad(i::text, 4, '0'), "
                    "'', md5(i::text) || md5('x' || i::text), '2026-01-01T00:00:00.000000Z' "
                    "FROM generate_series(0, %s) i", (kiosks - 1,))
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
    return total


def timed_get(client: httpx.Client, path: str, params: dict) -> float:
    started = time.perf_counter()
    reply = client.get(path, params=params)
    elapsed = (time.perf_counter() - started) * 1000
    if reply.status_code != 200:
        raise SystemExit(f"{path} {params}: {reply.status_code} {reply.text[:300]}")
    return elapsed


PAGES = (("/v1/admin/insight", {"group": "day"}), ("/v1/admin/insight", {"group": "week"}),
         ("/v1/admin/insight", {"group": "month"}), ("/v1/admin/insight.csv", {}),
         ("/v1/admin/insight/sessions", {"limit": 200}))


def dashboard_p95(url: str, kiosks: int, rounds: int = 2) -> tuple[float, dict[str, float]]:
    today = datetime.now(timezone.utc).date()
    ranges = {f"{n}d": {"from": (today - timedelta(days=n)).isoformat(), "to": (today - timedelta(days=1)).isoformat()}
              for n in (7, 30, 90, 365)}
    filters = [{}, {"site": "site-001"}, {"kiosk": f"kiosk-{kiosks // 2:04d}"}, {"flow": "checkin"},
               {"language": "de"}, {"site": "site-002", "flow": "checkout", "language": "en"}]
    times, worst = [], {}
    with httpx.Client(base_url=url, headers=sync.ADMIN_HEADERS, timeout=120) as client:
        for _ in range(rounds):
            for rname, r in ranges.items():
                for f in filters:
                    for page, extra in PAGES:
                        ms = timed_get(client, page, {**r, **f, **extra})
                        times.append(ms)
                        key = f"{page}?{rname}&{'&'.join(f)}"
                        worst[key] = max(worst.get(key, 0), ms)
    times.sort()
    return times[int(0.95 * (len(times) - 1))], worst


def rollup_lag(url: str) -> float:
    """Session records of today posted by a new kiosk; the time from the acknowledgement until the API counts them."""
    from tests.server.insight_data import record, summaries as synthetic
    kiosk_id = f"lag-{uuid.uuid4().hex[:6]}"
    token = sync.enroll(url, kiosk_id)
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = synthetic(seed=1, count=100, first_day=today, days=1)
    body = {"records": [{"seq": i, "uuid": r["uuid"], "record": r}
                        for i, r in ((i, record(kiosk_id, i, s)) for i, s in enumerate(rows, 1))]}
    params = {"from": today.date().isoformat(), "to": today.date().isoformat(), "kiosk": kiosk_id}
    with httpx.Client(base_url=url, timeout=60) as client:
        reply = client.post(f"/v1/kiosks/{kiosk_id}/transactions", json=body,
                            headers={"Authorization": f"Bearer {token}"})
        acknowledged = time.perf_counter()
        assert reply.status_code == 200, reply.text
        while True:
            seen = client.get("/v1/admin/insight", params=params, headers=sync.ADMIN_HEADERS).json()
            if seen["tiles"]["sessions"]["value"] == len(rows):
                return time.perf_counter() - acknowledged
            if time.perf_counter() - acknowledged > 60:
                raise SystemExit("the batch's sessions did not show within 60 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiosks", type=int, default=500)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=float, default=27.4, help="sessions per kiosk and day (mean)")
    parser.add_argument("--pg-workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    parser.add_argument("--ingest-only", action="store_true",
                        help="only the ingest figures, into an empty database (no chain load, no dashboards)")
    parser.add_argument("--ingest-kiosks", type=int, default=20, help="kiosks posting at once")
    parser.add_argument("--ingest-batches", type=int, default=10, help="batches of 100 records per kiosk")
    parser.add_argument("--client-procs", type=int, default=2, help="load-generator processes")
    parser.add_argument("--runs", type=int, default=2, help="ingest runs; the best is reported")
    args = parser.parse_args()
    dsn = os.environ.get("KIOSK_TEST_PG_DSN", "")
    if not dsn:
        print("needs KIOSK_TEST_PG_DSN: eval \"$(bash scripts/ci-postgres.sh)\"", file=sys.stderr)
        return 2
    print(f"load_average_1m={os.getloadavg()[0]:.1f}", flush=True)
    url, drop = new_postgres_database(dsn, "kiosk_insight_bench_")
    try:
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        if args.ingest_only:
            with ServerProcess(Path(os.environ.get("TMPDIR", "/tmp")) / f"insight-bench-{uuid.uuid4().hex[:6]}",
                               database_url=url, admin_token=sync.ADMIN, workers=args.pg_workers) as server:
                ingest_only(server.url, args, (server.proc.pid,), plain)
            return 0
        started = time.perf_counter()
        sessions = load(plain, args.kiosks, args.days, args.per_day)
        print(f"sessions={sessions}", flush=True)
        print(f"load_s={time.perf_counter() - started:.1f}", flush=True)
        with psycopg.connect(plain) as conn:
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
            rows = dict(conn.execute("SELECT relname, n_live_tup FROM pg_stat_user_tables "
                                     "WHERE relname LIKE 'insight%'").fetchall())
        print(f"rollup_rows_hourly={rows.get('insight_hourly')}", flush=True)
        print(f"rollup_rows_daily={rows.get('insight_daily')}", flush=True)
        print(f"db_bytes_per_session={size / sessions:.0f}", flush=True)
        with ServerProcess(Path(os.environ.get("TMPDIR", "/tmp")) / f"insight-bench-{uuid.uuid4().hex[:6]}",
                           database_url=url, admin_token=sync.ADMIN, workers=args.pg_workers) as server:
            p95, worst = dashboard_p95(server.url, args.kiosks)
            print(f"dashboard_query_p95_ms={p95:.0f}", flush=True)
            slowest = max(worst, key=worst.get)
            print(f"dashboard_query_max_ms={worst[slowest]:.0f}  # {slowest}", flush=True)
            print(f"dashboard_query_median_ms={statistics.median(worst.values()):.0f}", flush=True)
            print(f"rollup_lag_s={rollup_lag(server.url):.3f}", flush=True)
            # and the same load without session records, on the same server and machine: what insight costs
            ingest_only(server.url, args, (server.proc.pid,), plain)
        if args.keep:
            print(f"database={url}", flush=True)
    finally:
        if not args.keep:
            drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
