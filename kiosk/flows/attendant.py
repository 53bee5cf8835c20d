"""Attendants who may approve age-restricted items: a PIN (salted scrypt hash) or a badge code.

Stored in `<data_dir>/attendants.json`:
    {"attendants": [{"id": "anna", "pin": "scrypt$<salt hex>$<hash hex>", "badges": ["ATT-0001"]}]}
The maintenance issue manages this list (and technicians); the customer flow only verifies.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

SCRYPT = dict(n=2 ** 14, r=8, p=1, dklen=32)


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, **SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def pin_matches(pin: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
        expected = bytes.fromhex(digest)
        salt_bytes = bytes.fromhex(salt)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    return hmac.compare_digest(hashlib.scrypt(pin.encode(), salt=salt_bytes, **SCRYPT), expected)


class Attendants:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _load(self) -> list[dict]:
        try:
            return list(json.loads(self.path.read_text(encoding="utf-8")).get("attendants", []))
        except (FileNotFoundError, ValueError, AttributeError):
            return []

    def verify(self, secret: str) -> str | None:
        """The attendant's id for a badge code or PIN, or None."""
        secret = secret.strip()
        if not secret:
            return None
        people = self._load()
        for person in people:
            if secret in person.get("badges", []):
                return str(person.get("id"))
        if secret.isdigit():
            for person in people:
                if person.get("pin") and pin_matches(secret, person["pin"]):
                    return str(person.get("id"))
        return None

    def add(self, attendant_id: str, pin: str, badges: list[str] = ()) -> None:
        people = [p for p in self._load() if p.get("id") != attendant_id]
        people.append({"id": attendant_id, "pin": hash_pin(pin), "badges": list(badges)})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"attendants": people}, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)
