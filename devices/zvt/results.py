"""ZVT result codes (BMP 27, the byte after 06 1E, the code in 84 xx) as texts.

Two audiences: `technician_text(code)` for logs and the maintenance screen, and
`customer_message(code)` -> (message id, English text) for the customer screen; the UI translates
by message id (the English text is the msgid fallback), so every customer text is translatable.
"""
from __future__ import annotations

from kiosk.payment_texts import PAYMENT_TEXTS

SUCCESS = 0x00
ABORTED = 0x6C  # "abort via timeout or abort key": customer cancel, ECR abort (06 B0), PIN timeout
CARD_REMOVED = 0xDD  # error during card eject / card taken out too early
BUSY = 0x9C  # "please wait": terminal still busy with the last transaction
NOT_REGISTERED = 0x6B
TURNOVER_FULL = 0x6A  # the terminal needs an end of day before it takes more payments
ALREADY_REVERSED = 0xB4
REVERSAL_NOT_POSSIBLE = 0xB5
SYSTEM_ERROR = 0xFF

TECHNICIAN = {
    0x00: "no error", 0x05: "declined by the issuer (do not honour)", 0x33: "card expired (issuer)",
    0x51: "insufficient funds (issuer)", 0x55: "wrong PIN (issuer)",
    0x62: "no link to the host", 0x64: "card not readable", 0x65: "card data not present",
    0x66: "processing error", 0x67: "function not permitted for girocard/Maestro",
    0x68: "function not permitted for credit cards", 0x6A: "turnover file full: end of day required",
    0x6B: "function deactivated (terminal not registered)", 0x6C: "aborted (timeout or abort key)",
    0x6E: "card on the blocked list", 0x6F: "wrong currency", 0x71: "credit not sufficient (chip card)",
    0x72: "chip error", 0x73: "card data incorrect", 0x77: "end of day not possible", 0x78: "card expired",
    0x79: "card not yet valid", 0x7A: "card unknown", 0x7D: "communication error", 0x83: "function not possible",
    0x85: "key missing", 0x89: "PIN pad defective", 0x9A: "ZVT protocol error", 0x9B: "dial-up error",
    0x9C: "please wait (terminal busy)", 0xA0: "receiver not ready", 0xA1: "remote station does not respond",
    0xA3: "no connection", 0xB1: "memory full", 0xB2: "merchant journal full", 0xB4: "already reversed",
    0xB5: "reversal not possible", 0xB7: "amount wrong", 0xBF: "supply voltage too low",
    0xC2: "diagnosis required", 0xC3: "maximum amount exceeded", 0xC5: "payment method not supported",
    0xC6: "currency not applicable", 0xC8: "amount too small", 0xCC: "printer not ready",
    0xDC: "card inserted", 0xDD: "error during card eject (card removed?)", 0xDE: "error during card insertion",
    0xE2: "card reader does not answer", 0xE4: "terminal activation required", 0xEC: "PIN processing not possible",
    0xF0: "open end-of-day batch present", 0xFE: "register unknown", 0xFF: "system error",
}

# message id -> English text: the kiosk's core owns the texts (it translates them)
MESSAGES = PAYMENT_TEXTS

# intermediate status byte (04 FF) -> message id; anything else shows "please wait"
STATUS_MESSAGES = {
    0x01: "payment.status.watch_pinpad", 0x02: "payment.status.watch_pinpad", 0x0A: "payment.status.insert_card",
    0x0B: "payment.status.remove_card", 0x15: "payment.status.wrong_pin", 0x41: "payment.status.insert_card",
    0x0E: "payment.status.wait", 0x17: "payment.status.wait", 0x04: "payment.status.wait",
    0x19: "payment.status.enter_pin", 0x1E: "payment.status.enter_pin",
}

_DECLINED = {0x05, 0x33, 0x51, 0x55, 0x6E, 0x71, 0x78, 0x79, 0x7A, 0xC3, 0xC5, 0xC8}
_CARD = {0x64, 0x65, 0x72, 0x73, 0xDC, 0xDE}
_UNAVAILABLE = {0x62, 0x66, 0x6A, 0x6B, 0x7D, 0x83, 0x85, 0x89, 0x9A, 0x9B, 0xA0, 0xA1, 0xA3, 0xB1, 0xB2,
                0xBF, 0xC2, 0xCC, 0xE2, 0xE4, 0xEC, 0xF0, 0xFE, 0xFF}


def technician_text(code: int) -> str:
    text = TECHNICIAN.get(code)
    if text is None:
        text = "declined by the host" if 0x01 <= code <= 0x63 else "unknown result code"
    return f"result {code:02X}: {text}"


def customer_message_id(code: int) -> str:
    if code == SUCCESS:
        return "payment.approved"
    if code == ABORTED:
        return "payment.cancelled"
    if code == CARD_REMOVED:
        return "payment.card_removed"
    if code == BUSY:
        return "payment.busy"
    if code in (0x6F, 0xB7, 0xC6):
        return "payment.amount"
    if code in _CARD:
        return "payment.card_problem"
    if code in _UNAVAILABLE:
        return "payment.unavailable"
    if code in _DECLINED or 0x01 <= code <= 0x63:
        return "payment.declined"
    return "payment.unavailable"


def customer_message(code: int) -> tuple[str, str]:
    key = customer_message_id(code)
    return key, MESSAGES[key]


def status_message(code: int) -> tuple[str, str]:
    """The customer text for an intermediate status byte."""
    key = STATUS_MESSAGES.get(code, "payment.status.wait")
    return key, MESSAGES[key]
