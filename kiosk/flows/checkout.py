"""The checkout flow: a cart, item lookup, the age check, paying and the receipt choice.

    CHECKOUT <──> LOOKUP
      │  age-restricted item ──> AGE_CHECK ──approved/removed──> CHECKOUT
      └─pay──> PAYMENT ──approved──> RECEIPT ──print/none──> THANKS
                 │  └─qr──> RECEIPT_QR ──> THANKS
                 ├─declined──> PAYMENT_FAILED ──retry──> PAYMENT
                 ├─cancelled──> CHECKOUT
                 └─unknown───> PAYMENT_IN_DOUBT ──resolved──> RECEIPT | CHECKOUT

One `CheckoutFlow` per customer (the session makes a new one when it resets). The sale's draft is
validated against the wire schema before the terminal is asked to charge; the attendant's PIN or
badge is checked off the UI thread by the backend and answered with an event.
"""
from __future__ import annotations

import itertools
import math
import uuid
from typing import Any

from kiosk.cart import Cart, CartError, CartLine
from kiosk.catalog import Item
from kiosk.events import (AttendantChecked, Payload, PaymentFailed, PaymentInDoubt, PaymentResolved, PaymentResult,
                          PaymentStatus, Scanned)
from kiosk.flows import texts
from kiosk.flows.shell import Flow, Shell
from kiosk.flows.states import (AGE_CHECK, CHECKOUT, LOOKUP, PAYMENT, PAYMENT_FAILED, PAYMENT_IN_DOUBT, RECEIPT,
                                RECEIPT_QR)

BADGE_CATEGORIES = ("text", "qr")  # scans that may be an attendant's badge (not an item or a booking)
_CHECK_REQUESTS = itertools.count(1)  # attendant checks, numbered across sessions: a late answer finds no match


