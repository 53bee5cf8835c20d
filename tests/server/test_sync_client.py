"""The kiosk's sync client with a real journal, catalog and bookings against a real server process."""
from __future__ import annotations

import json
import subprocess
import sys
import random
import sqlite3
import time

import httpx
import pytest

from kserver_harness import ADMIN_TOKEN, start_server
from kiosk.bookings import Bookings
from kiosk.catalog import Catalog, ItemValidator
from kiosk.events import EventQueue
from kiosk.journal import Journal
from kiosk.sync import SyncClient, SyncError, backoff_delay

VALIDATOR = ItemValidator(["A", "B", "C"], "EUR", ["en", "de"])


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def kiosk(sqlite_server, tmp_path):
    kiosk_id, auth = sqlite_server.enroll()
    journal = Journal(tmp_path / "journal.db", kiosk_id).start()
    clients = []

    def client(**kwargs) -> SyncClient:
        c = SyncClient(journal, server_url=kwargs.pop("url", sqlite_server.url), token=auth["Authorization"][7:],
                       kiosk_id=kiosk_id, backoff_base_s=0.05, backoff_cap_s=0.5, interval_s=0.2, **kwargs)
        clients.append(c)
        return c
    yield sqlite_server, kiosk_id, journal, client
    for c in clients:
        c.close()
    journal.close()


def test_outbox_goes_up_in_order_and_is_cleared(kiosk):
    server, kiosk_id, journal, client = kiosk
    uuids = [journal.record_event("help", {"n": n}).uuid for n in range(250)]
    sync = client(batch_size=40)
    sync.sync_once()
    assert server.held(kiosk_id) == list(enumerate(uuids, start=1))
    assert journal.outbox_stats() == (0, None)
    status = sync.status()
    assert status.online and status.queue_depth == 0 and status.acknowledged_through == 250
    assert server.kiosk_status(kiosk_id)["queue_depth"] == 0  # the heartbeat went up too


def test_background_thread_sends_what_is_recorded_and_reports_status(kiosk):
    server, kiosk_id, journal, client = kiosk
    events = EventQueue()
    sync = client(events=events).start()
    for n in range(30):
        journal.record_event("rating", {"stars": n % 5})
        sync.wake()
    wait_for(lambda: journal.outbox_stats()[0] == 0, what="outbox drained")
    assert [seq for seq, _ in server.held(kiosk_id)] == list(range(1, 31))
    wait_for(lambda: sync.status().last_success_at is not None, what="a successful round")
    assert any(e.source == "sync" for e in events.drain())


def test_server_down_keeps_the_queue_and_resumes(tmp_path, kiosk):
    _, _, _, _ = kiosk
    own, close = start_server("sqlite", tmp_path / "own")
    try:
        kiosk_id, auth = own.enroll()
        with Journal(tmp_path / "j2.db", kiosk_id) as journal:
            sync = SyncClient(journal, server_url=own.url, token=auth["Authorization"][7:], kiosk_id=kiosk_id,
                              backoff_base_s=0.05, backoff_cap_s=0.3, interval_s=0.2, timeout_s=1)
            try:
                own.proc.kill()
                for _ in range(20):
                    journal.record_event("offline sale stand-in")
                sync.start()
                wait_for(lambda: sync.status().attempt >= 2, what="failed attempts")
                status = sync.status()
                assert not status.online and "server" in status.last_error and status.queue_depth == 20
                own.proc.start()
                wait_for(lambda: journal.outbox_stats()[0] == 0, what="drained after restart")
                wait_for(lambda: sync.status().online and sync.status().last_error is None, what="online")
                assert [seq for seq, _ in own.held(kiosk_id)] == list(range(1, 21))
            finally:
                sync.close()
    finally:
        close()


def test_restart_resumes_from_the_journal(kiosk, tmp_path):
    server, kiosk_id, journal, client = kiosk
    for _ in range(10):
        journal.record_event("before restart")
    client(batch_size=4).push_once()  # one batch acknowledged, then the kiosk "restarts"
    assert journal.outbox_stats()[0] == 6
    client(batch_size=4).sync_once()
    assert [seq for seq, _ in server.held(kiosk_id)] == list(range(1, 11))


