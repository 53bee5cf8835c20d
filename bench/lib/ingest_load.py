"""The ingest load of bench/insight.py: many kiosks post pre-encoded batches at once from several client processes
(so the load generator is not the limit), with the CPU the clients, the server and its PostgreSQL backends spent.
Not run on its own: bench/insight.py --ingest-only."""
from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
import psycopg

from bench import sync


def session_record(kiosk_id: str, seq: int) -> dict:
    from tests.server.insight_data import record, summaries as synthetic
    return record(kiosk_id, seq, synthetic(seed=seq, count=1, first_day=datetime.now(timezone.utc), days=1)[0])


def _bodies(kiosk_id: str, batches: int, batch_size: int, sessions: bool) -> list[bytes]:
    """Every other record a session summary (`sessions`), else bench/sync.py's sales, pre-encoded."""
    out = []
    for b in range(batches):
        recs = [session_record(kiosk_id, seq) if sessions and seq % 2 else sync.record(kiosk_id, seq)
                for seq in range(b * batch_size + 1, b * batch_size + batch_size + 1)]
        out.append(json.dumps({"records": [{"seq": r["seq"], "uuid": r["uuid"], "record": r} for r in recs]}).encode())
    return out


def _cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of these processes and their children that still run (from /proc)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    seen = set(pids)
    todo = list(pids)
    while todo:
        pid = todo.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        todo += [int(k) for k in kids if int(k) not in seen]
        seen.update(int(k) for k in kids)
    return total


def _postgres_cpu() -> dict[int, float]:
    """CPU seconds of every running PostgreSQL process, by pid."""
    out, tick = {}, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(postgres)" in text:
            fields = text.rsplit(")", 1)[1].split()
            out[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _backends(dsn: str) -> list[int]:
    """The server's PostgreSQL backends: the connections to the bench's database."""
    with psycopg.connect(dsn) as conn:
        return [pid for (pid,) in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                               "AND pid <> pg_backend_pid()")]


def _machine_busy() -> tuple[int, int]:
    cpu = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(cpu) - cpu[3] - cpu[4], sum(cpu)  # (busy, all) jiffies: idle and iowait are not busy


def _client(url: str, work: list[tuple[str, str]], batches: int, batch_size: int, sessions: bool,
            barrier, results) -> None:
    """One load-generator process: a thread per kiosk posts that kiosk's batches in order over keep-alive."""
    bodies = {kiosk_id: _bodies(kiosk_id, batches, batch_size, sessions) for kiosk_id, _ in work}
    errors: list[str] = []

    def post_all(kiosk_id: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
            for body in bodies[kiosk_id]:
                reply = client.post(f"/v1/kiosks/{kiosk_id}/transactions", content=body)
                if reply.status_code != 200 or reply.json()["accepted"] != batch_size:
                    errors.append(reply.text[:200])

    threads = [threading.Thread(target=post_all, args=item) for item in work]
    barrier.wait()
    cpu = sum(os.times()[:2])
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put((time.perf_counter(), sum(os.times()[:2]) - cpu, errors))


def ingest_rate(url: str, kiosks: int, batches: int, batch_size: int, sessions: bool = True, procs: int = 2,
                server_pids: tuple[int, ...] = (), dsn: str = "") -> dict[str, float]:
    """Batched ingest from `kiosks` kiosks at once (as bench/sync.py's), spread over `procs` client processes so
    the load generator is not the limit; with every other record a session summary (`sessions`). Returns the rate
    and the CPU seconds the clients, the server (`server_pids` and children) and the whole machine spent."""
    work = []
    for _ in range(kiosks):
        kiosk_id = f"bench-{uuid.uuid4().hex[:8]}"
        work.append((kiosk_id, sync.enroll(url, kiosk_id)))
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(procs + 1), context.Queue()
    children = [context.Process(target=_client, args=(url, work[p::procs], batches, batch_size, sessions,
                                                      barrier, results)) for p in range(procs)]
    for child in children:
        child.start()
    barrier.wait()
    started, server_cpu, busy, pg_cpu = time.perf_counter(), _cpu_s(list(server_pids)), _machine_busy(), _postgres_cpu()
    done = [results.get() for _ in children]
    server_cpu = _cpu_s(list(server_pids)) - server_cpu
    busy_end, pg_end = _machine_busy(), _postgres_cpu()
    backends = _backends(dsn) if dsn else []
    for child in children:
        child.join()
    errors = [e for *_, errs in done for e in errs]
    if errors:
        raise RuntimeError(f"{len(errors)} batches failed, e.g. {errors[0]}")
    elapsed = max(end for end, *_ in done) - started
    ticks = os.sysconf("SC_CLK_TCK")
    return {"rate": kiosks * batches * batch_size / elapsed, "elapsed_s": elapsed,
            "client_cpu_s": sum(cpu for _, cpu, _ in done), "server_cpu_s": server_cpu,
            "postgres_cpu_s": sum(pg_end.get(pid, 0) - pg_cpu.get(pid, 0) for pid in backends),
            "machine_busy_cpu_s": (busy_end[0] - busy[0]) / ticks}


def ingest_only(url: str, args, server_pids: tuple[int, ...], dsn: str) -> None:
    """The ingest figures; the best of --runs runs (other load on the machine is noise), with its CPU shares."""
    for name, sessions in (("ingest_tx_per_s_postgres", True), ("ingest_tx_per_s_postgres_sales_only", False)):
        runs = [ingest_rate(url, args.ingest_kiosks, args.ingest_batches, 100, sessions, args.client_procs,
                            server_pids, dsn) for _ in range(args.runs)]
        best = max(runs, key=lambda r: r["rate"])
        print(f"{name}={best['rate']:.0f}", flush=True)
        print(f"# {name}: {best['elapsed_s']:.2f} s wall, CPU s: clients {best['client_cpu_s']:.1f}, server "
              f"{best['server_cpu_s']:.1f}, its postgres backends {best['postgres_cpu_s']:.1f}, machine {best['machine_busy_cpu_s']:.1f} of "
              f"{best['elapsed_s'] * os.cpu_count():.1f}; load {os.getloadavg()[0]:.1f}", flush=True)
