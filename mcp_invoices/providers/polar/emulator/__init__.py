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
    route_path,
)
from mcp_invoices.providers.emulation.emulator import Emulator, Seeded
from mcp_invoices.providers.polar.emulator.order_updates import generate_invoice, patch_order
from mcp_invoices.providers.polar.emulator.records import (
    PolarFaults,
    error,
    invoice_pdf,
    not_found,
    order_json,
    unauthorized,
    validation_error,
)
from mcp_invoices.providers.polar.emulator.seed import (
    CUSTOMER_EMAILS,
    CUSTOMER_NAMES,
    POLAR_CUSTOMER_IDS,
    POLAR_CUSTOMER_SESSIONS,
    POLAR_ORDER_IDS,
    POLAR_ORGANIZATION_TOKEN,
    PolarItem,
    PolarOrder,
    extra_orders,
    seed_orders,
)

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

_SIGNING_KEY = b"polar-sandbox-presign"


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
            for order in seed_orders():
                self.orders[order.id] = order
        if self.extra_invoices:
            for order in extra_orders(self.extra_invoices_customer, self.extra_invoices):
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


def _signature(order_id: str, expires: int) -> str:
    return hmac.new(_SIGNING_KEY, f"{order_id}:{expires}".encode(), hashlib.sha256).hexdigest()


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


