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

import base64
import hmac
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_invoices.providers.emulation import Controls, ControlsMiddleware, json_response, render_pdf
from mcp_invoices.providers.emulator import Emulator, Seeded

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

PAYABLI_API_TOKEN = "payabli_sandbox_token"
"""The organisation-wide ``requestToken``."""
PAYABLI_ENTRY = "sandbox-entry"
"""The paypoint entry name used in ``/Query/invoices/{entry}``."""
PAYABLI_PAYPOINT_ID = 1147
PAYABLI_PARENT_ORG_ID = 230

PAYABLI_CUSTOMER_IDS: dict[str, int] = {"alice": 1001, "bob": 1002, "carol": 1003}
"""Payabli customer ids by sandbox name. Carol (1003) has no invoices."""

PAYABLI_INVOICE_IDS: dict[str, int] = {
    "alice_paid": 23548801,
    "alice_open_float_trap": 23548802,
    "alice_partially_paid": 23548803,
    "alice_draft": 23548804,
    "alice_cancelled": 23548805,
    "alice_open_overdue": 23548806,
    "bob_paid": 23548851,
    "bob_open": 23548852,
    "bob_partially_paid": 23548853,
    "bob_cancelled": 23548854,
}
"""Seeded invoice ids by role. Alice: paid 110.00 (tax 8.875% item), open 0.3 (items 0.1 + 0.2),
partially paid 1234.56 (paid 234.56), draft 59.97 (3 x 19.99), cancelled 49, open 250.00 due
2026-01-31 (overdue). Bob: paid 75.5, open 19.99, partially paid 300 (paid 100), cancelled 12.5."""

_PEOPLE = {
    "alice": (
        "Alice",
        "Anders",
        "Anders Studio",
        "1 Sandbox Street",
        "Austin",
        "TX",
        "78701",
        "512-555-0101",
    ),
    "bob": (
        "Bob",
        "Brown",
        "Brown & Co",
        "22 Example Avenue",
        "San Francisco",
        "CA",
        "94103",
        "415-555-0102",
    ),
    "carol": ("Carol", "Chen", "", "3 Test Lane", "Denver", "CO", "80202", "303-555-0103"),
}


@dataclass
class PayabliItem:
    name: str
    cost: Decimal
    qty: int = 1
    tax_rate: Decimal = Decimal(0)
    tax_amount: Decimal = Decimal(0)
    description: str = ""
    product_code: str = ""

    @property
    def total(self) -> Decimal:
        return self.cost * self.qty


@dataclass
class PayabliInvoice:
    id: int
    customer: str
    number: str
    status: int
    invoice_date: str
    due_date: str | None
    items: list[PayabliItem]
    amount: Decimal
    """``invoiceAmount`` as Payabli states it (items + tax + freight + duty - discount)."""
    paid_amount: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    discount: Decimal = Decimal(0)
    freight: Decimal = Decimal(0)
    notes: str | None = None
    sent_at: str | None = None
    last_payment_at: str | None = None
    created_at: str = ""


def _d(value: str) -> Decimal:
    return Decimal(value)


