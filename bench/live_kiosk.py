"""The kiosk's side of the live channel (kiosk/live.py) against a real `kiosk-server serve` process on loopback.

Prints name=value lines:
    live_state_to_station_p50_ms / _p99_ms   a new state handed to LiveClient.publish (the UI thread's call)
                                             until the attendant station's GET /v1/admin/live shows it
                                             (polled every 2 ms; changes spaced beyond the debounce)
    live_command_to_kiosk_p50_ms / _p99_ms   an attendant's POST /v1/admin/kiosks/{id}/commands until the
                                             command is an event on the kiosk's EventQueue
    live_command_roundtrip_p50_ms / _p99_ms  the same POST until it returns with the kiosk's answer (the kiosk
                                             answers as soon as the event arrives)
    live_publish_us                          the UI thread's cost of one publish (mean)
Usage: python bench/live_kiosk.py [--runs N]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.events import EventQueue, Kind  # noqa: E402
from kiosk.live import LiveClient  # noqa: E402
from server.process import ServerProcess  # noqa: E402

ADMIN_TOKEN = "bench-admin-" + uuid.uuid4().hex


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def view(n: int) -> dict:
    return {"session_id": "s1", "flow": "checkout", "phase": "shopping", "screen": "checkout", "language": "en",
            "lines": [{"name": "Milk", "quantity": n, "amount_minor": 119 * n}], "item_count": n,
            "total_minor": 119 * n, "currency": "EUR", "age_check_pending": False, "help_called": False,
            "help_acknowledged_by": None, "payment_in_doubt": False, "out_of_service": None}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ServerProcess(Path(tmp) / "server", admin_token=ADMIN_TOKEN) as srv:
        admin = httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)
        reply = admin.post("/v1/admin/kiosks", json={"kiosk_id": "bench-kiosk"})
        reply.raise_for_status()
        events = EventQueue()
        client = LiveClient(server_url=srv.url, token=reply.json()["token"], events=events, debounce_s=0.05).start()
        try:
            run(args.runs, admin, client, events)
        finally:
            client.stop()


def lane(admin: httpx.Client) -> dict | None:
    return next((x for x in admin.get("/v1/admin/live").json()["lanes"] if x["kiosk_id"] == "bench-kiosk"), None)


def run(runs: int, admin: httpx.Client, client: LiveClient, events: EventQueue) -> None:
    client.publish(view(0))
    deadline = time.monotonic() + 30
    while not ((x := lane(admin)) and x["connected"] and x["state"]):
        if time.monotonic() > deadline:
            raise SystemExit("the kiosk never showed up on the station")
        time.sleep(0.05)

    state_ms, publish_us = [], []
    for n in range(1, runs + 1):
        time.sleep(0.08)  # beyond the debounce: each change goes at once
        started = time.perf_counter()
        client.publish(view(n))
        publish_us.append((time.perf_counter() - started) * 1e6)
        while (lane(admin) or {}).get("state", {}).get("item_count") != n:
            time.sleep(0.002)
        state_ms.append((time.perf_counter() - started) * 1000)

    to_kiosk, roundtrip = [], []

    def kiosk_answers() -> None:
        while True:
            event = events.get(timeout=30)
            if event is None or event.kind != Kind.COMMAND:
                return
            arrived.append(time.perf_counter())
            client.answer(event.payload.id, "done", "bench")
    for _ in range(runs):
        arrived: list[float] = []
        kiosk = threading.Thread(target=kiosk_answers, daemon=True)
        kiosk.start()
        started = time.perf_counter()
        reply = admin.post("/v1/admin/kiosks/bench-kiosk/commands", json={"kind": "sync_now", "by": "bench"})
        done = time.perf_counter()
        assert reply.json()["outcome"] == "done", reply.text
        to_kiosk.append((arrived[0] - started) * 1000)
        roundtrip.append((done - started) * 1000)
        events.post("bench", "stop")
        kiosk.join(10)

    for name, samples in (("live_state_to_station", state_ms), ("live_command_to_kiosk", to_kiosk),
                          ("live_command_roundtrip", roundtrip)):
        print(f"{name}_p50_ms={percentile(samples, 50):.1f}")
        print(f"{name}_p99_ms={percentile(samples, 99):.1f}")
    print(f"live_publish_us={sum(publish_us) / len(publish_us):.1f}")


if __name__ == "__main__":
    main()
