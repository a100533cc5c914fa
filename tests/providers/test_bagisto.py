"""The Bagisto provider, against its emulator on 127.0.0.1 and end to end through ``mcp-invoices serve``.

Expected amounts are written out by hand from the emulator's seeded lines (see
``mcp_invoices/providers/bagisto/emulator/``), never recomputed with the code under test. A few narrow
``httpx2.MockTransport`` tests cover wire variants the emulator does not produce.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from pydantic import SecretStr

from mcp_invoices.domain.errors import (
    InvalidArgument,
    InvoiceError,
    NotFound,
    ProviderUnavailable,
    RateLimited,
    Unauthorized,
)
from mcp_invoices.domain.models import Invoice, InvoiceFilter, InvoiceStatus
from mcp_invoices.principal import Scope
from mcp_invoices.providers.bagisto.client import STATUSES, BagistoProvider
from mcp_invoices.providers.bagisto.emulator import (
    BAGISTO_CUSTOMER_TOKENS,
    BAGISTO_INVOICE_IDS,
    BAGISTO_STOREFRONT_KEY,
    BagistoInvoice,
    BagistoItem,
    BagistoState,
    create_app,
    invoice_pdf,
)
from mcp_invoices.providers.catalog import spec
from mcp_invoices.providers.emulation import LoggedRequest, dumps_json, running_app
from mcp_invoices.providers.http import RetryPolicy
from mcp_invoices.replicas.budget import RequestBudget
from mcp_invoices.sandbox import SandboxStates, create_sandbox_app, sandbox_environment
from tests.conftest import stdio_params
from tests.results import error_of

KEY = BAGISTO_STOREFRONT_KEY
ALICE_TOKEN = BAGISTO_CUSTOMER_TOKENS["alice"]
BOB_TOKEN = BAGISTO_CUSTOMER_TOKENS["bob"]
SECRETS = (KEY, *BAGISTO_CUSTOMER_TOKENS.values())
TOKEN_SCOPED = Scope("bagisto", "(provider session token)")
EVERYTHING = InvoiceFilter()


@dataclass
class RecordingSleep:
    """Stands in for ``anyio.sleep``: remembers each wait and returns at once."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class Recording(httpx2.AsyncBaseTransport):
    """The real loopback transport, remembering each request the client sends (bodies included)."""

    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.sent: list[httpx2.Request] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.sent.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def graphql(self) -> list[dict[str, Any]]:
        """The GraphQL requests' bodies, in order."""
        return [
            json.loads(request.content) for request in self.sent if request.url.path.endswith("/api/graphql")
        ]


@dataclass
class Emulator:
    state: BagistoState
    base_url: str
    recording: Recording = field(default_factory=Recording)

    @property
    def log(self) -> list[LoggedRequest]:
        return self.state.controls.request_log

    def provider(
        self, *, token: str | None = ALICE_TOKEN, key: str = KEY, sleep: RecordingSleep | None = None
    ) -> BagistoProvider:
        return BagistoProvider(
            base_url=self.base_url,
            storefront_key=SecretStr(key),
            customer_token=SecretStr(token) if token is not None else None,
            sleep=sleep or RecordingSleep(),
            transport=self.recording,
        )


@pytest.fixture
def state() -> BagistoState:
    return BagistoState()


@pytest.fixture
async def emulator(state: BagistoState) -> AsyncIterator[Emulator]:
    async with running_app(create_app(state)) as base_url:
        yield Emulator(state, base_url)


@pytest.fixture
async def alice(emulator: Emulator) -> AsyncIterator[BagistoProvider]:
    provider = emulator.provider()
    yield provider
    await provider.aclose()


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


async def failure_of(call: Any) -> InvoiceError:
    with pytest.raises(InvoiceError) as raised:
        await call
    error = raised.value
    assert_no_secret(f"{error} {error.hint} {error!r} {error.to_dict()}")
    return error


async def every_invoice(
    provider: BagistoProvider, query: InvoiceFilter, limit: int, scope: Scope = TOKEN_SCOPED
) -> list[Invoice]:
    """Every invoice through list_invoices pages of ``limit`` (bounded loop)."""
    seen: list[Invoice] = []
    cursor: str | None = None
    for _ in range(1000):
        page = await provider.list_invoices(scope, query, limit=limit, cursor=cursor)
        assert len(page.items) <= limit
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("pagination did not end")


# -- normalization ---------------------------------------------------------------------------------

# (customer, id, currency, subtotal, tax, discount, shipping, total, status, paid, due), by hand from
# the emulator's seeded lines: e.g. #3 is 3 x 19.99 = 59.97, + 7.50 shipping + 4.80 tax - 6.00 discount.
SEEDED = [
    ("alice", "1", "USD", "100.00", "5.00", "0.00", "5.00", "110.00", "paid", "110.00", "0.00"),
    ("alice", "2", "EUR", "0.30", "0.00", "0.00", "0.00", "0.30", "open", "0.00", "0.30"),
    ("alice", "3", "USD", "59.97", "4.80", "6.00", "7.50", "66.27", "paid", "66.27", "0.00"),
    ("alice", "6", "USD", "12.50", "0.00", "0.00", "4.99", "17.49", "refunded", "17.49", "0.00"),
    ("alice", "7", "JPY", "1500", "0", "0", "0", "1500", "open", "0", "1500"),
    ("alice", "10", "USD", "1234.56", "0.00", "0.00", "0.00", "1234.56", "open", "0.00", "1234.56"),
    ("bob", "4", "USD", "70.50", "0.00", "0.00", "5.00", "75.50", "paid", "75.50", "0.00"),
    ("bob", "5", "GBP", "35.00", "7.00", "0.00", "0.00", "42.00", "paid", "42.00", "0.00"),
    ("bob", "8", "USD", "19.99", "0.00", "0.00", "0.00", "19.99", "open", "0.00", "19.99"),
    ("bob", "9", "JPY", "4980", "0", "0", "0", "4980", "paid", "4980", "0"),
]


