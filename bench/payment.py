"""Payment benchmark against the ZVT terminal simulator (no PIN delay, no intermediate status texts).

Prints name=value lines:
    payment_roundtrip_ms      06 01 .. 06 0F through the real driver over TCP (median): the protocol
                              overhead the kiosk adds; target <= 20 ms
    payment_roundtrip_p95_ms
    payment_with_status_and_receipt_ms  with 2 intermediate status texts and a 6-line receipt (median)
    payment_flow_ms           the same through PaymentFlow with the durable journal (intent, facts, sale)
    payment_serial_roundtrip_ms  over a pty with DLE/CRC framing and ACKs (no baud-rate limit on a pty)
    recovery_ms               a restarted kiosk (new flow, journal reopened) finds an in-doubt payment the
                              terminal charged and finishes the sale (median); target <= 1000 ms
Usage: python bench/payment.py [--runs N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devices.zvt.driver import Ecr  # noqa: E402
from devices.zvt.reconcile import PaymentFlow  # noqa: E402
from devices.zvt.sim import SimConfig, TerminalSimulator  # noqa: E402
from devices.zvt.transport import SerialTransport, TcpTransport  # noqa: E402
from kiosk.journal import Journal  # noqa: E402


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def timed(fn, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    sim = TerminalSimulator(SimConfig(status_texts=(), receipt=False)).start_tcp()
    pty_sim = TerminalSimulator(SimConfig(status_texts=(), receipt=False)).start_pty()
    tmp = tempfile.TemporaryDirectory()
    try:
        ecr = Ecr(TcpTransport.connect("127.0.0.1", sim.port))
        ecr.register()  # as the kiosk does on start (the terminal refuses payments before)
        ecr.pay(1)  # warm up
        tcp = timed(lambda: ecr.pay(1234), args.runs)
        ecr.transport.close()
        sim.config.status_texts, sim.config.receipt = (0x0A, 0x17), True
        ecr = Ecr(TcpTransport.connect("127.0.0.1", sim.port))
        full = timed(lambda: ecr.pay(1234), max(20, args.runs // 5))
        ecr.transport.close()
        sim.config.status_texts, sim.config.receipt = (), False

        serial_ecr = Ecr(SerialTransport.open(pty_sim.path))
        serial_ecr.register()
        serial = timed(lambda: serial_ecr.pay(1234), max(20, args.runs // 5))
        serial_ecr.transport.close()

        path = Path(tmp.name) / "journal.sqlite"
        journal = Journal(path, "bench").start()

        def connect() -> Ecr:
            return Ecr(TcpTransport.connect("127.0.0.1", sim.port))

        def finish(sale, intent, facts, lines):
            journal.complete_sale(sale, intent, facts)

        flow = PaymentFlow(journal, connect, finish)
        flow_ms = timed(lambda: flow.pay(str(uuid.uuid4()), 1234), max(20, args.runs // 5))
        flow.close()

        recovery = []
        for _ in range(20):
            crashed = PaymentFlow(journal, connect, finish, trace=_crash_on_status_info)
            try:
                crashed.pay(str(uuid.uuid4()), 777)  # the terminal charges, the kiosk dies before it hears
            except Crash:
                pass
            crashed.close()
            journal.close()
            t = time.perf_counter()  # the restart: journal opened, new flow, recover
            journal = Journal(path, "bench").start()
            restarted = PaymentFlow(journal, connect, finish)
            restarted.recover()
            recovery.append((time.perf_counter() - t) * 1000)
            restarted.close()
            assert not journal.payments_in_doubt() and journal.payments(1)[0]["status"] == "approved"
        journal.close()
        print(f"payment_roundtrip_ms={statistics.median(tcp):.2f}")
        print(f"payment_roundtrip_p95_ms={percentile(tcp, 95):.2f}")
        print(f"payment_with_status_and_receipt_ms={statistics.median(full):.2f}")
        print(f"payment_flow_ms={statistics.median(flow_ms):.2f}")
        print(f"payment_serial_roundtrip_ms={statistics.median(serial):.2f}")
        print(f"recovery_ms={statistics.median(recovery):.2f}")
        print(f"recovery_max_ms={max(recovery):.2f}")
    finally:
        sim.stop()
        pty_sim.stop()
        tmp.cleanup()


class Crash(BaseException):
    pass


def _crash_on_status_info(step: str) -> None:
    if step == "recv 04 0F":
        raise Crash(step)


if __name__ == "__main__":
    main()
