"""`kiosk-update`: placeholder until the updater lands (see docs/deploy.md)."""
from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    return 0
