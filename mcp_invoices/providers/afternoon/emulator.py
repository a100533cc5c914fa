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
from datetime import UTC, datetime
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
    query_int,
)
from mcp_invoices.providers.emulator import Emulator, Seeded

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

AFTERNOON_API_KEY = "ak_test_sandbox"
"""The company-wide test key (sees every customer's invoices)."""
AFTERNOON_REVOKED_API_KEY = "ak_test_revoked_sandbox"
"""A key that answers 401 ``API_KEY_REVOKED``."""

AFTERNOON_CUSTOMER_IDS: dict[str, str] = {"alice": "cus_alice", "bob": "cus_bob", "carol": "cus_carol"}
"""Afternoon customer ids by sandbox name. Carol has no invoices."""

AFTERNOON_INVOICE_IDS: dict[str, str] = {
    "alice_paid": "cmalice0000paid0usd00001",
    "alice_open_overdue": "cmalice0000open0usd00002",
    "alice_open_eur": "cmalice0000open0eur00003",
    "alice_draft": "cmalice0000draft0usd0004",
    "alice_void": "cmalice0000void0usd00005",
    "alice_uncollectible_jpy": "cmalice0000uncol0jpy0006",
    "bob_paid_jpy": "cmbob000000paid0jpy00001",
    "bob_open": "cmbob000000open0usd00002",
    "bob_paid_gbp": "cmbob000000paid0gbp00003",
    "bob_draft": "cmbob000000draft0usd0004",
    "bob_past_due": "cmbob000000pastdue0usd05",
}
"""Seeded invoice ids (cuid-like) by role. Alice: paid usd $110.00, open usd $59.97 due 2026-02-15
(overdue), open eur €250.00 with a €25.00 discount due 2030-01-31, draft, void, uncollectible ¥1500.
Bob: paid ¥4980, open usd $19.99, paid gbp £42.00, draft, and $75.00 of status ``past_due`` (not in
seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt's enum: the harsh case of a status added later) due 2026-03-31."""


@dataclass
class AfternoonLineItem:
    id: str
    description: str | None
    quantity: int
    unit_amount_cents: int
    tax_amount_cents: int
    period_start: str | None = None
    period_end: str | None = None

    @property
    def total_amount_cents(self) -> int:
        return self.quantity * self.unit_amount_cents + self.tax_amount_cents


@dataclass
class AfternoonInvoice:
    id: str
    customer_id: str | None
    status: str
    """draft, open, paid, void, uncollectible (seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt's enum), or anything else for a status added later."""
    currency: str
    created_at: str
    line_items: list[AfternoonLineItem]
    invoice_number: str | None = None
    collection_method: str = "send_invoice"
    subscription_id: str | None = None
    due_date: str | None = None
    days_until_due: int | None = None
    description: str | None = None
    customer_memo: str | None = None
    footer: str | None = None
    discount_cents: int = 0
    finalized_at: str | None = None
    paid_at: str | None = None
    period_start: str | None = None
    period_end: str | None = None

    @property
    def subtotal_cents(self) -> int:
        return sum(item.quantity * item.unit_amount_cents for item in self.line_items)

    @property
    def tax_cents(self) -> int:
        return sum(item.tax_amount_cents for item in self.line_items)

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents - self.discount_cents + self.tax_cents


