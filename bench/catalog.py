"""Catalog benchmark: import a generated 1,000,000-item CSV, then time GTIN lookups and name searches.

Prints name=value lines. Targets (2-core machine): import <= 20 s, lookup p99 <= 0.2 ms, search p99 <= 20 ms.
Usage: python bench/catalog.py [--items N]
"""
from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.catalog import Catalog, ItemValidator, import_file  # noqa: E402
from kiosk.gtin import check_digit  # noqa: E402

WORDS_EN = ("milk bread cheese apple banana orange juice coffee tea water chocolate butter yogurt rice pasta "
            "tomato potato onion carrot lemon sugar flour salt pepper honey jam cereal biscuit cake soap").split()
WORDS_DE = ("milch brot käse apfel banane orange saft kaffee tee wasser schokolade butter joghurt reis nudeln "
            "tomate kartoffel zwiebel karotte zitrone zucker mehl salz pfeffer honig marmelade müsli keks kuchen seife").split()
ADJ = "fresh organic large small sweet dark light extra classic premium family mini".split()


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def generate(path: Path, count: int, rng: random.Random) -> list[str]:
    codes = []
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["gtin", "plu", "name_en", "name_de", "name_nl", "price", "vat", "min_age", "image"])
        for i in range(count):
            body = f"40{i:010d}"
            code = body + check_digit(body)
            codes.append(code)
            k = rng.randrange(len(WORDS_EN))
            adj = rng.choice(ADJ)
            brand = f"brand{rng.randrange(5000)}"
            w.writerow([code, "", f"{adj} {WORDS_EN[k]} {brand}", f"{WORDS_DE[k]} {brand}", "",
                        f"{rng.randrange(10, 9999) / 100:.2f}", rng.choice("AB"), "", ""])
    return codes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "catalog.csv", Path(tmp) / "catalog.sqlite"
        codes = generate(source, args.items, rng)
        validator = ItemValidator({"A", "B", "C"}, "EUR", ("en", "de", "nl"))
        start = time.perf_counter()
        report = import_file(source, target, validator)
        import_s = time.perf_counter() - start
        assert report.imported == args.items and not report.errors, report.errors[:5]

        catalog = Catalog(target)
        lookups = []
        for code in rng.sample(codes, 20_000):
            t = time.perf_counter()
            found = catalog.lookup_code(code)
            lookups.append((time.perf_counter() - t) * 1000)
            assert found is not None
        queries = [w[:n] for w in WORDS_EN + WORDS_DE for n in (2, 3, 5)] + \
                  [f"{a} {w[:3]}" for a in ADJ for w in WORDS_EN[:10]] + [f"brand{rng.randrange(5000)}" for _ in range(50)]
        searches = []
        for _ in range(3):
            for q in queries:
                t = time.perf_counter()
                hits = catalog.search(q)
                searches.append((time.perf_counter() - t) * 1000)
                assert hits, q
        print(f"catalog_items={args.items}")
        print(f"catalog_import_1m_s={import_s * 1_000_000 / args.items:.2f}")
        print(f"gtin_lookup_p50_ms={percentile(lookups, 50):.4f}")
        print(f"gtin_lookup_p99_ms={percentile(lookups, 99):.4f}")
        print(f"name_search_p50_ms={percentile(searches, 50):.3f}")
        print(f"name_search_p99_ms={percentile(searches, 99):.3f}")


if __name__ == "__main__":
    main()
