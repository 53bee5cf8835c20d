"""Two `kiosk-server serve` processes on one PostgreSQL database (as behind a load balancer): a kiosk streams
from process A, an attendant works on process B; NOTIFY kiosk_live carries every change across."""
from __future__ import annotations

import threading
import time

import httpx
import pytest

from kserver_harness import servers_on_one_postgres
from live_client import SseReader, session, state, wait_for

pytestmark = pytest.mark.postgres
ENV = {"KSERVER_FAILURE_BURST": "1000000000", "KSERVER_LIVE_PING_S": "0.5", "KSERVER_LIVE_LEASE_S": "3"}


@pytest.fixture
def two(tmp_path):
    with servers_on_one_postgres(tmp_path, env=ENV) as servers:
        yield servers


def live_lane(srv, kiosk_id: str) -> dict:
    lanes = httpx.get(f"{srv.url}/v1/admin/live", headers=srv.admin, timeout=10).json()["lanes"]
    return next(l for l in lanes if l["kiosk_id"] == kiosk_id)


def test_kiosk_on_a_attendant_on_b(two):
    a, b = two
    kiosk, auth = a.enroll()
    events_b = SseReader(f"{b.url}/v1/admin/live/events", b.admin).wait_open()
    reader = SseReader(f"{a.url}/v1/live/commands", auth).wait_open()
    try:
        wait_for(lambda: live_lane(b, kiosk)["connected"], timeout=1)
        sid = session()
        posted = time.monotonic()
        assert httpx.post(f"{a.url}/v1/live/state", json=state(1, session_id=sid, phase="shopping", help_called=True),
                          headers=auth, timeout=10).status_code == 204
        seen = wait_for(lambda: (l := live_lane(b, kiosk))["status"] == "help" and l, timeout=1)
        assert time.monotonic() - posted < 1 and seen["state"]["session_id"] == sid
        while events_b.next("change", timeout=1)["kiosk_id"] != kiosk:
            pass  # B's subscribers hear A's changes

        [help_call] = [i for i in httpx.get(f"{b.url}/v1/admin/live", headers=b.admin, timeout=10).json()[
            "interventions"] if i["kiosk_id"] == kiosk]
        taken = httpx.post(f"{b.url}/v1/admin/interventions/{help_call['id']}/acknowledge", json={"by": "Alice"},
                           headers=b.admin, timeout=10)
        assert taken.status_code == 200, taken.text
        sent = reader.next("command", timeout=2)
        assert (sent["kind"], sent["by"]) == ("help_acknowledged", "Alice")
        again = httpx.post(f"{a.url}/v1/admin/interventions/{help_call['id']}/acknowledge", json={"by": "Bob"},
                           headers=a.admin, timeout=10)
        assert again.status_code == 409 and again.json()["by"] == "Alice"

        # a command issued on B waits there for the answer the kiosk posts to A
        answer = threading.Thread(target=lambda: httpx.post(
            f"{a.url}/v1/live/commands/{reader.next('command')['id']}/result", json={"outcome": "done"},
            headers=auth, timeout=10))
        answer.start()
        record = httpx.post(f"{b.url}/v1/admin/kiosks/{kiosk}/commands", json={"kind": "test_print", "by": "Bob",
                                                                             "wait_s": 10},
                            headers=b.admin, timeout=20).json()
        answer.join()
        assert (record["kind"], record["outcome"]) == ("test_print", "done")
    finally:
        reader.close()
        events_b.close()
    gone = wait_for(lambda: not live_lane(b, kiosk)["connected"], timeout=2)
    assert gone


def test_streams_of_a_crashed_process_lapse(two):
    a, b = two
    kiosk, auth = a.enroll()
    reader = SseReader(f"{a.url}/v1/live/commands", auth).wait_open()
    try:
        wait_for(lambda: live_lane(b, kiosk)["connected"], timeout=1)
        a.proc.kill()  # no goodbye: the lane's lease (3 s here) runs out
        lane = wait_for(lambda: (l := live_lane(b, kiosk))["status"] == "offline" and l, timeout=8)
        assert not lane["connected"]
    finally:
        reader.close()
    reader = SseReader(f"{b.url}/v1/live/commands", auth).wait_open()  # the kiosk reconnects to B
    try:
        wait_for(lambda: live_lane(b, kiosk)["connected"], timeout=1)
    finally:
        reader.close()