def _seed_invoices() -> list[AfternoonInvoice]:
    ids = AFTERNOON_INVOICE_IDS
    return [
        AfternoonInvoice(
            ids["alice_paid"],
            "cus_alice",
            "paid",
            "usd",
            "2026-01-01T08:00:00.000Z",
            [
                AfternoonLineItem(
                    "li_alice_0001",
                    "Pro plan (January 2026)",
                    1,
                    10000,
                    1000,
                    "2026-01-01T00:00:00.000Z",
                    "2026-02-01T00:00:00.000Z",
                )
            ],
            invoice_number="AFT-ALICE-0001",
            collection_method="charge_automatically",
            subscription_id="sub_alice_pro",
            due_date="2026-01-01T08:00:00.000Z",
            days_until_due=0,
            description="Pro plan",
            finalized_at="2026-01-01T08:00:05.000Z",
            paid_at="2026-01-01T08:01:00.000Z",
            period_start="2026-01-01T00:00:00.000Z",
            period_end="2026-02-01T00:00:00.000Z",
        ),
        AfternoonInvoice(
            ids["alice_open_overdue"],
            "cus_alice",
            "open",
            "usd",
            "2026-01-16T08:00:00.000Z",
            [AfternoonLineItem("li_alice_0002", "Event tickets", 3, 1999, 0)],
            invoice_number="AFT-ALICE-0002",
            due_date="2026-02-15T00:00:00.000Z",
            days_until_due=30,
            customer_memo="Thanks for coming!",
            finalized_at="2026-01-16T08:00:05.000Z",
        ),
        AfternoonInvoice(
            ids["alice_open_eur"],
            "cus_alice",
            "open",
            "eur",
            "2026-03-01T08:00:00.000Z",
            [
                AfternoonLineItem("li_alice_0003", "Workshop (Berlin)", 1, 23600, 0),
                AfternoonLineItem("li_alice_0004", "Catering", 2, 1000, 1900),
            ],
            invoice_number="AFT-ALICE-0003",
            due_date="2030-01-31T00:00:00.000Z",
            days_until_due=30,
            discount_cents=2500,
            footer="VAT reverse charge where applicable.",
            finalized_at="2026-03-01T08:00:05.000Z",
        ),
        AfternoonInvoice(
            ids["alice_draft"],
            "cus_alice",
            "draft",
            "usd",
            "2026-04-01T08:00:00.000Z",
            [AfternoonLineItem("li_alice_0005", "Consulting", 2, 15000, 0)],
        ),
        AfternoonInvoice(
            ids["alice_void"],
            "cus_alice",
            "void",
            "usd",
            "2026-04-10T08:00:00.000Z",
            [AfternoonLineItem("li_alice_0006", "Cancelled booking", 1, 4900, 0)],
            invoice_number="AFT-ALICE-0004",
            due_date="2026-05-10T00:00:00.000Z",
            days_until_due=30,
            finalized_at="2026-04-10T08:00:05.000Z",
        ),
        AfternoonInvoice(
            ids["alice_uncollectible_jpy"],
            "cus_alice",
            "uncollectible",
            "jpy",
            "2026-04-20T08:00:00.000Z",
            [AfternoonLineItem("li_alice_0007", "Sticker pack", 1, 1500, 0)],
            invoice_number="AFT-ALICE-0005",
            due_date="2026-05-20T00:00:00.000Z",
            days_until_due=30,
            finalized_at="2026-04-20T08:00:05.000Z",
        ),
        AfternoonInvoice(
            ids["bob_paid_jpy"],
            "cus_bob",
            "paid",
            "jpy",
            "2026-01-03T10:00:00.000Z",
            [AfternoonLineItem("li_bob_0001", "Pro plan (January 2026)", 1, 4980, 0)],
            invoice_number="AFT-BOB-0001",
            collection_method="charge_automatically",
            subscription_id="sub_bob_pro",
            finalized_at="2026-01-03T10:00:05.000Z",
            paid_at="2026-01-03T10:01:00.000Z",
        ),
        AfternoonInvoice(
            ids["bob_open"],
            "cus_bob",
            "open",
            "usd",
            "2026-02-03T10:00:00.000Z",
            [AfternoonLineItem("li_bob_0002", "Ticket", 1, 1999, 0)],
            invoice_number="AFT-BOB-0002",
            due_date="2030-03-05T00:00:00.000Z",
            days_until_due=30,
            finalized_at="2026-02-03T10:00:05.000Z",
        ),
        AfternoonInvoice(
            ids["bob_paid_gbp"],
            "cus_bob",
            "paid",
            "gbp",
            "2026-03-03T10:00:00.000Z",
            [AfternoonLineItem("li_bob_0003", "Meetup venue", 1, 3500, 700)],
            invoice_number="AFT-BOB-0003",
            due_date="2026-04-02T00:00:00.000Z",
            days_until_due=30,
            finalized_at="2026-03-03T10:00:05.000Z",
            paid_at="2026-03-20T12:00:00.000Z",
        ),
        AfternoonInvoice(
            ids["bob_past_due"],
            "cus_bob",
            # assumption: not in seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt's InvoiceStatus enum — a status Afternoon might add later
            "past_due",
            "usd",
            "2026-03-01T10:00:00.000Z",
            [AfternoonLineItem("li_bob_0005", "Workshop seat", 1, 7500, 0)],
            invoice_number="AFT-BOB-0005",
            due_date="2026-03-31T00:00:00.000Z",
            days_until_due=30,
            finalized_at="2026-03-01T10:00:05.000Z",
        ),
        AfternoonInvoice(
            ids["bob_draft"],
            "cus_bob",
            "draft",
            "usd",
            "2026-04-03T10:00:00.000Z",
            [AfternoonLineItem("li_bob_0004", None, 1, 500, 0)],
        ),
    ]


