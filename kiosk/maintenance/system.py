"""Facts for the System page: version, uptimes, disk and memory (from /proc on Linux)."""
from __future__ import annotations

import os
import platform
import shutil
import sys
import time
from importlib import metadata
from pathlib import Path

_STARTED = time.time()


def version() -> str:
    try:
        return metadata.version("selfservice-kiosk")
    except metadata.PackageNotFoundError:
        return "unknown"


def _meminfo() -> dict[str, int]:
    values = {}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            name, _, rest = line.partition(":")
            values[name] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return values


def _rss() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _system_uptime() -> float | None:
    try:
        return float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def info(data_dir: str | Path) -> dict:
    disk = shutil.disk_usage(data_dir if Path(data_dir).exists() else ".")
    mem = _meminfo()
    return {
        "version": version(), "python": sys.version.split()[0], "host": platform.node(),
        "app_uptime_s": time.time() - _STARTED, "system_uptime_s": _system_uptime(),
        "disk_free": disk.free, "disk_total": disk.total,
        "mem_available": mem.get("MemAvailable", 0), "mem_total": mem.get("MemTotal", 0), "app_rss": _rss(),
        "pid": os.getpid(),
    }


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h {minutes} min"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s"
