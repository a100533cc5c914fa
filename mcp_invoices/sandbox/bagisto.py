"""Emulator of Bagisto's shop API for customer invoices (seed 003 plus the README's notes).

Routes (relative to the base URL, e.g. ``http://127.0.0.1:PORT/bagisto``); every one needs
``X-STOREFRONT-KEY`` (missing → 401, invalid → 403):

- ``POST /api/shop/customer/login`` ``{email, password}`` → 200 ``{message, token, data}``; wrong
  credentials → 401; missing fields → 422 (Laravel validation shape).
- ``GET /api/shop/customer-invoices?page=&per_page=`` (``itemsPerPage`` also accepted) → a plain JSON
  array of the customer's invoices (oldest first); ``X-Total-Count``, ``X-Page``, ``X-Per-Page``,
  ``X-Total-Pages`` headers. ``per_page`` 1..100, default 10; ``page`` < 1 → 400. Optional ``state=``.
- ``GET /api/shop/customer-invoices/{id}`` → seed 003's invoice, field for field (floats in major
  units, written with two decimals as in the seed); another customer's invoice → the same 404 as
  a missing one (no enumeration).
- ``GET /api/shop/customer-invoices/{id}/pdf`` → ``application/pdf``.
- ``GET /api/shop/invoice-items/{id}`` → one item ``{id, sku, name, qty, price, total, taxAmount,
  discountAmount}`` (the IRIs listed in an invoice's ``items``), scoped like invoices.

Customer routes need ``Authorization: Bearer <customer token>``: missing → ``missing_token_status``
(401 by default, 403 if switched), invalid → 401 ``Customer is not logged in.``.

Switches on :class:`BagistoState`: ``embed_items`` (``items`` as embedded objects instead of IRIs),
``problem_json`` (errors as ``application/problem+json`` ``{type, title, detail, status}`` instead of
``{"message": ...}``), ``missing_token_status``. Rate limiting answers 429 with ``Retry-After`` and a
``retry_after`` body field.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .common import Controls, ControlsMiddleware, bearer_token, json_response, query_int, render_pdf

__all__ = [
    "BAGISTO_CREDENTIALS",
    "BAGISTO_CUSTOMER_IDS",
    "BAGISTO_CUSTOMER_TOKENS",
    "BAGISTO_INVOICE_IDS",
    "BAGISTO_STOREFRONT_KEY",
    "BagistoInvoice",
    "BagistoItem",
    "BagistoState",
    "create_app",
]

BAGISTO_STOREFRONT_KEY = "pk_storefront_sandbox"
"""The storefront key every request must carry in ``X-STOREFRONT-KEY``."""

BAGISTO_CUSTOMER_TOKENS: dict[str, str] = {
    "alice": "bagisto_token_alice",
    "bob": "bagisto_token_bob",
    "carol": "bagisto_token_carol",
}
"""Customer bearer tokens; ``POST /api/shop/customer/login`` returns the same ones."""

BAGISTO_CUSTOMER_IDS: dict[str, int] = {"alice": 1, "bob": 2, "carol": 3}

BAGISTO_CREDENTIALS: dict[str, tuple[str, str]] = {
    name: (f"{name}@example.com", f"{name}-pass") for name in BAGISTO_CUSTOMER_TOKENS
}
"""Login (email, password) by sandbox name, e.g. ``alice@example.com`` / ``alice-pass``."""

BAGISTO_INVOICE_IDS: dict[str, list[int]] = {"alice": [1, 2, 3, 6, 7, 10], "bob": [4, 5, 8, 9], "carol": []}
"""Invoice ids per customer (interleaved, so guessing a neighbour's id is a real test).
Alice: 1 = seed 003's example verbatim (paid USD 110.00), 2 pending EUR 0.30 (0.10 + 0.20),
3 paid USD 66.27 (3 x 19.99 with discount and shipping), 6 refunded USD 17.49, 7 overdue JPY 1500.00,
10 pending_payment USD 1234.56. Bob: 4 paid USD 75.50, 5 paid GBP 42.00, 8 pending USD 19.99,
9 paid JPY 4980.00. An id no one owns: 999."""

_NAMES = {"alice": ("Alice", "Anders"), "bob": ("Bob", "Brown"), "carol": ("Carol", "Chen")}
_CENT = Decimal("0.01")


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
        "2025-02-10T10:30:00.000000Z",
        [("SKU-TEE", "T-shirt", 1, "60", "3", "0"), ("SKU-CAP", "Cap", 1, "40", "2", "0")],
        shipping="5",
        transaction_id="TXN-12345",
    )
    # Seed 003's example names its items /api/shop/invoice-items/1 and /2.
    seed_example.items[0].id, seed_example.items[1].id = 1, 2
    return [
        seed_example,
        _invoice(
            2,
            "alice",
            "pending",
            "EUR",
            "2025-03-01T09:00:00.000000Z",
            [("SKU-STICKER", "Sticker", 1, "0.10", "0", "0"), ("SKU-BADGE", "Badge", 1, "0.20", "0", "0")],
            email_sent=False,
        ),
        _invoice(
            3,
            "alice",
            "paid",
            "USD",
            "2025-04-01T09:00:00.000000Z",
            [("SKU-HOODIE", "Hoodie", 3, "19.99", "4.80", "6.00")],
            shipping="7.50",
        ),
        _invoice(
            4,
            "bob",
            "paid",
            "USD",
            "2025-04-02T09:00:00.000000Z",
            [("SKU-MUG", "Mug", 2, "35.25", "0", "0")],
            shipping="5.00",
        ),
        _invoice(
            5,
            "bob",
            "paid",
            "GBP",
            "2025-04-03T09:00:00.000000Z",
            [("SKU-TOTE", "Tote bag", 1, "35.00", "7.00", "0")],
        ),
        _invoice(
            6,
            "alice",
            "refunded",
            "USD",
            "2025-05-01T09:00:00.000000Z",
            [("SKU-MUG", "Mug", 1, "12.50", "0", "0")],
            shipping="4.99",
        ),
        _invoice(
            7,
            "alice",
            "overdue",
            "JPY",
            "2025-06-01T09:00:00.000000Z",
            [("SKU-TEA", "Tea set", 1, "1500", "0", "0")],
            reminders=2,
            next_reminder_at="2030-01-01T09:00:00.000000Z",
        ),
        _invoice(
            8,
            "bob",
            "pending",
            "USD",
            "2025-06-02T09:00:00.000000Z",
            [("SKU-CASE", "Phone case", 1, "19.99", "0", "0")],
            email_sent=False,
        ),
        _invoice(
            9,
            "bob",
            "paid",
            "JPY",
            "2025-06-03T09:00:00.000000Z",
            [("SKU-BENTO", "Bento box", 2, "2490", "0", "0")],
        ),
        _invoice(
            10,
            "alice",
            "pending_payment",
            "USD",
            "2025-07-01T09:00:00.000000Z",
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
        created = (start + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
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
    """``items`` as embedded objects instead of IRIs (``/api/shop/invoice-items/{id}``)."""
    problem_json: bool = False
    """Errors as RFC 7807 ``application/problem+json`` instead of ``{"message": ...}``."""
    missing_token_status: int = 401
    """Status for a missing customer token (Bagisto answers 401 or 403 depending on the version)."""
    storefront_key: str = BAGISTO_STOREFRONT_KEY
    tokens: dict[str, str] = field(default_factory=lambda: {t: n for n, t in BAGISTO_CUSTOMER_TOKENS.items()})
    """Customer token → sandbox customer name."""
    controls: Controls = field(default_factory=Controls)
    invoices: dict[int, BagistoInvoice] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.invoices:
            for invoice in _seed_invoices():
                self.invoices[invoice.id] = invoice
        if self.extra_invoices:
            for invoice in _extra_invoices(self.extra_invoices_customer, self.extra_invoices, 1001):
                self.invoices[invoice.id] = invoice


# --------------------------------------------------------------------------------------------
# Wire shapes
# --------------------------------------------------------------------------------------------


def item_json(item: BagistoItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "sku": item.sku,
        "name": item.name,
        "qty": item.qty,
        "price": item.price,
        "total": item.total,
        "taxAmount": item.tax_amount,
        "discountAmount": item.discount_amount,
    }


def invoice_json(invoice: BagistoInvoice, embed_items: bool = False) -> dict[str, Any]:
    """Seed 003's invoice, field for field (``base*`` amounts equal: base currency = order currency)."""
    shipping_tax = Decimal("0.00")
    sub_incl = invoice.sub_total + invoice.tax_amount
    return {
        "id": invoice.id,
        "incrementId": invoice.increment_id,
        "state": invoice.state,
        "totalQty": sum(item.qty for item in invoice.items),
        "emailSent": invoice.email_sent,
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
        "baseCurrencyCode": invoice.currency,
        "channelCurrencyCode": invoice.currency,
        "orderCurrencyCode": invoice.currency,
        "transactionId": invoice.transaction_id,
        "reminders": invoice.reminders,
        "nextReminderAt": invoice.next_reminder_at,
        "order": f"/api/shop/customer-orders/{invoice.order_id}",
        "items": [
            item_json(item) if embed_items else f"/api/shop/invoice-items/{item.id}" for item in invoice.items
        ],
        "createdAt": invoice.created_at,
        "updatedAt": invoice.created_at,
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


def _error(
    state: BagistoState, status: int, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    if state.problem_json:
        body = {
            "type": f"/errors/{status}",
            "title": HTTPStatus(status).phrase,
            "detail": message,
            "status": status,
            **extra,
        }
        return json_response(body, status, headers, media_type="application/problem+json")
    return json_response({"message": message, **extra}, status, headers)


class _BagistoFaults:
    def __init__(self, state: BagistoState) -> None:
        self.state = state

    def error(self, status: int) -> Response:
        return _error(self.state, status, "Server Error" if status >= 500 else HTTPStatus(status).phrase)

    def rate_limited(self, retry_after: int) -> Response:
        return _error(
            self.state, 429, "Too Many Attempts.", {"Retry-After": str(retry_after)}, retry_after=retry_after
        )


def create_app(state: BagistoState | None = None) -> Starlette:
    state = state if state is not None else BagistoState()

    def storefront_failure(request: Request) -> Response | None:
        key = request.headers.get("x-storefront-key")
        if not key:
            return _error(state, 401, "Storefront key is missing. Provide the X-STOREFRONT-KEY header.")
        if not hmac.compare_digest(key, state.storefront_key):
            return _error(state, 403, "Invalid storefront key.")
        return None

    def authenticate(request: Request) -> tuple[str | None, Response | None]:
        failure = storefront_failure(request)
        if failure is not None:
            return None, failure
        token = bearer_token(request)
        if token is None:
            return None, _error(state, state.missing_token_status, "Customer is not logged in.")
        customer = state.tokens.get(token)
        if customer is None:
            return None, _error(state, 401, "Customer is not logged in.")
        return customer, None

    def own_invoice(customer: str, raw_id: str) -> BagistoInvoice | None:
        try:
            invoice = state.invoices.get(int(raw_id))
        except ValueError:
            return None
        return invoice if invoice is not None and invoice.customer == customer else None

    def not_found(raw_id: str) -> Response:
        return _error(state, 404, f'Customer invoice with ID "{raw_id}" not found.')

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
            return _error(state, 422, first, errors=missing)
        customer = next(
            (
                name
                for name, (email, password) in BAGISTO_CREDENTIALS.items()
                if email == str(body["email"]).lower()
                and hmac.compare_digest(password, str(body["password"]))
            ),
            None,
        )
        if customer is None:
            return _error(state, 401, "Invalid email or password.")
        first_name, last_name = _NAMES[customer]
        return json_response(
            {
                "message": "Logged in successfully.",
                "token": BAGISTO_CUSTOMER_TOKENS[customer],
                "data": {
                    "id": BAGISTO_CUSTOMER_IDS[customer],
                    "email": BAGISTO_CREDENTIALS[customer][0],
                    "firstName": first_name,
                    "lastName": last_name,
                    "name": f"{first_name} {last_name}",
                },
            }
        )

    async def list_invoices(request: Request) -> Response:
        customer, failure = authenticate(request)
        if failure is not None or customer is None:
            return failure or not_found("")
        page = query_int(request, "page", 1)
        per_page = query_int(request, "per_page", query_int(request, "itemsPerPage", 10) or 10)
        if page is None or page < 1:
            return _error(state, 400, "Page should not be less than 1")
        if per_page is None or not 1 <= per_page <= 100:
            return _error(state, 400, "per_page must be between 1 and 100")
        wanted_state = request.query_params.get("state") or None
        mine = sorted(
            (
                i
                for i in state.invoices.values()
                if i.customer == customer and (wanted_state is None or i.state == wanted_state)
            ),
            key=lambda i: i.id,
        )
        start = (page - 1) * per_page
        headers = {
            "X-Total-Count": str(len(mine)),
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Total-Pages": str(math.ceil(len(mine) / per_page)),
        }
        return json_response(
            [invoice_json(i, state.embed_items) for i in mine[start : start + per_page]], headers=headers
        )

    async def get_invoice(request: Request) -> Response:
        customer, failure = authenticate(request)
        raw_id = request.path_params["invoice_id"]
        if failure is not None or customer is None:
            return failure or not_found(raw_id)
        invoice = own_invoice(customer, raw_id)
        if invoice is None:
            return not_found(raw_id)
        return json_response(invoice_json(invoice, state.embed_items))

    async def get_invoice_pdf(request: Request) -> Response:
        customer, failure = authenticate(request)
        raw_id = request.path_params["invoice_id"]
        if failure is not None or customer is None:
            return failure or not_found(raw_id)
        invoice = own_invoice(customer, raw_id)
        if invoice is None:
            return not_found(raw_id)
        return Response(
            invoice_pdf(invoice),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="invoice-{invoice.increment_id}.pdf"'},
        )

    async def get_item(request: Request) -> Response:
        customer, failure = authenticate(request)
        raw_id = request.path_params["item_id"]
        if failure is not None or customer is None:
            return failure or not_found(raw_id)
        for invoice in state.invoices.values():
            if invoice.customer != customer:
                continue
            for item in invoice.items:
                if str(item.id) == raw_id:
                    return json_response(item_json(item))
        return _error(state, 404, f'Invoice item with ID "{raw_id}" not found.')

    routes = [
        Route("/api/shop/customer/login", login, methods=["POST"]),
        Route("/api/shop/customer-invoices", list_invoices, methods=["GET"]),
        Route("/api/shop/customer-invoices/{invoice_id}", get_invoice, methods=["GET"]),
        Route("/api/shop/customer-invoices/{invoice_id}/pdf", get_invoice_pdf, methods=["GET"]),
        Route("/api/shop/invoice-items/{item_id}", get_item, methods=["GET"]),
    ]
    middleware = [Middleware(ControlsMiddleware, controls=state.controls, faults=_BagistoFaults(state))]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.sandbox = state
    return app
