"""What a card payment's outcome and the terminal's intermediate status mean for the customer, by message
id, in English (the gettext msgids; the UI translates). The card terminal driver maps its result and
status codes to these ids (devices/zvt/results.py); the core owns the words."""

PAYMENT_TEXTS = {
    "payment.approved": "Payment approved. Thank you!",
    "payment.declined": "Your card was declined. You can try the card again, use another card, or call for help.",
    "payment.cancelled": "Payment cancelled. Your card was not charged.",
    "payment.card_problem": "Your card could not be read. Please try again or use another card.",
    "payment.card_removed": "The card was removed too early. Please try again.",
    "payment.timeout": "The payment took too long and was stopped. Your card was not charged.",
    "payment.busy": "The card terminal is busy. Please wait a moment and try again.",
    "payment.unavailable": "Card payment is not available right now. Please ask staff for help.",
    "payment.checking": "One moment please: we are checking the last card payment with the terminal.",
    "payment.amount": "This amount cannot be paid by card here.",
    # intermediate status while the customer pays (04 FF)
    "payment.status.insert_card": "Please insert, tap or swipe your card.",
    "payment.status.watch_pinpad": "Please follow the instructions on the card terminal.",
    "payment.status.enter_pin": "Please enter your PIN.",
    "payment.status.wrong_pin": "Wrong PIN. Please try again.",
    "payment.status.remove_card": "Please remove your card.",
    "payment.status.wait": "Please wait...",
}
