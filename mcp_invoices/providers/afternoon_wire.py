"""Afternoon's invoice (seed 002: amounts in integer minor units named ``*_cents``) and its normalization."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationError

from mcp_invoices.domain.errors import ProviderUnavailable
from mcp_invoices.domain.models import Billing, Customer, Documents, Invoice, InvoiceStatus, LineItem
from mcp_invoices.domain.money import MoneyError, from_minor_units, normalize_currency
from mcp_invoices.domain.rules import Settlement, settle
from mcp_invoices.domain.summary import InvoiceFacts
from mcp_invoices.providers.base import json_uri, pdf_uri
from mcp_invoices.providers.lean import LeanModel, Raw, minor_units
from mcp_invoices.providers.wire import JsonNumber, MinorUnits, StatusTable, WireModel, unexpected

__all__ = [
    "DISPLAY_NAME",
    "PROVIDER_ID",
    "STATUSES",
    "UNREADABLE_HINT",
    "LeanInvoiceFacts",
    "LeanList",
    "Normalizer",
    "WireInvoice",
    "WireInvoiceFacts",
    "unreadable",
]

PROVIDER_ID = "afternoon"
DISPLAY_NAME = "Afternoon"

STATUSES = StatusTable[str](
    DISPLAY_NAME,
    {
        "draft": InvoiceStatus.DRAFT,
        "open": InvoiceStatus.OPEN,
        "paid": InvoiceStatus.PAID,
        "void": InvoiceStatus.VOID,
        "uncollectible": InvoiceStatus.UNCOLLECTIBLE,
    },
)
"""Every ``InvoiceStatus`` of seed 002, to the normalized status. Anything else: ``_fallback_status``."""

UNREADABLE_HINT = (
    "Try again in a moment; if it persists, check AFTERNOON_BASE_URL and Afternoon's status page."
)


# -- wire models (only the fields this module relies on; extra fields are ignored) -----------------


class WireLineItem(WireModel):
    description: str | None = None
    quantity: JsonNumber | None = None
    unit_amount_cents: MinorUnits | None = None
    tax_amount_cents: MinorUnits | None = None
    total_amount_cents: MinorUnits | None = None
    period_start: str | None = None
    period_end: str | None = None


class WireInvoiceFacts(WireModel):
    """An invoice as a summary reads it: no lines, amounts beyond the total, or document URL."""

    id: str
    customer_id: str | None = None
    status: str
    currency: str
    invoice_number: str | None = None
    due_date: str | None = None
    total_cents: MinorUnits
    finalized_at: str | None = None
    paid_at: str | None = None
    created_at: str | None = None


class LeanInvoiceFacts(LeanModel):
    """``WireInvoiceFacts`` as a summary's page is decoded (``providers.lean``): the same fields.

    ``total_cents`` is kept as its literal and read by ``lean.minor_units``, as ``MinorUnits`` reads it.
    """

    id: str
    status: str
    currency: str
    total_cents: Raw
    customer_id: str | None = None
    invoice_number: str | None = None
    due_date: str | None = None
    finalized_at: str | None = None
    paid_at: str | None = None
    created_at: str | None = None


class LeanList(LeanModel):
    """The list envelope as a summary reads it: rows under ``invoices`` (or ``data``), and the cursor."""

    invoices: list[LeanInvoiceFacts] | None = None
    data: list[LeanInvoiceFacts] | None = None
    next_cursor: str | None = None
    has_more: Any = None  # only ``true`` and ``false`` mean anything, as in the whole list's reading
    success: Any = None


class WireInvoice(WireInvoiceFacts):
    public_invoice_url: str | None = None
    subtotal_cents: MinorUnits | None = None
    discount_cents: MinorUnits | None = None
    tax_cents: MinorUnits | None = None
    line_items: list[WireLineItem] = []


def unreadable(what: str) -> ProviderUnavailable:
    return unexpected(DISPLAY_NAME, f"{what} this server cannot read", hint=UNREADABLE_HINT)


# -- normalization -------------------------------------------------------------------------------


def _instant(value: str | None) -> datetime | None:
    """An ISO-8601 timestamp as an aware UTC datetime; unreadable or missing → None (optional fields)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # Afternoon writes UTC ("...Z"); a bare date or naive time is read as UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _day(value: str | None) -> date | None:
    moment = _instant(value)
    return moment.date() if moment is not None else None


