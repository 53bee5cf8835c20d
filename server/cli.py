"""`kiosk-server serve` runs the API; `kiosk-server admin …` manages the fleet directly on the database.

Settings come from KSERVER_* variables (see server/settings.py); run `kiosk-server --help`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from server import datasets, fleet, release_cli
from server.console.admin import add_parsers as add_console_parsers
from server.console.users import UserError
from server.db import copy_database, make_engine, migrate
from server.settings import ServerSettings, SettingsError, load

ACTOR = "cli"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load()
    except SettingsError as exc:
        print(f"kiosk-server: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        return _serve(args, settings)
    if getattr(args, "offline", False):  # needs no database (release keygen)
        return args.action(None, args)
    engine = make_engine(settings.url)
    try:
        migrate(engine)
        return args.action(engine, args)
    except (fleet.AdminError, datasets.LoadError, UserError, release_cli.ReleaseError) as exc:
        print(f"kiosk-server: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def _serve(args, settings) -> int:
    import uvicorn

    engine = make_engine(settings.url)
    migrate(engine)  # once, before any worker starts
    engine.dispose()
    from server.limits import MAX_HEADER_BYTES, LimitedH11Protocol

    uvicorn.run("server.app:create_app", factory=True, host=args.host, port=args.port, fd=args.fd,
                workers=args.workers,
                ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile, log_level=args.log_level,
                access_log=args.access_log, timeout_graceful_shutdown=5,
                # h11 (not httptools): a bounded request line + headers, and our header read deadline
                http=LimitedH11Protocol, h11_max_incomplete_event_size=MAX_HEADER_BYTES,
                timeout_keep_alive=settings.keep_alive, limit_concurrency=settings.max_connections,
                server_header=False)
    return 0


def _enroll(engine, args) -> int:
    with engine.begin() as conn:
        token = fleet.enroll(conn, args.kiosk_id, args.name, rotate=args.rotate)
        fleet.audit(conn, ACTOR, "enroll", kiosk_id=args.kiosk_id, rotate=args.rotate)
    print(f"kiosk {args.kiosk_id} enrolled; its token (shown only now; put it in the kiosk's "
          f"server.token setting):\n{token}")
    return 0


def _admin_token(engine, args) -> int:
    if args.op == "list":
        with engine.connect() as conn:
            for name, created in fleet.admin_token_names(conn):
                print(f"{name or '(unnamed)'}\t{created}")
        return 0
    if args.op == "revoke":
        name = args.target or args.name
        if not name:
            raise fleet.AdminError("admin-token revoke NAME: which token?")
        with engine.begin() as conn:
            fleet.revoke_admin_token(conn, name)
            fleet.audit(conn, ACTOR, "admin-token-revoke", name=name)
        print(f"admin token {name!r} revoked")
        return 0
    name = args.name or args.note or args.target
    if not name:
        with engine.connect() as conn:
            taken = {n for n, _ in fleet.admin_token_names(conn)}
        name = next(f"token-{i}" for i in range(1, len(taken) + 2) if f"token-{i}" not in taken)
    with engine.begin() as conn:
        token = fleet.new_admin_token(conn, name)
        fleet.audit(conn, ACTOR, "admin-token", name=name)
    print(f"admin token {name!r} (shown only now):", file=sys.stderr)
    print(token)
    return 0


def _disable(engine, args) -> int:
    with engine.begin() as conn:
        fleet.set_disabled(conn, args.kiosk_id, args.disabled)
        fleet.audit(conn, ACTOR, "disable" if args.disabled else "enable", kiosk_id=args.kiosk_id)
    print(f"kiosk {args.kiosk_id} {'disabled: its requests get 403' if args.disabled else 'enabled'}")
    return 0


def _load(engine, args) -> int:
    dataset = datasets.DATASETS[args.dataset]
    items = datasets.read_items(Path(args.file), dataset)
    with engine.begin() as conn:
        result = datasets.load(conn, dataset, items, replace=not args.merge)
        fleet.audit(conn, ACTOR, f"load-{dataset.name}", file=args.file, replace=not args.merge, **result)
    print(f"{dataset.name}: {len(items)} items read, {result['changed']} changed, {result['deleted']} deleted, "
          f"now at change {result['version']}")
    return 0


def _set_config(engine, args) -> int:
    try:
        config = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise fleet.AdminError(f"{args.file}: {exc}") from None
    if not isinstance(config, dict):
        raise fleet.AdminError(f"{args.file}: expected a JSON object")
    with engine.begin() as conn:
        version = fleet.set_config(conn, args.kiosk_id, config)
        fleet.audit(conn, ACTOR, "set-config", kiosk_id=args.kiosk_id, file=args.file)
    print(f"kiosk {args.kiosk_id}: config version {version}")
    return 0


def _status(engine, args) -> int:
    with engine.connect() as conn:
        status = fleet.status(conn)
    if args.json:
        print(status.model_dump_json(indent=2))
        return 0
    print(f"{'kiosk':<20} {'last seen':<27} {'version':<10} {'queue':>6} {'oldest s':>9} {'held':>9} "
          f"{'max':>9} {'dead':>5} {'alarm':>5} {'flag':>5} {'skew s':>8}  gaps")
    for k in status.kiosks:
        oldest = "-" if k.oldest_unsent_age_s is None else f"{k.oldest_unsent_age_s:.0f}"
        gaps = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in k.gaps) or "-"
        skew = "-" if k.clock_skew_s is None else f"{k.clock_skew_s:+.0f}"
        print(f"{k.kiosk_id:<20} {k.last_seen_at or '-':<27} {k.app_version or '-':<10} "
              f"{'-' if k.queue_depth is None else k.queue_depth:>6} {oldest:>9} {k.held_through:>9} "
              f"{k.max_seq:>9} {k.dead_letters:>5} {k.alarms:>5} {k.flagged:>5} {skew:>8}  {gaps}")
    return 0


def _problems(engine, args) -> int:
    with engine.connect() as conn:
        found = fleet.problems(conn, args.kiosk, args.limit)
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    for section, rows in found.items():
        print(f"{section.replace('_', ' ')} ({len(rows)}{'+' if len(rows) == args.limit else ''}):")
        for row in rows:
            print("  " + "  ".join(str(value) for value in row.values()))
    return 0


def _compact(engine, args) -> int:
    with engine.begin() as conn:
        dropped = datasets.compact(conn, datasets.DATASETS[args.dataset])
        fleet.audit(conn, ACTOR, "compact", dataset=args.dataset, dropped=dropped)
    print(f"{args.dataset}: {dropped} tombstones dropped; older kiosks will get a full snapshot")
    return 0


def _copy_to(engine, args) -> int:
    target = make_engine(settings_url(args.target_url))
    try:
        migrate(target)
        copied = copy_database(engine, target)
    except ValueError as exc:
        raise fleet.AdminError(str(exc)) from None
    finally:
        target.dispose()
    with engine.begin() as conn:
        fleet.audit(conn, ACTOR, "copy-to", target=_hide_password(args.target_url), **copied)
    print("copied: " + ", ".join(f"{table} {rows}" for table, rows in copied.items()))
    print("now run the server with KSERVER_DATABASE_URL set to the target")
    return 0


def _insight_purge(engine, args) -> int:
    from server import insight
    if args.days is not None and args.days < 1:
        raise fleet.AdminError(f"--days: expected at least 1, got {args.days}")
    days = args.days or load().insight_retention_days
    with engine.begin() as conn:
        gone = insight.purge(conn, days)
        fleet.audit(conn, ACTOR, "insight-purge", days=days, deleted=gone)
    print(f"insight: {gone} raw session rows older than {days} days deleted (the rollups keep their numbers)")
    return 0


def _insight_alert(engine, args) -> int:
    from server import insight_alerts
    values = {k: getattr(args, k) for k in ("min_completion_rate", "max_help_per_100", "min_rating_avg",
                                             "rating_last_n", "window_hours", "min_sessions")}
    try:
        with engine.begin() as conn:
            insight_alerts.set_rule(conn, args.site_id, **values)
            fleet.audit(conn, ACTOR, "insight-alert", site=args.site_id, **values)
    except insight_alerts.RuleError as exc:
        raise fleet.AdminError(str(exc)) from None
    print(f"insight alert for site {args.site_id}: {values}")
    return 0


def _insight_rebuild(engine, args) -> int:
    from server import insight
    with engine.begin() as conn:
        added = insight.rebuild(conn)
        fleet.audit(conn, ACTOR, "insight-rebuild", added=added)
    print(f"insight: {added} session records added from the held transactions")
    return 0


def settings_url(url: str) -> str:
    return ServerSettings(database_url=url).url


def _hide_password(url: str) -> str:
    import sqlalchemy as sa
    return sa.engine.make_url(settings_url(url)).render_as_string(hide_password=True)


def _migrate(engine, args) -> int:
    print("database schema is up to date")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kiosk-server", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API (migrates the database first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--fd", type=int, help="serve on this inherited, bound socket (tests, socket activation)")
    serve.add_argument("--workers", type=int, default=1,
                       help="processes (SQLite: 1, it commits concurrent batches together; PostgreSQL: about the cores)")
    serve.add_argument("--ssl-certfile", help="PEM certificate (chain): serve HTTPS")
    serve.add_argument("--ssl-keyfile", help="PEM private key for --ssl-certfile")
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--no-access-log", dest="access_log", action="store_false")

    admin = sub.add_parser("admin", help="fleet administration (works on the database directly)")
    acts = admin.add_subparsers(dest="admin_command", required=True)
    a = acts.add_parser("migrate", help="bring the database schema up to date")
    a.set_defaults(action=_migrate)
    a = acts.add_parser("enroll", help="enroll a kiosk and print its token")
    a.add_argument("kiosk_id")
    a.add_argument("--name", default="")
    a.add_argument("--rotate", action="store_true", help="issue a new token for an enrolled kiosk")
    a.set_defaults(action=_enroll)
    a = acts.add_parser("admin-token", help="named admin tokens for the HTTP admin API: create (prints it), "
                                             "list, revoke NAME")
    a.add_argument("op", nargs="?", choices=["create", "list", "revoke"], default="create")
    a.add_argument("target", nargs="?", help="the name to revoke")
    a.add_argument("--name", default="", help="the token's name (in the audit log as 'admin token NAME')")
    a.add_argument("--note", default="", help="older spelling of --name")
    a.set_defaults(action=_admin_token)
    for verb, disabled in (("disable", True), ("enable", False)):
        a = acts.add_parser(verb, help="refuse (403) every request of a kiosk" if disabled else "undo disable")
        a.add_argument("kiosk_id")
        a.set_defaults(action=_disable, disabled=disabled)
    for name in datasets.DATASETS:
        a = acts.add_parser(f"load-{name}", help=f"load the {name} from a JSON or CSV file")
        a.add_argument("file")
        a.add_argument("--merge", action="store_true", help="only add and change; keep items missing from the file")
        a.set_defaults(action=_load, dataset=name)
    a = acts.add_parser("set-config", help="set a kiosk's config (a JSON object) for it to pull")
    a.add_argument("kiosk_id")
    a.add_argument("file")
    a.set_defaults(action=_set_config)
    a = acts.add_parser("status", help="fleet status: heartbeats, queues, sequence gaps, dead letters, alarms")
    a.add_argument("--json", action="store_true")
    a.set_defaults(action=_status)
    a = acts.add_parser("problems", help="dead letters, alarms and flagged transactions, newest first")
    a.add_argument("--kiosk")
    a.add_argument("--limit", type=int, default=50)
    a.add_argument("--json", action="store_true")
    a.set_defaults(action=_problems)
    a = acts.add_parser("copy-to", help="copy this database into a new, empty one (SQLite -> PostgreSQL)")
    a.add_argument("target_url", help="e.g. postgresql://kiosk:secret@db-host/kiosk")
    a.set_defaults(action=_copy_to)
    a = acts.add_parser("insight-purge", help="delete raw session rows past the retention "
                                               "(KSERVER_INSIGHT_RETENTION_DAYS); rollups stay")
    a.add_argument("--days", type=int, help="keep this many days instead of the setting")
    a.set_defaults(action=_insight_purge)
    a = acts.add_parser("insight-alert", help="a site's alert thresholds (an 'insight' intervention on the lane "
                                               "board); none given: the rule is removed")
    a.add_argument("site_id")
    a.add_argument("--min-completion", type=float, dest="min_completion_rate", help="%% over the window")
    a.add_argument("--max-help", type=float, dest="max_help_per_100", help="help calls per 100 sessions")
    a.add_argument("--min-rating", type=float, dest="min_rating_avg", help="average of the last N ratings")
    a.add_argument("--last-n", type=int, dest="rating_last_n", default=50)
    a.add_argument("--window-hours", type=int, default=24)
    a.add_argument("--min-sessions", type=int, default=20, help="fewer sessions in the window: no verdict")
    a.set_defaults(action=_insight_alert)
    a = acts.add_parser("insight-rebuild", help="add session records held as transactions but missing from insight")
    a.set_defaults(action=_insight_rebuild)
    a = acts.add_parser("compact", help="drop deletion tombstones of a data set")
    a.add_argument("dataset", choices=sorted(datasets.DATASETS))
    a.set_defaults(action=_compact)
    add_console_parsers(acts)
    release_cli.add_parser(acts)  # issue 17: admin release keygen|upload|rollout|site|list
    return p


if __name__ == "__main__":
    sys.exit(main())