def test_conflict_is_reported_and_nothing_after_it_is_deleted(kiosk):
    server, kiosk_id, journal, client = kiosk
    journal.fresh = False  # this kiosk's own journal (not a replaced one: see test_a_new_journal_...)
    first = journal.record_event("first")
    journal.record_event("second")
    auth = {"Authorization": client().http.headers["Authorization"]}
    other = first.record.model_copy(update={"body": first.record.body.model_copy(update={"event": "tampered"})})
    httpx.post(f"{server.url}/v1/kiosks/{kiosk_id}/transactions", headers=auth,
               json={"records": [{"seq": 1, "uuid": first.uuid, "record": other.model_dump(mode="json")}]})
    events = EventQueue()
    sync = client(events=events)
    with pytest.raises(SyncError, match="refuses transaction 1"):
        sync.sync_once()
    assert journal.outbox_stats()[0] == 2  # neither the conflicting record nor the next one is dropped
    assert server.kiosk_status(kiosk_id)["alarms"] >= 1


def test_wrong_token_is_reported(kiosk):
    server, kiosk_id, journal, _ = kiosk
    journal.record_event("x")
    sync = SyncClient(journal, server_url=server.url, token="wrong", kiosk_id=kiosk_id)
    try:
        with pytest.raises(SyncError, match="401.*token"):
            sync.sync_once()
        assert journal.outbox_stats()[0] == 1
    finally:
        sync.close()


def test_catalog_delta_and_snapshot_are_applied(kiosk, tmp_path):
    server, kiosk_id, journal, client = kiosk
    items = [{"plu": str(n), "names": {"en": f"apple {n}"}, "price": "0.50", "vat": "B"} for n in range(1, 21)]
    items.append({"gtin": "4006381333931", "names": {"en": "pen"}, "price": "1.99", "vat": "A"})
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    httpx.put(f"{server.url}/v1/admin/catalog", json=items, headers=admin).raise_for_status()
    sync = client(catalog=lambda: Catalog(tmp_path / "catalog.db"), item_validator=VALIDATOR)
    sync.sync_once()
    catalog = Catalog(tmp_path / "catalog.db")
    try:
        assert catalog.count() == 21 and catalog.by_key("04006381333931").price == 199
        changed = [dict(i, price="0.60") if i.get("plu") == "2" else i for i in items if i.get("plu") != "1"]
        changed.append({"plu": "99", "names": {"en": "bad"}, "price": "lots", "vat": "A"})  # not usable
        version = httpx.put(f"{server.url}/v1/admin/catalog", json=changed, headers=admin).json()["version"]
        sync.sync_once()
        assert catalog.version == version and catalog.by_plu("1") is None and catalog.by_plu("2").price == 60
        assert catalog.count() == 20 and sync.status().rejected_items == 1
        sync.sync_once()  # nothing new: 304, nothing changes
        assert catalog.version == version
    finally:
        catalog.close()


def test_bookings_used_elsewhere_arrive_as_checked_in(kiosk, tmp_path):
    server, kiosk_id, journal, client = kiosk
    code = "BK" + str(random.randrange(10**8)).zfill(8)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    booking = {"code": code, "name": "Ann", "slot_start": "2026-11-23T18:00:00+01:00",
               "slot_end": "2026-11-23T19:00:00+01:00", "party_size": 2}
    httpx.put(f"{server.url}/v1/admin/bookings", json=[booking], headers=admin).raise_for_status()
    sync = client(bookings=lambda: Bookings(tmp_path / "bookings.db"))
    sync.sync_once()
    local = Bookings(tmp_path / "bookings.db")
    try:
        assert local.get(code).status == "booked"
        other_id, other_auth = server.enroll()
        with Journal(tmp_path / "other.db", other_id) as other:
            other.complete_checkin(code, 2)
            SyncClient(other, server_url=server.url, token=other_auth["Authorization"][7:],
                       kiosk_id=other_id).sync_once()
        sync.sync_once()
        assert local.get(code).status == "checked_in"
    finally:
        local.close()


