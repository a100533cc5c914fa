"""Money: exact decimal amounts at each currency's ISO-4217 minor-unit precision.

Every amount in this package is a `decimal.Decimal`; a binary float never holds money.
Provider wire formats arrive as integer minor units (Polar, Afternoon) or as JSON numbers
in major units (Bagisto, Payabli). The latter are parsed with ``parse_float=Decimal`` so
the digits the provider sent are kept exactly (that is the float's shortest repr).
"""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

__all__ = [
    "MoneyError",
    "currency_exponent",
    "normalize_currency",
    "quantize",
    "from_minor_units",
    "to_minor_units",
    "parse_amount",
    "format_amount",
    "format_money",
    "ZERO",
    "zero",
]

ZERO = Decimal(0)

# ISO 4217 currencies whose minor unit is not 2 (the default). Source: ISO 4217 list, 2026.
# fmt: off
_EXPONENTS: dict[str, int] = {
    # zero-decimal
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # three-decimal
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # four-decimal
    "CLF": 4, "UYW": 4,
}
# fmt: on


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


@functools.lru_cache(maxsize=512)
def normalize_currency(code: str) -> str:
    """Upper-case ISO-4217 code (providers send "usd" as well as "USD")."""
    cleaned = (code or "").strip().upper()
    if len(cleaned) != 3 or not cleaned.isalpha():
        raise MoneyError(f"not an ISO-4217 currency code: {code!r}")
    return cleaned


@functools.lru_cache(maxsize=512)
def currency_exponent(currency: str) -> int:
    """Number of minor-unit digits of ``currency`` (2 unless ISO-4217 says otherwise)."""
    return _EXPONENTS.get(normalize_currency(currency), 2)


@functools.lru_cache(maxsize=512)
def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_exponent(currency))


# Wide enough for any amount a ledger can hold; the default 28 digits would overflow on quantize.
_CONTEXT = Context(prec=100, rounding=ROUND_HALF_EVEN)


@functools.lru_cache(maxsize=512)
def zero(currency: str) -> Decimal:
    """Zero at the currency's precision (``0.00``, ``0``): ``quantize(ZERO, currency)``, computed once."""
    return quantize(ZERO, currency)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` to the currency's precision (banker's rounding, as ledgers do).

    Negative zero (``-0.001`` rounded) becomes plain zero so ``"-0.00"`` never reaches the wire.
    """
    try:
        rounded = amount.quantize(_quantum(currency), context=_CONTEXT)
    except InvalidOperation as exc:
        raise MoneyError(f"amount {amount} cannot be represented in {normalize_currency(currency)}") from exc
    return rounded.copy_abs() if rounded.is_zero() else rounded


def from_minor_units(minor: int, currency: str) -> Decimal:
    """Integer minor units (cents, yen) to a major-unit Decimal at exact precision."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        # A Decimal with an integral value is tolerated (JSON parsed with parse_float=Decimal).
        if isinstance(minor, Decimal) and minor == minor.to_integral_value():
            minor = int(minor)
        else:
            raise MoneyError(f"minor-unit amount must be an integer, got {minor!r}")
    # An integer scaled by the currency's exponent already has exactly its precision (and no
    # negative zero), so there is nothing left for ``quantize`` to round.
    return Decimal(minor).scaleb(-currency_exponent(currency), context=_CONTEXT)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Major-unit Decimal to integer minor units; refuses amounts finer than the currency allows."""
    scaled = amount.scaleb(currency_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} has more precision than {normalize_currency(currency)} allows")
    return int(scaled)


def parse_amount(value: object, currency: str) -> Decimal:
    """A major-unit amount from a provider (Decimal, int or decimal string) at the currency's precision.

    Floats are refused: parse JSON with ``parse_float=Decimal`` so none ever exists. A value with
    more digits than the currency has is rounded half-even; providers that send ``12.3`` mean
    ``12.30``.
    """
    if isinstance(value, float):
        raise MoneyError("a binary float reached money parsing; parse JSON with parse_float=Decimal")
    if isinstance(value, bool):
        raise MoneyError(f"not an amount: {value!r}")
    try:
        decimal = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(f"not an amount: {value!r}") from exc
    if not decimal.is_finite():
        raise MoneyError(f"not a finite amount: {value!r}")
    return quantize(decimal, currency)


def format_amount(amount: Decimal, currency: str) -> str:
    """The wire form: a decimal string at the currency's precision ("110.00", "1500")."""
    return format(quantize(amount, currency), "f")


_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "CAD": "CA$", "AUD": "A$"}


def format_money(amount: Decimal, currency: str) -> str:
    """Human form with grouping and a symbol where one is unambiguous ("€1,234.50", "¥1,500")."""
    code = normalize_currency(currency)
    exponent = currency_exponent(code)
    q = quantize(amount, code)
    sign = "-" if q < 0 else ""
    body = f"{abs(q):,.{exponent}f}"
    symbol = _SYMBOLS.get(code)
    return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {code}"