def _extra_invoices(customer_id: str, count: int) -> list[AfternoonInvoice]:
    """Deterministic bulk invoices (benchmarks): hourly from 2024-01-01, statuses cycled."""
    statuses = ("paid", "paid", "open", "open", "void", "uncollectible", "draft")
    currencies = ("usd", "eur", "jpy")
    invoices = []
    for n in range(count):
        created = datetime(2024, 1, 1, tzinfo=UTC).timestamp() + n * 3600
        stamp = datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        status = statuses[n % len(statuses)]
        invoices.append(
            AfternoonInvoice(
                f"cmbulk{customer_id[4:9]:0>5}{n:013d}",
                customer_id,
                status,
                currencies[n % 3],
                stamp,
                [
                    AfternoonLineItem(
                        f"li_bulk_{n:06d}", f"Bulk item {n}", 1 + n % 3, 1000 + (n % 89) * 7, (n % 5) * 10
                    )
                ],
                invoice_number=None if status == "draft" else f"AFT-BULK-{n:05d}",
                due_date=None if status == "draft" else stamp,
                finalized_at=None if status == "draft" else stamp,
                paid_at=stamp if status == "paid" else None,
            )
        )
    return invoices


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
            for invoice in _seed_invoices():
                self.invoices[invoice.id] = invoice
        if self.extra_invoices:
            customer_id = AFTERNOON_CUSTOMER_IDS[self.extra_invoices_customer]
            for invoice in _extra_invoices(customer_id, self.extra_invoices):
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


def create_app(state: AfternoonState | None = None) -> Starlette:
    state = state if state is not None else AfternoonState()

    def auth_failure(request: Request) -> Response | None:
        # seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt: Authorization header, bearerAuth; the codes are the seeds README's notes on Afternoon
        token = bearer_token(request)
        if token is None:
            return _error(state, 401, "UNAUTHORIZED", "Missing or malformed Authorization header.")
        if token in state.revoked_api_keys:
            return _error(state, 401, "API_KEY_REVOKED", "This API key has been revoked.")
        if not any(hmac.compare_digest(token, key) for key in state.api_keys):
            return _error(state, 401, "INVALID_API_KEY", "Invalid API key.")
        return None

    async def get_invoice(request: Request) -> Response:
        failure = auth_failure(request)
        if failure is not None:
            return failure
        # seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt: any customer's invoice by id (the key is company-wide); 404 ErrorResponse when missing
        invoice = state.invoices.get(request.path_params["invoice_id"])
        if invoice is None:
            return _error(state, 404, "NOT_FOUND", "Invoice not found.")
        return _ok(state, {"invoice": invoice_json(invoice)})

    async def list_invoices(request: Request) -> Response:
        failure = auth_failure(request)
        if failure is not None:
            return failure
        params = request.query_params
        # docs.afternoon.co …/invoices/list: limit is a string, default "50"; no range is documented.
        limit = query_int(request, "limit", 50)
        if limit is None or limit < 1:
            # assumption: a limit that is not a positive integer is refused like a bad cursor
            return _error(
                state,
                400,
                "VALIDATION_ERROR",
                "limit must be a positive integer.",
                details={"field": "limit"},
            )
        # assumption: a silent cap (see page_size_cap), or limit ignored altogether (honours_limit)
        limit = min(limit, state.page_size_cap) if state.honours_limit else state.page_size_cap
        status = params.get("status") or None
        if not state.honours_status_filter:
            status = None  # assumption: the undocumented enum's filter ignored (see honours_status_filter)
        elif status is not None and status not in _STATUSES:
            return _error(
                state,
                400,
                "VALIDATION_ERROR",
                f"status must be one of {', '.join(_STATUSES)}.",
                details={"field": "status"},
            )
        customer_id = (params.get("customer_id") or None) if state.honours_customer_filter else None
        matching = sorted(
            (
                i
                for i in state.invoices.values()
                if (customer_id is None or i.customer_id == customer_id)
                and (status is None or i.status == status)
            ),
            key=lambda i: (i.created_at, i.id),
            reverse=True,  # assumption: newest first, as the seed's created_at and cursor paging suggest
        )
        start = 0
        cursor = params.get("cursor") or None
        if cursor is not None:
            after = _decode_cursor(cursor)
            position = next((n for n, i in enumerate(matching) if i.id == after), None)
            if position is None:
                # assumption: an unknown cursor is a 400 VALIDATION_ERROR (seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt's ErrorResponse)
                return _error(state, 400, "VALIDATION_ERROR", "Invalid cursor.", details={"field": "cursor"})
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
            position_fields if state.pagination_at_top else {"pagination": position_fields}
        )
        return _ok(state, {"invoices": [invoice_json(i) for i in page], **envelope})

    # seeds README (Afternoon): 1,000 requests/min, X-RateLimit-* headers, 429
    def rate_limit_headers() -> dict[str, str]:
        snapshot = state.controls.rate_limit_snapshot()
        if snapshot is None:
            return {}
        limit, remaining, reset = snapshot
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
        }

    routes = [
        Route("/v1/invoices", list_invoices, methods=["GET"]),
        Route("/v1/invoices/{invoice_id}", get_invoice, methods=["GET"]),
    ]
    middleware = [
        Middleware(
            ControlsMiddleware,
            controls=state.controls,
            faults=_AfternoonFaults(state),
            extra_headers=rate_limit_headers,
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
