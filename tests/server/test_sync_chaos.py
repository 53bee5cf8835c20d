"""The chaos test (see chaos.py): 20 kiosks, 20,000 transactions, server SIGKILLed every 2-4 s, a proxy
resetting ~10 % of connections (half of them after the server committed). 0 lost, 0 duplicated, 0 gaps."""
from __future__ import annotations

import pytest

from chaos import run_chaos
from kserver_harness import start_server


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_chaos_nothing_lost_nothing_doubled(backend, tmp_path):
    server, close = start_server(backend, tmp_path / "server")
    try:
        report = run_chaos(server, tmp_path, kiosks=20, per_kiosk=1000, timeout_s=150)
    finally:
        close()
    print(report)
    assert report.held == report.sent == 20_000
    assert (report.lost, report.duplicated, report.gaps, report.unexpected) == (0, 0, 0, 0)
    assert report.kills >= 3  # the faults really happened
    assert report.proxy.get("reset", 0) > 0 and report.proxy.get("reply_dropped_after_commit", 0) > 0
