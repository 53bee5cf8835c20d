"""The states of a customer session (kiosk.flows.session); importable without the flow's dependencies."""

ATTRACT, CHECKOUT, LOOKUP, AGE_CHECK = "attract", "checkout", "lookup", "age_check"
PAYMENT, PAYMENT_FAILED, PAYMENT_IN_DOUBT = "payment", "payment_failed", "payment_in_doubt"
RECEIPT, RECEIPT_QR, THANKS = "receipt", "receipt_qr", "thanks"
CHECKIN, CHECKIN_BOOKING, CHECKIN_DONE = "checkin", "checkin_booking", "checkin_done"
OUT_OF_SERVICE = "out_of_service"
STATES = (ATTRACT, CHECKOUT, LOOKUP, AGE_CHECK, PAYMENT, PAYMENT_FAILED, PAYMENT_IN_DOUBT, RECEIPT, RECEIPT_QR,
          THANKS, CHECKIN, CHECKIN_BOOKING, CHECKIN_DONE, OUT_OF_SERVICE)
NOT_IDLE = (ATTRACT, OUT_OF_SERVICE, PAYMENT, PAYMENT_IN_DOUBT)  # no "still there?" here
