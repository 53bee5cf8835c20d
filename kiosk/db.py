"""SQLite connections set up the way every kiosk database needs them, and versioned migrations."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Sequence


def connect(path: str | Path, *, durable: bool = True, check_same_thread: bool = True) -> sqlite3.Connection:
    """WAL mode; synchronous=FULL when every commit must survive a power cut.

    The connection is in autocommit mode: callers open transactions with explicit BEGIN."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=check_same_thread, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def migrate(conn: sqlite3.Connection, migrations: Sequence[str], name: str) -> int:
    """Applies migrations[n:] where n is the stored PRAGMA user_version; each in its own transaction.

    Migrations are append-only: a shipped migration is never edited, a change is a new entry."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(migrations):
        raise RuntimeError(f"{name} database is at schema {version}, newer than this app knows "
                           f"({len(migrations)}): refusing to run an older app on it")
    for number, script in enumerate(migrations[version:], start=version + 1):
        conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={number};\nCOMMIT;")
    return len(migrations)


def fsync_dir(folder: str | Path) -> None:
    """Makes a rename or a new file in `folder` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
