"""Parsing a provider's JSON so that no number in it can cost unbounded work.

``json.loads`` turns ``1e100000`` into a ``Decimal`` at once, and a later ``int()`` of it builds a
100,000-digit integer on the event loop (seconds of a frozen server for every session). Every
number is therefore checked as the literal the provider sent, before any conversion: its length,
then its magnitude. Fractions become ``Decimal`` (money never passes through a binary float);
``NaN`` and ``Infinity`` are refused like any other non-number.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Final

__all__ = ["MAX_INTEGER_DIGITS", "MAX_NUMBER_CHARS", "NumberOutOfRange", "bounded", "loads"]

MAX_NUMBER_CHARS: Final = 64
"""Longest number literal accepted: ample for any amount, count or id (an int64 has 19 digits)."""
MAX_INTEGER_DIGITS: Final = 21
"""Largest magnitude accepted is below 10**21: every 64-bit id and ~10**19 minor units fit."""
MIN_FRACTION_EXPONENT: Final = -30
"""Smallest non-zero magnitude accepted (10**-30); no amount or rate is finer."""


class NumberOutOfRange(ValueError):
    """A JSON number too long or too large (or small) to be an amount, a count or an id."""


def _parse_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise NumberOutOfRange(literal[:24])
    return int(literal)


def _parse_float(literal: str) -> Decimal:
    if len(literal) > MAX_NUMBER_CHARS:
        raise NumberOutOfRange(literal[:24])
    return bounded(Decimal(literal))  # exact and cheap for a short literal, whatever its exponent


def bounded(value: Decimal) -> Decimal:
    """``value`` if it could be an amount, a count or an id: finite, and zero or of a magnitude in
    [10**-30, 10**21); ``NumberOutOfRange`` if not.

    For a ``Decimal`` decoded elsewhere (the wire shapes' amounts, ``providers.wire``). Its literal's length is bounded by the
    body's (``JSON_MAX_BYTES``) rather than ``MAX_NUMBER_CHARS``: a long coefficient within these
    magnitudes costs linear time to round, never an unbounded conversion.
    """
    if not value.is_finite():
        raise NumberOutOfRange(str(value)[:24])
    if value.is_zero():
        return Decimal(0)  # ``0e99999`` is zero; its exponent must not travel on
    if not MIN_FRACTION_EXPONENT <= value.adjusted() < MAX_INTEGER_DIGITS:
        raise NumberOutOfRange(f"{value:.3e}")
    return value


def _parse_constant(name: str) -> Any:
    raise NumberOutOfRange(name)


def loads(data: str | bytes | bytearray) -> Any:
    """JSON with every fraction a ``Decimal`` and every number bounded (``NumberOutOfRange`` if not).

    Other malformed input raises ``ValueError`` (``JSONDecodeError``, ``UnicodeDecodeError``) or
    ``RecursionError`` as ``json.loads`` does.
    """
    return json.loads(data, parse_float=_parse_float, parse_int=_parse_int, parse_constant=_parse_constant)
