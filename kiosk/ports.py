"""Ports: what the core offers to the outer layers (devices, screens), declared here as Protocols so the
outer layers depend on a named contract instead of probing objects with hasattr/getattr.

`PaymentJournal` is exactly the part of kiosk.journal.Journal the card-payment device
(devices/payment.py and devices/zvt/reconcile.py) uses; `Journal` satisfies it structurally.
`FrameSource` is how screens get camera frames: a callable handed in by the composition root.
"""
from __future__ import annotations

from typing import Any, Mapping, Protocol, runtime_checkable


@runtime_checkable
class PaymentJournal(Protocol):
    """The journal as the payment device sees it (write-ahead intents, results, completed sales)."""

    def record_payment_intent(self, sale_uuid: str, amount: int, currency: str,
                              draft: Mapping[str, Any] | None = None) -> str: ...

    def record_payment_result(self, intent_id: str, status: str, facts: Mapping[str, Any] | None = None,
                              *, write_ahead: bool = False) -> None: ...

    def note_doubt(self, intent_id: str) -> None: ...

    def complete_sale(self, sale_uuid: str, intent_id: str, payment_facts: Mapping[str, Any]) -> Any: ...

    def payments_in_doubt(self) -> list[dict[str, Any]]:
        """Open intents, oldest first: dicts with intent_id, sale_uuid, amount, currency, status, facts."""
        ...

    def record_event(self, event: str, details: Mapping[str, Any] | None = None) -> Any: ...

    def last_event_time(self, event: str) -> str | None: ...

    def event_times(self, event: str, limit: int = 800) -> list[str]:
        """device_time of the newest `limit` events called `event`, newest first."""
        ...


class FrameSource(Protocol):
    """A camera's live picture for the screens: calling it gives (frame number, newest frame or None); the
    number tells whether the frame is new. The composition root hands one to the screens (the backend's
    `frames(name)`); screens never reach into the device manager for it."""

    def __call__(self) -> tuple[int, Any]: ...
