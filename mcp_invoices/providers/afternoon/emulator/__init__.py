"""Emulator of Afternoon's invoices API, as its reference documents it and harsh where it does not.

Sources: seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt (``GET /v1/invoices/{id}``, ``docs.afternoon.co/api-reference/afternoon-events-api/
invoices/get``), the list page (``…/invoices/list``: query ``limit`` default "50", ``cursor``,
``customer_id``, ``status``; body ``InvoiceListResponse``, members not shown), its sibling list page
(``…/subscriptions/list``: ``{success, subscriptions, pagination: object, request_id}``) and the
introduction page (cursor pagination with ``limit`` and ``cursor``; errors ``{success: false, error:
{code, message}, request_id}``; 1,000 requests a minute).

Routes (relative to the base URL, e.g. ``http://127.0.0.1:PORT/afternoon``):

- ``GET /v1/invoices/{id}`` → 200 ``{success: true, invoice, request_id}`` (seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt's
  ``InvoiceResponse``; amounts in integer cents, i.e. minor units — yen for JPY).
- ``GET /v1/invoices?customer_id=&status=&limit=&cursor=`` → 200
  ``{success: true, invoices: [Invoice], pagination: {has_more, next_cursor}, request_id}``. Newest
  first. Where the reference is silent the emulator is the harsh case for a client (each switch is an
  ``AfternoonState`` field): pages are capped below the documented default (``page_size_cap``), the
  status filter is ignored (``honours_status_filter``), and Bob has an invoice of a status seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt
  does not list (``past_due``).

The API key is company-wide: any customer's invoice is returned by id and the list spans all
customers unless ``customer_id`` is given — the MCP server must enforce the customer scope.

Auth: ``Authorization: Bearer ak_...``. Missing or not Bearer → 401 ``UNAUTHORIZED``; unknown key →
401 ``INVALID_API_KEY``; a revoked key → 401 ``API_KEY_REVOKED``. Errors use the seed's
``ErrorResponse``: ``{success: false, error: {code, message, details?}, request_id}`` (``details``
only when there are some: the seed's ``oneOf[any, null]`` makes a literal ``null`` invalid).
Every response carries ``X-Request-Id`` and ``X-RateLimit-Limit/Remaining/Reset`` (1,000/min nominal).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_invoices.providers.afternoon.emulator.seed import (
    AFTERNOON_API_KEY,
    AFTERNOON_CUSTOMER_IDS,
    AFTERNOON_INVOICE_IDS,
    AFTERNOON_REVOKED_API_KEY,
    AfternoonInvoice,
    AfternoonLineItem,
    extra_invoices,
    seed_invoices,
)
from mcp_invoices.providers.emulation import (
    Controls,
    ControlsMiddleware,
    bearer_token,
    json_response,
    query_int,
)
from mcp_invoices.providers.emulation.emulator import Emulator, Seeded

__all__ = [
    "EMULATOR",
    "AFTERNOON_API_KEY",
    "AFTERNOON_CUSTOMER_IDS",
    "AFTERNOON_INVOICE_IDS",
    "AFTERNOON_REVOKED_API_KEY",
    "AfternoonInvoice",
    "AfternoonLineItem",
    "AfternoonState",
    "create_app",
]


@dataclass
class AfternoonState:
    """Seeded Afternoon data plus switches. Mutate freely in tests."""

    extra_invoices: int = 0
    """Add this many deterministic invoices to ``extra_invoices_customer`` (benchmarks)."""
    extra_invoices_customer: str = "alice"
    api_keys: set[str] = field(default_factory=lambda: {AFTERNOON_API_KEY})
    revoked_api_keys: set[str] = field(default_factory=lambda: {AFTERNOON_REVOKED_API_KEY})
    # docs.afternoon.co introduction: 1,000 requests per minute per key
    controls: Controls = field(default_factory=lambda: Controls(nominal_rate_limit_per_minute=1000))
    page_size_cap: int = 40
    """Most rows a list page holds, whatever ``limit`` asks. Assumption: the reference gives a default
    ("50") and no maximum, so the emulator caps below the default, the harsh case for a client."""
    honours_limit: bool = True
    """Tests turn this off for a provider that ignores ``limit`` and always sends ``page_size_cap`` rows."""
    honours_status_filter: bool = False
    """Assumption: the list's status enum is undocumented, so by default the filter is ignored (every
    status comes back), the harsh case for a client that trusts it."""
    honours_customer_filter: bool = True
    """docs.afternoon.co …/invoices/list documents ``customer_id``; tests turn it off to prove the scope."""
    pagination_at_top: bool = False
    """Assumption: ``has_more``/``next_cursor`` under ``pagination`` (the sibling subscriptions list's
    shape); tests turn this on for the flat variant."""
    invoices: dict[str, AfternoonInvoice] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.invoices:
            for invoice in seed_invoices():
                self.invoices[invoice.id] = invoice
        if self.extra_invoices:
            customer_id = AFTERNOON_CUSTOMER_IDS[self.extra_invoices_customer]
            for invoice in extra_invoices(customer_id, self.extra_invoices):
                self.invoices[invoice.id] = invoice

    def next_request_id(self) -> str:
        self.controls.counters["request_ids"] += 1
        return f"req_{self.controls.counters['request_ids']:024x}"


# --------------------------------------------------------------------------------------------
# Wire shapes
# --------------------------------------------------------------------------------------------


def invoice_json(invoice: AfternoonInvoice) -> dict[str, Any]:
    """The seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt's ``Invoice``, field for field."""
    return {
        "id": invoice.id,
        "customer_id": invoice.customer_id,
        "subscription_id": invoice.subscription_id,
        "status": invoice.status,
        "currency": invoice.currency,
        "collection_method": invoice.collection_method,
        "invoice_number": invoice.invoice_number,
        "public_invoice_url": (
            f"https://pay.afternoon.co/i/{invoice.id}" if invoice.status != "draft" else None
        ),
        "due_date": invoice.due_date,
        "days_until_due": invoice.days_until_due,
        "description": invoice.description,
        "customer_memo": invoice.customer_memo,
        "footer": invoice.footer,
        "subtotal_cents": invoice.subtotal_cents,
        "discount_cents": invoice.discount_cents,
        "tax_cents": invoice.tax_cents,
        "total_cents": invoice.total_cents,
        "finalized_at": invoice.finalized_at,
        "paid_at": invoice.paid_at,
        "period_start": invoice.period_start,
        "period_end": invoice.period_end,
        "line_items": [
            {
                "id": item.id,
                "description": item.description,
                "quantity": item.quantity,
                "unit_amount_cents": item.unit_amount_cents,
                "tax_amount_cents": item.tax_amount_cents,
                "total_amount_cents": item.total_amount_cents,
                "period_start": item.period_start,
                "period_end": item.period_end,
                "created_at": invoice.created_at,
                "updated_at": invoice.paid_at or invoice.finalized_at or invoice.created_at,
            }
            for item in invoice.line_items
        ],
        "created_at": invoice.created_at,
        "updated_at": invoice.paid_at or invoice.finalized_at or invoice.created_at,
    }