def _seed_invoices() -> list[PayabliInvoice]:
    ids = PAYABLI_INVOICE_IDS
    return [
        PayabliInvoice(
            ids["alice_paid"],
            "alice",
            "INV-1001-0001",
            4,
            "2026-01-05",
            "2026-02-04",
            [PayabliItem("Pro plan", _d("101.12"), 1, _d("8.875"), _d("8.88"), "Monthly plan", "PRO")],
            _d("110.00"),
            _d("110.00"),
            tax=_d("8.88"),
            sent_at="2026-01-05T10:00:00Z",
            last_payment_at="2026-01-10T16:20:00Z",
            created_at="2026-01-05T09:59:00Z",
        ),
        PayabliInvoice(
            ids["alice_open_float_trap"],
            "alice",
            "INV-1001-0002",
            1,
            "2026-02-05",
            "2030-03-07",
            [PayabliItem("Sticker", _d("0.1")), PayabliItem("Badge", _d("0.2"))],
            _d("0.3"),
            notes="Tiny amounts on purpose.",
            sent_at="2026-02-05T10:00:00Z",
            created_at="2026-02-05T09:59:00Z",
        ),
        PayabliInvoice(
            ids["alice_partially_paid"],
            "alice",
            "INV-1001-0003",
            2,
            "2026-03-05",
            "2030-04-04",
            [PayabliItem("Standing desk", _d("1234.56"))],
            _d("1234.56"),
            _d("234.56"),
            sent_at="2026-03-05T10:00:00Z",
            last_payment_at="2026-03-20T12:00:00Z",
            created_at="2026-03-05T09:59:00Z",
        ),
        PayabliInvoice(
            ids["alice_draft"],
            "alice",
            "INV-1001-0004",
            0,
            "2026-04-05",
            None,
            [PayabliItem("Hoodie", _d("19.99"), 3)],
            _d("59.97"),
            created_at="2026-04-05T09:59:00Z",
        ),
        PayabliInvoice(
            ids["alice_cancelled"],
            "alice",
            "INV-1001-0005",
            99,
            "2026-04-15",
            "2026-05-15",
            [PayabliItem("Cancelled booking", _d("49"))],
            _d("49"),
            sent_at="2026-04-15T10:00:00Z",
            created_at="2026-04-15T09:59:00Z",
        ),
        PayabliInvoice(
            ids["alice_open_overdue"],
            "alice",
            "INV-1001-0006",
            1,
            "2026-01-01",
            "2026-01-31",
            [PayabliItem("Consulting", _d("125.00"), 2)],
            _d("250.00"),
            sent_at="2026-01-01T10:00:00Z",
            created_at="2026-01-01T09:59:00Z",
        ),
        PayabliInvoice(
            ids["bob_paid"],
            "bob",
            "INV-1002-0001",
            4,
            "2026-01-12",
            "2026-02-11",
            [PayabliItem("Mug", _d("35.25"), 2)],
            _d("75.5"),
            _d("75.5"),
            freight=_d("5"),
            sent_at="2026-01-12T10:00:00Z",
            last_payment_at="2026-01-13T08:00:00Z",
            created_at="2026-01-12T09:59:00Z",
        ),
        PayabliInvoice(
            ids["bob_open"],
            "bob",
            "INV-1002-0002",
            1,
            "2026-02-12",
            "2030-03-14",
            [PayabliItem("Phone case", _d("19.99"))],
            _d("19.99"),
            sent_at="2026-02-12T10:00:00Z",
            created_at="2026-02-12T09:59:00Z",
        ),
        PayabliInvoice(
            ids["bob_partially_paid"],
            "bob",
            "INV-1002-0003",
            2,
            "2026-03-12",
            "2026-04-11",
            [PayabliItem("Workshop", _d("300"))],
            _d("300"),
            _d("100"),
            sent_at="2026-03-12T10:00:00Z",
            last_payment_at="2026-03-15T09:00:00Z",
            created_at="2026-03-12T09:59:00Z",
        ),
        PayabliInvoice(
            ids["bob_cancelled"],
            "bob",
            "INV-1002-0004",
            99,
            "2026-04-12",
            "2026-05-12",
            [PayabliItem("Tea", _d("12.5"))],
            _d("12.5"),
            created_at="2026-04-12T09:59:00Z",
        ),
    ]


def _extra_invoices(customer: str, count: int, first_id: int) -> list[PayabliInvoice]:
    """Deterministic bulk invoices (benchmarks): one a day back from 2025-12-31, statuses cycled."""
    statuses = (4, 4, 1, 2, 0, 99)
    end = date(2025, 12, 31)
    invoices = []
    for n in range(count):
        day = end - timedelta(days=n % 3650)
        cost = Decimal(f"{10 + n % 90}.{n % 100:02d}")
        status = statuses[n % len(statuses)]
        paid = cost if status == 4 else (cost / 2).quantize(Decimal("0.01")) if status == 2 else Decimal(0)
        invoices.append(
            PayabliInvoice(
                first_id + n,
                customer,
                f"INV-BULK-{n:05d}",
                status,
                day.isoformat(),
                (day + timedelta(days=30)).isoformat(),
                [PayabliItem(f"Bulk item {n}", cost)],
                cost,
                paid,
                created_at=f"{day.isoformat()}T09:00:00Z",
            )
        )
    return invoices


PdfExportMode = Literal["file", "pdf", "empty", "html"]
FilterMode = Literal["honour", "ignore", "reject_unknown"]


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
            for invoice in _seed_invoices():
                self.invoices[invoice.id] = invoice
        if self.extra_invoices:
            for invoice in _extra_invoices(self.extra_invoices_customer, self.extra_invoices, 30000001):
                self.invoices[invoice.id] = invoice


# --------------------------------------------------------------------------------------------
# Wire shapes
# --------------------------------------------------------------------------------------------


