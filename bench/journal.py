"""Journal benchmark: durable commit latency of a 10-line sale, and the crash test's figures.

Prints name=value lines. Targets: sale_commit_p99_ms <= 5, crash_lost = 0, crash_duplicated = 0.
Usage: python bench/journal.py [--sales N] [--kills N]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.journal import Journal  # noqa: E402
from tests.core.crash_harness import draft  # noqa: E402


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sales", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        intents, sales = [], []
        with Journal(Path(tmp) / "journal.sqlite", "bench") as journal:
            for _ in range(args.sales):
                sale = str(uuid.uuid4())
                t0 = time.perf_counter()
                intent = journal.record_payment_intent(sale, 1190, "EUR", draft(10))
                t1 = time.perf_counter()
                journal.complete_sale(sale, intent, {"brand": "VISA", "auth_code": "1"})
                t2 = time.perf_counter()
                intents.append((t1 - t0) * 1000)
                sales.append((t2 - t1) * 1000)
        print(f"payment_intent_p99_ms={percentile(intents, 99):.3f}")
        print(f"sale_commit_p50_ms={percentile(sales, 50):.3f}")
        print(f"sale_commit_p99_ms={percentile(sales, 99):.3f}")
        out = subprocess.run([sys.executable, "-m", "tests.core.crash_harness", str(Path(tmp) / "crash.sqlite"),
                              str(args.kills), "1"], cwd=ROOT, capture_output=True, text=True, check=True)
        print(out.stdout.strip())


if __name__ == "__main__":
    main()
