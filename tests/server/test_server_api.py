"""The API against a real uvicorn process (SQLite, and PostgreSQL with KIOSK_TEST_PG_DSN)."""
from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone

import httpx

from server_records import batch, checkin, event, sale


def post(server, kiosk_id, headers, body):
    return httpx.post(f"{server.url}/v1/kiosks/{kiosk_id}/transactions", json=body, headers=headers, timeout=30)


def test_batch_is_stored_once_however_often_it_is_sent(server):
    kiosk, auth = server.enroll()
    records = [event(kiosk, seq) for seq in range(1, 51)]
    first = post(server, kiosk, auth, batch(*records))
    assert first.status_code == 200, first.text
    assert first.json()["server_time"].endswith("Z")  # every sync reply carries the server's clock (issue 14)
    assert first.json() | {"flagged": [], "server_time": None} == {"server_time": None, "held_through": 50, "accepted": 50, "duplicates": 0,
                                              "dead_lettered": 0, "flagged": []}
    again = post(server, kiosk, auth, batch(*records[10:20], *records[:5]))
    assert again.json()["held_through"] == 50 and again.json()["duplicates"] == 15 and again.json()["accepted"] == 0
    assert server.held(kiosk) == [(r["seq"], r["uuid"]) for r in records]


def test_known_uuid_with_other_payload_is_refused_and_alarmed(server):
    kiosk, auth = server.enroll()
    original = event(kiosk, 1)
    assert post(server, kiosk, auth, batch(original)).status_code == 200
    changed = event(kiosk, 1, uid=original["uuid"], name="tampered")
    reply = post(server, kiosk, auth, batch(changed, event(kiosk, 2)))
    assert reply.status_code == 409
    assert reply.json()["held_through"] == 0  # the kiosk must not acknowledge the conflicting record
    assert reply.json()["conflicts"][0]["seq"] == 1
    status = server.kiosk_status(kiosk)
    assert status["alarms"] == 1 and status["held_through"] == 1
    assert server.held(kiosk) == [(1, original["uuid"])]


def test_uuid_held_by_another_kiosk_conflicts(server):
    a, auth_a = server.enroll()
    b, auth_b = server.enroll()
    record = event(a, 1)
    assert post(server, a, auth_a, batch(record)).status_code == 200
    stolen = dict(record, kiosk_id=b)
    reply = post(server, b, auth_b, batch(stolen))
    assert reply.status_code == 409 and "another kiosk" in reply.json()["conflicts"][0]["reason"]
    assert a not in reply.text and "held as" not in reply.text  # neither the other kiosk nor its seq is named


def test_conflict_keeps_the_records_before_it(server):
    kiosk, auth = server.enroll()
    first = event(kiosk, 1)
    post(server, kiosk, auth, batch(first))
    reply = post(server, kiosk, auth, batch(event(kiosk, 2), event(kiosk, 3, uid=first["uuid"])))
    assert reply.status_code == 409 and reply.json()["held_through"] == 2
    assert [seq for seq, _ in server.held(kiosk)] == [1, 2]


def test_invalid_record_is_dead_lettered_and_acknowledged(server):
    kiosk, auth = server.enroll()
    good = event(kiosk, 1)
    bad = {"seq": 2, "uuid": str(uuid.uuid4()), "record": {"garbage": True}}
    wrong_kiosk = event("someone-else", 3)
    body = batch(good)
    body["records"] += [bad, {"seq": 3, "uuid": wrong_kiosk["uuid"], "record": wrong_kiosk}]
    reply = post(server, kiosk, auth, body)
    assert reply.status_code == 200
    assert reply.json()["held_through"] == 3 and reply.json()["dead_lettered"] == 2
    assert post(server, kiosk, auth, body).json()["duplicates"] == 3  # dead letters are idempotent too
    assert server.kiosk_status(kiosk)["dead_letters"] == 2
    assert server.held(kiosk) == [(1, good["uuid"])]


