"""`python -m kiosk.maintenance add ID --role technician|attendant [--badge CODE]` (asks for the PIN),
`remove ID` and `list`: manage who may open the maintenance screen."""
from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from kiosk import config
from kiosk.maintenance.technicians import ROLES, TechnicianError, TechnicianStore


def store_of(settings: config.Settings) -> TechnicianStore:
    path = settings.maintenance.technicians_file or str(settings.data_path / "technicians.json")
    return TechnicianStore(Path(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.maintenance")
    parser.add_argument("--config", metavar="PATH")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="add or replace a person (asks for the PIN twice)")
    add.add_argument("id")
    add.add_argument("--role", choices=ROLES, default="technician")
    add.add_argument("--badge", action="append", default=[])
    add.add_argument("--pin", help="the PIN (default: ask; avoid on shared machines, it stays in the shell history)")
    sub.add_parser("list")
    remove = sub.add_parser("remove")
    remove.add_argument("id")
    args = parser.parse_args(argv)
    try:
        store = store_of(config.load(args.config))
        if args.command == "add":
            pin = args.pin or getpass.getpass("PIN: ")
            if args.pin is None and getpass.getpass("PIN again: ") != pin:
                print("the PINs differ", file=sys.stderr)
                return 1
            store.add(args.id, args.role, pin, args.badge)
        elif args.command == "remove":
            if not store.remove(args.id):
                print(f"no one with id {args.id!r}", file=sys.stderr)
                return 1
        else:
            for person in store.people():
                print(f"{person.id}\t{person.role}")
    except (config.ConfigError, TechnicianError) as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
