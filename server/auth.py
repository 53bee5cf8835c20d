"""Tokens: random, shown once, stored only as a SHA-256 hash (they carry 256 bits, so no salt or slow hash is needed)."""
from __future__ import annotations

import hashlib
import secrets
import time


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class RecentTokens:
    """Tokens verified in the last `ttl_s` seconds -> whose they are, so that a kiosk posting its live state every
    second is not looked up in the database each time. Only valid tokens go in; disabling a kiosk or rotating
    its token reaches these lookups within `ttl_s` (0: off)."""

    def __init__(self, ttl_s: float, max_entries: int = 50_000):
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self.entries: dict[str, tuple[float, str]] = {}

    def get(self, token: str) -> str | None:
        found = self.entries.get(token_hash(token)) if self.ttl_s > 0 else None
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, token: str, owner: str) -> None:
        if self.ttl_s <= 0:
            return
        if len(self.entries) >= self.max_entries:
            now = time.monotonic()
            self.entries = {k: v for k, v in self.entries.items() if v[0] >= now}
            if len(self.entries) >= self.max_entries:
                self.entries.clear()
        self.entries[token_hash(token)] = (time.monotonic() + self.ttl_s, owner)

    def owners(self) -> dict[str, set[str]]:
        """Owner -> the hashes of their tokens held (unexpired)."""
        now, found = time.monotonic(), {}
        for key, (until, owner) in list(self.entries.items()):
            if until >= now:
                found.setdefault(owner, set()).add(key)
        return found

    def forget(self, owner: str, keep: str | None = None) -> None:
        """Drops the owner's tokens (but the one hashed `keep`): disabled, or its token rotated."""
        for key, (_, who) in list(self.entries.items()):
            if who == owner and key != keep:
                self.entries.pop(key, None)
