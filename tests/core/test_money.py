"""Money and VAT: exact integer arithmetic, the rounding rules, and the properties that must always hold."""
import pytest
from hypothesis import given, settings, strategies as st

from kiosk.money import Money, div_round_half_up, parse_amount, vat_in_gross, vat_summary, weighed_total

RATES = st.sampled_from([0, 500, 550, 700, 900, 1000, 1900, 2000, 2100, 2500])
LINE = st.tuples(st.sampled_from("ABCDE"), st.integers(min_value=-10**7, max_value=10**7))


def test_rounding_is_half_away_from_zero():
    assert [div_round_half_up(n, 10) for n in (14, 15, 16, -14, -15, -16)] == [1, 2, 2, -1, -2, -2]


def test_vat_of_a_known_amount():
    assert vat_in_gross(119, 1900) == 19  # 1.19 incl. 19 % = 1.00 net + 0.19 VAT
    assert vat_in_gross(100, 700) == 7  # 6.54... rounds to 7 cents
    assert vat_in_gross(1, 1900) == 0
    assert vat_in_gross(0, 1900) == 0


def test_weighed_price_rounds_half_up():
    assert weighed_total(1299, 455) == 591  # 12.99/kg x 455 g = 5.91045
    assert weighed_total(1000, 5) == 5
    assert weighed_total(999, 1) == 1  # 0.999 cents -> 1


def test_parse_amount():
    assert parse_amount("1.99", "EUR") == 199
    assert parse_amount("12", "EUR") == 1200
    assert parse_amount("0.5", "EUR") == 50
    assert parse_amount("500", "JPY") == 500
    assert parse_amount("1.250", "KWD") == 1250
    for bad, reason in (("1.999", "at most 2 decimals"), ("abc", "expected an amount"), ("", "expected an amount"),
                        ("1.5", "at most 0 decimals"), ("NaN", "expected an amount")):
        with pytest.raises(ValueError, match=reason):
            parse_amount(bad, "JPY" if bad == "1.5" else "EUR")


def test_money_refuses_floats_and_mixed_currencies():
    with pytest.raises(TypeError):
        Money(1.5, "EUR")
    with pytest.raises(ValueError):
        Money(1, "EUR") + Money(1, "USD")
    with pytest.raises(TypeError):
        Money(1, "EUR") * 1.5
    assert Money(150, "EUR") * 3 == Money(450, "EUR")
    assert Money(1234, "EUR").major_str() == "12.34"
    assert Money(-5, "EUR").major_str() == "-0.05"


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("ABC"), st.integers(min_value=0, max_value=10**6)), max_size=40),
       st.fixed_dictionaries({"A": RATES, "B": RATES, "C": RATES}))
def test_vat_split_sums_back_and_totals_equal_the_lines(lines, rates):
    summary = vat_summary((code, rates[code], gross) for code, gross in lines)
    assert sum(v.gross for v in summary) == sum(gross for _, gross in lines)
    for v in summary:
        assert v.net + v.vat == v.gross
        # VAT is the exact share of the gross, off by at most half a minor unit
        assert abs(v.vat * (10_000 + v.rate) - v.gross * v.rate) * 2 <= 10_000 + v.rate
    assert [v.code for v in summary] == sorted({code for code, _ in lines})


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=-10**9, max_value=10**9), st.integers(min_value=1, max_value=10**6))
def test_division_matches_exact_rounding(numerator, denominator):
    from fractions import Fraction
    exact = Fraction(numerator, denominator)
    result = div_round_half_up(numerator, denominator)
    assert abs(Fraction(result) - exact) <= Fraction(1, 2)
    if abs(Fraction(result) - exact) == Fraction(1, 2):
        assert abs(result) > abs(exact)  # halves go away from zero


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-10**9, max_value=10**9), RATES)
def test_refund_mirrors_sale(gross, rate):
    assert vat_in_gross(-gross, rate) == -vat_in_gross(gross, rate)