def _customer_json(customer: str) -> dict[str, Any]:
    first, last, company, address, city, state, zip_code, phone = _PEOPLE[customer]
    customer_id = PAYABLI_CUSTOMER_IDS[customer]
    return {
        "AdditionalData": None,
        "BillingAddress1": address,
        "BillingAddress2": None,
        "BillingCity": city,
        "BillingCountry": "US",
        "BillingEmail": f"{customer}@example.com",
        "BillingPhone": phone,
        "BillingState": state,
        "BillingZip": zip_code,
        "CompanyName": company or None,
        "customerId": customer_id,
        "CustomerNumber": f"C-{customer_id}",
        "customerStatus": 1,
        "FirstName": first,
        "Identifiers": ["customerNumber"],
        "LastName": last,
        "ShippingAddress1": None,
        "ShippingAddress2": None,
        "ShippingCity": None,
        "ShippingCountry": None,
        "ShippingState": None,
        "ShippingZip": None,
    }


def invoice_json(invoice: PayabliInvoice, *, query_record: bool = False) -> dict[str, Any]:
    """``GetInvoiceRecord`` (``GET /Invoice``), or with ``query_record`` a Query listing's record."""
    first, last, company, address, city, state, zip_code, phone = _PEOPLE[invoice.customer]
    # extraData is an object: sdk-rust 0c28d94 src/api/types/general_events.rs (HashMap) and the
    # API definition's own example ({"key": "value"}); payabli 1.0.19 types/general_events.py says str.
    events = [
        {
            "description": "Invoice created",
            "eventTime": invoice.created_at,
            "extraData": {},
            "refData": "",
            "source": "api",
        }
    ]
    if invoice.sent_at:
        events.append(
            {
                "description": "Invoice sent",
                "eventTime": invoice.sent_at,
                "extraData": {},
                "refData": "",
                "source": "api",
            }
        )
    record: dict[str, Any] = {
        "invoiceId": invoice.id,
        "customerId": PAYABLI_CUSTOMER_IDS[invoice.customer],
        "paypointId": PAYABLI_PAYPOINT_ID,
        "invoiceNumber": invoice.number,
        "invoiceDate": invoice.invoice_date,
        "invoiceDueDate": invoice.due_date,
        # payabli 1.0.19 types/get_invoice_record.py: a date-time; query_invoice_response_records_item.py:
        # a date (the API definition's examples agree: "2025-10-19T00:00:00Z" / "2025-03-05").
        "invoiceSentDate": (invoice.sent_at[:10] if query_record else invoice.sent_at)
        if invoice.sent_at
        else None,
        "invoiceEndDate": None,
        "lastPaymentDate": invoice.last_payment_at,
        "createdAt": invoice.created_at,
        "invoiceStatus": invoice.status,
        "invoiceType": 0,
        "frequency": "onetime",
        "paymentTerms": "NET30",
        "termsConditions": None,
        "notes": invoice.notes,
        "tax": invoice.tax,
        "discount": invoice.discount,
        "invoiceAmount": invoice.amount,
        "invoicePaidAmount": invoice.paid_amount,
        "freightAmount": invoice.freight,
        "dutyAmount": Decimal(0),
        "purchaseOrder": "",
        "firstName": first,
        "lastName": last,
        "company": company,
        "shippingAddress1": address,
        "shippingAddress2": "",
        "shippingCity": city,
        "shippingState": state,
        "shippingZip": zip_code,
        "shippingFromZip": "",
        "shippingCountry": "US",
        "shippingEmail": f"{invoice.customer}@example.com",
        "shippingPhone": phone,
        "summaryCommodityCode": "",
        "items": [
            {
                "itemCategories": [],
                "itemCommodityCode": "",
                "itemCost": item.cost,
                "itemDescription": item.description,
                "itemMode": 0,
                "itemProductCode": item.product_code,
                "itemProductName": item.name,
                "itemQty": item.qty,
                "itemTaxAmount": item.tax_amount,
                "itemTaxRate": item.tax_rate,
                "itemTotalAmount": item.total,
                "itemUnitOfMeasure": "EA",
            }
            for item in invoice.items
        ],
        "Customer": _customer_json(invoice.customer),
        "paylinkId": "",
        "billEvents": events,
        "scheduledOptions": {"includePaylink": False, "includePdf": True},
        "PaypointLegalname": "Sandbox Goods LLC",
        "PaypointDbaname": "Sandbox Goods",
        "PaypointEntryname": PAYABLI_ENTRY,
        "ParentOrgName": "Sandbox Org",
        "AdditionalData": {},
        "DocumentsRef": {"filelist": [], "zipfile": ""},
        "externalPaypointID": "",
    }
    if query_record:
        # payabli 1.0.19 types/query_invoice_response_records_item.py: ParentOrgId is required there.
        record["ParentOrgId"] = PAYABLI_PARENT_ORG_ID
    return record


