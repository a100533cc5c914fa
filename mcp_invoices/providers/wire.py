"""How the remote providers read their wire: one decoder family, one name for each idea.

Every provider's bodies are decoded by msgspec into ``WireModel`` shapes (one ``msgspec.Struct``
per wire record). What is not declared is skipped without becoming a Python object, and what is
declared is typed as it is decoded, so a summary reading 5,000 records pays only for the fields it
declares. A summary reads a record's facts through the same class the whole invoice extends (a
provider's ``WireInvoiceFacts``, whose subclass ``WireInvoice`` adds the rest): one declaration of
each field, one decoder family.

- ``Wire``: one provider's reading: ``decoder(shape)`` (compiled once) and ``unexpected(what)``,
  the one error a provider's unreadable answer becomes (``provider_unavailable``, naming the
  provider and the first field that broke, never its value).
- Money fields: ``MinorUnits`` (integer cents, yen), ``MajorUnits`` (a decimal amount in major
  units, bounded by its record with ``bounded``), ``JsonNumber`` (a number that must arrive as a
  JSON number). Each is read from the literal the provider wrote (a binary float never exists) and
  held to ``json_guard``'s bounds before anything converts it; an integer field never accepts a
  JSON boolean.
- ``text``, ``instant``, ``day``: lenient readings of text, moments and dates (unreadable is unknown).
- ``error_body``/``text_at``: what a provider says about a refusal, read defensively.
- ``StatusTable``: a provider's status vocabulary (its ``STATUSES``) with the fallback for a
  status it added later and the reverse lookup used to filter by a normalized status.

Paging is not here on purpose: a cursor chain, an offset with a total, a backwards page walk and
page-and-index differ, and each provider keeps its own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Hashable, Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import httpx2
import msgspec

from mcp_invoices.domain.errors import ProviderUnavailable
from mcp_invoices.domain.models import InvoiceStatus
from mcp_invoices.providers import json_guard
from mcp_invoices.providers.http import not_json, number_out_of_range

__all__ = [
    "UNSET",
    "Decoder",
    "JsonNumber",
    "MajorUnits",
    "MinorUnits",
    "Raw",
    "StatusTable",
    "UnsetType",
    "Wire",
    "WireInt",
    "WireModel",
    "bounded",
    "day",
    "error_body",
    "field",
    "instant",
    "text",
    "text_at",
    "unexpected",
]

logger = logging.getLogger("mcp_invoices.wire")

M = TypeVar("M")
_MAX_WARNED = 64
"""Distinct unknown statuses logged per table: enough to notice, bounded whatever a provider sends."""
K = TypeVar("K", bound=Hashable)

field = msgspec.field
"""A field whose wire name differs from its attribute (``field(name="invoiceId")``)."""
Raw = msgspec.Raw
"""A value kept as the JSON the provider wrote, decoded later (or never)."""
UNSET = msgspec.UNSET
UnsetType = msgspec.UnsetType


class WireModel(msgspec.Struct):
    """A provider's shape: only what this server reads is declared; the rest is skipped undecoded.

    Required fields come first (a Struct's fields are positional too, and a subclass's follow its
    base's, so a subclass adds optional fields)."""


# -- amounts ---------------------------------------------------------------------------------------

_OUT_OF_RANGE = "a number out of range"
"""What a bound refusal says inside msgspec's error, so that ``Decoder`` can tell it from a shape error."""
_INTEGER_OUT_OF_RANGE = "Integer value out of range"
"""msgspec's own words for an integer literal too long to decode."""


class MinorUnits(int):
    """An amount in integer minor units (Polar, Afternoon): a JSON integer, or an integral fraction
    such as ``1000.0`` (the same number of cents); a string, a boolean or a fraction is refused."""


MajorUnits = Decimal
"""An amount in major units as written (Bagisto, Payabli): a JSON number (or its text), exact.

msgspec reads it from the literal itself; the record that declares it holds it to ``json_guard``'s
bounds in its ``__post_init__`` (``bounded``), which costs less per record than a decode hook."""


class JsonNumber(Decimal):
    """A quantity that must be a JSON number: a string or a boolean is a shape error."""


WireInt = int
"""An integer id or count: msgspec never reads a JSON boolean (or an integral fraction) as one."""

_INTEGER_LIMIT = 10**json_guard.MAX_INTEGER_DIGITS


def _bounded(value: Decimal) -> Decimal:
    try:
        return json_guard.bounded(value)
    except json_guard.NumberOutOfRange:
        raise ValueError(_OUT_OF_RANGE) from None


def bounded(*amounts: Decimal | None) -> None:
    """For a record's ``__post_init__``: every amount it declares within ``json_guard``'s bounds
    (finite, zero or of a magnitude in [10**-30, 10**21)), else the decode is refused as a number far
    too large, before anything converts it."""
    for amount in amounts:
        if amount is not None:
            _bounded(amount)


def _number(value: object) -> Decimal | int:
    if type(value) is int:  # the common case: already an exact integer; only its size is checked
        if -_INTEGER_LIMIT < value < _INTEGER_LIMIT:
            return value
        raise ValueError(_OUT_OF_RANGE)
    if not isinstance(value, Decimal):
        raise TypeError("expected a number")
    return _bounded(value)


def _decode_hook(kind: type, value: object) -> object:
    """How msgspec builds the amount types above from the JSON value (fractions already ``Decimal``)."""
    if kind is MinorUnits:
        number = _number(value)
        if isinstance(number, Decimal) and number != number.to_integral_value():
            raise TypeError("expected an integer number of minor units")
        return MinorUnits(number)
    if kind is JsonNumber:
        return JsonNumber(_number(value))
    raise NotImplementedError(kind)


# -- decoding --------------------------------------------------------------------------------------

_LOCATION = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def _dotted(path: str) -> str:
    """msgspec's ``.Records[3].invoiceId`` as ``Records.3.invoiceId``."""
    return re.sub(r"\[(\d+)\]", r".\1", path).lstrip(".")


def unexpected(provider: str, what: str, *, hint: str) -> ProviderUnavailable:
    """``provider`` sent something it does not document; ``what`` completes "<provider> sent ..."."""
    return ProviderUnavailable(f"{provider} sent {what}.", hint=hint)


class Decoder(Generic[M]):
    """One wire shape's decoder (built once: msgspec compiles its shape), with the provider's words."""

    def __init__(self, shape: type[M], wire: Wire) -> None:
        self._decoder = msgspec.json.Decoder(shape, float_hook=Decimal, dec_hook=_decode_hook)
        self._wire = wire

    def read(self, response: httpx2.Response, *, what: str) -> M:
        """The response's body as the shape, or ``provider_unavailable`` naming where it broke."""
        return self.decode(response.content, what=what)

    def decode(self, content: bytes | Raw, *, what: str) -> M:
        wire = self._wire
        try:
            return self._decoder.decode(content)
        except msgspec.ValidationError as error:
            said = str(error)
            if said.startswith((_OUT_OF_RANGE, _INTEGER_OUT_OF_RANGE)):
                raise number_out_of_range(wire.provider) from None
            found = _LOCATION.search(said)
            where = _dotted(found["path"]) if found else ""
            logger.warning(
                "%s sent %s in an unexpected shape",
                wire.provider,
                what,
                extra={"provider": wire.provider.lower(), "fields": where or "(body)"},
            )
            at = f" (at {where})" if where else ""
            raise wire.unexpected(f"{what} in a shape this server does not understand{at}") from None
        except (msgspec.DecodeError, RecursionError):
            raise not_json(wire.provider) from None


class Wire:
    """One provider's reading of its wire: its name in every message and the hint that goes with it."""

    def __init__(self, provider: str, hint: str) -> None:
        self.provider = provider
        self.hint = hint

    def decoder(self, shape: type[M]) -> Decoder[M]:
        return Decoder(shape, self)

    def unexpected(self, what: str) -> ProviderUnavailable:
        """The provider sent ``what`` (completing "<provider> sent ..."); never the body's text."""
        return unexpected(self.provider, what, hint=self.hint)


# -- lenient readings ------------------------------------------------------------------------------


def text(value: str | int | None) -> str | None:
    """A text field that a provider may also write as a number; blank text is unknown."""
    if value is None:
        return None
    if not isinstance(value, str):
        return str(value)
    return value.strip() or None


def instant(value: str | None) -> datetime | None:
    """An ISO-8601 date or date-time as an aware UTC moment; one without an offset is read as UTC
    (the providers write UTC); missing or unreadable is unknown (None), never an error."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def day(value: str | None) -> date | None:
    """The UTC date of ``instant(value)``; else the date a longer text starts with (``2026-01-05 …``)."""
    if value is not None and len(value) == 10:  # a plain date, the common case: no moment to build
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    moment = instant(value)
    if moment is not None:
        return moment.date()
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


# -- refusals --------------------------------------------------------------------------------------


def error_body(response: httpx2.Response) -> Any:
    """An error response's JSON body, or None when it is not JSON (an error page, an empty body)."""
    try:
        return json_guard.loads(response.content)
    except (ValueError, RecursionError):  # NumberOutOfRange is a ValueError too
        return None


def text_at(body: Any, *path: str) -> str | None:
    """The string at ``path`` in nested JSON objects (``text_at(body, "error", "code")``), else None."""
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body if isinstance(body, str) else None


class StatusTable(Mapping[K, InvoiceStatus], Generic[K]):
    """A provider's own statuses → normalized statuses, read the same way for every provider.

    Text statuses are compared trimmed and lower-cased. A status the table does not know (one the
    provider added later) is read by the provider's ``fallback`` from the rest of the invoice, and
    logged once per process, so a new status never makes an invoice unreadable.
    """

    def __init__(self, provider: str, statuses: Mapping[K, InvoiceStatus]) -> None:
        self.provider = provider
        self._statuses = dict(statuses)
        self._warned: set[K] = set()

    def __getitem__(self, native: K) -> InvoiceStatus:
        return self._statuses[native]

    def __iter__(self) -> Iterator[K]:
        return iter(self._statuses)

    def __len__(self) -> int:
        return len(self._statuses)

    def __repr__(self) -> str:
        return f"StatusTable({self.provider!r}, {self._statuses!r})"

    def read(self, native: K, fallback: Callable[[], InvoiceStatus]) -> InvoiceStatus:
        key: Any = native.strip().lower() if isinstance(native, str) else native
        known = self._statuses.get(key)
        if known is not None:
            return known
        if native not in self._warned and len(self._warned) < _MAX_WARNED:
            self._warned.add(native)
            logger.warning(
                "%s sent a status this server does not know; reading it from the invoice instead",
                self.provider,
                extra={"provider": self.provider.lower(), "provider_status": str(native)[:40]},
            )
        return fallback()

    def natives(self, status: InvoiceStatus) -> tuple[K, ...]:
        """The provider's statuses that mean ``status`` (none: the provider has no such invoices)."""
        return tuple(native for native, normal in self._statuses.items() if normal is status)