_ERROR_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}


class _AfternoonFaults:
    def __init__(self, state: AfternoonState) -> None:
        self.state = state

    def error(self, status: int) -> Response:
        return _error(
            self.state, status, _ERROR_CODES.get(status, "INTERNAL_ERROR"), f"Sandbox injected {status}."
        )

    def rate_limited(self, retry_after: int) -> Response:
        return _error(
            self.state,
            429,
            "RATE_LIMITED",
            "Too many requests; retry later.",
            {"Retry-After": str(retry_after)},
        )


def _error(
    state: AfternoonState,
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    details: Any = None,
) -> Response:
    request_id = state.next_request_id()
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        # The seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt types `details` as oneOf[any, null], under which a literal null matches both
        # branches and so is invalid: the emulator omits it instead (it is not required).
        error["details"] = details
    body = {"success": False, "error": error, "request_id": request_id}
    return json_response(body, status, {**(headers or {}), "X-Request-Id": request_id})


def _ok(state: AfternoonState, body: dict[str, Any]) -> Response:
    request_id = state.next_request_id()
    return json_response(
        {"success": True, **body, "request_id": request_id}, 200, {"X-Request-Id": request_id}
    )


def _encode_cursor(invoice_id: str) -> str:
    # assumption: the reference documents cursor as an opaque string; this one names the last row
    return base64.urlsafe_b64encode(f"after:{invoice_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return raw[len("after:") :] if raw.startswith("after:") else None


_STATUSES = (
    "draft",
    "open",
    "paid",
    "void",
    "uncollectible",
)  # seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt InvoiceStatus


class _AfternoonApi:
    """The routes' handlers, over one state."""

    def __init__(self, state: AfternoonState) -> None:
        self.state = state

    def auth_failure(self, request: Request) -> Response | None:
        # seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt: Authorization header, bearerAuth; the codes are the seeds README's notes on Afternoon
        token = bearer_token(request)
        if token is None:
            return _error(self.state, 401, "UNAUTHORIZED", "Missing or malformed Authorization header.")
        if token in self.state.revoked_api_keys:
            return _error(self.state, 401, "API_KEY_REVOKED", "This API key has been revoked.")
        if not any(hmac.compare_digest(token, key) for key in self.state.api_keys):
            return _error(self.state, 401, "INVALID_API_KEY", "Invalid API key.")
        return None

    async def get_invoice(self, request: Request) -> Response:
        failure = self.auth_failure(request)
        if failure is not None:
            return failure
        # seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt: any customer's invoice by id (the key is company-wide); 404 ErrorResponse when missing
        invoice = self.state.invoices.get(request.path_params["invoice_id"])
        if invoice is None:
            return _error(self.state, 404, "NOT_FOUND", "Invoice not found.")
        return _ok(self.state, {"invoice": invoice_json(invoice)})

    async def list_invoices(self, request: Request) -> Response:
        failure = self.auth_failure(request)
        if failure is not None:
            return failure
        params = request.query_params
        # docs.afternoon.co …/invoices/list: limit is a string, default "50"; no range is documented.
        limit = query_int(request, "limit", 50)
        if limit is None or limit < 1:
            # assumption: a limit that is not a positive integer is refused like a bad cursor
            return _error(
                self.state,
                400,
                "VALIDATION_ERROR",
                "limit must be a positive integer.",
                details={"field": "limit"},
            )
        # assumption: a silent cap (see page_size_cap), or limit ignored altogether (honours_limit)
        limit = min(limit, self.state.page_size_cap) if self.state.honours_limit else self.state.page_size_cap
        matching = self.matching(params)
        if isinstance(matching, Response):
            return matching
        start = 0
        cursor = params.get("cursor") or None
        if cursor is not None:
            after = _decode_cursor(cursor)
            position = next((n for n, i in enumerate(matching) if i.id == after), None)
            if position is None:
                # assumption: an unknown cursor is a 400 VALIDATION_ERROR (seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt's ErrorResponse)
                return _error(
                    self.state, 400, "VALIDATION_ERROR", "Invalid cursor.", details={"field": "cursor"}
                )
            start = position + 1
        page = matching[start : start + limit]
        has_more = start + limit < len(matching)
        position_fields = {
            "has_more": has_more,
            "next_cursor": _encode_cursor(page[-1].id) if has_more and page else None,
        }
        # …/subscriptions/list: {success, subscriptions, pagination: object, request_id}; the invoices
        # list is assumed to match it, with pagination's members assumed to be has_more/next_cursor.
        envelope: dict[str, Any] = (
            position_fields if self.state.pagination_at_top else {"pagination": position_fields}
        )
        return _ok(self.state, {"invoices": [invoice_json(i) for i in page], **envelope})

    def matching(self, params: QueryParams) -> list[AfternoonInvoice] | Response:
        """The invoices a list asks for (its filters as this emulator honours them), newest first."""
        status = params.get("status") or None
        if not self.state.honours_status_filter:
            status = None  # assumption: the undocumented enum's filter ignored (see honours_status_filter)
        elif status is not None and status not in _STATUSES:
            return _error(
                self.state,
                400,
                "VALIDATION_ERROR",
                f"status must be one of {', '.join(_STATUSES)}.",
                details={"field": "status"},
            )
        customer_id = (params.get("customer_id") or None) if self.state.honours_customer_filter else None
        matching = sorted(
            (
                i
                for i in self.state.invoices.values()
                if (customer_id is None or i.customer_id == customer_id)
                and (status is None or i.status == status)
            ),
            key=lambda i: (i.created_at, i.id),
            reverse=True,  # assumption: newest first, as the seed's created_at and cursor paging suggest
        )
        return matching

    # seeds README (Afternoon): 1,000 requests/min, X-RateLimit-* headers, 429
    def rate_limit_headers(self) -> dict[str, str]:
        snapshot = self.state.controls.rate_limit_snapshot()
        if snapshot is None:
            return {}
        limit, remaining, reset = snapshot
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
        }


def create_app(state: AfternoonState | None = None) -> Starlette:
    state = state if state is not None else AfternoonState()
    api = _AfternoonApi(state)

    routes = [
        Route("/v1/invoices", api.list_invoices, methods=["GET"]),
        Route("/v1/invoices/{invoice_id}", api.get_invoice, methods=["GET"]),
    ]
    middleware = [
        Middleware(
            ControlsMiddleware,
            controls=state.controls,
            faults=_AfternoonFaults(state),
            extra_headers=api.rate_limit_headers,
        )
    ]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.sandbox = state
    return app


EMULATOR: Emulator[AfternoonState] = Emulator(
    mount="/afternoon",
    state=AfternoonState,
    create_app=create_app,
    credentials=lambda customer: {"api_key": AFTERNOON_API_KEY},
    customer_ids=AFTERNOON_CUSTOMER_IDS,
    seeded=Seeded(
        invoices={"alice": AFTERNOON_INVOICE_IDS["alice_paid"], "bob": AFTERNOON_INVOICE_IDS["bob_open"]},
        missing_invoice="cmnobody000000000000000x",
    ),
)
"""What the sandbox mounts (``ProviderSpec.emulator``)."""
