"""Emulator of Bagisto's headless shop API (bagisto-api 5ab9ff2) for one customer's invoices.

Routes (relative to the base URL, e.g. ``http://127.0.0.1:PORT/bagisto``); each behaviour below
names its source in bagisto-api at 5ab9ff2:

- ``POST /api/shop/customer/login`` ``{email, password}`` → 201 ``{id, _id, apiToken, token, success,
  message}``; wrong credentials → 201 with ``success: false`` and an empty token (``LoginProcessor.php``).
- ``GET /api/shop/customer-invoices`` → a plain JSON array of the customer's **10 newest** invoices
  (``id DESC``), whatever ``page``/``per_page`` say; ``X-Total-Count``/``X-Page``/``X-Per-Page``/
  ``X-Total-Pages`` describe that one page of 10. Optional ``state=`` and ``order_id=``.
- ``GET /api/shop/customer-invoices/{id}`` → one invoice; its ``items`` are skolem IRIs
  (``/api/.well-known/genid/…``) that nothing serves; another customer's invoice → the same
  404 as a missing one.
- ``GET /api/shop/customer-invoices/{id}/pdf`` → ``application/pdf``.
- ``POST /api/graphql`` ``{query, variables}`` → ``customerInvoices(first, after, last, before,
  state, orderId)``: cursor pages newest first with ``edges``, ``pageInfo``, ``totalCount``, each
  node's ``items`` a connection; ``customerInvoice(id:)`` (not scoped to the customer: Bagisto's
  own quirk). Errors are GraphQL ``errors`` with status 200. A small GraphQL reader answers only
  the fields that exist and refuses any other, as GraphQL does.

Every ``/api/shop`` request needs ``X-STOREFRONT-KEY`` (missing → 401, invalid → 403) and counts
against the key's hourly limit (1,000 an hour; over it, REST answers 429 with ``retry_after`` in
the body and no ``Retry-After`` header). GraphQL requests count against the same hour but are
never refused for it. Customer routes need ``Authorization: Bearer <customer token>``; without a
valid one → 403 ``Unauthenticated. Please login to perform this action`` (problem+json), or a
GraphQL error over GraphQL.

Switch on :class:`BagistoState`: ``embed_items`` (REST ``items`` as embedded objects, as an API that
exposed the item resource would serialise them).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_invoices.providers.emulation import (
    Controls,
    ControlsMiddleware,
    bearer_token,
    json_response,
    render_pdf,
)
from mcp_invoices.providers.emulator import Emulator, Seeded

__all__ = [
    "EMULATOR",
    "BAGISTO_CREDENTIALS",
    "BAGISTO_CUSTOMER_IDS",
    "BAGISTO_CUSTOMER_TOKENS",
    "BAGISTO_INVOICE_IDS",
    "BAGISTO_STOREFRONT_KEY",
    "GRAPHQL_PAGE_MAX",
    "HOURLY_LIMIT",
    "BagistoInvoice",
    "BagistoItem",
    "BagistoState",
    "create_app",
    "invoice_json",
    "item_iri",
]

BAGISTO_STOREFRONT_KEY = "pk_storefront_sandbox"
"""The storefront key every request must carry in ``X-STOREFRONT-KEY``."""

BAGISTO_CUSTOMER_TOKENS: dict[str, str] = {
    "alice": "bagisto_token_alice",
    "bob": "bagisto_token_bob",
    "carol": "bagisto_token_carol",
    "dave": "bagisto_token_dave",
}
"""Customer bearer tokens; ``POST /api/shop/customer/login`` returns the same ones."""

BAGISTO_CUSTOMER_IDS: dict[str, int] = {"alice": 1, "bob": 2, "carol": 3, "dave": 4}

BAGISTO_CREDENTIALS: dict[str, tuple[str, str]] = {
    name: (f"{name}@example.com", f"{name}-pass") for name in BAGISTO_CUSTOMER_TOKENS
}
"""Login (email, password) by sandbox name, e.g. ``alice@example.com`` / ``alice-pass``."""

DAVE_INVOICE_IDS = list(range(11, 36))
BAGISTO_INVOICE_IDS: dict[str, list[int]] = {
    "alice": [1, 2, 3, 6, 7, 10],
    "bob": [4, 5, 8, 9],
    "carol": [],
    "dave": DAVE_INVOICE_IDS,
}
"""Invoice ids per customer (interleaved, so guessing a neighbour's id is a real test).
Alice: 1 paid USD 110.00 (bagisto-api's own test invoice: 2 x 50.00, 5.00 shipping, 5.00 tax),
2 pending EUR 0.30 (0.10 + 0.20), 3 paid USD 66.27 (3 x 19.99 with discount and shipping), 6 refunded
USD 17.49, 7 overdue JPY 1500, 10 pending_payment USD 1234.56. Bob: 4 paid USD 75.50, 5 paid GBP
42.00, 8 pending USD 19.99, 9 paid JPY 4980. Dave: 25 invoices, more than the REST list's 10 and
than one GraphQL page of 10: ids 11..35, invoice ``10 + n`` is ``n`` x 10.00 USD, pending when ``n``
is a multiple of 3 (8 of them, 1,080.00 due), else paid (total of all 25: 3,250.00). An id no one
owns: 999."""

GRAPHQL_PAGE_MAX = 50
"""bagisto-api 5ab9ff2 config/api-platform.php: pagination_maximum_items_per_page 50."""
HOURLY_LIMIT = 1000
"""bagisto-api 5ab9ff2 src/Services/ApiKeyService.php getDefaultRateLimit: shop key 1000 requests an hour."""

_CENT = Decimal("0.01")
_UNAUTHENTICATED = "Unauthenticated. Please login to perform this action"
"""bagisto-api 5ab9ff2 src/Resources/lang/en/app.php graphql.logout.unauthenticated."""


def _money(value: str) -> Decimal:
    return Decimal(value).quantize(_CENT)


@dataclass
class BagistoItem:
    id: int
    sku: str
    name: str
    qty: int
    price: Decimal
    tax_amount: Decimal = Decimal("0.00")
    discount_amount: Decimal = Decimal("0.00")

    @property
    def total(self) -> Decimal:
        return (self.price * self.qty).quantize(_CENT)


@dataclass
class BagistoInvoice:
    id: int
    customer: str
    increment_id: str
    state: str
    """pending, pending_payment, paid, overdue, refunded."""
    currency: str
    items: list[BagistoItem]
    created_at: str
    shipping_amount: Decimal = Decimal("0.00")
    order_id: int = 0
    transaction_id: str = ""
    email_sent: bool = True
    reminders: int = 0
    next_reminder_at: str | None = None

    @property
    def sub_total(self) -> Decimal:
        return sum((item.total for item in self.items), Decimal("0.00"))

    @property
    def tax_amount(self) -> Decimal:
        return sum((item.tax_amount for item in self.items), Decimal("0.00"))

    @property
    def discount_amount(self) -> Decimal:
        return sum((item.discount_amount for item in self.items), Decimal("0.00"))

    @property
    def grand_total(self) -> Decimal:
        return self.sub_total + self.shipping_amount + self.tax_amount - self.discount_amount


def _invoice(
    id_: int,
    customer: str,
    state: str,
    currency: str,
    created_at: str,
    items: list[tuple[str, str, int, str, str, str]],
    shipping: str = "0",
    **extra: Any,
) -> BagistoInvoice:
    built = [
        BagistoItem(id_ * 10 + n, sku, name, qty, _money(price), _money(tax), _money(discount))
        for n, (sku, name, qty, price, tax, discount) in enumerate(items, start=1)
    ]
    extra.setdefault("transaction_id", f"TXN-{10000 + id_}")
    return BagistoInvoice(
        id_,
        customer,
        f"INV-{id_:03d}",
        state,
        currency,
        built,
        created_at,
        shipping_amount=_money(shipping),
        order_id=id_,
        **extra,
    )


def _seed_invoices() -> list[BagistoInvoice]:
    seed_example = _invoice(
        1,
        "alice",
        "paid",
        "USD",
        "2025-02-10T10:30:00+00:00",
        [("TEST-INV-SKU-001", "Test Invoice Product", 2, "50", "5", "0")],
        shipping="5",
        transaction_id="TXN-12345",
    )  # bagisto-api 5ab9ff2 tests/Feature/RestApi/CustomerInvoiceTest.php: its invoice1, INV-001 paid 110.00
    return [
        seed_example,
        _invoice(
            2,
            "alice",
            "pending",
            "EUR",
            "2025-03-01T09:00:00+00:00",
            [("SKU-STICKER", "Sticker", 1, "0.10", "0", "0"), ("SKU-BADGE", "Badge", 1, "0.20", "0", "0")],
            email_sent=False,
        ),
        _invoice(
            3,
            "alice",
            "paid",
            "USD",
            "2025-04-01T09:00:00+00:00",
            [("SKU-HOODIE", "Hoodie", 3, "19.99", "4.80", "6.00")],
            shipping="7.50",
        ),
        _invoice(
            4,
            "bob",
            "paid",
            "USD",
            "2025-04-02T09:00:00+00:00",
            [("SKU-MUG", "Mug", 2, "35.25", "0", "0")],
            shipping="5.00",
        ),
        _invoice(
            5,
            "bob",
            "paid",
            "GBP",
            "2025-04-03T09:00:00+00:00",
            [("SKU-TOTE", "Tote bag", 1, "35.00", "7.00", "0")],
        ),
        _invoice(
            6,
            "alice",
            "refunded",
            "USD",
            "2025-05-01T09:00:00+00:00",
            [("SKU-MUG", "Mug", 1, "12.50", "0", "0")],
            shipping="4.99",
        ),
        _invoice(
            7,
            "alice",
            "overdue",
            "JPY",
            "2025-06-01T09:00:00+00:00",
            [("SKU-TEA", "Tea set", 1, "1500", "0", "0")],
            reminders=2,
            next_reminder_at="2030-01-01T09:00:00+00:00",
        ),
        _invoice(
            8,
            "bob",
            "pending",
            "USD",
            "2025-06-02T09:00:00+00:00",
            [("SKU-CASE", "Phone case", 1, "19.99", "0", "0")],
            email_sent=False,
        ),
        _invoice(
            9,
            "bob",
            "paid",
            "JPY",
            "2025-06-03T09:00:00+00:00",
            [("SKU-BENTO", "Bento box", 2, "2490", "0", "0")],
        ),
        _invoice(
            10,
            "alice",
            "pending_payment",
            "USD",
            "2025-07-01T09:00:00+00:00",
            [("SKU-DESK", "Standing desk", 1, "1234.56", "0", "0")],
        ),
    ]


def _extra_invoices(customer: str, count: int, first_id: int) -> list[BagistoInvoice]:
    """Deterministic bulk invoices (benchmarks): hourly from 2024-01-01, states cycled."""
    states = ("paid", "paid", "pending", "overdue", "refunded")
    currencies = ("USD", "EUR", "JPY")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    invoices = []
    for n in range(count):
        created = (start + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        price = f"{10 + n % 90}.{n % 100:02d}" if currencies[n % 3] != "JPY" else str(1000 + n % 50)
        invoices.append(
            _invoice(
                first_id + n,
                customer,
                states[n % len(states)],
                currencies[n % 3],
                created,
                [(f"SKU-BULK-{n}", f"Bulk item {n}", 1 + n % 2, price, "0", "0")],
            )
        )
    return invoices


@dataclass
class BagistoState:
    """Seeded Bagisto data plus switches. Mutate freely in tests."""

    extra_invoices: int = 0
    """Add this many deterministic invoices (ids from 1001) to ``extra_invoices_customer``."""
    extra_invoices_customer: str = "alice"
    embed_items: bool = False
    """REST ``items`` as embedded objects instead of the skolem IRIs bagisto-api 5ab9ff2 sends."""
    graphql_items: bool = True
    """Whether ``CustomerInvoice`` has its ``items`` connection (False: a schema without it)."""
    hourly_limit: int = HOURLY_LIMIT
    """Requests a storefront key may make per clock hour (``controls.clock``)."""
    storefront_key: str = BAGISTO_STOREFRONT_KEY
    tokens: dict[str, str] = field(default_factory=lambda: {t: n for n, t in BAGISTO_CUSTOMER_TOKENS.items()})
    """Customer token → sandbox customer name."""
    controls: Controls = field(default_factory=Controls)
    invoices: dict[int, BagistoInvoice] = field(default_factory=dict)
    hour_counts: dict[int, int] = field(default_factory=dict)
    """Requests counted per clock hour (the key's rate-limit window)."""

    def __post_init__(self) -> None:
        if not self.invoices:
            for invoice in [*_seed_invoices(), *_dave_invoices()]:
                self.invoices[invoice.id] = invoice
        if self.extra_invoices:
            for invoice in _extra_invoices(self.extra_invoices_customer, self.extra_invoices, 1001):
                self.invoices[invoice.id] = invoice

    def newest_first(
        self, customer: str, state: str | None = None, order_id: int | None = None
    ) -> list[BagistoInvoice]:
        # bagisto-api 5ab9ff2 src/State/CustomerInvoiceProvider.php: whereHas(order.customer_id), state/order_id filters, id DESC.
        return sorted(
            (
                invoice
                for invoice in self.invoices.values()
                if invoice.customer == customer
                and (state is None or invoice.state == state)
                and (order_id is None or invoice.order_id == order_id)
            ),
            key=lambda invoice: invoice.id,
            reverse=True,
        )


def _dave_invoices() -> list[BagistoInvoice]:
    return [
        _invoice(
            10 + n,
            "dave",
            "pending" if n % 3 == 0 else "paid",
            "USD",
            f"2025-01-{n:02d}T09:00:00+00:00",
            [(f"SKU-MONTH-{n}", f"Subscription month {n}", 1, f"{n * 10}.00", "0", "0")],
        )
        for n in range(1, 26)
    ]


# --------------------------------------------------------------------------------------------
# Wire shapes
# --------------------------------------------------------------------------------------------


def _php_float(value: Decimal) -> Decimal:
    """A DECIMAL column cast to PHP ``float`` and json_encoded: ``110.0``, ``0.3``, ``59.97``.

    bagisto-api 5ab9ff2 src/Models/CustomerInvoice.php: amounts cast 'float'.
    """
    normalized = value.normalize()
    return normalized.quantize(Decimal("0.1")) if normalized == normalized.to_integral_value() else normalized


def item_iri(item: BagistoItem) -> str:
    """A skolem IRI: the item resource has no operations, so API Platform names it ``/.well-known/genid``.

    bagisto-api 5ab9ff2 src/Models/CustomerInvoiceItem.php: ``operations: []``; nothing serves the IRI.
    """
    return "/api/.well-known/genid/" + hashlib.sha256(f"item-{item.id}".encode()).hexdigest()[:20]


def item_json(item: BagistoItem) -> dict[str, Any]:
    # bagisto-api 5ab9ff2 src/Models/CustomerInvoiceItem.php: qty int, price/total/taxAmount/discountAmount floats.
    return {
        "id": item.id,
        "sku": item.sku,
        "name": item.name,
        "qty": item.qty,
        "price": _php_float(item.price),
        "total": _php_float(item.total),
        "taxAmount": _php_float(item.tax_amount),
        "discountAmount": _php_float(item.discount_amount),
    }


def invoice_json(invoice: BagistoInvoice, embed_items: bool = False) -> dict[str, Any]:
    """The REST invoice: the model's columns in camelCase, amounts as PHP floats, ``downloadUrl`` appended.

    bagisto-api 5ab9ff2 src/Models/CustomerInvoice.php ($casts, $appends) and tests/Feature/RestApi/CustomerInvoiceTest.php.
    """
    shipping_tax = Decimal("0.00")
    sub_incl = invoice.sub_total + invoice.tax_amount
    money = {
        "subTotal": invoice.sub_total,
        "baseSubTotal": invoice.sub_total,
        "grandTotal": invoice.grand_total,
        "baseGrandTotal": invoice.grand_total,
        "shippingAmount": invoice.shipping_amount,
        "baseShippingAmount": invoice.shipping_amount,
        "taxAmount": invoice.tax_amount,
        "baseTaxAmount": invoice.tax_amount,
        "discountAmount": invoice.discount_amount,
        "baseDiscountAmount": invoice.discount_amount,
        "shippingTaxAmount": shipping_tax,
        "baseShippingTaxAmount": shipping_tax,
        "subTotalInclTax": sub_incl,
        "baseSubTotalInclTax": sub_incl,
        "shippingAmountInclTax": invoice.shipping_amount + shipping_tax,
        "baseShippingAmountInclTax": invoice.shipping_amount + shipping_tax,
    }
    return {
        "id": invoice.id,
        "incrementId": invoice.increment_id,
        "state": invoice.state,
        "totalQty": sum(item.qty for item in invoice.items),
        "emailSent": invoice.email_sent,
        **{name: _php_float(value) for name, value in money.items()},
        "baseCurrencyCode": invoice.currency,
        "channelCurrencyCode": invoice.currency,
        "orderCurrencyCode": invoice.currency,
        "transactionId": invoice.transaction_id,
        "reminders": invoice.reminders,
        "nextReminderAt": invoice.next_reminder_at,
        "orderId": invoice.order_id,
        "items": [item_json(item) if embed_items else item_iri(item) for item in invoice.items],
        "createdAt": invoice.created_at,
        "updatedAt": invoice.created_at,
        "downloadUrl": f"/api/shop/customer-invoices/{invoice.id}/pdf",
    }


def invoice_pdf(invoice: BagistoInvoice) -> bytes:
    lines = [f"{item.qty} x {item.name} @ {item.price} = {item.total}" for item in invoice.items]
    lines += [
        f"Shipping: {invoice.shipping_amount}",
        f"Tax: {invoice.tax_amount}",
        f"Discount: {invoice.discount_amount}",
        f"Grand total: {invoice.grand_total} {invoice.currency}",
    ]
    return render_pdf(f"Invoice {invoice.increment_id}", lines)


def _problem(status: int, title: str, detail: str) -> Response:
    """API Platform's error body for Bagisto's exceptions (config/api-platform.php error_formats jsonproblem)."""
    body = {"type": f"/errors/{status}", "title": title, "detail": detail, "status": status}
    return json_response(body, status, media_type="application/problem+json")


def _rate_limited(retry_after: int) -> Response:
    # bagisto-api 5ab9ff2 src/Http/Middleware/VerifyStorefrontKey.php rateLimitExceededResponse: no Retry-After header.
    return json_response(
        {"message": "Rate limit exceeded", "error": "rate_limit_exceeded", "retry_after": retry_after}, 429
    )


class _BagistoFaults:
    def error(self, status: int) -> Response:
        return _problem(status, "Server Error" if status >= 500 else "Error", "Server Error")

    def rate_limited(self, retry_after: int) -> Response:
        return _rate_limited(retry_after)


# --------------------------------------------------------------------------------------------
# A small GraphQL reader: enough of the language for the queries a client sends here
# --------------------------------------------------------------------------------------------


class GraphQLFailure(Exception):
    """A query this server refuses: answered as ``{"errors": [{"message": ...}]}`` with 200."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


_TOKEN = re.compile(r'\s+|,|#[^\n]*|(\.\.\.|[{}():!=\[\]]|\$?[A-Za-z_][A-Za-z0-9_]*|-?\d+|"(?:[^"\\]|\\.)*")')


@dataclass
class _Field:
    name: str
    args: dict[str, Any]
    selection: list[_Field] | None


def _tokens(query: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(query):
        match = _TOKEN.match(query, position)
        if match is None:
            raise GraphQLFailure(f'Syntax Error: Unexpected character "{query[position]}".')
        if match.group(1):
            tokens.append(match.group(1))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, query: str, variables: dict[str, Any]) -> None:
        self.tokens = _tokens(query)
        self.position = 0
        self.variables = variables

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise GraphQLFailure(f"Syntax Error: Expected {expected or 'a token'}, found {token or '<EOF>'}.")
        self.position += 1
        return token

    def document(self) -> list[_Field]:
        if self.peek() == "query":
            self.take()
            if self.peek() not in ("{", "("):
                self.take()  # the operation name
            if self.peek() == "(":  # variable definitions: their values come from ``variables``
                depth = 0
                while True:
                    token = self.take()
                    depth += {"(": 1, ")": -1}.get(token, 0)
                    if depth == 0:
                        break
        elif self.peek() in ("mutation", "subscription"):
            raise GraphQLFailure("Only queries are served here.")
        selection = self.selection()
        if self.peek() is not None:
            raise GraphQLFailure("Syntax Error: one operation per request.")
        return selection

    def selection(self) -> list[_Field]:
        self.take("{")
        fields: list[_Field] = []
        while self.peek() != "}":
            name = self.take()
            args: dict[str, Any] = {}
            if self.peek() == "(":
                self.take()
                while self.peek() != ")":
                    arg = self.take()
                    self.take(":")
                    args[arg] = self.value()
                self.take(")")
            fields.append(_Field(name, args, self.selection() if self.peek() == "{" else None))
        self.take("}")
        return fields

    def value(self) -> Any:
        token = self.take()
        if token.startswith("$"):
            return self.variables.get(token[1:])
        if token.startswith('"'):
            return json.loads(token)
        if token in ("null", "true", "false"):
            return {"null": None, "true": True, "false": False}[token]
        if re.fullmatch(r"-?\d+", token):
            return int(token)
        raise GraphQLFailure(f"Syntax Error: Unexpected {token}.")


def _select(
    value: Any, type_name: str, selection: list[_Field] | None, types: dict[str, dict[str, str]]
) -> Any:
    """``value`` shaped by ``selection``; a field the type does not have is refused, as GraphQL does."""
    if selection is None or value is None:
        return value
    if isinstance(value, list):
        return [_select(entry, type_name, selection, types) for entry in value]
    fields = types[type_name]
    shaped: dict[str, Any] = {}
    for wanted in selection:
        if wanted.name not in fields:
            raise GraphQLFailure(f'Cannot query field "{wanted.name}" on type "{type_name}".')
        shaped[wanted.name] = _select(value.get(wanted.name), fields[wanted.name], wanted.selection, types)
    return shaped


# bagisto-api 5ab9ff2 tests/Feature/GraphQL/CustomerInvoiceTest.php (fields, pageInfo, totalCount) and
# tests/e2e-pw/tests/graphQL/graphql/Queries/customerInvoice.queries.ts (items connection, item fields).
_INVOICE_FIELDS = (
    "id _id incrementId state totalQty emailSent grandTotal baseGrandTotal subTotal baseSubTotal shippingAmount "
    "baseShippingAmount taxAmount baseTaxAmount discountAmount baseDiscountAmount shippingTaxAmount "
    "baseShippingTaxAmount subTotalInclTax baseSubTotalInclTax shippingAmountInclTax baseShippingAmountInclTax "
    "baseCurrencyCode channelCurrencyCode orderCurrencyCode transactionId reminders nextReminderAt createdAt "
    "updatedAt downloadUrl"
)
_ITEM_FIELDS = (
    "id _id sku parentId name price qty total basePrice description baseTotal taxAmount baseTaxAmount "
    "discountPercent discountAmount baseDiscountAmount priceInclTax basePriceInclTax totalInclTax "
    "baseTotalInclTax productId productType orderItemId invoiceId createdAt updatedAt"
)
_TYPES: dict[str, dict[str, str]] = {
    "Query": {"customerInvoices": "CustomerInvoiceCursorConnection", "customerInvoice": "CustomerInvoice"},
    "CustomerInvoiceCursorConnection": {
        "edges": "CustomerInvoiceEdge",
        "pageInfo": "CustomerInvoicePageInfo",
        "totalCount": "Int",
    },
    "CustomerInvoiceEdge": {"node": "CustomerInvoice", "cursor": "String"},
    "CustomerInvoicePageInfo": {
        "endCursor": "String",
        "startCursor": "String",
        "hasNextPage": "Boolean",
        "hasPreviousPage": "Boolean",
    },
    "CustomerInvoice": {
        **dict.fromkeys(_INVOICE_FIELDS.split(), "Scalar"),
        "items": "CustomerInvoiceItemCursorConnection",
    },
    "CustomerInvoiceItemCursorConnection": {
        "edges": "CustomerInvoiceItemEdge",
        "pageInfo": "CustomerInvoicePageInfo",
        "totalCount": "Int",
    },
    "CustomerInvoiceItemEdge": {"node": "CustomerInvoiceItem", "cursor": "String"},
    "CustomerInvoiceItem": dict.fromkeys(_ITEM_FIELDS.split(), "Scalar"),
}


def _cursor(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode()


def _decoded(cursor: Any) -> int | None:
    """bagisto-api 5ab9ff2 src/State/CustomerInvoiceProvider.php: base64_decode(strict) then ctype_digit."""
    try:
        decoded = base64.b64decode(str(cursor), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(decoded) if decoded.isdigit() else None


def _connection(rows: list[dict[str, Any]], args: dict[str, Any], default: int = 10) -> dict[str, Any]:
    """One cursor page of ``rows`` (already in order) as CustomerInvoiceProvider and API Platform build it.

    bagisto-api 5ab9ff2 src/State/CustomerInvoiceProvider.php: per page = first ?? last ?? 10, offset from
    after (+1) / before (-per page), an offset past the end clamped to the last page, currentPage =
    floor(offset / per page) + 1. API Platform's cursor pagination then names edges and endCursor from
    (currentPage - 1) x per page, and hasNextPage = currentPage < lastPage.
    """
    first, last = args.get("first"), args.get("last")
    per_page = first if isinstance(first, int) else last if isinstance(last, int) else default
    # bagisto-api 5ab9ff2 config/api-platform.php: pagination_maximum_items_per_page 50.
    per_page = max(1, min(per_page, GRAPHQL_PAGE_MAX))
    offset = 0
    if args.get("after"):
        after = _decoded(args["after"])
        offset = after + 1 if after is not None else 0
    if args.get("before"):
        before = _decoded(args["before"])
        offset = max(0, (before or 0) - per_page)
    total = len(rows)
    if offset > total:
        offset = max(0, total - per_page)
    page = rows[offset : offset + per_page]
    current = offset // per_page + 1 if total else 1
    last_page = max(1, math.ceil(total / per_page))
    named = (current - 1) * per_page
    info: dict[str, Any] = {
        "startCursor": None,
        "endCursor": None,
        "hasNextPage": False,
        "hasPreviousPage": False,
    }
    if total:
        info = {
            "startCursor": _cursor(named),
            "endCursor": _cursor(max(0, named + per_page - 1)),
            "hasNextPage": current < last_page,
            "hasPreviousPage": named > 0,
        }
    return {
        "edges": [{"node": row, "cursor": _cursor(named + index)} for index, row in enumerate(page)],
        "pageInfo": info,
        "totalCount": total,
    }


def _graphql_invoice(invoice: BagistoInvoice) -> dict[str, Any]:
    row = invoice_json(invoice)
    row["_id"] = row["id"]
    row["id"] = f"/api/shop/customer-invoices/{invoice.id}"
    items = []
    for item in invoice.items:
        node = item_json(item)
        node["_id"] = node["id"]
        node["id"] = item_iri(item)
        node["invoiceId"] = invoice.id
        items.append(node)
    # Nested connections page like any other (config/api-platform.php pagination_items_per_page 10).
    row["items"] = _connection(items, {})
    return row


def create_app(state: BagistoState | None = None) -> Starlette:
    state = state if state is not None else BagistoState()

    def storefront_failure(request: Request, *, graphql: bool = False) -> Response | None:
        key = request.headers.get("x-storefront-key")
        if graphql:
            # bagisto-api 5ab9ff2 src/Http/Middleware/VerifyGraphQLStorefrontKey.php sendAuthenticationError: 401 both ways.
            if not key or not hmac.compare_digest(key, state.storefront_key):
                message = (
                    "X-STOREFRONT-KEY header is required for this operation" if not key else "Invalid API key"
                )
                error = "missing_key" if not key else "invalid_key"
                body = {
                    "message": message,
                    "error": error,
                    "header_name": "X-STOREFRONT-KEY",
                    "key_type": "shop",
                    "errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}],
                }
                return json_response(body, 401)
            count_request()
            return None  # GraphQL checks the hourly limit but never refuses for it (the same middleware)
        # bagisto-api 5ab9ff2 src/Http/Middleware/VerifyStorefrontKey.php: missing 401, invalid 403, then the hour.
        if not key:
            return json_response(
                {
                    "message": "X-STOREFRONT-KEY header is required",
                    "error": "missing_key",
                    "header_name": "X-STOREFRONT-KEY",
                    "key_type": "shop",
                },
                401,
            )
        if not hmac.compare_digest(key, state.storefront_key):
            return json_response({"message": "Invalid or inactive shop API key", "error": "invalid_key"}, 403)
        allowed, reset_in = count_request()
        return None if allowed else _rate_limited(reset_in)

    def count_request() -> tuple[bool, int]:
        """bagisto-api 5ab9ff2 src/Traits/HasRateLimit.php checkHourlyRateLimit: a counter per clock hour."""
        now = state.controls.clock()
        hour = int(now // 3600)
        used = state.hour_counts.get(hour, 0)
        state.hour_counts[hour] = used + 1
        return used < state.hourly_limit, max(1, math.ceil((hour + 1) * 3600 - now))

    def customer_of(request: Request) -> str | None:
        token = bearer_token(request)
        return state.tokens.get(token) if token is not None else None

    def unauthenticated() -> Response:
        # bagisto-api 5ab9ff2 src/State/CustomerInvoiceProvider.php: AuthorizationException, 403 (exception_to_status).
        return _problem(403, "Forbidden", _UNAUTHENTICATED)

    def not_found(raw_id: str) -> Response:
        # bagisto-api 5ab9ff2 src/Exception/ResourceNotFoundException.php + lang en customer-invoice.not-found.
        return _problem(404, "Not Found", f'Customer invoice with ID "{raw_id}" not found')

    def own_invoice(customer: str, raw_id: str) -> BagistoInvoice | None:
        if not raw_id.isdigit():
            return None
        invoice = state.invoices.get(int(raw_id))
        return invoice if invoice is not None and invoice.customer == customer else None

    async def login(request: Request) -> Response:
        failure = storefront_failure(request)
        if failure is not None:
            return failure
        try:
            body = await request.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        missing = {
            name: [f"The {name} field is required."] for name in ("email", "password") if not body.get(name)
        }
        if missing:
            first = next(iter(missing.values()))[0]
            return json_response({"message": first, "errors": missing}, 422)
        customer = next(
            (
                name
                for name, (email, password) in BAGISTO_CREDENTIALS.items()
                if email == str(body["email"]).lower()
                and hmac.compare_digest(password, str(body["password"]))
            ),
            None,
        )
        # bagisto-api src/State/LoginProcessor.php: API Platform's Post answers 201 whether or not the
        # credentials were right; a refusal is ``success: false`` with an empty token
        # (src/Models/CustomerLogin.php documents the 201 body).
        if customer is None:
            return json_response(
                {
                    "id": 0,
                    "_id": 0,
                    "apiToken": "",
                    "token": "",
                    "success": False,
                    "message": "Invalid email or password.",
                },
                201,
            )
        return json_response(
            {
                "id": BAGISTO_CUSTOMER_IDS[customer],
                "_id": BAGISTO_CUSTOMER_IDS[customer],
                "apiToken": f"api-{customer}",
                "token": BAGISTO_CUSTOMER_TOKENS[customer],
                "success": True,
                "message": "You have logged in successfully",
            },
            201,
        )

    async def list_invoices(request: Request) -> Response:
        failure = storefront_failure(request)
        if failure is not None:
            return failure
        customer = customer_of(request)
        if customer is None:
            return unauthenticated()
        order_id = request.query_params.get("order_id") or request.query_params.get("orderId")
        mine = state.newest_first(
            customer,
            request.query_params.get("state") or None,
            int(order_id) if order_id and order_id.isdigit() else None,
        )
        # bagisto-api 5ab9ff2 src/State/CustomerInvoiceProvider.php: REST has no GraphQL args, so per page
        # is 10 and the offset 0 whatever page/per_page say; the 10 newest, every time.
        page = mine[:10]
        # bagisto-api 5ab9ff2 src/Serializer/PaginationHeaderNormalizer.php + Http/Middleware/PaginationHeaders.php.
        headers = {
            "X-Total-Count": str(len(mine)),
            "X-Page": "1",
            "X-Per-Page": "10",
            "X-Total-Pages": str(max(1, math.ceil(len(mine) / 10))),
        }
        return json_response([invoice_json(i, state.embed_items) for i in page], headers=headers)

    async def get_invoice(request: Request) -> Response:
        failure = storefront_failure(request)
        if failure is not None:
            return failure
        raw_id = request.path_params["invoice_id"]
        customer = customer_of(request)
        if customer is None:
            return unauthenticated()
        invoice = own_invoice(customer, raw_id)
        if invoice is None:
            return not_found(raw_id)
        return json_response(invoice_json(invoice, state.embed_items))

    async def get_invoice_pdf(request: Request) -> Response:
        failure = storefront_failure(request)
        if failure is not None:
            return failure
        raw_id = request.path_params["invoice_id"]
        customer = customer_of(request)
        if customer is None:
            return unauthenticated()
        # bagisto-api 5ab9ff2 src/Http/Controllers/InvoicePdfController.php: scoped through order.customer_id.
        invoice = own_invoice(customer, raw_id)
        if invoice is None:
            return not_found(raw_id)
        return Response(
            invoice_pdf(invoice),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="invoice-{invoice.increment_id}.pdf"'},
        )

    def resolve(root: _Field, customer: str | None) -> Any:
        if root.name == "customerInvoices":
            if customer is None:
                # bagisto-api 5ab9ff2 src/State/CustomerInvoiceProvider.php: AuthorizationException (403).
                raise GraphQLFailure(_UNAUTHENTICATED, 403)
            order_id = root.args.get("orderId")
            rows = [
                _graphql_invoice(invoice)
                for invoice in state.newest_first(
                    customer, root.args.get("state") or None, order_id if isinstance(order_id, int) else None
                )
            ]
            return _connection(rows, root.args)
        if root.name == "customerInvoice":
            # bagisto-api 5ab9ff2 src/Resolver/BaseQueryItemResolver.php: Model::find(id), NOT scoped to the customer.
            raw = str(root.args.get("id") or "").rsplit("/", 1)[-1]
            invoice = state.invoices.get(int(raw)) if raw.isdigit() else None
            if invoice is None:
                raise GraphQLFailure(f'Customer invoice with ID "{root.args.get("id")}" not found', 400)
            return _graphql_invoice(invoice)
        raise GraphQLFailure(f'Cannot query field "{root.name}" on type "Query".')

    async def graphql(request: Request) -> Response:
        failure = storefront_failure(request, graphql=True)
        if failure is not None:
            return failure
        try:
            body = json.loads(await request.body(), parse_float=Decimal)
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return json_response({"errors": [{"message": "GraphQL query is not valid."}]}, 400)
        given = body.get("variables")
        variables: dict[str, Any] = given if isinstance(given, dict) else {}
        customer = customer_of(request)
        data: dict[str, Any] = {}
        try:
            roots = _Parser(body["query"], variables).document()
            for root in roots:
                if root.name not in _TYPES["Query"]:
                    raise GraphQLFailure(f'Cannot query field "{root.name}" on type "Query".')
                data[root.name] = None
                value = resolve(root, customer)
                types = _TYPES
                if not state.graphql_items:
                    invoice_type = {k: v for k, v in _TYPES["CustomerInvoice"].items() if k != "items"}
                    types = {**_TYPES, "CustomerInvoice": invoice_type}
                data[root.name] = _select(value, _TYPES["Query"][root.name], root.selection, types)
        except GraphQLFailure as failure_:
            # API Platform GraphQL: errors with status 200; HttpExceptionInterface statuses in extensions.
            error: dict[str, Any] = {"message": str(failure_)}
            if failure_.status is not None:
                error["extensions"] = {"status": failure_.status}
            return json_response({"errors": [error], "data": data or None})
        return json_response({"data": data})

    routes = [
        Route("/api/shop/customer/login", login, methods=["POST"]),
        Route("/api/shop/customer-invoices", list_invoices, methods=["GET"]),
        Route("/api/shop/customer-invoices/{invoice_id}", get_invoice, methods=["GET"]),
        Route("/api/shop/customer-invoices/{invoice_id}/pdf", get_invoice_pdf, methods=["GET"]),
        Route("/api/graphql", graphql, methods=["POST"]),
    ]
    middleware = [Middleware(ControlsMiddleware, controls=state.controls, faults=_BagistoFaults())]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.sandbox = state
    return app


EMULATOR: Emulator[BagistoState] = Emulator(
    mount="/bagisto",
    state=BagistoState,
    create_app=create_app,
    credentials=lambda customer: {
        "storefront_key": BAGISTO_STOREFRONT_KEY,
        "customer_token": BAGISTO_CUSTOMER_TOKENS[customer],
    },
    customer_ids={name: str(number) for name, number in BAGISTO_CUSTOMER_IDS.items()},
    seeded=Seeded(
        invoices={name: str(BAGISTO_INVOICE_IDS[name][0]) for name in ("alice", "bob")},
        missing_invoice="999",
    ),
    sign_in=BAGISTO_CREDENTIALS,
)
"""What the sandbox mounts (``ProviderSpec.emulator``)."""