def _fallback_status(wire: WireInvoiceFacts | LeanInvoiceFacts) -> InvoiceStatus:
    """The normalized status of a status seed 002 does not list (the raw one stays in provider_status).

    Rather than one fixed guess, the invoice's own lifecycle timestamps decide: paid_at set means
    money arrived (paid); finalized_at set means it was issued and nothing says it was settled, so
    it is still owed (open, which keeps it visible in what is due instead of hiding a debt); neither
    means it was never issued (draft).
    """
    if _instant(wire.paid_at) is not None:
        return InvoiceStatus.PAID
    if _instant(wire.finalized_at) is not None:
        return InvoiceStatus.OPEN
    return InvoiceStatus.DRAFT


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


def _settled(wire: WireInvoiceFacts | LeanInvoiceFacts) -> tuple[str, InvoiceStatus, Decimal, Settlement]:
    """Currency, status, total, and what is paid and due (raises MoneyError on an unusable currency)."""
    currency = normalize_currency(wire.currency)
    status = STATUSES.read(wire.status, lambda: _fallback_status(wire))
    total = from_minor_units(_cents(wire.total_cents), currency)
    # Afternoon states no paid/due amounts: they follow from the status. A draft's amount_due is
    # what it will ask for (as Stripe-style APIs report it); a void invoice asks for nothing.
    # Partial payments are not visible in seed 002, so paid is all or nothing.
    return currency, status, total, settle(status, total, currency)


def _cents(value: int | Raw) -> int:
    """``total_cents`` as a number of minor units, whichever way it was decoded (raises MoneyError)."""
    cents = value if isinstance(value, int) else minor_units(value, DISPLAY_NAME)
    if cents is None:
        raise MoneyError("expected an integer number of minor units")
    return cents


def _issued(wire: WireInvoiceFacts | LeanInvoiceFacts) -> date | None:
    # Issued when finalized; a draft (never finalized) is dated by its creation so that it still
    # sorts and filters by date like Afternoon's own newest-first list.
    return _day(wire.finalized_at) or _day(wire.created_at)


class Normalizer:
    """Seed 002's ``Invoice`` to the normalized ``Invoice`` (the key is needed to vet document URLs)."""

    def __init__(self, api_key: SecretStr) -> None:
        self._api_key = api_key

    def invoice(self, wire: WireInvoice) -> Invoice:
        try:
            return self._invoice(wire)
        except (MoneyError, ValidationError):
            raise unreadable("an invoice whose currency or amounts") from None

    def facts(self, wire: WireInvoiceFacts | LeanInvoiceFacts) -> InvoiceFacts:
        """What a summary needs of one invoice, read by the same rules as ``invoice``."""
        try:
            currency, status, total, settled = _settled(wire)
        except MoneyError:
            raise unreadable("an invoice whose currency or amounts") from None
        return InvoiceFacts(
            id=wire.id,
            number=wire.invoice_number,
            status=status,
            currency=currency,
            issued_at=_issued(wire),
            due_at=_day(wire.due_date),
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
            due_at=_day(wire.due_date),
            paid_at=_instant(wire.paid_at),
            customer=Customer(id=wire.customer_id),
            billing=Billing(),  # seed 002 carries no billing name or address
            line_items=[
                LineItem(
                    description=line.description if line.description is not None else "(no description)",
                    quantity=line.quantity,
                    unit_amount=amount(line.unit_amount_cents),
                    discount=None,  # Afternoon discounts are per invoice only
                    tax=amount(line.tax_amount_cents),
                    total=amount(line.total_amount_cents),
                    period_start=_day(line.period_start),
                    period_end=_day(line.period_end),
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
