"""Provider JSON: every number bounded before it is converted, fractions exact."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mcp_invoices.providers import json_guard


def test_fractions_are_decimals_and_integers_ints() -> None:
    parsed = json_guard.loads(b'{"a": 10.10, "b": 7, "c": -0.5e2}')
    assert parsed == {"a": Decimal("10.10"), "b": 7, "c": Decimal(-50)}


@pytest.mark.parametrize(
    "literal",
    [
        "1e100000",
        "1e1000000",
        "-1e100000",
        "1e21",
        "1" + "0" * 21,
        "9" * 5000,
        "1e-100000",
        "1e-31",
        "0." + "1" * 80,
    ],
)
def test_a_number_too_large_small_or_long_is_refused_before_conversion(literal: str) -> None:
    with pytest.raises(json_guard.NumberOutOfRange):
        json_guard.loads(f'{{"amount": {literal}}}')


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(literal: str) -> None:
    with pytest.raises(json_guard.NumberOutOfRange):
        json_guard.loads(f"[{literal}]")


@pytest.mark.parametrize(
    "literal", ["9223372036854775807", "18446744073709551615", "123456789012345678901", "1e20"]
)
def test_every_64_bit_id_and_any_plausible_amount_is_accepted(literal: str) -> None:
    assert json_guard.loads(f"[{literal}]")[0] == Decimal(literal)


def test_a_zero_with_a_huge_exponent_is_plain_zero() -> None:
    value = json_guard.loads("[0e99999]")[0]
    assert value == 0 and value.as_tuple().exponent == 0
