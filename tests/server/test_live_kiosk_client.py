"""The kiosk's LiveClient (kiosk/live.py) against a real `kiosk-server serve` process over loopback: its states
reach the attendant station's view, commands arrive as events on the kiosk's queue and their results are
posted back, state updates are debounced with the newest winning, and after the server restarts the client
reconnects by itself, sends its state again and takes the next command."""
from __future__ import annotations

import threading
import time

import httpx
import pytest

from kiosk.events import AttendantCommand, EventQueue, Kind, Source
from kiosk.live import LiveClient
from kserver_harness import ADMIN_TOKEN, start_server
from server.process import ServerProcess

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def view(**changes) -> dict:
    base = {"session_id": None, "flow": "idle", "phase": "idle", "screen": "attract", "language": "en", "lines": [],
            "item_count": 0, "total_minor": 0, "currency": "EUR", "age_check_pending": False, "help_called": False,
            "help_acknowledged_by": None, "payment_in_doubt": False, "out_of_service": None}
    return {**base, **changes}


def wait(predicate, what: str, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def lane(url: str, kiosk_id: str) -> dict | None:
    reply = httpx.get(f"{url}/v1/admin/live", headers=ADMIN, timeout=10)
    reply.raise_for_status()
    return next((x for x in reply.json()["lanes"] if x["kiosk_id"] == kiosk_id), None)


def issue(url: str, kiosk_id: str, kind: str, out: list, **body) -> threading.Thread:
    """The attendant's POST, which waits for the kiosk's answer: on a thread, so the test can play the kiosk."""
    def run():
        out.append(httpx.post(f"{url}/v1/admin/kiosks/{kiosk_id}/commands", headers=ADMIN, timeout=30,
                              json={"kind": kind, "by": "Anna", "wait_s": 10, **body}))
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def next_command(events: EventQueue, timeout: float = 20) -> AttendantCommand:
    event = events.wait_for(lambda e: e.source == Source.LIVE and e.kind == Kind.COMMAND, timeout)
    assert event is not None, "no command reached the kiosk's event queue"
    assert isinstance(event.payload, AttendantCommand)
    return event.payload


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request, tmp_path):
    srv, close = start_server(request.param, tmp_path)
    holder = {"srv": srv, "restarted": []}
    yield holder
    for proc in holder["restarted"]:
        proc.close()
    close()  # the first process (stopped already when restarted) and its database


def test_states_commands_results_and_a_reconnect_after_the_server_restarts(served, tmp_path):
    srv = served["srv"]
    kiosk_id, headers = srv.enroll()
    token = headers["Authorization"].split()[1]
    events = EventQueue()
    extras = {"devices": {"printer": "ok", "payment": "ok"}, "outbox_depth": 3}
    client = LiveClient(server_url=srv.url, token=token, events=events, extras=lambda: dict(extras),
                        debounce_s=0.25, backoff_base_s=0.2, backoff_cap_s=1.0).start()
    try:
        client.publish(view())
        got = wait(lambda: (x := lane(srv.url, kiosk_id)) and x["connected"] and x["state"] and x, "a connected lane")
        assert got["state"]["outbox_depth"] == 3 and got["state"]["devices"] == {"printer": "ok", "payment": "ok"}

        # a burst of changes: debounced (at most one state per 0.25 s), the newest wins
        posted = client.states_sent
        started = time.monotonic()
        for n in range(1, 41):
            client.publish(view(session_id="s1", flow="checkout", phase="shopping", screen="checkout", item_count=n,
                                total_minor=100 * n, lines=[{"name": "Milk", "quantity": n, "amount_minor": 100 * n}]))
            time.sleep(0.01)
        got = wait(lambda: (x := lane(srv.url, kiosk_id)) and x["state"]["item_count"] == 40 and x, "the newest state")
        elapsed = time.monotonic() - started
        assert got["state"]["total_minor"] == 4000 and got["status"] == "shopping"
        assert client.states_sent - posted <= elapsed / 0.25 + 2, (client.states_sent - posted, elapsed)

        # a command arrives as an event; the kiosk's answer reaches the attendant
        out: list = []
        thread = issue(srv.url, kiosk_id, "sync_now", out)
        command = next_command(events)
        assert (command.kind, command.by) == ("sync_now", "Anna")
        client.answer(command.id, "done", "sync started")
        thread.join(30)
        assert out[0].status_code == 200, out[0].text
        assert (out[0].json()["outcome"], out[0].json()["detail"]) == ("done", "sync started")

        # the server restarts (same port, same data): the client reconnects, sends its state, takes commands
        port, data = srv.proc.port, tmp_path / "server"
        srv.proc.close()  # the process only: the database stays
        wait(lambda: not client.connected, "the client to notice the server is gone")
        client.publish(view(session_id="s2", flow="checkout", phase="age_check", screen="age_check", item_count=1,
                            age_check_pending=True,
                            lines=[{"name": "Beer", "quantity": 1, "amount_minor": 99, "age_restricted": True}],
                            total_minor=99))
        proc = ServerProcess(data, admin_token=ADMIN_TOKEN, port=port,
                             database_url=srv.proc.env.get("KSERVER_DATABASE_URL", ""))
        served["restarted"].append(proc)
        proc.start()
        got = wait(lambda: (x := lane(proc.url, kiosk_id)) and x["connected"] and x["state"]
                   and x["state"]["session_id"] == "s2" and x, "the state again after the restart", 30)
        assert got["state"]["age_check_pending"] and got["status"] == "age_check"
        out = []
        thread = issue(proc.url, kiosk_id, "approve_age", out, session_id="s2")
        command = next_command(events)
        assert (command.kind, command.session_id) == ("approve_age", "s2")
        client.answer(command.id, "done", "approved 1 line(s)")
        thread.join(30)
        assert out[0].json()["outcome"] == "done", out[0].text
    finally:
        client.stop()


