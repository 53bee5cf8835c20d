"""The journal across an update: a consistent copy before a new release may migrate it, and what a rollback
may do with it. An older release cannot read a journal a newer one migrated; the copy can be put back only if
nothing was sold since (a sale exists only in the new journal, and money is never lost), otherwise the kiosk
stays on the new release, out of service, and a technician decides (intervention.json)."""
from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

INTERVENTION = "intervention.json"


def _ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


def backup(journal: Path, folder: Path, label: str) -> dict | None:
    """An online backup (SQLite's backup API: consistent while the kiosk writes); None without a journal."""
    if not journal.exists():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / f"journal-before-{label}.sqlite"
    tmp = dest.with_suffix(".tmp")
    src = _ro(journal)
    try:
        out = sqlite3.connect(tmp)
        try:
            src.backup(out)
        finally:
            out.close()
        schema = src.execute("PRAGMA user_version").fetchone()[0]
        seq = src.execute("SELECT coalesce(max(seq), 0) FROM transactions").fetchone()[0]
    finally:
        src.close()
    os.replace(tmp, dest)
    return {"path": str(dest), "schema": schema, "seq": seq}


def schema_of(journal: Path) -> int:
    with _ro(journal) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def sales_since(journal: Path, seq: int) -> int:
    with _ro(journal) as conn:
        return conn.execute("SELECT count(*) FROM transactions WHERE kind = 'sale' AND seq > ?", (seq,)).fetchone()[0]


def restore(saved: dict, journal: Path) -> None:
    """Puts the copy back (the kiosk is stopped): the newer journal's WAL and index go with it."""
    tmp = journal.with_name(".journal-restore.tmp")
    tmp.write_bytes(Path(saved["path"]).read_bytes())
    st = journal.stat()
    os.chown(tmp, st.st_uid, st.st_gid)
    for suffix in ("-wal", "-shm"):
        Path(f"{journal}{suffix}").unlink(missing_ok=True)
    os.replace(tmp, journal)


def raise_intervention(data: Path, text: str) -> None:
    """The kiosk starts out of service while this file exists (launcher/backend.py); a technician removes it."""
    (data / INTERVENTION).write_text(json.dumps({"reason": text}))


def intervention(data: Path) -> str | None:
    try:
        return json.loads((data / INTERVENTION).read_text())["reason"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
