"""`kiosk-server admin user …` and `kiosk-server admin site …`: console users, sites and which site a kiosk
belongs to. Passwords are read from the terminal (asked twice) or, when stdin is not a terminal, its first line."""
from __future__ import annotations

import getpass
import sys
import time

from sqlalchemy.exc import OperationalError

from server import fleet
from server.console import users

ACTOR = "cli"


def _password(args) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise users.UserError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _in_transaction(engine, work):
    """work(conn) in engine.begin(), started again while a running server holds SQLite's write lock (a
    transaction that has read cannot wait for it: SQLite answers 'database is locked' at once); up to a minute."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with engine.begin() as conn:
                return work(conn)
        except OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _user(engine, args) -> int:
    op = args.op
    if op == "list":
        with engine.connect() as conn:
            for u in users.list_users(conn):
                state = "disabled" if u["disabled"] else f"locked until {u['locked_until']}" if u["locked_until"] else ""
                print(f"{u['name']}\t{u['role']}\t{','.join(u['sites']) or '-'}\t{u['display_name']}\t{state}".rstrip())
        return 0
    if not args.name:
        raise users.UserError(f"user {op} NAME: which user?")
    password = _password(args) if op in ("add", "passwd") else ""

    def work(conn) -> str:
        if op == "add":
            users.add_user(conn, args.name, password, args.role, args.display_name, args.site)
            message = f"user {args.name} added ({args.role}; sites: {', '.join(args.site) or 'none'})"
        elif op == "passwd":
            users.set_password(conn, args.name, password)
            message = f"user {args.name}: password changed, sessions ended, lock cleared"
        elif op == "sites":
            users.set_user_sites(conn, args.name, args.site)
            message = f"user {args.name}: sites {', '.join(args.site) or 'none'}"
        else:
            users.set_disabled(conn, args.name, op == "disable")
            message = f"user {args.name} {op}d"
        fleet.audit(conn, ACTOR, f"user-{op}", user=args.name, role=args.role if op == "add" else None,
                    sites=args.site if op in ("add", "sites") else None)
        return message
    message = _in_transaction(engine, work)
    print(message)
    return 0


def _site(engine, args) -> int:
    if args.op == "list":
        with engine.connect() as conn:
            for s in users.list_sites(conn):
                print(f"{s['id']}\t{s['kiosks']} kiosks\t{s['name']}")
        return 0

    def work(conn) -> str:
        if args.op == "add":
            users.add_site(conn, args.first, args.name)
            message = f"site {args.first} added"
        else:  # assign KIOSK SITE ("-" for none)
            if not args.second:
                raise users.UserError("site assign KIOSK_ID SITE_ID: which site? ('-' for none)")
            site = None if args.second == "-" else args.second
            users.assign_kiosk(conn, args.first, site)
            message = f"kiosk {args.first}: site {site or 'none'}"
        fleet.audit(conn, ACTOR, f"site-{args.op}", site=args.first if args.op == "add" else args.second,
                    kiosk_id=args.first if args.op == "assign" else None)
        return message
    message = _in_transaction(engine, work)
    print(message)
    return 0


def add_parsers(acts) -> None:
    a = acts.add_parser("user", help="console users: add NAME --role R --site S (password from the terminal or "
                                     "stdin), passwd NAME, sites NAME --site S…, disable|enable NAME, list")
    a.add_argument("op", choices=["add", "passwd", "sites", "disable", "enable", "list"])
    a.add_argument("name", nargs="?")
    a.add_argument("--role", choices=users.ROLES, default="attendant")
    a.add_argument("--site", action="append", default=[], help="a site the user works on (repeat for more)")
    a.add_argument("--display-name", default="", help="the name others see, e.g. 'Anna B.'")
    a.set_defaults(action=_user)
    a = acts.add_parser("site", help="sites: add SITE_ID [--name N], assign KIOSK_ID SITE_ID ('-' for none), list")
    a.add_argument("op", choices=["add", "assign", "list"])
    a.add_argument("first", nargs="?", help="add: the site id; assign: the kiosk id")
    a.add_argument("second", nargs="?", help="assign: the site id")
    a.add_argument("--name", default="")
    a.set_defaults(action=_site)
