"""The live channel (issue 15) on a real `kiosk-server serve` process over loopback: kiosks post LiveState and hold
the SSE command stream; the admin API acknowledges, resolves and sends commands."""
from __future__ import annotations

import time

import httpx
import pytest

from kserver_harness import start_server
from live_client import SseReader, session, state, wait_for

# short timers, so that pings, the body/header/keep-alive deadlines and the offline alarm all pass during a test
LIVE_ENV = {"KSERVER_FAILURE_BURST": "1000000000", "KSERVER_LIVE_PING_S": "0.5", "KSERVER_BODY_TIMEOUT": "1",
            "KSERVER_HEADER_TIMEOUT": "1", "KSERVER_KEEP_ALIVE": "1", "KSERVER_LIVE_OFFLINE_MINUTES": "0.03",
            "KSERVER_LIVE_TOKEN_CACHE_S": "2"}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live(request, tmp_path_factory):
    srv, close = start_server(request.param, tmp_path_factory.mktemp(f"live-{request.param}"), env=LIVE_ENV)
    yield srv
    close()


def post_state(srv, auth, body) -> httpx.Response:
    reply = httpx.post(f"{srv.url}/v1/live/state", json=body, headers=auth, timeout=10)
    assert reply.status_code == 204, reply.text
    return reply


