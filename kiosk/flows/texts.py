"""Customer texts the flows produce, as gettext msgids (English source text).

The UI translates them; `{name}` placeholders are filled from the message's params after translation.
"""
from __future__ import annotations

import re
import unicodedata

from kiosk.payment_texts import PAYMENT_TEXTS as _PAYMENT_TEXTS

CODE_DISPLAY_LIMIT = 40  # characters of a scanned code shown in a message
_LINE_BREAKS = re.compile(r"\r\n|[\r\n]")
_CONTROL_NAMES = {0x09: "<TAB>", 0x04: "<EOT>", 0x1C: "<FS>", 0x1D: "<GS>", 0x1E: "<RS>", 0x1F: "<US>"}


def shown_code(code: str, limit: int = CODE_DISPLAY_LIMIT) -> str:
    """A scanned code as it may appear on screen: line breaks become " / ", other control and format
    characters (GS, NUL, bidi overrides that would reorder the message) become visible tags like <GS>,
    and it is cut to `limit` characters with "…". Codes carry line breaks (vCard, two-line QR codes)."""
    text = _LINE_BREAKS.sub(" / ", code)
    out = []
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"):
            out.append(_CONTROL_NAMES.get(ord(ch)) or f"<{ord(ch):02X}>")
        else:
            out.append(ch)
    shown = "".join(out)
    return shown if len(shown) <= limit else shown[:limit - 1] + "…"

# ZVT intermediate status (04 FF) -> what the customer should do now.
INSERT_CARD = "Insert, swipe or tap your card"
ENTER_PIN = "Enter your PIN on the card terminal"
REMOVE_CARD = "Please remove your card"
PLEASE_WAIT = "Please wait…"
WRONG_PIN = "Wrong PIN. Please try again"
APPROVED = "Approved"
DECLINED = "Declined"
FOLLOW_TERMINAL = "Please follow the instructions on the card terminal"
CANCELLING = "Cancelling the payment…"

TERMINAL_STATUS = {
    0x0A: INSERT_CARD, 0x41: INSERT_CARD, 0x01: ENTER_PIN, 0x02: ENTER_PIN, 0x26: ENTER_PIN,
    0x0B: REMOVE_CARD, 0x04: PLEASE_WAIT, 0x0E: PLEASE_WAIT, 0x17: PLEASE_WAIT, 0x15: WRONG_PIN,
    0x1B: APPROVED, 0x1C: APPROVED, 0x1D: DECLINED,
}


def terminal_status_text(code: int) -> str:
    return TERMINAL_STATUS.get(code, FOLLOW_TERMINAL)


# Payment result message ids -> msgid: the same texts the terminal driver names by id, so the catalogs hold
# each sentence once. (Its intermediate status texts are replaced by TERMINAL_STATUS above.)
PAYMENT_MESSAGES = {key: text for key, text in _PAYMENT_TEXTS.items() if not key.startswith("payment.status.")}

UNKNOWN_ITEM = "We do not know this barcode ({code}). Please try again, look the item up, or call for help."
INVALID_CODE = "This barcode could not be read correctly. Please scan it again."
NOT_AN_ITEM = "This code is not a product barcode."
MAX_QUANTITY = "You cannot add more of this item."
FIXED_QUANTITY = "This item has a price label: scan each label once."
NOTHING_TO_PAY = "Please scan an item first."
AGE_WAITING = "Please wait for an attendant to approve age-restricted items."
WRONG_ATTENDANT = "This PIN or badge is not valid. Please try again."
ATTENDANT_LOCKED = ("Too many wrong PINs or badges: the attendant check is locked for {minutes} min. "
                    "An attendant has been called.")
PRINTER_FAILED = "Your receipt could not be printed. Scan the QR code instead, or ask staff."
TICKET_NOT_PRINTED = "The ticket could not be printed. Please remember your number."
CHECKOUT_UNAVAILABLE = "Shopping is not available right now. Check-in still works."
FINISH_PAYING = "Please finish paying first; scan more items after."
RECEIPT_FIRST = "Your payment is done. Please choose your receipt first; then scan to start a new purchase."
SALE_INVALID = "This purchase cannot be paid here. Nothing has been charged. Please call for help."
AGE_CHECK_FIRST = "Please tap \"Keep shopping while I wait\" first, then scan the item again."