@pytest.mark.parametrize(
    (
        "customer",
        "invoice_id",
        "currency",
        "subtotal",
        "tax",
        "discount",
        "shipping",
        "total",
        "status",
        "paid",
        "due",
    ),
    SEEDED,
    ids=[f"{row[0]}-{row[1]}" for row in SEEDED],
)
async def test_every_seeded_invoice_keeps_its_amounts_exactly(
    emulator: Emulator,
    customer: str,
    invoice_id: str,
    currency: str,
    subtotal: str,
    tax: str,
    discount: str,
    shipping: str,
    total: str,
    status: str,
    paid: str,
    due: str,
) -> None:
    provider = emulator.provider(token=BAGISTO_CUSTOMER_TOKENS[customer])
    try:
        invoice = (await provider.get_invoice(TOKEN_SCOPED, invoice_id)).model_dump(mode="json")
    finally:
        await provider.aclose()
    amounts = {key: invoice[key] for key in ("currency", "subtotal", "tax", "discount", "shipping", "total")}
    assert amounts == {
        "currency": currency,
        "subtotal": subtotal,
        "tax": tax,
        "discount": discount,
        "shipping": shipping,
        "total": total,
    }
    assert (invoice["status"], invoice["amount_paid"], invoice["amount_due"]) == (status, paid, due)


async def test_bagistos_own_test_invoice_is_normalized_field_by_field(alice: BagistoProvider) -> None:
    """bagisto-api 5ab9ff2 tests/Feature/RestApi/CustomerInvoiceTest.php's invoice1, lines read over GraphQL."""
    invoice = (await alice.get_invoice(TOKEN_SCOPED, "1")).model_dump(mode="json")
    assert invoice == {
        "provider": "bagisto",
        "id": "1",
        "number": "INV-001",
        "status": "paid",
        "provider_status": "paid",
        "currency": "USD",
        "issued_at": "2025-02-10",
        "due_at": None,
        "paid_at": None,
        "customer": {"id": None, "name": None, "email": None},
        "billing": {"name": None, "address": None},
        "line_items": [
            {
                "description": "Test Invoice Product",
                "quantity": "2",
                "unit_amount": "50.00",
                "discount": "0.00",
                "tax": "5.00",
                "total": "100.00",
                "period_start": None,
                "period_end": None,
            },
        ],
        "subtotal": "100.00",
        "discount": "0.00",
        "tax": "5.00",
        "shipping": "5.00",
        "total": "110.00",
        "amount_paid": "110.00",
        "amount_due": "0.00",
        "documents": {"json_uri": "invoice://bagisto/1", "pdf_uri": "invoice://bagisto/1/pdf", "url": None},
        "note": None,
    }


async def test_lines_behind_unreadable_iris_are_read_through_graphql_with_the_same_token(
    emulator: Emulator, alice: BagistoProvider
) -> None:
    invoice = await alice.get_invoice(TOKEN_SCOPED, "3")
    [line] = invoice.line_items
    assert (line.description, line.quantity, line.unit_amount, line.tax, line.discount, line.total) == (
        "Hoodie",
        Decimal(3),
        Decimal("19.99"),
        Decimal("4.80"),
        Decimal("6.00"),
        Decimal("59.97"),
    )
    assert invoice.note is None
    assert [(entry.method, entry.path) for entry in emulator.log] == [
        ("GET", "/api/shop/customer-invoices/3"),
        ("POST", "/api/graphql"),
    ]
    assert all(entry.headers["authorization"] == f"Bearer {ALICE_TOKEN}" for entry in emulator.log)
    [lines_query] = emulator.recording.graphql()
    assert lines_query["variables"] == {"first": 50, "after": None, "orderId": 3}
    assert "customerInvoice(" not in lines_query["query"]  # the unscoped item query is never used


async def test_an_invoice_whose_lines_cannot_be_read_keeps_its_totals_and_says_so(
    emulator: Emulator, alice: BagistoProvider
) -> None:
    """bagisto-api 5ab9ff2 src/Models/CustomerInvoiceItem.php has no operations: REST lines are dead IRIs."""
    emulator.state.graphql_items = False  # a schema whose CustomerInvoice has no items connection
    invoice = await alice.get_invoice(TOKEN_SCOPED, "3")
    assert (invoice.total, invoice.subtotal, invoice.tax, invoice.amount_due) == (
        Decimal("66.27"),
        Decimal("59.97"),
        Decimal("4.80"),
        Decimal("0.00"),
    )
    assert invoice.line_items == []
    assert invoice.note is not None and "lines" in invoice.note and "totals" in invoice.note
    assert 'Cannot query field "items"' in invoice.note  # Bagisto's own words, trimmed


async def test_embedded_items_give_the_same_invoice_without_a_graphql_request(
    emulator: Emulator, alice: BagistoProvider
) -> None:
    linked = await alice.get_invoice(TOKEN_SCOPED, "1")
    emulator.state.embed_items = True
    emulator.log.clear()
    embedded = await alice.get_invoice(TOKEN_SCOPED, "1")
    assert embedded == linked
    assert [entry.path for entry in emulator.log] == ["/api/shop/customer-invoices/1"]


# -- status mapping --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("invoice_id", "provider_status", "status"),
    [
        ("1", "paid", InvoiceStatus.PAID),
        ("2", "pending", InvoiceStatus.OPEN),
        ("6", "refunded", InvoiceStatus.REFUNDED),
        ("7", "overdue", InvoiceStatus.OPEN),
        ("10", "pending_payment", InvoiceStatus.OPEN),
    ],
)
async def test_each_bagisto_state_maps_to_a_normalized_status_and_is_kept(
    alice: BagistoProvider, invoice_id: str, provider_status: str, status: InvoiceStatus
) -> None:
    invoice = await alice.get_invoice(TOKEN_SCOPED, invoice_id)
    assert (invoice.status, invoice.provider_status) == (status, provider_status)


async def test_overdue_is_open_with_no_invented_due_date(alice: BagistoProvider) -> None:
    invoice = await alice.get_invoice(TOKEN_SCOPED, "7")
    assert invoice.status is InvoiceStatus.OPEN and invoice.provider_status == "overdue"
    assert invoice.due_at is None and invoice.amount_due == Decimal(1500)


def test_the_status_table_covers_every_state_the_seeds_document() -> None:
    assert {"pending", "pending_payment", "paid", "overdue", "refunded"} <= set(STATUSES)


