"""A kiosk process for the process-kill tests: pays one sale, and SIGKILLs itself at step N if asked.

    python -m tests.payment.kiosk_child PORT JOURNAL SALE_UUID AMOUNT KILL_AT_STEP(0 = never)
Prints "ready" when about to pay and the result status at the end.
"""
from __future__ import annotations

import os
import signal
import sys

from devices.zvt.driver import Ecr
from devices.zvt.reconcile import PaymentFlow
from devices.zvt.transport import TcpTransport
from tests.payment.helpers import finish_sale, make_journal


def main(argv: list[str]) -> int:
    port, path, sale, amount, kill_at = int(argv[0]), argv[1], argv[2], int(argv[3]), int(argv[4])
    journal = make_journal(path)
    steps = 0

    def trace(step: str) -> None:
        nonlocal steps
        steps += 1
        if steps == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def connect() -> Ecr:
        return Ecr(TcpTransport.connect("127.0.0.1", port), first_answer_timeout=5, step_timeout=5)

    flow = PaymentFlow(journal, connect, finish_sale(journal), trace=trace)
    print("ready", flush=True)
    result = flow.pay(sale, amount)
    print(result.status, steps, flush=True)
    flow.close()
    journal.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
