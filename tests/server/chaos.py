"""Chaos run: many kiosks with real journals and sync clients push transactions through a faulty proxy
to a server that is SIGKILLed and restarted every few seconds; then one final read counts lost,
duplicated and missing (gap) records. Jepsen's "set" workload, on loopback.

The test suite runs a bounded version (tests/server/test_sync_chaos.py). A bigger one:

    .venv/bin/python tests/server/chaos.py --kiosks 50 --per-kiosk 4000 --backend sqlite
    KIOSK_TEST_PG_DSN=postgresql://... .venv/bin/python tests/server/chaos.py --backend postgres
"""
from __future__ import annotations

import argparse
import random
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kiosk.journal import Journal  # noqa: E402
from kiosk.sync import SyncClient  # noqa: E402


class FaultyProxy:
    """TCP proxy on 127.0.0.1: per connection it passes through, resets at once, or forwards the
    request and resets the client when the response arrives (the server has committed; the kiosk
    never hears so)."""

    def __init__(self, upstream_port: int, fault_rate: float = 0.10, seed: int = 1):
        self.upstream_port, self.fault_rate = upstream_port, fault_rate
        self.rng = random.Random(seed)
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.counts: Counter = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="proxy", daemon=True)

    def start(self) -> "FaultyProxy":
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            roll = self.rng.random()
            fate = "pass" if roll >= self.fault_rate else ("reset" if roll < self.fault_rate / 2 else "drop_reply")
            self.counts[fate] += 1
            threading.Thread(target=self._serve, args=(client, fate), daemon=True).start()

    def _serve(self, client: socket.socket, fate: str) -> None:
        if fate == "reset":
            _reset(client)
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
        except OSError:
            _reset(client)
            return
        up = threading.Thread(target=_pump, args=(client, upstream, None), daemon=True)
        up.start()
        _pump(upstream, client, self._dropped if fate == "drop_reply" else None)
        up.join(30)

    def _dropped(self) -> None:
        self.counts["reply_dropped_after_commit"] += 1


def _pump(source: socket.socket, sink: socket.socket, drop_reply) -> None:
    """Copies bytes until EOF; with `drop_reply`, the first bytes instead reset `sink` (the client)."""
    try:
        while data := source.recv(65536):
            if drop_reply is not None:
                drop_reply()
                _reset(sink)
                break
            sink.sendall(data)
    except OSError:
        pass
    for s in (source, sink):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
    except OSError:
        pass
    sock.close()


@dataclass
class ChaosReport:
    kiosks: int
    sent: int
    held: int = 0
    lost: int = 0
    duplicated: int = 0
    gaps: int = 0
    unexpected: int = 0
    kills: int = 0
    proxy: dict = field(default_factory=dict)
    seconds: float = 0.0


def run_chaos(server, workdir: Path, kiosks: int = 20, per_kiosk: int = 1000, kill_every_s: tuple = (2.0, 4.0),
              fault_rate: float = 0.10, timeout_s: float = 240, seed: int = 7) -> ChaosReport:
    """`server` is a tests/server/conftest.Server. Returns the final read's counts; raises on timeout."""
    started = time.monotonic()
    rng = random.Random(seed)
    proxy = FaultyProxy(server.proc.port, fault_rate, seed).start()
    report = ChaosReport(kiosks=kiosks, sent=kiosks * per_kiosk)
    enrolled = [server.enroll() for _ in range(kiosks)]
    journals = [Journal(workdir / f"kiosk-{n}.db", kiosk_id).start() for n, (kiosk_id, _) in enumerate(enrolled)]
    clients = [SyncClient(journal, server_url=proxy.url, token=auth["Authorization"][7:], kiosk_id=kiosk_id,
                          batch_size=100, interval_s=0.2, timeout_s=5, backoff_base_s=0.05, backoff_cap_s=1.0,
                          heartbeat_every_s=5, rng=random.Random(seed + n),
                          http=httpx.Client(timeout=5, limits=httpx.Limits(max_keepalive_connections=0))).start()
               for n, (journal, (kiosk_id, auth)) in enumerate(zip(journals, enrolled))]
    expected: list[list[str]] = [[] for _ in range(kiosks)]
    stop_killing = threading.Event()

    def killer() -> None:
        while not stop_killing.wait(rng.uniform(*kill_every_s)):
            server.proc.kill()
            report.kills += 1
            server.proc.start()

    def writer(n: int) -> None:
        for i in range(per_kiosk):
            expected[n].append(journals[n].record_event("chaos", {"i": i}).uuid)
            if i % 50 == 49:
                clients[n].wake()
                time.sleep(0.01)
        clients[n].wake()

    kill_thread = threading.Thread(target=killer, daemon=True)
    kill_thread.start()
    writers = [threading.Thread(target=writer, args=(n,)) for n in range(kiosks)]
    try:
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        deadline = started + timeout_s
        while any(j.outbox_stats()[0] for j in journals):
            if time.monotonic() > deadline:
                raise TimeoutError(f"outboxes not drained after {timeout_s} s: "
                                   f"{[j.outbox_stats()[0] for j in journals]}; last errors: "
                                   f"{[c.status().last_error for c in clients][:3]}")
            time.sleep(0.2)
    finally:
        stop_killing.set()
        kill_thread.join(60)
        for c in clients:
            c.close()
        for j in journals:
            j.close()
        proxy.close()
    if server.proc.proc.poll() is not None:
        server.proc.start()

    for n, (kiosk_id, _) in enumerate(enrolled):  # the final read, straight from the server
        held = server.held(kiosk_id)
        seqs = [seq for seq, _ in held]
        uuids = [uuid for _, uuid in held]
        report.held += len(held)
        report.duplicated += len(uuids) - len(set(uuids))
        report.lost += len(set(expected[n]) - set(uuids))
        report.unexpected += len(set(uuids) - set(expected[n]))
        report.gaps += (max(seqs, default=0) - len(set(seqs)))
    report.proxy = dict(proxy.counts)
    report.seconds = round(time.monotonic() - started, 1)
    return report


def main() -> int:
    from kserver_harness import start_server

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiosks", type=int, default=20)
    parser.add_argument("--per-kiosk", type=int, default=1000)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server, close = start_server(args.backend, Path(tmp))
        try:
            report = run_chaos(server, Path(tmp), args.kiosks, args.per_kiosk, timeout_s=args.timeout)
        finally:
            close()
    print(report)
    return 0 if report.lost == report.duplicated == report.gaps == report.unexpected == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