async def test_a_canceled_invoice_is_void_and_owes_nothing(
    emulator: Emulator, alice: BagistoProvider
) -> None:
    emulator.state.invoices[10].state = "canceled"
    invoice = await alice.get_invoice(TOKEN_SCOPED, "10")
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (InvoiceStatus.VOID, 0, 0)


async def test_an_unknown_state_is_served_as_open_and_kept_as_provider_status(
    emulator: Emulator, alice: BagistoProvider
) -> None:
    emulator.state.invoices[2].state = "on_hold"
    invoice = await alice.get_invoice(TOKEN_SCOPED, "2")
    assert (invoice.status, invoice.provider_status) == (InvoiceStatus.OPEN, "on_hold")


# -- listing and pagination ------------------------------------------------------------------------


async def test_listing_returns_the_customers_invoices_newest_first(alice: BagistoProvider) -> None:
    page = await alice.list_invoices(TOKEN_SCOPED, EVERYTHING, limit=20, cursor=None)
    assert [invoice.id for invoice in page.items] == ["10", "7", "6", "3", "2", "1"]
    assert page.next_cursor is None
    dates = [invoice.issued_at for invoice in page.items]
    assert dates == sorted(dates, reverse=True)


async def test_listed_invoices_carry_the_same_amounts_as_get_invoice(alice: BagistoProvider) -> None:
    listed = (await alice.list_invoices(TOKEN_SCOPED, EVERYTHING, limit=20, cursor=None)).items
    for row in listed:
        full = await alice.get_invoice(TOKEN_SCOPED, row.id)
        assert row.model_copy(update={"line_items": full.line_items}) == full


@pytest.mark.parametrize("limit", [1, 4, 7, 100])
async def test_pagination_walks_every_invoice_once_across_provider_pages(limit: int) -> None:
    state = BagistoState(extra_invoices=230)  # three provider pages of 100 for alice
    async with running_app(create_app(state)) as base_url:
        provider = Emulator(state, base_url).provider()
        try:
            seen = await every_invoice(provider, EVERYTHING, limit)
        finally:
            await provider.aclose()
    expected = sorted((i.id for i in state.invoices.values() if i.customer == "alice"), reverse=True)
    assert [int(invoice.id) for invoice in seen] == expected


async def test_a_full_walk_reads_each_graphql_page_once_newest_first() -> None:
    state = BagistoState(extra_invoices=230)  # 236 of alice's: five GraphQL pages of 50
    async with running_app(create_app(state)) as base_url:
        emulator = Emulator(state, base_url)
        provider = emulator.provider()
        try:
            seen = [invoice async for invoice in provider.iter_invoices(TOKEN_SCOPED, EVERYTHING)]
        finally:
            await provider.aclose()
    expected = sorted((i.id for i in state.invoices.values() if i.customer == "alice"), reverse=True)
    assert [int(invoice.id) for invoice in seen] == expected
    variables = [body["variables"] for body in emulator.recording.graphql()]
    assert [v["first"] for v in variables] == [50] * 5
    assert [v["after"] for v in variables] == [None, "NDk=", "OTk=", "MTQ5", "MTk5"]  # base64 of 49, 99, ...


async def test_pagination_stays_exact_when_an_invoice_is_created_between_pages(
    emulator: Emulator, alice: BagistoProvider
) -> None:
    first = await alice.list_invoices(TOKEN_SCOPED, EVERYTHING, limit=3, cursor=None)
    new_invoice = BagistoInvoice(
        100,
        "alice",
        "INV-100",
        "paid",
        "USD",
        [BagistoItem(111, "SKU-NEW", "New", 1, Decimal("1.00"))],
        "2025-08-01T09:00:00+00:00",
    )
    emulator.state.invoices[100] = new_invoice
    rest = await alice.list_invoices(TOKEN_SCOPED, EVERYTHING, limit=10, cursor=first.next_cursor)
    assert [invoice.id for invoice in first.items + rest.items] == ["10", "7", "6", "3", "2", "1"]


async def test_a_cursor_this_provider_never_gave_is_invalid_argument(alice: BagistoProvider) -> None:
    error = await failure_of(alice.list_invoices(TOKEN_SCOPED, EVERYTHING, limit=5, cursor="page=2&x=1"))
    assert isinstance(error, InvalidArgument)


# -- every invoice of a customer with more than ten (dave: 25, ids 11..35) ----------------------------

DAVE_IDS = [str(n) for n in range(35, 10, -1)]
"""Dave's invoices newest first: invoice ``10 + n`` is ``n`` x 10.00 USD (see the emulator's seeds)."""


@pytest.fixture
async def dave(emulator: Emulator) -> AsyncIterator[BagistoProvider]:
    provider = emulator.provider(token=BAGISTO_CUSTOMER_TOKENS["dave"])
    yield provider
    await provider.aclose()


@pytest.mark.parametrize("limit", [1, 7, 10, 20, 100])
async def test_a_listing_reaches_every_invoice_once_newest_first_beyond_the_ten_newest(
    dave: BagistoProvider, limit: int
) -> None:
    """bagisto-api 5ab9ff2 src/State/CustomerInvoiceProvider.php: REST ignores page/per_page (10 newest)."""
    seen = await every_invoice(dave, EVERYTHING, limit)
    assert [invoice.id for invoice in seen] == DAVE_IDS


async def test_a_summary_counts_every_invoice_of_the_customer(dave: BagistoProvider) -> None:
    summary = await dave.summarize(TOKEN_SCOPED, EVERYTHING, date(2026, 1, 1))
    assert summary.count == 25
    [usd] = summary.currencies
    # 10.00 x (1 + ... + 25) = 3,250.00; pending n = 3, 6, ..., 24: 10.00 x 108 = 1,080.00 due.
    assert (usd.currency, usd.count, usd.total, usd.due) == (
        "USD",
        25,
        Decimal("3250.00"),
        Decimal("1080.00"),
    )


async def test_a_number_older_than_the_ten_newest_is_found(emulator: Emulator, dave: BagistoProvider) -> None:
    invoice = await dave.get_invoice(TOKEN_SCOPED, "inv-011")
    assert (invoice.id, invoice.number, invoice.total) == ("11", "INV-011", Decimal("10.00"))
    assert [line.description for line in invoice.line_items] == ["Subscription month 1"]


