"""Fixtures: a real `kiosk-server serve` process on loopback, on SQLite and (with a DSN) on PostgreSQL."""
from __future__ import annotations

import pytest

from kserver_harness import start_server

# the shared servers are fuzzed with wrong tokens from one address: throttling is tested on a server of its own
UNTHROTTLED = {"KSERVER_FAILURE_BURST": "1000000000"}


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request, tmp_path_factory):
    srv, close = start_server(request.param, tmp_path_factory.mktemp(f"server-{request.param}"), env=UNTHROTTLED)
    yield srv
    close()


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory):
    srv, close = start_server("sqlite", tmp_path_factory.mktemp("server-sqlite-only"), env=UNTHROTTLED)
    yield srv
    close()
