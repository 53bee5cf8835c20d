"""The releases on a kiosk: /opt/kiosk/releases/<version> (one venv each), /opt/kiosk/current -> the one that
runs, and update-state.json (the release on trial, the one before it, its starts and restarts on probation,
the versions rolled back).

Every step leaves a kiosk that starts: a venv counts only once its `.complete` marker is written, the state is
saved (atomically) before the link moves, and the link moves by rename(2), never missing.
"""
from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from packaging.version import InvalidVersion, Version


class UpdateError(Exception):
    pass


@dataclass
class State:
    trial: str | None = None  # switched to, not yet seen READY
    previous: str | None = None  # what runs again if the trial fails
    switched_at: float = 0.0
    starts: int = 0  # starts of the trial release so far
    refused: list[str] = field(default_factory=list)  # rolled back once: never installed again
    backup: dict | None = None  # the journal before the trial (launcher/journal_backup.py)
    restore: bool = False  # put that backup back before the next start (the kiosk is stopped then)
    ready_at: float = 0.0  # the trial's first READY: its probation began (0: not READY yet)
    last_ready: float = 0.0  # the READY of the trial's run counted last by --on-start
    crashes: int = 0  # restarts of the trial after it reached READY, within its probation
    reports: list[dict] = field(default_factory=list)  # ReleaseReports the server does not have yet


def verify(manifest: str, signature_b64: str, public_key_b64: str) -> dict:
    """The manifest's fields if the release key signed exactly these bytes; else UpdateError."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64.strip(), validate=True))
        key.verify(base64.b64decode(signature_b64, validate=True), manifest.encode())
    except InvalidSignature:
        raise UpdateError("the release's signature does not match the release key: refused") from None
    except ValueError as exc:
        raise UpdateError(f"the release's signature or the release key is malformed: {exc}") from None
    info = json.loads(manifest)
    for name in ("name", "version", "filename", "size", "sha256"):
        if name not in info:
            raise UpdateError(f"the signed manifest lacks {name!r}")
    return info


def check_wheel(info: dict, content: bytes) -> None:
    if len(content) != info["size"] or hashlib.sha256(content).hexdigest() != info["sha256"]:
        raise UpdateError(f"the downloaded {info['filename']} is not the signed one (size or sha256 differ): refused")
    parts = info["filename"].split("-")
    if len(parts) < 5 or str(Version(parts[1])) != info["version"]:
        raise UpdateError(f"{info['filename']}: its name does not carry the signed version {info['version']}")


def newer(candidate: str, current: str | None) -> bool:
    try:
        return current is None or Version(candidate) > Version(current)
    except InvalidVersion as exc:
        raise UpdateError(f"not a version: {exc}") from None


class Store:
    def __init__(self, prefix: Path) -> None:
        self.prefix = prefix
        self.releases = prefix / "releases"
        self.link = prefix / "current"
        self.state_file = prefix / "update-state.json"

    def current(self) -> str | None:
        try:
            return Path(os.readlink(self.link)).name
        except OSError:
            return None

    def installed(self, version: str) -> bool:
        return (self.releases / version / ".complete").exists()

    def load(self) -> State:
        try:
            return State(**json.loads(self.state_file.read_text()))
        except FileNotFoundError:
            return State()
        except (ValueError, TypeError) as exc:  # damaged: start clean, but never lose the refusals silently
            print(f"kiosk-update: {self.state_file} unreadable ({exc}); starting with an empty state", file=sys.stderr)
            return State()

    @contextlib.contextmanager
    def lock(self):
        """One read-modify-write of the state at a time: the timer's run and --on-start both decide."""
        self.prefix.mkdir(parents=True, exist_ok=True)
        with open(self.prefix / ".update-state.lock", "w") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            yield

    def save(self, state: State) -> None:
        self.prefix.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_name(".update-state.json.tmp")
        with open(tmp, "w") as out:
            json.dump(asdict(state), out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.state_file)
        _fsync_dir(self.prefix)

    def install(self, version: str, wheel: Path, pip_options: list[str], python: str | None = None,
                on_venv=lambda: None, shared_site: Path | None = None) -> Path:
        """A new venv beside the others with the wheel in it; the marker last. `shared_site`: a site-packages
        the venv falls back on (after its own) for what it lacks, e.g. a base layer of the heavy libraries
        (Kivy, OpenCV) kept once for every release; pip then finds those requirements met."""
        venv = self.releases / version
        if self.installed(version):
            return venv
        if venv.exists():
            shutil.rmtree(venv)  # left half-built by an interrupted run
        venv.parent.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        subprocess.run([python or _base_python(), "-m", "venv", str(venv)], check=True, env=env)
        on_venv()
        if shared_site is not None:
            [site] = (venv / "lib").glob("python3*/site-packages")
            (site / "kiosk-shared-site.pth").write_text(f"{shared_site.resolve()}\n")
        done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                               "--disable-pip-version-check", *pip_options, str(wheel)], env=env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise UpdateError(f"pip could not install {wheel.name}: {done.stderr.strip()[-500:]}")
        marker = venv / ".complete"
        marker.write_text(version + "\n")
        _fsync_dir(venv)
        return venv

    def switch(self, version: str) -> None:
        if not self.installed(version):
            raise UpdateError(f"release {version} is not installed; not switching to it")
        tmp = self.prefix / ".current.tmp"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(f"releases/{version}")
        os.replace(tmp, self.link)
        _fsync_dir(self.prefix)

    def prune(self, keep: int = 3) -> None:
        """Old releases beyond the newest `keep` (never the current or previous one) are removed."""
        state, current = self.load(), self.current()
        versions = sorted((p.name for p in self.releases.iterdir() if p.is_dir()), key=_sort_key, reverse=True)
        for version in versions[keep:]:
            if version not in (current, state.previous, state.trial):
                shutil.rmtree(self.releases / version, ignore_errors=True)


def _sort_key(name: str):
    try:
        return (1, Version(name))
    except InvalidVersion:
        return (0, Version("0"))


def _base_python() -> str:
    return str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def now() -> float:
    return time.time()