def test_config_is_pulled_to_a_file(kiosk, tmp_path):
    server, kiosk_id, journal, client = kiosk
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    httpx.put(f"{server.url}/v1/admin/kiosks/{kiosk_id}/config", json={"ui": {"large_text": True}},
              headers=admin).raise_for_status()
    seen = []
    sync = client(config_path=tmp_path / "server-config.json", on_config=seen.append)
    sync.sync_once()
    sync.sync_once()  # 304 the second time: on_config is not called again
    assert json.loads((tmp_path / "server-config.json").read_text())["config"] == {"ui": {"large_text": True}}
    assert seen == [{"ui": {"large_text": True}}] and sync.status().config_version == 1


def test_backoff_is_full_jitter_and_capped():
    rng = random.Random(1)
    delays = [backoff_delay(attempt, 0.5, 60, rng) for attempt in range(1, 40) for _ in range(50)]
    assert all(0 <= d <= 60 for d in delays)
    assert max(backoff_delay(3, 0.5, 60, rng) for _ in range(200)) <= 4.0
    assert max(delays) > 50 and min(delays) < 1  # really spread from 0 to the cap


def test_full_snapshot_removes_what_the_server_no_longer_has(kiosk, tmp_path):
    server, kiosk_id, journal, client = kiosk
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    items = [{"plu": str(n), "names": {"en": f"pear {n}"}, "price": "0.80", "vat": "B"} for n in range(700, 705)]
    httpx.put(f"{server.url}/v1/admin/catalog", json=items, headers=admin).raise_for_status()
    sync = client(catalog=lambda: Catalog(tmp_path / "catalog.db"), item_validator=VALIDATOR)
    sync.sync_once()
    httpx.put(f"{server.url}/v1/admin/catalog", json=items[2:], headers=admin).raise_for_status()
    subprocess.run([sys.executable, "-m", "server.cli", "admin", "compact", "catalog"], env=server.proc.env,
                   check=True, capture_output=True, timeout=120)  # tombstones gone: this kiosk gets a snapshot
    sync.sync_once()
    catalog = Catalog(tmp_path / "catalog.db")
    try:
        assert sorted(item.plu for item in catalog.plu_items()) == ["702", "703", "704"]
    finally:
        catalog.close()


def test_damaged_outbox_row_is_dead_lettered_not_stalling(kiosk):
    server, kiosk_id, journal, client = kiosk
    journal.record_event("fine")
    journal.record_event("will be damaged")
    journal.record_event("fine again")
    with sqlite3.connect(journal.path) as damage:  # as a failing disk might
        damage.execute("UPDATE outbox SET payload = '{broken' WHERE seq = 2")
    client().sync_once()
    assert journal.outbox_stats()[0] == 0
    status = server.kiosk_status(kiosk_id)
    assert status["held_through"] == 3 and status["dead_letters"] == 1
    assert [seq for seq, _ in server.held(kiosk_id)] == [1, 3]


def test_a_delta_failing_half_way_leaves_the_old_catalog(kiosk, tmp_path):
    server, kiosk_id, journal, client = kiosk
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    items = [{"plu": str(n), "names": {"en": f"plum {n}"}, "price": "0.30", "vat": "B"} for n in range(800, 810)]
    httpx.put(f"{server.url}/v1/admin/catalog", json=items, headers=admin).raise_for_status()
    broken = {"on": False}

    def validator(row):  # a fault in the middle of applying: the 6th row cannot be inserted
        columns = VALIDATOR(row)
        return columns[:3] if broken["on"] and row.get("plu") == "805" else columns
    sync = client(catalog=lambda: Catalog(tmp_path / "catalog.db"), item_validator=validator)
    sync.sync_once()
    catalog = Catalog(tmp_path / "catalog.db")
    try:
        before = (catalog.version, sorted((i.plu, i.price) for i in catalog.plu_items()))
        httpx.put(f"{server.url}/v1/admin/catalog", json=[dict(i, price="0.40") for i in items],
                  headers=admin).raise_for_status()
        broken["on"] = True
        with pytest.raises(sqlite3.Error):
            sync.sync_once()
        assert (catalog.version, sorted((i.plu, i.price) for i in catalog.plu_items())) == before  # not a mix
        broken["on"] = False
        sync.sync_once()
        assert {i.price for i in catalog.plu_items()} == {40}
    finally:
        catalog.close()


