"""A summary's pages, decoded straight into the few fields a summary reads.

A summary of 5,000 invoices reads a dozen fields of each. ``json_guard`` and pydantic would first
build every object of every record (a Payabli record is ~2 KB of addresses, items and paypoint
data) and then validate the few that matter: ~25 µs of the event loop per invoice. msgspec decodes a
page into a ``LeanModel`` shape instead: what is not declared is skipped without becoming a Python
object (~3 µs per Payabli invoice), and what is declared is typed as it is decoded.

The guarantees of the rest of the wire stay:

- an amount declared ``Decimal`` is read from the literal the provider wrote (exact, never through a
  binary float), and ``amount`` holds it to ``json_guard``'s bounds before anything converts it;
- a JSON number decoded where no type is declared (``Decimal`` via ``float_hook``) is never a float;
- an integer beyond 64 bits is refused by the decoder, a boolean is never a number;
- a body that is not JSON, or not the shape, is ``ProviderUnavailable`` with the same words as
  ``parse_json`` and ``read_body`` (the first field that broke is named, never its value).
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from typing import Generic, TypeVar

import httpx2
import msgspec

from mcp_invoices.providers import json_guard
from mcp_invoices.providers.http import not_json, number_out_of_range
from mcp_invoices.providers.wire import minor_units_of, unexpected

__all__ = ["LeanModel", "LeanReader", "Raw", "amount", "field", "minor_units", "text"]

logger = logging.getLogger("mcp_invoices.wire")

M = TypeVar("M")

field = msgspec.field
"""A field whose wire name differs from its attribute (``field(name="invoiceId")``)."""
Raw = msgspec.Raw
"""A value kept as the JSON literal the provider wrote, for a field read by ``minor_units``."""


class LeanModel(msgspec.Struct):
    """A provider's shape as a summary reads it: only what is declared is decoded; the rest is skipped.

    Required fields come first (a Struct's fields are positional too)."""


_LOCATION = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def _dotted(path: str) -> str:
    """msgspec's ``.Records[3].invoiceId`` as the ``Records.3.invoiceId`` that ``read_body`` names."""
    return re.sub(r"\[(\d+)\]", r".\1", path).lstrip(".")


class LeanReader(Generic[M]):
    """Decodes a response body as ``shape`` (built once: a decoder compiles its shape)."""

    def __init__(self, shape: type[M]) -> None:
        self._decoder = msgspec.json.Decoder(shape, float_hook=Decimal)

    def read(self, response: httpx2.Response, *, provider: str, what: str, hint: str) -> M:
        try:
            return self._decoder.decode(response.content)
        except msgspec.ValidationError as error:
            found = _LOCATION.search(str(error))
            where = _dotted(found["path"]) if found else ""
            logger.warning(
                "%s sent %s in an unexpected shape",
                provider,
                what,
                extra={"provider": provider.lower(), "fields": where or "(body)"},
            )
            said = f" (at {where})" if where else ""
            raise unexpected(
                provider, f"{what} in a shape this server does not understand{said}", hint=hint
            ) from None
        except (msgspec.DecodeError, RecursionError):
            raise not_json(provider) from None


def amount(value: Decimal, provider: str) -> Decimal:
    """``value`` within ``json_guard``'s bounds (as every number ``parse_json`` reads), else refused."""
    try:
        return json_guard.bounded(value)
    except json_guard.NumberOutOfRange:
        raise number_out_of_range(provider) from None


def minor_units(literal: msgspec.Raw, provider: str) -> int | None:
    """An amount in integer minor units as ``wire.MinorUnits`` reads it (an integral fraction such as
    ``1000.0`` counts), from the literal; None for a string, a boolean or a fraction (not an amount).

    Read by ``json_guard`` itself, so its bounds are the ones every other number meets.
    """
    raw = bytes(literal)
    digits = raw[1:] if raw[:1] == b"-" else raw
    if digits.isdigit() and len(digits) <= json_guard.MAX_INTEGER_DIGITS:
        return int(raw)  # the common case, and within json_guard's bounds (msgspec checked the syntax)
    try:
        value = json_guard.loads(raw)
    except json_guard.NumberOutOfRange:
        raise number_out_of_range(provider) from None
    try:
        return minor_units_of(value)
    except ValueError:
        return None


def text(value: str | int | None) -> str | None:
    """A text field that a provider may also write as a number (pydantic's ``coerce_numbers_to_str``)."""
    return value if value is None or isinstance(value, str) else str(value)
