"""The wire schema: the only code the central server shares with the kiosk.

A kiosk journals each completed transaction together with an outbox row whose payload is a
`TransactionRecord` (JSON). The sync client sends these in `seq` order; the server keeps them
unique by (kiosk_id, seq) and by uuid. Money is integer minor units; rates are basis points.
"""
from __future__ import annotations

import functools
from decimal import Decimal
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

MinorUnits = Annotated[int, Field(ge=-10**12, le=10**12)]
BasisPoints = Annotated[int, Field(ge=0, le=10000)]


@functools.lru_cache(maxsize=None)
def minor_digits(currency: str) -> int:
    """Decimals of a currency's minor unit, which amounts on the wire count in (EUR 2, JPY 0, KWD 3)."""
    from babel.numbers import get_currency_precision
    return get_currency_precision(currency)


@functools.lru_cache(maxsize=4096)  # a cart re-shows the same few prices on every change
def format_amount(minor: int, currency: str, locale: str = "en", symbol: bool = True) -> str:
    """An amount in minor units as people of `locale` (a Babel locale: "de_DE", "nl_NL", "en") read it, with
    the currency's own number of decimals: 1234 EUR -> "12,34 €" (de_DE), "€ 12,34" (nl_NL); 1234 JPY ->
    "¥1,234" (en); 1234 KWD -> "KWD1.234" (en). `symbol=False`: the number alone ("12,34"), e.g. for receipt
    columns that name the currency once. The one money formatter of the kiosk, its receipts and the server."""
    from babel.numbers import format_currency, format_decimal
    digits = minor_digits(currency)
    value = Decimal(minor).scaleb(-digits)
    if symbol:
        return format_currency(value, currency, locale=locale)
    return format_decimal(value, format="#,##0" + ("." + "0" * digits if digits else ""), locale=locale)


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


class SaleDraft(Wire):
    """A sale before it is paid: the cart's lines and VAT as the payment intent journals them. Built and
    validated before the terminal is asked to charge, so an approved payment always makes a `SaleBody`."""
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    total: MinorUnits
    lines: list[SaleLine]
    vat: list[VatSummary]
    receipt_token: str

    def sale_body(self, payment: Payment) -> SaleBody:
        return SaleBody(currency=self.currency, total=self.total, lines=self.lines, vat=self.vat,
                        payments=[payment], receipt_token=self.receipt_token)


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


# --- The central server's API (/v1). Requests are strict; a record inside a batch is kept as plain JSON so
# that one invalid record can be dead-lettered instead of refusing the whole batch. -----------------------------

Seq = Annotated[int, Field(ge=1, le=2**53)]  # exact in every JSON implementation
UuidText = Annotated[str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
ShortText = Annotated[str, Field(max_length=64, pattern=r"^[^\x00]*$")]  # PostgreSQL text cannot hold NUL


class Api(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OutboxEntry(Api):
    seq: Seq
    uuid: UuidText
    # A TransactionRecord; anything else is still accepted here and dead-lettered by the server with the reason.
    record: Annotated[Union[TransactionRecord, dict[str, object]], Field(union_mode="left_to_right")]


class TransactionBatch(Api):
    records: Annotated[list[OutboxEntry], Field(min_length=1, max_length=1000)]


class Conflict(Api):
    seq: int
    uuid: str
    reason: str


class BatchReply(Api):
    held_through: int  # the highest sequence up to which the server holds every record of this kiosk
    accepted: int
    duplicates: int
    dead_lettered: int
    flagged: list[Conflict] = []  # kept but marked, e.g. a second check-in of the same booking
    server_time: str | None = None  # the server's clock (UTC ISO); optional: older servers leave it out


class ConflictReply(Api):
    detail: str
    held_through: int  # safe to acknowledge: below the first conflicting record
    conflicts: list[Conflict]
    server_time: str | None = None  # the server's clock (UTC ISO); optional: older servers leave it out


class SyncState(Api):
    kiosk_id: str
    held_through: int
    max_seq: int
    server_time: str | None = None  # the server's clock (UTC ISO); optional: older servers leave it out


class Heartbeat(Api):
    app_version: ShortText
    device_states: Annotated[dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=256)]],
                             Field(max_length=64)] = {}  # stored as JSON text: bounded in keys and sizes
    queue_depth: Annotated[int, Field(ge=0, le=2**53)] = 0
    oldest_unsent_age_s: Annotated[float, Field(ge=0, le=10**10)] | None = None
    # why the kiosk is out of service (a damaged journal, a full disk, a sync refused for good): the server
    # raises an alarm. Sent only when set, so a server that does not know the field still takes other beats.
    out_of_service: Annotated[str, Field(max_length=1000)] | None = None
    # the kiosk's clock when it sent the beat (UTC ISO): the server shows the skew in fleet status. Optional so
    # that beats of older kiosks are still taken.
    device_time: Annotated[str, Field(max_length=40)] | None = None