def test_the_log_has_state_changes_not_every_poll(kiosk, tmp_path, caplog):
    """Issue 11: the 5-second poll flooded the INFO log (an httpx line per request). Only changes are
    logged: going offline (once per distinct error), coming back, the backlog drained."""
    import logging
    import socket

    server, kiosk_id, journal, client = kiosk
    with socket.socket() as s:  # a port nobody listens on: the server is "down"
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    caplog.set_level(logging.INFO)
    sync = client(url=dead, timeout_s=1, config_path=tmp_path / "server-config.json")
    for n in range(5):
        journal.record_event("offline sale stand-in", {"n": n})
    sync.start()
    wait_for(lambda: sync.status().attempt >= 3, what="failed attempts")
    sync.http.base_url = server.url  # the network is back
    wait_for(lambda: sync.status().online and journal.outbox_stats()[0] == 0, what="online and drained")
    wait_for(lambda: sync.status().queue_depth == 0, what="the drained queue in the status")
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.INFO]
    assert [m for level, m in lines if level == "WARNING"] == [m for level, m in lines if "sync failed" in m]
    assert len([m for _, m in lines if "sync failed" in m]) == 1, lines  # the same error: logged once
    assert len([m for _, m in lines if "reachable again" in m]) == 1, lines
    assert len([m for _, m in lines if "backlog" in m and "sent" in m]) == 1, lines
    assert not any("HTTP Request" in m for _, m in lines), lines
    caplog.clear()
    rounds = set()
    while len(rounds) < 10:  # quiet polls: nothing to send, nothing new to pull
        wait_for(lambda: sync.status().last_success_at not in rounds, what="the next poll")
        rounds.add(sync.status().last_success_at)
    sync.stop()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []


class _Stub:
    """A tiny local HTTP server answering every request with what `answers[(method, path)]` says, to play a
    server that sends malformed replies (the real server cannot be made to)."""

    def __init__(self, answers: dict):
        import http.server
        import threading

        stub = self
        self.answers, self.seen = answers, []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                path = self.path.split("?")[0]
                stub.seen.append((self.command, path))
                status, body = stub.answers.get((self.command, path), (404, b'{"detail": "no such stub"}'))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_malformed_replies_are_refused_named_and_nothing_is_lost(kiosk, tmp_path, caplog):
    """Issue 12: replies are validated with the kiosk.wire models. A reply that does not fit is a SyncError
    naming the model and the field, retried like a network error; nothing is acknowledged or applied."""
    import logging

    server, kiosk_id, journal, client = kiosk
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    items = [{"plu": str(n), "names": {"en": f"fig {n}"}, "price": "0.70", "vat": "B"} for n in range(900, 903)]
    httpx.put(f"{server.url}/v1/admin/catalog", json=items, headers=admin).raise_for_status()
    httpx.put(f"{server.url}/v1/admin/kiosks/{kiosk_id}/config", json={"ui": {"large_text": True}},
              headers=admin).raise_for_status()
    seen = []
    sync = client(catalog=lambda: Catalog(tmp_path / "catalog.db"), item_validator=VALIDATOR,
                  config_path=tmp_path / "server-config.json", on_config=seen.append, events=EventQueue())
    sync.sync_once()  # the real server first: a catalog and a config are held
    catalog = Catalog(tmp_path / "catalog.db")
    config_before = (tmp_path / "server-config.json").read_text()
    catalog_before = (catalog.version, sorted(i.plu for i in catalog.plu_items()))
    assert len(catalog_before[1]) == 3 and seen == [{"ui": {"large_text": True}}]
    uuids = [journal.record_event("sale stand-in", {"n": n}).uuid for n in range(5)]
    base = f"/v1/kiosks/{kiosk_id}"
    stub = _Stub({
        ("POST", f"{base}/transactions"): (200, b'{"held_through": "all of them", "accepted": 5}'),
        ("GET", "/v1/catalog"): (200, b'{"version": 999, "full": true, "upserts": "everything", "deletes": []}'),
        ("GET", f"{base}/config"): (200, b'{"version": 7}'),
        ("POST", f"{base}/heartbeat"): (200, b"<html>a captive portal</html>"),
        ("GET", f"{base}/sync-state"): (200, b'[1, 2, 3]'),
    })
    try:
        sync.http.base_url = stub.url
        with pytest.raises(SyncError, match=r"invalid BatchReply.*held_through.*nothing was applied"):
            sync.push_once()
        assert journal.outbox_stats()[0] == 5 and sync.status().acknowledged_through == 0
        with pytest.raises(SyncError, match=r"invalid Delta.*upserts"):
            sync.pull_once()  # a "full snapshot" that is not one must not wipe the catalog
        assert (catalog.version, sorted(i.plu for i in catalog.plu_items())) == catalog_before
        sync._open_catalog = None  # only the config now
        with pytest.raises(SyncError, match=r"invalid KioskConfig.*config: Field required"):
            sync.pull_once()
        assert (tmp_path / "server-config.json").read_text() == config_before and len(seen) == 1
        with pytest.raises(SyncError, match=r"invalid HeartbeatReply.*(JSON|json)"):
            sync.heartbeat()
        with pytest.raises(SyncError, match=r"invalid SyncState"):
            sync.sync_state()

        caplog.set_level(logging.WARNING, logger="kiosk.sync")
        sync.start()  # the loop: a malformed reply is retried with backoff like a network error
        wait_for(lambda: sync.status().attempt >= 2, what="failed attempts against the stub")
        status = sync.status()
        assert not status.online and "invalid BatchReply" in status.last_error and status.queue_depth == 5
        assert any("sync failed" in r.getMessage() and "held_through" in r.getMessage() for r in caplog.records)
        assert journal.outbox_stats()[0] == 5
        sync.http.base_url = server.url  # a proper server again: everything goes up, nothing was lost
        wait_for(lambda: journal.outbox_stats()[0] == 0 and sync.status().online, what="drained at the real server")
        sync.stop()
        assert [uuid for _, uuid in server.held(kiosk_id)] == uuids
        assert sync.sync_state().held_through == 5 and sync.sync_state().kiosk_id == kiosk_id
        assert (catalog.version, sorted(i.plu for i in catalog.plu_items())) == catalog_before
    finally:
        stub.close()
        catalog.close()


def test_reply_fields_unknown_to_the_kiosk_are_ignored_not_refused(kiosk):
    """A server newer than the kiosk may add reply fields; the kiosk still validates the rest and syncs."""
    server, kiosk_id, journal, client = kiosk
    journal.record_event("one")
    journal.record_event("two")
    base = f"/v1/kiosks/{kiosk_id}"
    stub = _Stub({
        ("POST", f"{base}/transactions"): (200, json.dumps({
            "held_through": 2, "accepted": 2, "duplicates": 0, "dead_lettered": 0, "new_counter": 5,
            "flagged": [{"seq": 2, "uuid": "u", "reason": "second check-in", "severity": "low"}]}).encode()),
        ("POST", f"{base}/heartbeat"): (200, b'{"server_time": "2026-12-01T20:00:00Z", "region": "eu"}'),
    })
    events = EventQueue()
    sync = client(events=events, url=stub.url)
    try:
        assert sync.push_once() is False
        assert journal.outbox_stats()[0] == 0 and sync.status().acknowledged_through == 2
        assert any("flagged transaction 2: second check-in" in str(e.data.get("message")) for e in events.drain())
        sync.heartbeat()
        stub.answers[("POST", f"{base}/heartbeat")] = (200, b'{"region": "eu"}')  # unknown AND missing: refused
        with pytest.raises(SyncError, match=r"invalid HeartbeatReply.*server_time: Field required"):
            sync.heartbeat()
    finally:
        stub.close()


