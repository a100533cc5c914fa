"""How the remote providers read their wire: one name for each idea, whichever provider speaks.

- ``WireModel``: the base of every wire shape (fields this server does not read are ignored).
- Money fields: ``MinorUnits`` (integer cents, yen), ``MajorUnits`` (a decimal amount in major
  units, exact because JSON is parsed with ``parse_float=Decimal``), ``JsonNumber`` (a number that
  must arrive as a JSON number), ``WireInt`` (an integer that is never a JSON boolean).
- ``read_body``/``validated``: the body as its shape, or ``unexpected`` — the provider sent what
  it does not document, which is ``provider_unavailable`` (never a crash, never the body's text).
- ``error_body``/``text_at``: what a provider says about a refusal, read defensively.
- ``StatusTable``: a provider's status vocabulary (its ``STATUSES``) with the fallback for a
  status it added later and the reverse lookup used to filter by a normalized status.

Paging is not here on purpose: a cursor chain, an offset with a total, a backwards page walk and
page-and-index differ, and each provider keeps its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterator, Mapping
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

import httpx2
from pydantic import BaseModel, BeforeValidator, ConfigDict, TypeAdapter, ValidationError

from mcp_invoices.domain.errors import ProviderUnavailable
from mcp_invoices.domain.models import InvoiceStatus
from mcp_invoices.providers import json_guard
from mcp_invoices.providers.http import parse_json

__all__ = [
    "JsonNumber",
    "MajorUnits",
    "MinorUnits",
    "StatusTable",
    "WireInt",
    "WireModel",
    "error_body",
    "minor_units_of",
    "read_body",
    "text_at",
    "unexpected",
    "validated",
]

logger = logging.getLogger("mcp_invoices.wire")

M = TypeVar("M")
_MAX_WARNED = 64
"""Distinct unknown statuses logged per table: enough to notice, bounded whatever a provider sends."""
K = TypeVar("K", bound=Hashable)


class WireModel(BaseModel):
    """A provider's shape: only what this server reads is declared; extra fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


def minor_units_of(value: object) -> int:
    """A decoded JSON value as integer minor units (``MinorUnits``'s rule), else ValueError."""
    # An integral Decimal (JSON ``1000.0``) is the same number of cents; a fraction, a string or a
    # boolean is not an amount in minor units.
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected an integer number of minor units")
    return value


def _json_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("expected a number")
    return value


def _not_bool(value: object) -> object:
    # pydantic would read JSON true as 1.
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number here")
    return value


MinorUnits = Annotated[int, BeforeValidator(minor_units_of)]
"""An amount in integer minor units (Polar, Afternoon)."""
MajorUnits = Decimal
"""An amount in major units as written (Bagisto, Payabli); JSON numbers arrive as ``Decimal``."""
JsonNumber = Annotated[Decimal, BeforeValidator(_json_number)]
"""A quantity that must be a JSON number: a string or a boolean is a shape error."""
WireInt = Annotated[int, BeforeValidator(_not_bool)]
"""An integer id or count that is never a JSON boolean."""


def unexpected(provider: str, what: str, *, hint: str) -> ProviderUnavailable:
    """``provider`` sent something it does not document; ``what`` completes "<provider> sent ..."."""
    return ProviderUnavailable(f"{provider} sent {what}.", hint=hint)


def validated(shape: type[M] | TypeAdapter[M], data: Any, *, provider: str, what: str, hint: str) -> M:
    """``data`` as ``shape``, or ``unexpected``, which names the fields that broke, never their values."""
    try:
        if isinstance(shape, TypeAdapter):
            return shape.validate_python(data)
        if issubclass(shape, BaseModel):
            return shape.model_validate(data)
        return TypeAdapter(shape).validate_python(data)
    except ValidationError as error:
        locations = [
            ".".join(str(part) for part in detail["loc"]) for detail in error.errors(include_input=False)
        ]
        fields = sorted({location or "(body)" for location in locations})
        logger.warning(
            "%s sent %s in an unexpected shape",
            provider,
            what,
            extra={"provider": provider.lower(), "fields": ",".join(fields[:10])},
        )
        # The first field that broke is named (a field name, never its value: it may be anyone's data).
        where = f" (at {locations[0]})" if locations and locations[0] else ""
        raise unexpected(
            provider, f"{what} in a shape this server does not understand{where}", hint=hint
        ) from None


def read_body(
    shape: type[M] | TypeAdapter[M], response: httpx2.Response, *, provider: str, what: str, hint: str
) -> M:
    """The response's JSON body (numbers with a fraction as ``Decimal``) as ``shape``."""
    return validated(shape, parse_json(response, provider=provider), provider=provider, what=what, hint=hint)


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