async def test_a_state_filter_pages_through_bagisto_too(emulator: Emulator, dave: BagistoProvider) -> None:
    seen = await every_invoice(dave, InvoiceFilter(status=InvoiceStatus.PAID), 5)
    assert [invoice.id for invoice in seen] == [i for i in DAVE_IDS if (int(i) - 10) % 3]
    assert {body["variables"]["state"] for body in emulator.recording.graphql()} == {"paid"}


async def test_graphql_pages_ask_for_at_most_fifty_and_follow_end_cursor(
    emulator: Emulator, dave: BagistoProvider
) -> None:
    """bagisto-api 5ab9ff2 config/api-platform.php: pagination_maximum_items_per_page 50."""
    emulator.state.extra_invoices_customer = "dave"
    for invoice in BagistoState(extra_invoices=60, extra_invoices_customer="dave").invoices.values():
        if invoice.customer == "dave":
            emulator.state.invoices[invoice.id] = invoice
    seen = [invoice async for invoice in dave.iter_invoices(TOKEN_SCOPED, EVERYTHING)]
    assert len(seen) == 85 and len({invoice.id for invoice in seen}) == 85
    variables = [body["variables"] for body in emulator.recording.graphql()]
    assert variables == [{"first": 50, "after": None}, {"first": 50, "after": "NDk="}]


def test_the_default_budget_keeps_an_hour_within_bagistos_thousand_requests() -> None:
    """bagisto-api 5ab9ff2 src/Services/ApiKeyService.php getDefaultRateLimit: shop key, 1000 an hour."""
    bagisto = spec("bagisto")
    budget = RequestBudget(bagisto.requests_per_minute)
    assert bagisto.requests_per_hour == 1000
    assert bagisto.requests_per_minute * 60 + budget.capacity <= bagisto.requests_per_hour


# -- filters ---------------------------------------------------------------------------------------


async def test_a_status_with_one_bagisto_state_is_asked_of_bagisto(
    emulator: Emulator, alice: BagistoProvider
) -> None:
    page = await alice.list_invoices(
        TOKEN_SCOPED, InvoiceFilter(status=InvoiceStatus.PAID), limit=20, cursor=None
    )
    assert [invoice.id for invoice in page.items] == ["3", "1"]
    assert [body["variables"]["state"] for body in emulator.recording.graphql()] == ["paid"]


async def test_open_gathers_pending_pending_payment_and_overdue(
    emulator: Emulator, alice: BagistoProvider
) -> None:
    page = await alice.list_invoices(
        TOKEN_SCOPED, InvoiceFilter(status=InvoiceStatus.OPEN), limit=20, cursor=None
    )
    assert [(invoice.id, invoice.provider_status) for invoice in page.items] == [
        ("10", "pending_payment"),
        ("7", "overdue"),
        ("2", "pending"),
    ]
    assert not any("state" in body["variables"] for body in emulator.recording.graphql())


async def test_a_status_bagisto_never_has_lists_nothing_without_a_request(
    emulator: Emulator, alice: BagistoProvider
) -> None:
    page = await alice.list_invoices(
        TOKEN_SCOPED, InvoiceFilter(status=InvoiceStatus.DRAFT), limit=20, cursor=None
    )
    assert page.items == [] and emulator.log == []


async def test_issue_date_filters_are_inclusive(alice: BagistoProvider) -> None:
    query = InvoiceFilter(issued_after=date(2025, 4, 1), issued_before=date(2025, 6, 1))
    page = await alice.list_invoices(TOKEN_SCOPED, query, limit=20, cursor=None)
    assert [invoice.id for invoice in page.items] == ["7", "6", "3"]


async def test_a_filtered_listing_fills_its_pages_across_provider_pages() -> None:
    state = BagistoState(extra_invoices=230)
    async with running_app(create_app(state)) as base_url:
        provider = Emulator(state, base_url).provider()
        try:
            seen = await every_invoice(provider, InvoiceFilter(status=InvoiceStatus.REFUNDED), limit=9)
        finally:
            await provider.aclose()
    expected = sorted(
        (i.id for i in state.invoices.values() if i.customer == "alice" and i.state == "refunded"),
        reverse=True,
    )
    assert [int(invoice.id) for invoice in seen] == expected and len(expected) > 9


# -- scoping ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("invoice_id", ["abc", "01", "../1", "1/pdf", "", "-1"])
async def test_an_id_bagisto_cannot_have_is_not_found_without_asking(
    emulator: Emulator, alice: BagistoProvider, invoice_id: str
) -> None:
    assert isinstance(await failure_of(alice.invoice_by_id(TOKEN_SCOPED, invoice_id)), NotFound)
    assert isinstance(await failure_of(alice.pdf_by_id(TOKEN_SCOPED, invoice_id)), NotFound)
    assert emulator.log == []


async def test_a_session_credential_is_used_instead_of_the_configured_token(
    emulator: Emulator, alice: BagistoProvider
) -> None:
    bob = Scope("bagisto", "2", credential=SecretStr(BOB_TOKEN))
    assert (await alice.get_invoice(bob, "4")).total == Decimal("75.50")
    assert isinstance(await failure_of(alice.get_invoice(bob, "1")), NotFound)
    assert {entry.headers["authorization"] for entry in emulator.log} == {f"Bearer {BOB_TOKEN}"}


# -- the provider's PDF ----------------------------------------------------------------------------


async def test_the_pdf_is_bagistos_own_document(emulator: Emulator, alice: BagistoProvider) -> None:
    pdf = await alice.invoice_pdf(TOKEN_SCOPED, "3")
    assert pdf == invoice_pdf(emulator.state.invoices[3])
    [request] = emulator.log
    assert (
        request.path == "/api/shop/customer-invoices/3/pdf" and "application/pdf" in request.headers["accept"]
    )


