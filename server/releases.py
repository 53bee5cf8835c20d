"""Signed kiosk releases and their rollout, per site with a canary share.

A release is a wheel plus a manifest (canonical JSON: name, version, filename, size, sha256) signed with the
fleet's Ed25519 release key (`kiosk-server admin release keygen`; the private key stays with whoever uploads,
kiosks hold the public key in /etc/kiosk/release-key.pub). The server only stores and hands out what was signed:
kiosks check the signature, the hash and that the version is newer than theirs.

A rollout names, per site, the version and the share (percent) of the site's kiosks that get it; the others keep
the site's previous version. Which kiosks are in the share is fixed per (version, kiosk), so raising the share
only adds kiosks. Kiosks are in site "default" until `kiosk-server admin release site KIOSK SITE`.

Each kiosk reports what became of a release it tried (kept, rolled back, intervention). One rollback or
intervention at a site halts that release's rollout there: no further kiosk of the site is offered it (those
on it already stay; kiosks never downgrade) until an operator gives the rollout again.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import zipfile
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from packaging.version import InvalidVersion, Version

from server.db import kiosks, now, release_files, release_reports, release_rollouts, release_sites
from server.ingest import raise_alarm

WHEEL_NAME = re.compile(r"^(?P<name>[A-Za-z0-9_.]+)-(?P<version>[^-]+)-[^-]+-[^-]+-[^-]+\.whl$")
SITE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class ReleaseError(ValueError):
    pass


# --- keys and signatures -------------------------------------------------------------------------------------

def keygen(folder: Path) -> tuple[Path, Path]:
    """release-key.pem (private, 0600: keep it off the kiosks) and release-key.pub (base64 of the 32 raw bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    private, public = folder / "release-key.pem", folder / "release-key.pub"
    for path in (private, public):
        if path.exists():
            raise ReleaseError(f"{path} exists; not overwriting a release key")
    key = Ed25519PrivateKey.generate()
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    public.write_text(base64.b64encode(raw).decode() + "\n")
    return private, public


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ReleaseError(f"{path}: not a readable Ed25519 private key (PEM): {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ReleaseError(f"{path}: expected an Ed25519 key, got {type(key).__name__}")
    return key


def manifest_of(filename: str, content: bytes) -> str:
    """The canonical manifest of a wheel, after checking that its name, version and metadata agree."""
    m = WHEEL_NAME.match(filename)
    if not m:
        raise ReleaseError(f"{filename}: expected a wheel file name (name-version-python-abi-platform.whl)")
    try:
        version = str(Version(m["version"]))
    except InvalidVersion:
        raise ReleaseError(f"{filename}: {m['version']!r} is not a version") from None
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as wheel:
            [meta] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
            text = wheel.read(meta).decode("utf-8")
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ReleaseError(f"{filename}: not a wheel (no single .dist-info/METADATA): {exc}") from None
    stated = re.search(r"^Version: (.+)$", text, re.M)
    if not stated or str(Version(stated[1].strip())) != version:
        raise ReleaseError(f"{filename}: its METADATA says version {stated[1] if stated else 'nothing'}, "
                           f"the file name {version}")
    return json.dumps({"name": m["name"], "version": version, "filename": filename, "size": len(content),
                       "sha256": hashlib.sha256(content).hexdigest()}, sort_keys=True, separators=(",", ":"))


# --- the store -------------------------------------------------------------------------------------------------

def upload(conn, wheel: Path, key: Ed25519PrivateKey) -> dict:
    content = wheel.read_bytes()
    manifest = manifest_of(wheel.name, content)
    info = json.loads(manifest)
    signature = base64.b64encode(key.sign(manifest.encode())).decode()
    held = conn.execute(sa.select(release_files.c.manifest).where(release_files.c.version == info["version"])).first()
    if held is not None:
        if held.manifest == manifest:
            return info  # the same wheel again: nothing to do
        raise ReleaseError(f"release {info['version']} is already stored with other content; bump the version")
    conn.execute(sa.insert(release_files).values(version=info["version"], manifest=manifest, signature=signature,
                                                 content=content, uploaded_at=now()))
    return info


def releases(conn) -> list[dict]:
    rows = conn.execute(sa.select(release_files.c.manifest, release_files.c.uploaded_at)).all()
    found = [{**json.loads(r.manifest), "uploaded_at": r.uploaded_at} for r in rows]
    return sorted(found, key=lambda r: Version(r["version"]))


def set_site(conn, kiosk_id: str, site: str) -> None:
    if not SITE.match(site):
        raise ReleaseError(f"site {site!r}: expected 1-64 letters, digits, '.', '_' or '-'")
    conn.execute(sa.delete(release_sites).where(release_sites.c.kiosk_id == kiosk_id))
    conn.execute(sa.insert(release_sites).values(kiosk_id=kiosk_id, site=site))


def rollout(conn, site: str, version: str, percent: int) -> dict:
    """Site `site` moves to `version` for `percent` % of its kiosks (100: all); the rest keep its last full version."""
    if not SITE.match(site):
        raise ReleaseError(f"site {site!r}: expected 1-64 letters, digits, '.', '_' or '-'")
    if not 0 <= percent <= 100:
        raise ReleaseError(f"canary share: expected a percentage 0-100, got {percent}")
    try:
        version = str(Version(version))
    except InvalidVersion:
        raise ReleaseError(f"{version!r} is not a version") from None
    if conn.execute(sa.select(release_files.c.version).where(release_files.c.version == version)).first() is None:
        raise ReleaseError(f"no release {version} is stored; upload it first")
    old = conn.execute(sa.select(release_rollouts).where(release_rollouts.c.site == site)).first()
    stable, halt = None, None
    if old is not None:
        halt = halted_by(conn, site, old.version, old.updated_at) if old.version == version else None
        stable = old.version if old.percent == 100 else old.stable_version
        if old.version == version:
            stable = old.stable_version
        conn.execute(sa.delete(release_rollouts).where(release_rollouts.c.site == site))
    row = dict(site=site, version=version, percent=percent, stable_version=stable, updated_at=now())
    conn.execute(sa.insert(release_rollouts).values(**row))
    if halt is not None:  # given again after a rollback halted it: the operator has looked
        row["lifted"] = f"{halt['kiosk_id']} reported {halt['outcome'].replace('_', ' ')}"
    return row


def site_of(conn, kiosk_id: str) -> str:
    """The site `admin release site` gave it, else the console's site (`admin site assign`), else "default"."""
    return conn.execute(sa.select(release_sites.c.site).where(release_sites.c.kiosk_id == kiosk_id)).scalar() \
        or conn.execute(sa.select(kiosks.c.site_id).where(kiosks.c.id == kiosk_id)).scalar() or "default"


def record_report(conn, kiosk_id: str, report) -> bool:
    """Stores a kiosk's ReleaseReport; False if it says nothing new: a resend, or the same outcome of the same
    release again (so one kiosk holds at most three rows per stored release). A rollback raises an alarm (bounded
    per kiosk and hour like every alarm). ReleaseError if no such release is stored."""
    if conn.execute(sa.select(release_files.c.version).where(release_files.c.version == report.version)).first() is None:
        raise ReleaseError(f"no release {report.version} is stored")
    r = release_reports.c
    if conn.execute(sa.select(r.report_id).where(sa.or_(r.report_id == report.report_id, sa.and_(
            r.kiosk_id == kiosk_id, r.version == report.version, r.outcome == report.outcome)))).first() is not None:
        return False
    stamp = now()
    conn.execute(sa.insert(release_reports).values(
        report_id=report.report_id, kiosk_id=kiosk_id, version=report.version, outcome=report.outcome,
        detail=report.detail, kiosk_time=report.at, received_at=stamp))
    if report.outcome != "kept":
        raise_alarm(conn, kiosk_id, f"release_{report.outcome}", {"version": report.version, "detail": report.detail},
                    stamp)
    return True


def halted_by(conn, site: str, version: str, since: str) -> dict | None:
    """The first rollback or intervention of `version` at `site` reported after `since` (the rollout's time)."""
    rows = conn.execute(sa.select(release_reports).where(
        release_reports.c.version == version, release_reports.c.outcome != "kept",
        release_reports.c.received_at >= since).order_by(release_reports.c.received_at)).all()
    return next((r._asdict() for r in rows if site_of(conn, r.kiosk_id) == site), None)


def reports(conn, version: str | None = None) -> list[dict]:
    query = sa.select(release_reports).order_by(release_reports.c.received_at.desc())
    if version is not None:
        query = query.where(release_reports.c.version == version)
    return [r._asdict() for r in conn.execute(query).all()]


def report_counts(conn) -> dict[str, dict[str, int]]:
    """{version: {outcome: kiosks}}"""
    found: dict[str, dict[str, int]] = {}
    rows = conn.execute(sa.select(release_reports.c.version, release_reports.c.outcome,
                                  sa.func.count(sa.distinct(release_reports.c.kiosk_id)))
                        .group_by(release_reports.c.version, release_reports.c.outcome)).all()
    for version, outcome, n in rows:
        found.setdefault(version, {})[outcome] = n
    return found


def in_canary(kiosk_id: str, version: str, percent: int) -> bool:
    bucket = int(hashlib.sha256(f"{version}\0{kiosk_id}".encode()).hexdigest()[:8], 16) % 100
    return bucket < percent


def release_for(conn, kiosk_id: str) -> dict | None:
    """{"manifest", "signature", "version"} of the release this kiosk should run, or None."""
    site = site_of(conn, kiosk_id)
    plan = conn.execute(sa.select(release_rollouts).where(release_rollouts.c.site == site)).first()
    if plan is None:
        return None
    version = plan.version if in_canary(kiosk_id, plan.version, plan.percent) else plan.stable_version
    if version == plan.version and halted_by(conn, site, plan.version, plan.updated_at) is not None:
        version = plan.stable_version
    if version is None:
        return None
    row = conn.execute(sa.select(release_files.c.manifest, release_files.c.signature)
                       .where(release_files.c.version == version)).first()
    return {"version": version, "manifest": row.manifest, "signature": row.signature}


def wheel_content(conn, version: str) -> tuple[str, bytes] | None:
    row = conn.execute(sa.select(release_files.c.manifest, release_files.c.content)
                       .where(release_files.c.version == version)).first()
    return None if row is None else (json.loads(row.manifest)["filename"], row.content)