def invoice_pdf(invoice: PayabliInvoice) -> bytes:
    lines = [f"{item.qty} x {item.name} @ {item.cost} = {item.total}" for item in invoice.items]
    lines += [
        f"Tax: {invoice.tax}",
        f"Invoice amount: {invoice.amount} USD",
        f"Paid: {invoice.paid_amount} USD",
    ]
    return render_pdf(f"Invoice {invoice.number}", lines)


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


# --------------------------------------------------------------------------------------------
# Query filters
# --------------------------------------------------------------------------------------------

_COMPARISONS = ("gt", "ge", "lt", "le", "eq", "ne")
# payabli 1.0.19 invoice/raw_client.py list_invoices docstring: "Accepted field names" and operators.
_FILTER_FIELDS: dict[str, tuple[str, tuple[str, ...], Callable[[PayabliInvoice], Any]]] = {
    "customerId": ("int", ("eq", "ne"), lambda i: PAYABLI_CUSTOMER_IDS[i.customer]),
    "status": ("int", ("in", "nin", "eq", "ne"), lambda i: i.status),
    "invoiceNumber": ("str", ("ct", "nct", "eq", "ne"), lambda i: i.number),
    "invoiceDate": ("date", _COMPARISONS, lambda i: i.invoice_date),
    "dueDate": ("date", _COMPARISONS, lambda i: i.due_date),
    "totalAmount": ("decimal", _COMPARISONS, lambda i: i.amount),
    "paidAmount": ("decimal", _COMPARISONS, lambda i: i.paid_amount),
}
_PAGING_KEYS = frozenset({"fromRecord", "limitRecord", "sortBy", "exportFormat"})


def _convert(kind: str, raw: str) -> Any:
    if kind == "int":
        return int(raw)
    if kind == "decimal":
        return Decimal(raw)
    if kind == "date":
        return date.fromisoformat(raw[:10]).isoformat()
    return raw


def _filter_key(key: str) -> str:
    """``parameters[status(eq)]`` (how payabli 1.0.19 encodes its ``parameters`` dict) → ``status(eq)``."""
    # payabli 1.0.19 core/query_encoder.py traverse_query_dict: a dict query value becomes key[subkey].
    if key.startswith("parameters[") and key.endswith("]"):
        return key[len("parameters[") : -1]
    return key


def _parse_filters(params: Any, mode: FilterMode) -> list[tuple[Any, str, Any]] | str:
    """``[(getter, op, value)]`` from ``field(op)=value`` keys, or an error text."""
    filters = []
    for raw_key, raw in params.multi_items():
        key = _filter_key(raw_key)
        if key in _PAGING_KEYS:
            continue
        name, _, op = key[:-1].partition("(") if key.endswith(")") else (key, "", "")
        known = name in _FILTER_FIELDS and op in _FILTER_FIELDS[name][1]
        if not known:
            if mode == "reject_unknown":
                return f"Unknown filter {key!r}"
            continue  # the reference does not say; ignoring is the harsher case for a client
        if mode == "ignore":
            continue
        kind, _, getter = _FILTER_FIELDS[name]
        try:
            # The separator of in/nin values is not documented; a comma is assumed here.
            many = op in ("in", "nin")
            value = [_convert(kind, part) for part in raw.split(",")] if many else _convert(kind, raw)
        except (ValueError, InvalidOperation):
            return f"Invalid value for {key}"
        filters.append((getter, op, value))
    return filters


# Text comparisons are case-sensitive here (the reference does not say; the harsher case).
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
    "in": lambda actual, wanted: actual in wanted,
    "nin": lambda actual, wanted: actual not in wanted,
    "ct": lambda actual, wanted: wanted in actual,
    "nct": lambda actual, wanted: wanted not in actual,
}


def _matches(invoice: PayabliInvoice, filters: list[tuple[Any, str, Any]]) -> bool:
    for getter, op, value in filters:
        actual = getter(invoice)
        if actual is None or not _COMPARE[op](actual, value):
            return False
    return True


def _file_object(invoice: PayabliInvoice) -> dict[str, Any]:
    """The PDF export's answer: payabli 1.0.19 types/file_content.py (fContent base64, filename, ftype)."""
    content = base64.b64encode(invoice_pdf(invoice)).decode("ascii")
    return {"fContent": content, "filename": f"{invoice.number}.pdf", "ftype": "pdf", "furl": None}