async def test_a_pdf_endpoint_answering_json_is_provider_unavailable(
    emulator: Emulator, alice: BagistoProvider
) -> None:
    emulator.state.controls.malformed_next, emulator.state.controls.malformed_kind = 1, "wrong_shape"
    assert isinstance(await failure_of(alice.invoice_pdf(TOKEN_SCOPED, "3")), ProviderUnavailable)


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("call", "status"), [("get_invoice", 403), ("list_invoices", 401)])
async def test_a_wrong_storefront_key_is_unauthorized_naming_its_variable(
    emulator: Emulator, call: str, status: int
) -> None:
    """REST refuses an invalid key with 403, GraphQL with 401 (``error: invalid_key`` both ways)."""
    provider = emulator.provider(key="pk_storefront_wrong")
    try:
        if call == "get_invoice":
            error = await failure_of(provider.get_invoice(TOKEN_SCOPED, "1"))
        else:
            error = await failure_of(provider.list_invoices(TOKEN_SCOPED, EVERYTHING, limit=5, cursor=None))
    finally:
        await provider.aclose()
    assert isinstance(error, Unauthorized)
    assert "BAGISTO_STOREFRONT_KEY" in str(error.hint) and "BAGISTO_CUSTOMER_TOKEN" not in str(error.hint)
    assert "pk_storefront_wrong" not in f"{error} {error.hint}"
    assert [entry.status for entry in emulator.log] == [status]  # refusals are not retried


@pytest.mark.parametrize("call", ["get_invoice", "list_invoices"])
async def test_a_wrong_customer_token_is_unauthorized_naming_its_variable(
    emulator: Emulator, call: str
) -> None:
    """REST: 403 problem+json; GraphQL: 200 with an ``Unauthenticated`` error."""
    provider = emulator.provider(token="bagisto_token_expired")
    try:
        if call == "get_invoice":
            error = await failure_of(provider.get_invoice(TOKEN_SCOPED, "1"))
        else:
            error = await failure_of(provider.list_invoices(TOKEN_SCOPED, EVERYTHING, limit=5, cursor=None))
    finally:
        await provider.aclose()
    assert isinstance(error, Unauthorized)
    assert "BAGISTO_CUSTOMER_TOKEN" in str(error.hint) and "BAGISTO_STOREFRONT_KEY" not in str(error.hint)
    assert "bagisto_token_expired" not in f"{error} {error.hint}"


async def test_a_refused_session_credential_is_not_blamed_on_the_environment(alice: BagistoProvider) -> None:
    scope = Scope("bagisto", "1", credential=SecretStr("bagisto_token_revoked"))
    error = await failure_of(alice.get_invoice(scope, "1"))
    assert isinstance(error, Unauthorized) and "BAGISTO_" not in str(error.hint)


async def test_no_customer_token_at_all_is_unauthorized_without_a_request(emulator: Emulator) -> None:
    provider = emulator.provider(token=None)
    try:
        error = await failure_of(provider.get_invoice(TOKEN_SCOPED, "1"))
    finally:
        await provider.aclose()
    assert isinstance(error, Unauthorized) and "BAGISTO_CUSTOMER_TOKEN" in str(error.hint)
    assert emulator.log == []


async def test_rate_limited_after_the_retries_carries_bagistos_wait(emulator: Emulator) -> None:
    emulator.state.controls.force_429_next, emulator.state.controls.retry_after = 10, 2
    sleep = RecordingSleep()
    provider = emulator.provider(sleep=sleep)
    try:
        error = await failure_of(provider.get_invoice(TOKEN_SCOPED, "1"))
    finally:
        await provider.aclose()
    assert isinstance(error, RateLimited) and error.retry_after == 2
    assert sleep.delays == [2, 2, 2]
    assert [entry.status for entry in emulator.log] == [429] * RetryPolicy().attempts


async def test_a_transient_429_is_retried_after_the_wait_bagisto_asked_for(emulator: Emulator) -> None:
    emulator.state.controls.force_429_next, emulator.state.controls.retry_after = 1, 3
    sleep = RecordingSleep()
    provider = emulator.provider(sleep=sleep)
    try:
        invoice = await provider.get_invoice(TOKEN_SCOPED, "1")
    finally:
        await provider.aclose()
    assert invoice.total == Decimal("110.00") and sleep.delays == [3]


async def test_503_beyond_the_retries_is_provider_unavailable(
    emulator: Emulator, alice: BagistoProvider
) -> None:
    emulator.state.controls.fail_next = [503] * 10
    error = await failure_of(alice.get_invoice(TOKEN_SCOPED, "1"))
    assert isinstance(error, ProviderUnavailable)
    assert [entry.status for entry in emulator.log] == [503] * RetryPolicy().attempts


async def test_a_transient_503_is_retried_and_succeeds(emulator: Emulator, alice: BagistoProvider) -> None:
    emulator.state.controls.fail_next = [503, 502]
    page = await alice.list_invoices(TOKEN_SCOPED, EVERYTHING, limit=20, cursor=None)
    assert len(page.items) == 6
    assert [entry.status for entry in emulator.log] == [503, 502, 200]


@pytest.mark.parametrize("kind", ["truncated_json", "html", "wrong_shape"])
@pytest.mark.parametrize("call", ["get_invoice", "list_invoices"])
async def test_a_malformed_body_is_provider_unavailable(
    emulator: Emulator, alice: BagistoProvider, kind: str, call: str
) -> None:
    emulator.state.controls.malformed_next, emulator.state.controls.malformed_kind = 1, kind  # type: ignore[assignment]
    if call == "get_invoice":
        error = await failure_of(alice.get_invoice(TOKEN_SCOPED, "1"))
    else:
        error = await failure_of(alice.list_invoices(TOKEN_SCOPED, EVERYTHING, limit=5, cursor=None))
    assert isinstance(error, ProviderUnavailable)
    assert error.message.startswith("Bagisto sent ") and not any(mark in error.message for mark in "{}<[")


async def test_requests_carry_the_storefront_key_and_the_bearer_token_and_nothing_else_secret(
    emulator: Emulator, alice: BagistoProvider
) -> None:
    await alice.get_invoice(TOKEN_SCOPED, "1")
    await alice.list_invoices(TOKEN_SCOPED, EVERYTHING, limit=5, cursor=None)
    await alice.invoice_pdf(TOKEN_SCOPED, "1")
    assert [(entry.method, entry.path) for entry in emulator.log] == [
        ("GET", "/api/shop/customer-invoices/1"),
        ("POST", "/api/graphql"),  # its lines
        ("POST", "/api/graphql"),  # one list page
        ("GET", "/api/shop/customer-invoices/1/pdf"),
    ]
    for entry in emulator.log:
        assert entry.headers["x-storefront-key"] == KEY
        assert entry.headers["authorization"] == f"Bearer {ALICE_TOKEN}"
        assert "cookie" not in entry.headers
        assert_no_secret(entry.path + entry.query)
        others = {
            name: value
            for name, value in entry.headers.items()
            if name not in ("x-storefront-key", "authorization")
        }
        assert_no_secret(json.dumps(others))


