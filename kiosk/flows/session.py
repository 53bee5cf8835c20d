"""One customer's session: the state machine behind every customer screen.

    ATTRACT ──start/scan──> CHECKOUT <──> LOOKUP
                              │  age-restricted item ──> AGE_CHECK ──approved/removed──> CHECKOUT
                              └─pay──> PAYMENT ──approved──> RECEIPT ──print/none──> THANKS ──> ATTRACT
                                         │  └─qr──> RECEIPT_QR ──> THANKS
                                         ├─declined──> PAYMENT_FAILED ──retry──> PAYMENT
                                         ├─cancelled──> CHECKOUT
                                         └─unknown───> PAYMENT_IN_DOUBT ──resolved──> RECEIPT | CHECKOUT
    ATTRACT ──check in──> CHECKIN ──code ok──> CHECKIN_BOOKING ──confirm──> CHECKIN_DONE ──> THANKS
    ATTRACT <──> OUT_OF_SERVICE (when no offered flow has the devices it needs)

On top of any state: a message (unknown barcode, wrong code...), the help call, and the idle
"still there?" countdown which abandons the session. Everything the customer does is journaled
through the backend. All methods run on one thread (the UI's); nothing here blocks.

No wait strands a customer: paying, cancelling, a payment in doubt, an age check and a receipt or
ticket being printed each have a limit (`waits`, from [ui] in kiosk.toml). When `tick` finds one
exceeded, the screen's `notice` says what happens next and help is called (journaled with the
reason). A timeout never decides a payment: a late result from the terminal still moves on.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from kiosk.bookings import Booking, CheckinCheck, code_from_qr, normalize_code
from kiosk.cart import Cart, CartError, CartLine
from kiosk.catalog import Item
from kiosk.events import DATA, STATUS, Event
from kiosk.flows import texts

from kiosk.flows.states import (AGE_CHECK, ATTRACT, CHECKIN, CHECKIN_BOOKING, CHECKIN_DONE, CHECKOUT, LOOKUP,
                                NOT_IDLE, OUT_OF_SERVICE, PAYMENT, PAYMENT_FAILED, PAYMENT_IN_DOUBT, RECEIPT,
                                RECEIPT_QR, STATES, THANKS)
USABLE = ("idle", "busy")
THANKS_SECONDS = 15  # the thank-you screen returns to attract by itself


class Backend(Protocol):
    """What the session needs from the rest of the kiosk (launcher.backend.KioskBackend is the real one)."""
    kiosk_id: str
    currency: str
    vat_rates: dict[str, int]
    catalog: Any  # kiosk.catalog.Catalog
    bookings: Any  # kiosk.bookings.Bookings

    waits: dict[str, float]  # seconds per wait (kiosk.config.WAITS)

    def device_state(self, name: str) -> str | None: ...  # None: no such device configured
    def pay(self, sale_uuid: str, amount: int, draft: dict) -> None: ...  # result comes as events
    def cancel_payment(self) -> None: ...
    def sale_completed(self, sale_uuid: str) -> bool: ...
    def print_receipt(self, sale_uuid: str, lang: str) -> int | None: ...  # printer job id
    def receipt_url(self, sale_uuid: str) -> str: ...
    def complete_checkin(self, booking: Booking) -> int: ...  # the ticket (queue) number
    def print_ticket(self, ticket_no: int, booking: Booking, lang: str) -> int | None: ...
    def record_event(self, event: str, details: dict) -> None: ...
    def verify_attendant(self, secret: str) -> str | None: ...  # attendant id, or None
    def check_booking(self, code: str | None) -> CheckinCheck: ...


@dataclass(frozen=True)
class Message:
    msgid: str  # English source text, translated by the UI
    params: dict[str, Any] = field(default_factory=dict)
    kind: str = "error"  # error | info
    help: bool = False  # offer the help button with it


class Session:
    def __init__(self, backend: Backend, *, mode: str = "both", default_language: str = "en",
                 default_large_text: bool = False, idle_timeout_s: float = 60, countdown_s: float = 20,
                 now: float = 0.0):
        self.backend = backend
        self.mode = mode
        self.default_language = default_language
        self.default_large_text = default_large_text
        self.idle_timeout_s, self.countdown_s = idle_timeout_s, countdown_s
        self.waits = dict(backend.waits)
        self.version = 0  # bumped on every change the screens should show
        self._reset(now)

    # --- state ----------------------------------------------------------------------------------------

    def _reset(self, now: float) -> None:
        self.state = ATTRACT
        self.lang = self.default_language
        self.large_text = self.default_large_text
        self.cart: Cart | None = None
        self.message: Message | None = None
        self.notice = ""  # a msgid the current screen shows as a line of its own (cleared on a new state)
        self.help_called = False  # an attendant is on the way (until the session ends)
        self.help_box = False  # the "help is on its way" box is shown
        self.help_since: float | None = None
        self.last_touch = now
        self.still_there_until: float | None = None
        self.search_text = ""
        self.search_results: list[Item] = []
        self.payment_text = ""
        self.payment_message = ""
        self.cancel_requested = False
        self.paying_sale: str | None = None
        self.sale_uuid: str | None = None  # the completed sale of this session
        self.print_job: int | None = None  # the receipt or ticket being printed
        self.print_kind = ""  # "receipt" | "ticket"
        self.pay_after_approval = False  # the customer pressed Pay while an item awaited the age check
        self.choose_hint = False  # attract in "both" mode was touched outside its two buttons
        self._wait_for: str | None = None
        self._wait_since: float | None = None  # None: not waiting, or told already
        self.booking: Booking | None = None
        self.ticket_no: int | None = None
        self.checkin_code = ""
        self.rating: int | None = None
        self.easy: bool | None = None
        self.thanks_until: float | None = None
        self._go(self._rest_state())

    def _go(self, state: str) -> None:
        assert state in STATES, state
        if state != self.state:
            self.notice = ""
        self.state = state
        self.version += 1

    def _changed(self) -> None:
        self.version += 1

    def _say(self, msgid: str, kind: str = "error", help: bool = False, **params: Any) -> None:
        self.message = Message(msgid, params, kind, help)
        self._changed()

    def _rest_state(self) -> str:
        return ATTRACT if self.checkout_available or self.checkin_offered else OUT_OF_SERVICE

    @property
    def checkout_offered(self) -> bool:
        return self.mode in ("checkout", "both")

    @property
    def checkin_offered(self) -> bool:
        return self.mode in ("checkin", "both")

    def _usable(self, name: str) -> bool:
        state = self.backend.device_state(name)
        return state is not None and state in USABLE

    @property
    def checkout_available(self) -> bool:
        """Shopping needs a way to scan and the card terminal."""
        return self.checkout_offered and self._usable("payment") and (self._usable("scanner") or
                                                                      self._usable("camera"))

    # --- generic input ------------------------------------------------------------------------------

    def touch(self, now: float) -> None:
        """Any tap on the screen: the customer is still there."""
        self.last_touch = now
        if self.still_there_until is not None:
            self.still_there_until = None
            self._changed()

    def set_language(self, lang: str) -> None:
        self.lang = lang
        self._changed()

    def toggle_large_text(self) -> None:
        self.large_text = not self.large_text
        self._changed()

    def dismiss_message(self) -> None:
        self.message = None
        self._changed()

    def call_help(self, reason: str = "customer", now: float | None = None) -> None:
        """The customer asks for an attendant (or a wait ran too long: `reason`): journaled (the
        maintenance screen lists open calls). Help stays on its way until the session ends."""
        details = {"screen": self.state, "sale_uuid": self.cart.sale_uuid if self.cart else None,
                   "items": self.cart.item_count if self.cart else 0, "reason": reason}
        self.backend.record_event("help_called", details)
        self.help_called, self.help_since = True, now
        self.help_box = reason == "customer"  # a timeout says what happens next on the screen itself
        self._changed()

    def dismiss_help(self) -> None:
        """OK on the help box: the box goes, the call stays open."""
        self.help_box = False
        self._changed()

    @property
    def help_text(self) -> str:
        if self.state in (PAYMENT, PAYMENT_IN_DOUBT):
            return texts.HELP_PAYMENT
        if self.cart is not None and self.state in (CHECKOUT, LOOKUP, AGE_CHECK, PAYMENT_FAILED):
            return texts.HELP_CART
        return texts.HELP_OTHER

    def cancel(self, now: float) -> None:
        """The customer leaves on purpose ("cancel" on checkout or check-in)."""
        if self.cart is not None and self.cart.active_lines:
            self.backend.record_event("session_cancelled", self._session_facts())
        self._reset(now)

    def _session_facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {"screen": self.state}
        if self.cart is not None:
            facts.update(sale_uuid=self.cart.sale_uuid, items=self.cart.item_count, total=self.cart.total.amount)
        return facts

    # --- time ------------------------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Called about once a second: waits, idle countdown, thank-you timeout, device changes on attract."""
        waiting = self._check_wait(now)
        if self.state == THANKS and self.thanks_until is not None and now >= self.thanks_until \
                and self.print_job is None:
            self._reset(now)
            return
        if self.state in NOT_IDLE or waiting:
            self.last_touch = now
            if self.state in (ATTRACT, OUT_OF_SERVICE) and self.help_called and self.help_since is not None \
                    and now - self.help_since >= self.idle_timeout_s + self.countdown_s:
                self.help_called = self.help_box = False  # no session to end here: as long as an abandoned one
                self._changed()
            if self.state in (ATTRACT, OUT_OF_SERVICE) and self.state != self._rest_state():
                self._go(self._rest_state())
            return
        if self.still_there_until is None:
            if now - self.last_touch >= self.idle_timeout_s:
                self.still_there_until = now + self.countdown_s
                self._changed()
        elif now >= self.still_there_until:
            self.backend.record_event("session_abandoned", self._session_facts())
            self._reset(now)

    def _waiting_for(self) -> str | None:
        """What the customer is waiting for now, as a key of `waits`."""
        if self.state == PAYMENT:
            return "cancelling" if self.cancel_requested else "payment"
        if self.state == PAYMENT_IN_DOUBT:
            return "in_doubt"
        if self.state == AGE_CHECK:
            return "age_check"
        return "printing" if self.print_job is not None else None

    def _check_wait(self, now: float) -> bool:
        """Times the current wait from the first tick that sees it; True while it is within its limit."""
        what = self._waiting_for()
        if what != self._wait_for:
            self._wait_for, self._wait_since = what, now
        if what is None or self._wait_since is None:
            return False
        if now - self._wait_since < self.waits[what]:
            return True
        self._wait_since = None  # said once
        if what == "printing":
            self._print_failed(overdue=True)
        else:
            self.notice = texts.OVERDUE[what]
        self.call_help(reason=f"{what}_timeout", now=now)
        return False

    def still_there_left(self, now: float) -> int | None:
        if self.still_there_until is None:
            return None
        return max(0, int(self.still_there_until - now + 0.999))

    # --- events from devices -------------------------------------------------------------------------

    def handle(self, event: Event, now: float) -> None:
        if event.source in ("scanner", "camera") and event.kind == DATA:
            self.scanned(event.data, now)
        elif event.source == "payment" and event.kind == DATA:
            self._payment_event(event.data, now)
        elif event.source == "session" and event.kind == "payment_failed":
            self._payment_event({"event": "result", "sale_uuid": self.paying_sale, "status": "cancelled",
                                 "message_id": "payment.unavailable"}, now)
        elif event.source == "printer" and event.kind == DATA and event.data.get("job_id") == self.print_job \
                and self.print_job is not None:
            if event.data.get("job") == "failed":
                self._print_failed(overdue=False)
            elif event.data.get("job") == "printed":
                self.print_job = None
        elif event.kind == STATUS:
            self._changed()  # availability may have changed; tick() moves attract <-> out of service

    def scanned(self, data: dict[str, Any], now: float) -> None:
        """A code from the scanner or the camera, routed by what the customer is doing."""
        self.touch(now)
        code = str(data.get("code", ""))
        if self.state in (THANKS, RECEIPT_QR, CHECKIN_DONE):
            self._reset(now)  # done: this is the next customer's first item (or booking)
        if self.state == ATTRACT:
            if data.get("category") == "booking" and self.checkin_offered:
                self.start_checkin(now)
            elif self.checkout_available:
                self.start_checkout(now)
            else:
                return
        if self.state == PAYMENT_FAILED and data.get("category") in ("product", "gs1"):
            self.back_to_cart()  # one more item before trying again
        if self.state in (CHECKOUT, LOOKUP):
            self._scan_item(data)
        elif self.state == AGE_CHECK:
            if data.get("category") in ("product", "gs1") and self.backend.verify_attendant(code) is None:
                self._say(texts.AGE_CHECK_FIRST, kind="info")
            else:
                self.attendant(code, now)
        elif self.state in (PAYMENT, PAYMENT_IN_DOUBT):
            self._say(texts.FINISH_PAYING, kind="info")
        elif self.state == RECEIPT:
            self._say(texts.RECEIPT_FIRST, kind="info")
        elif self.state in (CHECKIN, CHECKIN_BOOKING):
            booking = data.get("booking") or code_from_qr(code) or code
            self.checkin_code = (normalize_code(booking) or booking).upper()[:20]  # the scan replaces what was typed
            self.enter_booking(booking, now)

    # --- checkout -----------------------------------------------------------------------------------------

    def touch_to_start(self, now: float) -> None:
        """A tap on attract outside its buttons: starts the kiosk's one flow; with two, points at them."""
        if self.state != ATTRACT:
            return
        if self.checkin_offered and not self.checkout_offered:
            self.start_checkin(now)
        elif self.checkout_offered and not self.checkin_offered:
            self.start_checkout(now)
        else:
            self.choose_hint = True
            self._changed()

    def start_checkout(self, now: float) -> None:
        if not self.checkout_available:
            self._say(texts.CHECKOUT_UNAVAILABLE, help=True)
            return
        self.cart = Cart(self.backend.catalog, self.backend.vat_rates, self.backend.currency)
        self.message = None
        self.last_touch = now
        self._go(CHECKOUT)

    def _scan_item(self, data: dict[str, Any]) -> None:
        assert self.cart is not None
        code = str(data.get("gtin") or data.get("code") or "")
        if data.get("valid") is False:
            self._say(texts.INVALID_CODE)
            return
        if data.get("category") not in (None, "product", "gs1") or not code:
            self._say(texts.NOT_AN_ITEM, help=True)
            return
        try:
            # a UPC-E's GTIN is already expanded; only its own 8 digits need reading as UPC-E
            line = self.cart.add_scan(code, upce=data.get("symbology") == "UPC-E" and not data.get("gtin"))
        except CartError as exc:
            self._cart_error(exc, code=str(data.get("code", code)))
            return
        self._added(line)

    def _added(self, line: CartLine) -> None:
        self.message = None
        if self.state == LOOKUP:
            self.state = CHECKOUT
        if line.needs_approval:
            self.backend.record_event("age_check_requested", {"sale_uuid": self.cart.sale_uuid,
                                                              "item": line.item.key, "min_age": line.item.min_age})
            self._go(AGE_CHECK)
        else:
            self._changed()

    def _cart_error(self, exc: CartError, code: str = "") -> None:
        code = texts.shown_code(code)  # codes carry line breaks and separators; shown short and visible
        if exc.code == "unknown_item":
            self._say(texts.UNKNOWN_ITEM, help=True, code=code)
        elif exc.code == "invalid_code":
            self._say(texts.INVALID_CODE)
        elif exc.code == "fixed_quantity":
            self._say(texts.FIXED_QUANTITY)
        elif exc.code == "bad_quantity":
            self._say(texts.MAX_QUANTITY)
        else:
            self._say(texts.UNKNOWN_ITEM, help=True, code=code)

    def plus(self, line_no: int) -> None:
        self._quantity(line_no, +1)

    def minus(self, line_no: int) -> None:
        """One fewer; at one, the line is voided (the customer sees it crossed out)."""
        assert self.cart is not None
        if self.cart.line(line_no).quantity <= 1:
            self.void(line_no)
        else:
            self._quantity(line_no, -1)

    def _quantity(self, line_no: int, delta: int) -> None:
        assert self.cart is not None
        try:
            line = self.cart.line(line_no)
            self.cart.set_quantity(line_no, line.quantity + delta)
        except CartError as exc:
            self._cart_error(exc)
            return
        self._changed()

    def void(self, line_no: int) -> None:
        assert self.cart is not None
        try:
            line = self.cart.void_line(line_no)
        except CartError as exc:
            self._cart_error(exc)
            return
        self.backend.record_event("line_voided", {"sale_uuid": self.cart.sale_uuid, "line_no": line_no,
                                                  "item": line.item.key, "quantity": line.quantity})
        self._changed()

    def restore(self, line_no: int) -> None:
        """Undo a removal: the voided line counts again."""
        assert self.cart is not None
        try:
            line = self.cart.restore_line(line_no)
        except CartError as exc:
            self._cart_error(exc)
            return
        self.backend.record_event("line_restored", {"sale_uuid": self.cart.sale_uuid, "line_no": line_no,
                                                    "item": line.item.key, "quantity": line.quantity})
        self._added(line)

    # --- lookup ---------------------------------------------------------------------------------------------

    def open_lookup(self) -> None:
        self.search_text = ""
        self.search_results = []
        self._go(LOOKUP)

    def search(self, text: str) -> None:
        self.search_text = text
        self.search_results = self.backend.catalog.search(text, limit=24) if text.strip() else []
        self._changed()

    def plu_items(self) -> list[Item]:
        return self.backend.catalog.plu_items(limit=24)

    def add_item(self, item_id: int) -> None:
        assert self.cart is not None
        item = self.backend.catalog.by_id(item_id)
        if item is None:
            self._say(texts.UNKNOWN_ITEM, help=True, code=str(item_id))
            return
        try:
            line = self.cart.add_item(item)
        except CartError as exc:
            self._cart_error(exc)
            return
        if self.state == LOOKUP:
            self.state = CHECKOUT
        self._added(line)

    def close_lookup(self) -> None:
        self._go(CHECKOUT)

    # --- age check ----------------------------------------------------------------------------------------------

    def attendant(self, secret: str, now: float) -> None:
        """An attendant's PIN or badge code: approves every age-restricted line waiting."""
        assert self.cart is not None
        who = self.backend.verify_attendant(secret)
        if who is None:
            self.backend.record_event("attendant_refused", {"sale_uuid": self.cart.sale_uuid})
            self._say(texts.WRONG_ATTENDANT)
            return
        lines = self.cart.approve_age(who)
        self.backend.record_event("age_approved", {"sale_uuid": self.cart.sale_uuid, "attendant": who,
                                                   "lines": ",".join(str(line.line_no) for line in lines)})
        self.message = None
        self._go(CHECKOUT)
        if self.pay_after_approval:
            self.pay(now)  # the customer had asked to pay: go straight on

    def remove_restricted(self) -> None:
        """The customer does not want to wait: the waiting lines are voided."""
        assert self.cart is not None
        for line in self.cart.awaiting_approval:
            self.void(line.line_no)
        self.pay_after_approval = False
        self._go(CHECKOUT)

    # --- payment -------------------------------------------------------------------------------------------------

    def pay(self, now: float) -> None:
        assert self.cart is not None
        self.pay_after_approval = False
        if self.cart.awaiting_approval:
            self.pay_after_approval = True
            self._go(AGE_CHECK)
            return
        if not self.cart.can_pay:
            self._say(texts.NOTHING_TO_PAY, kind="info")
            return
        if not self._usable("payment"):
            self._say(texts.PAYMENT_MESSAGES["payment.unavailable"], help=True)
            return
        self.message = None
        self.payment_text = texts.INSERT_CARD
        self.payment_message = ""
        self.cancel_requested = False
        self.paying_sale = self.cart.sale_uuid
        self._go(PAYMENT)
        draft = self.cart.draft(self.lang, receipt_token=uuid.uuid4().hex)
        self.backend.pay(self.cart.sale_uuid, self.cart.total.amount, draft)

    def cancel_payment(self) -> None:
        if self.state == PAYMENT and not self.cancel_requested:
            self.cancel_requested = True
            self.payment_text = texts.CANCELLING
            self.backend.cancel_payment()
            self._changed()

    def retry_payment(self, now: float) -> None:
        # a declined payment's sale UUID was used by its intent; the retry is a new sale attempt
        assert self.cart is not None
        self.cart.sale_uuid = str(uuid.uuid4())
        self.pay(now)

    def back_to_cart(self) -> None:
        if self.state in (PAYMENT_FAILED, AGE_CHECK, LOOKUP):
            self.pay_after_approval = False
            if self.state == PAYMENT_FAILED and self.cart is not None:
                self.cart.sale_uuid = str(uuid.uuid4())
            self._go(CHECKOUT)

    def _payment_event(self, data: dict[str, Any], now: float) -> None:
        kind = data.get("event")
        if kind == "status" and self.state == PAYMENT and not self.cancel_requested:
            self.payment_text = texts.terminal_status_text(int(data.get("code", -1)))
            self._changed()
        elif kind == "result" and data.get("sale_uuid") == self.paying_sale and self.paying_sale is not None:
            self._payment_result(str(data.get("status")), str(data.get("message_id", "")), now)
        elif kind == "in_doubt" and self.state == PAYMENT:
            self.payment_message = texts.PAYMENT_MESSAGES["payment.checking"]
            self._go(PAYMENT_IN_DOUBT)
        elif kind == "resolved" and self.state == PAYMENT_IN_DOUBT and self.paying_sale is not None:
            if self.backend.sale_completed(self.paying_sale):
                self._payment_result("approved", "payment.approved", now)
            else:
                self._payment_result("cancelled", "payment.cancelled", now)

    def _payment_result(self, status: str, message_id: str, now: float) -> None:
        self.last_touch = now
        self.payment_message = texts.PAYMENT_MESSAGES.get(message_id, texts.PAYMENT_MESSAGES["payment.declined"])
        if self.message is not None and self.message.msgid == texts.FINISH_PAYING:
            self.message = None
        if status == "approved":
            self.sale_uuid, self.paying_sale = self.paying_sale, None
            self._go(RECEIPT)
        elif status == "declined":
            self._go(PAYMENT_FAILED)
        elif status == "in_doubt":
            self.payment_message = texts.PAYMENT_MESSAGES["payment.checking"]
            self._go(PAYMENT_IN_DOUBT)
        else:  # cancelled or reversed: nothing was charged, back to the cart
            self.paying_sale = None
            assert self.cart is not None
            self.cart.sale_uuid = str(uuid.uuid4())
            self._go(CHECKOUT)
            self._say(self.payment_message, kind="info", help=message_id == "payment.unavailable")

    # --- receipt -----------------------------------------------------------------------------------------------------

    def receipt(self, choice: str, now: float) -> None:
        """"print", "none" or "qr"."""
        assert self.sale_uuid is not None
        self.backend.record_event("receipt_choice", {"sale_uuid": self.sale_uuid, "choice": choice})
        if choice == "qr":
            self._go(RECEIPT_QR)
            return
        if choice == "print":
            self.print_job, self.print_kind = self.backend.print_receipt(self.sale_uuid, self.lang), "receipt"
            if self.print_job is None:
                self._print_failed(overdue=False)
                return
        self._thanks(now)

    @property
    def printer_ready(self) -> bool:
        return self._usable("printer")

    def _print_failed(self, overdue: bool) -> None:
        """The receipt or ticket will not come out: the receipt is still there as a QR code, the ticket's
        number on the screen, with a line saying so (not a box over the QR code or the number)."""
        kind, self.print_job = self.print_kind, None
        if kind == "receipt" and self.sale_uuid is not None:
            self._go(RECEIPT_QR)
            self.notice = texts.OVERDUE["receipt"] if overdue else texts.PRINTER_FAILED
        elif kind == "ticket" and self.ticket_no is not None:
            self._go(CHECKIN_DONE)
            self.notice = texts.OVERDUE["ticket"] if overdue else texts.TICKET_NOT_PRINTED
        self._changed()

    def receipt_url(self) -> str:
        return self.backend.receipt_url(self.sale_uuid) if self.sale_uuid else ""

    def _thanks(self, now: float) -> None:
        self.thanks_until = now + THANKS_SECONDS
        self._go(THANKS)

    def done(self, now: float) -> None:
        """"Done" on the QR, ticket and thank-you screens."""
        if self.state in (RECEIPT_QR, CHECKIN_DONE):
            self._thanks(now)
        elif self.state == THANKS:
            self._reset(now)

    # --- thank-you ------------------------------------------------------------------------------------------------------

    def rate(self, stars: int, now: float) -> None:
        if not 1 <= stars <= 5:
            raise ValueError("a rating is 1 to 5")
        self.rating = stars
        self.backend.record_event("rating", {"stars": stars, "sale_uuid": self.sale_uuid, "flow": self._flow()})
        self.thanks_until = now + THANKS_SECONDS
        self._changed()

    def answer_easy(self, easy: bool, now: float) -> None:
        self.easy = easy
        self.backend.record_event("was_it_easy", {"easy": easy, "sale_uuid": self.sale_uuid, "flow": self._flow()})
        self.thanks_until = now + THANKS_SECONDS
        self._changed()

    def _flow(self) -> str:
        return "checkin" if self.ticket_no is not None else "checkout"

    # --- check-in -----------------------------------------------------------------------------------------------------------

    def start_checkin(self, now: float) -> None:
        self.checkin_code = ""
        self.booking = None
        self.message = None
        self.last_touch = now
        self._go(CHECKIN)

    def type_code(self, text: str) -> None:
        self.checkin_code = text.upper()[:20]
        self._changed()

    def enter_booking(self, code: str | None, now: float = 0.0) -> None:
        """A typed code or a scanned QR payload: shows the booking or says why it cannot check in."""
        normal = normalize_code(code) if code else None
        result = self.backend.check_booking(normal)
        if not result.ok:
            params = {}
            if result.reason == "too_early" and result.booking is not None:
                params["time"] = result.booking.slot_start
            self.backend.record_event("checkin_refused", {"reason": result.reason, "code": normal or ""})
            self._say(texts.CHECKIN_REASONS[result.reason], help=True, **params)
            if self.state != CHECKIN:
                self._go(CHECKIN)
            return
        self.message = None
        self.booking = result.booking
        self._go(CHECKIN_BOOKING)

    def confirm_checkin(self) -> None:
        assert self.booking is not None
        self.ticket_no = self.backend.complete_checkin(self.booking)
        self.print_job = self.backend.print_ticket(self.ticket_no, self.booking, self.lang)
        self.print_kind = "ticket"
        self._go(CHECKIN_DONE)
        if self.print_job is None:
            self._print_failed(overdue=False)
