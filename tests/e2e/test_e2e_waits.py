"""No screen strands a customer, on the launched kiosk: a wait that runs too long says what happens next,
calls an attendant, and a late answer still moves the customer on (wait limits shortened by settings)."""
from __future__ import annotations

from launched import BEER, MILK


def test_a_terminal_that_takes_too_long_calls_help_and_a_late_approval_still_completes(launch):
    kiosk = launch(KIOSK_UI_PAYMENT_TIMEOUT_S="3")
    kiosk.send("payment pin 12")
    kiosk.scan(MILK)
    kiosk.tap("pay")
    view = kiosk.wait_ui(lambda v: any("not answering" in t for t in v["texts"]), 20, "the overdue notice")
    assert view["state"] == "payment"  # the payment is not given up: the terminal decides
    assert any(b["tag"] == "help" and b["enabled"] for b in view["buttons"])
    kiosk.screenshot("payment-overdue")
    [call] = kiosk.wait_events("help_called")
    assert call["reason"] == "payment_timeout"
    kiosk.wait_screen("receipt", 30)  # the approval that came late
    kiosk.assert_books_agree()


def test_an_age_check_nobody_answers_calls_help_again_and_lets_the_customer_go_on(launch):
    kiosk = launch(KIOSK_UI_AGE_CHECK_TIMEOUT_S="3")
    kiosk.scan(BEER)
    kiosk.wait_screen("age_check")
    view = kiosk.wait_ui(lambda v: any("No attendant has come yet" in t for t in v["texts"]), 20, "the notice")
    assert any(b["tag"] == "remove_restricted" and b["enabled"] for b in view["buttons"])
    kiosk.screenshot("age-check-overdue")
    assert [c["reason"] for c in kiosk.wait_events("help_called")] == ["age_check_timeout"]
    kiosk.tap("remove_restricted")
    kiosk.wait_ui(lambda v: v["state"] == "checkout", 10, "back to the cart")