class _PolarApi:
    """The routes' handlers, over one state."""

    def __init__(self, state: PolarState) -> None:
        self.state = state

    def customer_or_none(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.state.customer_of(token.strip() or None)

    def parse_order_id(self, raw: str) -> str | None:
        try:
            return str(uuid.UUID(raw))
        except ValueError:
            return None

    def find_order(self, customer: str, order_id: str) -> PolarOrder | None:
        order = self.state.orders.get(order_id)
        # Another customer's order is exactly as absent as a missing one.
        if order is None or order.customer != customer:
            return None
        return order

    def invalid_uuid(self, raw: str) -> Response:
        return validation_error(
            ["path", "id"],
            "Input should be a valid UUID, invalid character: expected an optional prefix of "
            "`urn:uuid:` followed by [0-9a-fA-F-]",
            "uuid_parsing",
            raw,
        )

    async def list_orders(self, request: Request) -> Response:
        customer = self.customer_or_none(request)
        if customer is None:
            return unauthorized()
        page = query_int(request, "page", 1)
        limit = query_int(request, "limit", 10)
        if page is None or page < 1:
            return validation_error(
                ["query", "page"],
                "Input should be greater than 0",
                "greater_than",
                request.query_params.get("page"),
            )
        if limit is None or limit < 1:
            return validation_error(
                ["query", "limit"],
                "Input should be greater than 0",
                "greater_than",
                request.query_params.get("limit"),
            )
        # polar c6c3645 server/polar/kit/pagination.py get_pagination_params: min(100, limit), never a 422
        limit = min(limit, 100)
        mine = sorted(
            (o for o in self.state.orders.values() if o.customer == customer),
            key=lambda o: (o.created_at, o.id),
            reverse=True,
        )
        start = (page - 1) * limit
        return json_response(
            {
                "items": [order_json(self.state, o) for o in mine[start : start + limit]],
                "pagination": {"total_count": len(mine), "max_page": math.ceil(len(mine) / limit)},
            }
        )

    def own_order(self, request: Request) -> PolarOrder | Response:
        """The customer's order named by the path, or the answer Polar gives instead (401, 422, 404)."""
        customer = self.customer_or_none(request)
        if customer is None:
            return unauthorized()
        order_id = self.parse_order_id(request.path_params["order_id"])
        if order_id is None:
            return self.invalid_uuid(request.path_params["order_id"])
        order = self.find_order(customer, order_id)
        return not_found() if order is None else order

    async def order_endpoint(self, request: Request) -> Response:
        order = self.own_order(request)
        if isinstance(order, Response):
            return order
        if request.method == "PATCH":
            return await patch_order(request, self.state, order)
        return json_response(order_json(self.state, order))

    async def invoice_endpoint(self, request: Request) -> Response:
        order = self.own_order(request)
        if isinstance(order, Response):
            return order
        if request.method == "POST":
            return generate_invoice(self.state, order)
        if not self.state.is_invoice_generated(order):
            if self.state.legacy_invoice_not_found:
                return not_found()
            return error(404, "InvoiceDoesNotExist", "No invoice exists for this order yet.")
        expires = int(time.time()) + 3600
        url = request.url_for("polar_invoice_file", order_id=order.id).include_query_params(
            expires=expires, signature=_signature(order.id, expires)
        )
        return json_response({"url": str(url)})

    async def invoice_file(self, request: Request) -> Response:
        order = self.state.orders.get(request.path_params["order_id"])
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
        if not valid or order is None or not self.state.is_invoice_generated(order):
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

    async def list_customers(self, request: Request) -> Response:
        # polar server/polar/customer/endpoints.py ``list`` (public): the organisation token's customers,
        # ``email`` an exact filter; a ListResource {items, pagination}.
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), POLAR_ORGANIZATION_TOKEN):
            return unauthorized()
        email = request.query_params.get("email")
        matching = [name for name in POLAR_CUSTOMER_IDS if email is None or CUSTOMER_EMAILS[name] == email]
        items = [
            {
                "id": POLAR_CUSTOMER_IDS[name],
                "external_id": name,
                "email": CUSTOMER_EMAILS[name],
                "name": CUSTOMER_NAMES[name],
            }
            for name in matching
        ]
        return json_response({"items": items, "pagination": {"total_count": len(items), "max_page": 1}})

    async def create_customer_session(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), POLAR_ORGANIZATION_TOKEN):
            return unauthorized()
        try:
            body = await request.json()
        except ValueError:
            return validation_error(["body"], "JSON decode error", "json_invalid", None)
        if not isinstance(body, dict):
            return validation_error(["body"], "Input should be a valid dictionary", "dict_type", body)
        customer: str | None = None
        if "customer_id" in body:
            loc, value = "customer_id", body["customer_id"]
            customer = next((name for name, cid in POLAR_CUSTOMER_IDS.items() if cid == value), None)
        elif "external_customer_id" in body:
            loc, value = "external_customer_id", body["external_customer_id"]
            customer = value if value in POLAR_CUSTOMER_IDS else None
        else:
            return validation_error(["body", "customer_id"], "Field required", "missing", body)
        if customer is None:
            return validation_error(["body", loc], "Customer does not exist.", "value_error", value)
        token = "polar_cst_" + secrets.token_urlsafe(32)
        self.state.sessions[token] = _Session(customer, self.state.now() + self.state.session_ttl)
        self.state.controls.counters["customer_sessions_minted"] += 1
        now = datetime.now(UTC)
        customer_id = POLAR_CUSTOMER_IDS[customer]
        return json_response(
            {
                "created_at": iso_z(now),
                "modified_at": None,
                "id": str(uuid.uuid4()),
                "token": token,
                "expires_at": iso_z(now + timedelta(seconds=self.state.session_ttl)),
                "return_url": None,
                "customer_portal_url": "https://sandbox.polar.sh/sandbox/portal",
                "customer_id": customer_id,
                "customer": {
                    "id": customer_id,
                    "external_id": customer,
                    "email": CUSTOMER_EMAILS[customer],
                    "name": CUSTOMER_NAMES[customer],
                },
            },
            201,
        )


def create_app(state: PolarState | None = None) -> Starlette:
    state = state if state is not None else PolarState()
    api = _PolarApi(state)

    routes = [
        Route("/v1/customer-portal/orders/", api.list_orders, methods=["GET"]),
        Route("/v1/customer-portal/orders/{order_id}", api.order_endpoint, methods=["GET", "PATCH"]),
        Route("/v1/customer-portal/orders/{order_id}/invoice", api.invoice_endpoint, methods=["GET", "POST"]),
        Route("/v1/customer-sessions/", api.create_customer_session, methods=["POST"]),
        Route("/v1/customers/", api.list_customers, methods=["GET"]),
        Route(
            "/_files/invoices/{order_id}.pdf", api.invoice_file, methods=["GET"], name="polar_invoice_file"
        ),
    ]
    middleware = [
        Middleware(
            ControlsMiddleware, controls=state.controls, faults=PolarFaults(), exempt_prefixes=("/_files/",)
        ),
        Middleware(_APIVersionMiddleware, state=state, exempt_prefixes=("/_files/",)),
    ]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.sandbox = state
    return app


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
    sign_in={name: (email, None) for name, email in CUSTOMER_EMAILS.items()},
)
"""What the sandbox mounts (``ProviderSpec.emulator``)."""