def test_gaps_are_reported_in_fleet_status(server):
    kiosk, auth = server.enroll()
    post(server, kiosk, auth, batch(*(event(kiosk, s) for s in (1, 2, 5, 9))))
    status = server.kiosk_status(kiosk)
    assert status["held_through"] == 2 and status["max_seq"] == 9
    assert status["gaps"] == [[3, 4], [6, 8]]
    reply = post(server, kiosk, auth, batch(*(event(kiosk, s) for s in (3, 4, 6, 7, 8))))
    assert reply.json()["held_through"] == 9 and server.kiosk_status(kiosk)["gaps"] == []


def test_malformed_batches_are_refused_with_a_reason(server):
    kiosk, auth = server.enroll()
    for body, word in (({"records": []}, "records"), ({"records": [{"seq": 0, "uuid": "x", "record": {}}]}, "seq"),
                       ({"nope": 1}, "records")):
        reply = post(server, kiosk, auth, body)
        assert reply.status_code == 422 and word in reply.text
    reply = httpx.post(f"{server.url}/v1/kiosks/{kiosk}/transactions", content=b"\xff\x00{not json",
                       headers=auth | {"content-type": "application/json"}, timeout=30)
    assert reply.status_code in (400, 422) and reply.json()["detail"]


def test_tokens_are_checked(server):
    a, auth_a = server.enroll()
    b, auth_b = server.enroll()
    body = batch(event(b, 1))
    assert post(server, b, {}, body).status_code == 401
    assert post(server, b, {"Authorization": "Bearer wrong"}, body).status_code == 401
    refused = post(server, b, auth_a, body)  # kiosk A writing as kiosk B
    assert refused.status_code == 403 and a not in refused.text  # issue 14: the refusal names no kiosk
    for path in ("sync-state", "config"):  # ... or reading as B
        assert httpx.get(f"{server.url}/v1/kiosks/{b}/{path}", headers=auth_a).status_code == 403
    assert httpx.get(f"{server.url}/v1/admin/fleet", headers=auth_a).status_code == 403
    assert httpx.get(f"{server.url}/v1/admin/fleet").status_code == 401
    assert server.held(b) == []


def test_catalog_deltas_etags_and_deletions(server):
    kiosk, auth = server.enroll()
    items = [{"plu": str(n), "names": {"en": f"item {n}"}, "price": "1.00", "vat": "A"} for n in range(1, 11)]
    load = httpx.put(f"{server.url}/v1/admin/catalog", json=items, headers=server.admin, timeout=30)
    assert load.status_code == 200, load.text
    v1 = load.json()["version"]
    full = httpx.get(f"{server.url}/v1/catalog", headers=auth, timeout=30)
    assert full.json()["full"] is True and full.json()["version"] == v1
    assert sorted(u["plu"] for u in full.json()["upserts"]) == sorted(i["plu"] for i in items)
    etag = full.headers["etag"]
    same = httpx.get(f"{server.url}/v1/catalog", params={"since": v1}, headers=auth | {"If-None-Match": etag})
    assert same.status_code == 304
    changed = items[1:]  # item 1 goes away
    changed[0] = dict(changed[0], price="2.00")
    v2 = httpx.put(f"{server.url}/v1/admin/catalog", json=changed, headers=server.admin).json()["version"]
    assert v2 > v1
    delta = httpx.get(f"{server.url}/v1/catalog", params={"since": v1}, headers=auth | {"If-None-Match": etag})
    assert delta.status_code == 200 and delta.headers["etag"] != etag
    assert delta.json()["full"] is False and delta.json()["version"] == v2
    assert delta.json()["deletes"] == ["PLU:1"]
    assert [(u["plu"], u["price"]) for u in delta.json()["upserts"]] == [("2", "2.00")]
    bad = httpx.put(f"{server.url}/v1/admin/catalog", json=[{"names": {"en": "no key"}}], headers=server.admin)
    assert bad.status_code == 422 and "gtin" in bad.json()["detail"]


