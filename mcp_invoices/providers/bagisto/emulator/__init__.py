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

import hmac
import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_invoices.providers.bagisto.emulator.graphql import (
    GRAPHQL_PAGE_MAX,
    TYPES,
    Field,
    GraphQLFailure,
    Parser,
    connection,
    select,
)
from mcp_invoices.providers.bagisto.emulator.records import (
    graphql_invoice,
    invoice_json,
    invoice_pdf,
    item_iri,
)
from mcp_invoices.providers.bagisto.emulator.seed import (
    BAGISTO_CREDENTIALS,
    BAGISTO_CUSTOMER_IDS,
    BAGISTO_CUSTOMER_TOKENS,
    BAGISTO_INVOICE_IDS,
    BAGISTO_STOREFRONT_KEY,
    BagistoInvoice,
    BagistoItem,
    dave_invoices,
    extra_invoices,
    seed_invoices,
)
from mcp_invoices.providers.emulation import (
    Controls,
    ControlsMiddleware,
    bearer_token,
    json_response,
)
from mcp_invoices.providers.emulation.emulator import Emulator, Seeded

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

HOURLY_LIMIT = 1000
"""bagisto-api 5ab9ff2 src/Services/ApiKeyService.php getDefaultRateLimit: shop key 1000 requests an hour."""

_UNAUTHENTICATED = "Unauthenticated. Please login to perform this action"
"""bagisto-api 5ab9ff2 src/Resources/lang/en/app.php graphql.logout.unauthenticated."""


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
            for invoice in [*seed_invoices(), *dave_invoices()]:
                self.invoices[invoice.id] = invoice
        if self.extra_invoices:
            for invoice in extra_invoices(self.extra_invoices_customer, self.extra_invoices, 1001):
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


