"""The Payabli provider: against its emulator over real HTTP on 127.0.0.1, end to end through the
real server process over stdio, and a few narrow ``httpx2.MockTransport`` cases the emulator cannot
produce.

Payabli's token is organisation-wide, so most of what is checked here is that *this server* keeps a
session to its one customer: another customer's invoice is the very same ``not_found`` as a missing
one, listings always carry the customer filter, and another customer's PDF is never exported.
"""

from __future__ import annotations

import base64
import io
import json
import re
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pypdf
import pytest
from mcp import Client
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from pydantic import SecretStr

from mcp_invoices.config import ConfigError, load_config
from mcp_invoices.domain.errors import (
    InvalidArgument,
    InvoiceError,
    NotFound,
    NotSupported,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Unauthorized,
)
from mcp_invoices.domain.models import InvoiceFilter, InvoiceStatus
from mcp_invoices.principal import Scope
from mcp_invoices.providers.emulation import LoggedRequest, dumps_json, running_app, serving_in_thread
from mcp_invoices.providers.payabli import emulator
from mcp_invoices.providers.payabli.client import AUTH_HINT, STATUSES, PayabliProvider
from mcp_invoices.sandbox import SandboxStates, create_sandbox_app, sandbox_environment
from tests.conftest import stdio_params
from tests.results import error_of

TOKEN = emulator.PAYABLI_API_TOKEN
ENTRY = emulator.PAYABLI_ENTRY
IDS = emulator.PAYABLI_INVOICE_IDS
ALICE = Scope("payabli", "1001")
BOB = Scope("payabli", "1002")
CAROL = Scope("payabli", "1003")
PDF_MAGIC = b"%PDF-"
ALICE_IDS = {str(IDS[role]) for role in IDS if role.startswith("alice")}


@dataclass
class RecordingSleep:
    """Stands in for ``anyio.sleep`` in the HTTP layer: remembers each wait, returns at once."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def state() -> emulator.PayabliState:
    return emulator.PayabliState()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def base_url(state: emulator.PayabliState) -> AsyncIterator[str]:
    """The emulator on a free loopback port; its routes start with /api like Payabli's base URL."""
    async with running_app(emulator.create_app(state)) as url:
        yield f"{url}/api"


@pytest.fixture
async def provider(base_url: str, sleep: RecordingSleep) -> AsyncIterator[PayabliProvider]:
    client = PayabliProvider(base_url=base_url, api_token=SecretStr(TOKEN), entry=ENTRY, sleep=sleep)
    yield client
    await client.aclose()


def requests_to(state: emulator.PayabliState, prefix: str) -> list[LoggedRequest]:
    return [entry for entry in state.controls.request_log if entry.path.startswith(prefix)]


async def failure(call: Any) -> InvoiceError:
    with pytest.raises(InvoiceError) as caught:
        await call
    return caught.value


def pdf_text(document: bytes) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(document)).pages)


# ------------------------------------------------------------------------------------------------
# Normalization of every seeded invoice (expected values converted by hand from the emulator's seed)
# ------------------------------------------------------------------------------------------------

# role: (scope, status, provider_status, total, amount_paid, amount_due, subtotal, tax, shipping)
# fmt: off
EXPECTED_AMOUNTS: dict[str, tuple[Scope, InvoiceStatus, str, str, str, str, str, str, str]] = {
    "alice_paid": (ALICE, InvoiceStatus.PAID, "4", "110.00", "110.00", "0.00", "101.12", "8.88", "0.00"),
    "alice_open_float_trap": (ALICE, InvoiceStatus.OPEN, "1", "0.30", "0.00", "0.30", "0.30", "0.00", "0.00"),
    "alice_partially_paid": (ALICE, InvoiceStatus.PARTIALLY_PAID, "2",
        "1234.56", "234.56", "1000.00", "1234.56", "0.00", "0.00"),
    "alice_draft": (ALICE, InvoiceStatus.DRAFT, "0", "59.97", "0.00", "59.97", "59.97", "0.00", "0.00"),
    "alice_cancelled": (ALICE, InvoiceStatus.VOID, "99", "49.00", "0.00", "0.00", "49.00", "0.00", "0.00"),
    "alice_open_overdue": (ALICE, InvoiceStatus.OPEN, "1",
        "250.00", "0.00", "250.00", "250.00", "0.00", "0.00"),
    "bob_paid": (BOB, InvoiceStatus.PAID, "4", "75.50", "75.50", "0.00", "70.50", "0.00", "5.00"),
    "bob_open": (BOB, InvoiceStatus.OPEN, "1", "19.99", "0.00", "19.99", "19.99", "0.00", "0.00"),
    "bob_partially_paid": (BOB, InvoiceStatus.PARTIALLY_PAID, "2",
        "300.00", "100.00", "200.00", "300.00", "0.00", "0.00"),
    "bob_cancelled": (BOB, InvoiceStatus.VOID, "99", "12.50", "0.00", "0.00", "12.50", "0.00", "0.00"),
}
# fmt: on


def test_the_expectations_cover_every_seeded_invoice() -> None:
    assert set(EXPECTED_AMOUNTS) == set(IDS)


@pytest.mark.parametrize("role", sorted(EXPECTED_AMOUNTS))
async def test_every_seeded_invoice_normalizes_to_its_exact_amounts_and_status(
    provider: PayabliProvider, role: str
) -> None:
    scope, status, provider_status, total, paid, due, subtotal, tax, shipping = EXPECTED_AMOUNTS[role]
    invoice = await provider.get_invoice(scope, str(IDS[role]))
    assert (invoice.status, invoice.provider_status, invoice.currency) == (status, provider_status, "USD")
    amounts = (
        invoice.total,
        invoice.amount_paid,
        invoice.amount_due,
        invoice.subtotal,
        invoice.tax,
        invoice.shipping,
    )
    assert amounts == tuple(Decimal(value) for value in (total, paid, due, subtotal, tax, shipping))
    dumped = invoice.model_dump(mode="json")
    assert (dumped["total"], dumped["amount_paid"], dumped["amount_due"]) == (total, paid, due)


async def test_amounts_sent_as_json_floats_keep_their_digits_exactly(provider: PayabliProvider) -> None:
    invoice = await provider.get_invoice(ALICE, str(IDS["alice_open_float_trap"]))
    assert [item.unit_amount for item in invoice.line_items] == [Decimal("0.10"), Decimal("0.20")]
    assert invoice.total == Decimal("0.30") == sum(item.total for item in invoice.line_items)


