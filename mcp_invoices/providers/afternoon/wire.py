"""Afternoon's invoice (seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt: amounts in integer minor units named ``*_cents``) and its normalization."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationError

from mcp_invoices.domain.models import Billing, Customer, Documents, Invoice, InvoiceStatus, LineItem
from mcp_invoices.domain.money import MoneyError, from_minor_units, normalize_currency
from mcp_invoices.domain.rules import Settlement, settle
from mcp_invoices.domain.summary import InvoiceFacts
from mcp_invoices.providers.afternoon.spec import SPEC
from mcp_invoices.providers.base import json_uri, pdf_uri
from mcp_invoices.providers.wire import (
    UNSET,
    JsonNumber,
    MinorUnits,
    Raw,
    StatusTable,
    UnsetType,
    Wire,
    WireModel,
    day,
    field,
    instant,
)

__all__ = [
    "NAME",
    "PROVIDER_ID",
    "REACHABLE_STATUSES",
    "STATUSES",
    "UNREADABLE_HINT",
    "WIRE",
    "Normalizer",
    "WireInvoice",
    "WireInvoiceAnswer",
    "WireInvoiceFacts",
    "WireList",
    "WireOwner",
    "list_position",
]

PROVIDER_ID = SPEC.id
NAME = SPEC.display_name
"""How every message names the provider (its spec's display name)."""

STATUSES = StatusTable[str](
    NAME,
    {
        "draft": InvoiceStatus.DRAFT,
        "open": InvoiceStatus.OPEN,
        "paid": InvoiceStatus.PAID,
        "void": InvoiceStatus.VOID,
        "uncollectible": InvoiceStatus.UNCOLLECTIBLE,
    },
)
"""Every ``InvoiceStatus`` of seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt, to the normalized status. Anything else: ``_fallback_status``."""

REACHABLE_STATUSES = frozenset(STATUSES.values()) | {InvoiceStatus.OPEN, InvoiceStatus.PAID}
"""Every normalized status an Afternoon invoice can have: its own, or ``_fallback_status``'s open or paid."""

UNREADABLE_HINT = (
    "Try again in a moment; if it persists, check AFTERNOON_BASE_URL and Afternoon's status page."
)


WIRE = Wire(NAME, UNREADABLE_HINT)


# -- wire models (only the fields this module relies on; the rest is skipped undecoded) -------------


class WireLineItem(WireModel):
    description: str | None = None
    quantity: JsonNumber | None = None
    unit_amount_cents: MinorUnits | None = None
    tax_amount_cents: MinorUnits | None = None
    total_amount_cents: MinorUnits | None = None
    period_start: str | None = None
    period_end: str | None = None


class WireOwner(WireModel):
    """Whose invoice a row is, read before anything else of it (``customer_id`` of any type)."""

    customer_id: Any = None


class WireInvoiceFacts(WireModel):
    """An invoice as a summary reads it: no lines, amounts beyond the total, or document URL.

    ``WireInvoice`` is this and the rest; a summary's page decodes only this part."""

    id: str
    status: str
    currency: str
    total_cents: MinorUnits
    customer_id: str | None = None
    invoice_number: str | None = None
    due_date: str | None = None
    finalized_at: str | None = None
    paid_at: str | None = None
    created_at: str | None = None


class WireInvoice(WireInvoiceFacts):
    public_invoice_url: str | None = None
    subtotal_cents: MinorUnits | None = None
    discount_cents: MinorUnits | None = None
    tax_cents: MinorUnits | None = None
    line_items: list[WireLineItem] = field(default_factory=list)


class WireInvoiceAnswer(WireModel):
    """``GET /v1/invoices/{id}``: the invoice is kept as written until its owner has been read."""

    success: Any = None
    invoice: Raw = Raw()  # empty when absent; ``null`` is kept as its literal

    @property
    def readable(self) -> bool:
        return self.success is not False and bytes(self.invoice) not in (b"", b"null")


# -- the list envelope ------------------------------------------------------------------------------
# docs.afternoon.co/api-reference/afternoon-events-api/invoices/list: 200 is ``InvoiceListResponse``,
# whose members that page does not show. Its sibling list (…/subscriptions/list) documents
# ``{success, subscriptions, pagination: object, request_id}``, so the invoices are read under
# ``invoices`` (or the common ``data``) and the next page under ``pagination`` or at the top, as
# ``next_cursor``/``has_more`` (or their camelCase). Anything else is refused by name, never read as
# an empty or a last page.


class WirePagination(WireModel):
    """The list's ``pagination`` object; a member that is absent stays ``UNSET``, which is not ``null``."""

    next_cursor: str | None | UnsetType = UNSET
    next_cursor_camel: str | None | UnsetType = field(name="nextCursor", default=UNSET)
    has_more: Any = UNSET  # only ``true`` and ``false`` mean anything (``list_position``)
    has_more_camel: Any = field(name="hasMore", default=UNSET)


R = TypeVar("R")


class WireList(WireModel, Generic[R]):
    """The list envelope, its rows read as ``R``: whole rows kept as written (``Raw``) until their
    owner is read, or a summary's ``WireInvoiceFacts``."""

    invoices: list[R] | None = None
    data: list[R] | None = None
    next_cursor: str | None | UnsetType = UNSET
    next_cursor_camel: str | None | UnsetType = field(name="nextCursor", default=UNSET)
    has_more: Any = UNSET
    has_more_camel: Any = field(name="hasMore", default=UNSET)
    pagination: WirePagination | None = None
    success: Any = None

    def rows(self) -> list[R]:
        """The rows (``invoices``, else ``data``), or ``ProviderUnavailable`` naming what is missing."""
        if self.success is False:
            raise WIRE.unexpected("a list response marked success: false")
        rows = self.invoices if self.invoices is not None else self.data
        if rows is None:
            raise WIRE.unexpected(
                "a list response without an invoices (or data) array, so its invoices cannot be read"
            )
        return rows

    def position(self) -> str | None:
        """``list_position`` of this page: the next page's cursor, or None at the end."""
        inner = self.pagination if self.pagination is not None else WirePagination()
        return list_position(
            cursors=(self.next_cursor, self.next_cursor_camel, inner.next_cursor, inner.next_cursor_camel),
            more=(self.has_more, self.has_more_camel, inner.has_more, inner.has_more_camel),
        )


def list_position(*, cursors: Iterable[object], more: Iterable[object]) -> str | None:
    """The next page's cursor, or None at the end, from the first of each member that is present.

    A list that says neither where the next page is nor that there is none cannot be walked to its
    end without guessing, and so is refused; so is "more" without a cursor, or a cursor that is not text.
    """
    cursor = next((value for value in cursors if value is not UNSET), UNSET)
    has_more = next((value for value in more if value is not UNSET), UNSET)
    if cursor is UNSET and has_more is UNSET:
        raise WIRE.unexpected(
            "a list response without next_cursor or has_more (at the top or under pagination), so "
            "whether more invoices exist cannot be known"
        )
    if not cursor:
        if has_more is True:
            raise WIRE.unexpected("a list response saying more invoices exist without a cursor to read them")
        return None
    assert isinstance(cursor, str)
    return None if has_more is False else cursor


# -- normalization -------------------------------------------------------------------------------


def _fallback_status(wire: WireInvoiceFacts) -> InvoiceStatus:
    """The normalized status of a status the seed does not list (the raw one stays in provider_status).

    The seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt's enum is draft, open, paid, void, uncollectible; a status Afternoon adds later is read
    from the invoice itself: ``paid_at`` set means the money arrived (paid: the stated total is paid,
    nothing due); anything else is open, so its stated total counts in every total and is due until
    Afternoon says otherwise. Open is the honest reading of "billed, not known to be settled": calling
    it a draft or void would take a possible debt out of every total without a word.
    """
    if instant(wire.paid_at) is not None:
        return InvoiceStatus.PAID
    return InvoiceStatus.OPEN


def _document_url(url: str | None, api_key: str) -> str | None:
    """Afternoon's hosted invoice page, unless it is not a plain http(s) URL or could carry a credential.

    Read with the standard library's splitter: every invoice has one, and a full URL parse would
    cost more than the rest of the invoice's normalization.
    """
    if not url or not url.isascii() or not url.isprintable() or " " in url or api_key in url:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host or "@" in parts.netloc:
        return None
    return url


def _settled(wire: WireInvoiceFacts) -> tuple[str, InvoiceStatus, Decimal, Settlement]:
    """Currency, status, total, and what is paid and due (raises MoneyError on an unusable currency)."""
    currency = normalize_currency(wire.currency)
    status = STATUSES.read(wire.status, lambda: _fallback_status(wire))
    total = from_minor_units(wire.total_cents, currency)
    # tests/sandbox/seeds/002_c939eac29cf2ef29.txt Invoice: the only amounts are subtotal/discount/tax/total_cents (integer minor units);
    # there is no amount_paid or amount_due, so both follow the stated total and the status (settle):
    # paid → all paid; open/uncollectible → all due; void → nothing; a draft → its total, what it
    # will ask for. Partial payments are not in seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt, so paid is all or nothing.
    return currency, status, total, settle(status, total, currency)


def _issued(wire: WireInvoiceFacts) -> date | None:
    # Issued when finalized; a draft (never finalized) is dated by its creation so that it still
    # sorts and filters by date like Afternoon's own newest-first list.
    return day(wire.finalized_at) or day(wire.created_at)


_UNREADABLE_AMOUNTS = "an invoice whose currency or amounts this server cannot read"


class Normalizer:
    """The seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt's ``Invoice`` to the normalized ``Invoice`` (the key is needed to vet document URLs)."""

    def __init__(self, api_key: SecretStr) -> None:
        self._api_key = api_key

    def invoice(self, wire: WireInvoice) -> Invoice:
        try:
            return self._invoice(wire)
        except (MoneyError, ValidationError):
            raise WIRE.unexpected(_UNREADABLE_AMOUNTS) from None

    def facts(self, wire: WireInvoiceFacts) -> InvoiceFacts:
        """What a summary needs of one invoice, read by the same rules as ``invoice``."""
        try:
            currency, status, total, settled = _settled(wire)
        except MoneyError:
            raise WIRE.unexpected(_UNREADABLE_AMOUNTS) from None
        return InvoiceFacts(
            id=wire.id,
            number=wire.invoice_number,
            status=status,
            currency=currency,
            issued_at=_issued(wire),
            due_at=day(wire.due_date),
            total=total,
            amount_paid=settled.paid,
            amount_due=settled.due,
            uri=json_uri(PROVIDER_ID, wire.id),
        )

    def _invoice(self, wire: WireInvoice) -> Invoice:
        currency, status, total, settled = _settled(wire)

        def amount(cents: int | None) -> Decimal | None:
            return None if cents is None else from_minor_units(cents, currency)

        return Invoice(
            provider=PROVIDER_ID,
            id=wire.id,
            number=wire.invoice_number,
            status=status,
            provider_status=wire.status,
            currency=currency,
            issued_at=_issued(wire),
            due_at=day(wire.due_date),
            paid_at=instant(wire.paid_at),
            customer=Customer(id=wire.customer_id),
            billing=Billing(),  # seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt carries no billing name or address
            line_items=[
                LineItem(
                    description=line.description if line.description is not None else "(no description)",
                    quantity=line.quantity,
                    unit_amount=amount(line.unit_amount_cents),
                    discount=None,  # Afternoon discounts are per invoice only
                    tax=amount(line.tax_amount_cents),
                    total=amount(line.total_amount_cents),
                    period_start=day(line.period_start),
                    period_end=day(line.period_end),
                )
                for line in wire.line_items
            ],
            subtotal=amount(wire.subtotal_cents),
            discount=amount(wire.discount_cents),
            tax=amount(wire.tax_cents),
            shipping=None,  # no shipping in Afternoon's model
            total=total,  # as stated, never recomputed from the lines
            amount_paid=settled.paid,
            amount_due=settled.due,
            documents=Documents(
                json_uri=json_uri(PROVIDER_ID, wire.id),
                pdf_uri=pdf_uri(PROVIDER_ID, wire.id),
                url=_document_url(wire.public_invoice_url, self._api_key.get_secret_value()),
            ),
        )
