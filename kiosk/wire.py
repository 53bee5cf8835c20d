"""The wire schema: the only code the central server shares with the kiosk.

A kiosk journals each completed transaction together with an outbox row whose payload is a
`TransactionRecord` (JSON). The sync client sends these in `seq` order; the server keeps them
unique by (kiosk_id, seq) and by uuid. Money is integer minor units; rates are basis points.
"""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

MinorUnits = Annotated[int, Field(ge=-10**12, le=10**12)]
BasisPoints = Annotated[int, Field(ge=0, le=10000)]


class Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SaleLine(Wire):
    line_no: Annotated[int, Field(ge=1)]
    item_id: str  # GTIN-14 key or "PLU:<plu>"
    name: str
    quantity: Annotated[int, Field(ge=1)]  # pieces, or grams for weighed items
    unit_price: MinorUnits
    total: MinorUnits
    vat_code: str
    vat_rate: BasisPoints
    voided: bool = False
    age_approved_by: str | None = None


class VatSummary(Wire):
    code: str
    rate: BasisPoints
    gross: MinorUnits
    net: MinorUnits
    vat: MinorUnits


class Payment(Wire):
    method: Literal["card"]
    amount: MinorUnits
    status: Literal["approved", "reversed"]
    brand: str = ""
    masked_pan: Annotated[str, Field(max_length=19, pattern=r"^[0-9]{0,6}[*X]*[0-9]{0,4}$")] = ""
    auth_code: str = ""
    receipt_no: str = ""
    trace_no: str = ""
    terminal_id: str = ""


class SaleBody(Wire):
    kind: Literal["sale"] = "sale"
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    total: MinorUnits
    lines: list[SaleLine]
    vat: list[VatSummary]
    payments: list[Payment]
    receipt_token: str  # unguessable; the receipt QR opens /r/<token> on the central server


class CheckinBody(Wire):
    kind: Literal["checkin"] = "checkin"
    booking_code: str
    party_size: Annotated[int, Field(ge=1)]
    ticket_no: Annotated[int, Field(ge=1)]


class EventBody(Wire):
    """Anything else worth keeping centrally: help calls, abandoned sessions, ratings, audit entries."""
    kind: Literal["event"] = "event"
    event: str
    details: dict[str, Union[str, int, bool, None]] = {}


Body = Annotated[Union[SaleBody, CheckinBody, EventBody], Field(discriminator="kind")]


class TransactionRecord(Wire):
    schema_version: Literal[1] = SCHEMA_VERSION
    uuid: Annotated[str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    kiosk_id: str
    seq: Annotated[int, Field(ge=1)]  # gap-free per kiosk, starting at 1
    boot_id: str
    device_time: str  # ISO 8601 with offset, the kiosk's clock: informative only, never used for ordering
    body: Body
