"""Cart operations against a real catalog."""
import pytest

from kiosk.cart import Cart, CartError

from .conftest import VAT, ean13

MILK, BREAD, WINE = "4006381333931", ean13("400000000001"), ean13("400000000002")


@pytest.fixture
def cart(catalog):
    return Cart(catalog, VAT, "EUR")


def test_scanning_the_same_item_again_adds_to_its_line(cart):
    cart.add_scan(MILK)
    cart.add_scan(BREAD)
    line = cart.add_scan(MILK)
    assert (line.line_no, line.quantity) == (1, 2)
    assert cart.total.amount == 2 * 119 + 249
    assert cart.item_count == 3


def test_add_by_plu_and_by_search_result(cart, catalog):
    cart.add_plu("4131")
    cart.add_item(catalog.search("roggen")[0])
    assert [line.item.name("en") for line in cart.active_lines] == ["Apples", "Rye bread"]
    assert cart.total.amount == 45 + 249


def test_change_quantity_and_limits(cart):
    cart.add_scan(MILK)
    assert cart.set_quantity(1, 5).quantity == 5
    assert cart.total.amount == 595
    for bad in (0, -1, 100):
        with pytest.raises(CartError) as info:
            cart.set_quantity(1, bad)
        assert info.value.code == "bad_quantity"
    assert cart.line(1).quantity == 5


def test_void_line_keeps_it_marked_but_counts_nothing(cart):
    cart.add_scan(MILK)
    cart.add_scan(BREAD)
    cart.void_line(1)
    assert cart.total.amount == 249
    assert [line.voided for line in cart.lines] == [True, False]
    with pytest.raises(CartError):
        cart.set_quantity(1, 2)
    with pytest.raises(CartError):
        cart.void_line(1)
    line = cart.add_scan(MILK)  # a voided line is not reused
    assert line.line_no == 3


def test_unknown_and_invalid_codes(cart):
    with pytest.raises(CartError) as info:
        cart.add_scan(ean13("400000000099"))
    assert info.value.code == "unknown_item"
    with pytest.raises(CartError) as info:
        cart.add_scan("4006381333932")
    assert info.value.code == "invalid_code" and "check digit" in str(info.value)
    with pytest.raises(CartError):
        cart.add_plu("9999")
    assert cart.lines == []


def test_age_restricted_line_holds_payment_until_approved(cart):
    cart.add_scan(MILK)
    cart.add_scan(WINE)
    assert [line.item.min_age for line in cart.awaiting_approval] == [18]
    assert not cart.can_pay
    approved = cart.approve_age("attendant:0042")
    assert [line.line_no for line in approved] == [2]
    assert cart.can_pay and cart.lines[1].approved_by == "attendant:0042"


def test_voiding_the_restricted_line_also_releases_payment(cart):
    cart.add_scan(WINE)
    cart.add_scan(MILK)
    cart.void_line(1)
    assert cart.can_pay


def test_price_embedded_labels_are_one_line_each(cart):
    first = cart.add_scan(ean13("211234500450"))
    second = cart.add_scan(ean13("211234500450"))
    assert (first.unit_price, second.line_no) == (450, 2)
    with pytest.raises(CartError) as info:
        cart.set_quantity(1, 2)
    assert info.value.code == "fixed_quantity"


def test_vat_summary_and_draft_match_the_wire_schema(cart):
    cart.add_scan(MILK)
    cart.add_scan(WINE)
    cart.approve_age("att")
    cart.add_scan(BREAD)
    cart.void_line(3)
    vat = {v.code: v for v in cart.vat()}
    assert vat["A"].gross == 699 and vat["A"].vat == 112 and vat["A"].net == 587
    assert vat["B"].gross == 119 and vat["B"].vat == 8
    draft = cart.draft("de", "tok")
    lines = draft.lines
    assert [(line.name, line.total, line.voided) for line in lines] == [
        ("Milch 1 l", 119, False), ("Rotwein", 699, False), ("Roggenbrot", 0, True)]
    assert sum(v.gross for v in draft.vat) == cart.total.amount == draft.total == 818


def test_empty_cart_cannot_pay(cart):
    assert not cart.can_pay
    cart.add_scan(MILK)
    cart.void_line(1)
    assert not cart.can_pay