class HeartbeatReply(Api):
    server_time: str


class ReleaseReport(Api):
    """kiosk-update's word on a release it tried (issue 17): kept after its probation, rolled back, or left in
    place with a technician called. Sent until the server has it; `report_id` makes a resend harmless."""
    report_id: UuidText
    version: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9.+!_-]+$")]
    outcome: Literal["kept", "rolled_back", "intervention"]
    detail: Annotated[str, Field(max_length=1000, pattern=r"^[^\x00]*$")] = ""
    at: Annotated[str, Field(max_length=40)]  # the kiosk's clock when it decided (UTC ISO)


class Delta(Api):
    """Changes since a server change number. `full` = a complete snapshot: drop everything not in it."""
    version: int
    full: bool
    upserts: list[dict[str, object]]
    deletes: list[str]


class KioskConfig(Api):
    version: int
    config: dict[str, object]


class ReceiptLine(Api):
    name: str
    quantity: int
    unit_price: int
    total: int
    vat_code: str
    voided: bool


class ReceiptPayment(Api):
    method: str
    brand: str
    card_last4: str
    amount: int
    status: str


class Receipt(Api):
    kiosk_id: str
    shop_name: str = ""  # the kiosk's name as enrolled at the server ("" when it was enrolled without one)
    device_time: str
    received_at: str
    currency: str
    total: int
    lines: list[ReceiptLine]
    vat: list[VatSummary]
    payments: list[ReceiptPayment]


class Problem(Api):
    detail: object


class KioskStatus(Api):
    kiosk_id: str
    name: str
    enrolled_at: str
    last_seen_at: str | None
    last_heartbeat_at: str | None
    app_version: str | None
    device_states: dict[str, str]
    queue_depth: int | None
    oldest_unsent_age_s: float | None
    held_through: int
    max_seq: int
    gaps: list[tuple[int, int]]  # missing sequence ranges (first, last) below max_seq
    dead_letters: int
    alarms: int
    flagged: int
    clock_skew_s: float | None = None  # the kiosk's clock minus the server's at its last heartbeat


class FleetStatus(Api):
    kiosks: list[KioskStatus]


class HeldRecord(Api):
    seq: int
    uuid: str


class HeldPage(Api):
    records: list[HeldRecord]


KeyText = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00]+$")]


class CatalogRow(BaseModel):
    """One catalog item as loaded by the admin and sent to kiosks; the kiosk's catalog validates the other
    fields (names, price, vat, ...). Keyed by item_id, else the GTIN (as 14 digits), else "PLU:<plu>"."""
    model_config = ConfigDict(extra="allow", json_schema_extra={
        "anyOf": [{"required": ["gtin"]}, {"required": ["plu"]}, {"required": ["item_id"]}]})
    gtin: Annotated[str, Field(pattern=r"^([0-9]{8}|[0-9]{12,14})$")] = None  # type: ignore[assignment]
    plu: Annotated[str, Field(pattern=r"^[0-9]{1,6}$")] = None  # type: ignore[assignment]
    item_id: KeyText = None  # type: ignore[assignment]


class BookingRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: KeyText


# --- The live channel (issue 15), kiosk token: a LiveState POSTed on every change (debounced) to /v1/live/state;
# one SSE stream GET /v1/live/commands (`event: command`, a LiveCommand as data), each answered by a CommandResult
# to POST /v1/live/commands/{id}/result. Not the record: every intervention's outcome is journaled and synced.
LiveFlow = Literal["idle", "checkout", "checkin", "maintenance"]
LivePhase = Literal["idle", "shopping", "paying", "receipt", "checkin", "help", "age_check", "in_doubt",
                    "out_of_service", "maintenance"]
CommandKind = Literal["approve_age", "refuse_age", "cancel_session", "out_of_service", "in_service", "sync_now",
                      "test_print", "reload_config", "help_acknowledged", "help_resolved"]
