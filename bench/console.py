"""Live channel fan-out (issue 15) against one real `kiosk-server serve` process on loopback: N simulated kiosks
(default 500) each hold the SSE command stream (GET /v1/live/commands) and post a LiveState once a second
(POST /v1/live/state, spread evenly over the second); one subscriber reads the admin change stream
(GET /v1/admin/live/events, the hub's subscribe()).

    fanout_update_p99_ms   a state's POST sent -> the subscriber read its lane change (p50 and max too)
    server_cpu_pct         the server process's CPU time over the measured window / wall time (100 = one core)
    server_cpu_ms_per_update  the server's CPU time per state posted: what a busy machine changes least
    server_kernel_cpu_pct  of server_cpu_pct, the kernel's share
    server_rss_mib         the server process's resident memory at the end
    server_runqueue_wait_pct  time the server was ready to run but another process had the CPU (a busy machine)
    client_cpu_pct         this (load generator) process's CPU: when it nears 100 the client, not the server,
                           is the limit and the latencies say little (client_cpu_ms_per_update: per state)

All kiosks run in this one asyncio process: the command streams on httpx.AsyncClient, the states on a minimal
keep-alive HTTP/1.1 client (bench/raw_http.py; httpx's CPU per POST made this process the bottleneck). Then, on
a fresh server with one simulated kiosk and the attendant console open in Debian's chromium (Playwright),
--rounds times:

    help_to_console_p99_ms   the kiosk posts help_called -> the tile on the open board says "Needs help"
                             (console_state_post_p50_ms: of that, the kiosk's POST until the server committed it)
    approve_to_kiosk_stream_p99_ms  click "Approve age" in the browser -> approve_age arrives on the simulated
                             kiosk's command stream (the server's and the browser's part of the figure below)

and last, --real-rounds times, against the REAL kiosk launched as the e2e tests launch it (bench/console_kiosk.py):

    approve_to_kiosk_p99_ms  click "Approve age" in the browser -> the kiosk's own screen left the age check

    .venv/bin/python bench/console.py [--kiosks 500] [--seconds 30] [--backend sqlite|postgres] [--rounds 30]
                                      [--real-rounds 10]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests" / "server"), str(ROOT / "tests" / "console")]

from kserver_harness import ADMIN_TOKEN, new_postgres_database  # noqa: E402
from raw_http import RawPoster  # noqa: E402
from server.process import ServerProcess  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int, user: bool = True, system: bool = True) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) * user + int(fields[12]) * system) / TICKS  # utime + stime


def runqueue_wait_s(pid: int) -> float:
    """Time the server's threads were ready to run but waited for a CPU (other processes had it)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return total / 1e9


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def live_state(seq: int, items: int) -> dict:
    lines = [{"name": f"Item {n}", "quantity": 1, "amount_minor": 199 + n} for n in range(items)]
    return {"boot_id": "bench", "seq": seq, "session_id": "s-bench", "flow": "checkout", "phase": "shopping",
            "screen": "cart", "lines": lines, "item_count": items, "total_minor": sum(l["amount_minor"] for l in lines),
            "devices": {"printer": "ok", "scanner": "ok", "payment": "ok"}, "outbox_depth": 0,
            "sent_at": datetime.now(timezone.utc).isoformat()}


