"""Per-kiosk device uptime and faults (issue 16) through the real server, on SQLite and PostgreSQL: live states posted
over HTTP become fault spans; a known set of spans on past days gives uptime %, fault counts and the last fault in
the insight JSON and CSV, equal to what is computed here from the raw rows."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import sqlalchemy as sa

from live_client import state
from server.db import insight_device_faults, make_engine

STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"
DAY0 = datetime(2026, 9, 1, tzinfo=timezone.utc)  # the synthetic spans' days: 2026-09-01 .. 2026-09-10


@pytest.fixture(scope="module")
def db(server):
    url = server.proc.env.get("KSERVER_DATABASE_URL") or f"sqlite:///{server.proc.data_dir}/server.db"
    engine = make_engine(url)
    yield engine
    engine.dispose()


def spans(db, kiosk_id: str) -> list[dict]:
    t = insight_device_faults
    with db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(t).where(t.c.kiosk_id == kiosk_id).order_by(t.c.id))]


def post(server, headers, seq: int, **devices) -> None:
    reply = httpx.post(f"{server.url}/v1/live/state", json=state(seq, devices=devices), headers=headers, timeout=10)
    assert reply.status_code == 204, reply.text


def test_live_states_open_update_and_close_fault_spans(server, db):
    kiosk_id, headers = server.enroll()
    post(server, headers, 1, printer="ok", scanner="ok")
    assert spans(db, kiosk_id) == []
    post(server, headers, 2, printer="paper out", scanner="ok")
    post(server, headers, 3, printer="jammed", scanner="ok")  # still the same fault, now worse
    post(server, headers, 4, printer="ok", scanner="unplugged")
    post(server, headers, 5, printer="ok", scanner="ok")
    post(server, headers, 6, printer="paper out", scanner="ok")
    post(server, headers, 6, printer="ok", scanner="ok")  # an older state (same seq) changes nothing
    rows = spans(db, kiosk_id)
    assert [(r["device"], r["detail"], r["ended_at"] is None) for r in rows] == [
        ("printer", "jammed", False), ("scanner", "unplugged", False), ("printer", "paper out", True)]
    assert rows[0]["started_at"] < rows[0]["ended_at"] <= rows[1]["started_at"] < rows[1]["ended_at"]
    assert rows[1]["ended_at"] <= rows[2]["started_at"]
    today = datetime.now(timezone.utc).date().isoformat()
    report = httpx.get(f"{server.url}/v1/admin/insight", params={"from": today, "to": today, "kiosk": kiosk_id},
                       headers=server.admin, timeout=30).json()
    got = {d["device"]: d for d in report["devices"]}
    assert set(got) == {"printer", "scanner"}
    assert (got["printer"]["faults"], got["scanner"]["faults"]) == (2, 1)
    assert got["printer"]["last_fault"] == "paper out" and got["printer"]["last_fault_open"] is True
    assert got["scanner"]["last_fault"] == "unplugged" and got["scanner"]["last_fault_open"] is False
    assert 0 < got["printer"]["ok_pct"] < 100 and 0 < got["scanner"]["ok_pct"] < 100


def stamp(days: float) -> str:
    return (DAY0 + timedelta(days=days)).strftime(STAMP)


# (device, detail, start, end or None) in days after DAY0: faults across period edges, one still open
SYNTHETIC = [("printer", "paper out", -0.5, 0.25), ("printer", "jammed", 2, 2.5), ("printer", "paper out", 8.75, None),
             ("scanner", "unplugged", 1.1, 1.2), ("scanner", "unplugged", 3, 3.01), ("scanner", "dirty", 9.5, 11),
             ("payment", "no link", 12, 13)]


def expected(raw: list[dict], first: str, last: str) -> dict[str, dict]:
    """Uptime from the raw rows, by plain datetime arithmetic over the period [first 00:00, last + 1 day 00:00)."""
    p0 = datetime.fromisoformat(first).replace(tzinfo=timezone.utc)
    p1 = datetime.fromisoformat(last).replace(tzinfo=timezone.utc) + timedelta(days=1)
    out = {}
    for device in sorted({r["device"] for r in raw}):
        down, count, last_row = timedelta(), 0, None
        for r in (r for r in raw if r["device"] == device):
            s = datetime.strptime(r["started_at"], STAMP).replace(tzinfo=timezone.utc)
            e = datetime.strptime(r["ended_at"], STAMP).replace(tzinfo=timezone.utc) if r["ended_at"] else p1
            if s < p1 and e > p0:
                down += min(e, p1) - max(s, p0)
                count += p0 <= s
                last_row = r if last_row is None or r["started_at"] > last_row["started_at"] else last_row
        if last_row is not None:
            out[device] = {"ok_pct": 100 * (1 - down / (p1 - p0)), "faults": count, "fault_s": down.total_seconds(),
                           "last_fault_at": last_row["started_at"], "last_fault": last_row["detail"]}
    return out


@pytest.mark.parametrize("first,last", [("2026-09-01", "2026-09-10"), ("2026-09-03", "2026-09-03"),
                                        ("2026-09-09", "2026-09-30")])
def test_uptime_faults_and_last_fault_equal_the_raw_rows_in_json_and_csv(server, db, first, last):
    kiosk_id = getattr(server, "devices_kiosk", None)
    if kiosk_id is None:
        kiosk_id, _ = server.enroll()
        with db.begin() as conn:
            conn.execute(sa.insert(insight_device_faults), [
                dict(kiosk_id=kiosk_id, device=d, detail=detail, started_at=stamp(a),
                     ended_at=None if b is None else stamp(b)) for d, detail, a, b in SYNTHETIC])
        server.devices_kiosk = kiosk_id
    want = expected(spans(db, kiosk_id), first, last)
    assert want  # the data set has faults in every period asked for
    params = {"from": first, "to": last, "kiosk": kiosk_id}
    report = httpx.get(f"{server.url}/v1/admin/insight", params=params, headers=server.admin, timeout=30).json()
    got = {d["device"]: d for d in report["devices"] if d["device"] in want}
    assert set(got) == set(want)
    for device, w in want.items():
        g = got[device]
        assert g["kiosk"] == kiosk_id
        assert g["ok_pct"] == pytest.approx(w["ok_pct"], abs=1e-6), device
        assert g["fault_s"] == pytest.approx(w["fault_s"], abs=0.002), device
        assert (g["faults"], g["last_fault_at"], g["last_fault"]) == (w["faults"], w["last_fault_at"], w["last_fault"])
    listed = list(csv.DictReader(io.StringIO(httpx.get(f"{server.url}/v1/admin/insight/devices.csv", params=params,
                                                       headers=server.admin, timeout=30).text)))
    assert [(r["kiosk"], r["device"]) for r in listed] == [(d["kiosk"], d["device"]) for d in report["devices"]]
    for row in listed:
        if row["device"] in want:
            assert float(row["ok_pct"]) == pytest.approx(want[row["device"]]["ok_pct"], abs=0.005)
            assert int(row["faults"]) == want[row["device"]]["faults"]
    other = httpx.get(f"{server.url}/v1/admin/insight", params={**params, "kiosk": "no-such-kiosk"},
                      headers=server.admin, timeout=30).json()
    assert other["devices"] == []  # the kiosk filter applies
