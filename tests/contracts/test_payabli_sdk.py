"""Payabli's own SDK (``payabli`` 1.0.19) as the judge of our client and our emulator.

- The SDK reads everything the emulator serves (listings, every invoice, the PDF export) without a
  parsing error — except ``billEvents[].extraData``, where the SDK's model is itself wrong (below).
- Answers built with the SDK's own models (every documented status, optional fields null, amounts
  as the SDK's floats) come out of our client with exact decimal money.
- Every request our client sends is the request the SDK makes for the same operation: method, path,
  the ``requestToken`` header, and query keys (filters among the SDK's documented names).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from payabli import Asyncpayabli
from payabli.invoice.raw_client import RawInvoiceClient
from payabli.types.get_invoice_record import GetInvoiceRecord
from payabli.types.query_invoice_response import QueryInvoiceResponse
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_invoices.domain.models import InvoiceFilter, InvoiceStatus
from mcp_invoices.principal import Scope as Session
from mcp_invoices.providers.emulation import running_app
from mcp_invoices.providers.payabli import emulator
from mcp_invoices.providers.payabli.client import PayabliProvider

TOKEN = emulator.PAYABLI_API_TOKEN
ENTRY = emulator.PAYABLI_ENTRY
IDS = emulator.PAYABLI_INVOICE_IDS
ALICE = Session("payabli", "1001")


# --------------------------------------------------------------------------------------------
# Where the SDK's model is wrong about the live API
# --------------------------------------------------------------------------------------------


def _without_event_extra_data(body: Any) -> Any:
    """``billEvents[].extraData`` removed: payabli 1.0.19 types/general_events.py types it ``str``, but
    Payabli's API definition gives an object (its own example ``{"key": "value"}`` in the wiremock
    mappings generated from it, and sdk-rust 0c28d94 src/api/types/general_events.rs: a HashMap)."""
    if isinstance(body, dict):
        return {
            key: (
                [{k: v for k, v in event.items() if k != "extraData"} for event in value]
                if key == "billEvents" and isinstance(value, list)
                else _without_event_extra_data(value)
            )
            for key, value in body.items()
        }
    if isinstance(body, list):
        return [_without_event_extra_data(item) for item in body]
    return body


class _SkipExtraData(httpx.AsyncBaseTransport):
    """The SDK's transport, with only ``billEvents[].extraData`` taken out of JSON answers."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        content = await response.aread()
        if response.headers.get("content-type", "").startswith("application/json"):
            content = json.dumps(_without_event_extra_data(json.loads(content))).encode()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return httpx.Response(response.status_code, headers=headers, content=content)

    async def aclose(self) -> None:
        await self._inner.aclose()


# --------------------------------------------------------------------------------------------
# A recorder in front of the emulator: what each client really sends
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]

    @property
    def filter_keys(self) -> set[str]:
        """Query keys, ``parameters[k]`` (how the SDK encodes its ``parameters`` dict) read as ``k``."""
        return {re.sub(r"^parameters\[(.*)\]$", r"\1", key) for key, _ in self.query}


