"""Device-layer latency benchmark.

scanner_to_event: the scanner simulator writes a code to a pty; the real serial driver reads, frames and
classifies it and posts the event; measured from just before the write to the event's timestamp.
receipt_build: a 30-line receipt to ESC/POS bytes (devices.receipt.ReceiptBuilder).
replug_to_idle: unplug a simulated scanner/printer, wait, replug; time until the driver is idle again.
Prints name=value lines. Targets: scanner_to_event_p99_ms <= 5, receipt_build_ms <= 5, replug < 2000 ms.
Usage: python bench/devices.py [--scans 1000] [--builds 300] [--replugs 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devices.base import IDLE, wait_until  # noqa: E402
from devices.receipt import ReceiptBuilder  # noqa: E402
from devices.scanner import SerialScanner  # noqa: E402
from devices.sim.samples import sample_receipt  # noqa: E402
from devices.sim.scanner import ScannerSimulator  # noqa: E402
from kiosk.config import ScannerSettings  # noqa: E402
from kiosk.events import EventQueue  # noqa: E402


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def scanner_latencies(transport: str, scans: int) -> list[float]:
    sim = ScannerSimulator(transport=transport).start()
    events = EventQueue()
    scanner = SerialScanner("scanner", events, ScannerSettings(driver="serial", url=sim.url))
    scanner.open()
    try:
        if not (wait_until(lambda: scanner.state == IDLE, 10) and sim.link.connected.wait(10)):
            raise SystemExit(f"scanner did not connect: {scanner.last_error}")
        events.drain()
        codes = ["4006381333931", "]C1010703206980498815210526100329"[3:], "BK-7Q2X9K", "96385074"]
        latencies = []
        for i in range(scans):
            frame = sim.frame(codes[i % len(codes)])
            sent = time.monotonic()
            sim.send_raw(frame)
            event = events.wait_for(lambda e: e.kind == "data", 5)
            if event is None:
                raise SystemExit("a scan was lost")
            latencies.append((event.at - sent) * 1000)
        return latencies
    finally:
        scanner.close()
        sim.stop()


def replug_times(rounds: int) -> dict[str, float]:
    """Worst time from replug to the device being idle again, per device and transport (target: < 2 s)."""
    from devices.printer import ReceiptPrinter
    from devices.sim.printer import PrinterSimulator
    from kiosk.config import PrinterSettings

    worst: dict[str, float] = {}
    rigs = []
    for transport in ("pty", "tcp"):
        sim = ScannerSimulator(transport=transport).start()
        rigs.append((f"scanner_{transport}", sim, SerialScanner("scanner", EventQueue(),
                                                                ScannerSettings(driver="serial", url=sim.url))))
        psim = PrinterSimulator(transport=transport).start()
        settings = PrinterSettings(driver="network", port=psim.port) if transport == "tcp" else \
            PrinterSettings(driver="serial", url=psim.url)
        rigs.append((f"printer_{transport}", psim, ReceiptPrinter("printer", EventQueue(), settings)))
    for name, sim, device in rigs:
        device.open()
        try:
            wait_until(lambda d=device: d.state == IDLE, 10)
            for _ in range(rounds):
                sim.unplug()
                if not wait_until(lambda d=device: d.state == "offline", 10):
                    raise SystemExit(f"{name}: unplug not noticed")
                time.sleep(0.3)  # unplugged for a moment, so the backoff has grown
                start = time.monotonic()
                sim.replug()
                if not wait_until(lambda d=device: d.state == IDLE, 10, interval=0.001):
                    raise SystemExit(f"{name}: not back after replug: {device.last_error}")
                worst[name] = max(worst.get(name, 0.0), time.monotonic() - start)
        finally:
            device.close()
            sim.stop()
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scans", type=int, default=1000)
    ap.add_argument("--builds", type=int, default=300)
    ap.add_argument("--replugs", type=int, default=5)
    args = ap.parse_args()
    for transport, suffix in (("pty", ""), ("tcp", "_tcp")):
        latencies = scanner_latencies(transport, args.scans)
        print(f"scanner_to_event_p50_ms{suffix}={percentile(latencies, 50):.3f}")
        print(f"scanner_to_event_p99_ms{suffix}={percentile(latencies, 99):.3f}")
    builder, receipt = ReceiptBuilder(), sample_receipt(30)
    builder.build(receipt)  # warm-up: code page and profile lookups are cached
    timings = []
    for _ in range(args.builds):
        start = time.perf_counter()
        builder.build(receipt)
        timings.append((time.perf_counter() - start) * 1000)
    print(f"receipt_build_ms={statistics.median(timings):.3f}")
    print(f"receipt_build_p99_ms={percentile(timings, 99):.3f}")
    print(f"receipt_bytes={len(builder.build(receipt))}")
    for name, seconds in replug_times(args.replugs).items():
        print(f"replug_to_idle_max_ms_{name}={seconds * 1000:.0f}")


if __name__ == "__main__":
    main()
