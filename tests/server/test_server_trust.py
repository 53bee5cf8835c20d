"""Issue 14: trust no kiosk further than its own data (ingest checks, receipts, what replies and pages reveal)."""
from __future__ import annotations

import json
import uuid

import httpx
import pytest
import sqlalchemy as sa

from server.db import alarms, dead_letters, make_engine
from server.settings import load
from server_records import batch, event, sale


def post(server, kiosk_id, headers, body):
    return httpx.post(f"{server.url}/v1/kiosks/{kiosk_id}/transactions", json=body, headers=headers, timeout=60)


def database(server):
    return make_engine(load({k: v for k, v in server.proc.env.items() if k.startswith("KSERVER_")}).url)


def dead_reasons(server, kiosk_id) -> dict[int, str]:
    engine = database(server)
    try:
        with engine.connect() as conn:
            return {r.seq: r.reason for r in conn.execute(
                sa.select(dead_letters.c.seq, dead_letters.c.reason).where(dead_letters.c.kiosk_id == kiosk_id))}
    finally:
        engine.dispose()


def alarm_rows(server, kiosk_id) -> list:
    engine = database(server)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(alarms.c.kind, alarms.c.details).where(alarms.c.kiosk_id == kiosk_id)))
    finally:
        engine.dispose()


def changed(record: dict, **body) -> dict:
    return dict(record, body=dict(record["body"], **body))


def test_receipt_token_of_another_sale_is_refused_and_alarmed(server):
    a, auth_a = server.enroll()
    b, auth_b = server.enroll()
    token = uuid.uuid4().hex
    assert post(server, a, auth_a, batch(sale(a, 1, token=token, total=500))).json()["accepted"] == 1
    forged = post(server, b, auth_b, batch(sale(b, 1, token=token, total=1)))
    assert forged.status_code == 200 and forged.json()["dead_lettered"] == 1 and forged.json()["held_through"] == 1
    assert "receipt_token" in dead_reasons(server, b)[1]
    assert [kind for kind, _ in alarm_rows(server, b)] == ["receipt_token_clash"]
    assert httpx.get(f"{server.url}/v1/receipts/{token}").json()["total"] == 500
    # twice in one batch: the second one is the clash
    c, auth_c = server.enroll()
    other = uuid.uuid4().hex
    reply = post(server, c, auth_c, batch(sale(c, 1, token=other), sale(c, 2, token=other)))
    assert reply.json()["accepted"] == 1 and reply.json()["dead_lettered"] == 1


def test_weak_receipt_tokens_are_refused_and_never_served(server):
    kiosk, auth = server.enroll()
    weak = ["0000000000000001", "0" * 32, "0123456789abcdef" * 2, "ab" * 20, "x" * 40, uuid.uuid4().hex[:20]]
    records = [sale(kiosk, seq, token=token) for seq, token in enumerate(weak, 1)]
    reply = post(server, kiosk, auth, batch(*records))
    assert reply.json()["dead_lettered"] == len(weak), reply.text
    for token in weak:
        assert httpx.get(f"{server.url}/v1/receipts/{token}").status_code == 404
        assert httpx.get(f"{server.url}/r/{token}").status_code == 404


def bad_sales(kiosk: str) -> dict[str, dict]:
    base = sale(kiosk, 1, total=1000)
    line = base["body"]["lines"][0]
    payment = base["body"]["payments"][0]
    vat = base["body"]["vat"][0]
    return {
        "total": changed(base, total=999, payments=[dict(payment, amount=999)]),
        "voided line counted": changed(base, lines=[line, dict(line, line_no=2, voided=True)], total=2000,
                                       payments=[dict(payment, amount=2000)]),
        "vat gross": changed(base, vat=[dict(vat, gross=900, net=800, vat=100)]),
        "net+vat": changed(base, vat=[dict(vat, net=vat["net"] + 1)]),
        "negative payment": changed(base, payments=[dict(payment, amount=1100), dict(payment, amount=-100)]),
        "underpaid": changed(base, payments=[dict(payment, amount=10)]),
        "device_time": dict(base, device_time="yesterday"),
        "device_time without offset": dict(base, device_time="2026-11-23T12:00:00"),
        "long name": changed(base, lines=[dict(line, name="x" * 5000)]),
        "card number in auth_code": changed(base, payments=[dict(payment, auth_code="4111111111111111")]),
        "card number in a name": changed(base, lines=[dict(line, name="Milk 4111 1111 1111 1111")]),
        "NUL in a name": changed(base, lines=[dict(line, name="Mi\x00lk")]),  # PostgreSQL text: once a 500
        "NUL in the receipt token": changed(base, receipt_token=base["body"]["receipt_token"] + "\x00"),
        "NUL in the brand": changed(base, payments=[dict(payment, brand="VI\x00SA")]),
    }


