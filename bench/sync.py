"""Sync benchmark against a real `kiosk-server` process on loopback. Prints name=value lines.

  backlog_10k_drain_s        10,000 queued journal transactions sent by the sync client (target <= 10 s)
  ingest_tx_per_s_sqlite     batched ingest from many kiosks at once, SQLite server (target >= 3,000)
  ingest_tx_per_s_postgres   the same on PostgreSQL; needs KIOSK_TEST_PG_DSN (scripts/ci-postgres.sh)
  catalog_delta_apply_ms     apply a 1,000-item catalog delta in one local transaction (target <= 200 ms)
  catalog_delta_pull_ms      the whole pull of that delta: request, validation and the transaction

Usage: python bench/sync.py [--kiosks 20] [--batches 10] [--batch-size 100] [--runs 3] [--sqlite-workers 1] [--pg-workers 2]
Prints load_average_1m= as well: other work on the machine lowers the rates.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.catalog import Catalog, ItemValidator  # noqa: E402
from kiosk.journal import Journal  # noqa: E402
from kiosk.sync import SyncClient  # noqa: E402
from server.process import ServerProcess  # noqa: E402
from tests.server.kserver_harness import new_postgres_database  # noqa: E402

ADMIN = "bench-admin-" + uuid.uuid4().hex
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN}"}


def enroll(url: str, kiosk_id: str) -> str:
    reply = httpx.post(f"{url}/v1/admin/kiosks", json={"kiosk_id": kiosk_id}, headers=ADMIN_HEADERS, timeout=30)
    reply.raise_for_status()
    return reply.json()["token"]


def backlog_drain(url: str, work: Path) -> float:
    """The kiosk's journal lives on tmpfs when there is one, only to fill the backlog quickly; the drain
    (send, server commit, acknowledge) is what is timed."""
    token = enroll(url, "bench-backlog")
    fill_dir = Path("/dev/shm") if Path("/dev/shm").is_dir() else work
    path = Path(tempfile.mkdtemp(dir=fill_dir)) / "journal.db"
    with Journal(path, "bench-backlog") as journal:
        for n in range(10_000):
            journal.record_event("bench", {"n": n})
        client = SyncClient(journal, server_url=url, token=token, kiosk_id="bench-backlog", batch_size=500)
        try:
            started = time.perf_counter()
            while client.push_once():
                pass
            elapsed = time.perf_counter() - started
            assert journal.outbox_stats()[0] == 0
        finally:
            client.close()
    return elapsed


def record(kiosk_id: str, seq: int) -> dict:
    total = 100 + seq % 900
    return {"schema_version": 1, "uuid": str(uuid.uuid4()), "kiosk_id": kiosk_id, "seq": seq, "boot_id": "bench",
            "device_time": "2026-11-23T12:00:00+01:00",
            "body": {"kind": "sale", "currency": "EUR", "total": total, "receipt_token": uuid.uuid4().hex,
                     "lines": [{"line_no": 1, "item_id": "04006381333931", "name": "Milk", "quantity": 1,
                                "unit_price": total, "total": total, "vat_code": "B", "vat_rate": 700}],
                     "vat": [{"code": "B", "rate": 700, "gross": total, "net": total * 100 // 107,
                              "vat": total - total * 100 // 107}],
                     "payments": [{"method": "card", "amount": total, "status": "approved", "brand": "VISA",
                                   "masked_pan": "************1234", "auth_code": "123456"}]}}


def ingest_rate(url: str, kiosks: int, batches: int, batch_size: int) -> float:
    """Each kiosk thread posts its pre-encoded batches in order over a keep-alive connection."""
    work = []
    for k in range(kiosks):
        kiosk_id = f"bench-{uuid.uuid4().hex[:8]}"
        token = enroll(url, kiosk_id)
        bodies = []
        for b in range(batches):
            recs = [record(kiosk_id, b * batch_size + i + 1) for i in range(batch_size)]
            bodies.append(json.dumps({"records": [{"seq": r["seq"], "uuid": r["uuid"], "record": r}
                                                  for r in recs]}).encode())
        work.append((kiosk_id, token, bodies))
    errors: list[str] = []

    def post_all(kiosk_id: str, token: str, bodies: list[bytes]) -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
            for body in bodies:
                reply = client.post(f"/v1/kiosks/{kiosk_id}/transactions", content=body)
                if reply.status_code != 200 or reply.json()["accepted"] != batch_size:
                    errors.append(reply.text[:200])

    threads = [threading.Thread(target=post_all, args=item) for item in work]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} batches failed, e.g. {errors[0]}")
    return kiosks * batches * batch_size / elapsed


def catalog_delta_ms(url: str, work: Path) -> float:
    token = enroll(url, "bench-catalog")
    items = [{"plu": str(n), "names": {"en": f"item {n}", "de": f"Artikel {n}"}, "price": "1.00", "vat": "A"}
             for n in range(1, 2001)]
    httpx.put(f"{url}/v1/admin/catalog", json=items, headers=ADMIN_HEADERS, timeout=60).raise_for_status()
    validator = ItemValidator(["A", "B", "C"], "EUR", ["en", "de", "nl"])
    journal = Journal(work / "catalog-journal.db", "bench-catalog").start()
    applying = []

    def open_catalog() -> Catalog:
        catalog = Catalog(work / "catalog.db")
        apply = catalog.apply_changes

        def timed(*args):
            started = time.perf_counter()
            apply(*args)
            applying.append(time.perf_counter() - started)
        catalog.apply_changes = timed
        return catalog
    client = SyncClient(journal, server_url=url, token=token, kiosk_id="bench-catalog",
                        catalog=open_catalog, item_validator=validator)
    try:
        client.pull_once()  # the initial snapshot
        changed = [dict(item, price="1.10") if n < 1000 else item for n, item in enumerate(items)]
        httpx.put(f"{url}/v1/admin/catalog", json=changed, headers=ADMIN_HEADERS, timeout=60).raise_for_status()
        started = time.perf_counter()
        client.pull_once()  # the 1,000-item delta: GET, validate, apply in one local transaction
        elapsed = time.perf_counter() - started
        assert client.status().catalog_version is not None and len(applying) == 2
    finally:
        client.close()
        journal.close()
    return applying[-1] * 1000, elapsed * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiosks", type=int, default=20)
    parser.add_argument("--batches", type=int, default=10, help="per kiosk and run")
    parser.add_argument("--runs", type=int, default=3, help="ingest runs; the best is reported (other load is noise)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--sqlite-workers", type=int, default=1, help="server processes on SQLite (group commit: 1)")
    parser.add_argument("--pg-workers", type=int, default=2, help="server processes on PostgreSQL")
    args = parser.parse_args()
    print(f"load_average_1m={os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with ServerProcess(work / "sqlite", admin_token=ADMIN, workers=args.sqlite_workers) as server:
            print(f"backlog_10k_drain_s={backlog_drain(server.url, work):.2f}", flush=True)
            rate = max(ingest_rate(server.url, args.kiosks, args.batches, args.batch_size) for _ in range(args.runs))
            print(f"ingest_tx_per_s_sqlite={rate:.0f}", flush=True)
            apply_ms, pull_ms = catalog_delta_ms(server.url, work)
            print(f"catalog_delta_apply_ms={apply_ms:.1f}", flush=True)  # the local transaction
            print(f"catalog_delta_pull_ms={pull_ms:.1f}", flush=True)  # request + validation + transaction
        dsn = os.environ.get("KIOSK_TEST_PG_DSN", "")
        if not dsn:
            print("ingest_tx_per_s_postgres=skipped", flush=True)
            print("(set KIOSK_TEST_PG_DSN, e.g. eval \"$(bash scripts/ci-postgres.sh)\", to measure PostgreSQL)",
                  file=sys.stderr)
            return 0
        url, drop = new_postgres_database(dsn, "kiosk_bench_")
        try:
            with ServerProcess(work / "pg", database_url=url, admin_token=ADMIN, workers=args.pg_workers) as server:
                rate = max(ingest_rate(server.url, args.kiosks, args.batches, args.batch_size)
                           for _ in range(args.runs))
                print(f"ingest_tx_per_s_postgres={rate:.0f}", flush=True)
        finally:
            drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
