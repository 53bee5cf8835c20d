"""The taps a customer screen can make: a fixed, declared set, each mapped to what the session does.

The `.kv` files call `app.act(Action.PAY)` (imported as `A`); `perform` looks the action up in `DO`,
the one table that says which session method a tap calls and with what (always `now`, so nothing
inspects signatures per tap). An action that is not in the table is a programming error.
"""
from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # the app imports the actions before the first frame, the session after it
    from kiosk.flows.session import Session


class Action(str, Enum):  # str-valued: logs and the control port stay readable
    TOUCH = "touch"
    TOUCH_TO_START = "touch_to_start"
    START_CHECKOUT = "start_checkout"
    START_CHECKIN = "start_checkin"
    CANCEL = "cancel"
    DONE = "done"
    TOGGLE_LARGE_TEXT = "toggle_large_text"
    TOGGLE_LOW_REACH = "toggle_low_reach"
    ACCESSIBLE_MODE = "accessible_mode"
    DISMISS_MESSAGE = "dismiss_message"
    CALL_HELP = "call_help"
    DISMISS_HELP = "dismiss_help"
    # checkout
    PLUS = "plus"  # line_no
    MINUS = "minus"  # line_no
    VOID = "void"  # line_no
    RESTORE = "restore"  # line_no
    OPEN_LOOKUP = "open_lookup"
    SEARCH = "search"  # text
    ADD_ITEM = "add_item"  # item_id
    CLOSE_LOOKUP = "close_lookup"
    ATTENDANT = "attendant"  # PIN
    REMOVE_RESTRICTED = "remove_restricted"
    BACK_TO_CART = "back_to_cart"
    PAY = "pay"
    CANCEL_PAYMENT = "cancel_payment"
    RETRY_PAYMENT = "retry_payment"
    RECEIPT = "receipt"  # "print" | "qr" | "none"
    RATE = "rate"  # stars
    ANSWER_EASY = "answer_easy"  # bool
    # check-in
    TYPE_CODE = "type_code"  # text
    ENTER_BOOKING = "enter_booking"  # code
    CONFIRM_CHECKIN = "confirm_checkin"


Do = Callable[..., None]  # (session, now, *args)
DO: dict[Action, Do] = {
    Action.TOUCH: lambda s, now: s.touch(now),
    Action.TOUCH_TO_START: lambda s, now: s.touch_to_start(now),
    Action.START_CHECKOUT: lambda s, now: s.start_checkout(now),
    Action.START_CHECKIN: lambda s, now: s.start_checkin(now),
    Action.CANCEL: lambda s, now: s.cancel(now),
    Action.DONE: lambda s, now: s.done(now),
    Action.TOGGLE_LARGE_TEXT: lambda s, now: s.toggle_large_text(),
    Action.TOGGLE_LOW_REACH: lambda s, now: s.toggle_low_reach(),
    Action.ACCESSIBLE_MODE: lambda s, now: s.enter_accessible(),
    Action.DISMISS_MESSAGE: lambda s, now: s.dismiss_message(),
    Action.CALL_HELP: lambda s, now: s.call_help(now=now),
    Action.DISMISS_HELP: lambda s, now: s.dismiss_help(),
    Action.PLUS: lambda s, now, line_no: s.checkout.plus(line_no),
    Action.MINUS: lambda s, now, line_no: s.checkout.minus(line_no),
    Action.VOID: lambda s, now, line_no: s.checkout.void(line_no),
    Action.RESTORE: lambda s, now, line_no: s.checkout.restore(line_no),
    Action.OPEN_LOOKUP: lambda s, now: s.checkout.open_lookup(),
    Action.SEARCH: lambda s, now, text: s.checkout.search(text),
    Action.ADD_ITEM: lambda s, now, item_id: s.checkout.add_item(item_id),
    Action.CLOSE_LOOKUP: lambda s, now: s.checkout.close_lookup(),
    Action.ATTENDANT: lambda s, now, secret: s.checkout.attendant(secret, now),
    Action.REMOVE_RESTRICTED: lambda s, now: s.checkout.remove_restricted(),
    Action.BACK_TO_CART: lambda s, now: s.checkout.back_to_cart(),
    Action.PAY: lambda s, now: s.checkout.pay(now),
    Action.CANCEL_PAYMENT: lambda s, now: s.checkout.cancel_payment(),
    Action.RETRY_PAYMENT: lambda s, now: s.checkout.retry_payment(now),
    Action.RECEIPT: lambda s, now, choice: s.checkout.receipt(choice, now),
    Action.RATE: lambda s, now, stars: s.rate(stars, now),
    Action.ANSWER_EASY: lambda s, now, easy: s.answer_easy(easy, now),
    Action.TYPE_CODE: lambda s, now, text: s.checkin.type_code(text),
    Action.ENTER_BOOKING: lambda s, now, code: s.checkin.enter_booking(code, now),
    Action.CONFIRM_CHECKIN: lambda s, now: s.checkin.confirm_checkin(),
}


def perform(session: Session, action: Action, now: float, *args: Any) -> None:
    """A tap: the customer is still there, then the session does `action`."""
    session.touch(now)
    session.recorder.count("taps")
    DO[Action(action)](session, now, *args)