def test_too_old_client_gets_a_full_snapshot(server):
    kiosk, auth = server.enroll()
    far_future = httpx.get(f"{server.url}/v1/catalog", params={"since": 10**9}, headers=auth).json()
    assert far_future["full"] is True  # a number this server never issued (say, restored from backup)
    items = [{"plu": str(n), "names": {"en": "x"}, "price": "1.00", "vat": "A"} for n in range(500, 505)]
    v1 = httpx.put(f"{server.url}/v1/admin/catalog", json=items, headers=server.admin).json()["version"]
    httpx.put(f"{server.url}/v1/admin/catalog", json=items[1:], headers=server.admin).raise_for_status()
    before = httpx.get(f"{server.url}/v1/catalog", params={"since": v1}, headers=auth).json()
    assert before["full"] is False and before["deletes"] == ["PLU:500"]
    subprocess.run([sys.executable, "-m", "server.cli", "admin", "compact", "catalog"], env=server.proc.env,
                   check=True, capture_output=True, timeout=120)
    after = httpx.get(f"{server.url}/v1/catalog", params={"since": v1}, headers=auth).json()
    assert after["full"] is True and after["deletes"] == []  # the tombstone is gone: a snapshot instead
    assert sorted(u["plu"] for u in after["upserts"]) == ["501", "502", "503", "504"]


def test_bookings_checkin_is_reported_to_others_and_doubles_flagged(server):
    a, auth_a = server.enroll()
    b, auth_b = server.enroll()
    code = "BK-" + uuid.uuid4().hex[:8]
    httpx.put(f"{server.url}/v1/admin/bookings", json=[{"code": code, "name": "Ann"}], headers=server.admin,
              params={"replace": "false"}).raise_for_status()
    before = httpx.get(f"{server.url}/v1/bookings", headers=auth_b).json()
    assert next(u for u in before["upserts"] if u["code"] == code)["used"] is False
    assert post(server, a, auth_a, batch(checkin(a, 1, code))).json()["flagged"] == []
    delta = httpx.get(f"{server.url}/v1/bookings", params={"since": before["version"]}, headers=auth_b).json()
    assert [(u["code"], u["used"], u["used_by"]) for u in delta["upserts"]] == [(code, True, a)]
    second = post(server, b, auth_b, batch(checkin(b, 1, code)))  # B was offline and checked it in too
    assert second.status_code == 200 and second.json()["accepted"] == 1
    assert f"already checked in at kiosk {a}" in second.json()["flagged"][0]["reason"]
    assert server.kiosk_status(b)["flagged"] == 1


def test_heartbeat_shows_in_fleet_status(server):
    kiosk, auth = server.enroll()
    beat = {"app_version": "1.2.3", "device_states": {"printer": "paper out"}, "queue_depth": 7,
            "oldest_unsent_age_s": 42.5}
    assert httpx.post(f"{server.url}/v1/kiosks/{kiosk}/heartbeat", json=beat, headers=auth).status_code == 200
    status = server.kiosk_status(kiosk)
    assert (status["app_version"], status["device_states"], status["queue_depth"], status["oldest_unsent_age_s"]) \
        == ("1.2.3", {"printer": "paper out"}, 7, 42.5)


def test_heartbeat_device_time_shows_the_clock_skew_in_fleet_status(server):
    kiosk, auth = server.enroll()
    url = f"{server.url}/v1/kiosks/{kiosk}/heartbeat"
    ahead = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert httpx.post(url, json={"app_version": "1", "device_time": ahead}, headers=auth).status_code == 200
    assert abs(server.kiosk_status(kiosk)["clock_skew_s"] - 3600) < 30
    for unusable in ("yesterday", "2026-12-01T10:00:00"):  # not a time, or no zone: unknown, the beat still taken
        assert httpx.post(url, json={"app_version": "2", "device_time": unusable}, headers=auth).status_code == 200
        assert server.kiosk_status(kiosk)["clock_skew_s"] is None
        assert server.kiosk_status(kiosk)["app_version"] == "2"
    too_long = {"app_version": "3", "device_time": "9" * 41}
    assert httpx.post(url, json=too_long, headers=auth).status_code == 422