async def test_line_items_keep_name_description_quantity_unit_cost_tax_and_stated_total(
    provider: PayabliProvider,
) -> None:
    paid = await provider.get_invoice(ALICE, str(IDS["alice_paid"]))
    draft = await provider.get_invoice(ALICE, str(IDS["alice_draft"]))
    item = paid.line_items[0].model_dump(mode="json")
    assert item == {
        "description": "Pro plan - Monthly plan",
        "quantity": "1",
        "unit_amount": "101.12",
        "discount": None,
        "tax": "8.88",
        "total": "101.12",
        "period_start": None,
        "period_end": None,
    }
    hoodies = draft.line_items[0]
    assert (hoodies.description, hoodies.quantity, hoodies.unit_amount, hoodies.total) == (
        "Hoodie",
        Decimal(3),
        Decimal("19.99"),
        Decimal("59.97"),
    )


async def test_invoice_carries_number_dates_customer_billing_and_document_uris(
    provider: PayabliProvider,
) -> None:
    invoice = await provider.get_invoice(ALICE, str(IDS["alice_paid"]))
    assert invoice.provider == "payabli" and invoice.id == "23548801" and invoice.number == "INV-1001-0001"
    assert (invoice.issued_at, invoice.due_at) == (date(2026, 1, 5), date(2026, 2, 4))
    assert invoice.paid_at == datetime(2026, 1, 10, 16, 20, tzinfo=UTC)
    assert invoice.customer.model_dump() == {
        "id": "1001",
        "name": "Alice Anders",
        "email": "alice@example.com",
    }
    assert invoice.billing.model_dump() == {
        "name": "Anders Studio",
        "address": {
            "line1": "1 Sandbox Street",
            "line2": None,
            "postal_code": "78701",
            "city": "Austin",
            "state": "TX",
            "country": "US",
        },
    }
    assert invoice.documents.model_dump() == {
        "json_uri": "invoice://payabli/23548801",
        "pdf_uri": "invoice://payabli/23548801/pdf",
        "url": None,
    }


async def test_unpaid_invoices_have_no_paid_at(provider: PayabliProvider) -> None:
    partially = await provider.get_invoice(ALICE, str(IDS["alice_partially_paid"]))
    assert partially.paid_at is None and partially.due_at == date(2030, 4, 4)


async def test_a_draft_without_due_date_has_none(provider: PayabliProvider) -> None:
    draft = await provider.get_invoice(ALICE, str(IDS["alice_draft"]))
    assert draft.due_at is None and draft.issued_at == date(2026, 4, 5)


@pytest.mark.parametrize(("code", "status"), sorted(STATUSES.items()))
async def test_each_documented_invoice_status_maps_to_its_normalized_status(
    provider: PayabliProvider, state: emulator.PayabliState, code: int, status: InvoiceStatus
) -> None:
    state.invoices[IDS["alice_open_overdue"]].status = code
    invoice = await provider.get_invoice(ALICE, str(IDS["alice_open_overdue"]))
    assert (invoice.status, invoice.provider_status) == (status, str(code))


def test_the_status_table_covers_every_documented_payabli_status() -> None:
    assert STATUSES == {
        0: InvoiceStatus.DRAFT,
        1: InvoiceStatus.OPEN,
        2: InvoiceStatus.PARTIALLY_PAID,
        4: InvoiceStatus.PAID,
        99: InvoiceStatus.VOID,
    }


async def test_an_undocumented_status_is_kept_and_read_from_the_amounts(
    provider: PayabliProvider, state: emulator.PayabliState
) -> None:
    state.invoices[IDS["alice_partially_paid"]].status = 3
    invoice = await provider.get_invoice(ALICE, str(IDS["alice_partially_paid"]))
    assert (invoice.status, invoice.provider_status, invoice.amount_due) == (
        InvoiceStatus.PARTIALLY_PAID,
        "3",
        Decimal("1000.00"),
    )


# ------------------------------------------------------------------------------------------------
# Listing: pagination, order, filters, scope
# ------------------------------------------------------------------------------------------------


async def test_list_returns_only_the_sessions_invoices_most_recent_first(provider: PayabliProvider) -> None:
    page = await provider.list_invoices(ALICE, InvoiceFilter(), limit=100, cursor=None)
    assert {invoice.id for invoice in page.items} == ALICE_IDS and page.next_cursor is None
    issued = [invoice.issued_at for invoice in page.items]
    assert issued == sorted(issued, reverse=True)


async def test_list_always_sends_the_sessions_customer_filter_and_the_paging_window(
    provider: PayabliProvider, state: emulator.PayabliState
) -> None:
    await provider.list_invoices(BOB, InvoiceFilter(), limit=3, cursor=None)
    (sent,) = requests_to(state, "/api/Query/invoices/")
    assert sent.path == f"/api/Query/invoices/{ENTRY}"
    query = httpx2.QueryParams(sent.query)
    assert query["customerId(eq)"] == "1002"
    assert (query["fromRecord"], query["limitRecord"], query["sortBy"]) == ("0", "3", "desc(invoiceDate)")


@pytest.fixture
async def bulk_provider(
    sleep: RecordingSleep,
) -> AsyncIterator[tuple[PayabliProvider, emulator.PayabliState]]:
    """Alice with 250 more invoices than the seed (256 in all), bob unchanged."""
    bulk = emulator.PayabliState(extra_invoices=250)
    async with running_app(emulator.create_app(bulk)) as url:
        client = PayabliProvider(base_url=f"{url}/api", api_token=SecretStr(TOKEN), entry=ENTRY, sleep=sleep)
        yield client, bulk
        await client.aclose()


