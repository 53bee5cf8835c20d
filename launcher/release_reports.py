"""kiosk-update's reports to the central server: what became of each release it tried (kept after its probation,
rolled back, or left in place with a technician called). A report is kept in update-state.json until the server
has it, so one decided while the network is away (or in --on-start, which never waits for it) goes with a later
run; its report_id makes a resend harmless. The server halts a release's rollout at a site on its first rollback."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import httpx

from kiosk import config
from kiosk.wire import ReleaseReport
from launcher.release_store import State, Store

PENDING_MAX = 50  # a kiosk without a server for months keeps its newest reports, not an ever-growing file


def add(state: State, version: str, outcome: str, detail: str = "") -> None:
    """Notes a report in `state` (the caller saves it, with the decision it reports)."""
    report = ReleaseReport(report_id=str(uuid.uuid4()), version=version, outcome=outcome, detail=detail[:1000],
                           at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    state.reports = (state.reports + [report.model_dump()])[-PENDING_MAX:]


def send(store: Store, settings: config.Settings, timeout: float = 10) -> str:
    """Sends the pending reports; those the server took leave the state. Never raises: says what happened."""
    try:
        return _send(store, settings, timeout)
    except OSError as exc:  # the state file: the decision itself is saved already, only its report waits
        return f"release reports not sent: {exc}"


def _send(store: Store, settings: config.Settings, timeout: float) -> str:
    pending = store.load().reports
    if not pending:
        return ""
    server = settings.server
    if not server.url or not server.token:
        return f"{len(pending)} release report(s) kept: no central server configured"
    sent, problem = set(), ""
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"},
                          timeout=timeout) as client:
            for report in pending:
                reply = client.post(f"/v1/kiosks/{settings.kiosk.id}/release-reports", json=report)
                if reply.status_code == 204:
                    sent.add(report["report_id"])
                elif reply.status_code in (404, 422):  # never to be taken (unknown release, invalid): not kept
                    sent.add(report["report_id"])
                    problem = f"the server refused a release report for good: {reply.text[:200]}"
                else:
                    problem = f"the server answered {reply.status_code} to a release report; kept for the next run"
                    break
    except httpx.HTTPError as exc:
        problem = f"release reports kept for the next run: {type(exc).__name__}: {exc}"
    if sent:
        with store.lock():
            state = store.load()
            state.reports = [r for r in state.reports if r["report_id"] not in sent]
            store.save(state)
    return problem or f"{len(sent)} release report(s) sent to the central server"
