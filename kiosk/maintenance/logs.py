"""The tail of the app log (`<data_dir>/logs/kiosk.log`, written by launcher.cli) with a level filter.

Lines look like `2026-11-23 16:15:00,123 WARNING kiosk.sync: text`; a traceback's lines belong to
the entry above them. Only the end of the file is read, so a big log costs nothing.
"""
from __future__ import annotations

import re
from pathlib import Path

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[,.]\d+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


def tail(path: str | Path, min_level: str = "INFO", limit: int = 200, max_bytes: int = 256_000) -> list[str]:
    """The newest `limit` entries at `min_level` or above, oldest first."""
    if min_level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {min_level!r}")
    floor = LEVELS.index(min_level)
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(size - max_bytes, 0))
            data = f.read()
    except FileNotFoundError:
        return []
    except OSError as exc:
        return [f"cannot read {path}: {exc.strerror or exc}"]
    lines = data.decode("utf-8", errors="replace").splitlines()
    if size > max_bytes and lines:
        lines = lines[1:]  # the first line was cut in the middle
    entries: list[tuple[int, list[str]]] = []
    for line in lines:
        match = _ENTRY.match(line)
        if match:
            entries.append((LEVELS.index(match.group(1)), [line]))
        elif entries:
            entries[-1][1].append(line)
    kept = ["\n".join(text) for level, text in entries if level >= floor]
    return kept[-limit:]
