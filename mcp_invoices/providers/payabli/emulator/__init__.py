"""Emulator of Payabli's invoice API, as the ``payabli`` SDK 1.0.19 and Payabli's reference describe it.

Payabli base URLs end in ``/api``; so do this emulator's routes (base URL e.g.
``http://127.0.0.1:PORT/payabli/api``). Every request needs the ``requestToken`` header.

- ``GET /api/Invoice/{idInvoice}`` → ``GetInvoiceRecord`` (amounts are JSON numbers in major units,
  written with the digits stored — ``0.3``, ``110.00``, ``75.5``). A missing invoice → 400 with
  Payabli's error body (``isSuccess: false``, ``responseCode`` 3003, ``responseText``,
  ``responseData``); a non-integer id → 400.
- ``GET /api/Query/invoices/{entry}?fromRecord=&limitRecord=&sortBy=&<field>(<op>)=<value>`` →
  ``QueryInvoiceResponse``: ``{Records: [...], Summary: {totalRecords, totalAmount, totalNetAmount,
  totalPages, pageSize, pageIdentifier}}``. Filters are the documented ones (``customerId``, ``status``,
  ``invoiceNumber``, ``invoiceDate``, ``dueDate``, ``totalAmount``, ``paidAmount``, each with its
  documented operators); any other key is ignored (the reference does not say what Payabli does, and
  ignoring is the harsher case for a client). ``limitRecord`` defaults to 20; 0 or less returns all.
  Newest ``invoiceDate`` first. Another entry than the sandbox's → 400.
- ``GET /api/Export/invoicePdf/{idInvoice}`` → a JSON file object (``fContent`` base64, ``filename``,
  ``ftype``, ``furl``); the ``pdf_export`` switch makes it answer raw bytes, an empty file object or an
  HTML page instead.

The token is organisation-wide: any customer's invoice is returned; the server enforces scope.
Errors: ``{isSuccess: false, responseCode, responseText, responseData}`` with 400/401/500/503.
``invoiceStatus``: 0 draft, 1 active/open, 2 partially paid, 4 paid, 99 canceled. Payabli records
carry no currency (paypoints settle in USD); every sandbox invoice is USD.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_invoices.providers.emulation import Controls, ControlsMiddleware, json_response
from mcp_invoices.providers.emulation.emulator import Emulator, Seeded
from mcp_invoices.providers.payabli.emulator.query_filters import FilterMode, matches, parse_filters
from mcp_invoices.providers.payabli.emulator.records import file_object, invoice_json, invoice_pdf
from mcp_invoices.providers.payabli.emulator.seed import (
    PAYABLI_API_TOKEN,
    PAYABLI_CUSTOMER_IDS,
    PAYABLI_ENTRY,
    PAYABLI_INVOICE_IDS,
    PEOPLE,
    PayabliInvoice,
    PayabliItem,
    extra_invoices,
    seed_invoices,
)

__all__ = [
    "EMULATOR",
    "PAYABLI_API_TOKEN",
    "PAYABLI_CUSTOMER_IDS",
    "PAYABLI_ENTRY",
    "PAYABLI_INVOICE_IDS",
    "PayabliInvoice",
    "PayabliItem",
    "PayabliState",
    "create_app",
]

PdfExportMode = Literal["file", "pdf", "empty", "html"]


@dataclass
class PayabliState:
    """Seeded Payabli data plus switches. Mutate freely in tests."""

    extra_invoices: int = 0
    """Add this many deterministic invoices (ids from 30000001) to ``extra_invoices_customer``."""
    extra_invoices_customer: str = "alice"
    pdf_export: PdfExportMode = "file"
    """What ``/Export/invoicePdf`` answers (all with 200): Payabli's JSON file object (``file``), the
    raw PDF bytes (``pdf``), a file object without content (``empty``), or an HTML page (``html``)."""
    filters: FilterMode = "honour"
    """How Query filters are applied: documented keys honoured and unknown ones ignored (``honour``),
    every filter ignored (``ignore``), or an unknown key refused with 400 (``reject_unknown``)."""
    not_found_status: int = 400
    """Status for a missing invoice (the reference documents no 404 for ``GET /Invoice``)."""
    tokens: set[str] = field(default_factory=lambda: {PAYABLI_API_TOKEN})
    entry: str = PAYABLI_ENTRY
    controls: Controls = field(default_factory=Controls)
    invoices: dict[int, PayabliInvoice] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.invoices:
            for invoice in seed_invoices():
                self.invoices[invoice.id] = invoice
        if self.extra_invoices:
            for invoice in extra_invoices(self.extra_invoices_customer, self.extra_invoices, 30000001):
                self.invoices[invoice.id] = invoice


_TEXTS = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    500: "Internal API Error",
    502: "Bad gateway",
    503: "Database connection error",
}


def _error(
    status: int,
    text: str,
    data: Any = None,
    headers: dict[str, str] | None = None,
    *,
    code: int | None = None,
) -> Response:
    # payabli 1.0.19 types/payabli_error_body.py: isSuccess, responseCode (optional), responseText, responseData.
    body = {"isSuccess": False, "responseCode": code, "responseText": text, "responseData": data}
    return json_response(body, status, headers)


def _bad_request(explanation: str, code: int = 3003) -> Response:
    # docs.payabli.com/api-reference/api-responses: 3003 "Invalid parameter value in request".
    return _error(
        400,
        "Bad request",
        {"explanation": explanation, "todoAction": "Check the request and retry."},
        code=code,
    )


class _PayabliFaults:
    def error(self, status: int) -> Response:
        return _error(status, _TEXTS.get(status, "Error"))

    def rate_limited(self, retry_after: int) -> Response:
        return _error(429, "Too many requests", None, {"Retry-After": str(retry_after)})


class _PayabliApi:
    """The routes' handlers, over one state."""

    def __init__(self, state: PayabliState) -> None:
        self.state = state

    def auth_failure(self, request: Request) -> Response | None:
        token = request.headers.get("requesttoken")
        if not token or not any(hmac.compare_digest(token, known) for known in self.state.tokens):
            return _error(401, "Unauthorized")
        return None

    def requested_invoice(self, request: Request) -> PayabliInvoice | Response:
        """The invoice the path names, or Payabli's refusal (the token, a malformed or unknown id)."""
        failure = self.auth_failure(request)
        if failure is not None:
            return failure
        raw_id = request.path_params["invoice_id"]
        try:
            invoice_id = int(raw_id)
        except ValueError:
            return _bad_request(f"idInvoice must be an integer, got {raw_id!r}.")
        invoice = self.state.invoices.get(invoice_id)
        if invoice is None:
            # GET /Invoice documents 400 (no 404) with PayabliErrorBody; the code is the codes table's
            # 3003 (docs.payabli.com/api-reference/api-responses), the wording deliberately generic.
            return _error(
                self.state.not_found_status,
                "Invalid parameter value in request",
                {"explanation": "The value of idInvoice is incorrect.", "todoAction": "Check the id."},
                code=3003,
            )
        return invoice

    async def get_invoice(self, request: Request) -> Response:
        invoice = self.requested_invoice(request)
        if isinstance(invoice, Response):
            return invoice
        return json_response(invoice_json(invoice))

    async def query_invoices(self, request: Request) -> Response:
        failure = self.auth_failure(request)
        if failure is not None:
            return failure
        if request.path_params["entry"] != self.state.entry:
            return _bad_request(f"Unknown entry point {request.path_params['entry']!r}.")
        params = request.query_params
        try:
            from_record = int(params.get("fromRecord") or 0)
            limit_record = int(params.get("limitRecord") or 20)
        except ValueError:
            return _bad_request("fromRecord and limitRecord must be integers.")
        if from_record < 0:
            return _bad_request("fromRecord must not be negative.")
        filters = parse_filters(params, self.state.filters)
        if isinstance(filters, str):
            return _bad_request(filters)
        matching = sorted(
            (i for i in self.state.invoices.values() if matches(i, filters)),
            key=lambda i: (i.invoice_date, i.id),
            reverse=True,
        )
        page = (
            matching[from_record:]
            if limit_record <= 0
            else matching[from_record : from_record + limit_record]
        )
        page_size = limit_record if limit_record > 0 else max(1, len(matching))
        total_amount = sum((i.amount for i in matching), Decimal(0))
        total_net = sum((i.amount - i.tax for i in matching), Decimal(0))
        return json_response(
            {
                "Records": [invoice_json(i, query_record=True) for i in page],
                "Summary": {
                    "totalRecords": len(matching),
                    "totalAmount": total_amount,
                    "totalNetAmount": total_net,
                    "totalPages": math.ceil(len(matching) / page_size),
                    "pageSize": page_size,
                    "pageIdentifier": None,
                },
            }
        )

    async def query_customers(self, request: Request) -> Response:
        # payabli SDK 1.0.19 query/client.py ``list_customers``: GET /Query/customers/{entry} with filters
        # such as ``email(eq)``; the answer is ``QueryCustomerResponse`` {Records: [CustomerQueryRecords
        # (customerId, Email, ...)], Summary}.
        failure = self.auth_failure(request)
        if failure is not None:
            return failure
        if request.path_params["entry"] != self.state.entry:
            return _bad_request(f"Unknown entry point {request.path_params['entry']!r}.")
        email = request.query_params.get("email(eq)")
        records = [
            {
                "customerId": PAYABLI_CUSTOMER_IDS[name],
                "Email": f"{name}@example.com",
                "Firstname": PEOPLE[name][0],
            }
            for name in PAYABLI_CUSTOMER_IDS
            if email is None or f"{name}@example.com" == email.lower()
        ]
        return json_response(
            {"Records": records, "Summary": {"totalRecords": len(records), "pageSize": max(1, len(records))}}
        )

    async def export_pdf(self, request: Request) -> Response:
        invoice = self.requested_invoice(request)
        if isinstance(invoice, Response):
            return invoice
        # payabli 1.0.19 invoice/raw_client.py get_invoice_pdf: a 200's body is parsed as JSON (File, a dict).
        if self.state.pdf_export == "file":
            return json_response(file_object(invoice))
        if self.state.pdf_export == "empty":
            return json_response({"fContent": None, "filename": None, "ftype": None, "furl": None})
        if self.state.pdf_export == "html":
            return Response(
                b"<!DOCTYPE html><html><body>Please sign in to continue.</body></html>",
                media_type="text/html",
            )
        return Response(
            invoice_pdf(invoice),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{invoice.number}.pdf"'},
        )


