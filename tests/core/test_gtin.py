"""GTIN normalisation: every format to one 14-digit key, check digits enforced."""
import pytest
from hypothesis import given, settings, strategies as st

from kiosk.gtin import InvalidCode, check_digit, expand_upce, normalize, price_embedded


@pytest.mark.parametrize("code, key", [
    ("4006381333931", "04006381333931"),   # EAN-13
    ("96385074", "00000096385074"),        # EAN-8
    ("036000291452", "00036000291452"),    # UPC-A
    ("10012345678902", "10012345678902"),  # GTIN-14
    ("0036000291452", "00036000291452"),   # UPC-A written as EAN-13: same key
    (" 4006381333931\r", "04006381333931"),  # scanner whitespace
])
def test_valid_codes_normalise(code, key):
    assert normalize(code) == key


@pytest.mark.parametrize("upce, upca", [
    ("01234565", "012345000065"),   # last digit 5..9
    ("04252614", "042100005264"),   # last digit 0..2
    ("01234133", "012300000413"),   # last digit 3
    ("01234144", "012340000014"),   # last digit 4 -> check digit recomputed
    ("123456", "012345000065"),     # 6 digits: number system 0, check digit computed
])
def test_upce_expansion(upce, upca):
    if upce == "01234144":
        upca = upca[:-1] + check_digit(upca[:-1])
        upce = upce[:-1] + upca[-1]
    assert expand_upce(upce) == upca
    assert normalize(upce, upce=True) == upca.zfill(14)


def test_upce_and_upca_give_the_same_key():
    assert normalize("01234565", upce=True) == normalize("012345000065")


@pytest.mark.parametrize("code, reason", [
    ("4006381333932", "bad check digit in EAN-13 4006381333932: expected 1, got 2"),
    ("96385075", "bad check digit in EAN-8 96385075: expected 4, got 5"),
    ("036000291453", "bad check digit in UPC-A 036000291453: expected 2, got 3"),
    ("10012345678901", "bad check digit in GTIN-14 10012345678901: expected 2, got 1"),
    ("01234566", None),
    ("12345", "a GTIN has 8, 12, 13 or 14 digits, got 5"),
    ("400638133393X", "a GTIN has digits only"),
    ("", "a GTIN has digits only"),
    ("４００６３８１３３３９３１", "a GTIN has digits only"),  # full-width digits are not ASCII
    ("123456789012345", "a GTIN has 8, 12, 13 or 14 digits, got 15"),
])
def test_invalid_codes_are_refused_with_a_reason(code, reason):
    with pytest.raises(InvalidCode) as info:
        normalize(code, upce=code == "01234566")
    if reason:
        assert reason in str(info.value)


def test_upce_with_bad_number_system():
    with pytest.raises(InvalidCode, match="number system"):
        expand_upce("21234565")


def test_price_embedded_label():
    label = "2112345" + "01234"
    label += check_digit(label)
    found = price_embedded(normalize(label), ["21"])
    assert found.value == 1234
    base = "211234500000"
    assert found.base_key == "0" + base + check_digit(base)
    assert price_embedded(normalize(label), ["22"]) is None
    assert price_embedded(normalize("4006381333931"), ["21"]) is None


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="0123456789", min_size=7, max_size=13), st.integers(min_value=1, max_value=9))
def test_any_single_digit_error_is_caught(body, delta):
    if len(body) not in (7, 11, 12, 13):
        return
    code = body + check_digit(body)
    assert normalize(code).endswith(code)
    position = len(code) // 2
    corrupted = code[:position] + str((int(code[position]) + delta) % 10) + code[position + 1:]
    with pytest.raises(InvalidCode):
        normalize(corrupted)