def test_a_command_is_acted_on_once_even_when_the_stream_sends_it_again(served):
    """Unanswered commands are sent again on every connect: the client hands each id to the kiosk once."""
    srv = served["srv"]
    kiosk_id, headers = srv.enroll()
    events = EventQueue()
    client = LiveClient(server_url=srv.url, token=headers["Authorization"].split()[1], events=events,
                        backoff_base_s=0.1, backoff_cap_s=0.5).start()
    try:
        client.publish(view())
        wait(lambda: (x := lane(srv.url, kiosk_id)) and x["connected"], "a connected lane")
        out: list = []
        issue(srv.url, kiosk_id, "test_print", out)
        first = next_command(events)
        client._response.close()  # the stream breaks before the kiosk answered: the server sends it again
        wait(lambda: client.connected and client._response is not None, "the reconnect")
        time.sleep(0.5)
        assert events.wait_for(lambda e: e.kind == Kind.COMMAND, 1.0) is None
        client.answer(first.id, "done", "test page queued")
        wait(lambda: out, "the attendant's answer")
        assert out[0].json()["outcome"] == "done"
    finally:
        client.stop()


def test_a_wrong_token_never_connects_and_the_client_keeps_trying_quietly(served):
    events = EventQueue()
    client = LiveClient(server_url=served["srv"].url, token="not-a-token", events=events,
                        backoff_base_s=0.05, backoff_cap_s=0.2).start()
    try:
        client.publish(view())
        wait(lambda: client.last_error and "401" in client.last_error or "403" in (client.last_error or ""),
             "the refusal to be noted")
        assert not client.connected and client.states_sent == 0
    finally:
        started = time.monotonic()
        client.stop()
        assert time.monotonic() - started < 5


def test_stop_ends_an_open_command_stream_at_once_rather_than_at_the_next_ping(served):
    """The reader blocks in recv() between the server's pings (every 15 s); closing the response from the
    stopping thread did not wake it, so every kiosk stop waited out the join and then the server's graceful
    shutdown waited for the stream still open."""
    kiosk_id, headers = served["srv"].enroll()
    client = LiveClient(server_url=served["srv"].url, token=headers["Authorization"].split()[1],
                        events=EventQueue()).start()
    client.publish(view())
    wait(lambda: client.connected and client.states_sent, "the stream to open and a state to be sent")
    threads = list(client._threads)
    client.stop(timeout=3)
    assert not [t.name for t in threads if t.is_alive()]
    assert not client.connected