def create_app(state: PayabliState | None = None) -> Starlette:
    state = state if state is not None else PayabliState()
    api = _PayabliApi(state)

    routes = [
        Route("/api/Invoice/{invoice_id}", api.get_invoice, methods=["GET"]),
        Route("/api/Query/invoices/{entry}", api.query_invoices, methods=["GET"]),
        Route("/api/Query/customers/{entry}", api.query_customers, methods=["GET"]),
        Route("/api/Export/invoicePdf/{invoice_id}", api.export_pdf, methods=["GET"]),
    ]
    middleware = [Middleware(ControlsMiddleware, controls=state.controls, faults=_PayabliFaults())]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.sandbox = state
    return app


EMULATOR: Emulator[PayabliState] = Emulator(
    mount="/payabli",
    api_path="/api",
    state=PayabliState,
    create_app=create_app,
    credentials=lambda customer: {"api_token": PAYABLI_API_TOKEN},
    customer_ids={name: str(number) for name, number in PAYABLI_CUSTOMER_IDS.items()},
    options={"entry": PAYABLI_ENTRY},
    seeded=Seeded(
        invoices={
            "alice": str(PAYABLI_INVOICE_IDS["alice_paid"]),
            "bob": str(PAYABLI_INVOICE_IDS["bob_open"]),
        },
        missing_invoice="23540000",
    ),
)
"""What the sandbox mounts (``ProviderSpec.emulator``)."""
