"""Checkouts on the launched kiosk: scans and payment outcomes through the control port, taps as real X
pointer events, and after each the terminal, the journal and the central server agree exactly."""
from __future__ import annotations

from launched import ATTENDANT_PIN, BEER, BREAD, BUTTER, CHOCOLATE, COFFEE, MILK


def test_five_item_checkout_is_paid_printed_and_synced(launch):
    kiosk = launch()
    shot_before = kiosk.screenshot("attract")
    for code in (MILK, BREAD, BUTTER, COFFEE, CHOCOLATE):
        kiosk.scan(code)
    view = kiosk.wait_ui(lambda v: len(v["cart"]) == 5, 10, "five cart lines")
    assert view["screen"] == "checkout"
    assert [line["quantity"] for line in view["cart"]] == [1] * 5
    assert _pixels_differ(shot_before, kiosk.screenshot("cart-5-items"))
    total_text = view["total"]

    kiosk.tap("pay")
    view = kiosk.wait_screen("receipt", 30)
    assert "approved" in view["payment_message"].lower()
    kiosk.tap("receipt_print")
    kiosk.wait_screen("thanks", 20)
    [receipts] = kiosk.send("receipts")
    assert receipts.startswith("1: ") and "cut" in receipts, receipts
    [text] = kiosk.send("receipt 1")
    cents = int("".join(ch for ch in total_text if ch.isdigit()))
    assert "Milk 1 L" in text and f"{cents // 100}.{cents % 100:02d}" in text, text  # in the customer's language

    [sale] = kiosk.assert_books_agree()
    assert len(sale["record"]["body"]["lines"]) == 5
    assert kiosk.ledger()[0]["amount"] == sale["total"]


def test_decline_then_approve_charges_once(launch):
    kiosk = launch()
    kiosk.send("payment decline 05")
    kiosk.scan(MILK)
    kiosk.scan(BREAD)
    kiosk.tap("pay")
    view = kiosk.wait_ui(lambda v: v["state"] == "payment_failed", 30, "the decline")
    assert "declined" in view["payment_message"].lower()
    kiosk.screenshot("declined")
    assert kiosk.ledger() == []

    kiosk.send("payment approve")
    kiosk.tap("retry_payment")
    kiosk.wait_screen("receipt", 30)
    [sale] = kiosk.assert_books_agree()
    assert len(kiosk.ledger()) == 1


def test_cancel_during_pin_entry_charges_nothing(launch):
    kiosk = launch()
    kiosk.send("payment pin 30")
    kiosk.scan(COFFEE)
    kiosk.tap("pay")
    kiosk.wait_ui(lambda v: v["state"] == "payment" and any(b["tag"] == "cancel_payment" and b["enabled"]
                                                            for b in v["buttons"]), 20, "PIN entry")
    kiosk.tap("cancel_payment")
    view = kiosk.wait_ui(lambda v: v["state"] == "checkout", 30, "back to the cart after the cancel")
    assert "not charged" in view["message"].lower(), view["message"]
    assert [line["quantity"] for line in view["cart"]] == [1]  # the cart is kept for another try
    assert kiosk.ledger() == []
    assert kiosk.assert_books_agree() == []


def test_age_restricted_item_approved_by_attendant_pin_then_paid(launch):
    kiosk = launch()
    kiosk.scan(MILK)
    kiosk.scan(BEER)
    view = kiosk.wait_screen("age_check")
    kiosk.screenshot("age-check")
    for digit in ATTENDANT_PIN:
        kiosk.tap(f"key_pin_{digit}")
    kiosk.tap("pin_ok")
    view = kiosk.wait_ui(lambda v: v["state"] in ("checkout", "payment", "receipt"), 20, "the approval")
    if view["state"] == "checkout":
        kiosk.tap("pay")
    kiosk.wait_screen("receipt", 30)
    [sale] = kiosk.assert_books_agree()
    assert len(sale["record"]["body"]["lines"]) == 2
    [approval] = kiosk.wait_events("age_approved")
    assert approval["attendant"] == "demo-attendant"


def test_payment_link_lost_after_charging_is_reconciled(launch):
    """The terminal charges, then the link drops before the kiosk hears the result: the kiosk must find
    the charge (not charge again, not lose the sale)."""
    kiosk = launch()
    kiosk.send("payment linkloss authorised")
    kiosk.scan(BUTTER)
    kiosk.tap("pay")
    view = kiosk.wait_ui(lambda v: v["state"] in ("receipt", "checkout", "payment_failed"), 90, "a settled payment")
    assert view["state"] == "receipt", view
    [sale] = kiosk.assert_books_agree()
    assert len(kiosk.ledger()) == 1


def test_payment_timeout_after_charging_is_reconciled(launch):
    """The terminal goes silent after charging; the kiosk's payment timeout (short here) expires and
    the payment is settled by asking the terminal."""
    kiosk = launch(KIOSK_DEVICES_PAYMENT_PAYMENT_TIMEOUT_S="4")
    kiosk.send("payment timeout authorised")
    kiosk.scan(CHOCOLATE)
    kiosk.tap("pay")
    view = kiosk.wait_ui(lambda v: v["state"] in ("receipt", "checkout", "payment_failed"), 120, "a settled payment")
    assert view["state"] == "receipt", view
    kiosk.assert_books_agree()


def _pixels_differ(a, b) -> bool:
    from PIL import Image, ImageChops
    return ImageChops.difference(Image.open(a).convert("RGB"), Image.open(b).convert("RGB")).getbbox() is not None
