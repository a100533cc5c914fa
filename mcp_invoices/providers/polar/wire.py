"""Polar's customer-portal order as this server reads it, and the normalized invoice and order it becomes.

Amounts are integer minor units and the currency is lower-case (``"usd"``). An invoice belongs to an order and
shares its id; Polar dates it by the order and states neither a due date nor a payment time.

Every request names the API version this module is written and tested for (``API_VERSION``): Polar
versions its API by the ``Polar-Version`` header and answers a request without one as its current default,
which moves on.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Final

import msgspec

from mcp_invoices.domain.models import (
    Address,
    Billing,
    Customer,
    Documents,
    Invoice,
    InvoiceStatus,
    LineItem,
    Order,
    OrderInvoiceState,
    OrderLine,
)
from mcp_invoices.domain.money import from_minor_units, normalize_currency
from mcp_invoices.domain.parties import Seller
from mcp_invoices.domain.rules import Settlement, settle
from mcp_invoices.providers.base import json_uri, pdf_uri
from mcp_invoices.providers.polar.spec import SPEC
from mcp_invoices.providers.wire import MinorUnits, StatusTable, Wire, WireModel, field

__all__ = [
    "API_VERSION",
    "API_VERSION_HEADER",
    "NAME",
    "ORDER",
    "PROVIDER_ID",
    "STATUSES",
    "UNREADABLE_HINT",
    "WIRE",
    "WireCustomerSession",
    "WireInvoiceURL",
    "WireOrder",
    "WireOrderPage",
    "order_to_invoice",
    "order_to_order",
]

PROVIDER_ID = SPEC.id
NAME = SPEC.display_name
"""How every message names the provider (its spec's display name)."""

API_VERSION_HEADER: Final = "Polar-Version"  # polar c6c3645 server/polar/kit/versioning.py: VERSION_HEADER
API_VERSION: Final = "2026-04"
"""The Polar API version every request asks for (polar c6c3645 server/polar/version.py: CURRENT_API_VERSION;
polar-sdk 1.0.2 ``polar.v2026_04``, whose ``CustomerOrder`` is the same in 2026-10 and 2027-01)."""

UNREADABLE_HINT: Final = (
    "Try again in a moment; if it persists, check Polar's status page and the configured base URL."
)

WIRE: Final = Wire(NAME, UNREADABLE_HINT)

STATUSES: Final = StatusTable[str](
    NAME,
    {
        "paid": InvoiceStatus.PAID,
        "refunded": InvoiceStatus.REFUNDED,
        # The invoice was paid in full; the partial refund is a credit on top of it, not a balance
        # still owed, so the invoice reads as paid and ``provider_status`` keeps the nuance.
        "partially_refunded": InvoiceStatus.PAID,
        "pending": InvoiceStatus.OPEN,
        "void": InvoiceStatus.VOID,
        "draft": InvoiceStatus.DRAFT,
    },
)
"""Polar order status (of an order whose invoice exists) → normalized invoice status.

``pending`` (generation scheduled, not ready) is not in Polar's vocabulary: it is this process's
own knowledge that it asked Polar to generate the invoice.
"""

# polar c6c3645 server/polar/models/order.py Order.paid: paid, refunded and partially_refunded were paid
_PAID_ORDER_STATUSES: Final = frozenset({"paid", "refunded", "partially_refunded"})

# ------------------------------------------------------------------------------------------------
# Wire shapes: only what this module relies on is declared; the rest is skipped undecoded.
# ------------------------------------------------------------------------------------------------


class WireAddress(WireModel):
    line1: str | None = None
    line2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None


class WireItem(WireModel):
    amount: MinorUnits
    label: str | None = None
    tax_amount: MinorUnits | None = None
    # polar-sdk 1.0.2 OrderItemSchema: the period a line covers, null when none (absent at polar c6c3645)
    start_timestamp: datetime | None = None
    end_timestamp: datetime | None = None


class WireOrganization(WireModel):
    name: str | None = None


class WireProduct(WireModel):
    # polar c6c3645 server/polar/customer_portal/schemas/order.py CustomerOrderProduct.organization
    # (CustomerOrganization, OrganizationBase.name): the merchant, in every order at no extra request
    organization: WireOrganization | None = None


class WireOrder(WireModel):
    """A ``CustomerOrder`` of the customer portal (its currency upper-cased, its time aware)."""

    id: str
    created_at: datetime
    status: str
    currency: str
    total_amount: MinorUnits
    is_invoice_generated: bool
    paid: bool | None = None
    subtotal_amount: MinorUnits | None = None
    discount_amount: MinorUnits | None = None
    tax_amount: MinorUnits | None = None
    # polar c6c3645 server/polar/models/order.py Order.due_amount: max(0, total + applied balance), the
    # amount charged for the order whatever its status, not what is still owed on it
    due_amount: MinorUnits | None = None
    billing_name: str | None = None
    billing_address: WireAddress | None = None
    invoice_number: str | None = None
    # polar c6c3645 server/polar/customer_portal/schemas/order.py CustomerOrder: customer_id, no customer
    customer_id: str | None = None
    items: list[WireItem] = field(default_factory=list)
    product: WireProduct | None = None

    def __post_init__(self) -> None:
        self.currency = normalize_currency(self.currency)  # Polar sends "usd"
        if self.created_at.tzinfo is None:
            self.created_at = self.created_at.replace(tzinfo=UTC)

    @property
    def created_on(self) -> date:
        return self.created_at.astimezone(UTC).date()

    @property
    def was_paid(self) -> bool:
        return self.paid if self.paid is not None else self.status in _PAID_ORDER_STATUSES


class WirePagination(WireModel):
    total_count: int
    max_page: int


class WireOrderPage(WireModel):
    items: list[WireOrder]
    pagination: WirePagination


class WireInvoiceURL(WireModel):
    url: str


class WireCustomerSession(WireModel):
    token: str
    expires_at: datetime


ORDER: Final = WIRE.decoder(WireOrder)
"""An order's body (read by the client and by invoice generation)."""


# ------------------------------------------------------------------------------------------------
# Normalization
# ------------------------------------------------------------------------------------------------


def _day(moment: datetime | None) -> date | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(UTC).date()


def _invoice_status(order: WireOrder) -> InvoiceStatus:
    # An order status Polar added after this table is read by whether money was received.
    return STATUSES.read(order.status, lambda: InvoiceStatus.PAID if order.was_paid else InvoiceStatus.OPEN)


def _billing(order: WireOrder) -> Billing:
    address = order.billing_address
    return Billing(
        name=order.billing_name,
        address=Address(**msgspec.structs.asdict(address)) if address is not None else None,
    )


def _settlement(order: WireOrder, status: InvoiceStatus) -> Settlement:
    """What the customer has paid and still owes, from the order's status (Polar states no balance).

    Polar's ``due_amount`` is the amount charged (total plus applied customer balance), whatever the
    status: it is owed only while the order is unpaid. A paid order, refunded or not, was paid in full
    (a refund returns money that was paid; ``provider_status`` keeps it); a void one received nothing.
    """
    currency = order.currency
    total = from_minor_units(order.total_amount, currency)
    if order.status == "void":
        # A void order received nothing, whatever this invoice's status reads as (pending, say).
        return settle(InvoiceStatus.VOID, total, currency)
    if order.was_paid:
        return settle(InvoiceStatus.PAID, total, currency)
    charged = order.due_amount if order.due_amount is not None else order.total_amount
    # Unpaid (pending, draft, or a status added after this table): the charge is owed; customer balance
    # applied to it counts as paid.
    return settle(status, total, currency, due=from_minor_units(charged, currency))


def _seller(order: WireOrder) -> Seller | None:
    """The organization that sold the order, as Polar's own invoice names it."""
    organization = order.product.organization if order.product else None
    name = (organization.name or "").strip() if organization else ""
    return Seller(name=name) if name else None


def order_to_invoice(order: WireOrder, *, pending: bool = False) -> Invoice:
    """The normalized invoice of a Polar order (``pending``: generation asked for, document not ready)."""
    currency = order.currency

    def money(minor: int | None) -> Decimal | None:
        return None if minor is None else from_minor_units(minor, currency)

    status = InvoiceStatus.PENDING if pending else _invoice_status(order)
    settled = _settlement(order, status)
    return Invoice(
        provider=PROVIDER_ID,
        id=order.id,
        # Polar reserves a number on the order; it is the invoice's only once the invoice exists.
        number=None if pending else order.invoice_number,
        status=status,
        provider_status=order.status,
        currency=currency,
        # Polar's invoice is dated by its order; Polar sets no due date and no payment time on it.
        issued_at=order.created_on,
        due_at=None,
        paid_at=None,
        # The portal's order names its customer by id only; the name Polar prints on the invoice is the
        # billing name, and the email is not on the order (null rather than another request per invoice).
        customer=Customer(id=order.customer_id, name=order.billing_name, email=None),
        billing=_billing(order),
        line_items=[
            # Polar states each item's amount before tax and before order-level discounts, and its tax
            # beside it; no quantity or unit price. The line totals therefore add up to the subtotal.
            LineItem(
                description=item.label or "(no description)",
                tax=money(item.tax_amount),
                total=money(item.amount),
                period_start=_day(item.start_timestamp),
                period_end=_day(item.end_timestamp),
            )
            for item in order.items
        ],
        subtotal=money(order.subtotal_amount),
        discount=money(order.discount_amount),
        tax=money(order.tax_amount),
        shipping=None,  # Polar sells digital goods: no shipping on its orders
        total=from_minor_units(order.total_amount, currency),
        amount_paid=settled.paid,
        amount_due=settled.due,
        # The presigned document URL expires within the hour and lets anyone holding it read the
        # invoice: it is not published; the PDF resource fetches a fresh one on each read instead.
        documents=Documents(json_uri=json_uri(PROVIDER_ID, order.id), pdf_uri=pdf_uri(PROVIDER_ID, order.id)),
        seller=_seller(order),
    )


def order_to_order(order: WireOrder, invoice: OrderInvoiceState) -> Order:
    """A Polar order as a ``list_orders`` row source."""
    currency = order.currency

    def money(minor: int | None) -> Decimal:
        return from_minor_units(minor or 0, currency)

    subtotal = (
        order.subtotal_amount
        if order.subtotal_amount is not None
        else sum(item.amount for item in order.items)
    )
    return Order(
        provider=PROVIDER_ID,
        id=order.id,
        created_at=order.created_on,
        status=order.status,
        paid=order.was_paid,
        currency=currency,
        subtotal=money(subtotal),
        discount=money(order.discount_amount),
        tax=money(order.tax_amount),
        shipping=money(0),
        total=money(order.total_amount),
        billing=_billing(order),
        invoice=invoice,
        lines=[
            OrderLine(
                description=item.label or "(no description)",
                quantity=Decimal(1),
                unit_amount=money(item.amount),
                discount=money(0),
                tax=money(item.tax_amount),
                total=money(item.amount),
            )
            for item in order.items
        ],
    )
