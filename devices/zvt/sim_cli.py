"""`python -m devices.sim payment`: play a ZVT terminal until Ctrl-C."""
from __future__ import annotations

import argparse
import time

from devices.zvt.results import SUCCESS
from devices.zvt.sim import STEPS, Fault, SimConfig, TerminalSimulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devices.sim payment",
                                     description="Play a ZVT card terminal over TCP or a pty until Ctrl-C.")
    parser.add_argument("link", choices=("tcp", "pty"), nargs="?", default="tcp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=20007)
    parser.add_argument("--password", default="000000")
    parser.add_argument("--decline", metavar="CODE", help="decline payments with this hex result code, e.g. 05")
    parser.add_argument("--pin-delay", type=float, default=2.0, help="seconds of PIN entry (default 2)")
    parser.add_argument("--busy-after", type=float, default=4.0, help="busy seconds after a payment (default 4)")
    parser.add_argument("--end-of-day-required", action="store_true")
    parser.add_argument("--fault", action="append", default=[], metavar="KIND@STEP",
                        help="inject a fault into the next payment, e.g. drop@authorised, silent@acked, "
                             f"corrupt@status, nak@received; steps: {', '.join(STEPS)}")
    args = parser.parse_args(argv)
    config = SimConfig(password=args.password, pin_delay=args.pin_delay, busy_after_payment=args.busy_after,
                       end_of_day_required=args.end_of_day_required,
                       result_code=int(args.decline, 16) if args.decline else SUCCESS)
    sim = TerminalSimulator(config)
    for spec in args.fault:
        kind, _, step = spec.partition("@")
        if kind not in ("drop", "silent", "corrupt", "nak") or step not in STEPS:
            parser.error(f"bad --fault {spec!r}: expected KIND@STEP with KIND drop/silent/corrupt/nak")
        sim.inject(Fault(kind, step))
    if args.link == "tcp":
        sim.start_tcp(args.host, args.port)
        print(f"ZVT terminal simulator on {args.host}:{sim.port} (kiosk: driver = \"zvt-tcp\", port = {sim.port})")
    else:
        sim.start_pty()
        print(f"ZVT terminal simulator on {sim.path} (kiosk: driver = \"zvt-serial\", url = \"{sim.path}\")")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        for e in sim.ledger:
            print(f"ledger: {e.kind} receipt {e.receipt_no} trace {e.trace_no} amount {e.amount}"
                  + (" (reversed)" if e.reversed else ""))
    return 0