def test_sales_that_do_not_add_up_or_hold_card_numbers_are_dead_lettered(server):
    kiosk, auth = server.enroll()
    records = []
    for seq, (what, record) in enumerate(bad_sales(kiosk).items(), 1):
        records.append(dict(record, seq=seq, uuid=str(uuid.uuid4())))
    body = batch(*records)
    reply = post(server, kiosk, auth, body)
    assert reply.status_code == 200
    assert reply.json()["accepted"] == 0 and reply.json()["dead_lettered"] == len(records), reply.text
    reasons = dead_reasons(server, kiosk)
    assert "4111111111111111" not in json.dumps(reasons)
    engine = database(server)
    with engine.connect() as conn:
        payloads = conn.execute(sa.select(dead_letters.c.payload).where(dead_letters.c.kiosk_id == kiosk)).scalars()
        assert not any("4111111111111111" in p or "4111 1111 1111 1111" in p for p in payloads)
    engine.dispose()
    assert post(server, kiosk, auth, body).json()["duplicates"] == len(records)  # masked, still a resend
    assert all(reasons[seq] for seq in range(1, len(records) + 1))


def test_good_sales_with_voided_lines_and_several_rates_pass(server):
    kiosk, auth = server.enroll()
    base = sale(kiosk, 1, total=300)
    line, payment = base["body"]["lines"][0], base["body"]["payments"][0]
    lines = [dict(line, total=100, unit_price=100), dict(line, line_no=2, total=500, voided=True),
             dict(line, line_no=3, total=200, unit_price=200, vat_code="A", vat_rate=1900)]
    vat = [dict(code="B", rate=700, gross=100, net=93, vat=7), dict(code="A", rate=1900, gross=200, net=168, vat=32)]
    record = changed(base, lines=lines, vat=vat, payments=[dict(payment, amount=300)])
    assert post(server, kiosk, auth, batch(record)).json()["accepted"] == 1


def test_event_texts_and_heartbeat_states_are_bounded(server):
    kiosk, auth = server.enroll()
    huge = event(kiosk, 1)
    huge["body"]["details"] = {"note": "y" * 10_000}
    pan = event(kiosk, 2)
    pan["body"]["details"] = {"note": "card 5555 5555 5555 4444"}
    reply = post(server, kiosk, auth, batch(huge, pan))
    assert reply.json()["dead_lettered"] == 2
    states = {f"dev{i}": "ok" for i in range(1000)}
    beat = httpx.post(f"{server.url}/v1/kiosks/{kiosk}/heartbeat", headers=auth, timeout=30,
                      json={"app_version": "1", "device_states": states})
    assert beat.status_code == 422


def test_seq_far_above_what_is_held_opens_no_gap(server):
    kiosk, auth = server.enroll()
    post(server, kiosk, auth, batch(event(kiosk, 1)))
    reply = post(server, kiosk, auth, batch(event(kiosk, 2**53)))
    assert reply.status_code == 200 and reply.json()["held_through"] == 1
    status = server.kiosk_status(kiosk)
    assert status["max_seq"] == 1 and status["gaps"] == []
    assert "above what the server holds" in dead_reasons(server, kiosk)[2**53]


