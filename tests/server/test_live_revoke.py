"""Disabling a kiosk (or replacing its token) ends its open live command stream at once and refuses new ones,
despite the live token cache (KSERVER_LIVE_TOKEN_CACHE_S, 10 s by default); on PostgreSQL also when the stream
is held by another server process than the one that hears about it. Real server processes, the real CLI."""
from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from kserver_harness import Server, servers_on_one_postgres, start_server
from live_client import SseReader, state, wait_for

ENV = {"KSERVER_FAILURE_BURST": "1000000000", "KSERVER_LIVE_TOKEN_CACHE_S": "10"}
PROMPT_S = 2.5  # "within a couple of seconds"


def cli(srv: Server, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "server.cli", "admin", *args], env=srv.proc.env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def lane(srv: Server, kiosk_id: str) -> dict:
    lanes = httpx.get(f"{srv.url}/v1/admin/live", headers=srv.admin, timeout=10).json()["lanes"]
    return next(l for l in lanes if l["kiosk_id"] == kiosk_id)


def post(srv: Server, auth: dict, seq: int) -> int:
    return httpx.post(f"{srv.url}/v1/live/state", json=state(seq), headers=auth, timeout=10).status_code


def stream_status(srv: Server, auth: dict) -> int:
    with httpx.stream("GET", f"{srv.url}/v1/live/commands", headers=auth, timeout=10) as reply:
        return reply.status_code


def ends_promptly(reader: SseReader, since: float) -> float:
    reader.next("closed", timeout=PROMPT_S + 3)
    took = time.monotonic() - since
    assert took < PROMPT_S, f"the stream ended {took:.1f} s after the disable"
    return took


@pytest.fixture
def sqlite_server(tmp_path):
    srv, close = start_server("sqlite", tmp_path, env=ENV)
    yield srv
    close()


def test_disable_via_the_cli_ends_the_open_stream_and_a_reconnect_gets_403(sqlite_server):
    srv = sqlite_server
    kiosk, auth = srv.enroll()
    reader = SseReader(f"{srv.url}/v1/live/commands", auth).wait_open()
    try:
        assert post(srv, auth, 1) == 204  # its token is now in the live token cache
        wait_for(lambda: lane(srv, kiosk)["connected"])
        cli(srv, "disable", kiosk)
        ends_promptly(reader, time.monotonic())
        assert stream_status(srv, auth) == 403
        assert post(srv, auth, 2) == 403  # the cache forgot the token too
        shown = wait_for(lambda: (l := lane(srv, kiosk))["status"] == "offline" and l, timeout=3)
        assert shown["disabled"] and not shown["connected"]
    finally:
        reader.close()
    cli(srv, "enable", kiosk)
    assert stream_status(srv, auth) == 200 and not lane(srv, kiosk)["disabled"]


def test_a_rotated_token_ends_the_stream_opened_with_the_old_one(sqlite_server):
    srv = sqlite_server
    kiosk, auth = srv.enroll()
    reader = SseReader(f"{srv.url}/v1/live/commands", auth).wait_open()
    try:
        assert post(srv, auth, 1) == 204
        new_token = cli(srv, "enroll", kiosk, "--rotate").strip().splitlines()[-1]
        ends_promptly(reader, time.monotonic())
        assert stream_status(srv, auth) == 401 and post(srv, auth, 2) == 401
        assert stream_status(srv, {"Authorization": f"Bearer {new_token}"}) == 200
    finally:
        reader.close()


@pytest.mark.postgres
def test_disable_ends_a_stream_held_by_the_other_process_on_postgres(tmp_path):
    with servers_on_one_postgres(tmp_path, env=ENV) as (a, b):
        kiosk, auth = a.enroll()
        reader = SseReader(f"{a.url}/v1/live/commands", auth).wait_open()  # the stream on A
        try:
            assert post(b, auth, 1) == 204  # the states through B: its token cached there
            wait_for(lambda: lane(b, kiosk)["connected"])
            cli(b, "disable", kiosk)
            ends_promptly(reader, time.monotonic())
            assert post(b, auth, 2) == 403 and post(a, auth, 3) == 403
            assert stream_status(a, auth) == 403 and stream_status(b, auth) == 403
            shown = wait_for(lambda: (l := lane(b, kiosk))["status"] == "offline" and l, timeout=3)
            assert shown["disabled"] and not shown["connected"]
        finally:
            reader.close()
