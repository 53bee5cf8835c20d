"""Kills a process that completes sales in a loop at random moments, then checks the journal.

Run as `python -m tests.core.crash_harness DB KILLS SEED`; prints name=value lines. A child is
forked for each run (cheap, so hundreds of kills take seconds) and SIGKILLed at a random moment:
during start-up and recovery, between payment intent and sale, or inside a commit. Each child
first does what the kiosk does at start: it finishes every payment left in doubt. At the end the
journal must hold every acknowledged sale exactly once, gap-free sequence numbers, no payment
left in doubt, and pass PRAGMA integrity_check.

SIGKILL proves application-crash safety; the OS still flushes its buffers, so it is not a power cut.
"""
from __future__ import annotations

import os
import random
import select
import signal
import sys
import time
import uuid

from kiosk.journal import Journal

LINE = {"line_no": 1, "item_id": "04006381333931", "name": "Milk", "quantity": 1, "unit_price": 119,
        "total": 119, "vat_code": "B", "vat_rate": 700}


def draft(lines: int) -> dict:
    return {"lines": [dict(LINE, line_no=n) for n in range(1, lines + 1)],
            "vat": [{"code": "B", "rate": 700, "gross": 119 * lines, "net": 119 * lines - 8 * lines, "vat": 8 * lines}],
            "receipt_token": uuid.uuid4().hex}


def recover(journal: Journal, say) -> None:
    """Start-up: the (simulated) terminal approved every payment in doubt, so finish those sales."""
    for payment in journal.payments_in_doubt():
        done = journal.complete_sale(payment["sale_uuid"], payment["intent_id"], {"auth_code": "REC"})
        say(f"ACK {done.uuid} {done.seq}")


def child(db: str, out_fd: int) -> None:
    def say(text: str) -> None:
        os.write(out_fd, (text + "\n").encode())
    journal = Journal(db, "kiosk-crash").start()
    recover(journal, say)
    say("READY")
    while True:
        sale = str(uuid.uuid4())
        intent = journal.record_payment_intent(sale, 119 * 10, "EUR", draft(10))
        done = journal.complete_sale(sale, intent, {"brand": "TEST", "auth_code": "A1"})
        say(f"ACK {done.uuid} {done.seq}")


def run(db: str, kills: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    acked: dict[str, int] = {}
    for _ in range(kills):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            try:
                child(db, write_fd)
            finally:
                os._exit(1)
        os.close(write_fd)
        ready = rng.random() < 0.8  # most kills land in the sale loop, some during start-up/recovery
        deadline = None if ready else time.monotonic() + rng.uniform(0, 0.3)
        buffer = b""
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            if deadline is not None and timeout == 0:
                break
            readable, _, _ = select.select([read_fd], [], [], timeout)
            if not readable:
                break
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            buffer += chunk
            if deadline is None and b"READY\n" in buffer:
                deadline = time.monotonic() + rng.uniform(0, 0.05)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        buffer += _drain(read_fd)
        os.close(read_fd)
        for line in buffer.decode().splitlines():  # only complete lines: a torn write is no acknowledgement
            if line.startswith("ACK "):
                _, tx_uuid, seq = line.split()
                acked[tx_uuid] = int(seq)
    return check(db, acked, kills)


def _drain(fd: int) -> bytes:
    data = b""
    while select.select([fd], [], [], 0)[0] and (chunk := os.read(fd, 65536)):
        data += chunk
    return data


def check(db: str, acked: dict[str, int], kills: int) -> dict[str, int]:
    with Journal(db, "kiosk-crash") as journal:
        recover(journal, lambda text: None)
        rows = journal._read("SELECT uuid, seq FROM transactions ORDER BY seq")
        intents = journal._read("SELECT sale_uuid, status, tx_seq FROM payments")
        stored = {tx_uuid: seq for tx_uuid, seq in rows}
        seqs = [seq for _, seq in rows]
        return {
            "crash_kills": kills,
            "crash_acknowledged": len(acked),
            "crash_stored": len(rows),
            "crash_lost": sum(1 for tx_uuid in acked if tx_uuid not in stored),
            "crash_seq_mismatch": sum(1 for tx_uuid, seq in acked.items() if stored.get(tx_uuid) not in (None, seq)),
            "crash_duplicated": len(rows) - len(stored) + (len(intents) - len({s for s, _, _ in intents})),
            "crash_seq_gaps": 0 if seqs == list(range(1, len(seqs) + 1)) else 1,
            "crash_in_doubt": len(journal.payments_in_doubt()),
            "crash_unpaid_sales": sum(1 for s in stored if s not in {sale for sale, st, _ in intents if st == "approved"}),
            "crash_integrity_ok": int(journal.integrity_check() == "ok"),
        }


if __name__ == "__main__":
    db_path, kill_count, seed_value = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for name, value in run(db_path, kill_count, seed_value).items():
        print(f"{name}={value}")