class Bench:
    def __init__(self, url: str, kiosks: list[tuple[str, str]], seconds: float):
        self.url, self.kiosks, self.seconds = url, kiosks, seconds
        self.sent: dict[str, float] = {}  # kiosk -> when its newest state's POST was sent, until its change is read
        self.latencies: list[float] = []
        self.post_latencies: list[float] = []
        self.lags: list[float] = []
        self.measuring = False
        self.errors = 0
        self.error_kinds: dict[str, int] = {}
        self.streams_open = 0

    async def hold_stream(self, client: httpx.AsyncClient, token: str) -> None:
        async with client.stream("GET", f"{self.url}/v1/live/commands",
                                 headers={"Authorization": f"Bearer {token}"}) as response:
            if response.status_code != 200:
                self.error(f"stream_http_{response.status_code}")
                return
            self.streams_open += 1
            async for _line in response.aiter_lines():
                pass

    async def kiosk(self, kiosk_id: str, token: str, offset: float, start: float, stop: float) -> None:
        poster = RawPoster(self.url, "/v1/live/state", {"Authorization": f"Bearer {token}",
                                                        "Content-Type": "application/json"})
        seq, tick = 0, start + offset
        try:
            while tick < stop:
                await asyncio.sleep(max(0.0, tick - time.monotonic()))
                seq += 1
                body = json.dumps(live_state(seq, 1 + seq % 5)).encode()
                self.sent[kiosk_id] = sent = time.monotonic()
                try:
                    status = await asyncio.wait_for(poster.post(body), 30)
                    if self.measuring:
                        self.post_latencies.append(time.monotonic() - sent)
                    if status != 204:
                        self.error(f"http_{status}")
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as exc:
                    self.error(type(exc).__name__)
                    await poster.close()
                tick += 1.0
        finally:
            await poster.close()

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1

    async def lag_monitor(self) -> None:
        """How late this process's event loop wakes up: when it is late, the client (not the server) delays."""
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            if self.measuring:
                self.lags.append(time.monotonic() - before - 0.01)

    async def subscriber(self, ready: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(30, read=None)) as client:
            async with client.stream("GET", f"{self.url}/v1/admin/live/events",
                                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as response:
                ready.set()
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    change = json.loads(line[5:])
                    if change["kind"] != "lane":
                        continue
                    sent = self.sent.pop(change["kiosk_id"], None)
                    if sent is not None and self.measuring:
                        self.latencies.append(time.monotonic() - sent)

    async def run(self, pid: int) -> dict:
        n = len(self.kiosks)
        # one small client per kiosk for its command stream, as each kiosk has its own: one shared pool of 1000
        # connections costs httpx O(connections) per request; the states go by RawPoster (bench/raw_http.py):
        # httpx's CPU per POST made the load generator, not the server, the bottleneck at 500 kiosks
        clients = [httpx.AsyncClient(timeout=httpx.Timeout(30, read=None),
                                     limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))
                   for _ in range(n)]
        ready = asyncio.Event()
        sub = asyncio.create_task(self.subscriber(ready))
        lag = asyncio.create_task(self.lag_monitor())
        await ready.wait()
        holders = []
        for client, (_, token) in zip(clients, self.kiosks):  # ramp up: 50 streams at a time
            holders.append(asyncio.create_task(self.hold_stream(client, token)))
            if len(holders) % 50 == 0:
                await asyncio.sleep(0.2)
        while self.streams_open + self.errors < n:
            await asyncio.sleep(0.1)
        warmup = 5.0
        start = time.monotonic() + 0.5
        stop = start + warmup + self.seconds
        posters = [asyncio.create_task(self.kiosk(kiosk_id, token, i / n, start, stop))
                   for i, (kiosk_id, token) in enumerate(self.kiosks)]
        await asyncio.sleep(start + warmup - time.monotonic())
        self.measuring = True
        progress(f"measuring {self.seconds:g} s (server pid {pid})")
        cpu0, wait0, client0, wall0 = cpu_s(pid), runqueue_wait_s(pid), time.process_time(), time.monotonic()
        sys0 = cpu_s(pid, user=False)
        await asyncio.gather(*posters)
        await asyncio.sleep(1.0)  # the last changes
        self.measuring = False
        wall, server_cpu = time.monotonic() - wall0, cpu_s(pid) - cpu0
        result = {"server_cpu_pct": 100 * server_cpu / wall,
                  "server_kernel_cpu_pct": 100 * (cpu_s(pid, user=False) - sys0) / wall,
                  "server_cpu_ms_per_update": 1000 * server_cpu / max(1, len(self.post_latencies)),
                  "states_posted": len(self.post_latencies), "measured_s": wall,
                  "server_rss_mib": rss_mib(pid),
                  "server_runqueue_wait_pct": 100 * (runqueue_wait_s(pid) - wait0) / wall,
                  "client_cpu_pct": 100 * (time.process_time() - client0) / wall,
                  "client_cpu_ms_per_update": 1000 * (time.process_time() - client0) / max(1, len(self.post_latencies))}
        for task in holders + [sub, lag]:
            task.cancel()
        await asyncio.gather(*holders, sub, lag, return_exceptions=True)
        for client in clients:
            await client.aclose()
        return result


def enroll(url: str, n: int) -> list[tuple[str, str]]:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    async def all_of_them():
        async with httpx.AsyncClient(timeout=60) as client:
            sem = asyncio.Semaphore(20)

            async def one(i: int):
                async with sem:
                    reply = await client.post(f"{url}/v1/admin/kiosks", json={"kiosk_id": f"bench-{i:04d}"},
                                              headers=admin)
                    reply.raise_for_status()
                    return f"bench-{i:04d}", reply.json()["token"]
            return await asyncio.gather(*(one(i) for i in range(n)))
    return asyncio.run(all_of_them())