class _BagistoApi:
    """The routes' handlers, over one state."""

    def __init__(self, state: BagistoState) -> None:
        self.state = state

    def storefront_failure(self, request: Request, *, graphql: bool = False) -> Response | None:
        key = request.headers.get("x-storefront-key")
        if graphql:
            # bagisto-api 5ab9ff2 src/Http/Middleware/VerifyGraphQLStorefrontKey.php sendAuthenticationError: 401 both ways.
            if not key or not hmac.compare_digest(key, self.state.storefront_key):
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
            self.count_request()
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
        if not hmac.compare_digest(key, self.state.storefront_key):
            return json_response({"message": "Invalid or inactive shop API key", "error": "invalid_key"}, 403)
        allowed, reset_in = self.count_request()
        return None if allowed else _rate_limited(reset_in)

    def count_request(self) -> tuple[bool, int]:
        """bagisto-api 5ab9ff2 src/Traits/HasRateLimit.php checkHourlyRateLimit: a counter per clock hour."""
        now = self.state.controls.clock()
        hour = int(now // 3600)
        used = self.state.hour_counts.get(hour, 0)
        self.state.hour_counts[hour] = used + 1
        return used < self.state.hourly_limit, max(1, math.ceil((hour + 1) * 3600 - now))

    def customer_of(self, request: Request) -> str | None:
        token = bearer_token(request)
        return self.state.tokens.get(token) if token is not None else None

    def unauthenticated(self) -> Response:
        # bagisto-api 5ab9ff2 src/State/CustomerInvoiceProvider.php: AuthorizationException, 403 (exception_to_status).
        return _problem(403, "Forbidden", _UNAUTHENTICATED)

    def not_found(self, raw_id: str) -> Response:
        # bagisto-api 5ab9ff2 src/Exception/ResourceNotFoundException.php + lang en customer-invoice.not-found.
        return _problem(404, "Not Found", f'Customer invoice with ID "{raw_id}" not found')

    def own_invoice(self, customer: str, raw_id: str) -> BagistoInvoice | None:
        if not raw_id.isdigit():
            return None
        invoice = self.state.invoices.get(int(raw_id))
        return invoice if invoice is not None and invoice.customer == customer else None

    async def login(self, request: Request) -> Response:
        failure = self.storefront_failure(request)
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

    async def list_invoices(self, request: Request) -> Response:
        failure = self.storefront_failure(request)
        if failure is not None:
            return failure
        customer = self.customer_of(request)
        if customer is None:
            return self.unauthenticated()
        order_id = request.query_params.get("order_id") or request.query_params.get("orderId")
        mine = self.state.newest_first(
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
        return json_response([invoice_json(i, self.state.embed_items) for i in page], headers=headers)

    def requested_invoice(self, request: Request) -> BagistoInvoice | Response:
        """The customer's invoice named by the path, or Bagisto's refusal (key, token, 404)."""
        failure = self.storefront_failure(request)
        if failure is not None:
            return failure
        raw_id = request.path_params["invoice_id"]
        customer = self.customer_of(request)
        if customer is None:
            return self.unauthenticated()
        # The invoice and its PDF alike are the customer's only (bagisto-api 5ab9ff2
        # src/Http/Controllers/InvoicePdfController.php: the PDF is scoped through order.customer_id).
        invoice = self.own_invoice(customer, raw_id)
        return self.not_found(raw_id) if invoice is None else invoice

    async def get_invoice(self, request: Request) -> Response:
        invoice = self.requested_invoice(request)
        if isinstance(invoice, Response):
            return invoice
        return json_response(invoice_json(invoice, self.state.embed_items))

    async def get_invoice_pdf(self, request: Request) -> Response:
        invoice = self.requested_invoice(request)
        if isinstance(invoice, Response):
            return invoice
        return Response(
            invoice_pdf(invoice),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="invoice-{invoice.increment_id}.pdf"'},
        )

    def resolve(self, root: Field, customer: str | None) -> Any:
        if root.name == "customerInvoices":
            if customer is None:
                # bagisto-api 5ab9ff2 src/State/CustomerInvoiceProvider.php: AuthorizationException (403).
                raise GraphQLFailure(_UNAUTHENTICATED, 403)
            order_id = root.args.get("orderId")
            rows = [
                graphql_invoice(invoice)
                for invoice in self.state.newest_first(
                    customer,
                    root.args.get("state") or None,
                    order_id if isinstance(order_id, int) else None,
                )
            ]
            return connection(rows, root.args)
        if root.name == "customerInvoice":
            # bagisto-api 5ab9ff2 src/Resolver/BaseQueryItemResolver.php: Model::find(id), NOT scoped to the customer.
            raw = str(root.args.get("id") or "").rsplit("/", 1)[-1]
            invoice = self.state.invoices.get(int(raw)) if raw.isdigit() else None
            if invoice is None:
                raise GraphQLFailure(f'Customer invoice with ID "{root.args.get("id")}" not found', 400)
            return graphql_invoice(invoice)
        raise GraphQLFailure(f'Cannot query field "{root.name}" on type "Query".')

    async def graphql(self, request: Request) -> Response:
        failure = self.storefront_failure(request, graphql=True)
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
        customer = self.customer_of(request)
        data: dict[str, Any] = {}
        try:
            roots = Parser(body["query"], variables).document()
            for root in roots:
                if root.name not in TYPES["Query"]:
                    raise GraphQLFailure(f'Cannot query field "{root.name}" on type "Query".')
                data[root.name] = None
                value = self.resolve(root, customer)
                types = TYPES
                if not self.state.graphql_items:
                    invoice_type = {k: v for k, v in TYPES["CustomerInvoice"].items() if k != "items"}
                    types = {**TYPES, "CustomerInvoice": invoice_type}
                data[root.name] = select(value, TYPES["Query"][root.name], root.selection, types)
        except GraphQLFailure as failure_:
            # API Platform GraphQL: errors with status 200; HttpExceptionInterface statuses in extensions.
            error: dict[str, Any] = {"message": str(failure_)}
            if failure_.status is not None:
                error["extensions"] = {"status": failure_.status}
            return json_response({"errors": [error], "data": data or None})
        return json_response({"data": data})


def create_app(state: BagistoState | None = None) -> Starlette:
    state = state if state is not None else BagistoState()
    api = _BagistoApi(state)

    routes = [
        Route("/api/shop/customer/login", api.login, methods=["POST"]),
        Route("/api/shop/customer-invoices", api.list_invoices, methods=["GET"]),
        Route("/api/shop/customer-invoices/{invoice_id}", api.get_invoice, methods=["GET"]),
        Route("/api/shop/customer-invoices/{invoice_id}/pdf", api.get_invoice_pdf, methods=["GET"]),
        Route("/api/graphql", api.graphql, methods=["POST"]),
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