def recording(app: ASGIApp, log: list[Sent]) -> ASGIApp:
    async def recorder(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            log.append(
                Sent(
                    request.method,
                    request.url.path,
                    list(request.query_params.multi_items()),
                    {k.lower(): v for k, v in request.headers.items()},
                )
            )
        await app(scope, receive, send)

    return recorder


@dataclass
class Both:
    sdk: Asyncpayabli
    ours: PayabliProvider
    log: list[Sent]

    async def sent_by(self, call: Callable[[], Awaitable[Any]]) -> list[Sent]:
        start = len(self.log)
        await call()
        return self.log[start:]


@pytest.fixture
async def both() -> AsyncIterator[Both]:
    log: list[Sent] = []
    async with running_app(recording(emulator.create_app(emulator.PayabliState()), log)) as url:
        http = httpx.AsyncClient(transport=_SkipExtraData())
        sdk = Asyncpayabli(api_key=TOKEN, base_url=f"{url}/api", httpx_client=http)
        ours = PayabliProvider(base_url=f"{url}/api", api_token=SecretStr(TOKEN), entry=ENTRY)
        try:
            yield Both(sdk, ours, log)
        finally:
            await ours.aclose()
            await http.aclose()


# --------------------------------------------------------------------------------------------
# The SDK reads our emulator
# --------------------------------------------------------------------------------------------


async def test_the_sdk_lists_every_invoice_the_emulator_serves(both: Both) -> None:
    every = await both.sdk.invoice.list_invoices(ENTRY, limit_record=0)
    assert isinstance(every, QueryInvoiceResponse)
    assert sorted(record.invoice_id for record in every.records or []) == sorted(IDS.values())
    alices = await both.sdk.invoice.list_invoices(
        ENTRY, limit_record=0, parameters={"customerId(eq)": "1001"}
    )
    assert {record.customer_id for record in alices.records or []} == {1001}


async def test_the_sdk_reads_every_invoice_the_emulator_serves(both: Both) -> None:
    for invoice_id in IDS.values():
        record = await both.sdk.invoice.get_invoice(invoice_id)
        assert isinstance(record, GetInvoiceRecord) and record.invoice_id == invoice_id


async def test_the_sdk_reads_the_pdf_export_as_payablis_file_object(both: Both) -> None:
    answer = await both.sdk.invoice.get_invoice_pdf(IDS["alice_paid"])
    assert answer["ftype"] == "pdf" and base64.b64decode(answer["fContent"]).startswith(b"%PDF-")


# --------------------------------------------------------------------------------------------
# Our requests are the SDK's requests
# --------------------------------------------------------------------------------------------


def _documented_filters() -> dict[str, set[str]]:
    """``{field: operators}`` from the SDK's list_invoices docstring ("Accepted field names")."""
    doc = RawInvoiceClient.list_invoices.__doc__ or ""
    fields = re.findall(r"^\s*- `([A-Za-z-]+)` \(([a-z ,]+)\)", doc, re.MULTILINE)
    return {name: {op.strip() for op in ops.split(",")} for name, ops in fields}


def _assert_documented(keys: set[str]) -> None:
    documented = _documented_filters()
    assert {"status", "dueDate", "invoiceNumber", "customerId", "invoiceDate"} <= set(documented)
    for key in keys - {"fromRecord", "limitRecord", "sortBy"}:
        name, _, op = key.rstrip(")").partition("(")
        assert op in documented.get(name, set()), f"{key} is not a filter the SDK documents"


async def test_reading_an_invoice_is_the_sdks_get_invoice(both: Both) -> None:
    [sdk] = await both.sent_by(lambda: both.sdk.invoice.get_invoice(IDS["alice_paid"]))
    [ours] = await both.sent_by(lambda: both.ours.get_invoice(ALICE, str(IDS["alice_paid"])))
    assert (
        (ours.method, ours.path, ours.query)
        == (sdk.method, sdk.path, sdk.query)
        == (
            "GET",
            f"/api/Invoice/{IDS['alice_paid']}",
            [],
        )
    )
    assert ours.headers["requesttoken"] == sdk.headers["requesttoken"] == TOKEN


async def test_a_filtered_listing_is_the_sdks_list_invoices_with_documented_filters(both: Both) -> None:
    query = InvoiceFilter(status=InvoiceStatus.OPEN, due_before=date(2030, 12, 31))
    [ours] = await both.sent_by(lambda: both.ours.list_invoices(ALICE, query, limit=20, cursor=None))
    parameters = {key: value for key, value in ours.query if "(" in key and key != "sortBy"}
    [sdk] = await both.sent_by(
        lambda: both.sdk.invoice.list_invoices(
            ENTRY, from_record=0, limit_record=20, parameters=parameters, sort_by="desc(invoiceDate)"
        )
    )
    assert (ours.method, ours.path) == (sdk.method, sdk.path) == ("GET", f"/api/Query/invoices/{ENTRY}")
    assert ours.filter_keys == sdk.filter_keys
    assert ours.headers["requesttoken"] == sdk.headers["requesttoken"] == TOKEN
    _assert_documented(ours.filter_keys)


@pytest.mark.parametrize(
    "query",
    [
        InvoiceFilter(status=InvoiceStatus.PAID),
        InvoiceFilter(overdue=True, as_of=date(2026, 6, 1)),
        InvoiceFilter(due_after=date(2026, 1, 1), due_before=date(2026, 12, 31)),
        InvoiceFilter(issued_after=date(2026, 1, 1), issued_before=date(2026, 12, 31)),
    ],
    ids=["status", "overdue", "due", "issued"],
)
async def test_every_filter_our_client_sends_is_one_the_sdk_documents(
    both: Both, query: InvoiceFilter
) -> None:
    sent = await both.sent_by(lambda: both.ours.list_invoices(ALICE, query, limit=20, cursor=None))
    for request in sent:
        _assert_documented(request.filter_keys)


async def test_a_number_lookup_sends_only_documented_filters(both: Both) -> None:
    sent = await both.sent_by(lambda: both.ours.get_invoice(ALICE, "inv-1001-0006"))
    assert sent
    for request in sent:
        _assert_documented(request.filter_keys)


async def test_the_pdf_is_the_sdks_get_invoice_pdf(both: Both) -> None:
    [sdk] = await both.sent_by(lambda: both.sdk.invoice.get_invoice_pdf(IDS["alice_paid"]))
    _, ours = await both.sent_by(lambda: both.ours.invoice_pdf(ALICE, str(IDS["alice_paid"])))
    assert (ours.method, ours.path, ours.query) == (sdk.method, sdk.path, sdk.query)
    assert ours.headers["requesttoken"] == sdk.headers["requesttoken"] == TOKEN


# --------------------------------------------------------------------------------------------
# Answers built with the SDK's models come out of our client exactly
# --------------------------------------------------------------------------------------------


def _sdk_record(code: int, amount: float, paid: float) -> GetInvoiceRecord:
    """Alice's paid seed invoice as the SDK models it, with every optional field null."""
    raw = _without_event_extra_data(
        json.loads(
            json.dumps(
                emulator.invoice_json(emulator.PayabliState().invoices[IDS["alice_paid"]]), default=float
            )
        )
    )
    model = GetInvoiceRecord.model_validate(raw)
    nulls = {name: None for name, info in GetInvoiceRecord.model_fields.items() if not info.is_required()}
    nulls.pop("customer", None)  # kept: it names the owner (checked against the session)
    return model.model_copy(
        update=nulls | {"invoice_status": code, "invoice_amount": amount, "invoice_paid_amount": paid}
    )


def _as_json(model: Any) -> bytes:
    return json.dumps(model.model_dump(by_alias=True, mode="json")).encode()


# Required in the SDK's query_invoice_response_records_item.py though optional in GetInvoiceRecord.
QUERY_ONLY_REQUIRED = {"ParentOrgId": 7, "firstName": "Alice", "lastName": "Anders", "externalPaypointID": ""}


async def _serve(record: GetInvoiceRecord) -> AsyncIterator[PayabliProvider]:
    query = {
        "Records": [record.model_dump(by_alias=True, mode="json") | QUERY_ONLY_REQUIRED],
        "Summary": {"totalRecords": 1, "pageSize": 20},
    }
    QueryInvoiceResponse.model_validate(query)  # the listing is the SDK's own shape too

    async def invoice(request: Request) -> Response:
        return Response(_as_json(record), media_type="application/json")

    async def listing(request: Request) -> Response:
        return Response(json.dumps(query).encode(), media_type="application/json")

    app = Starlette(
        routes=[
            Route("/api/Invoice/{invoice_id}", invoice),
            Route("/api/Query/invoices/{entry}", listing),
        ]
    )
    async with running_app(app) as url:
        provider = PayabliProvider(base_url=f"{url}/api", api_token=SecretStr(TOKEN), entry=ENTRY)
        try:
            yield provider
        finally:
            await provider.aclose()


# code, invoiceAmount, invoicePaidAmount (the SDK's floats) → status, paid, due (exact decimals)
SDK_CASES = [
    (0, 1234.56, 0.0, InvoiceStatus.DRAFT, "0.00", "1234.56"),
    (1, 0.3, 0.0, InvoiceStatus.OPEN, "0.00", "0.30"),
    (2, 1234.56, 234.56, InvoiceStatus.PARTIALLY_PAID, "234.56", "1000.00"),
    (4, 110.0, 110.0, InvoiceStatus.PAID, "110.00", "0.00"),
    (4, 110.0, 0.0, InvoiceStatus.PAID, "110.00", "0.00"),  # "or you mark it as paid"
    (99, 49.0, 0.0, InvoiceStatus.VOID, "0.00", "0.00"),
]


@pytest.mark.parametrize(("code", "amount", "paid", "status", "amount_paid", "amount_due"), SDK_CASES)
async def test_every_documented_status_built_with_the_sdks_models_reads_exactly(
    code: int, amount: float, paid: float, status: InvoiceStatus, amount_paid: str, amount_due: str
) -> None:
    async for provider in _serve(_sdk_record(code, amount, paid)):
        invoice = await provider.invoice_by_id(ALICE, str(IDS["alice_paid"]))
        [listed] = (await provider.list_invoices(ALICE, InvoiceFilter(), limit=20, cursor=None)).items
        [facts] = [facts async for facts in provider.iter_summary_facts(ALICE, InvoiceFilter())]
        for read in (invoice, listed, facts):
            assert (read.status, read.total) == (status, Decimal(repr(amount)).quantize(Decimal("0.01")))
            assert (str(read.amount_paid), str(read.amount_due)) == (amount_paid, amount_due)
        assert [item.total for item in invoice.line_items] == [Decimal("101.12")]  # items: required
        assert invoice.due_at is None and invoice.paid_at is None and invoice.tax is None