def browser_latencies(rounds: int) -> None:
    from playwright.sync_api import sync_playwright

    from browser import launch
    from console_harness import SimKiosk, add_site, add_user, console_server, login

    with tempfile.TemporaryDirectory() as tmp:
        srv, close = console_server(Path(tmp))
        try:
            _, headers = srv.enroll("lane-1")
            add_site(srv, "site-a", "lane-1")
            add_user(srv, "anna", sites=("site-a",))
            kiosk = SimKiosk(srv, "lane-1", headers)
            kiosk.post(phase="idle")
            with sync_playwright() as p:
                browser = launch(p)
                ctx, page = login(browser, srv, "anna")
                words = page.locator("#lane-lane-1 .words")
                words.wait_for()
                help_ms, approve_ms, post_ms = [], [], []
                for i in range(rounds):
                    start = time.perf_counter()
                    kiosk.post(help_called=True, phase="help")
                    post_ms.append((time.perf_counter() - start) * 1000)
                    page.wait_for_function("() => document.querySelector('#lane-lane-1 .words').textContent === "
                                           "'Needs help'", polling="raf")
                    help_ms.append((time.perf_counter() - start) * 1000)
                    kiosk.post(help_called=False, phase="age_check", age_check_pending=True, session_id=f"s-{i}")
                    item = page.locator("#queue li[data-kiosk=lane-1]", has_text="Age check")
                    item.locator("input[name=seen_id]").check()
                    start = time.perf_counter()
                    item.locator("[data-action=approve]").click()
                    command = kiosk.next_command("approve_age")
                    approve_ms.append((time.perf_counter() - start) * 1000)
                    kiosk.answer(command)
                    kiosk.post(age_check_pending=False, session_id=None, phase="idle")
                    page.wait_for_function("() => document.querySelector('#lane-lane-1 .words').textContent === 'Idle'")
                ctx.close()
                browser.close()
            kiosk.close()
        finally:
            close()
    print(f"console_rounds={rounds}")
    print(f"console_state_post_p50_ms={statistics.median(post_ms):.1f}")
    print(f"help_to_console_p50_ms={statistics.median(help_ms):.1f}")
    print(f"help_to_console_p99_ms={pct(help_ms, 0.99):.1f}")
    print(f"approve_to_kiosk_stream_p50_ms={statistics.median(approve_ms):.1f}")
    print(f"approve_to_kiosk_stream_p99_ms={pct(approve_ms, 0.99):.1f}")



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kiosks", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=30, help="browser rounds (0: skip the browser part)")
    parser.add_argument("--real-rounds", type=int, default=10,
                        help="approvals on the real kiosk (0: skip launching it)")
    args = parser.parse_args()
    drop = None
    with tempfile.TemporaryDirectory() as tmp:
        url = ""
        if args.backend == "postgres":
            dsn = os.environ.get("KIOSK_TEST_PG_DSN")
            if not dsn:
                sys.exit("--backend postgres needs KIOSK_TEST_PG_DSN (eval \"$(bash scripts/ci-postgres.sh)\")")
            url, drop = new_postgres_database(dsn, "kiosk_bench_")
        proc = ServerProcess(Path(tmp) / "server", database_url=url, admin_token=ADMIN_TOKEN)
        proc.env["KSERVER_FAILURE_BURST"] = "1000000000"
        try:
            proc.start()
            progress(f"enrolling {args.kiosks} kiosks")
            kiosks = enroll(proc.url, args.kiosks)
            progress("opening the command streams")
            random.shuffle(kiosks)
            bench = Bench(proc.url, kiosks, args.seconds)
            result = asyncio.run(bench.run(proc.proc.pid))
            ms = [x * 1000 for x in bench.latencies]
            print(f"backend={args.backend}")
            print(f"kiosks={args.kiosks}")
            print(f"streams_open={bench.streams_open}")
            print(f"updates_measured={len(ms)}")
            print(f"errors={bench.errors}")
            if bench.error_kinds:
                print("error_kinds=" + ",".join(f"{k}:{n}" for k, n in sorted(bench.error_kinds.items())))
            print(f"fanout_update_p50_ms={pct(ms, 0.50):.1f}")
            print(f"fanout_update_p99_ms={pct(ms, 0.99):.1f}")
            print(f"fanout_update_max_ms={max(ms, default=float('nan')):.1f}")
            print(f"client_loop_lag_p99_ms={pct([x * 1000 for x in bench.lags], 0.99):.1f}")
            print(f"state_post_p99_ms={pct([x * 1000 for x in bench.post_latencies], 0.99):.1f}")
            for key, value in result.items():
                print(f"{key}={value:.1f}")
        finally:
            proc.close()
            if drop:
                drop()
    if args.rounds:
        progress(f"browser: {args.rounds} rounds with a simulated kiosk")
        browser_latencies(args.rounds)
    if args.real_rounds:
        from console_kiosk import real_kiosk_latencies
        progress(f"browser: {args.real_rounds} approvals on the real kiosk")
        for key, value in real_kiosk_latencies(args.real_rounds).items():
            print(f"{key}={value:.1f}" if isinstance(value, float) else f"{key}={value}")


if __name__ == "__main__":
    main()
