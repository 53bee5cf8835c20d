"""The server test harness: a real `kiosk-server serve` process on loopback, on SQLite and (with a DSN) on
PostgreSQL. A uniquely named module (not conftest) so that tests and tools can import it unambiguously."""
from __future__ import annotations

import contextlib
import os
import time
import uuid

import httpx
import pytest
import sqlalchemy as sa

from server.process import ServerProcess

PG_DSN = os.environ.get("KIOSK_TEST_PG_DSN", "")
PG_SKIP = ("PostgreSQL tests need KIOSK_TEST_PG_DSN (a postgresql:// URL of a role that may create databases); "
           "run `eval \"$(bash scripts/ci-postgres.sh)\"` to install and start a local PostgreSQL and set it")
ADMIN_TOKEN = "test-admin-" + uuid.uuid4().hex


def fresh_postgres_database() -> tuple[str, callable]:
    """A new, empty database on the test server: (URL, drop function)."""
    if not PG_DSN:
        pytest.skip(PG_SKIP)
    return new_postgres_database(PG_DSN, "kiosk_test_")


def new_postgres_database(dsn: str, prefix: str) -> tuple[str, callable]:
    """Creates an empty database beside `dsn`'s: (its URL, a function that drops it)."""
    base = sa.engine.make_url(dsn).set(drivername="postgresql+psycopg")
    name = prefix + uuid.uuid4().hex[:12]
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        # FORCE ends our own sessions; an autovacuum worker on the new database is the server's, which the
        # test role may not end (InsufficientPrivilege): it finishes within moments, so try again
        for attempt in range(40):
            try:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                break
            except (sa.exc.ProgrammingError, sa.exc.OperationalError):
                if attempt == 39:
                    raise
                time.sleep(0.25)
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False), drop


def database_url(backend: str, tmp_path) -> tuple[str, callable]:
    if backend == "postgres":
        return fresh_postgres_database()
    return "", lambda: None  # the server's default: SQLite under its data dir


class Server:
    """A running server plus the admin's view of it."""

    def __init__(self, proc: ServerProcess, backend: str):
        self.proc, self.backend, self.url = proc, backend, proc.url
        self.admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def enroll(self, kiosk_id: str | None = None) -> tuple[str, dict]:
        """A new kiosk: (id, its auth headers)."""
        kiosk_id = kiosk_id or "k-" + uuid.uuid4().hex[:10]
        reply = httpx.post(f"{self.url}/v1/admin/kiosks", json={"kiosk_id": kiosk_id}, headers=self.admin, timeout=30)
        reply.raise_for_status()
        return kiosk_id, {"Authorization": f"Bearer {reply.json()['token']}"}

    def held(self, kiosk_id: str) -> list[tuple[int, str]]:
        records, after = [], 0
        while True:
            page = httpx.get(f"{self.url}/v1/admin/kiosks/{kiosk_id}/transactions", headers=self.admin,
                             params={"after_seq": after, "limit": 10000}, timeout=60).json()["records"]
            if not page:
                return records
            records += [(r["seq"], r["uuid"]) for r in page]
            after = page[-1]["seq"]

    def kiosk_status(self, kiosk_id: str) -> dict:
        fleet = httpx.get(f"{self.url}/v1/admin/fleet", headers=self.admin, timeout=30).json()
        return next(k for k in fleet["kiosks"] if k["kiosk_id"] == kiosk_id)


def start_server(backend: str, tmp_path, env: dict[str, str] | None = None, **kwargs) -> tuple[Server, callable]:
    """`env`: extra KSERVER_ settings for the server process."""
    url, drop = database_url(backend, tmp_path)
    proc = ServerProcess(tmp_path / "server", database_url=url, admin_token=ADMIN_TOKEN, **kwargs)
    proc.env.update(env or {})
    try:
        proc.start()
    except Exception:
        proc.close()
        drop()
        raise

    def close() -> None:
        proc.close()
        drop()
    return Server(proc, backend), close


@contextlib.contextmanager
def servers_on_one_postgres(tmp_path, count: int = 2, env: dict[str, str] | None = None):
    """`count` server processes on one fresh PostgreSQL database, as behind a load balancer: [Server, ...]."""
    url, drop = fresh_postgres_database()
    procs = []
    try:
        for n in range(count):
            proc = ServerProcess(tmp_path / f"server-{n}", database_url=url, admin_token=ADMIN_TOKEN)
            proc.env.update(env or {})
            procs.append(proc)
            proc.start()
        yield [Server(p, "postgres") for p in procs]
    finally:
        for proc in procs:
            proc.close()
        drop()