def test_dead_letters_and_alarms_per_kiosk_are_bounded(server):
    kiosk, auth = server.enroll()
    body = {"records": [{"seq": seq, "uuid": str(uuid.uuid4()), "record": {"junk": "z" * 1000}}
                        for seq in range(1, 301)]}
    reply = post(server, kiosk, auth, body)
    assert reply.json()["dead_lettered"] == 300 and reply.json()["held_through"] == 300
    assert post(server, kiosk, auth, body).json()["duplicates"] == 300  # resends stay duplicates
    engine = database(server)
    with engine.connect() as conn:
        full = conn.execute(sa.select(sa.func.count()).select_from(dead_letters).where(
            dead_letters.c.kiosk_id == kiosk, sa.func.length(dead_letters.c.payload) > 500)).scalar()
    engine.dispose()
    assert full == 100
    first = event(kiosk, 301)
    post(server, kiosk, auth, batch(first))
    for _ in range(40):  # each a conflict: one alarm per batch
        assert post(server, kiosk, auth, batch(event(kiosk, 301, uid=first["uuid"], name="x"))).status_code == 409
    rows = alarm_rows(server, kiosk)
    assert len(rows) == 21 and rows[-1].kind == "alarms_suppressed" and json.loads(rows[-1].details)["suppressed"] == 20


def test_replies_and_headers_name_no_other_kiosk_and_no_server(server):
    a, auth_a = server.enroll()
    b, _ = server.enroll()
    refused = httpx.get(f"{server.url}/v1/kiosks/{b}/sync-state", headers=auth_a)
    assert refused.status_code == 403 and a not in refused.text
    health = httpx.get(f"{server.url}/v1/health")
    assert "server" not in {k.lower() for k in health.headers}
    assert httpx.get(f"{server.url}/v1/docs").status_code == 404
    assert httpx.get(f"{server.url}/v1/redoc").status_code == 404
    assert httpx.get(f"{server.url}/v1/openapi.json").status_code == 200


def test_receipt_page_sends_security_headers_and_neutralises_bidi(server):
    kiosk, auth = server.enroll()
    token = uuid.uuid4().hex
    record = sale(kiosk, 1, token=token)
    record["body"]["lines"][0]["name"] = "Milk \u202eefil\u2066x\u2069"
    assert post(server, kiosk, auth, batch(record)).json()["accepted"] == 1
    page = httpx.get(f"{server.url}/r/{token}")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "no-store" in page.headers["cache-control"]
    assert not any(ch in page.text for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    assert "Milk efilx" in page.text
    assert httpx.get(f"{server.url}/r/{uuid.uuid4().hex}").headers["x-content-type-options"] == "nosniff"
    as_json = httpx.get(f"{server.url}/v1/receipts/{token}")
    assert as_json.headers["cache-control"] == "no-store" and as_json.json()["lines"][0]["name"] == "Milk efilx"


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_to_unique_receipt_tokens_survives_old_duplicates(backend, tmp_path):
    from pathlib import Path

    from alembic import command
    from alembic.config import Config

    import server.db
    from kserver_harness import fresh_postgres_database
    from server.db import migrate, transactions

    url, drop = fresh_postgres_database() if backend == "postgres" else (f"sqlite:///{tmp_path / 'old.db'}", None)
    engine = make_engine(url)
    config = Config()
    config.set_main_option("script_location", str(Path(server.db.__file__).parent / "migrations"))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    token = uuid.uuid4().hex
    row = dict(kiosk_id="k", kind="sale", payload="{}", payload_hash="h", received_at="2026", receipt_token=token)
    with engine.begin() as conn:
        conn.execute(sa.insert(transactions), [dict(row, seq=1, uuid="u1"), dict(row, seq=2, uuid="u2"),
                                               dict(row, seq=3, uuid="u3", receipt_token=None)])
    migrate(engine)
    with engine.connect() as conn:
        held = conn.execute(sa.select(transactions.c.seq, transactions.c.receipt_token)
                            .order_by(transactions.c.seq)).all()
    assert [tuple(r) for r in held] == [(1, token), (2, None), (3, None)]  # the receipt served before stays
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(transactions).values(dict(row, seq=4, uuid="u4")))
    engine.dispose()
    if drop:
        drop()