# --- issue 14: a lost journal, a sync refused for good ---------------------------------------------------

def test_a_new_journal_continues_after_what_the_server_holds(kiosk, tmp_path):
    """An emptied journal restarted at seq 1 while the server held 1-103: every upload got 409 forever."""
    server, kiosk_id, journal, client = kiosk
    for n in range(103):
        journal.record_event("before", {"n": n})
    client().sync_once()
    assert len(server.held(kiosk_id)) == 103
    with Journal(tmp_path / "replacement.db", kiosk_id) as new:
        assert new.fresh
        sold = [new.record_event("after", {"n": n}).uuid for n in range(2)]  # before the server was reached
        sync = client()
        sync.journal = new
        sync._continuation_checked = False
        sync.sync_once()
        held = server.held(kiosk_id)
        assert [seq for seq, _ in held] == list(range(1, 107))
        assert [u for _, u in held[103:105]] == sold
        assert new.outbox_stats()[0] == 0 and not new.fresh
        replaced = new.recent(1)[0]
        assert replaced.seq == 106 and replaced.body.event == "journal_replaced"
        assert replaced.body.details["server_max_seq"] == 103
        assert new.transaction(sold[0]).seq == 104
        new.record_event("later")
        sync.sync_once()
        assert len(server.held(kiosk_id)) == 107


def test_a_sync_refused_for_good_is_an_out_of_service_condition(kiosk):
    server, kiosk_id, journal, client = kiosk
    journal.fresh = False
    first = journal.record_event("first")
    auth = {"Authorization": client().http.headers["Authorization"]}
    other = first.record.model_copy(update={"body": first.record.body.model_copy(update={"event": "tampered"})})
    httpx.post(f"{server.url}/v1/kiosks/{kiosk_id}/transactions", headers=auth,
               json={"records": [{"seq": 1, "uuid": first.uuid, "record": other.model_dump(mode="json")}]})
    clock = [1000.0]
    sync = client(refused_limit_s=600, monotonic=lambda: clock[0])
    with pytest.raises(SyncError):
        sync.sync_once()
    assert sync.status().refused is None  # one refusal is not yet "for good"
    clock[0] += 601
    with pytest.raises(SyncError):
        sync.sync_once()
    assert "refused" in sync.status().refused and "#0" in sync.status().refused
    assert server.kiosk_status(kiosk_id)["alarms"] >= 1


def test_an_out_of_service_kiosk_raises_one_alarm_at_the_server(kiosk):
    server, kiosk_id, journal, client = kiosk
    sync = client(fault=lambda: "journal cannot be used: quick_check: database disk image is malformed")
    sync.sync_once()
    assert server.kiosk_status(kiosk_id)["alarms"] == 1
    sync._next_heartbeat = 0
    sync.sync_once()  # the same reason again: no second alarm
    assert server.kiosk_status(kiosk_id)["alarms"] == 1


def test_the_server_time_in_every_reply_shows_a_skewed_clock(kiosk, caplog):
    server, kiosk_id, journal, client = kiosk
    journal.fresh = False
    journal.record_event("x")
    sync = client(wall=lambda: time.time() + 86400)  # a day ahead
    sync.sync_once()
    assert abs(sync.status().clock_skew_s - 86400) < 60
    assert "clock is +86" in caplog.text
    assert abs(server.kiosk_status(kiosk_id)["clock_skew_s"] - 86400) < 60  # fleet status shows it too
    on_time = client()
    on_time.sync_once()
    assert abs(on_time.status().clock_skew_s) < 60