Name = Annotated[str, Field(max_length=200)]
Short, Stamp, Text = (Annotated[str, Field(max_length=n)] for n in (64, 40, 1000))


class LiveLine(Api):
    name: Name
    quantity: Annotated[int, Field(ge=0, le=10**6)]
    amount_minor: MinorUnits
    age_restricted: bool = False


class LiveState(Api):
    """What a kiosk is doing now. `seq` grows with every state the kiosk sends (per kiosk process start,
    `boot_id` tells starts apart) so the server keeps only the newest."""
    boot_id: Short
    seq: Annotated[int, Field(ge=0, le=2**53)]
    session_id: Short | None = None  # the customer session now open, if any
    flow: LiveFlow = "idle"
    phase: LivePhase = "idle"
    screen: Annotated[str, Field(max_length=64)] = ""
    language: Annotated[str, Field(max_length=16)] = "en"
    lines: Annotated[list[LiveLine], Field(max_length=500)] = []
    item_count: Annotated[int, Field(ge=0, le=10**6)] = 0
    total_minor: MinorUnits = 0
    currency: Annotated[str, Field(min_length=3, max_length=3)] = "EUR"
    age_check_pending: bool = False
    help_called: bool = False
    help_acknowledged_by: Name | None = None  # the kiosk shows "help is on the way" while this is set
    devices: Annotated[dict[Short, Annotated[str, Field(max_length=256)]], Field(max_length=64)] = {}  # "ok"/why
    outbox_depth: Annotated[int, Field(ge=0, le=2**53)] = 0
    payment_in_doubt: bool = False
    out_of_service: Text | None = None  # why, when the lane is closed
    closing: Text | None = None  # why, when it closes after this customer
    sent_at: Stamp  # the kiosk's clock, UTC ISO 8601


class LiveCommand(Api):
    """An attendant's command for one kiosk. `session_id` names the customer session it is for (None for
    lane commands such as out_of_service); the kiosk refuses it when that session is over or it has expired."""
    id: Short
    kind: CommandKind
    session_id: Short | None = None
    issued_at: Stamp
    expires_at: Stamp
    by: Name  # the console user's display name, journaled on the kiosk
    reason: Text = ""


class CommandResult(Api):
    outcome: Literal["done", "refused", "expired", "failed"]
    detail: Text = ""


# --- Fleet insight (issue 16): one summary per customer session, no personal data. Sent as an EventBody (event
# "session", the fields as details): a server without insight stores it as any event instead of dead-lettering it.
SESSION_EVENT = "session"
SessionOutcome = Literal["completed", "abandoned_idle", "cancelled", "handed_to_staff", "out_of_service"]
Count = Annotated[int, Field(ge=0, le=10**6)]
Millis = Annotated[int, Field(ge=0, le=7 * 24 * 3600 * 1000)]
UtcStamp = Annotated[str, Field(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}([_-][A-Za-z]{2,4})?$")]


class SessionSummary(Wire):
    session_id: UuidText
    flow: Literal["checkout", "checkin"]
    language: LanguageCode  # at the end of the session
    start_language: LanguageCode
    language_switches: Count = 0
    started_at: UtcStamp  # the kiosk's clock, UTC; the server files the session under this hour
    ended_at: UtcStamp
    duration_ms: Millis
    outcome: SessionOutcome
    first_scan_ms: Millis | None = None  # from the start; None: never scanned
    payment_ms: Millis | None = None  # to the first payment attempt
    paid_ms: Millis | None = None  # to the approved payment (or the check-in)
    receipt_choice: Literal["print", "qr", "none"] | None = None
    scans: Count = 0
    taps: Count = 0
    searches: Count = 0
    unknown_codes: Count = 0
    messages: Count = 0
    help_calls: Count = 0
    age_checks: Count = 0
    age_wait_ms: Millis = 0  # summed over the age checks: requested -> approved or removed
    payment_attempts: Count = 0
    declines: Count = 0
    amount_minor: MinorUnits = 0  # what was paid (0 unless completed checkout)
    currency: Annotated[str, Field(pattern=r"^([A-Z]{3})?$")] = ""
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    easy: bool | None = None
    large_text: bool = False  # large text was on at any time

    @classmethod
    def from_details(cls, details: dict) -> "SessionSummary":
        """The kiosk's backend adds its id ("kiosk") to every event's details: not part of the summary."""
        return cls.model_validate({k: v for k, v in details.items() if k != "kiosk"})