class CheckoutFlow(Flow):
    def __init__(self, shell: Shell):
        super().__init__(shell)
        self.cart: Cart | None = None
        self.search_text = ""
        self.search_results: list[Item] = []
        self.payment_text = ""
        self.payment_message = ""
        self.cancel_requested = False
        self.paying_sale: str | None = None
        self.sale_uuid: str | None = None  # the completed sale of this session
        self.pay_after_approval = False  # the customer pressed Pay while an item awaited the age check
        self.attendant_check: int | None = None  # the attendant check under way (its request number)

    def start(self, now: float) -> None:
        self.cart = Cart(self.backend.catalog, self.backend.vat_rates, self.backend.currency)
        self.shell.message = None
        self.shell.last_touch = now
        self._go(CHECKOUT)

    def facts(self) -> dict[str, Any]:
        if self.cart is None:
            return {}
        return {"sale_uuid": self.cart.sale_uuid, "items": self.cart.item_count, "total": self.cart.total.amount}

    def waiting_for(self) -> str | None:
        if self.state == PAYMENT:
            return "cancelling" if self.cancel_requested else "payment"
        if self.state == PAYMENT_IN_DOUBT:
            return "in_doubt"
        if self.state == AGE_CHECK:
            return "age_check"
        return None

    @property
    def help_text(self) -> str | None:
        if self.state in (PAYMENT, PAYMENT_IN_DOUBT):
            return texts.HELP_PAYMENT
        if self.cart is not None and self.state in (CHECKOUT, LOOKUP, AGE_CHECK, PAYMENT_FAILED):
            return texts.HELP_CART
        return None

    def scanned(self, scan: Scanned, now: float) -> None:
        """A scan while shopping, paying or choosing the receipt."""
        if self.state == PAYMENT_FAILED and scan.category in ("product", "gs1"):
            self.back_to_cart()  # one more item before trying again
        if self.state in (CHECKOUT, LOOKUP):
            self._scan_item(scan)
        elif self.state == AGE_CHECK:
            if scan.category in BADGE_CATEGORIES:
                self.attendant(scan.code, now)
            else:  # an item (or a booking) is no attempt at the attendant's badge
                self._say(texts.AGE_CHECK_FIRST, kind="info")
        elif self.state in (PAYMENT, PAYMENT_IN_DOUBT):
            self._say(texts.FINISH_PAYING, kind="info")
        elif self.state == RECEIPT:
            self._say(texts.RECEIPT_FIRST, kind="info")

    def print_failed(self, overdue: bool) -> None:
        """The receipt will not come out: it is still there as a QR code, with a line saying so."""
        if self.sale_uuid is not None:
            self._go(RECEIPT_QR)
            self.shell.notice = texts.OVERDUE["receipt"] if overdue else texts.PRINTER_FAILED

    def _scan_item(self, scan: Scanned) -> None:
        assert self.cart is not None
        code = scan.gtin or scan.code
        if not scan.valid:
            self._say(texts.INVALID_CODE)
            return
        if scan.category not in ("", "product", "gs1") or not code:
            self._say(texts.NOT_AN_ITEM, help=True)
            return
        try:
            # a UPC-E's GTIN is already expanded; only its own 8 digits need reading as UPC-E
            line = self.cart.add_scan(code, upce=scan.symbology == "UPC-E" and not scan.gtin)
        except CartError as exc:
            self._cart_error(exc, code=scan.code or code)
            return
        self._added(line)

    def _added(self, line: CartLine) -> None:
        self.shell.message = None
        if self.state == LOOKUP:
            self.shell.state = CHECKOUT
        if line.needs_approval:
            self.backend.record_event("age_check_requested", {"sale_uuid": self.cart.sale_uuid,
                                                              "item": line.item.key, "min_age": line.item.min_age})
            self._go(AGE_CHECK)
            self._tell_if_locked()
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
        self.shell.recorder.count("searches")
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
            self.shell.state = CHECKOUT
        self._added(line)

    def close_lookup(self) -> None:
        self._go(CHECKOUT)

    # --- age check ----------------------------------------------------------------------------------------------

    def attendant(self, secret: str, now: float) -> None:
        """An attendant's PIN or badge code: checked off the UI thread (scrypt per stored person); the
        answer comes back as an event and approves every age-restricted line waiting."""
        assert self.cart is not None
        if self.attendant_check is not None or not secret.strip():
            return  # one check at a time: the screen says it is checking
        self.attendant_check = next(_CHECK_REQUESTS)
        self.shell.message = None
        self.backend.check_attendant(secret, self.attendant_check)
        self._changed()

    def attendant_checked(self, answer: AttendantChecked, now: float) -> None:
        if self.attendant_check is None or answer.request != self.attendant_check:
            return  # an answer for a session that has ended
        self.attendant_check = None
        assert self.cart is not None
        who = answer.attendant
        if who is None and answer.locked_for_s > 0:
            self.backend.record_event("attendant_refused", {"sale_uuid": self.cart.sale_uuid, "locked": True,
                                                            "locked_for_s": int(answer.locked_for_s)})
            self._say_locked(answer.locked_for_s)
            return
        if who is None:
            self.backend.record_event("attendant_refused", {"sale_uuid": self.cart.sale_uuid})
            self._say(texts.WRONG_ATTENDANT)
            return
        self.approved(str(who), now)

    def approved(self, who: str, now: float, **facts: Any) -> None:
        """Every line waiting for the age check is approved by `who` (a PIN here, or the attendant station:
        `facts` say which command); a customer who had pressed Pay goes straight on to paying."""
        assert self.cart is not None
        lines = self.cart.approve_age(who)
        self.backend.record_event("age_approved", {"sale_uuid": self.cart.sale_uuid, "attendant": who,
                                                   "lines": ",".join(str(line.line_no) for line in lines), **facts})
        self.shell.message = None
        self._changed()
        if self.state != AGE_CHECK:
            return  # the customer kept shopping meanwhile: the items are approved all the same
        self._go(CHECKOUT)
        if self.pay_after_approval:
            self.pay(now)  # the customer had asked to pay: go straight on

    def _tell_if_locked(self) -> None:
        locked = self.backend.attendant_locked_for()
        if locked > 0:
            self._say_locked(locked)

    def _say_locked(self, seconds: float) -> None:
        """The attendant check is locked (5 wrong PINs or badges): said on the age-check screen, help offered."""
        self._say(texts.ATTENDANT_LOCKED, help=True, minutes=max(1, math.ceil(seconds / 60)))

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
            self._tell_if_locked()
            return
        if not self.cart.can_pay:
            self._say(texts.NOTHING_TO_PAY, kind="info")
            return
        if not self.shell._usable("payment"):
            self._say(texts.PAYMENT_MESSAGES["payment.unavailable"], help=True)
            return
        try:
            draft = self.cart.draft(self.lang, receipt_token=uuid.uuid4().hex)
        except CartError as exc:  # nothing is charged for a sale the journal and the server would refuse
            self.backend.record_event("sale_invalid", {**self.shell._facts(), "error": str(exc)[:200]})
            self._say(texts.SALE_INVALID, help=True)
            return
        self.shell.message = None
        self.payment_text = texts.INSERT_CARD
        self.payment_message = ""
        self.cancel_requested = False
        self.paying_sale = self.cart.sale_uuid
        self._go(PAYMENT)
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

    def payment_event(self, event: Payload, now: float) -> None:
        """What the terminal says (devices/payment.py), or that it could not be asked (PaymentFailed)."""
        if isinstance(event, PaymentFailed):
            event = PaymentResult(self.paying_sale or "", "cancelled", "payment.unavailable")
        if isinstance(event, PaymentStatus) and self.state == PAYMENT and not self.cancel_requested:
            self.payment_text = texts.terminal_status_text(event.code)
            self._changed()
        elif isinstance(event, PaymentResult) and event.sale_uuid == self.paying_sale \
                and self.paying_sale is not None:
            self._payment_result(event.status, event.message_id, now)
        elif isinstance(event, PaymentInDoubt) and self.state == PAYMENT:
            self.payment_message = texts.PAYMENT_MESSAGES["payment.checking"]
            self._go(PAYMENT_IN_DOUBT)
        elif isinstance(event, PaymentResolved) and self.state == PAYMENT_IN_DOUBT and self.paying_sale is not None:
            if self.backend.sale_completed(self.paying_sale):
                self._payment_result("approved", "payment.approved", now)
            else:
                self._payment_result("cancelled", "payment.cancelled", now)

    def _payment_result(self, status: str, message_id: str, now: float) -> None:
        self.shell.last_touch = now
        self.payment_message = texts.PAYMENT_MESSAGES.get(message_id, texts.PAYMENT_MESSAGES["payment.declined"])
        if self.shell.message is not None and self.shell.message.msgid == texts.FINISH_PAYING:
            self.shell.message = None
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
            self.shell.print_job = self.backend.print_receipt(self.sale_uuid, self.lang)
            self.shell.print_kind = "receipt"
            if self.shell.print_job is None:
                self.shell._print_failed(overdue=False)
                return
        self.shell._thanks(now)

    def receipt_url(self) -> str:
        return self.backend.receipt_url(self.sale_uuid) if self.sale_uuid else ""