# -- wire variants the emulator does not produce (MockTransport) -----------------------------------


def mock_provider(
    handler: Callable[[httpx2.Request], httpx2.Response],
    sleep: RecordingSleep | None = None,
    token: str = ALICE_TOKEN,
) -> BagistoProvider:
    return BagistoProvider(
        base_url="http://bagisto.test/shop",
        storefront_key=SecretStr(KEY),
        customer_token=SecretStr(token),
        transport=httpx2.MockTransport(handler),
        sleep=sleep or RecordingSleep(),
    )


def seed_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": 1,
        "incrementId": "INV-001",
        "state": "paid",
        "subTotal": Decimal("100.00"),
        "grandTotal": Decimal("110.00"),
        "shippingAmount": Decimal("5.00"),
        "taxAmount": Decimal("5.00"),
        "discountAmount": Decimal("0.00"),
        "orderCurrencyCode": "USD",
        "createdAt": "2025-02-10T10:30:00+00:00",
        "items": [],
    }
    return {**body, **changes}


async def test_a_retry_after_only_in_the_429_body_sets_the_wait() -> None:
    """bagisto-api 5ab9ff2 src/Http/Middleware/VerifyStorefrontKey.php: 429 without Retry-After, the wait in the body."""
    answers = iter([429, 200])

    def handler(request: httpx2.Request) -> httpx2.Response:
        if next(answers) == 429:
            body = {"message": "Rate limit exceeded", "error": "rate_limit_exceeded", "retry_after": 4}
            return httpx2.Response(429, json=body)
        return httpx2.Response(200, content=dumps_json(seed_body()))

    sleep = RecordingSleep()
    provider = mock_provider(handler, sleep)
    try:
        invoice = await provider.get_invoice(TOKEN_SCOPED, "1")
    finally:
        await provider.aclose()
    assert invoice.id == "1" and sleep.delays == [4]


async def test_a_retry_after_only_in_the_body_reaches_the_rate_limited_error() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            429, json={"message": "Rate limit exceeded", "error": "rate_limit_exceeded", "retry_after": 7}
        )

    provider = mock_provider(handler)
    try:
        error = await failure_of(provider.get_invoice(TOKEN_SCOPED, "1"))
    finally:
        await provider.aclose()
    assert isinstance(error, RateLimited) and error.retry_after == 7


async def test_cookies_set_by_bagisto_are_never_sent_back() -> None:
    seen_cookies: list[str | None] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen_cookies.append(request.headers.get("cookie"))
        return httpx2.Response(
            200,
            content=dumps_json(seed_body()),
            headers={"Set-Cookie": "laravel_session=alice-session; Path=/"},
        )

    provider = mock_provider(handler)
    try:
        await provider.get_invoice(TOKEN_SCOPED, "1")
        await provider.get_invoice(Scope("bagisto", "2", credential=SecretStr(BOB_TOKEN)), "1")
    finally:
        await provider.aclose()
    assert seen_cookies == [None, None]


async def test_string_amounts_and_missing_optional_fields_normalize() -> None:
    item = {"id": 5, "name": "Mug", "qty": "2.0000", "price": "3.5000", "total": "7.0000", "taxAmount": None}
    body = seed_body(
        subTotal=None,
        taxAmount="5.0000",
        grandTotal="110.0000",
        createdAt="not a date",
        incrementId=None,
        orderCurrencyCode=None,
        channelCurrencyCode="eur",
        items=[item],
    )
    del body["shippingAmount"]

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=dumps_json(body))

    provider = mock_provider(handler)
    try:
        invoice = (await provider.get_invoice(TOKEN_SCOPED, "1")).model_dump(mode="json")
    finally:
        await provider.aclose()
    assert (invoice["currency"], invoice["total"], invoice["tax"]) == ("EUR", "110.00", "5.00")
    assert invoice["subtotal"] is None and invoice["shipping"] is None
    assert invoice["issued_at"] is None and invoice["number"] is None
    assert invoice["line_items"] == [
        {
            "description": "Mug",
            "quantity": "2",
            "unit_amount": "3.50",
            "discount": None,
            "tax": None,
            "total": "7.00",
            "period_start": None,
            "period_end": None,
        }
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"grandTotal": True},
        {"grandTotal": "lots"},
        {"orderCurrencyCode": None},
        {"state": None},
        {"items": [{"name": "no id"}]},
        {"id": 2},
    ],
    ids=["boolean-total", "text-total", "no-currency", "no-state", "item-without-id", "another-invoice"],
)
async def test_an_invoice_of_the_wrong_shape_is_provider_unavailable(change: dict[str, Any]) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=dumps_json(seed_body(**change)))

    provider = mock_provider(handler)
    try:
        error = await failure_of(provider.get_invoice(TOKEN_SCOPED, "1"))
    finally:
        await provider.aclose()
    assert isinstance(error, ProviderUnavailable)


async def test_an_item_link_is_never_followed_whatever_it_names() -> None:
    requested: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        requested.append(str(request.url))
        if request.url.path.endswith("/api/graphql"):
            return httpx2.Response(200, json={"errors": [{"message": "Internal server error"}]})
        return httpx2.Response(
            200, content=dumps_json(seed_body(items=["https://evil.test/steal?x=1"], orderId=1))
        )

    provider = mock_provider(handler)
    try:
        invoice = await provider.get_invoice(TOKEN_SCOPED, "1")
    finally:
        await provider.aclose()
    assert invoice.total == Decimal("110.00") and invoice.note is not None
    assert requested == [
        "http://bagisto.test/shop/api/shop/customer-invoices/1",
        "http://bagisto.test/shop/api/graphql",
    ]


