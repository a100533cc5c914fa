"""Bagisto's invoice as this server reads it, where its 429 puts the wait, and normalization.

Two wires, one invoice (evidence: bagisto-api 5ab9ff2, see ``docs/providers.md``):

- REST ``GET /api/shop/customer-invoices/{id}``: one invoice of the token's customer (404 for any
  other), its lines as IRIs of a resource without operations, which cannot be read.
- GraphQL ``POST /api/graphql`` ``customerInvoices(first:, after:, state:, orderId:)``: the
  customer's invoices newest first (``id DESC``) in cursor pages, with ``pageInfo`` and
  ``totalCount``; a node's lines are a connection (``items { edges { node } }``).

Amounts are JSON numbers in major units (PHP ``float`` casts), parsed as ``Decimal`` (never a
float) and kept as stated: ``grandTotal`` is the total, never recomputed from the lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Generic, TypeVar

import httpx2

from mcp_invoices.domain.models import Billing, Customer, Documents, Invoice, InvoiceStatus, LineItem
from mcp_invoices.domain.money import MoneyError, normalize_currency, parse_amount
from mcp_invoices.domain.rules import settle
from mcp_invoices.providers.bagisto.spec import SPEC
from mcp_invoices.providers.base import json_uri, pdf_uri
from mcp_invoices.providers.http import retry_after_seconds
from mcp_invoices.providers.wire import (
    MajorUnits,
    Raw,
    StatusTable,
    Wire,
    WireInt,
    WireModel,
    bounded,
    day,
    error_body,
    field,
)

__all__ = [
    "GRAPHQL_PAGE_MAX",
    "INVOICES_QUERY",
    "INVOICE_ITEMS_QUERY",
    "NAME",
    "PROVIDER_ID",
    "STATUSES",
    "UNREADABLE_HINT",
    "WIRE",
    "GraphQLData",
    "GraphQLError",
    "GraphQLResponse",
    "WireConnection",
    "WireInvoice",
    "WireItem",
    "WireLines",
    "WireLinesConnection",
    "embedded_items",
    "normalize_invoice",
    "retry_after",
]


PROVIDER_ID = SPEC.id
NAME = SPEC.display_name
"""How every message names the provider (its spec's display name)."""

STATUSES = StatusTable[str](
    NAME,
    {
        # bagisto-api 5ab9ff2 src/Models/CustomerInvoice.php: states pending, pending_payment, paid, overdue, refunded.
        # Issued and awaiting payment. Not our ``pending``, which means "generation not finished yet".
        "pending": InvoiceStatus.OPEN,
        "pending_payment": InvoiceStatus.OPEN,
        # Overdue is derived from due_at in the normalized model; Bagisto's word stays in provider_status.
        "overdue": InvoiceStatus.OPEN,
        "paid": InvoiceStatus.PAID,
        "refunded": InvoiceStatus.REFUNDED,
        # Not in the API's list; Bagisto spells cancelled orders "canceled". Mapped so they never count as owed.
        "canceled": InvoiceStatus.VOID,
        "cancelled": InvoiceStatus.VOID,
    },
)
"""Bagisto invoice ``state`` → normalized status. An unknown state is served as ``open`` (and logged)."""

GRAPHQL_PAGE_MAX = 50
"""bagisto-api 5ab9ff2 config/api-platform.php: pagination_maximum_items_per_page 50."""

_MAX_RATE_LIMIT_BODY = 64 * 1024
"""A 429 body is searched for its ``retry_after`` only this far: the wait is in its first few bytes."""

_NODE_FIELDS = (
    "_id incrementId state grandTotal subTotal shippingAmount taxAmount discountAmount "
    "baseCurrencyCode orderCurrencyCode createdAt"
)
# bagisto-api 5ab9ff2 tests/Feature/GraphQL/CustomerInvoiceTest.php: these node fields, pageInfo, totalCount.
INVOICES_QUERY = (
    "query CustomerInvoices($first: Int, $after: String, $state: String) { "
    "customerInvoices(first: $first, after: $after, state: $state) { "
    f"edges {{ cursor node {{ {_NODE_FIELDS} }} }} "
    "pageInfo { endCursor hasNextPage } totalCount } }"
)
"""One page of the customer's invoices, newest first, optionally of one ``state``."""

# bagisto-api 5ab9ff2 tests/e2e-pw/tests/graphQL/graphql/Queries/customerInvoice.queries.ts:
# GET_CUSTOMER_INVOICES_BY_ORDER_WITH_ITEMS reads items { edges { node { ... } } } by orderId.
INVOICE_ITEMS_QUERY = (
    "query CustomerInvoiceItems($first: Int, $after: String, $orderId: Int) { "
    "customerInvoices(first: $first, after: $after, orderId: $orderId) { "
    "edges { node { _id items { totalCount edges { node { "
    "_id sku name qty price total taxAmount discountAmount } } } } } "
    "pageInfo { endCursor hasNextPage } } }"
)
"""The invoices of one order with their lines: the customer-scoped way to read an invoice's lines."""


# -- wire shapes -----------------------------------------------------------------------------------


class _Wire(WireModel, rename="camel"):
    """Bagisto's members are camelCase (``grandTotal``); REST names a record ``id``, GraphQL ``_id``."""

    rest_id: WireInt | None = field(default=None, name="id")
    graphql_id: WireInt | None = field(default=None, name="_id")

    def __post_init__(self) -> None:
        if self.rest_id is None and self.graphql_id is None:
            raise TypeError("expected an `id` or `_id`")

    @property
    def id(self) -> int:
        identifier = self.graphql_id if self.graphql_id is not None else self.rest_id
        assert identifier is not None  # __post_init__ refused a record without one
        return identifier


class _Camel(WireModel, rename="camel"):
    pass


class WireItem(_Wire):
    """An invoice line: embedded in REST (``id``) or a GraphQL item node (``_id``).

    bagisto-api 5ab9ff2 src/Models/CustomerInvoiceItem.php: qty int, price/total/tax/discount floats.
    """

    sku: str | None = None
    name: str | None = None
    qty: MajorUnits | None = None
    price: MajorUnits | None = None
    total: MajorUnits | None = None
    tax_amount: MajorUnits | None = None
    discount_amount: MajorUnits | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        bounded(self.qty, self.price, self.total, self.tax_amount, self.discount_amount)


class _ItemEdge(_Camel):
    node: WireItem


class WireLines(_Camel):
    """A GraphQL node's ``items`` connection."""

    edges: list[_ItemEdge]
    total_count: WireInt | None = None

    @property
    def items(self) -> list[WireItem]:
        return [edge.node for edge in self.edges]

    @property
    def complete(self) -> bool:
        return self.total_count is None or self.total_count <= len(self.edges)


class WireInvoice(_Wire, kw_only=True):
    """A REST invoice (``id``) or a GraphQL node (``_id``); the fields this client relies on.

    bagisto-api 5ab9ff2 src/Models/CustomerInvoice.php: id int, amounts float, state and codes strings.
    """

    state: str
    grand_total: MajorUnits
    increment_id: str | None = None
    sub_total: MajorUnits | None = None
    shipping_amount: MajorUnits | None = None
    tax_amount: MajorUnits | None = None
    discount_amount: MajorUnits | None = None
    order_currency_code: str | None = None
    channel_currency_code: str | None = None
    base_currency_code: str | None = None
    order_id: WireInt | None = None
    created_at: str | None = None
    items: list[WireItem | str] | WireLines | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        bounded(self.grand_total, self.sub_total, self.shipping_amount, self.tax_amount, self.discount_amount)


class _InvoiceEdge(_Camel):
    node: WireInvoice


class _PageInfo(_Camel):
    has_next_page: bool
    end_cursor: str | None = None


class WireConnection(_Camel):
    """``customerInvoices``: one cursor page."""

    edges: list[_InvoiceEdge]
    page_info: _PageInfo
    total_count: WireInt | None = None

    @property
    def invoices(self) -> list[WireInvoice]:
        return [edge.node for edge in self.edges]


class GraphQLError(WireModel):
    message: str = ""
    extensions: dict[str, Any] | None = None


class _LinesNode(_Wire):
    items: WireLines | None = None


class _LinesEdge(_Camel):
    node: _LinesNode


class WireLinesConnection(_Camel):
    """``customerInvoices`` of one order, each node only its id and its lines."""

    edges: list[_LinesEdge]
    page_info: _PageInfo

    @property
    def invoices(self) -> list[_LinesNode]:
        return [edge.node for edge in self.edges]


C = TypeVar("C", WireConnection, WireLinesConnection)


class GraphQLResponse(WireModel):
    """``{data, errors}``: API Platform answers a failed query with 200 and ``errors``; ``data`` is
    read (as ``GraphQLData``) only when there are none."""

    data: Raw = Raw()
    errors: list[GraphQLError] | None = None

    @property
    def has_data(self) -> bool:
        return bytes(self.data) not in (b"", b"null")


class GraphQLData(_Camel, Generic[C]):
    """``data`` of a ``customerInvoices`` query, its connection read as ``C``."""

    customer_invoices: C | None = None


UNREADABLE_HINT = (
    "Try again in a moment; if it persists, check that BAGISTO_BASE_URL points at the shop's API."
)


WIRE = Wire(NAME, UNREADABLE_HINT)


# -- where a 429 says how long to wait ---------------------------------------------------------------


def retry_after(response: httpx2.Response) -> float | None:
    """Seconds a refusal asks us to wait: the ``Retry-After`` header, else a 429 body's ``retry_after``.

    bagisto-api 5ab9ff2 src/Http/Middleware/VerifyStorefrontKey.php answers 429 with the wait in the
    body (message or problem+json shape) and no header; ``ProviderHTTP`` asks here both for its wait
    before the next try and for the ``retry_after`` of the ``rate_limited`` error.
    """
    if response.status_code != 429 or "retry-after" in response.headers:
        return retry_after_seconds(response)
    body = error_body(httpx2.Response(429, content=response.content[:_MAX_RATE_LIMIT_BODY]))
    value = body.get("retry_after") if isinstance(body, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return None
    try:
        seconds = Decimal(str(value).strip())
    except ArithmeticError:
        return None
    return float(math.ceil(seconds)) if seconds.is_finite() and seconds >= 0 else None


# -- normalization -----------------------------------------------------------------------------------


def _currency(wire: WireInvoice) -> str:
    # grandTotal and friends are in the order's currency; the base* twins are in the shop's.
    code = wire.order_currency_code or wire.channel_currency_code or wire.base_currency_code
    if not code:
        raise WIRE.unexpected("an invoice without a currency")
    return normalize_currency(code)


def _optional(value: Decimal | None, currency: str) -> Decimal | None:
    return None if value is None else parse_amount(value, currency)


def _plain(quantity: Decimal) -> Decimal:
    """``2.0000`` (a DECIMAL(12,4) column) as ``2``, ``2.5000`` as ``2.5``: the quantity, not its storage."""
    return quantity.normalize() if quantity.is_finite() else quantity


def _line(item: WireItem, currency: str) -> LineItem:
    return LineItem(
        description=item.name or item.sku or f"Item {item.id}",
        quantity=None if item.qty is None else _plain(item.qty),
        unit_amount=_optional(item.price, currency),
        discount=_optional(item.discount_amount, currency),
        tax=_optional(item.tax_amount, currency),
        total=_optional(item.total, currency),
    )


def normalize_invoice(wire: WireInvoice, items: Sequence[WireItem], *, note: str | None = None) -> Invoice:
    """The normalized invoice; amounts exactly as Bagisto states them, at the currency's precision.

    ``note`` says what could not be read (its lines), the invoice being served without it.
    """
    try:
        currency = _currency(wire)
        total = parse_amount(wire.grand_total, currency)
        lines = [_line(item, currency) for item in items]
        subtotal = _optional(wire.sub_total, currency)
        discount = _optional(wire.discount_amount, currency)
        tax = _optional(wire.tax_amount, currency)
        shipping = _optional(wire.shipping_amount, currency)
    except MoneyError:
        raise WIRE.unexpected("an amount or a currency that cannot be read exactly") from None
    status = STATUSES.read(wire.state, lambda: InvoiceStatus.OPEN)  # an unknown state is still owed
    settled = settle(status, total, currency)
    invoice_id = str(wire.id)
    return Invoice(
        provider=PROVIDER_ID,
        id=invoice_id,
        number=wire.increment_id or None,
        status=status,
        provider_status=wire.state,
        currency=currency,
        issued_at=day(wire.created_at),  # bagisto-api 5ab9ff2 config/api-platform.php: ``Y-m-d\\TH:i:sP``
        due_at=None,  # Bagisto's API states no due date (its payment terms stay server-side)
        paid_at=None,  # nor when it was paid
        customer=Customer(),  # the invoice carries no customer fields; the token is the customer
        billing=Billing(),  # billing lives on the order (``order`` IRI), not on the invoice
        line_items=lines,
        subtotal=subtotal,
        discount=discount,
        tax=tax,
        shipping=shipping,
        total=total,
        amount_paid=settled.paid,
        amount_due=settled.due,
        documents=Documents(
            json_uri=json_uri(PROVIDER_ID, invoice_id),
            pdf_uri=pdf_uri(PROVIDER_ID, invoice_id),
            url=None,  # Bagisto's PDF needs both credentials in headers: there is no shareable URL
        ),
        note=note,
    )


def embedded_items(wire: WireInvoice) -> list[WireItem] | None:
    """The invoice's lines when they came readable (embedded objects or a complete connection), else None.

    bagisto-api 5ab9ff2 src/Models/CustomerInvoiceItem.php: operations: [] - REST serialises the lines
    as IRIs of a resource that has no route, so a string here is a line that cannot be read.
    """
    items = wire.items
    if items is None:
        return None
    if isinstance(items, WireLines):
        return items.items if items.complete else None
    if any(isinstance(item, str) for item in items):
        return None
    return [item for item in items if isinstance(item, WireItem)]
