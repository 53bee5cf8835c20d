"""The maintenance audit log is a hash chain: each record's hash covers its content and the previous
record's hash, so editing a record breaks its own hash and deleting one breaks the link of the next.
The journal keeps a counter of records written, so deleting the newest records is detected too, and
every record is also an outbox event that the central server keeps.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Iterable, Mapping

GENESIS = "0" * 64  # the "previous hash" of the first record
FIELDS = ("seq", "at", "technician", "role", "action", "details")


def record_hash(prev_hash: str, record: Mapping[str, Any]) -> str:
    content = json.dumps({key: record[key] for key in FIELDS}, sort_keys=True, separators=(",", ":"),
                         ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}\n{content}".encode()).hexdigest()


def verify_chain(records: Iterable[Mapping[str, Any]], written: int, after: int = 0,
                 after_hash: str = GENESIS) -> list[str]:
    """Problems found in `records` (oldest first); `written` is how many were ever appended.
    An empty list means the chain is intact. `after`/`after_hash`: the records continue a chain
    already verified up to record `after`, whose hash is `after_hash`."""
    problems: list[str] = []
    expected_seq, prev_hash = after + 1, after_hash
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


class ChainCheck:
    """Verifies the chain once in full, then only the records appended since (each refresh of the
    maintenance System page reads and hashes just the new ones, not the whole log).

    `records(after)` returns the records with seq > after, oldest first; `written()` the journal's
    counter. A problem found stays reported until the next `full()`. The incremental check sees
    new records, forged new records, and the newest verified record changed or deleted (it is read
    again each time; then the whole chain is checked); a change to older records it already
    verified is seen by `full()` (the System page runs it when opened and on "check")."""

    def __init__(self, records: Callable[[int], list[Mapping[str, Any]]], written: Callable[[], int]):
        self._records, self._written = records, written
        self._last: Mapping[str, Any] | None = None  # the newest verified record
        self.problems: list[str] = []

    @property
    def verified(self) -> int:
        return self._last["seq"] if self._last else 0

    def full(self) -> list[str]:
        self._last, self.problems = None, []
        return self.update()

    def update(self) -> list[str]:
        if self.problems:
            return self.problems
        written = self._written()
        records = self._records(max(self.verified - 1, 0))
        if self._last is not None:
            if not records or records[0] != self._last:  # the newest verified record changed or is gone
                return self.full()
            records = records[1:]
        after, after_hash = (self._last["seq"], self._last["hash"]) if self._last else (0, GENESIS)
        self.problems = verify_chain(records, written, after, after_hash)
        if records and not self.problems:
            self._last = records[-1]
        return self.problems


def flat_details(details: Mapping[str, Any]) -> dict[str, str | int | bool | None]:
    """Details as the wire's event body takes them: scalar values only (others as JSON text)."""
    flat: dict[str, str | int | bool | None] = {}
    for key, value in details.items():
        if value is None or isinstance(value, (str, int, bool)):
            flat[str(key)] = value
        else:
            flat[str(key)] = json.dumps(value, sort_keys=True, default=str)
    return flat