def create_app(state: PayabliState | None = None) -> Starlette:
    state = state if state is not None else PayabliState()

    def auth_failure(request: Request) -> Response | None:
        token = request.headers.get("requesttoken")
        if not token or not any(hmac.compare_digest(token, known) for known in state.tokens):
            return _error(401, "Unauthorized")
        return None

    def find(raw_id: str) -> tuple[PayabliInvoice | None, Response | None]:
        try:
            invoice_id = int(raw_id)
        except ValueError:
            return None, _bad_request(f"idInvoice must be an integer, got {raw_id!r}.")
        invoice = state.invoices.get(invoice_id)
        if invoice is None:
            # GET /Invoice documents 400 (no 404) with PayabliErrorBody; the code is the codes table's
            # 3003 (docs.payabli.com/api-reference/api-responses), the wording deliberately generic.
            return None, _error(
                state.not_found_status,
                "Invalid parameter value in request",
                {"explanation": "The value of idInvoice is incorrect.", "todoAction": "Check the id."},
                code=3003,
            )
        return invoice, None

    async def get_invoice(request: Request) -> Response:
        failure = auth_failure(request)
        if failure is not None:
            return failure
        invoice, failure = find(request.path_params["invoice_id"])
        if invoice is None:
            return failure or _error(500, "Internal API Error")
        return json_response(invoice_json(invoice))

    async def query_invoices(request: Request) -> Response:
        failure = auth_failure(request)
        if failure is not None:
            return failure
        if request.path_params["entry"] != state.entry:
            return _bad_request(f"Unknown entry point {request.path_params['entry']!r}.")
        params = request.query_params
        try:
            from_record = int(params.get("fromRecord") or 0)
            limit_record = int(params.get("limitRecord") or 20)
        except ValueError:
            return _bad_request("fromRecord and limitRecord must be integers.")
        if from_record < 0:
            return _bad_request("fromRecord must not be negative.")
        filters = _parse_filters(params, state.filters)
        if isinstance(filters, str):
            return _bad_request(filters)
        matching = sorted(
            (i for i in state.invoices.values() if _matches(i, filters)),
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

    async def query_customers(request: Request) -> Response:
        # payabli SDK 1.0.19 query/client.py ``list_customers``: GET /Query/customers/{entry} with filters
        # such as ``email(eq)``; the answer is ``QueryCustomerResponse`` {Records: [CustomerQueryRecords
        # (customerId, Email, ...)], Summary}.
        failure = auth_failure(request)
        if failure is not None:
            return failure
        if request.path_params["entry"] != state.entry:
            return _bad_request(f"Unknown entry point {request.path_params['entry']!r}.")
        email = request.query_params.get("email(eq)")
        records = [
            {
                "customerId": PAYABLI_CUSTOMER_IDS[name],
                "Email": f"{name}@example.com",
                "Firstname": _PEOPLE[name][0],
            }
            for name in PAYABLI_CUSTOMER_IDS
            if email is None or f"{name}@example.com" == email.lower()
        ]
        return json_response(
            {"Records": records, "Summary": {"totalRecords": len(records), "pageSize": max(1, len(records))}}
        )

    async def export_pdf(request: Request) -> Response:
        failure = auth_failure(request)
        if failure is not None:
            return failure
        invoice, failure = find(request.path_params["invoice_id"])
        if invoice is None:
            return failure or _error(500, "Internal API Error")
        # payabli 1.0.19 invoice/raw_client.py get_invoice_pdf: a 200's body is parsed as JSON (File, a dict).
        if state.pdf_export == "file":
            return json_response(_file_object(invoice))
        if state.pdf_export == "empty":
            return json_response({"fContent": None, "filename": None, "ftype": None, "furl": None})
        if state.pdf_export == "html":
            return Response(
                b"<!DOCTYPE html><html><body>Please sign in to continue.</body></html>",
                media_type="text/html",
            )
        return Response(
            invoice_pdf(invoice),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{invoice.number}.pdf"'},
        )

    routes = [
        Route("/api/Invoice/{invoice_id}", get_invoice, methods=["GET"]),
        Route("/api/Query/invoices/{entry}", query_invoices, methods=["GET"]),
        Route("/api/Query/customers/{entry}", query_customers, methods=["GET"]),
        Route("/api/Export/invoicePdf/{invoice_id}", export_pdf, methods=["GET"]),
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
