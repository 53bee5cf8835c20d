"""Ports: what the core offers to the outer layers (devices, screens), declared here as Protocols so the
outer layers depend on a named contract instead of probing objects with hasattr/getattr.

`PaymentJournal` is exactly the part of kiosk.journal.Journal the card-payment device
(devices/payment.py and devices/zvt/reconcile.py) uses; `Journal` satisfies it structurally.
`FrameSource` is how screens get camera frames: a callable handed in by the composition root.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Protocol, runtime_checkable


@runtime_checkable
class PaymentJournal(Protocol):
    """The journal as the payment device sees it (write-ahead intents, results, completed sales)."""

    def record_payment_intent(self, sale_uuid: str, amount: int, currency: str,
                              draft: Mapping[str, Any] | None = None) -> str: ...

    def record_payment_result(self, intent_id: str, status: str, facts: Mapping[str, Any] | None = None,
                              *, write_ahead: bool = False) -> None: ...

    def note_doubt(self, intent_id: str) -> None: ...

    def complete_sale(self, sale_uuid: str, intent_id: str, payment_facts: Mapping[str, Any]) -> Any: ...

    def payments_in_doubt(self) -> list[dict[str, Any]]: ...

    def record_event(self, event: str, details: Mapping[str, Any] | None = None) -> Any: ...

    def last_event_time(self, event: str) -> str | None: ...


# The newest camera frame (whatever the camera device produces, e.g. an RGB ndarray), or None when there
# is no camera or no frame yet. Screens call only this; they never reach into the device manager.
FrameSource = Callable[[], Any]
