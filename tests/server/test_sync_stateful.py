"""Hypothesis stateful test of the sync state machine: record, send, lose the request, lose the reply
(the server committed), kiosk crash and restart, server SIGKILL and restart. Real journal, real sync
client, real server process; only the network in between misbehaves on command."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition, rule,
                                 run_state_machine_as_test)

from kserver_harness import start_server
from kiosk.journal import Journal
from kiosk.sync import SyncClient, SyncError


EXAMPLES = int(os.environ.get("KIOSK_SYNC_SM_EXAMPLES", "12"))  # raise for a longer search


class Network(httpx.HTTPTransport):
    """Passes requests on, or loses them before or after the server handled them."""
    mode = "ok"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.mode == "lose_request":
            raise httpx.ConnectError("lost on the way to the server", request=request)
        response = super().handle_request(request)
        if self.mode == "lose_reply":
            response.read()
            response.close()
            raise httpx.ReadError("reply lost on the way back", request=request)
        return response


SERVER = ADMIN = None  # set by the test; a state machine class cannot take fixtures


class SyncMachine(RuleBasedStateMachine):
    @initialize(batch_size=st.integers(1, 7))
    def setup(self, batch_size):
        self.dir = Path(tempfile.mkdtemp(prefix="sync-sm-"))
        self.kiosk_id, auth = SERVER.enroll()
        self.token = auth["Authorization"][7:]
        self.batch_size = batch_size
        self.recorded: list[str] = []  # the model: every uuid the kiosk committed, in seq order
        self._open()

    def _open(self) -> None:
        self.journal = Journal(self.dir / "journal.db", self.kiosk_id).start()
        self.network = Network()
        self.client = SyncClient(self.journal, server_url=SERVER.url, token=self.token, kiosk_id=self.kiosk_id,
                                 batch_size=self.batch_size, http=httpx.Client(transport=self.network, timeout=30))

    @rule(n=st.integers(1, 6))
    def record(self, n):
        for _ in range(n):
            self.recorded.append(self.journal.record_event("sm").uuid)

    @rule()
    def send(self):
        self.network.mode = "ok"
        self.client.push_once()

    @rule(where=st.sampled_from(["lose_request", "lose_reply"]))
    def send_and_lose(self, where):
        self.network.mode = where
        pending = self.journal.outbox_stats()[0]
        if pending:
            with pytest.raises(SyncError, match="not reachable"):
                self.client.push_once()
        assert self.journal.outbox_stats()[0] == pending  # nothing deleted without the server's word
        self.network.mode = "ok"

    @rule()
    def crash_and_restart(self):
        # the kiosk process dies between any two steps; everything must come back from the journal file
        self.client.http.close()
        self.journal.close()
        self._open()

    @rule(roll=st.integers(0, 11))
    def server_crash_and_restart(self, roll):
        if roll == 0:  # SIGKILL and a new process (slow: kept to about one step in a hundred)
            SERVER.proc.kill()
            SERVER.proc.start()

    @precondition(lambda self: hasattr(self, "journal"))
    @rule()
    def sync_everything(self):
        self.network.mode = "ok"
        while self.client.push_once():
            pass
        assert self.journal.outbox_stats()[0] == 0
        assert self._held() == self.recorded

    def _held(self) -> list[str]:
        page = ADMIN.get(f"/v1/admin/kiosks/{self.kiosk_id}/transactions", params={"limit": 10000}).json()
        return [r["uuid"] for r in page["records"]]

    @invariant()
    def nothing_lost_doubled_or_reordered(self):
        if not hasattr(self, "journal"):
            return
        held = self._held()
        assert held == self.recorded[:len(held)]  # a prefix: in order, no duplicates, no gaps
        outbox = [row.uuid for row in self.journal.pending_outbox(10_000)]
        assert outbox == self.recorded[len(self.recorded) - len(outbox):]  # unsent = a suffix
        assert set(self.recorded) - set(outbox) <= set(held)  # deleted only what the server holds

    def teardown(self):
        if hasattr(self, "journal"):
            self.client.http.close()
            self.journal.close()
            shutil.rmtree(self.dir, ignore_errors=True)


def test_sync_state_machine(tmp_path):
    global SERVER, ADMIN
    SERVER, close = start_server("sqlite", tmp_path)
    try:
        with httpx.Client(base_url=SERVER.url, headers=SERVER.admin, timeout=30) as ADMIN:
            run_state_machine_as_test(SyncMachine, settings=settings(
                max_examples=EXAMPLES, stateful_step_count=20, deadline=None, database=None,
                suppress_health_check=list(HealthCheck)))
    finally:
        close()
