"""The live channel's views (plain dataclasses) and its rules: a lane's status, the interventions a state raises."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from kiosk.wire import LiveState

# most urgent first: the first that applies is the lane's status
STATUSES = ("offline", "in_doubt", "help", "age_check", "out_of_service", "device_fault", "paying", "shopping",
            "idle")
INTERVENTION_KINDS = ("help", "age_check", "payment_in_doubt", "device_fault", "offline", "outbox_growing")
OUTCOMES = ("pending", "done", "refused", "expired", "failed")
SESSION_KINDS = ("approve_age", "refuse_age")  # refused by the server unless for the lane's current session


@dataclass(frozen=True)
class Lane:
    kiosk_id: str
    name: str
    state: LiveState | None
    connected: bool
    last_seen_at: str | None
    status: str
    status_since: str | None
    disabled: bool = False  # by an administrator (`kiosk-server admin disable`): shown offline, with why

    def as_json(self) -> dict:
        data = asdict(self)
        data["state"] = self.state.model_dump(mode="json") if self.state is not None else None
        return data


@dataclass(frozen=True)
class Intervention:
    id: int
    kiosk_id: str
    kind: str
    session_id: str | None
    detail: str
    raised_at: str
    acknowledged_by: str | None
    acknowledged_at: str | None
    resolved_by: str | None
    resolved_at: str | None

    def as_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CommandRecord:
    id: str
    kiosk_id: str
    kind: str
    session_id: str | None
    by: str
    issued_at: str
    expires_at: str
    outcome: str
    detail: str
    answered_at: str | None

    def as_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Change:
    kind: Literal["lane", "intervention"]
    kiosk_id: str
    intervention_id: int | None = None


class AlreadyTaken(Exception):
    """Another attendant acted first; `.by` names them."""

    def __init__(self, by: str, what: str = "taken"):
        super().__init__(f"already {what} by {by}")
        self.by, self.what = by, what


class UnknownKiosk(KeyError):
    pass


class UnknownIntervention(KeyError):
    pass


def device_faults(state: LiveState) -> str:
    """"printer: paper out; scanner: unplugged", or "" when every device is ok."""
    return "; ".join(f"{name}: {what}" for name, what in sorted(state.devices.items())
                     if what.strip().lower() != "ok")


def status_of(state: LiveState | None, connected: bool) -> str:
    if not connected:
        return "offline"
    if state is None:  # connected, nothing posted yet
        return "idle"
    if state.payment_in_doubt or state.phase == "in_doubt":
        return "in_doubt"
    if state.help_called or state.phase == "help":
        return "help"
    if state.age_check_pending or state.phase == "age_check":
        return "age_check"
    if state.out_of_service is not None or state.phase in ("out_of_service", "maintenance"):
        return "out_of_service"
    if device_faults(state):
        return "device_fault"
    if state.phase == "paying":
        return "paying"
    if state.phase != "idle" or state.item_count > 0 or state.session_id:
        return "shopping"
    return "idle"


def conditions(state: LiveState | None, outbox_alert: int) -> dict[str, str]:
    """The intervention kinds this state calls for (kind -> detail), "offline" aside."""
    if state is None:
        return {}
    found = {}
    if state.help_called:
        found["help"] = ""
    if state.age_check_pending:
        found["age_check"] = ", ".join(line.name for line in state.lines if line.age_restricted)
    if state.payment_in_doubt:
        found["payment_in_doubt"] = f"{state.total_minor} {state.currency} (minor units)"
    faults = device_faults(state)
    if faults:
        found["device_fault"] = faults
    if state.outbox_depth >= outbox_alert:
        found["outbox_growing"] = f"{state.outbox_depth} records not yet sent"
    return found
