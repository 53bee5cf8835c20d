"""The maintenance audit log is a hash chain: each record's hash covers its content and the previous
record's hash, so editing a record breaks its own hash and deleting one breaks the link of the next.
The journal keeps a counter of records written, so deleting the newest records is detected too, and
every record is also an outbox event that the central server keeps.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable, Mapping

GENESIS = "0" * 64  # the "previous hash" of the first record
FIELDS = ("seq", "at", "technician", "role", "action", "details")


def record_hash(prev_hash: str, record: Mapping[str, Any]) -> str:
    content = json.dumps({key: record[key] for key in FIELDS}, sort_keys=True, separators=(",", ":"),
                         ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}\n{content}".encode()).hexdigest()


def verify_chain(records: Iterable[Mapping[str, Any]], written: int) -> list[str]:
    """Problems found in `records` (oldest first); `written` is how many were ever appended.
    An empty list means the chain is intact."""
    problems: list[str] = []
    expected_seq, prev_hash = 1, GENESIS
    for record in records:
        seq = record["seq"]
        if seq != expected_seq:
            missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq} to {seq - 1}"
            problems.append(f"audit record {missing} deleted")
        elif record["prev_hash"] != prev_hash:
            problems.append(f"audit record {seq} does not follow record {seq - 1} (chain broken)")
        if record["hash"] != record_hash(record["prev_hash"], record):
            problems.append(f"audit record {seq} was changed after it was written")
        expected_seq, prev_hash = seq + 1, record["hash"]
    if expected_seq - 1 < written:
        missing = f"{written}" if expected_seq == written else f"{expected_seq} to {written}"
        problems.append(f"audit record {missing} deleted (the journal counted {written})")
    elif expected_seq - 1 > written:
        problems.append(f"the journal counted {written} audit records but {expected_seq - 1} exist")
    return problems


def flat_details(details: Mapping[str, Any]) -> dict[str, str | int | bool | None]:
    """Details as the wire's event body takes them: scalar values only (others as JSON text)."""
    flat: dict[str, str | int | bool | None] = {}
    for key, value in details.items():
        if value is None or isinstance(value, (str, int, bool)):
            flat[str(key)] = value
        else:
            flat[str(key)] = json.dumps(value, sort_keys=True, default=str)
    return flat
