"""Export of the unsent queue (the outbox) to a USB stick, for manual upload when a kiosk cannot
reach its server. Each file is a request body the server's upload takes as it is:

    curl -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
         --data @kiosk-001-unsent-20261123T161500Z-001.json $SERVER/v1/kiosks/kiosk-001/transactions

(at most 1,000 records per file, the server's batch limit). Nothing is removed from the outbox:
the sync client still sends everything, and the server ignores what it already holds.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from kiosk.db import fsync_dir

FILE_RECORDS = 1000  # the server's largest batch


class ExportError(Exception):
    pass


def export_unsent(journal, folder: str | Path, kiosk_id: str, now: datetime | None = None) -> tuple[list[Path], int]:
    """(files written, records exported). Raises ExportError when the stick is not there."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ExportError(f"no USB stick at {folder}: insert one (or set [maintenance] usb_export_dir)")
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    files, exported, after = [], 0, 0
    # one file's records at a time: a long offline spell does not load the whole outbox into memory
    while chunk := journal.pending_outbox(FILE_RECORDS, after=after):
        n, after, exported = len(files) + 1, chunk[-1].seq, exported + len(chunk)
        body = {"records": [{"seq": r.seq, "uuid": r.uuid, "record": _record_of(r.payload)} for r in chunk]}
        path = folder / f"{kiosk_id}-unsent-{stamp}-{n:03d}.json"
        tmp = path.with_name(path.name + ".part")
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(body, f, ensure_ascii=False)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
        files.append(path)
    fsync_dir(folder)
    return files, exported


def _record_of(payload: str) -> dict:
    try:
        record = json.loads(payload)
    except ValueError:
        record = None
    return record if isinstance(record, dict) else {"unreadable_outbox_payload": payload}