async def test_paging_with_the_cursor_visits_every_invoice_once_most_recent_first(
    bulk_provider: tuple[PayabliProvider, emulator.PayabliState],
) -> None:
    provider, _ = bulk_provider
    seen: list[str] = []
    issued: list[date | None] = []
    cursor: str | None = None
    for _ in range(100):  # bounded: 256 invoices at 7 a page take 37 pages
        page = await provider.list_invoices(ALICE, InvoiceFilter(), limit=7, cursor=cursor)
        seen += [invoice.id for invoice in page.items]
        issued += [invoice.issued_at for invoice in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert cursor is None
    assert len(seen) == len(set(seen)) == 256
    assert ALICE_IDS <= set(seen)
    assert issued == sorted(issued, reverse=True)


async def test_walking_everything_for_summaries_gets_every_invoice_once_with_few_requests(
    bulk_provider: tuple[PayabliProvider, emulator.PayabliState],
) -> None:
    provider, bulk = bulk_provider
    every = [invoice.id async for invoice in provider.iter_invoices(ALICE, InvoiceFilter())]
    assert len(every) == len(set(every)) == 256
    offsets = sorted(
        int(httpx2.QueryParams(entry.query)["fromRecord"]) for entry in bulk.controls.request_log
    )
    assert offsets == [0, 100, 200]


async def test_summaries_aggregate_every_matching_invoice_not_one_page(
    bulk_provider: tuple[PayabliProvider, emulator.PayabliState],
) -> None:
    provider, bulk = bulk_provider
    summary = await provider.summarize(ALICE, InvoiceFilter(), date(2026, 6, 1))
    alices = [invoice for invoice in bulk.invoices.values() if invoice.customer == "alice"]
    billed_total = sum((invoice.amount for invoice in alices if invoice.status not in (0, 99)), Decimal(0))
    (usd,) = summary.model_dump(mode="json")["currencies"]
    assert summary.count == usd["count"] == 256
    assert usd["total"] == f"{billed_total:.2f}"


async def test_status_filter_is_sent_to_payabli_and_holds_in_the_results(
    provider: PayabliProvider, state: emulator.PayabliState
) -> None:
    page = await provider.list_invoices(
        ALICE, InvoiceFilter(status=InvoiceStatus.OPEN), limit=20, cursor=None
    )
    assert {invoice.id for invoice in page.items} == {
        str(IDS["alice_open_float_trap"]),
        str(IDS["alice_open_overdue"]),
    }
    (sent,) = requests_to(state, "/api/Query/")
    assert httpx2.QueryParams(sent.query)["status(eq)"] == "1"


async def test_issue_date_filters_are_sent_to_payabli_and_are_inclusive(
    provider: PayabliProvider, state: emulator.PayabliState
) -> None:
    query = InvoiceFilter(issued_after=date(2026, 2, 5), issued_before=date(2026, 4, 5))
    page = await provider.list_invoices(ALICE, query, limit=20, cursor=None)
    assert [invoice.number for invoice in page.items] == ["INV-1001-0004", "INV-1001-0003", "INV-1001-0002"]
    sent = httpx2.QueryParams(requests_to(state, "/api/Query/")[0].query)
    assert (sent["invoiceDate(ge)"], sent["invoiceDate(le)"]) == ("2026-02-05", "2026-04-05")


@pytest.fixture
async def careless_payabli(
    sleep: RecordingSleep,
) -> AsyncIterator[tuple[PayabliProvider, PayabliProvider, emulator.PayabliState]]:
    """Two Payablis with alice's 256 invoices: one honouring filters, one ignoring every filter."""
    honouring = emulator.PayabliState(extra_invoices=250)
    ignoring = emulator.PayabliState(extra_invoices=250, filters="ignore")
    async with (
        running_app(emulator.create_app(honouring)) as good,
        running_app(emulator.create_app(ignoring)) as careless,
    ):
        clients = [
            PayabliProvider(base_url=f"{url}/api", api_token=SecretStr(TOKEN), entry=ENTRY, sleep=sleep)
            for url in (good, careless)
        ]
        yield clients[0], clients[1], ignoring
        for client in clients:
            await client.aclose()


CAREFUL_QUERIES = [
    InvoiceFilter(status=InvoiceStatus.PAID),
    InvoiceFilter(overdue=True, as_of=date(2026, 6, 1)),
    InvoiceFilter(due_after=date(2025, 6, 1), due_before=date(2025, 9, 30)),
    InvoiceFilter(issued_after=date(2025, 7, 1), issued_before=date(2025, 8, 31)),
]


@pytest.mark.parametrize("query", CAREFUL_QUERIES, ids=["status", "overdue", "due", "issued"])
async def test_a_payabli_ignoring_every_filter_gives_the_same_listings_pages_and_summaries(
    careless_payabli: tuple[PayabliProvider, PayabliProvider, emulator.PayabliState], query: InvoiceFilter
) -> None:
    honouring, ignoring, _ = careless_payabli

    async def pages(provider: PayabliProvider) -> list[str]:
        ids: list[str] = []
        cursor: str | None = None
        for _ in range(100):
            page = await provider.list_invoices(ALICE, query, limit=50, cursor=cursor)
            assert len(page.items) <= 50
            ids += [invoice.id for invoice in page.items]
            cursor = page.next_cursor
            if cursor is None:
                return ids
        raise AssertionError("the listing never ended")

    expected = await pages(honouring)
    assert expected and await pages(ignoring) == expected
    assert [i.id async for i in ignoring.iter_invoices(ALICE, query)] == expected
    as_of = date(2026, 6, 1)
    assert (await ignoring.summarize(ALICE, query, as_of)).model_dump() == (
        await honouring.summarize(ALICE, query, as_of)
    ).model_dump()


async def test_a_number_is_found_even_when_payabli_ignores_the_number_filter(
    careless_payabli: tuple[PayabliProvider, PayabliProvider, emulator.PayabliState],
) -> None:
    _, ignoring, state = careless_payabli
    invoice = await ignoring.get_invoice(ALICE, "inv-bulk-00200")  # far beyond the first page
    assert invoice.number == "INV-BULK-00200" and invoice.id == str(30000001 + 200)
    assert await ignoring.find_by_number(BOB, "INV-BULK-00200") is None  # alice's, not bob's
    assert len(state.controls.request_log) < 20


async def test_listings_send_only_filters_payabli_documents(sleep: RecordingSleep) -> None:
    strict = emulator.PayabliState(filters="reject_unknown")  # a Payabli that refuses unknown filters
    async with running_app(emulator.create_app(strict)) as url:
        client = PayabliProvider(base_url=f"{url}/api", api_token=SecretStr(TOKEN), entry=ENTRY, sleep=sleep)
        try:
            for query in CAREFUL_QUERIES:
                await client.list_invoices(ALICE, query, limit=20, cursor=None)
            assert (await client.get_invoice(ALICE, "inv-1001-0006")).id == str(IDS["alice_open_overdue"])
        finally:
            await client.aclose()


@pytest.mark.parametrize(
    "status", [InvoiceStatus.REFUNDED, InvoiceStatus.UNCOLLECTIBLE, InvoiceStatus.PENDING]
)
async def test_statuses_payabli_never_has_list_nothing_without_a_request(
    provider: PayabliProvider, state: emulator.PayabliState, status: InvoiceStatus
) -> None:
    page = await provider.list_invoices(ALICE, InvoiceFilter(status=status), limit=20, cursor=None)
    assert page.items == [] and page.next_cursor is None
    assert state.controls.request_log == []


async def test_a_cursor_that_is_not_a_position_is_an_invalid_argument(provider: PayabliProvider) -> None:
    error = await failure(provider.list_invoices(ALICE, InvoiceFilter(), limit=5, cursor="page-2"))
    assert isinstance(error, InvalidArgument)


async def test_listing_without_an_entry_says_to_set_payabli_entry_and_sends_nothing(
    base_url: str, state: emulator.PayabliState
) -> None:
    client = PayabliProvider(base_url=base_url, api_token=SecretStr(TOKEN), entry=None)
    try:
        error = await failure(client.list_invoices(ALICE, InvoiceFilter(), limit=5, cursor=None))
        invoice = await client.get_invoice(ALICE, str(IDS["alice_paid"]))  # reading one needs no entry
    finally:
        await client.aclose()
    assert isinstance(error, NotSupported) and "PAYABLI_ENTRY" in error.message
    assert requests_to(state, "/api/Query/") == [] and invoice.number == "INV-1001-0001"


async def test_an_entry_payabli_does_not_know_is_provider_unavailable_pointing_at_payabli_entry(
    base_url: str, state: emulator.PayabliState
) -> None:
    client = PayabliProvider(base_url=base_url, api_token=SecretStr(TOKEN), entry="no-such-entry")
    try:
        error = await failure(client.list_invoices(ALICE, InvoiceFilter(), limit=5, cursor=None))
    finally:
        await client.aclose()
    assert isinstance(error, ProviderUnavailable)
    assert "Unknown entry point" in error.message and "PAYABLI_ENTRY" in (error.hint or "")


# ------------------------------------------------------------------------------------------------
# Scope: not yours == not there
# ------------------------------------------------------------------------------------------------


async def test_a_missing_invoice_answered_with_404_is_the_same_not_found(
    provider: PayabliProvider, state: emulator.PayabliState
) -> None:
    state.not_found_status = 404
    missing = await failure(provider.invoice_by_id(ALICE, "23548859"))
    theirs = await failure(provider.invoice_by_id(ALICE, "23548851"))
    assert isinstance(missing, NotFound) and state.controls.statuses() == [404, 200]
    assert json.dumps(theirs.to_dict()).replace("23548851", "X") == json.dumps(missing.to_dict()).replace(
        "23548859", "X"
    )


@pytest.mark.parametrize(
    "invoice_id",
    ["abc", "0", "-23548801", "023548801", "2.3548801e7", "23548801/../1", "..", "", "9" * 20, "١٢٣"],
)
async def test_an_id_that_cannot_be_a_payabli_invoice_is_not_found_without_a_request(
    provider: PayabliProvider, state: emulator.PayabliState, invoice_id: str
) -> None:
    error = await failure(provider.invoice_by_id(ALICE, invoice_id))
    missing = await failure(provider.invoice_by_id(ALICE, "23548859"))
    assert isinstance(error, NotFound)
    assert error.hint == missing.hint and error.message.replace(
        repr(invoice_id), "X"
    ) == missing.message.replace("'23548859'", "X")
    assert len(state.controls.request_log) == 1  # only the missing integer id was asked about


async def test_a_session_without_a_numeric_customer_is_refused_before_any_request(
    provider: PayabliProvider, state: emulator.PayabliState
) -> None:
    unscoped = Scope("payabli", "(provider session token)")
    for call in (
        provider.get_invoice(unscoped, str(IDS["alice_paid"])),
        provider.list_invoices(unscoped, InvoiceFilter(), limit=5, cursor=None),
        provider.invoice_pdf(Scope("payabli", None), str(IDS["alice_paid"])),
    ):
        error = await failure(call)
        assert isinstance(error, Unauthorized) and "PAYABLI_CUSTOMER_ID" in (error.hint or "")
    assert state.controls.request_log == []


async def test_orders_and_generation_are_not_supported(provider: PayabliProvider) -> None:
    orders = await failure(provider.list_orders(ALICE, limit=5, cursor=None))
    generated = await failure(provider.generate_invoice(ALICE, "23548801", billing=None, wait=True))
    assert isinstance(orders, NotSupported) and isinstance(generated, NotSupported)
    assert provider.info.remote and not provider.info.generates_invoices


# ------------------------------------------------------------------------------------------------
# PDFs
# ------------------------------------------------------------------------------------------------


async def test_the_pdf_is_payablis_own_export(
    provider: PayabliProvider, state: emulator.PayabliState
) -> None:
    document = await provider.invoice_pdf(ALICE, str(IDS["alice_paid"]))
    assert document == emulator.invoice_pdf(state.invoices[IDS["alice_paid"]])
    assert [entry.path for entry in state.controls.request_log] == [
        "/api/Invoice/23548801",
        "/api/Export/invoicePdf/23548801",
    ]


async def test_an_export_whose_file_object_has_no_content_falls_back_to_the_server_rendered_pdf(
    provider: PayabliProvider, state: emulator.PayabliState
) -> None:
    state.pdf_export = "empty"
    document = await provider.invoice_pdf(ALICE, str(IDS["alice_partially_paid"]))
    assert document.startswith(PDF_MAGIC)
    assert document != emulator.invoice_pdf(state.invoices[IDS["alice_partially_paid"]])
    text = pdf_text(document)
    assert "INV-1001-0003" in text and "1,000.00" in text and "Sandbox Goods" in text


async def test_an_export_answered_as_raw_pdf_bytes_is_used_as_it_is(
    provider: PayabliProvider, state: emulator.PayabliState
) -> None:
    state.pdf_export = "pdf"
    document = await provider.invoice_pdf(ALICE, str(IDS["alice_paid"]))
    assert document == emulator.invoice_pdf(state.invoices[IDS["alice_paid"]])


async def test_an_export_answering_an_html_page_is_provider_unavailable_not_a_substitute(
    provider: PayabliProvider, state: emulator.PayabliState
) -> None:
    state.pdf_export = "html"
    error = await failure(provider.invoice_pdf(ALICE, str(IDS["alice_paid"])))
    assert isinstance(error, ProviderUnavailable) and "PDF export" in error.message


async def test_another_customers_pdf_is_not_found_and_never_exported(
    provider: PayabliProvider, state: emulator.PayabliState
) -> None:
    theirs = await failure(provider.invoice_pdf(ALICE, str(IDS["bob_paid"])))
    missing = await failure(provider.invoice_pdf(ALICE, "23548859"))
    assert isinstance(theirs, NotFound) and theirs.hint == missing.hint
    assert requests_to(state, "/api/Export/") == []


# ------------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------------


async def test_a_refused_token_is_unauthorized_with_a_hint_naming_the_variable_not_the_value(
    base_url: str,
) -> None:
    wrong = "payabli_wrong_token_value"
    client = PayabliProvider(base_url=base_url, api_token=SecretStr(wrong), entry=ENTRY)
    try:
        errors = [
            await failure(client.get_invoice(ALICE, str(IDS["alice_paid"]))),
            await failure(client.list_invoices(ALICE, InvoiceFilter(), limit=5, cursor=None)),
            await failure(client.invoice_pdf(ALICE, str(IDS["alice_paid"]))),
        ]
    finally:
        await client.aclose()
    for error in errors:
        assert (
            isinstance(error, Unauthorized)
            and error.hint == AUTH_HINT == "Check PAYABLI_API_TOKEN (an organisation API token)"
        )
        assert wrong not in json.dumps(error.to_dict()) and wrong not in repr(error)


async def test_rate_limiting_beyond_the_retries_is_rate_limited_with_retry_after(
    provider: PayabliProvider, state: emulator.PayabliState, sleep: RecordingSleep
) -> None:
    state.controls.force_429_next = 10
    state.controls.retry_after = 2
    error = await failure(provider.get_invoice(ALICE, str(IDS["alice_paid"])))
    assert isinstance(error, RateLimited) and error.retry_after == 2
    assert state.controls.statuses() == [429, 429, 429, 429] and sleep.delays == [2, 2, 2]


async def test_a_transient_503_is_retried_and_the_read_succeeds(
    provider: PayabliProvider, state: emulator.PayabliState, sleep: RecordingSleep
) -> None:
    state.controls.fail_next = [503]
    invoice = await provider.get_invoice(ALICE, str(IDS["alice_paid"]))
    assert invoice.total == Decimal("110.00")
    assert state.controls.statuses() == [503, 200] and len(sleep.delays) == 1


async def test_503s_beyond_the_retries_are_provider_unavailable(
    provider: PayabliProvider, state: emulator.PayabliState
) -> None:
    state.controls.fail_next = [503] * 4
    error = await failure(provider.list_invoices(ALICE, InvoiceFilter(), limit=5, cursor=None))
    assert isinstance(error, ProviderUnavailable) and "503" in error.message
    assert state.controls.statuses() == [503, 503, 503, 503]


async def test_an_internal_api_error_is_provider_unavailable(
    provider: PayabliProvider, state: emulator.PayabliState
) -> None:
    state.controls.fail_next = [500]
    error = await failure(provider.get_invoice(ALICE, str(IDS["alice_paid"])))
    assert isinstance(error, ProviderUnavailable) and state.controls.statuses() == [500]


@pytest.mark.parametrize("kind", ["truncated_json", "html", "wrong_shape"])
async def test_a_malformed_invoice_body_is_provider_unavailable(
    provider: PayabliProvider, state: emulator.PayabliState, kind: Any
) -> None:
    state.controls.malformed_next, state.controls.malformed_kind = 1, kind
    error = await failure(provider.get_invoice(ALICE, str(IDS["alice_paid"])))
    assert isinstance(error, ProviderUnavailable) and error.message.startswith("Payabli sent")


@pytest.mark.parametrize("kind", ["truncated_json", "html", "wrong_shape"])
async def test_a_malformed_listing_body_is_provider_unavailable(
    provider: PayabliProvider, state: emulator.PayabliState, kind: Any
) -> None:
    state.controls.malformed_next, state.controls.malformed_kind = 1, kind
    error = await failure(provider.list_invoices(ALICE, InvoiceFilter(), limit=5, cursor=None))
    assert isinstance(error, ProviderUnavailable) and error.message.startswith("Payabli sent")


async def test_an_unreachable_payabli_is_provider_unavailable(sleep: RecordingSleep) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = PayabliProvider(base_url=f"http://127.0.0.1:{port}/api", api_token=SecretStr(TOKEN), sleep=sleep)
    try:
        error = await failure(client.get_invoice(ALICE, "23548801"))
    finally:
        await client.aclose()
    assert isinstance(error, ProviderUnavailable) and "Could not connect" in error.message


# ------------------------------------------------------------------------------------------------
# What goes over the wire
# ------------------------------------------------------------------------------------------------


async def test_every_request_carries_the_token_only_in_the_request_token_header(
    provider: PayabliProvider, state: emulator.PayabliState
) -> None:
    await provider.get_invoice(ALICE, str(IDS["alice_paid"]))
    await provider.list_invoices(ALICE, InvoiceFilter(status=InvoiceStatus.PAID), limit=5, cursor=None)
    await provider.invoice_pdf(ALICE, str(IDS["alice_paid"]))
    assert [entry.method for entry in state.controls.request_log] == ["GET"] * 4
    for entry in state.controls.request_log:
        assert entry.headers["requesttoken"] == TOKEN
        assert "authorization" not in entry.headers and "cookie" not in entry.headers
        others = {name: value for name, value in entry.headers.items() if name != "requesttoken"}
        assert TOKEN not in entry.path + entry.query + json.dumps(others)


async def test_a_per_customer_credential_in_the_scope_replaces_the_configured_token(
    provider: PayabliProvider, state: emulator.PayabliState
) -> None:
    state.tokens.add("payabli_customer_specific_token")
    scoped = Scope("payabli", "1001", credential=SecretStr("payabli_customer_specific_token"))
    await provider.get_invoice(scoped, str(IDS["alice_paid"]))
    assert state.controls.request_log[0].headers["requesttoken"] == "payabli_customer_specific_token"


# ------------------------------------------------------------------------------------------------
# Configuration
# ------------------------------------------------------------------------------------------------


async def test_from_config_reads_base_url_token_entry_and_customer_from_the_environment(
    base_url: str, state: emulator.PayabliState
) -> None:
    env = {
        "PAYABLI_API_TOKEN": TOKEN,
        "PAYABLI_CUSTOMER_ID": "1002",
        "PAYABLI_BASE_URL": base_url,
        "PAYABLI_ENTRY": ENTRY,
    }
    (config,) = load_config(env).remote
    client = PayabliProvider.from_config(config)
    try:
        page = await client.list_invoices(
            Scope("payabli", config.customer_id), InvoiceFilter(), limit=20, cursor=None
        )
    finally:
        await client.aclose()
    assert {invoice.number for invoice in page.items} == {
        "INV-1002-0001",
        "INV-1002-0002",
        "INV-1002-0003",
        "INV-1002-0004",
    }
    assert TOKEN not in repr(client)


def test_from_config_refuses_a_customer_id_that_is_not_a_payabli_id() -> None:
    (config,) = load_config({"PAYABLI_API_TOKEN": TOKEN, "PAYABLI_CUSTOMER_ID": "cus_alice"}).remote
    with pytest.raises(ConfigError, match="PAYABLI_CUSTOMER_ID"):
        PayabliProvider.from_config(config)


def test_from_config_refuses_a_base_url_that_is_not_http() -> None:
    env = {
        "PAYABLI_API_TOKEN": TOKEN,
        "PAYABLI_CUSTOMER_ID": "1001",
        "PAYABLI_BASE_URL": "ftp://example.com/api",
    }
    (config,) = load_config(env).remote
    with pytest.raises(ConfigError, match="PAYABLI_BASE_URL"):
        PayabliProvider.from_config(config)


# ------------------------------------------------------------------------------------------------
# Narrow cases through httpx2.MockTransport (what the emulator cannot easily produce)
# ------------------------------------------------------------------------------------------------


def seeded_record(role: str, **changes: Any) -> dict[str, Any]:
    """The emulator's own wire record for a seeded invoice, with ``changes`` applied."""
    record = emulator.invoice_json(emulator.PayabliState().invoices[IDS[role]])
    return record | changes


def mock_provider(handler: Callable[[httpx2.Request], httpx2.Response], **options: Any) -> PayabliProvider:
    return PayabliProvider(
        base_url="https://api-sandbox.payabli.com/api",
        api_token=SecretStr(TOKEN),
        entry=ENTRY,
        transport=httpx2.MockTransport(handler),
        sleep=RecordingSleep(),
        **options,
    )


def answering(
    status: int, body: Any, content_type: str = "application/json"
) -> Callable[[httpx2.Request], httpx2.Response]:
    content = body if isinstance(body, bytes) else dumps_json(body)
    return lambda request: httpx2.Response(status, content=content, headers={"content-type": content_type})


async def test_rows_of_other_customers_that_payabli_lists_anyway_are_dropped() -> None:
    rows = [seeded_record("bob_open"), seeded_record("alice_paid"), seeded_record("bob_paid")]
    provider = mock_provider(answering(200, {"Records": rows, "Summary": {"totalRecords": 3}}))
    page = await provider.list_invoices(ALICE, InvoiceFilter(), limit=20, cursor=None)
    assert [invoice.id for invoice in page.items] == ["23548801"] and page.next_cursor is None


def alice_rows(first_id: int, count: int) -> list[dict[str, Any]]:
    """``count`` distinct records of alice's (ids from ``first_id``), as Payabli lists them."""
    return [seeded_record("alice_paid", invoiceId=first_id + n) for n in range(count)]


async def test_a_page_failing_while_walking_in_parallel_raises_the_providers_own_error() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.params["fromRecord"] == "0":
            body = {"Records": alice_rows(1, 100), "Summary": {"totalRecords": 350}}
            return httpx2.Response(200, content=dumps_json(body))
        return httpx2.Response(
            500, content=dumps_json({"isSuccess": False, "responseText": "Internal API Error"})
        )

    with pytest.raises(ProviderUnavailable):
        [invoice async for invoice in mock_provider(handler).iter_invoices(ALICE, InvoiceFilter())]


async def test_without_a_total_the_walk_goes_page_by_page_until_a_short_page() -> None:
    offsets: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        offset = int(request.url.params["fromRecord"])
        offsets.append(str(offset))
        rows = alice_rows(offset + 1, 100 if offset < 200 else 30)
        return httpx2.Response(200, content=dumps_json({"Records": rows}))

    every = [invoice.id async for invoice in mock_provider(handler).iter_invoices(ALICE, InvoiceFilter())]
    assert len(every) == len(set(every)) == 230 and offsets == ["0", "100", "200"]


async def test_a_record_whose_customer_ids_disagree_is_not_found() -> None:
    record = seeded_record("alice_paid")
    record["Customer"] = record["Customer"] | {"customerId": 1002}
    provider = mock_provider(answering(200, record))
    error = await failure(provider.invoice_by_id(ALICE, "23548801"))
    assert isinstance(error, NotFound)


async def test_a_record_without_any_customer_id_is_not_found() -> None:
    record = seeded_record("alice_paid", customerId=None)
    record["Customer"] = None
    error = await failure(mock_provider(answering(200, record)).invoice_by_id(ALICE, "23548801"))
    assert isinstance(error, NotFound)


async def test_a_record_for_another_id_than_asked_is_provider_unavailable() -> None:
    error = await failure(
        mock_provider(answering(200, seeded_record("alice_draft"))).get_invoice(ALICE, "23548801")
    )
    assert isinstance(error, ProviderUnavailable)


async def test_an_additional_data_currency_replaces_the_usd_default() -> None:
    record = seeded_record("alice_partially_paid", AdditionalData={"currency": "cad"})
    invoice = await mock_provider(answering(200, record)).get_invoice(ALICE, "23548803")
    assert invoice.currency == "CAD" and invoice.amount_due == Decimal("1000.00")


async def test_duty_is_added_to_tax_and_freight_is_shipping() -> None:
    record = seeded_record("alice_paid", dutyAmount=Decimal("1.5"), freightAmount=Decimal("4.25"))
    invoice = await mock_provider(answering(200, record)).get_invoice(ALICE, "23548801")
    assert (invoice.tax, invoice.shipping, invoice.total) == (
        Decimal("10.38"),
        Decimal("4.25"),
        Decimal("110.00"),
    )


async def test_a_paid_invoice_without_a_paid_amount_counts_its_total_as_paid() -> None:
    record = seeded_record("alice_paid", invoicePaidAmount=None, tax=None, discount=None, items=[])
    invoice = await mock_provider(answering(200, record)).get_invoice(ALICE, "23548801")
    assert (invoice.amount_paid, invoice.amount_due) == (Decimal("110.00"), Decimal("0.00"))
    assert (invoice.tax, invoice.discount, invoice.subtotal, invoice.line_items) == (None, None, None, [])


async def test_dates_sent_as_date_times_and_unreadable_ones_are_read_leniently() -> None:
    record = seeded_record(
        "alice_paid",
        invoiceDate="2026-01-05T00:00:00",
        invoiceDueDate="soon",
        lastPaymentDate="2026-01-10T16:20:00",
    )
    invoice = await mock_provider(answering(200, record)).get_invoice(ALICE, "23548801")
    assert (invoice.issued_at, invoice.due_at) == (date(2026, 1, 5), None)
    assert invoice.paid_at == datetime(2026, 1, 10, 16, 20, tzinfo=UTC)


async def test_a_200_envelope_saying_the_invoice_does_not_exist_is_not_found() -> None:
    body = {"isSuccess": False, "responseText": "Invoice does not exist", "responseData": None}
    error = await failure(mock_provider(answering(200, body)).invoice_by_id(ALICE, "23548801"))
    assert isinstance(error, NotFound)


async def test_another_400_is_provider_unavailable_with_payablis_words_and_no_token() -> None:
    body = {
        "isSuccess": False,
        "responseText": f"Paypoint suspended (requestToken {TOKEN})",
        "responseData": {"explanation": "Contact support.\n\x00"},
    }
    error = await failure(mock_provider(answering(400, body)).get_invoice(ALICE, "23548801"))
    assert isinstance(error, ProviderUnavailable) and "Paypoint suspended" in error.message
    assert "Contact support." in error.message and TOKEN not in error.message and "\x00" not in error.message


async def test_an_amount_that_is_not_a_number_is_provider_unavailable() -> None:
    record = seeded_record("alice_paid", invoiceAmount="a lot")
    error = await failure(mock_provider(answering(200, record)).get_invoice(ALICE, "23548801"))
    assert isinstance(error, ProviderUnavailable)


async def test_a_read_timeout_is_the_timeout_error() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("slow", request=request)

    error = await failure(mock_provider(handler).get_invoice(ALICE, "23548801"))
    assert isinstance(error, ProviderTimeout)


def exporting(export: httpx2.Response) -> Callable[[httpx2.Request], httpx2.Response]:
    """Alice's paid invoice read as usual; its PDF export answered with ``export``."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.startswith("/api/Export/"):
            return export
        return httpx2.Response(200, content=dumps_json(seeded_record("alice_paid")))

    return handler


def file_object(content: str | None, ftype: str = "pdf") -> httpx2.Response:
    body = {"fContent": content, "filename": "INV-1001-0001.pdf", "ftype": ftype, "furl": None}
    return httpx2.Response(
        200, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )


async def test_a_pdf_export_delivered_as_payablis_base64_file_object_is_used() -> None:
    own = emulator.invoice_pdf(emulator.PayabliState().invoices[IDS["alice_paid"]])
    provider = mock_provider(exporting(file_object(base64.b64encode(own).decode())))
    assert await provider.invoice_pdf(ALICE, "23548801") == own


@pytest.mark.parametrize(
    ("content", "ftype"),
    [("not base64 at all!", "pdf"), (base64.b64encode(b"<html>sign in</html>").decode(), "txt"), (42, "pdf")],
    ids=["not-base64", "not-a-pdf", "not-text"],
)
async def test_a_file_object_that_does_not_hold_a_pdf_is_provider_unavailable(
    content: Any, ftype: str
) -> None:
    body = {"fContent": content, "filename": "x", "ftype": ftype, "furl": None}
    export = httpx2.Response(
        200, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    error = await failure(mock_provider(exporting(export)).invoice_pdf(ALICE, "23548801"))
    assert isinstance(error, ProviderUnavailable) and "PDF export" in error.message


async def test_an_export_failing_beyond_the_retries_is_provider_unavailable_not_a_substitute() -> None:
    paths: list[str] = []
    export = httpx2.Response(
        503, content=dumps_json({"isSuccess": False, "responseText": "Database connection error"})
    )
    handler = exporting(export)

    def counting(request: httpx2.Request) -> httpx2.Response:
        paths.append(request.url.path)
        return handler(request)

    error = await failure(mock_provider(counting).invoice_pdf(ALICE, "23548801"))
    assert isinstance(error, ProviderUnavailable)
    assert paths == ["/api/Invoice/23548801"] + ["/api/Export/invoicePdf/23548801"] * 4


async def test_an_export_answering_404_is_a_real_absence_and_the_server_renders_the_pdf() -> None:
    export = httpx2.Response(404, content=dumps_json({"isSuccess": False, "responseText": "Not found"}))
    document = await mock_provider(exporting(export)).invoice_pdf(ALICE, "23548801")
    assert document.startswith(PDF_MAGIC) and "INV-1001-0001" in pdf_text(document)


async def test_a_pdf_body_labelled_as_html_is_not_trusted() -> None:
    export = httpx2.Response(200, content=b"%PDF-1.4 not really", headers={"content-type": "text/html"})
    error = await failure(mock_provider(exporting(export)).invoice_pdf(ALICE, "23548801"))
    assert isinstance(error, ProviderUnavailable)


# -- not found, as Payabli answers it ------------------------------------------------------------


async def test_a_missing_invoice_is_recognised_by_payablis_response_code_not_its_wording() -> None:
    body = {
        "isSuccess": False,
        "responseCode": 3003,
        "responseText": "Bad Request",
        "responseData": {"explanation": "Check the value.", "todoAction": None},
    }
    error = await failure(mock_provider(answering(400, body)).invoice_by_id(ALICE, "23548801"))
    assert isinstance(error, NotFound)


async def test_a_refusal_with_another_response_code_is_unavailable_however_it_is_worded() -> None:
    body = {
        "isSuccess": False,
        "responseCode": 3001,
        "responseText": "Entrypoint not found",
        "responseData": None,
    }
    error = await failure(mock_provider(answering(400, body)).invoice_by_id(ALICE, "23548801"))
    assert isinstance(error, ProviderUnavailable) and "Entrypoint not found" in error.message


async def test_the_emulators_missing_invoice_answer_is_the_not_found_of_another_customers(
    provider: PayabliProvider,
) -> None:
    missing = await failure(provider.get_invoice(ALICE, "23548859"))
    theirs = await failure(provider.get_invoice(ALICE, str(IDS["bob_paid"])))
    assert isinstance(missing, NotFound) and missing.to_dict() | {"message": ""} == theirs.to_dict() | {
        "message": ""
    }


# -- what paid means -------------------------------------------------------------------------------


async def test_an_invoice_marked_as_paid_is_paid_in_full_whatever_paid_amount_was_recorded() -> None:
    record = seeded_record("alice_paid", invoicePaidAmount=Decimal("0"), lastPaymentDate=None)
    invoice = await mock_provider(answering(200, record)).get_invoice(ALICE, "23548801")
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (
        InvoiceStatus.PAID,
        Decimal("110.00"),
        Decimal("0.00"),
    )


async def test_a_summary_counts_an_invoice_marked_as_paid_as_paid_in_full() -> None:
    record = seeded_record("alice_paid", invoicePaidAmount=Decimal("0"))
    provider = mock_provider(answering(200, {"Records": [record], "Summary": {"totalRecords": 1}}))
    [facts] = [facts async for facts in provider.iter_summary_facts(ALICE, InvoiceFilter())]
    assert (facts.amount_paid, facts.amount_due) == (Decimal("110.00"), Decimal("0.00"))


# ------------------------------------------------------------------------------------------------
# End to end: `mcp-invoices serve` over stdio, the emulator over real HTTP
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def sandbox() -> Any:
    """All emulators on a loopback port (the Payabli one under /payabli/api), their states alongside."""
    states = SandboxStates()
    with serving_in_thread(create_sandbox_app(states)) as url:
        yield url, states


def payabli_environment(base: str, tmp_path: Path, customer: str = "alice") -> dict[str, str]:
    """Only the PAYABLI_* variables of the sandbox, plus a private ledger file and verbose logs."""
    env = {
        key: value for key, value in sandbox_environment(base, customer).items() if key.startswith("PAYABLI_")
    }
    return env | {"MCP_INVOICES_DB": str(tmp_path / "ledger.sqlite3"), "MCP_INVOICES_LOG_LEVEL": "DEBUG"}


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return result.structured_content


async def test_stdio_tools_read_summarise_and_list_alices_payabli_invoices(
    sandbox: Any, tmp_path: Path
) -> None:
    base, _ = sandbox
    errlog = (tmp_path / "stderr.log").open("w")
    with errlog:
        async with Client(
            stdio_client(stdio_params(payabli_environment(base, tmp_path)), errlog=errlog)
        ) as client:
            listed = structured(await client.call_tool("list_invoices", {"provider": "payabli", "limit": 4}))
            second = structured(
                await client.call_tool(
                    "list_invoices", {"provider": "payabli", "limit": 4, "cursor": listed["next_cursor"]}
                )
            )
            open_only = structured(
                await client.call_tool("list_invoices", {"provider": "payabli", "status": "open"})
            )
            got = await client.call_tool("get_invoice", {"provider": "payabli", "invoice_id": "23548803"})
            summary = structured(
                await client.call_tool("summarize_invoice", {"provider": "payabli", "invoice_id": "23548803"})
            )
            overall = structured(await client.call_tool("summarize_invoices", {"provider": "payabli"}))
    rows = listed["invoices"] + second["invoices"]
    assert {row["id"] for row in rows} == ALICE_IDS and second["next_cursor"] is None
    assert {row["id"] for row in open_only["invoices"]} == {"23548802", "23548806"}
    invoice = structured(got)
    assert (invoice["total"], invoice["amount_paid"], invoice["amount_due"]) == (
        "1234.56",
        "234.56",
        "1000.00",
    )
    assert invoice["status"] == "partially_paid" and invoice["provider_status"] == "2"
    # MCP_INVOICES_DOCUMENT_LINKS=text (the default): the documents are named in a text block.
    assert [
        uri
        for block in got.content
        if block.type == "text" and block.text.startswith("Documents (read with resources/read)")
        for uri in re.findall(r"invoice://[^;\s]+", block.text)
    ] == [
        "invoice://payabli/23548803",
        "invoice://payabli/23548803/pdf",
    ]
    assert "1,000.00" in summary["summary"]
    assert overall["count"] == 6


async def test_stdio_orders_and_generation_are_not_supported_for_payabli(
    sandbox: Any, tmp_path: Path
) -> None:
    base, _ = sandbox
    async with Client(stdio_params(payabli_environment(base, tmp_path))) as client:
        orders = error_of(await client.call_tool("list_orders", {"provider": "payabli"}))
        generated = error_of(
            await client.call_tool("generate_invoice", {"provider": "payabli", "order_id": "1"})
        )
    assert orders["code"] == generated["code"] == "not_supported"


async def test_stdio_resources_give_the_json_and_pdf_documents_and_list_only_alices(
    sandbox: Any, tmp_path: Path
) -> None:
    base, states = sandbox
    async with Client(stdio_params(payabli_environment(base, tmp_path))) as client:
        listed = (await client.list_resources()).resources
        document = (await client.read_resource("invoice://payabli/23548801")).contents[0]
        via_tool = structured(
            await client.call_tool("get_invoice", {"provider": "payabli", "invoice_id": "23548801"})
        )
        pdf = (await client.read_resource("invoice://payabli/23548801/pdf")).contents[0]
    payabli_uris = {
        str(resource.uri) for resource in listed if str(resource.uri).startswith("invoice://payabli/")
    }
    assert payabli_uris == {f"invoice://payabli/{invoice_id}" for invoice_id in ALICE_IDS}
    assert document.mime_type == "application/json" and json.loads(document.text) == via_tool
    assert pdf.mime_type == "application/pdf"
    assert base64.b64decode(pdf.blob) == emulator.invoice_pdf(states.payabli.invoices[IDS["alice_paid"]])


async def test_stdio_another_customers_invoice_is_exactly_the_not_found_of_a_missing_one(
    sandbox: Any, tmp_path: Path
) -> None:
    base, _ = sandbox
    async with Client(stdio_params(payabli_environment(base, tmp_path))) as client:
        theirs = error_of(
            await client.call_tool("get_invoice", {"provider": "payabli", "invoice_id": "23548851"})
        )
        missing = error_of(
            await client.call_tool("get_invoice", {"provider": "payabli", "invoice_id": "23548859"})
        )
        with pytest.raises(MCPError) as theirs_pdf:
            await client.read_resource("invoice://payabli/23548851/pdf")
        with pytest.raises(MCPError) as missing_pdf:
            await client.read_resource("invoice://payabli/23548859/pdf")
    assert theirs["code"] == "not_found"
    assert json.dumps(theirs).replace("23548851", "X") == json.dumps(missing).replace("23548859", "X")
    assert theirs_pdf.value.error.code == missing_pdf.value.error.code
    assert str(theirs_pdf.value).replace("23548851", "X") == str(missing_pdf.value).replace("23548859", "X")


async def test_stdio_no_credential_reaches_results_errors_or_the_servers_stderr(
    sandbox: Any, tmp_path: Path
) -> None:
    base, states = sandbox
    seen: list[str] = []
    errlog_path = tmp_path / "stderr.log"
    with errlog_path.open("w") as errlog:
        async with Client(
            stdio_client(stdio_params(payabli_environment(base, tmp_path)), errlog=errlog)
        ) as client:
            for name, arguments in [
                ("list_invoices", {"provider": "payabli"}),
                ("get_invoice", {"provider": "payabli", "invoice_id": "23548801"}),
                ("get_invoice", {"provider": "payabli", "invoice_id": "23548851"}),
                ("summarize_invoices", {"provider": "payabli"}),
            ]:
                result = await client.call_tool(name, arguments)
                seen.append(json.dumps(result.model_dump(mode="json")))
            states.payabli.controls.fail_next = [503] * 4
            seen.append(
                json.dumps(
                    (
                        await client.call_tool(
                            "get_invoice", {"provider": "payabli", "invoice_id": "23548801"}
                        )
                    ).model_dump(mode="json")
                )
            )
            states.payabli.tokens = {"rotated-elsewhere"}  # the configured token is now refused
            refused = await client.call_tool("get_invoice", {"provider": "payabli", "invoice_id": "23548801"})
            seen.append(json.dumps(refused.model_dump(mode="json")))
            with pytest.raises(MCPError) as unreadable:
                await client.read_resource("invoice://payabli/23548801/pdf")
            seen.append(str(unreadable.value))
    stderr = errlog_path.read_text()
    assert error_of(refused)["code"] == "unauthorized" and "PAYABLI_API_TOKEN" in error_of(refused)["hint"]
    assert '"code": "provider_unavailable"' in seen[4]
    assert stderr  # DEBUG logging did write (retries, failures)
    for text in [*seen, stderr]:
        assert TOKEN not in text


async def test_the_seller_is_the_paypoints_trading_name_from_the_invoice_record(
    provider: PayabliProvider,
) -> None:
    invoice = await provider.get_invoice(ALICE, str(IDS["alice_paid"]))

    seller = await provider.seller(invoice)
    assert seller is not None and seller.name == "Sandbox Goods"
