"""Emulator of Polar's customer portal orders and invoices (the Polar seeds tests/sandbox/seeds/000_377e842cab561428.txt and tests/sandbox/seeds/001_757ee1a45c644c68.txt and the README's drift notes).

Routes (relative to the base URL, e.g. ``http://127.0.0.1:PORT/polar``):

- ``GET  /v1/customer-portal/orders/?page=&limit=`` — the session customer's orders, newest first;
  ``{items, pagination: {total_count, max_page}}``; ``limit`` default 10, above 100 read as 100.
- ``GET  /v1/customer-portal/orders/{id}`` — one order (another customer's: 404 like a missing one).
- ``PATCH /v1/customer-portal/orders/{id}`` — set ``billing_name`` / ``billing_address``, invoiced or
  not; 422 ``PolarRequestValidationError`` when an existing address's country or state would change.
- ``GET  /v1/customer-portal/orders/{id}/invoice`` — 200 ``{url}`` (a presigned-looking URL served by
  this emulator under ``/_files/``); 404 ``InvoiceDoesNotExist`` until generated.
- ``POST /v1/customer-portal/orders/{id}/invoice`` — 202 with a JSON ``null`` body; the invoice
  exists ``generation_delay`` seconds later (state clock); on an order whose invoice exists, 202 again,
  and the invoice is regenerated when its billing details changed. 409 ``OrderNotEligibleForInvoice``
  for draft and void orders (pending ones are invoiced); 422 ``MissingInvoiceBillingDetails``.
- ``POST /v1/customer-sessions/`` — with the organisation token: mint a customer session
  (``{"customer_id": ...}`` or ``{"external_customer_id": "alice"}``) → 201; unknown customer → 422.
- ``GET  /_files/invoices/{id}.pdf?expires=&signature=`` — the PDF (no auth; 403 on a bad or
  expired signature), exempt from injected faults.

Versions: every API route reads ``Polar-Version`` (absent: 2026-04), answers 404 ``{"detail": "Not Found"}``
for a version Polar does not serve (2026-04 and 2026-10), and echoes the version on its response.

Auth: ``Authorization: Bearer <customer session token>``; missing or invalid → 401
``{"error": "Unauthorized", "detail": ...}`` with ``WWW-Authenticate: Bearer realm="polar"``.
Malformed order ids → 422 ``RequestValidationError`` (as FastAPI does).

Switches on :class:`PolarState`: ``generation_delay``, ``legacy_not_paid_422`` (seed tests/sandbox/seeds/001_757ee1a45c644c68.txt:
unpaid → 422 ``NotPaidOrder``; current Polar has no such error), ``legacy_invoice_not_found`` (seed tests/sandbox/seeds/000_377e842cab561428.txt: the 404 before generation is
``ResourceNotFound``), ``session_ttl``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_invoices.providers.emulation import (
    Controls,
    ControlsMiddleware,
    iso_z,
    json_response,
    query_int,
    render_pdf,
    route_path,
)
from mcp_invoices.providers.emulator import Emulator, Seeded

__all__ = [
    "EMULATOR",
    "POLAR_API_VERSIONS",
    "POLAR_CUSTOMER_IDS",
    "POLAR_CUSTOMER_SESSIONS",
    "POLAR_ORDER_IDS",
    "POLAR_ORGANIZATION_TOKEN",
    "PolarItem",
    "PolarOrder",
    "PolarState",
    "create_app",
]

POLAR_API_VERSIONS = frozenset({"2026-04", "2026-10"})
"""polar c6c3645 server/polar/version.py: VERSIONS (CURRENT_API_VERSION 2026-04, NEXT_API_VERSION 2026-10)."""
_DEFAULT_API_VERSION = "2026-04"

POLAR_ORGANIZATION_TOKEN = "polar_oat_sandbox"
"""Organisation access token: only valid for ``POST /v1/customer-sessions/``."""

POLAR_CUSTOMER_IDS: dict[str, str] = {
    "alice": "a11ce000-0000-4000-8000-00000000c001",
    "bob": "b0b00000-0000-4000-8000-00000000c002",
    "carol": "ca401000-0000-4000-8000-00000000c003",
}
"""Polar customer ids by sandbox name (``external_id`` is the name). Carol has no orders."""

POLAR_CUSTOMER_SESSIONS: dict[str, str] = {
    "alice": "polar_cst_sandbox_alice",
    "bob": "polar_cst_sandbox_bob",
    "carol": "polar_cst_sandbox_carol",
}
"""Fixed customer session tokens (never expire); minted sessions expire after ``session_ttl``."""

POLAR_ORDER_IDS: dict[str, str] = {
    # alice
    "alice_paid_generated": "a11ce000-0000-4000-8000-000000000001",
    "alice_paid_not_generated": "a11ce000-0000-4000-8000-000000000002",
    "alice_paid_missing_billing": "a11ce000-0000-4000-8000-000000000003",
    "alice_pending": "a11ce000-0000-4000-8000-000000000004",
    "alice_draft": "a11ce000-0000-4000-8000-000000000005",
    "alice_void": "a11ce000-0000-4000-8000-000000000006",
    "alice_refunded": "a11ce000-0000-4000-8000-000000000007",
    # bob
    "bob_paid_generated_jpy": "b0b00000-0000-4000-8000-000000000001",
    "bob_paid_discounted": "b0b00000-0000-4000-8000-000000000002",
    "bob_partially_refunded": "b0b00000-0000-4000-8000-000000000003",
    "bob_pending": "b0b00000-0000-4000-8000-000000000004",
    "bob_paid_missing_address": "b0b00000-0000-4000-8000-000000000005",
}
"""Seeded order ids by role. Alice: paid+generated (usd 110.00), paid+billing not generated
(eur 71.36), paid without billing details (usd), pending (jpy ¥1500), draft, void, refunded.
Bob: paid+generated (jpy ¥5478), paid with a discount (usd 99.00), partially refunded, pending,
paid with a name but no address."""

_CUSTOMER_EMAILS = {name: f"{name}@example.com" for name in POLAR_CUSTOMER_IDS}
_CUSTOMER_NAMES = {"alice": "Alice Anders", "bob": "Bob Brown", "carol": "Carol Chen"}
_PRODUCT_ID = "0d0c0000-0000-4000-8000-00000000d001"
_PRICE_ID = "0d0c0000-0000-4000-8000-00000000e001"
_SIGNING_KEY = b"polar-sandbox-presign"


@dataclass
class PolarItem:
    label: str
    amount: int
    tax_amount: int


@dataclass
class PolarOrder:
    id: str
    customer: str
    """Sandbox customer name (``alice``)."""
    created_at: datetime
    status: str
    """draft, pending, paid, refunded, partially_refunded, void."""
    currency: str
    items: list[PolarItem]
    billing_name: str | None
    billing_address: dict[str, str | None] | None
    invoice_number: str | None
    discount_amount: int = 0
    refunded_amount: int = 0
    refunded_tax_amount: int = 0
    applied_balance_amount: int = 0
    """Customer balance applied (negative: credit used); polar c6c3645 models/order.py."""
    invoice_ready_at: float | None = None
    """State-clock time from which the invoice exists; ``None`` = never requested."""
    description: str = ""
    invoice_inputs: tuple[Any, ...] | None = None
    """The billing details the current invoice was generated from (None: not generated here)."""

    @property
    def subtotal_amount(self) -> int:
        return sum(item.amount for item in self.items)

    @property
    def tax_amount(self) -> int:
        return sum(item.tax_amount for item in self.items)

    @property
    def net_amount(self) -> int:
        return self.subtotal_amount - self.discount_amount

    @property
    def total_amount(self) -> int:
        return self.net_amount + self.tax_amount

    @property
    def paid(self) -> bool:
        # polar c6c3645 server/polar/models/order.py Order.paid
        return self.status in ("paid", "refunded", "partially_refunded")

    @property
    def due_amount(self) -> int:
        # polar c6c3645 server/polar/models/order.py Order.due_amount: the amount charged, whatever the status
        return max(0, self.total_amount + self.applied_balance_amount)

    @property
    def refundable_amount(self) -> int:
        # polar c6c3645 server/polar/order/schemas.py OrderBase.refundable_amount
        return max(0, self.net_amount + self.applied_balance_amount - self.refunded_amount)

    @property
    def refundable_tax_amount(self) -> int:
        return max(0, self.tax_amount - self.refunded_tax_amount)

    def invoice_checksum(self) -> tuple[Any, ...]:
        """What the invoice is generated from that a customer can change (Polar checksums the order)."""
        address = tuple(sorted((self.billing_address or {}).items()))
        return (self.billing_name, address)


def _address(
    line1: str, city: str, postal_code: str, country: str, state: str | None = None
) -> dict[str, str | None]:
    return {
        "line1": line1,
        "line2": None,
        "postal_code": postal_code,
        "city": city,
        "state": state,
        "country": country,
    }


_ALICE_ADDRESS = _address("1 Sandbox Street", "Berlin", "10115", "DE")
_BOB_ADDRESS = _address("22 Example Avenue", "San Francisco", "94103", "US", "US-CA")
_ALREADY = float("-inf")


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def _seed_orders() -> list[PolarOrder]:
    ids = POLAR_ORDER_IDS
    alice, bob = "Alice Anders", "Bob Brown"
    return [
        PolarOrder(
            ids["alice_paid_generated"],
            "alice",
            _at("2026-01-05T09:30:00"),
            "paid",
            "usd",
            [PolarItem("Pro plan (monthly)", 10000, 1000)],
            alice,
            _ALICE_ADDRESS,
            "SBX-ALICE-0001",
            invoice_ready_at=_ALREADY,
        ),
        PolarOrder(
            ids["alice_paid_not_generated"],
            "alice",
            _at("2026-02-05T09:30:00"),
            "paid",
            "eur",
            [PolarItem("Team seats x 3", 5997, 1139)],
            alice,
            _ALICE_ADDRESS,
            "SBX-ALICE-0002",
        ),
        PolarOrder(
            ids["alice_paid_missing_billing"],
            "alice",
            _at("2026-03-05T09:30:00"),
            "paid",
            "usd",
            [PolarItem("Storage add-on", 1999, 0)],
            None,
            None,
            "SBX-ALICE-0003",
        ),
        PolarOrder(
            ids["alice_pending"],
            "alice",
            _at("2026-04-05T09:30:00"),
            "pending",
            "jpy",
            [PolarItem("Sticker pack", 1500, 0)],
            alice,
            _ALICE_ADDRESS,
            "SBX-ALICE-0004",
        ),
        PolarOrder(
            ids["alice_draft"],
            "alice",
            _at("2026-05-05T09:30:00"),
            "draft",
            "usd",
            [PolarItem("Consulting hour", 15000, 0)],
            alice,
            _ALICE_ADDRESS,
            None,
        ),
        PolarOrder(
            ids["alice_void"],
            "alice",
            _at("2026-05-10T09:30:00"),
            "void",
            "usd",
            [PolarItem("Cancelled upgrade", 4900, 0)],
            alice,
            _ALICE_ADDRESS,
            "SBX-ALICE-0005",
        ),
        PolarOrder(
            ids["alice_refunded"],
            "alice",
            _at("2026-05-20T09:30:00"),
            "refunded",
            "usd",
            [PolarItem("Annual plan", 120000, 12000)],
            alice,
            _ALICE_ADDRESS,
            "SBX-ALICE-0006",
            refunded_amount=120000,
            refunded_tax_amount=12000,
        ),
        PolarOrder(
            ids["bob_paid_generated_jpy"],
            "bob",
            _at("2026-01-12T14:00:00"),
            "paid",
            "jpy",
            [PolarItem("Pro plan (monthly)", 4980, 498)],
            bob,
            _BOB_ADDRESS,
            "SBX-BOB-0001",
            invoice_ready_at=_ALREADY,
        ),
        PolarOrder(
            ids["bob_paid_discounted"],
            "bob",
            _at("2026-02-12T14:00:00"),
            "paid",
            "usd",
            [PolarItem("Pro plan (monthly)", 10000, 900)],
            bob,
            _BOB_ADDRESS,
            "SBX-BOB-0002",
            discount_amount=1000,
        ),
        PolarOrder(
            ids["bob_partially_refunded"],
            "bob",
            _at("2026-03-12T14:00:00"),
            "partially_refunded",
            "usd",
            [PolarItem("Seat", 1999, 0), PolarItem("Seat", 1999, 0)],
            bob,
            _BOB_ADDRESS,
            "SBX-BOB-0003",
            refunded_amount=1999,
            invoice_ready_at=_ALREADY,
        ),
        PolarOrder(
            ids["bob_pending"],
            "bob",
            _at("2026-04-12T14:00:00"),
            "pending",
            "usd",
            [PolarItem("Pro plan (monthly)", 10000, 1000)],
            bob,
            _BOB_ADDRESS,
            "SBX-BOB-0004",
        ),
        PolarOrder(
            ids["bob_paid_missing_address"],
            "bob",
            _at("2026-05-12T14:00:00"),
            "paid",
            "usd",
            [PolarItem("Workshop ticket", 2500, 0)],
            bob,
            None,
            "SBX-BOB-0005",
        ),
    ]


def _extra_orders(customer: str, count: int) -> list[PolarOrder]:
    """Deterministic bulk orders (benchmarks): hourly from 2024-01-01, mostly paid and generated."""
    statuses = ("paid", "paid", "paid", "pending", "refunded")
    currencies = ("usd", "eur", "jpy")
    start = _at("2024-01-01T00:00:00")
    prefix = {"alice": "a11ce000", "bob": "b0b00000", "carol": "ca401000"}[customer]
    orders = []
    for n in range(count):
        status = statuses[n % len(statuses)]
        orders.append(
            PolarOrder(
                id=f"{prefix}-0001-4000-8000-{n:012d}",
                customer=customer,
                created_at=start + timedelta(hours=n),
                status=status,
                currency=currencies[n % len(currencies)],
                items=[PolarItem(f"Bulk item {n}", 1000 + (n % 97) * 13, (n % 7) * 10)],
                billing_name=_CUSTOMER_NAMES[customer],
                billing_address=_ALICE_ADDRESS,
                invoice_number=f"SBX-BULK-{n:05d}",
                refunded_amount=(1000 + (n % 97) * 13) if status == "refunded" else 0,
                invoice_ready_at=_ALREADY if status != "pending" else None,
            )
        )
    return orders


@dataclass
class _Session:
    customer: str
    expires_at: float | None  # state clock; None = never


@dataclass
class PolarState:
    """Seeded Polar data plus switches. Mutate freely in tests."""

    extra_invoices: int = 0
    """Add this many deterministic orders to ``extra_invoices_customer`` (benchmarks)."""
    extra_invoices_customer: str = "alice"
    generation_delay: float = 0.5
    """Seconds (state clock) between ``POST .../invoice`` and the invoice existing."""
    legacy_not_paid_422: bool = False
    """The seed tests/sandbox/seeds/001_757ee1a45c644c68.txt behaviour: unpaid (pending, draft, void) orders → 422 ``NotPaidOrder``."""
    legacy_invoice_not_found: bool = False
    """The seed tests/sandbox/seeds/000_377e842cab561428.txt behaviour: ``GET .../invoice`` before generation → 404 ``ResourceNotFound``."""
    session_ttl: float = 3600.0
    controls: Controls = field(default_factory=lambda: Controls(nominal_rate_limit_per_minute=100))
    orders: dict[str, PolarOrder] = field(default_factory=dict)
    sessions: dict[str, _Session] = field(default_factory=dict)
    generation_requests: Counter[str] = field(default_factory=Counter)
    """``POST .../invoice`` calls per order id that were accepted (202)."""
    regenerations: Counter[str] = field(default_factory=Counter)
    """Invoices generated again over an existing one (a 202 on an invoiced order whose details changed)."""
    api_versions: Counter[str] = field(default_factory=Counter)
    """``Polar-Version`` header values received on API routes (``""``: none sent)."""

    def __post_init__(self) -> None:
        if not self.orders:
            for order in _seed_orders():
                self.orders[order.id] = order
        if self.extra_invoices:
            for order in _extra_orders(self.extra_invoices_customer, self.extra_invoices):
                self.orders[order.id] = order
        for name, token in POLAR_CUSTOMER_SESSIONS.items():
            self.sessions.setdefault(token, _Session(name, None))

    def now(self) -> float:
        return self.controls.clock()

    def is_invoice_generated(self, order: PolarOrder) -> bool:
        return order.invoice_ready_at is not None and self.now() >= order.invoice_ready_at

    def customer_of(self, token: str | None) -> str | None:
        if token is None:
            return None
        session = self.sessions.get(token)
        if session is None or (session.expires_at is not None and self.now() >= session.expires_at):
            return None
        return session.customer


# --------------------------------------------------------------------------------------------
# Wire shapes
# --------------------------------------------------------------------------------------------


def _error(status: int, name: str, detail: Any, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": name, "detail": detail}, status, headers)


def _not_found() -> Response:
    return _error(404, "ResourceNotFound", "Not found")


def _unauthorized() -> Response:
    return _error(401, "Unauthorized", "Unauthorized", {"WWW-Authenticate": 'Bearer realm="polar"'})


def _validation_error(loc: list[str | int], msg: str, error_type: str, value: Any) -> Response:
    return _error(
        422, "RequestValidationError", [{"type": error_type, "loc": loc, "msg": msg, "input": value}]
    )


_FAULT_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "NotPermitted",
    404: "ResourceNotFound",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


class _PolarFaults:
    def error(self, status: int) -> Response:
        name = _FAULT_NAMES.get(status, "Error")
        headers = {"WWW-Authenticate": 'Bearer realm="polar"'} if status == 401 else None
        return _error(status, name, f"Sandbox injected {status}.", headers)

    def rate_limited(self, retry_after: int) -> Response:
        return _error(429, "TooManyRequests", "Rate limit exceeded.", {"Retry-After": str(retry_after)})


_ORGANIZATION_ID = "0d0c0000-0000-4000-8000-00000000f001"
_EPOCH = "2025-01-01T00:00:00Z"


def _product_json() -> dict[str, Any]:
    """The ``CustomerOrderProduct`` every seeded order is for (polar c6c3645 customer_portal/schemas/order.py)."""
    return {
        "id": _PRODUCT_ID,
        "created_at": _EPOCH,
        "modified_at": None,
        "trial_interval": None,
        "trial_interval_count": None,
        "name": "Sandbox product",
        "description": None,
        "visibility": "public",
        "recurring_interval": None,
        "recurring_interval_count": None,
        "meter_interval": None,
        "meter_interval_count": None,
        "is_recurring": False,
        "is_archived": False,
        "organization_id": _ORGANIZATION_ID,
        "prices": [],
        "benefits": [],
        "medias": [],
        "organization": {
            "created_at": _EPOCH,
            "modified_at": None,
            "id": _ORGANIZATION_ID,
            "name": "Sandbox organization",
            "slug": "sandbox",
            "avatar_url": None,
            "proration_behavior": "prorate",
            "allow_customer_updates": True,
            "customer_portal_settings": {
                "usage": {"show": True},
                "subscription": {"update_seats": True, "update_plan": True},
            },
        },
    }


def order_json(state: PolarState, order: PolarOrder) -> dict[str, Any]:
    """The ``CustomerOrder`` shape of the customer portal, every field Polar serves.

    polar c6c3645 server/polar/customer_portal/schemas/order.py CustomerOrder (OrderBase + product,
    subscription, items, description) and polar-sdk 1.0.2 ``v2026_04.outputs.CustomerOrder``; the same
    in 2026-10 (Polar versions no field of it).
    """
    created = iso_z(order.created_at)
    return {
        "id": order.id,
        "created_at": created,
        "modified_at": created,
        "status": order.status,
        "paid": order.paid,
        "subtotal_amount": order.subtotal_amount,
        "discount_amount": order.discount_amount,
        "net_amount": order.net_amount,
        "tax_amount": order.tax_amount,
        "total_amount": order.total_amount,
        "applied_balance_amount": order.applied_balance_amount,
        "due_amount": order.due_amount,
        "refunded_amount": order.refunded_amount,
        "refunded_tax_amount": order.refunded_tax_amount,
        "currency": order.currency,
        "billing_reason": "purchase",
        "billing_name": order.billing_name,
        "billing_address": dict(order.billing_address) if order.billing_address is not None else None,
        "invoice_number": order.invoice_number,
        "is_invoice_generated": state.is_invoice_generated(order),
        "receipt_number": None,  # the sandbox organisation has receipts disabled
        "seats": None,
        "units": None,
        "customer_id": POLAR_CUSTOMER_IDS[order.customer],
        "product_id": _PRODUCT_ID,
        "discount_id": None,
        "subscription_id": None,
        "checkout_id": None,
        "next_payment_attempt_at": None,
        # computed fields of OrderBase, serialized with the rest
        "amount": order.net_amount,
        "from_balance_amount": order.applied_balance_amount,
        "refundable_amount": order.refundable_amount,
        "refundable_tax_amount": order.refundable_tax_amount,
        "product": _product_json(),
        "subscription": None,
        "description": order.description or (order.items[0].label if order.items else ""),
        "items": [
            {
                "created_at": created,
                "modified_at": None,
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{order.id}/{index}")),
                "label": item.label,
                "amount": item.amount,
                "tax_amount": item.tax_amount,
                "proration": False,
                "product_price_id": _PRICE_ID,
                # polar-sdk 1.0.2 OrderItemSchema requires these (nullable); polar c6c3645 has neither
                "start_timestamp": None,
                "end_timestamp": None,
            }
            for index, item in enumerate(order.items)
        ],
    }


def _signature(order_id: str, expires: int) -> str:
    return hmac.new(_SIGNING_KEY, f"{order_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def invoice_pdf(order: PolarOrder) -> bytes:
    lines = [
        f"Invoice number: {order.invoice_number or order.id}",
        f"Billed to: {order.billing_name or ''}",
        *(
            f"{item.label}: {item.amount} + tax {item.tax_amount} ({order.currency.upper()} minor units)"
            for item in order.items
        ),
        f"Total: {order.total_amount} {order.currency.upper()} (minor units)",
    ]
    return render_pdf("Polar sandbox invoice", lines)


# --------------------------------------------------------------------------------------------
# App
# --------------------------------------------------------------------------------------------


class _APIVersionMiddleware:
    """polar c6c3645 server/polar/kit/versioning.py APIVersionMiddleware: ``Polar-Version`` (absent: the
    default) must be a served version, else 404 ``{"detail": "Not Found"}``; echoed on every response."""

    def __init__(self, app: ASGIApp, *, state: PolarState, exempt_prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.state = state
        self.exempt_prefixes = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or route_path(scope).startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        raw = Headers(scope=scope).get("polar-version")
        self.state.api_versions[raw or ""] += 1
        version = raw or _DEFAULT_API_VERSION
        if version not in POLAR_API_VERSIONS:
            await json_response({"detail": "Not Found"}, 404)(scope, receive, send)
            return

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Polar-Version"] = version
            await send(message)

        await self.app(scope, receive, send_with_version)


def create_app(state: PolarState | None = None) -> Starlette:
    state = state if state is not None else PolarState()

    def customer_or_none(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return state.customer_of(token.strip() or None)

    def parse_order_id(raw: str) -> str | None:
        try:
            return str(uuid.UUID(raw))
        except ValueError:
            return None

    def find_order(customer: str, order_id: str) -> PolarOrder | None:
        order = state.orders.get(order_id)
        # Another customer's order is exactly as absent as a missing one.
        if order is None or order.customer != customer:
            return None
        return order

    def invalid_uuid(raw: str) -> Response:
        return _validation_error(
            ["path", "id"],
            "Input should be a valid UUID, invalid character: expected an optional prefix of "
            "`urn:uuid:` followed by [0-9a-fA-F-]",
            "uuid_parsing",
            raw,
        )

    async def list_orders(request: Request) -> Response:
        customer = customer_or_none(request)
        if customer is None:
            return _unauthorized()
        page = query_int(request, "page", 1)
        limit = query_int(request, "limit", 10)
        if page is None or page < 1:
            return _validation_error(
                ["query", "page"],
                "Input should be greater than 0",
                "greater_than",
                request.query_params.get("page"),
            )
        if limit is None or limit < 1:
            return _validation_error(
                ["query", "limit"],
                "Input should be greater than 0",
                "greater_than",
                request.query_params.get("limit"),
            )
        # polar c6c3645 server/polar/kit/pagination.py get_pagination_params: min(100, limit), never a 422
        limit = min(limit, 100)
        mine = sorted(
            (o for o in state.orders.values() if o.customer == customer),
            key=lambda o: (o.created_at, o.id),
            reverse=True,
        )
        start = (page - 1) * limit
        return json_response(
            {
                "items": [order_json(state, o) for o in mine[start : start + limit]],
                "pagination": {"total_count": len(mine), "max_page": math.ceil(len(mine) / limit)},
            }
        )

    async def order_endpoint(request: Request) -> Response:
        customer = customer_or_none(request)
        if customer is None:
            return _unauthorized()
        order_id = parse_order_id(request.path_params["order_id"])
        if order_id is None:
            return invalid_uuid(request.path_params["order_id"])
        order = find_order(customer, order_id)
        if order is None:
            return _not_found()
        if request.method == "PATCH":
            return await _patch_order(request, state, order)
        return json_response(order_json(state, order))

    async def invoice_endpoint(request: Request) -> Response:
        customer = customer_or_none(request)
        if customer is None:
            return _unauthorized()
        order_id = parse_order_id(request.path_params["order_id"])
        if order_id is None:
            return invalid_uuid(request.path_params["order_id"])
        order = find_order(customer, order_id)
        if order is None:
            return _not_found()
        if request.method == "POST":
            return _generate(state, order)
        if not state.is_invoice_generated(order):
            if state.legacy_invoice_not_found:
                return _not_found()
            return _error(404, "InvoiceDoesNotExist", "No invoice exists for this order yet.")
        expires = int(time.time()) + 3600
        url = request.url_for("polar_invoice_file", order_id=order.id).include_query_params(
            expires=expires, signature=_signature(order.id, expires)
        )
        return json_response({"url": str(url)})

    async def invoice_file(request: Request) -> Response:
        order = state.orders.get(request.path_params["order_id"])
        try:
            expires = int(request.query_params.get("expires", ""))
        except ValueError:
            expires = 0
        signature = request.query_params.get("signature", "")
        valid = (
            order is not None
            and expires > time.time()
            and hmac.compare_digest(signature, _signature(order.id, expires))
        )
        if not valid or order is None or not state.is_invoice_generated(order):
            return Response(
                b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                b"<Message>Request has expired or the signature does not match</Message></Error>",
                status_code=403,
                media_type="application/xml",
            )
        return Response(
            invoice_pdf(order),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{order.invoice_number}.pdf"'},
        )

    async def list_customers(request: Request) -> Response:
        # polar server/polar/customer/endpoints.py ``list`` (public): the organisation token's customers,
        # ``email`` an exact filter; a ListResource {items, pagination}.
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), POLAR_ORGANIZATION_TOKEN):
            return _unauthorized()
        email = request.query_params.get("email")
        matching = [name for name in POLAR_CUSTOMER_IDS if email is None or _CUSTOMER_EMAILS[name] == email]
        items = [
            {
                "id": POLAR_CUSTOMER_IDS[name],
                "external_id": name,
                "email": _CUSTOMER_EMAILS[name],
                "name": _CUSTOMER_NAMES[name],
            }
            for name in matching
        ]
        return json_response({"items": items, "pagination": {"total_count": len(items), "max_page": 1}})

    async def create_customer_session(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), POLAR_ORGANIZATION_TOKEN):
            return _unauthorized()
        try:
            body = await request.json()
        except ValueError:
            return _validation_error(["body"], "JSON decode error", "json_invalid", None)
        if not isinstance(body, dict):
            return _validation_error(["body"], "Input should be a valid dictionary", "dict_type", body)
        customer: str | None = None
        if "customer_id" in body:
            loc, value = "customer_id", body["customer_id"]
            customer = next((name for name, cid in POLAR_CUSTOMER_IDS.items() if cid == value), None)
        elif "external_customer_id" in body:
            loc, value = "external_customer_id", body["external_customer_id"]
            customer = value if value in POLAR_CUSTOMER_IDS else None
        else:
            return _validation_error(["body", "customer_id"], "Field required", "missing", body)
        if customer is None:
            return _validation_error(["body", loc], "Customer does not exist.", "value_error", value)
        token = "polar_cst_" + secrets.token_urlsafe(32)
        state.sessions[token] = _Session(customer, state.now() + state.session_ttl)
        state.controls.counters["customer_sessions_minted"] += 1
        now = datetime.now(UTC)
        customer_id = POLAR_CUSTOMER_IDS[customer]
        return json_response(
            {
                "created_at": iso_z(now),
                "modified_at": None,
                "id": str(uuid.uuid4()),
                "token": token,
                "expires_at": iso_z(now + timedelta(seconds=state.session_ttl)),
                "return_url": None,
                "customer_portal_url": "https://sandbox.polar.sh/sandbox/portal",
                "customer_id": customer_id,
                "customer": {
                    "id": customer_id,
                    "external_id": customer,
                    "email": _CUSTOMER_EMAILS[customer],
                    "name": _CUSTOMER_NAMES[customer],
                },
            },
            201,
        )

    routes = [
        Route("/v1/customer-portal/orders/", list_orders, methods=["GET"]),
        Route("/v1/customer-portal/orders/{order_id}", order_endpoint, methods=["GET", "PATCH"]),
        Route("/v1/customer-portal/orders/{order_id}/invoice", invoice_endpoint, methods=["GET", "POST"]),
        Route("/v1/customer-sessions/", create_customer_session, methods=["POST"]),
        Route("/v1/customers/", list_customers, methods=["GET"]),
        Route("/_files/invoices/{order_id}.pdf", invoice_file, methods=["GET"], name="polar_invoice_file"),
    ]
    middleware = [
        Middleware(
            ControlsMiddleware, controls=state.controls, faults=_PolarFaults(), exempt_prefixes=("/_files/",)
        ),
        Middleware(_APIVersionMiddleware, state=state, exempt_prefixes=("/_files/",)),
    ]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.sandbox = state
    return app


def _generate(state: PolarState, order: PolarOrder) -> Response:
    # polar c6c3645 server/polar/order/service.py trigger_invoice_generation: draft and void are the only
    # ineligible statuses (409); pending orders are invoiced.
    if order.status in ("draft", "void") or (state.legacy_not_paid_422 and order.status == "pending"):
        if state.legacy_not_paid_422:
            return _error(422, "NotPaidOrder", "Order is not paid.")
        return _error(
            409,
            "OrderNotEligibleForInvoice",
            f"Order {order.id} is not eligible for invoice generation (current status: {order.status}).",
        )
    # same function: billing_name or billing_address None → 422 MissingInvoiceBillingDetails
    if order.billing_name is None or order.billing_address is None:
        return _error(
            422,
            "MissingInvoiceBillingDetails",
            "Billing name and address are required to generate an invoice for this order.",
        )
    state.generation_requests[order.id] += 1
    checksum = order.invoice_checksum()
    if order.invoice_ready_at is None:
        order.invoice_ready_at = state.now() + state.generation_delay
    elif order.invoice_inputs is not None and order.invoice_inputs != checksum:
        # same function: an existing invoice whose checksum no longer matches is generated again (202)
        state.regenerations[order.id] += 1
    order.invoice_inputs = checksum
    return json_response(None, 202)


_ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "state", "country")


def _normalized_state(country: str, region: str | None) -> str | None:
    # polar c6c3645 server/polar/kit/address.py Address.validate_state: US and CA states get a prefix
    if region and country in ("US", "CA") and not region.startswith(f"{country}-"):
        return f"{country}-{region}"
    return region or None


async def _patch_order(request: Request, state: PolarState, order: PolarOrder) -> Response:
    try:
        body = await request.json()
    except ValueError:
        return _validation_error(["body"], "JSON decode error", "json_invalid", None)
    if not isinstance(body, dict):
        return _validation_error(["body"], "Input should be a valid dictionary", "dict_type", body)
    # polar c6c3645 customer_portal/endpoints/order.py update: no invoice check, an invoiced order is updated too
    name = body.get("billing_name", order.billing_name)
    if name is not None and not isinstance(name, str):
        return _validation_error(
            ["body", "billing_name"], "Input should be a valid string", "string_type", name
        )
    address = order.billing_address
    if "billing_address" in body:
        raw = body["billing_address"]
        if raw is None:
            address = None
        elif not isinstance(raw, dict) or not isinstance(raw.get("country"), str) or len(raw["country"]) != 2:
            return _validation_error(["body", "billing_address", "country"], "Field required", "missing", raw)
        else:
            address = {key: raw.get(key) or None for key in _ADDRESS_FIELDS}
            country = str(raw["country"]).upper()
            address["country"] = country
            address["state"] = _normalized_state(country, address["state"])
            current = order.billing_address
            if current is not None:
                # polar c6c3645 server/polar/order/service.py OrderService.update: country and state are fixed
                errors = [
                    {
                        "type": "value_error",
                        "loc": ["body", "billing_address", key],
                        "msg": f"{key.capitalize()} cannot be changed",
                        "input": address[key],
                    }
                    for key in ("country", "state")
                    if address[key] != current.get(key)
                ]
                if errors:
                    return _error(422, "PolarRequestValidationError", errors)
    order.billing_name = name
    order.billing_address = address
    return json_response(order_json(state, order))


EMULATOR: Emulator[PolarState] = Emulator(
    mount="/polar",
    state=PolarState,
    create_app=create_app,
    credentials=lambda customer: {
        "customer_session": POLAR_CUSTOMER_SESSIONS[customer],
        "access_token": POLAR_ORGANIZATION_TOKEN,
    },
    customer_ids=POLAR_CUSTOMER_IDS,
    seeded=Seeded(
        invoices={
            "alice": POLAR_ORDER_IDS["alice_paid_generated"],
            "bob": POLAR_ORDER_IDS["bob_paid_generated_jpy"],
        },
        missing_invoice="00000000-0000-4000-8000-000000000999",
        orders={
            "alice": POLAR_ORDER_IDS["alice_paid_generated"],
            "bob": POLAR_ORDER_IDS["bob_paid_discounted"],
        },
    ),
    sign_in={name: (email, None) for name, email in _CUSTOMER_EMAILS.items()},
)
"""What the sandbox mounts (``ProviderSpec.emulator``)."""