def graphql_page(nodes: list[dict[str, Any]], end_cursor: str | None, has_next: bool) -> dict[str, Any]:
    return {
        "data": {
            "customerInvoices": {
                "edges": [{"cursor": "x", "node": node} for node in nodes],
                "pageInfo": {"endCursor": end_cursor, "hasNextPage": has_next},
                "totalCount": 100,
            }
        }
    }


def node(invoice_id: int) -> dict[str, Any]:
    body = seed_body(id=invoice_id, incrementId=f"INV-{invoice_id:03d}")
    body["_id"] = body.pop("id")
    del body["items"]
    return body


async def test_a_cursor_that_does_not_advance_is_provider_unavailable_not_a_loop() -> None:
    """bagisto-api 5ab9ff2 src/State/CustomerInvoiceProvider.php: an offset past the end answers the last page."""
    sent: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(200, content=dumps_json(graphql_page([node(5), node(4)], "MQ==", True)))

    provider = mock_provider(handler)
    try:
        listed = await failure_of(provider.list_invoices(TOKEN_SCOPED, EVERYTHING, limit=50, cursor=None))
        summed = await failure_of(provider.summarize(TOKEN_SCOPED, EVERYTHING, date(2026, 1, 1)))
    finally:
        await provider.aclose()
    assert isinstance(listed, ProviderUnavailable) and "does not advance" in listed.message
    assert isinstance(summed, ProviderUnavailable) and "does not advance" in summed.message
    assert len(sent) == 4  # two pages each: the second repeats the cursor


async def test_a_page_without_its_cursor_or_total_is_provider_unavailable() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        page = graphql_page([node(5)], None, True)
        return httpx2.Response(200, content=dumps_json(page))

    provider = mock_provider(handler)
    try:
        error = await failure_of(provider.list_invoices(TOKEN_SCOPED, EVERYTHING, limit=50, cursor=None))
    finally:
        await provider.aclose()
    assert isinstance(error, ProviderUnavailable)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            {
                "message": "Unauthenticated. Please login to perform this action",
                "extensions": {"status": 403},
            },
            Unauthorized,
        ),
        ({"message": "Unauthenticated. Please login to perform this action"}, Unauthorized),
        ({"message": 'Cannot query field "items" on type "CustomerInvoice".'}, ProviderUnavailable),
        ({"message": "Rate limit exceeded. Please retry after 60 seconds"}, RateLimited),
    ],
    ids=["unauthenticated-403", "unauthenticated-message", "schema", "rate-limit"],
)
async def test_graphql_errors_sent_with_200_map_to_specific_errors(
    error: dict[str, Any], expected: type[InvoiceError]
) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"errors": [error], "data": {"customerInvoices": None}})

    provider = mock_provider(handler)
    try:
        failure = await failure_of(provider.list_invoices(TOKEN_SCOPED, EVERYTHING, limit=5, cursor=None))
    finally:
        await provider.aclose()
    assert type(failure) is expected
    if expected is ProviderUnavailable:
        assert 'Cannot query field "items"' in failure.message and "GraphQL" in failure.message


@pytest.mark.parametrize(
    ("status", "body", "names"),
    [
        (
            403,
            {
                "type": "/errors/403",
                "title": "Forbidden",
                "detail": "Unauthenticated. Please login to perform this action",
                "status": 403,
            },
            ["BAGISTO_CUSTOMER_TOKEN"],
        ),
        (
            401,
            {"title": "Unauthorized", "detail": "Unauthenticated.", "status": 401},
            ["BAGISTO_CUSTOMER_TOKEN"],
        ),
        (
            401,
            {"message": "X-STOREFRONT-KEY header is required", "error": "missing_key"},
            ["BAGISTO_STOREFRONT_KEY"],
        ),
        (
            403,
            {"message": "Invalid or inactive shop API key", "error": "invalid_key"},
            ["BAGISTO_STOREFRONT_KEY"],
        ),
        (403, {"message": "Forbidden"}, ["BAGISTO_STOREFRONT_KEY", "BAGISTO_CUSTOMER_TOKEN"]),
        (401, None, ["BAGISTO_STOREFRONT_KEY", "BAGISTO_CUSTOMER_TOKEN"]),
    ],
    ids=[
        "unauthenticated-403",
        "problem-json-401",
        "missing-key-401",
        "invalid-key-403",
        "unclear-403",
        "no-body-401",
    ],
)
async def test_a_refusal_names_the_credential_its_body_points_at(
    status: int, body: dict[str, Any] | None, names: list[str]
) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, json=body) if body is not None else httpx2.Response(status)

    provider = mock_provider(handler)
    try:
        error = await failure_of(provider.get_invoice(TOKEN_SCOPED, "1"))
    finally:
        await provider.aclose()
    assert isinstance(error, Unauthorized)
    assert [
        name for name in ("BAGISTO_STOREFRONT_KEY", "BAGISTO_CUSTOMER_TOKEN") if name in str(error.hint)
    ] == names


# -- end to end: mcp-invoices serve over stdio -----------------------------------------------------


@dataclass
class Served:
    states: SandboxStates
    env: dict[str, str]
    stderr: Path


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    """The sandbox on 127.0.0.1 and the environment of a stdio session as alice (Bagisto variables only)."""
    states = SandboxStates()
    async with running_app(create_sandbox_app(states)) as base_url:
        bagisto_only = {
            k: v for k, v in sandbox_environment(base_url, "alice").items() if k.startswith("BAGISTO_")
        }
        env = bagisto_only | {
            "MCP_INVOICES_DB": str(tmp_path / "ledger.sqlite3"),
            "MCP_INVOICES_LOG_LEVEL": "DEBUG",
        }
        yield Served(states, env, tmp_path / "stderr.log")


@contextlib.asynccontextmanager
async def session(served: Served, **env: str) -> AsyncIterator[Client]:
    """``mcp-invoices serve`` as a subprocess, its stderr captured in ``served.stderr``."""
    with served.stderr.open("a") as errlog:
        async with Client(stdio_client(stdio_params(served.env | env), errlog=errlog)) as client:
            yield client


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return result.structured_content


BAGISTO = {"provider": "bagisto"}