def view(srv, include_resolved: bool = False) -> dict:
    reply = httpx.get(f"{srv.url}/v1/admin/live", params={"include_resolved": include_resolved},
                      headers=srv.admin, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def lane(srv, kiosk_id: str) -> dict:
    return next(l for l in view(srv)["lanes"] if l["kiosk_id"] == kiosk_id)


def open_interventions(srv, kiosk_id: str, kind: str) -> list[dict]:
    return [i for i in view(srv)["interventions"] if i["kiosk_id"] == kiosk_id and i["kind"] == kind]


def command(srv, kiosk_id: str, **body) -> httpx.Response:
    return httpx.post(f"{srv.url}/v1/admin/kiosks/{kiosk_id}/commands", json=body, headers=srv.admin, timeout=40)


def act(srv, intervention_id: int, action: str, by: str) -> httpx.Response:
    return httpx.post(f"{srv.url}/v1/admin/interventions/{intervention_id}/{action}", json={"by": by},
                      headers=srv.admin, timeout=10)


def stream(srv, auth) -> SseReader:
    return SseReader(f"{srv.url}/v1/live/commands", auth).wait_open()


def result(srv, auth, command_id: str, outcome: str = "done") -> httpx.Response:
    return httpx.post(f"{srv.url}/v1/live/commands/{command_id}/result", json={"outcome": outcome},
                      headers=auth, timeout=10)


def test_help_is_raised_acknowledged_on_the_kiosk_and_the_second_attendant_is_told(live):
    kiosk, auth = live.enroll()
    reader = stream(live, auth)
    try:
        assert reader.content_type.startswith("text/event-stream")
        assert wait_for(lambda: lane(live, kiosk)["connected"])
        sid = session()
        post_state(live, auth, state(1, session_id=sid, phase="shopping", item_count=2, total_minor=350))
        assert lane(live, kiosk)["status"] == "shopping"
        post_state(live, auth, state(2, session_id=sid, phase="shopping", help_called=True))
        assert lane(live, kiosk)["status"] == "help"
        [help_call] = open_interventions(live, kiosk, "help")
        assert help_call["session_id"] == sid and help_call["acknowledged_by"] is None

        first = act(live, help_call["id"], "acknowledge", "Alice")
        assert first.status_code == 200 and first.json()["acknowledged_by"] == "Alice", first.text
        sent = reader.next("command")
        assert (sent["kind"], sent["by"], sent["session_id"]) == ("help_acknowledged", "Alice", sid)
        second = act(live, help_call["id"], "acknowledge", "Bob")
        assert second.status_code == 409 and second.json()["by"] == "Alice", second.text

        assert result(live, auth, sent["id"]).status_code == 204
        assert result(live, auth, sent["id"]).status_code == 409  # answered already

        resolved = act(live, help_call["id"], "resolve", "Alice")
        assert resolved.status_code == 200 and resolved.json()["resolved_by"] == "Alice"
        assert reader.next("command")["kind"] == "help_resolved"
        assert act(live, help_call["id"], "resolve", "Bob").json()["by"] == "Alice"
        assert not open_interventions(live, kiosk, "help")
    finally:
        reader.close()


def test_conditions_ending_on_the_kiosk_resolve_their_interventions(live):
    kiosk, auth = live.enroll()
    post_state(live, auth, state(1, devices={"printer": "paper out", "scanner": "ok"}, payment_in_doubt=True,
                                 outbox_depth=500))
    kinds = {i["kind"]: i for i in view(live)["interventions"] if i["kiosk_id"] == kiosk}
    assert set(kinds) == {"device_fault", "payment_in_doubt", "outbox_growing"}
    assert kinds["device_fault"]["detail"] == "printer: paper out"
    post_state(live, auth, state(2, devices={"printer": "ok"}))
    assert not [i for i in view(live)["interventions"] if i["kiosk_id"] == kiosk]
    closed = [i for i in view(live, include_resolved=True)["interventions"] if i["kiosk_id"] == kiosk]
    assert {i["resolved_by"] for i in closed} == {"kiosk"} and all(i["resolved_at"] for i in closed)


def test_an_older_state_of_the_same_boot_is_ignored(live):
    kiosk, auth = live.enroll()
    post_state(live, auth, state(5, phase="paying", session_id="s1"))
    post_state(live, auth, state(3, phase="idle"))
    post_state(live, auth, state(5, phase="idle"))
    assert lane(live, kiosk)["state"]["phase"] == "paying"
    post_state(live, auth, state(1, boot_id="boot-2", phase="idle"))  # the kiosk restarted
    assert lane(live, kiosk)["state"]["boot_id"] == "boot-2"


def test_age_approval_for_a_stale_session_is_refused_and_the_second_approval_is_told(live):
    kiosk, auth = live.enroll()
    reader = stream(live, auth)
    try:
        old, current = session(), session()
        post_state(live, auth, state(1, session_id=current, phase="age_check", age_check_pending=True,
                                     lines=[{"name": "Beer", "quantity": 1, "amount_minor": 129,
                                             "age_restricted": True}]))
        [check] = open_interventions(live, kiosk, "age_check")
        assert check["detail"] == "Beer" and lane(live, kiosk)["status"] == "age_check"

        stale = command(live, kiosk, kind="approve_age", session_id=old, by="Alice", wait_s=0)
        assert stale.status_code == 200 and stale.json()["outcome"] == "refused", stale.text
        assert open_interventions(live, kiosk, "age_check")  # still waiting for a decision

        approval = command(live, kiosk, kind="approve_age", session_id=current, by="Alice", wait_s=0).json()
        assert approval["outcome"] == "pending"
        sent = reader.next("command")
        assert sent["id"] == approval["id"] and sent["session_id"] == current  # the stale one was never sent
        late = command(live, kiosk, kind="approve_age", session_id=current, by="Bob", wait_s=0)
        assert late.status_code == 409 and late.json()["by"] == "Alice", late.text
        assert result(live, auth, sent["id"]).status_code == 204
        records = view(live, include_resolved=True)["interventions"]
        assert [i["resolved_by"] for i in records if i["id"] == check["id"]] == ["Alice"]
    finally:
        reader.close()


def test_command_waits_for_the_kiosks_answer(live):
    kiosk, auth = live.enroll()
    reader = stream(live, auth)
    try:
        import threading
        answered = threading.Thread(target=lambda: result(live, auth, reader.next("command")["id"], "done"))
        answered.start()
        record = command(live, kiosk, kind="test_print", by="Carol", wait_s=10).json()
        answered.join()
        assert (record["outcome"], record["by"], record["kind"]) == ("done", "Carol", "test_print")
        assert record["answered_at"] >= record["issued_at"]
    finally:
        reader.close()


def test_a_command_expires_and_is_not_sent_after(live):
    kiosk, auth = live.enroll()
    record = command(live, kiosk, kind="sync_now", by="Dan", ttl_s=1, wait_s=6).json()
    assert record["outcome"] == "expired", record
    assert result(live, auth, record["id"]).status_code == 409
    pending = command(live, kiosk, kind="reload_config", by="Dan", wait_s=0).json()
    reader = stream(live, auth)
    try:
        assert reader.next("command")["id"] == pending["id"]  # unanswered ones on connect, the expired one not
    finally:
        reader.close()


def test_results_and_streams_belong_to_their_kiosk(live):
    kiosk, auth = live.enroll()
    other, other_auth = live.enroll()
    assert result(live, auth, "nosuchcommand").status_code == 404
    mine = command(live, kiosk, kind="in_service", by="Eve", wait_s=0).json()
    foreign_reader = stream(live, other_auth)
    try:
        assert result(live, other_auth, mine["id"]).status_code == 404  # another kiosk's command
        theirs = command(live, other, kind="sync_now", by="Eve", wait_s=0).json()
        assert foreign_reader.next("command")["id"] == theirs["id"]  # never kiosk's own command
    finally:
        foreign_reader.close()
    assert httpx.get(f"{live.url}/v1/live/commands", timeout=10).status_code == 401
    assert httpx.get(f"{live.url}/v1/admin/live", headers=auth, timeout=10).status_code == 403
    assert httpx.get(f"{live.url}/v1/admin/live/events", headers=auth, timeout=10).status_code == 403
    assert command(live, "no-such-kiosk", kind="sync_now").status_code == 404
    assert act(live, 10**9, "acknowledge", "Eve").status_code == 404


def test_the_stream_outlives_the_server_timeouts_and_offline_shows_at_once(live):
    """Body, header and keep-alive timeouts are 1 s here: the stream stays (pings every 0.5 s) and a command
    sent after 3 s arrives; when it is closed the lane goes offline, then an offline intervention is raised
    (after 0.03 minutes) and a new stream resolves it."""
    kiosk, auth = live.enroll()
    reader = stream(live, auth)
    try:
        time.sleep(3)
        assert sum(1 for e in list(reader.events.queue) if e == ("comment", "ping")) >= 3
        sent = command(live, kiosk, kind="out_of_service", by="Fay", reason="cleaning", wait_s=0).json()
        got = reader.next("command")
        assert (got["id"], got["reason"]) == (sent["id"], "cleaning")
    finally:
        reader.close()
    gone = wait_for(lambda: next((l for l in [lane(live, kiosk)] if not l["connected"]), None), timeout=5)
    assert gone["status"] == "offline" and gone["last_seen_at"]
    [alarm] = wait_for(lambda: open_interventions(live, kiosk, "offline"), timeout=10)
    back = stream(live, auth)
    try:
        wait_for(lambda: not open_interventions(live, kiosk, "offline"), timeout=5)
        closed = [i for i in view(live, include_resolved=True)["interventions"] if i["id"] == alarm["id"]]
        assert closed[0]["resolved_by"] == "kiosk"
    finally:
        back.close()


def test_admin_events_stream_every_change(live):
    kiosk, auth = live.enroll()
    events = SseReader(f"{live.url}/v1/admin/live/events", live.admin).wait_open()
    try:
        post_state(live, auth, state(1, help_called=True))
        seen = set()
        while {"lane", "intervention"} - seen:
            change = events.next("change")
            if change["kiosk_id"] == kiosk:
                seen.add(change["kind"])
                assert change["kind"] == "lane" or change["intervention_id"] > 0
    finally:
        events.close()


def test_live_bodies_have_their_limits(live):
    kiosk, auth = live.enroll()
    huge = state(1, screen="x" * (1100 * 1024))
    assert httpx.post(f"{live.url}/v1/live/state", json=huge, headers=auth, timeout=30).status_code == 413
    big_result = {"outcome": "done", "detail": "x" * 9000}
    assert httpx.post(f"{live.url}/v1/live/commands/abc/result", json=big_result, headers=auth,
                      timeout=10).status_code == 413
    assert httpx.post(f"{live.url}/v1/live/state", json=state(1), timeout=10).status_code == 401  # token first


def test_with_its_token_known_a_bad_state_is_still_refused_as_by_the_route(live):
    """A kiosk whose token was just verified takes the fast path (server/live/fastpath.py); whatever that path
    does not accept goes on to the FastAPI route and gets its answers."""
    kiosk, auth = live.enroll()
    post_state(live, auth, state(5, item_count=1))
    url = f"{live.url}/v1/live/state"
    json_type = {"Content-Type": "application/json"}
    for body, content_type in ((b'{"boot_id": "b", "seq": NaN, "sent_at": "x"}', json_type),
                               (b'{"boot_id": "b", "seq": 6, "sent_at": "x", "flow": "nonsense"}', json_type),
                               (b'{"boot_id": "b", "seq": 6, "sent_at": "x", "extra": 1}', json_type),
                               (b'{"boot_id": "b", "seq": -1, "sent_at": "x"}', json_type),
                               (b'not json', json_type), (b'', json_type)):
        reply = httpx.post(url, content=body, headers=auth | content_type, timeout=10)
        assert reply.status_code == 422, (body, reply.status_code, reply.text)
        assert reply.json()["detail"], reply.text
    other = httpx.post(url, content=b'{"boot_id": "b", "seq": 7, "sent_at": "x"}',
                       headers=auth | {"Content-Type": "text/plain"}, timeout=10)
    assert other.status_code == 422, other.text  # FastAPI reads only JSON bodies as models
    assert httpx.post(url, json=state(8), headers={"Authorization": "Bearer nope"}, timeout=10).status_code == 401
    assert lane(live, kiosk)["state"]["item_count"] == 1  # none of them was stored
    post_state(live, auth, state(9, item_count=3))
    assert lane(live, kiosk)["state"]["item_count"] == 3


def test_a_disabled_kiosk_loses_its_live_channel_within_the_token_cache_time(live):
    import subprocess
    import sys
    kiosk, auth = live.enroll()
    post_state(live, auth, state(1))
    done = subprocess.run([sys.executable, "-m", "server.cli", "admin", "disable", kiosk], env=live.proc.env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    disabled_at = time.monotonic()
    wait_for(lambda: httpx.post(f"{live.url}/v1/live/state", json=state(2), headers=auth,
                                timeout=10).status_code == 403, timeout=5)
    assert time.monotonic() - disabled_at < 2 + 1  # KSERVER_LIVE_TOKEN_CACHE_S (2) and a margin


def test_an_approval_the_kiosk_could_not_apply_reopens_the_age_check(live):
    kiosk, auth = live.enroll()
    reader = stream(live, auth)
    try:
        sid = session()
        post_state(live, auth, state(1, session_id=sid, phase="age_check", age_check_pending=True))
        [first] = open_interventions(live, kiosk, "age_check")
        command(live, kiosk, kind="approve_age", session_id=sid, by="Alice", wait_s=0)
        sent = reader.next("command")
        assert not open_interventions(live, kiosk, "age_check")
        answer = httpx.post(f"{live.url}/v1/live/commands/{sent['id']}/result",
                            json={"outcome": "failed", "detail": "printer jam"}, headers=auth, timeout=10)
        assert answer.status_code == 204
        [again] = open_interventions(live, kiosk, "age_check")  # still waiting: someone must decide again
        assert again["id"] != first["id"] and "Alice" in again["detail"]
        assert command(live, kiosk, kind="refuse_age", session_id=sid, by="Bob", wait_s=0).json()["outcome"] \
            == "pending"
    finally:
        reader.close()


def test_a_newer_stream_of_the_same_kiosk_ends_the_older(live):
    kiosk, auth = live.enroll()
    old = stream(live, auth)
    new = stream(live, auth)
    try:
        assert old.next("closed", timeout=5)
        sent = command(live, kiosk, kind="sync_now", by="Gus", wait_s=0).json()
        assert new.next("command")["id"] == sent["id"]
        assert lane(live, kiosk)["connected"]
    finally:
        old.close()
        new.close()
