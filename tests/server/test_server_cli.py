"""`kiosk-server admin …` on a real database, the migrations, and HTTPS through uvicorn's TLS options."""
from __future__ import annotations

import contextlib
import io
import json
import os
import ssl
import subprocess
from unittest import mock

import httpx
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kserver_harness import ADMIN_TOKEN, fresh_postgres_database
from server.cli import main
from server.db import make_engine, metadata, migrate
from server.process import ServerProcess



def cli(tmp_path, *args, check=True, **env):
    """`kiosk-server …` in this process (a subprocess per call would cost a second each)."""
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, {"KSERVER_DATA_DIR": str(tmp_path / "data"), **env}), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    done = subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_admin_enroll_load_status(tmp_path):
    enrolled = cli(tmp_path, "admin", "enroll", "till-1", "--name", "Front")
    token = enrolled.stdout.strip().splitlines()[-1]
    assert len(token) >= 40
    again = cli(tmp_path, "admin", "enroll", "till-1", check=False)
    assert again.returncode == 1 and "already enrolled" in again.stderr
    assert cli(tmp_path, "admin", "enroll", "bad id!", check=False).returncode == 1

    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text("gtin,plu,name_en,price,vat\n4006381333931,,Pen,1.99,A\n,42,Apples,2.49,B\n", encoding="utf-8")
    loaded = cli(tmp_path, "admin", "load-catalog", str(csv_file))
    assert "2 items read, 2 changed, 0 deleted" in loaded.stdout
    json_file = tmp_path / "catalog.json"
    json_file.write_text(json.dumps([{"gtin": "4006381333931", "name_en": "Pen", "price": "2.19", "vat": "A"}]))
    assert "1 changed, 1 deleted" in cli(tmp_path, "admin", "load-catalog", str(json_file)).stdout
    broken = tmp_path / "broken.json"
    broken.write_text('[{"name_en": "no key"}]')
    refused = cli(tmp_path, "admin", "load-catalog", str(broken), check=False)
    assert refused.returncode == 1 and "item 1" in refused.stderr and "gtin" in refused.stderr
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\xff\xfe{{{")
    assert cli(tmp_path, "admin", "load-catalog", str(garbage), check=False).returncode == 1

    bookings = tmp_path / "bookings.json"
    bookings.write_text(json.dumps([{"code": "AB12CD34", "name": "Ann", "slot_start": "2026-11-23T18:00:00+01:00",
                                     "slot_end": "2026-11-23T19:00:00+01:00", "party_size": 2}]))
    assert "1 changed" in cli(tmp_path, "admin", "load-bookings", str(bookings)).stdout
    config = tmp_path / "config.json"
    config.write_text('{"ui": {"large_text": true}}')
    assert "config version 1" in cli(tmp_path, "admin", "set-config", "till-1", str(config)).stdout

    status = json.loads(cli(tmp_path, "admin", "status", "--json").stdout)
    assert [k["kiosk_id"] for k in status["kiosks"]] == ["till-1"]
    assert "till-1" in cli(tmp_path, "admin", "status").stdout
    assert "tombstones dropped" in cli(tmp_path, "admin", "compact", "catalog").stdout

    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'server.db'}")
    with engine.connect() as conn:  # every admin action is in the audit log
        actions = [row[0] for row in conn.execute(sa.text("SELECT action FROM admin_log ORDER BY id"))]
    engine.dispose()
    assert actions == ["enroll", "load-catalog", "load-catalog", "load-bookings", "set-config", "compact"]


def test_problems_lists_dead_letters_alarms_and_flags(tmp_path):
    from kiosk.wire import OutboxEntry
    from server.ingest import ingest
    from server_records import checkin, event

    cli(tmp_path, "admin", "enroll", "till-2")
    bookings = tmp_path / "bookings.json"
    bookings.write_text(json.dumps([{"code": "ZZ99", "name": "Bo"}]))
    cli(tmp_path, "admin", "load-bookings", str(bookings))
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'server.db'}")
    first = event("till-2", 1)
    ingest(engine, "till-2", [OutboxEntry(seq=1, uuid=first["uuid"], record=first),
                              OutboxEntry(seq=2, uuid="00000000-0000-4000-8000-000000000002", record={"bad": 1}),
                              OutboxEntry(seq=3, uuid=(c1 := checkin("till-2", 3, "ZZ99"))["uuid"], record=c1),
                              OutboxEntry(seq=4, uuid=(c2 := checkin("till-2", 4, "ZZ99"))["uuid"], record=c2)])
    changed = event("till-2", 1, uid=first["uuid"], name="changed")
    ingest(engine, "till-2", [OutboxEntry(seq=1, uuid=first["uuid"], record=changed)])
    engine.dispose()
    found = json.loads(cli(tmp_path, "admin", "problems", "--kiosk", "till-2", "--json").stdout)
    assert [d["seq"] for d in found["dead_letters"]] == [2] and "uuid: Field required" in found["dead_letters"][0]["reason"]
    assert len(found["alarms"]) == 1 and "different payload" in found["alarms"][0]["details"]
    assert [f["seq"] for f in found["flagged"]] == [4] and "already checked in" in found["flagged"][0]["flag"]
    assert "dead letters (1)" in cli(tmp_path, "admin", "problems").stdout


def test_bad_server_setting_is_named(tmp_path):
    done = cli(tmp_path, "admin", "status", check=False, KSERVER_FULL_AFTER="lots")
    assert done.returncode == 2 and "KSERVER_FULL_AFTER" in done.stderr
    done = cli(tmp_path, "admin", "status", check=False, KSERVER_NOPE="1")
    assert done.returncode == 2 and "KSERVER_NOPE: not a setting" in done.stderr


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migrations_build_exactly_the_declared_schema(backend, tmp_path):
    url, drop = fresh_postgres_database() if backend == "postgres" else (f"sqlite:///{tmp_path / 'm.db'}", None)
    engine = make_engine(url)
    try:
        migrate(engine)
        migrate(engine)  # a second run is a no-op
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        engine.dispose()
        if drop:
            drop()


def test_https_with_uvicorn_certificate_options(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    with ServerProcess(tmp_path / "tls", admin_token=ADMIN_TOKEN, tls=(str(cert), str(key))) as server:
        assert server.url.startswith("https://")
        reply = httpx.get(f"{server.url}/v1/admin/fleet", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                          verify=ssl.create_default_context(cafile=str(cert)))
        assert reply.status_code == 200
        with pytest.raises(httpx.ConnectError):  # an unknown certificate is refused by default
            httpx.get(f"{server.url}/v1/health")


@pytest.mark.postgres
def test_copy_from_sqlite_to_postgresql(tmp_path):
    from server.ingest import ingest
    from kiosk.wire import OutboxEntry
    from server_records import event, sale

    cli(tmp_path, "admin", "enroll", "till-9")
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'server.db'}")
    records = [sale("till-9", 1), event("till-9", 2), event("till-9", 4)]
    ingest(engine, "till-9", [OutboxEntry(seq=r["seq"], uuid=r["uuid"], record=r) for r in records])
    engine.dispose()
    url, drop = fresh_postgres_database()
    try:
        done = cli(tmp_path, "admin", "copy-to", url)
        assert "transactions 3" in done.stdout and "kiosks 1" in done.stdout
        status = json.loads(cli(tmp_path, "admin", "status", "--json", KSERVER_DATABASE_URL=url).stdout)
        kiosk = status["kiosks"][0]
        assert (kiosk["kiosk_id"], kiosk["held_through"], kiosk["max_seq"], kiosk["gaps"]) == ("till-9", 2, 4, [[3, 3]])
        pg = make_engine(url)  # new rows get new ids after the copied ones
        ingest(pg, "till-9", [OutboxEntry(seq=3, uuid=(r := event("till-9", 3))["uuid"], record=r)])
        with pg.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM transactions")).scalar() == 4
        pg.dispose()
        assert cli(tmp_path, "admin", "copy-to", url, check=False).returncode == 1  # never into a used database
    finally:
        drop()
