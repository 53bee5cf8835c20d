"""`kiosk-server admin release ...`: keygen, upload (signs), rollout (per site, canary share), site, list."""
from __future__ import annotations

import sys
from pathlib import Path

from server import fleet, releases
from server.releases import ReleaseError

ACTOR = "cli"
OUTCOMES = {"kept": "kept", "rolled_back": "rolled back", "intervention": "INTERVENTION"}
__all__ = ["ReleaseError", "add_parser"]


def add_parser(acts) -> None:
    release = acts.add_parser("release", help="signed kiosk releases: keygen, upload, rollout, site, list")
    ops = release.add_subparsers(dest="release_command", required=True)
    a = ops.add_parser("keygen", help="make the Ed25519 release key pair (release-key.pem, release-key.pub)")
    a.add_argument("--out", default=".", help="folder for the two files (default: here)")
    a.set_defaults(action=_keygen, offline=True)
    a = ops.add_parser("upload", help="sign a wheel with the release key and store it")
    a.add_argument("wheel")
    a.add_argument("--key", required=True, help="release-key.pem from `release keygen`")
    a.set_defaults(action=_upload)
    a = ops.add_parser("rollout", help="give a site's kiosks a release (a canary share of them, or all)")
    a.add_argument("version")
    a.add_argument("--site", default="default")
    a.add_argument("--canary", type=int, default=100, metavar="PERCENT", help="share of the site's kiosks (100: all)")
    a.set_defaults(action=_rollout)
    a = ops.add_parser("site", help="put a kiosk in a site (default: site 'default')")
    a.add_argument("kiosk_id")
    a.add_argument("site")
    a.set_defaults(action=_site)
    a = ops.add_parser("list", help="stored releases, with how many kiosks kept or rolled back each")
    a.set_defaults(action=_list)
    a = ops.add_parser("reports", help="what each kiosk said of the releases it tried, newest first")
    a.add_argument("--version", help="only this release")
    a.set_defaults(action=_reports)


def _keygen(_engine, args) -> int:
    try:
        private, public = releases.keygen(Path(args.out))
    except ReleaseError as exc:
        print(f"kiosk-server: {exc}", file=sys.stderr)
        return 1
    print(f"release key: {private} (private: keep it where releases are uploaded from, never on a kiosk)\n"
          f"public key: {public} (install on every kiosk as /etc/kiosk/release-key.pub)")
    return 0


def _upload(engine, args) -> int:
    key = releases.load_private_key(Path(args.key))
    wheel = Path(args.wheel)
    if not wheel.is_file():
        raise ReleaseError(f"{wheel}: no such file")
    with engine.begin() as conn:
        info = releases.upload(conn, wheel, key)
        fleet.audit(conn, ACTOR, "release_upload", version=info["version"], sha256=info["sha256"])
    print(f"release {info['version']} stored and signed (sha256 {info['sha256']})")
    return 0


def _rollout(engine, args) -> int:
    with engine.begin() as conn:
        row = releases.rollout(conn, args.site, args.version, args.canary)
        fleet.audit(conn, ACTOR, "release_rollout", **row)
    others = f"; the others keep {row['stable_version'] or 'what they run'}" if row["percent"] < 100 else ""
    print(f"site {row['site']}: {row['percent']} % of its kiosks get {row['version']}{others}")
    if row.get("lifted"):
        print(f"(the halt after {row['lifted']} is lifted: reports from before this rollout no longer count)")
    return 0


def _site(engine, args) -> int:
    with engine.begin() as conn:
        releases.set_site(conn, args.kiosk_id, args.site)
        fleet.audit(conn, ACTOR, "release_site", kiosk_id=args.kiosk_id, site=args.site)
    print(f"kiosk {args.kiosk_id} is in site {args.site}")
    return 0


def _list(engine, _args) -> int:
    with engine.connect() as conn:
        counts = releases.report_counts(conn)
        for r in releases.releases(conn):
            said = counts.get(r["version"], {})
            tally = ", ".join(f"{OUTCOMES[o]} on {said[o]}" for o in OUTCOMES if o in said)
            print(f"{r['version']}  {r['filename']}  {r['size']} bytes  sha256 {r['sha256']}  {r['uploaded_at']}"
                  + (f"  ({tally})" if tally else ""))
    return 0


def _reports(engine, args) -> int:
    with engine.connect() as conn:
        for r in releases.reports(conn, args.version):
            print(f"{r['received_at']}  {r['kiosk_id']}  {r['version']}  {OUTCOMES[r['outcome']]}"
                  + (f": {r['detail']}" if r["detail"] else ""))
    return 0
