"""Console users, sites and browser sessions, on the database (so lockouts and sessions survive restarts and
are shared by every server process).

Passwords: argon2id (argon2-cffi's RFC 9106 low-memory profile: t=3, 64 MiB, p=4). Sessions: a random id in
the cookie, only its SHA-256 stored; each session holds its CSRF synchronizer token.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Connection

from server.db import console_login_failures, console_sessions, console_users, kiosks, now, sites, user_sites

ROLES = ("attendant", "manager", "admin")
MAX_FAILURES = 5
LOCK_S = 15 * 60
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not a password of anyone")  # unknown names cost the same time as known ones


class UserError(Exception):
    """str() says what is wrong, for the CLI."""


@dataclass(frozen=True)
class User:
    name: str
    display_name: str
    role: str
    site_ids: frozenset[str]

    @property
    def label(self) -> str:
        return self.display_name or self.name

    def sees_all(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password too short: at least {MIN_PASSWORD} characters")


def add_user(conn: Connection, name: str, password: str, role: str, display_name: str = "",
             site_ids: list[str] = ()) -> None:
    if not NAME.match(name):
        raise UserError(f"user name {name!r}: expected 1 to 64 letters, digits, '.', '_', '@' or '-'")
    if role not in ROLES:
        raise UserError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    _check_password(password)
    if conn.execute(sa.select(console_users.c.name).where(console_users.c.name == name)).first():
        raise UserError(f"user {name} exists already (use passwd to change the password)")
    for site in site_ids:
        _site_exists(conn, site)
    conn.execute(sa.insert(console_users).values(name=name, display_name=display_name, role=role,
                                                 password_hash=_hasher.hash(password), created_at=now()))
    conn.execute(sa.insert(user_sites), [{"user_name": name, "site_id": s} for s in site_ids]) if site_ids else None


def _user_exists(conn: Connection, name: str) -> None:
    if not conn.execute(sa.select(console_users.c.name).where(console_users.c.name == name)).first():
        raise UserError(f"no user {name}")


def _site_exists(conn: Connection, site_id: str) -> None:
    if not conn.execute(sa.select(sites.c.id).where(sites.c.id == site_id)).first():
        raise UserError(f"no site {site_id} (add it with `kiosk-server admin site add {site_id}`)")


def set_password(conn: Connection, name: str, password: str) -> None:
    _user_exists(conn, name)
    _check_password(password)
    conn.execute(sa.update(console_users).where(console_users.c.name == name)
                 .values(password_hash=_hasher.hash(password), failed_logins=0, locked_until=None))
    conn.execute(sa.delete(console_login_failures).where(console_login_failures.c.user_name == name))
    conn.execute(sa.delete(console_sessions).where(console_sessions.c.user_name == name))


def set_disabled(conn: Connection, name: str, disabled: bool) -> None:
    _user_exists(conn, name)
    conn.execute(sa.update(console_users).where(console_users.c.name == name).values(disabled=disabled))
    if disabled:
        conn.execute(sa.delete(console_sessions).where(console_sessions.c.user_name == name))


def set_user_sites(conn: Connection, name: str, site_ids: list[str]) -> None:
    _user_exists(conn, name)
    for site in site_ids:
        _site_exists(conn, site)
    conn.execute(sa.delete(user_sites).where(user_sites.c.user_name == name))
    if site_ids:
        conn.execute(sa.insert(user_sites), [{"user_name": name, "site_id": s} for s in site_ids])


def list_users(conn: Connection) -> list[dict]:
    rows = conn.execute(sa.select(console_users).order_by(console_users.c.name)).mappings().all()
    links = conn.execute(sa.select(user_sites)).all()
    f = console_login_failures.c
    locks = dict(conn.execute(sa.select(f.user_name, sa.func.max(f.locked_until)).where(f.locked_until > now())
                              .group_by(f.user_name)).all())
    return [{"name": r["name"], "display_name": r["display_name"], "role": r["role"], "disabled": r["disabled"],
             "locked_until": locks.get(r["name"]), "sites": sorted(s for u, s in links if u == r["name"])}
            for r in rows]


def add_site(conn: Connection, site_id: str, name: str = "") -> None:
    if not NAME.match(site_id):
        raise UserError(f"site id {site_id!r}: expected 1 to 64 letters, digits, '.', '_', '@' or '-'")
    if conn.execute(sa.select(sites.c.id).where(sites.c.id == site_id)).first():
        raise UserError(f"site {site_id} exists already")
    conn.execute(sa.insert(sites).values(id=site_id, name=name))


def list_sites(conn: Connection) -> list[dict]:
    counts = dict(conn.execute(sa.select(kiosks.c.site_id, sa.func.count()).group_by(kiosks.c.site_id)).all())
    return [{"id": r.id, "name": r.name, "kiosks": counts.get(r.id, 0)}
            for r in conn.execute(sa.select(sites).order_by(sites.c.id))]


def assign_kiosk(conn: Connection, kiosk_id: str, site_id: str | None) -> None:
    if site_id is not None:
        _site_exists(conn, site_id)
    done = conn.execute(sa.update(kiosks).where(kiosks.c.id == kiosk_id).values(site_id=site_id)).rowcount
    if not done:
        raise UserError(f"no kiosk {kiosk_id} (enroll it first)")


def kiosk_ids_for(conn: Connection, user: User) -> set[str] | None:
    """The kiosks the user may see and act on; None = all (admin)."""
    if user.sees_all():
        return None
    if not user.site_ids:
        return set()
    return set(conn.execute(sa.select(kiosks.c.id).where(kiosks.c.site_id.in_(sorted(user.site_ids)))).scalars())


def _load_user(conn: Connection, name: str) -> User | None:
    row = conn.execute(sa.select(console_users).where(console_users.c.name == name)).mappings().first()
    if row is None or row["disabled"]:
        return None
    site_ids = frozenset(conn.execute(sa.select(user_sites.c.site_id).where(user_sites.c.user_name == name)).scalars())
    return User(row["name"], row["display_name"], row["role"], site_ids)


@dataclass(frozen=True)
class LoginResult:
    cookie: str | None = None  # the new session's cookie value when the login worked
    locked_until: str | None = None


def login(conn: Connection, name: str, password: str, idle_s: float, client: str = "",
          lock_s: float = LOCK_S) -> LoginResult:
    """Checks the password; 5 failures in a row from one client address lock the account for `lock_s` for that
    address only (kept in the table), so strangers elsewhere cannot lock its attendant out. A login also
    clears every session idle for longer than `idle_s` (browsers that never came back)."""
    row = conn.execute(sa.select(console_users).where(console_users.c.name == name)).mappings().first()
    moment = datetime.now(timezone.utc)
    if row is None:
        _verify(_DUMMY, password)
        return LoginResult()
    f = console_login_failures.c
    key = (f.user_name == name, f.client == client[:64])
    failed = conn.execute(sa.select(console_login_failures).where(*key)).mappings().first()
    if failed is not None and failed["locked_until"] and _parse(failed["locked_until"]) > moment:
        return LoginResult(locked_until=failed["locked_until"])
    if row["disabled"] or not _verify(row["password_hash"], password):
        return LoginResult(locked_until=_failed(conn, name, client[:64], failed, moment, lock_s))
    values = {"failed_logins": 0, "locked_until": None}
    if _hasher.check_needs_rehash(row["password_hash"]):
        values["password_hash"] = _hasher.hash(password)
    conn.execute(sa.update(console_users).where(console_users.c.name == name).values(**values))
    conn.execute(sa.delete(console_login_failures).where(
        sa.or_(sa.and_(*key), sa.and_(f.last_failed_at < _stamp(moment - timedelta(seconds=lock_s)),
                                      sa.or_(f.locked_until.is_(None), f.locked_until < _stamp(moment))))))
    conn.execute(sa.delete(console_sessions).where(
        console_sessions.c.last_seen_at < _stamp(moment - timedelta(seconds=idle_s))))
    cookie = secrets.token_urlsafe(32)
    stamp = now()
    conn.execute(sa.insert(console_sessions).values(id_hash=_hash(cookie), user_name=name, created_at=stamp,
                                                    last_seen_at=stamp, csrf_token=secrets.token_urlsafe(32)))
    return LoginResult(cookie=cookie)


def _failed(conn: Connection, name: str, client: str, failed, moment: datetime, lock_s: float) -> str | None:
    """Counts a failure of `name` from `client` (a run older than `lock_s` starts again); the lock's end when
    this one locks the account for that address."""
    fresh = failed is not None and _parse(failed["last_failed_at"]) > moment - timedelta(seconds=lock_s)
    failures = (failed["failures"] if fresh else 0) + 1
    locked = _stamp(moment + timedelta(seconds=lock_s)) if failures >= MAX_FAILURES else None
    values = {"failures": 0 if locked else failures, "locked_until": locked, "last_failed_at": _stamp(moment)}
    from server.live.store import insert_ignore  # INSERT … ON CONFLICT DO NOTHING on either engine

    insert_ignore(conn, console_login_failures, {"user_name": name, "client": client, **values})
    conn.execute(sa.update(console_login_failures).where(console_login_failures.c.user_name == name,
                                                         console_login_failures.c.client == client).values(**values))
    return locked


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("utf-8", "surrogatepass")).hexdigest()


def session(conn: Connection, cookie: str, idle_s: float, touch: bool = True) -> Session | None:
    """The live session of this cookie (its idle clock restarted), or None (unknown, idle too long: deleted)."""
    if not cookie:
        return None
    key = _hash(cookie)
    row = conn.execute(sa.select(console_sessions).where(console_sessions.c.id_hash == key)).mappings().first()
    if row is None:
        return None
    moment = datetime.now(timezone.utc)
    if (moment - _parse(row["last_seen_at"])).total_seconds() > idle_s:
        conn.execute(sa.delete(console_sessions).where(console_sessions.c.id_hash == key))
        return None
    user = _load_user(conn, row["user_name"])
    if user is None:
        return None
    if touch and (moment - _parse(row["last_seen_at"])).total_seconds() > min(10.0, idle_s / 4):
        conn.execute(sa.update(console_sessions).where(console_sessions.c.id_hash == key)
                     .values(last_seen_at=_stamp(moment)))
    return Session(user, row["csrf_token"])


def logout(conn: Connection, cookie: str) -> None:
    conn.execute(sa.delete(console_sessions).where(console_sessions.c.id_hash == _hash(cookie)))