def test_receipt_lookup_is_public_and_shows_no_card_number(server):
    kiosk, auth = server.enroll()
    token = uuid.uuid4().hex + "Receipt"
    post(server, kiosk, auth, batch(sale(kiosk, 1, token=token, total=349)))
    reply = httpx.get(f"{server.url}/v1/receipts/{token}")
    assert reply.status_code == 200 and reply.json()["total"] == 349
    assert reply.json()["payments"][0]["card_last4"] == "1234"
    page = httpx.get(f"{server.url}/r/{token}")
    assert page.status_code == 200 and "3.49" in page.text
    for text in (reply.text, page.text):
        assert "412345" not in text and "123456" not in text  # no BIN, no auth code
    assert httpx.get(f"{server.url}/v1/receipts/{uuid.uuid4().hex}").status_code == 404
    assert httpx.get(f"{server.url}/v1/receipts/short").status_code == 404


def test_kiosk_config_pull_with_etag(server):
    kiosk, auth = server.enroll()
    put = httpx.put(f"{server.url}/v1/admin/kiosks/{kiosk}/config", json={"ui": {"large_text": True}},
                    headers=server.admin)
    assert put.status_code == 200 and put.json()["version"] == 1
    got = httpx.get(f"{server.url}/v1/kiosks/{kiosk}/config", headers=auth)
    assert got.json()["config"] == {"ui": {"large_text": True}}
    again = httpx.get(f"{server.url}/v1/kiosks/{kiosk}/config", headers=auth | {"If-None-Match": got.headers["etag"]})
    assert again.status_code == 304


def test_receipt_page_shows_the_shop_a_vat_table_and_a_human_time(server):
    """Issue 11: the public receipt page (/r/<token>) lacked the shop name, the VAT per rate and a readable time."""
    import re

    kiosk = "k-" + uuid.uuid4().hex[:10]
    reply = httpx.post(f"{server.url}/v1/admin/kiosks", json={"kiosk_id": kiosk, "name": "Corner Shop & Café"},
                       headers=server.admin, timeout=30)
    auth = {"Authorization": f"Bearer {reply.json()['token']}"}
    token = uuid.uuid4().hex + "VatTable"
    record = sale(kiosk, 1, token=token)
    lines = [dict(line_no=1, item_id="04006381333931", name="Milk", quantity=2, unit_price=119, total=238,
                  vat_code="B", vat_rate=700),
             dict(line_no=2, item_id="04000000000023", name="Red wine", quantity=1, unit_price=699, total=699,
                  vat_code="A", vat_rate=1900)]
    vat = [dict(code="A", rate=1900, gross=699, net=587, vat=112), dict(code="B", rate=700, gross=238, net=222, vat=16)]
    record["body"].update(total=937, lines=lines, vat=vat,
                          payments=[dict(method="card", amount=937, status="approved", brand="VISA",
                                         masked_pan="412345******1234")])
    assert post(server, kiosk, auth, batch(record)).json()["accepted"] == 1
    page = httpx.get(f"{server.url}/r/{token}")
    assert page.status_code == 200
    text = page.text
    assert "<h1 class=shop>Corner Shop &amp; Café</h1>" in text
    assert "23.11.2026 12:00" in text and "2026-11-23T12:00:00" not in text
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr class=vat-rate>(.*?)</tr>", text)]
    assert rows == [["A", "19.00 %", "5.87", "1.12", "6.99"], ["B", "7.00 %", "2.22", "0.16", "2.38"]]
    cents = lambda s: int(s.replace(".", ""))  # noqa: E731
    assert sum(cents(gross) for *_, gross in rows) == 937
    assert all(cents(net) + cents(vat) == cents(gross) for _, _, net, vat, gross in rows)
    assert re.search(r"<tr class=vat-total><th>Total</th><td></td><th class=n>8.09</th><th class=n>1.28</th>"
                     r"<th class=n>9.37</th></tr>", text)
    assert "<b>Total 9.37 EUR</b>" in text and "412345" not in text
    assert httpx.get(f"{server.url}/v1/receipts/{token}").json()["shop_name"] == "Corner Shop & Café"
    unnamed, unnamed_auth = server.enroll()  # enrolled without a name: the page names the kiosk
    other = uuid.uuid4().hex + "NoName"
    post(server, unnamed, unnamed_auth, batch(sale(unnamed, 1, token=other)))
    assert f"<h1 class=shop>{unnamed}</h1>" in httpx.get(f"{server.url}/r/{other}").text
