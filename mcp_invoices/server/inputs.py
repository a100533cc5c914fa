"""Every tool argument, bounded where it enters: lengths, characters and shapes.

The tool signatures use these types, so the SDK publishes the bounds in each tool's input schema and
the server refuses a violation with ``invalid_argument`` naming the field before any provider is
called and before anything permanent (an issued invoice is immutable). Messages name the rule,
never the value sent.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from mcp_invoices.domain.countries import is_country_code
from mcp_invoices.domain.errors import InvalidArgument

__all__ = [
    "MAX_CURSOR_CHARS",
    "MAX_ID_CHARS",
    "BillingAddressInput",
    "BillingName",
    "Cursor",
    "Limit",
    "ObjectId",
    "Wait",
    "check_id",
    "check_order",
]

MAX_ID_CHARS: Final = 200
"""Longest invoice or order id (or number) accepted: provider ids are UUIDs (36), integers (19) or
short strings; a longer one cannot name anything, and kilobytes of it would only reach a URL."""
MAX_CURSOR_CHARS: Final = 2048
"""Longest cursor accepted: the server's own cursors are base64 of a short position, under 1 KiB."""
MAX_NAME_CHARS: Final = 200
MAX_LINE_CHARS: Final = 200
MAX_PLACE_CHARS: Final = 100
MAX_POSTAL_CODE_CHARS: Final = 20
"""The longest postal codes in use have 10 characters; 20 leaves room for spacing and prefixes."""

# Bidirectional overrides and isolates reorder what a PDF or a chat shows (text that reads
# differently from what it is); the other format characters (ZWJ, ZWNJ) are part of real names.
_BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Control characters (NUL and the rest), lone surrogates, private-use and unassigned code points,
line and paragraph separators."""


def _printable(value: str) -> str:
    for character in value:
        if character in _BIDI_CONTROLS or unicodedata.category(character) in _REFUSED_CATEGORIES:
            raise ValueError(
                "must be printable text (no control characters, line breaks or unassigned code points)"
            )
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


_CURSOR_ALPHABET: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _cursor_shape(value: str) -> str:
    if not set(value) <= _CURSOR_ALPHABET:
        raise ValueError("must be a next_cursor exactly as a previous page returned it")
    return value


def _upper_ascii(value: object) -> object:
    return value.upper() if isinstance(value, str) and value.isascii() else value


def _country(value: str) -> str:
    if not is_country_code(value):
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, e.g. US, DE, JP")
    return value


_Printable = AfterValidator(_printable)
_NotBlank = AfterValidator(_not_blank)

ObjectId = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS), _Printable, _NotBlank]
"""An invoice or order id, or an invoice number; its description is the tool's own."""

Cursor = Annotated[
    str,
    Field(min_length=1, max_length=MAX_CURSOR_CHARS),
    AfterValidator(_cursor_shape),
]

Limit = Annotated[int, Field(ge=1, le=100, strict=True, description="Page size, 1 to 100.")]
"""Strict: ``"5"`` is a string, and a caller that sends one learns it rather than being guessed at."""

Wait = Annotated[bool, Field(strict=True, description="Wait until the invoice is ready (default true).")]

BillingName = Annotated[
    str,
    Field(min_length=1, max_length=MAX_NAME_CHARS),
    _Printable,
    _NotBlank,
]
AddressLine = Annotated[str, Field(min_length=1, max_length=MAX_LINE_CHARS), _Printable, _NotBlank]
OptionalLine = Annotated[str, Field(max_length=MAX_LINE_CHARS), _Printable]
PostalCode = Annotated[str, Field(max_length=MAX_POSTAL_CODE_CHARS), _Printable]
Place = Annotated[str, Field(max_length=MAX_PLACE_CHARS), _Printable]
CountryCode = Annotated[
    str,
    BeforeValidator(_upper_ascii),
    Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2 country code, e.g. US, DE, JP"),
    AfterValidator(_country),
]


class BillingAddressInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line1: AddressLine = Field(description="Street and number")
    line2: OptionalLine | None = None
    postal_code: PostalCode | None = None
    city: Place | None = None
    state: Place | None = None
    country: CountryCode


def check_id(value: str, field: str = "invoice_id") -> str:
    """The rules of ``ObjectId`` for an id that arrives outside a tool's arguments (a resource URI)."""
    try:
        if not 1 <= len(value) <= MAX_ID_CHARS:
            raise ValueError(f"must be 1 to {MAX_ID_CHARS} characters")
        _not_blank(_printable(value))
    except ValueError as error:
        raise InvalidArgument(
            f"{field} {error}.", hint="Pass the id exactly as list_invoices returns it."
        ) from None
    return value


def check_order(after_field: str, after: date | None, before_field: str, before: date | None) -> None:
    """A date range must not end before it starts: that is a mistake, not a question with no answer."""
    if after is not None and before is not None and after > before:
        raise InvalidArgument(
            f"{after_field} ({after.isoformat()}) is later than {before_field} ({before.isoformat()}), so no "
            "invoice could match.",
            hint=f"Swap them, or drop one: {after_field} is the earliest date, {before_field} the latest.",
        )