async def test_stdio_get_invoice_returns_the_normalized_invoice_with_links_to_its_documents(
    served: Served,
) -> None:
    async with session(served) as client:
        result = await client.call_tool("get_invoice", {"invoice_id": "3"} | BAGISTO)
    invoice = structured(result)
    assert (invoice["number"], invoice["status"], invoice["total"], invoice["amount_due"]) == (
        "INV-003",
        "paid",
        "66.27",
        "0.00",
    )
    assert invoice["line_items"][0]["total"] == "59.97"
    # MCP_INVOICES_DOCUMENT_LINKS=text (the default): the documents are named in a text block.
    links = [
        uri
        for block in result.content
        if block.type == "text" and block.text.startswith("Documents (read with resources/read)")
        for uri in re.findall(r"invoice://[^;\s]+", block.text)
    ]
    assert links == ["invoice://bagisto/3", "invoice://bagisto/3/pdf"]


async def test_stdio_list_invoices_pages_newest_first_and_filters(served: Served) -> None:
    async with session(served) as client:
        seen, cursor = [], None
        for _ in range(10):
            page = structured(
                await client.call_tool(
                    "list_invoices", BAGISTO | {"limit": 4} | ({"cursor": cursor} if cursor else {})
                )
            )
            seen += [row["id"] for row in page["invoices"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        open_rows = structured(await client.call_tool("list_invoices", BAGISTO | {"status": "open"}))[
            "invoices"
        ]
    assert seen == ["10", "7", "6", "3", "2", "1"]
    assert [(row["id"], row["total"]) for row in open_rows] == [
        ("10", "1234.56"),
        ("7", "1500"),
        ("2", "0.30"),
    ]


async def test_stdio_summaries_cover_one_invoice_and_all_of_them(served: Served) -> None:
    async with session(served) as client:
        one = structured(await client.call_tool("summarize_invoice", {"invoice_id": "7"} | BAGISTO))
        every = structured(await client.call_tool("summarize_invoices", BAGISTO))
    assert (one["status"], one["amount_due"], one["currency"], one["largest_line"]["description"]) == (
        "open",
        "1500",
        "JPY",
        "Tea set",
    )
    assert every["count"] == 6
    assert {entry["status"]: entry["count"] for entry in every["by_status"]} == {
        "open": 3,
        "paid": 2,
        "refunded": 1,
    }
    usd = next(entry for entry in every["currencies"] if entry["currency"] == "USD")
    assert (usd["count"], usd["total"], usd["due"]) == (
        4,
        "1428.32",
        "1234.56",
    )  # 110.00 + 66.27 + 17.49 + 1234.56


async def test_stdio_order_tools_are_not_supported_for_bagisto(served: Served) -> None:
    async with session(served) as client:
        orders = error_of(await client.call_tool("list_orders", BAGISTO))
        generated = error_of(await client.call_tool("generate_invoice", {"order_id": "999"} | BAGISTO))
    assert orders["code"] == "not_supported" and generated["code"] == "not_supported"


async def test_stdio_resources_serve_the_json_and_bagistos_pdf(served: Served) -> None:
    async with session(served) as client:
        as_json = (await client.read_resource("invoice://bagisto/1")).contents[0]
        via_tool = structured(await client.call_tool("get_invoice", {"invoice_id": "1"} | BAGISTO))
        as_pdf = (await client.read_resource("invoice://bagisto/1/pdf")).contents[0]
        listed = {resource.uri for resource in (await client.list_resources()).resources}
    assert as_json.mime_type == "application/json" and json.loads(as_json.text) == via_tool
    assert as_pdf.mime_type == "application/pdf"
    assert base64.b64decode(as_pdf.blob) == invoice_pdf(served.states.bagisto.invoices[1])
    bagisto_uris = {uri for uri in listed if str(uri).startswith("invoice://bagisto/")}
    assert bagisto_uris == {f"invoice://bagisto/{i}" for i in BAGISTO_INVOICE_IDS["alice"]}


async def test_stdio_another_customers_invoice_is_exactly_the_not_found_of_a_missing_one(
    served: Served,
) -> None:
    async with session(served) as client:
        theirs = error_of(await client.call_tool("get_invoice", {"invoice_id": "4"} | BAGISTO))
        missing = error_of(await client.call_tool("get_invoice", {"invoice_id": "999"} | BAGISTO))
        with pytest.raises(MCPError) as theirs_pdf:
            await client.read_resource("invoice://bagisto/4/pdf")
        with pytest.raises(MCPError) as missing_pdf:
            await client.read_resource("invoice://bagisto/999/pdf")
    assert theirs["code"] == "not_found"
    assert json.dumps(theirs).replace("'4'", "'X'") == json.dumps(missing).replace("'999'", "'X'")
    assert theirs_pdf.value.error.code == missing_pdf.value.error.code
    assert str(theirs_pdf.value).replace("'4'", "'X'") == str(missing_pdf.value).replace("'999'", "'X'")


async def test_stdio_no_credential_reaches_a_result_an_error_or_stderr(served: Served) -> None:
    controls = served.states.bagisto.controls
    outputs: list[str] = []
    async with session(served) as client:
        outputs.append(
            (await client.call_tool("get_invoice", {"invoice_id": "1"} | BAGISTO)).model_dump_json()
        )
        controls.force_429_next, controls.retry_after = 1, 0
        outputs.append((await client.call_tool("list_invoices", BAGISTO)).model_dump_json())
        controls.fail_next = [503] * 4
        outputs.append(
            (await client.call_tool("get_invoice", {"invoice_id": "2"} | BAGISTO)).model_dump_json()
        )
        controls.malformed_next, controls.malformed_kind = 1, "wrong_shape"
        outputs.append(
            (await client.call_tool("summarize_invoice", {"invoice_id": "3"} | BAGISTO)).model_dump_json()
        )
        outputs.append((await client.read_resource("invoice://bagisto/1")).model_dump_json())
    async with session(served, BAGISTO_CUSTOMER_TOKEN="bagisto_token_wrong_one") as client:
        refused = await client.call_tool("get_invoice", {"invoice_id": "1"} | BAGISTO)
        outputs.append(refused.model_dump_json())
    assert error_of(refused)["code"] == "unauthorized"
    stderr = served.stderr.read_text()
    assert "bagisto" in stderr.lower()  # the logs did record the failures above
    for text in [*outputs, stderr]:
        assert_no_secret(text)
        assert "bagisto_token_wrong_one" not in text
