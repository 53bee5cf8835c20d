"""Building valid TransactionRecords and batches for tests and benchmarks."""
from __future__ import annotations

import uuid as uuidlib

from kiosk.wire import TransactionRecord


def sale(kiosk_id: str, seq: int, uid: str | None = None, total: int = 199, token: str | None = None) -> dict:
    return TransactionRecord.model_validate(dict(
        uuid=uid or str(uuidlib.uuid4()), kiosk_id=kiosk_id, seq=seq, boot_id="boot-1",
        device_time="2026-11-23T12:00:00+01:00",
        body=dict(kind="sale", currency="EUR", total=total, receipt_token=token or uuidlib.uuid4().hex + "x" * 8,
                  lines=[dict(line_no=1, item_id="04006381333931", name="Milk", quantity=1, unit_price=total,
                              total=total, vat_code="B", vat_rate=700)],
                  vat=[dict(code="B", rate=700, gross=total, net=total * 100 // 107, vat=total - total * 100 // 107)],
                  payments=[dict(method="card", amount=total, status="approved", brand="VISA",
                                 masked_pan="412345******1234", auth_code="123456")]))).model_dump(mode="json")


def checkin(kiosk_id: str, seq: int, code: str) -> dict:
    return TransactionRecord.model_validate(dict(
        uuid=str(uuidlib.uuid4()), kiosk_id=kiosk_id, seq=seq, boot_id="boot-1",
        device_time="2026-11-23T12:00:00+01:00",
        body=dict(kind="checkin", booking_code=code, party_size=2, ticket_no=seq))).model_dump(mode="json")


def event(kiosk_id: str, seq: int, uid: str | None = None, name: str = "help") -> dict:
    return TransactionRecord.model_validate(dict(
        uuid=uid or str(uuidlib.uuid4()), kiosk_id=kiosk_id, seq=seq, boot_id="boot-1",
        device_time="2026-11-23T12:00:00+01:00", body=dict(kind="event", event=name))).model_dump(mode="json")


def batch(*records: dict) -> dict:
    return {"records": [{"seq": r["seq"], "uuid": r["uuid"], "record": r} for r in records]}
