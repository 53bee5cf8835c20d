"""Technicians and attendants who may open the maintenance screen, each with a personal PIN.

Stored as JSON (`[maintenance] technicians_file`, default `<data_dir>/technicians.json`):
    {"technicians": [{"id": "tom", "role": "technician", "pin": "scrypt$<salt hex>$<hash hex>",
                      "badges": ["TECH-0001"]}]}
PINs are salted scrypt hashes (the same scheme as the attendants of the customer flow). A PIN
identifies its owner, so no two people may share one.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from kiosk.flows.attendant import hash_pin, pin_matches

log = logging.getLogger("kiosk.maintenance")
ROLES = ("technician", "attendant")
MIN_PIN_LENGTH = 4


class TechnicianError(ValueError):
    pass


@dataclass(frozen=True)
class Technician:
    id: str
    role: str


class TechnicianStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _load(self, strict: bool = False) -> list[dict]:
        """The people; a damaged file lets nobody in (logged), and is never overwritten (`strict`)."""
        try:
            people = json.loads(self.path.read_text(encoding="utf-8")).get("technicians", [])
            if not isinstance(people, list):
                raise ValueError("\"technicians\" is not a list")
        except FileNotFoundError:
            return []
        except (ValueError, AttributeError, UnicodeDecodeError, OSError) as exc:
            problem = f"{self.path}: not a technicians file: {exc}"
            if strict:
                raise TechnicianError(problem) from None
            log.error("%s; nobody can log in to the maintenance screen", problem)
            return []
        return [p for p in people if isinstance(p, dict)]

    def people(self) -> list[Technician]:
        return [Technician(str(p.get("id")), str(p.get("role"))) for p in self._load()]

    def verify_pin(self, pin: str) -> Technician | None:
        pin = pin.strip()
        if not pin.isdigit():
            return None
        for person in self._load():
            if person.get("role") in ROLES and person.get("pin") and pin_matches(pin, person["pin"]):
                return Technician(str(person["id"]), person["role"])
        return None

    def verify_badge(self, code: str) -> Technician | None:
        for person in self._load():
            if person.get("role") in ROLES and code.strip() and code.strip() in person.get("badges", []):
                return Technician(str(person["id"]), person["role"])
        return None

    def add(self, person_id: str, role: str, pin: str, badges: list[str] = ()) -> Technician:
        if role not in ROLES:
            raise TechnicianError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if not pin.isdigit() or len(pin) < MIN_PIN_LENGTH:
            raise TechnicianError(f"a PIN is at least {MIN_PIN_LENGTH} digits")
        people = [p for p in self._load(strict=True) if p.get("id") != person_id]
        if any(p.get("pin") and pin_matches(pin, p["pin"]) for p in people):
            raise TechnicianError("this PIN belongs to someone else; choose another")
        people.append({"id": person_id, "role": role, "pin": hash_pin(pin), "badges": list(badges)})
        self._save(people)
        return Technician(person_id, role)

    def remove(self, person_id: str) -> bool:
        people = self._load(strict=True)
        kept = [p for p in people if p.get("id") != person_id]
        self._save(kept)
        return len(kept) != len(people)

    def _save(self, people: list[dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"technicians": people}, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