# What happens next when a wait runs too long (Session.waits); help is called at the same time.
OVERDUE = {
    "payment": "The card terminal is not answering. Please do not pay again: an attendant is on the way "
               "and will check your payment.",
    "cancelling": "The card terminal has not confirmed the cancellation yet. Please do not pay again: an "
                  "attendant is on the way.",
    "in_doubt": "We are still checking your payment. Please do not pay again. An attendant has been called.",
    "age_check": "No attendant has come yet, so we have called again. You can keep shopping, or remove the "
                 "item and pay for the rest.",
    "receipt": "The printer is not answering. Scan the QR code for your receipt; an attendant has been called.",
    "ticket": "The ticket could not be printed. Please remember your number; an attendant has been called.",
}

# The help box, by what the customer has in hand
HELP_CART = "An attendant has been called and will be with you shortly. Your items stay in the cart."
HELP_PAYMENT = "An attendant has been called and will be with you shortly. Please stay here and do not pay again."
HELP_OTHER = "An attendant has been called and will be with you shortly."
# An attendant acknowledged the help call on the attendant station (issue 15): shown on every screen
HELP_COMING = "Help is on the way: an attendant has seen your call and is coming to you."
AGE_REFUSED = "An attendant did not approve the age-restricted item, so it has been removed from your cart."
CLOSED_BY_STAFF = "This checkout has been closed by staff."
CLOSED_REASON = "Reason: {reason}"
# kiosk-update holds new customers while it switches to a new release (kiosk/flows/update_hold.py)
UPDATING = "Updating, one moment please."

CHECKIN_REASONS = {
    "unknown": "We cannot find this booking. Please check the code.",
    "already_used": "This booking has already been checked in.",
    "cancelled": "This booking was cancelled.",
    "too_early": "It is too early to check in for this booking. Please come back at {time}.",
    "too_late": "The check-in time for this booking is over. Please ask staff.",
    "invalid": "This is not a booking code. Please check the code.",
}

# Printed under the date of a receipt when the kiosk's clock is far off the central server's (issue 14)
RECEIPT_CLOCK_NOTE = "This kiosk's clock may be wrong: the date and time above may not be correct."

# Labels printed on receipts (translated into the customer's language by the composition root)
RECEIPT_LABELS = {"total": "TOTAL", "vat": "VAT", "net": "Net", "gross": "Gross", "card": "Card payment",
                  "auth": "Auth code", "receipt_no": "Receipt no", "trace": "Trace", "terminal": "Terminal",
                  "transaction": "Transaction", "vat_id": "VAT ID", "reversed": "REVERSED", "each": "each"}

# The accessible mode (speech guidance): what each screen is called and what to do there, spoken when it
# shows (and again with the repeat key). Titles are those on the screens.
SCREEN_TITLES = {
    "attract": "Welcome to {shop}", "checkout": "Your items", "lookup": "Look up item", "age_check": "Age check",
    "payment": "Amount to pay", "payment_failed": "The payment did not go through",
    "payment_in_doubt": "We are checking your payment", "receipt": "Payment approved. Thank you!",
    "receipt_qr": "Scan the code with your phone to see your receipt", "checkin": "Check in",
    "checkin_booking": "Is this your booking?", "checkin_done": "You are checked in",
    "thanks": "Thank you and goodbye!", "out_of_service": "Out of service",
}
SCREEN_HINTS = {
    "attract": "Speech guidance is on. Use the arrow keys to move between buttons and Enter to choose. The help "
               "key calls an attendant at any time. You can also scan an item or a booking code to start.",
    "checkout": "Scan your items. The cart key reads out your items. Move to Pay by card when you are done.",
    "lookup": "Type the name of the item with the keys, then move to the item and press Enter.",
    "age_check": "An attendant must approve age-restricted items. Please wait, or remove these items.",
    "payment": "Please follow the card terminal.",
    "payment_failed": "Choose try again, or go back to your items.",
    "payment_in_doubt": "Please wait, and do not pay again.",
    "receipt": "Choose how you want your receipt.",
    "receipt_qr": "Press Enter on Done when you have it.",
    "checkin": "Type your booking code with the keys, or scan it, then choose Find booking.",
    "checkin_booking": "Confirm the booking, or go back.",
    "checkin_done": "Please take your ticket. We will call your number.",
    "thanks": "You can rate your visit, or choose Done.",
    "out_of_service": "This kiosk cannot be used right now. Please ask staff.",
}
