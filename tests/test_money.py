"""Specification of the money helpers: exact amounts at each currency's precision."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcp_invoices.domain import money

CURRENCIES = ["USD", "EUR", "JPY", "KWD"]
currencies = st.sampled_from(CURRENCIES)
# Far beyond any real ledger, within what a 28-digit Decimal context quantizes.
minor_units = st.integers(min_value=-(10**20), max_value=10**20)
floats = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15)


@pytest.mark.parametrize(
    ("currency", "exponent"), [("USD", 2), ("EUR", 2), ("JPY", 0), ("KWD", 3), ("usd", 2), ("jpy", 0)]
)
def test_currency_exponent_follows_iso_4217(currency: str, exponent: int) -> None:
    assert money.currency_exponent(currency) == exponent


def test_normalize_currency_upper_cases_and_strips() -> None:
    assert money.normalize_currency(" usd ") == "USD"


@pytest.mark.parametrize("code", ["", "US", "USDX", "12$", None])
def test_normalize_currency_refuses_what_is_not_a_code(code: str) -> None:
    with pytest.raises(money.MoneyError):
        money.normalize_currency(code)


@given(minor_units, currencies)
def test_minor_units_round_trip(minor: int, currency: str) -> None:
    assert money.to_minor_units(money.from_minor_units(minor, currency), currency) == minor


@given(minor_units, currencies)
def test_from_minor_units_has_exactly_the_currency_exponent(minor: int, currency: str) -> None:
    assert money.from_minor_units(minor, currency).as_tuple().exponent == -money.currency_exponent(currency)


def test_from_minor_units_examples() -> None:
    assert money.from_minor_units(11000, "USD") == Decimal("110.00")
    assert str(money.from_minor_units(1500, "JPY")) == "1500"
    assert str(money.from_minor_units(1234, "KWD")) == "1.234"


def test_from_minor_units_accepts_an_integral_decimal() -> None:
    assert money.from_minor_units(Decimal(1050), "USD") == Decimal("10.50")


@pytest.mark.parametrize("value", [1.5, Decimal("10.5"), True, "100"])
def test_from_minor_units_refuses_non_integers(value: object) -> None:
    with pytest.raises(money.MoneyError):
        money.from_minor_units(value, "USD")  # type: ignore[arg-type]


def test_to_minor_units_refuses_more_precision_than_the_currency() -> None:
    with pytest.raises(money.MoneyError):
        money.to_minor_units(Decimal("1.005"), "USD")
    with pytest.raises(money.MoneyError):
        money.to_minor_units(Decimal("1.5"), "JPY")


@given(floats, currencies)
def test_parse_amount_of_a_floats_shortest_repr_is_that_repr_quantized(value: float, currency: str) -> None:
    exact = Decimal(repr(value))
    expected = money.quantize(exact, currency)
    assert money.parse_amount(exact, currency) == expected
    assert money.parse_amount(repr(value), currency) == expected


def test_parse_amount_keeps_the_digits_the_provider_sent() -> None:
    # 0.1 + 0.2 style drift must not appear: the shortest repr is what the provider meant.
    assert money.parse_amount(Decimal(repr(19.99)), "USD") == Decimal("19.99")
    assert money.parse_amount(Decimal("12.3"), "USD") == Decimal("12.30")


@given(st.floats(allow_nan=True, allow_infinity=True), currencies)
def test_parse_amount_refuses_a_float_object(value: float, currency: str) -> None:
    with pytest.raises(money.MoneyError):
        money.parse_amount(value, currency)


@pytest.mark.parametrize("value", [True, "abc", "", "NaN", "Infinity", Decimal("NaN"), None])
def test_parse_amount_refuses_what_is_not_a_finite_amount(value: object) -> None:
    with pytest.raises(money.MoneyError):
        money.parse_amount(value, "USD")


def test_parse_amount_rounds_half_even() -> None:
    assert money.parse_amount("0.125", "USD") == Decimal("0.12")
    assert money.parse_amount("0.135", "USD") == Decimal("0.14")
    assert money.parse_amount("2.5", "JPY") == Decimal(2)


def test_parse_amount_accepts_ints_and_strings() -> None:
    assert str(money.parse_amount(1500, "JPY")) == "1500"
    assert str(money.parse_amount(" 110 ", "USD")) == "110.00"


@given(minor_units, currencies)
def test_format_amount_has_exactly_the_currency_exponent_decimals(minor: int, currency: str) -> None:
    text = money.format_amount(money.from_minor_units(minor, currency), currency)
    exponent = money.currency_exponent(currency)
    _, point, fraction = text.partition(".")
    assert len(fraction) == exponent
    assert point == ("." if exponent else "")
    assert "E" not in text.upper()


@given(floats, currencies)
def test_format_amount_of_any_decimal_has_exactly_the_currency_exponent_decimals(
    value: float, currency: str
) -> None:
    text = money.format_amount(Decimal(repr(value)), currency)
    assert len(text.partition(".")[2]) == money.currency_exponent(currency)
    assert "E" not in text.upper()


def test_format_amount_examples() -> None:
    assert money.format_amount(Decimal(110), "USD") == "110.00"
    assert money.format_amount(Decimal("1E+3"), "JPY") == "1000"
    assert money.format_amount(Decimal("1.2"), "KWD") == "1.200"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_format_money_of_jpy_has_no_decimal_point(yen: int) -> None:
    text = money.format_money(money.from_minor_units(yen, "JPY"), "JPY")
    assert "." not in text
    assert text.lstrip("-").startswith("¥")


def test_format_money_examples() -> None:
    assert money.format_money(Decimal("1234.5"), "EUR") == "€1,234.50"
    assert money.format_money(Decimal(1500), "JPY") == "¥1,500"
    assert money.format_money(Decimal("-12.5"), "USD") == "-$12.50"
    assert money.format_money(Decimal("1234.5"), "KWD") == "1,234.500 KWD"


def test_quantize_is_exact_for_amounts_at_precision() -> None:
    assert sum((money.parse_amount("0.10", "USD") for _ in range(10)), money.ZERO) == Decimal("1.00")


def test_parse_amount_keeps_amounts_beyond_28_digits_exact() -> None:
    assert money.parse_amount("1e30", "USD") == Decimal("1000000000000000000000000000000.00")


def test_parse_amount_refuses_an_amount_too_large_to_quantize_with_money_error() -> None:
    with pytest.raises(money.MoneyError):
        money.parse_amount("1e200", "USD")


def test_format_amount_never_gives_negative_zero() -> None:
    assert money.format_amount(Decimal("-0.001"), "USD") == "0.00"
