"""The Polar provider: against its emulator over real HTTP, end to end over stdio, and a few wire cases.

The emulator (``mcp_invoices.providers.polar.emulator``) runs under uvicorn on 127.0.0.1; tests switch its
behaviour by mutating its state object. Expected amounts are the emulator's seeded minor units,
converted here by hand.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from mcp_types import BlobResourceContents, TextResourceContents
from pydantic import SecretStr

from mcp_invoices.config import RemoteProviderConfig
from mcp_invoices.domain.errors import (
    InvalidArgument,
    InvoiceError,
    MissingBillingDetails,
    NotFound,
    NotPaid,
    NotSupported,
    ProviderUnavailable,
    RateLimited,
    Unauthorized,
    not_found,
)
from mcp_invoices.domain.models import Address, Billing, InvoiceFilter, InvoiceStatus
from mcp_invoices.principal import Scope
from mcp_invoices.providers.emulation import running_app
from mcp_invoices.providers.http import RetryPolicy
from mcp_invoices.providers.polar.client import (
    ACCESS_TOKEN_HINT,
    CUSTOMER_SESSION_HINT,
    STATUSES,
    PolarProvider,
)
from mcp_invoices.providers.polar.emulator import (
    POLAR_CUSTOMER_IDS,
    POLAR_CUSTOMER_SESSIONS,
    POLAR_ORDER_IDS,
    POLAR_ORGANIZATION_TOKEN,
    PolarState,
    create_app,
)
from mcp_invoices.sandbox import SandboxStates, create_sandbox_app, sandbox_environment
from mcp_invoices.server.runtime import TOKEN_SCOPED
from tests.conftest import stdio_params
from tests.results import error_of

ALICE_TOKEN = POLAR_CUSTOMER_SESSIONS["alice"]
BOB_TOKEN = POLAR_CUSTOMER_SESSIONS["bob"]
SECRETS = (*POLAR_CUSTOMER_SESSIONS.values(), POLAR_ORGANIZATION_TOKEN)
SESSION = Scope("polar", TOKEN_SCOPED)
"""The stdio scope: the configured customer session token is the customer."""
MISSING_ID = "00000000-0000-4000-8000-000000000000"
FAST_RETRY = RetryPolicy(base_delay=0.001, max_delay=0.01, max_retry_after=0.01, total_budget=10.0)
ORDERS = "/v1/customer-portal/orders/"


def oid(role: str) -> str:
    return POLAR_ORDER_IDS[role]


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def state() -> PolarState:
    return PolarState(generation_delay=0.1)


@pytest.fixture
async def base_url(state: PolarState) -> AsyncIterator[str]:
    async with running_app(create_app(state)) as url:
        yield url


ProviderFactory = Callable[..., PolarProvider]


@pytest.fixture
async def make_provider(base_url: str) -> AsyncIterator[ProviderFactory]:
    """Builds providers against the emulator (alice's session unless told otherwise) and closes them."""
    made: list[PolarProvider] = []

    def build(**options: Any) -> PolarProvider:
        if "access_token" not in options:
            options.setdefault("customer_session", SecretStr(ALICE_TOKEN))
        defaults: dict[str, Any] = {
            "base_url": base_url,
            "retry": FAST_RETRY,
            "generation_timeout": 10.0,
            "poll_interval": 0.02,
            "max_poll_interval": 0.1,
        }
        provider = PolarProvider(**(defaults | options))
        made.append(provider)
        return provider

    yield build
    for provider in made:
        await provider.aclose()


@pytest.fixture
def alice(make_provider: ProviderFactory) -> PolarProvider:
    return make_provider()


@pytest.fixture
def bob(make_provider: ProviderFactory) -> PolarProvider:
    return make_provider(customer_session=SecretStr(BOB_TOKEN))


def generate_everything(state: PolarState) -> None:
    """Make every seeded order's invoice exist, whatever its status (to read each status mapping)."""
    for order in state.orders.values():
        order.invoice_ready_at = float("-inf")


def api_requests(state: PolarState) -> list[Any]:
    """The emulator's log without the presigned document downloads."""
    return [entry for entry in state.controls.request_log if not entry.path.startswith("/_files/")]


def same_not_found(error: InvoiceError, kind: str, object_id: str) -> bool:
    expected = not_found(kind, object_id)  # type: ignore[arg-type]
    return isinstance(error, NotFound) and error.to_dict() == expected.to_dict()


# -- normalization ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    currency: str
    subtotal: str
    discount: str
    tax: str
    total: str
    amount_due: str
    amount_paid: str
    status: str
    provider_status: str
    number: str | None
    issued_at: str
    line_items: list[tuple[str, str, str]] = field(default_factory=list)
    """(description, total before tax, tax) per item."""


# The emulator's seeded minor units, converted by hand.
SEEDED = {
    "alice_paid_generated": Expected(
        "USD",
        "100.00",
        "0.00",
        "10.00",
        "110.00",
        "0.00",
        "110.00",
        "paid",
        "paid",
        "SBX-ALICE-0001",
        "2026-01-05",
        [("Pro plan (monthly)", "100.00", "10.00")],
    ),
    "alice_paid_not_generated": Expected(
        "EUR",
        "59.97",
        "0.00",
        "11.39",
        "71.36",
        "0.00",
        "71.36",
        "paid",
        "paid",
        "SBX-ALICE-0002",
        "2026-02-05",
        [("Team seats x 3", "59.97", "11.39")],
    ),
    "alice_paid_missing_billing": Expected(
        "USD",
        "19.99",
        "0.00",
        "0.00",
        "19.99",
        "0.00",
        "19.99",
        "paid",
        "paid",
        "SBX-ALICE-0003",
        "2026-03-05",
        [("Storage add-on", "19.99", "0.00")],
    ),
    "alice_pending": Expected(
        "JPY",
        "1500",
        "0",
        "0",
        "1500",
        "1500",
        "0",
        "open",
        "pending",
        "SBX-ALICE-0004",
        "2026-04-05",
        [("Sticker pack", "1500", "0")],
    ),
    "alice_draft": Expected(
        "USD",
        "150.00",
        "0.00",
        "0.00",
        "150.00",
        "150.00",
        "0.00",
        "draft",
        "draft",
        None,
        "2026-05-05",
        [("Consulting hour", "150.00", "0.00")],
    ),
    "alice_void": Expected(
        "USD",
        "49.00",
        "0.00",
        "0.00",
        "49.00",
        "0.00",
        "0.00",
        "void",
        "void",
        "SBX-ALICE-0005",
        "2026-05-10",
        [("Cancelled upgrade", "49.00", "0.00")],
    ),
    "alice_refunded": Expected(
        "USD",
        "1200.00",
        "0.00",
        "120.00",
        "1320.00",
        "0.00",
        "1320.00",
        "refunded",
        "refunded",
        "SBX-ALICE-0006",
        "2026-05-20",
        [("Annual plan", "1200.00", "120.00")],
    ),
    "bob_paid_generated_jpy": Expected(
        "JPY",
        "4980",
        "0",
        "498",
        "5478",
        "0",
        "5478",
        "paid",
        "paid",
        "SBX-BOB-0001",
        "2026-01-12",
        [("Pro plan (monthly)", "4980", "498")],
    ),
    "bob_paid_discounted": Expected(
        "USD",
        "100.00",
        "10.00",
        "9.00",
        "99.00",
        "0.00",
        "99.00",
        "paid",
        "paid",
        "SBX-BOB-0002",
        "2026-02-12",
        [("Pro plan (monthly)", "100.00", "9.00")],
    ),
    "bob_partially_refunded": Expected(
        "USD",
        "39.98",
        "0.00",
        "0.00",
        "39.98",
        "0.00",
        "39.98",
        "paid",
        "partially_refunded",
        "SBX-BOB-0003",
        "2026-03-12",
        [("Seat", "19.99", "0.00"), ("Seat", "19.99", "0.00")],
    ),
    "bob_pending": Expected(
        "USD",
        "100.00",
        "0.00",
        "10.00",
        "110.00",
        "110.00",
        "0.00",
        "open",
        "pending",
        "SBX-BOB-0004",
        "2026-04-12",
        [("Pro plan (monthly)", "100.00", "10.00")],
    ),
    "bob_paid_missing_address": Expected(
        "USD",
        "25.00",
        "0.00",
        "0.00",
        "25.00",
        "0.00",
        "25.00",
        "paid",
        "paid",
        "SBX-BOB-0005",
        "2026-05-12",
        [("Workshop ticket", "25.00", "0.00")],
    ),
}


def test_the_status_table_covers_every_documented_polar_order_status() -> None:
    assert set(STATUSES) == {"draft", "pending", "paid", "refunded", "partially_refunded", "void"}
    assert STATUSES["partially_refunded"] is InvoiceStatus.PAID


@pytest.mark.parametrize("role", sorted(SEEDED))
async def test_every_seeded_order_normalizes_to_its_exact_amounts_and_status(
    role: str, state: PolarState, alice: PolarProvider, bob: PolarProvider
) -> None:
    generate_everything(state)
    provider = alice if role.startswith("alice") else bob
    invoice = (await provider.get_invoice(SESSION, oid(role))).model_dump(mode="json")
    want = SEEDED[role]
    assert {
        key: invoice[key]
        for key in (
            "currency",
            "subtotal",
            "discount",
            "tax",
            "total",
            "amount_due",
            "amount_paid",
            "status",
            "provider_status",
            "number",
            "issued_at",
        )
    } == {
        "currency": want.currency,
        "subtotal": want.subtotal,
        "discount": want.discount,
        "tax": want.tax,
        "total": want.total,
        "amount_due": want.amount_due,
        "amount_paid": want.amount_paid,
        "status": want.status,
        "provider_status": want.provider_status,
        "number": want.number,
        "issued_at": want.issued_at,
    }
    assert [
        (line["description"], line["total"], line["tax"]) for line in invoice["line_items"]
    ] == want.line_items
    assert invoice["shipping"] is None and invoice["due_at"] is None and invoice["paid_at"] is None


async def test_amounts_are_exact_decimals_never_floats(alice: PolarProvider) -> None:
    invoice = await alice.get_invoice(SESSION, oid("alice_paid_generated"))
    assert invoice.total == Decimal("110.00") and isinstance(invoice.total, Decimal)
    assert str(invoice.total) == "110.00" and str(invoice.tax) == "10.00"


async def test_invoice_carries_customer_billing_and_documents_without_a_hosted_url(
    alice: PolarProvider,
) -> None:
    invoice = await alice.get_invoice(SESSION, oid("alice_paid_generated"))
    order_id = oid("alice_paid_generated")
    assert invoice.provider == "polar" and invoice.id == order_id
    assert invoice.customer.id == POLAR_CUSTOMER_IDS["alice"]
    assert invoice.billing.name == "Alice Anders"
    assert invoice.billing.address == Address(
        line1="1 Sandbox Street", line2=None, postal_code="10115", city="Berlin", state=None, country="DE"
    )
    assert invoice.documents.json_uri == f"invoice://polar/{order_id}"
    assert invoice.documents.pdf_uri == f"invoice://polar/{order_id}/pdf"
    assert invoice.documents.url is None


async def test_reading_an_invoice_is_one_request(state: PolarState, alice: PolarProvider) -> None:
    await alice.get_invoice(SESSION, oid("alice_paid_generated"))
    assert [(entry.method, entry.path) for entry in state.controls.request_log] == [
        ("GET", f"{ORDERS}{oid('alice_paid_generated')}")
    ]


# -- not found and scoping -------------------------------------------------------------------------


async def test_an_order_without_an_invoice_is_not_found_like_a_missing_one(alice: PolarProvider) -> None:
    with pytest.raises(NotFound) as own:
        await alice.get_invoice(SESSION, oid("alice_paid_not_generated"))
    assert same_not_found(own.value, "invoice", oid("alice_paid_not_generated"))


@pytest.mark.parametrize("invoice_id", ["not-a-uuid", "a/b", "../orders", "?page=2"])
async def test_malformed_ids_are_not_found_and_stay_in_one_path_segment(
    invoice_id: str, state: PolarState, alice: PolarProvider
) -> None:
    with pytest.raises(NotFound) as error:
        await alice.invoice_by_id(SESSION, invoice_id)
    assert same_not_found(error.value, "invoice", invoice_id)
    assert all(entry.path.startswith(ORDERS) and entry.query == "" for entry in state.controls.request_log)


# -- listing ---------------------------------------------------------------------------------------


async def test_list_invoices_keeps_only_generated_invoices_most_recent_first(bob: PolarProvider) -> None:
    page = await bob.list_invoices(SESSION, InvoiceFilter(), limit=20, cursor=None)
    assert [invoice.number for invoice in page.items] == ["SBX-BOB-0003", "SBX-BOB-0001"]
    assert page.next_cursor is None


async def test_list_invoices_asks_polar_for_full_pages_newest_first(
    state: PolarState, alice: PolarProvider
) -> None:
    await alice.list_invoices(SESSION, InvoiceFilter(), limit=5, cursor=None)
    [entry] = state.controls.request_log
    assert (entry.method, entry.path) == ("GET", ORDERS)
    assert dict(part.split("=") for part in entry.query.split("&")) == {
        "page": "1",
        "limit": "100",
        "sorting": "-created_at",
    }


async def test_list_invoices_pages_through_every_invoice_exactly_once(
    make_provider: ProviderFactory, state: PolarState
) -> None:
    state.orders.update(PolarState(extra_invoices=230).orders)
    provider = make_provider()
    every = [invoice async for invoice in provider.iter_invoices(SESSION, InvoiceFilter())]
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(100):  # bounded: 185 invoices at 7 a page
        page = await provider.list_invoices(SESSION, InvoiceFilter(), limit=7, cursor=cursor)
        seen += [invoice.id for invoice in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    generated = [
        order for order in state.orders.values() if order.customer == "alice" and order.invoice_ready_at
    ]
    assert cursor is None
    assert len(seen) == len(set(seen)) == len(generated) == len(every) == 185
    assert seen == [invoice.id for invoice in every]
    dates = [invoice.issued_at or date.min for invoice in every]
    assert dates == sorted(dates, reverse=True)


async def test_summaries_read_each_polar_page_once(make_provider: ProviderFactory, state: PolarState) -> None:
    state.orders.update(PolarState(extra_invoices=230).orders)
    provider = make_provider()
    summary = await provider.summarize(SESSION, InvoiceFilter(), date(2026, 6, 1))
    assert summary.count == 185
    assert len(state.controls.request_log) == 3  # 237 orders at 100 a page


async def test_list_invoices_filters_by_issue_dates(bob: PolarProvider, state: PolarState) -> None:
    generate_everything(state)
    query = InvoiceFilter(issued_after=date(2026, 2, 12), issued_before=date(2026, 4, 11))
    page = await bob.list_invoices(SESSION, query, limit=20, cursor=None)
    assert [invoice.id for invoice in page.items] == [
        oid("bob_partially_refunded"),
        oid("bob_paid_discounted"),
    ]


async def test_listing_stops_reading_pages_once_orders_are_older_than_issued_after(
    make_provider: ProviderFactory, state: PolarState
) -> None:
    state.orders.update(PolarState(extra_invoices=450).orders)  # hourly from 2024-01-01, under the seeds
    provider = make_provider()
    page = await provider.list_invoices(
        SESSION, InvoiceFilter(issued_after=date(2026, 1, 1)), limit=50, cursor=None
    )
    assert [invoice.id for invoice in page.items] == [oid("alice_paid_generated")]
    assert page.next_cursor is None
    assert len(state.controls.request_log) == 1


async def test_a_cursor_from_elsewhere_is_invalid_argument(alice: PolarProvider) -> None:
    with pytest.raises(InvalidArgument):
        await alice.list_invoices(SESSION, InvoiceFilter(), limit=5, cursor="page=2")


async def test_list_orders_shows_invoice_state_and_billing_completeness(alice: PolarProvider) -> None:
    page = await alice.list_orders(SESSION, limit=20, cursor=None)
    rows = {order.id: order.row() for order in page.items}
    assert len(rows) == 7 and page.next_cursor is None
    assert rows[oid("alice_paid_generated")].invoice == "generated"
    assert rows[oid("alice_paid_not_generated")].invoice == "none"
    assert rows[oid("alice_paid_missing_billing")].billing_complete is False
    assert rows[oid("alice_paid_not_generated")].billing_complete is True
    assert rows[oid("alice_pending")].paid is False and rows[oid("alice_pending")].total == Decimal(1500)
    assert rows[oid("alice_refunded")].paid is True and rows[oid("alice_refunded")].status == "refunded"
    assert [order.created_at for order in page.items] == sorted(
        (o.created_at for o in page.items), reverse=True
    )


async def test_list_orders_pages_through_every_order_exactly_once(alice: PolarProvider) -> None:
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):  # bounded: 7 orders at 3 a page
        page = await alice.list_orders(SESSION, limit=3, cursor=cursor)
        seen += [order.id for order in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(oid(role) for role in POLAR_ORDER_IDS if role.startswith("alice"))
    assert len(seen) == len(set(seen)) == 7


# -- generation ------------------------------------------------------------------------------------


@dataclass
class ProgressLog:
    events: list[tuple[float, float | None, str]] = field(default_factory=list)

    async def __call__(self, progress: float, total: float | None, message: str) -> None:
        self.events.append((progress, total, message))


async def test_generate_waits_with_progress_and_returns_the_invoice(
    alice: PolarProvider, state: PolarState
) -> None:
    progress = ProgressLog()
    generation = await alice.generate_invoice(
        SESSION, oid("alice_paid_not_generated"), billing=None, wait=True, progress=progress
    )
    invoice = generation.invoice
    assert generation.outcome == "generated"
    assert invoice.status is InvoiceStatus.PAID and invoice.number == "SBX-ALICE-0002"
    assert invoice.total == Decimal("71.36") and invoice.currency == "EUR"
    assert state.generation_requests[oid("alice_paid_not_generated")] == 1
    assert len(progress.events) >= 2 and progress.events[-1][2] == "The invoice is ready"
    assert [event[0] for event in progress.events] == sorted(event[0] for event in progress.events)


async def test_generating_an_existing_invoice_returns_it_without_posting(
    alice: PolarProvider, state: PolarState
) -> None:
    generation = await alice.generate_invoice(SESSION, oid("alice_paid_generated"), billing=None, wait=True)
    assert generation.invoice.number == "SBX-ALICE-0001" and generation.outcome == "already_generated"
    assert [entry.method for entry in state.controls.request_log] == ["GET"]
    assert sum(state.generation_requests.values()) == 0


async def test_generate_without_wait_is_pending_until_polar_has_made_it(
    alice: PolarProvider, state: PolarState
) -> None:
    order_id = oid("alice_paid_not_generated")
    polar_time = ManualClock()
    state.controls.clock = polar_time  # Polar finishes exactly when the test says so
    state.generation_delay = 5
    pending = (await alice.generate_invoice(SESSION, order_id, billing=None, wait=False)).invoice
    assert pending.status is InvoiceStatus.PENDING and pending.number is None
    assert pending.total == Decimal("71.36") and pending.provider_status == "paid"
    assert (await alice.get_invoice(SESSION, order_id)).status is InvoiceStatus.PENDING
    rows = {
        order.id: order.row() for order in (await alice.list_orders(SESSION, limit=20, cursor=None)).items
    }
    assert rows[order_id].invoice == "pending"
    polar_time.now += 5
    ready = await alice.get_invoice(SESSION, order_id)
    assert ready.status is InvoiceStatus.PAID and ready.number == "SBX-ALICE-0002"
    assert state.generation_requests[order_id] == 1


async def test_generation_past_the_time_limit_returns_pending(
    make_provider: ProviderFactory, state: PolarState
) -> None:
    state.generation_delay = 60
    provider = make_provider(generation_timeout=0.2)
    progress = ProgressLog()
    generation = await provider.generate_invoice(
        SESSION, oid("alice_paid_not_generated"), billing=None, wait=True, progress=progress
    )
    invoice = generation.invoice
    assert generation.outcome == "pending"
    assert invoice.status is InvoiceStatus.PENDING and invoice.number is None
    assert len(progress.events) >= 2


async def test_generating_again_while_in_flight_never_posts_twice(
    make_provider: ProviderFactory, state: PolarState
) -> None:
    state.generation_delay = 60
    provider = make_provider(generation_timeout=0.1)
    order_id = oid("alice_paid_not_generated")
    first = (await provider.generate_invoice(SESSION, order_id, billing=None, wait=False)).invoice
    second = (await provider.generate_invoice(SESSION, order_id, billing=None, wait=True)).invoice
    assert first.status is second.status is InvoiceStatus.PENDING
    assert state.generation_requests[order_id] == 1


async def test_concurrent_generations_of_one_order_post_once(alice: PolarProvider, state: PolarState) -> None:
    order_id = oid("alice_paid_not_generated")
    results = []

    async def generate() -> None:
        results.append(await alice.generate_invoice(SESSION, order_id, billing=None, wait=True))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(generate)
    assert state.generation_requests[order_id] == 1
    assert {generation.invoice.number for generation in results} == {"SBX-ALICE-0002"}
    assert sorted(generation.outcome for generation in results) == ["already_generated"] * 4 + ["generated"]


async def test_billing_details_are_saved_on_the_order_before_generating(
    alice: PolarProvider, state: PolarState
) -> None:
    billing = Billing(
        name="Alice GmbH",
        address=Address(line1="2 Invoice Way", postal_code="10117", city="Berlin", country="DE"),
    )
    invoice = (
        await alice.generate_invoice(SESSION, oid("alice_paid_missing_billing"), billing=billing, wait=True)
    ).invoice
    assert invoice.billing.name == "Alice GmbH" and invoice.billing.address is not None
    assert invoice.billing.address.line1 == "2 Invoice Way" and invoice.billing.address.country == "DE"
    methods = [entry.method for entry in state.controls.request_log]
    assert methods.index("PATCH") < methods.index("POST")


@pytest.mark.parametrize(
    ("address", "named"),
    [
        (Address(line1="1 Rue", postal_code="75001", city="Paris", country="FR"), "country 'DE'"),
        (
            Address(line1="1 Sandbox Street", postal_code="10115", city="Berlin", state="BE", country="DE"),
            "state None",
        ),
    ],
)
async def test_changing_a_billing_addresss_country_or_state_is_an_invalid_argument_that_says_so(
    alice: PolarProvider, state: PolarState, address: Address, named: str
) -> None:
    billing = Billing(name="Alice Anders", address=address)
    with pytest.raises(InvalidArgument) as error:
        await alice.generate_invoice(SESSION, oid("alice_paid_not_generated"), billing=billing, wait=False)
    assert named in error.value.message and "change once it is set" in error.value.message
    assert error.value.hint and "country and state named here" in error.value.hint
    assert state.generation_requests[oid("alice_paid_not_generated")] == 0  # nothing was generated


async def test_every_request_names_the_pinned_polar_api_version(
    make_provider: ProviderFactory, state: PolarState
) -> None:
    minted = make_provider(access_token=SecretStr(POLAR_ORGANIZATION_TOKEN))
    scope = Scope("polar", "alice")
    await minted.list_orders(scope, limit=5, cursor=None)
    await minted.get_invoice(scope, oid("alice_paid_generated"))
    await minted.invoice_pdf(scope, oid("alice_paid_generated"))
    await minted.generate_invoice(scope, oid("alice_paid_not_generated"), billing=None, wait=True)
    assert set(state.api_versions) == {"2026-04"} and state.api_versions["2026-04"] >= 6
    assert state.controls.counters["customer_sessions_minted"] == 1  # the mint named it too


async def test_an_api_version_polar_no_longer_serves_is_provider_unavailable_not_not_found(
    alice: PolarProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mcp_invoices.providers.polar.emulator as sandbox

    monkeypatch.setattr(sandbox, "POLAR_API_VERSIONS", frozenset({"2026-10"}))
    with pytest.raises(ProviderUnavailable) as error:
        await alice.get_invoice(SESSION, oid("alice_paid_generated"))
    assert "2026-04" in error.value.message and error.value.hint


async def test_missing_billing_details_is_missing_billing_details(
    alice: PolarProvider, state: PolarState
) -> None:
    with pytest.raises(MissingBillingDetails) as error:
        await alice.generate_invoice(SESSION, oid("alice_paid_missing_billing"), billing=None, wait=True)
    assert "billing_name" in (error.value.hint or "") and "billing_address" in (error.value.hint or "")
    assert sum(state.generation_requests.values()) == 0


@pytest.mark.parametrize("role", ["alice_draft", "alice_void"])
async def test_draft_and_void_orders_are_not_supported_with_polars_reason(
    role: str, alice: PolarProvider, state: PolarState
) -> None:
    with pytest.raises(NotSupported) as error:
        await alice.generate_invoice(SESSION, oid(role), billing=None, wait=True)
    status = role.split("_")[1]
    # Polar's own reason (OrderNotEligibleForInvoice's message) is passed on, with what can be invoiced.
    assert f"not eligible for invoice generation (current status: {status})" in error.value.message
    assert error.value.hint and "pending or paid" in error.value.hint
    assert state.generation_requests[oid(role)] == 0


async def test_a_pending_order_is_invoiced_as_polar_invoices_it(
    alice: PolarProvider, state: PolarState
) -> None:
    generation = await alice.generate_invoice(SESSION, oid("alice_pending"), billing=None, wait=True)
    assert generation.outcome == "generated" and state.generation_requests[oid("alice_pending")] == 1
    invoice = generation.invoice
    assert (invoice.status, invoice.provider_status) == (InvoiceStatus.OPEN, "pending")
    assert (str(invoice.total), str(invoice.amount_paid), str(invoice.amount_due)) == ("1500", "0", "1500")


async def test_seed_001_not_paid_order_is_not_paid(alice: PolarProvider, state: PolarState) -> None:
    state.legacy_not_paid_422 = True
    with pytest.raises(NotPaid):
        await alice.generate_invoice(SESSION, oid("alice_pending"), billing=None, wait=True)


async def test_seed_000_resource_not_found_while_polling_means_not_ready(
    alice: PolarProvider, state: PolarState
) -> None:
    state.legacy_invoice_not_found = True
    state.generation_delay = 0.2
    invoice = (
        await alice.generate_invoice(SESSION, oid("alice_paid_not_generated"), billing=None, wait=True)
    ).invoice
    assert invoice.status is InvoiceStatus.PAID


async def test_generating_another_customers_order_is_not_found_and_posts_nothing(
    alice: PolarProvider, state: PolarState
) -> None:
    with pytest.raises(NotFound) as error:
        await alice.generate_invoice(SESSION, oid("bob_paid_discounted"), billing=None, wait=True)
    assert same_not_found(error.value, "order", oid("bob_paid_discounted"))
    assert [entry.method for entry in state.controls.request_log] == ["GET"]


# -- documents -------------------------------------------------------------------------------------


async def test_pdf_is_polars_own_document_fetched_without_any_credential(
    alice: PolarProvider, state: PolarState
) -> None:
    pdf = await alice.invoice_pdf(SESSION, oid("alice_paid_generated"))
    assert pdf.startswith(b"%PDF-")
    download = state.controls.request_log[-1]
    assert download.path == f"/_files/invoices/{oid('alice_paid_generated')}.pdf"
    assert "authorization" not in download.headers
    assert not any(secret in json.dumps(download.headers) for secret in SECRETS)


async def test_pdf_of_an_order_without_invoice_is_not_found(alice: PolarProvider) -> None:
    with pytest.raises(NotFound):
        await alice.invoice_pdf(SESSION, oid("alice_paid_not_generated"))


# -- provider errors -------------------------------------------------------------------------------


async def test_a_refused_customer_session_is_unauthorized_with_a_hint_and_no_secret(
    make_provider: ProviderFactory,
) -> None:
    provider = make_provider(customer_session=SecretStr("polar_cst_expired_or_wrong"))
    with pytest.raises(Unauthorized) as error:
        await provider.get_invoice(SESSION, oid("alice_paid_generated"))
    assert error.value.hint == CUSTOMER_SESSION_HINT
    assert "polar_cst_expired_or_wrong" not in json.dumps(error.value.to_dict())
    assert "polar_cst_expired_or_wrong" not in repr(provider)


async def test_rate_limiting_beyond_retries_is_rate_limited(alice: PolarProvider, state: PolarState) -> None:
    state.controls.force_429_next = 10
    state.controls.retry_after = 7
    with pytest.raises(RateLimited) as error:
        await alice.get_invoice(SESSION, oid("alice_paid_generated"))
    assert error.value.retry_after == 7
    assert state.controls.statuses() == [429] * FAST_RETRY.attempts


async def test_503s_beyond_retries_are_provider_unavailable(alice: PolarProvider, state: PolarState) -> None:
    state.controls.fail_next = [503] * 10
    with pytest.raises(ProviderUnavailable):
        await alice.list_invoices(SESSION, InvoiceFilter(), limit=5, cursor=None)
    assert state.controls.statuses() == [503] * FAST_RETRY.attempts


async def test_a_transient_503_is_retried_and_succeeds(alice: PolarProvider, state: PolarState) -> None:
    state.controls.fail_next = [503, 502]
    invoice = await alice.get_invoice(SESSION, oid("alice_paid_generated"))
    assert invoice.number == "SBX-ALICE-0001"
    assert state.controls.statuses() == [503, 502, 200]


@pytest.mark.parametrize("kind", ["truncated_json", "html", "wrong_shape"])
async def test_a_malformed_body_is_provider_unavailable(
    kind: str, alice: PolarProvider, state: PolarState
) -> None:
    state.controls.malformed_next = 1
    state.controls.malformed_kind = kind  # type: ignore[assignment]
    with pytest.raises(ProviderUnavailable) as error:
        await alice.get_invoice(SESSION, oid("alice_paid_generated"))
    assert "Polar" in error.value.message and "{" not in error.value.message


async def test_requests_carry_only_the_customer_session_bearer(
    alice: PolarProvider, state: PolarState
) -> None:
    await alice.list_invoices(SESSION, InvoiceFilter(), limit=5, cursor=None)
    await alice.generate_invoice(SESSION, oid("alice_paid_not_generated"), billing=None, wait=True)
    await alice.invoice_pdf(SESSION, oid("alice_paid_generated"))
    api = api_requests(state)
    assert api and all(entry.headers["authorization"] == f"Bearer {ALICE_TOKEN}" for entry in api)
    for entry in state.controls.request_log:
        assert not any(secret in entry.query or secret in entry.path for secret in SECRETS)
        assert POLAR_ORGANIZATION_TOKEN not in json.dumps(entry.headers)


# -- minted customer sessions (HTTP mode) -----------------------------------------------------------


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def org_provider(make_provider: ProviderFactory, **options: Any) -> PolarProvider:
    return make_provider(access_token=SecretStr(POLAR_ORGANIZATION_TOKEN), **options)


async def test_a_minted_session_is_reused_and_the_org_token_only_opens_sessions(
    make_provider: ProviderFactory, state: PolarState
) -> None:
    provider = org_provider(make_provider)
    scope = Scope("polar", "alice")
    await provider.get_invoice(scope, oid("alice_paid_generated"))
    await provider.list_invoices(scope, InvoiceFilter(), limit=5, cursor=None)
    await provider.invoice_pdf(scope, oid("alice_paid_generated"))
    assert state.controls.counters["customer_sessions_minted"] == 1
    mint, *portal = api_requests(state)
    assert (mint.method, mint.path) == ("POST", "/v1/customer-sessions/")
    assert mint.headers["authorization"] == f"Bearer {POLAR_ORGANIZATION_TOKEN}"
    assert all(entry.path.startswith(ORDERS) for entry in portal)
    assert all(entry.headers["authorization"].startswith("Bearer polar_cst_") for entry in portal)
    assert "authorization" not in state.controls.request_log[-1].headers  # the document download


async def test_a_minted_session_serves_only_its_customer(make_provider: ProviderFactory) -> None:
    provider = org_provider(make_provider)
    with pytest.raises(NotFound):
        await provider.get_invoice(Scope("polar", "bob"), oid("alice_paid_generated"))
    by_uuid = await provider.get_invoice(
        Scope("polar", POLAR_CUSTOMER_IDS["alice"]), oid("alice_paid_generated")
    )
    assert by_uuid.number == "SBX-ALICE-0001"


async def test_concurrent_first_calls_for_one_customer_mint_once(
    make_provider: ProviderFactory, state: PolarState
) -> None:
    provider = org_provider(make_provider)
    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(provider.get_invoice, Scope("polar", "alice"), oid("alice_paid_generated"))
    assert state.controls.counters["customer_sessions_minted"] == 1


async def test_a_refused_minted_session_is_minted_again_once(
    make_provider: ProviderFactory, state: PolarState
) -> None:
    provider = org_provider(make_provider)
    scope = Scope("polar", "alice")
    await provider.get_invoice(scope, oid("alice_paid_generated"))
    for token in [token for token, session in state.sessions.items() if session.expires_at is not None]:
        del state.sessions[token]  # revoked at Polar
    invoice = await provider.get_invoice(scope, oid("alice_paid_generated"))
    assert invoice.number == "SBX-ALICE-0001"
    assert state.controls.counters["customer_sessions_minted"] == 2


async def test_a_minted_session_is_replaced_shortly_before_it_expires(
    make_provider: ProviderFactory, state: PolarState
) -> None:
    clock = ManualClock()
    provider = org_provider(make_provider, clock=clock)
    scope = Scope("polar", "alice")
    await provider.get_invoice(scope, oid("alice_paid_generated"))
    clock.now += 3600 - 310  # Polar's expires_at is to the second: keep a few seconds of slack
    await provider.get_invoice(scope, oid("alice_paid_generated"))
    assert state.controls.counters["customer_sessions_minted"] == 1
    clock.now += 20
    await provider.get_invoice(scope, oid("alice_paid_generated"))
    assert state.controls.counters["customer_sessions_minted"] == 2


async def test_an_unknown_customer_is_unauthorized(make_provider: ProviderFactory) -> None:
    provider = org_provider(make_provider)
    with pytest.raises(Unauthorized):
        await provider.list_invoices(Scope("polar", "dave"), InvoiceFilter(), limit=5, cursor=None)


async def test_a_refused_access_token_is_unauthorized_with_its_hint(make_provider: ProviderFactory) -> None:
    provider = make_provider(access_token=SecretStr("polar_oat_wrong"))
    with pytest.raises(Unauthorized) as error:
        await provider.get_invoice(Scope("polar", "alice"), oid("alice_paid_generated"))
    assert error.value.hint == ACCESS_TOKEN_HINT
    assert "polar_oat_wrong" not in json.dumps(error.value.to_dict())


def test_from_config_reads_the_credentials_without_showing_them() -> None:
    config = RemoteProviderConfig(
        "polar", "http://127.0.0.1:9/polar", {"customer_session": SecretStr(ALICE_TOKEN)}, None
    )
    provider = PolarProvider.from_config(config)
    assert provider.info.id == "polar" and provider.info.remote and provider.info.generates_invoices
    assert ALICE_TOKEN not in repr(provider)


# -- wire cases the emulator does not produce (MockTransport) ---------------------------------------


def order_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": MISSING_ID,
        "created_at": "2026-03-01T10:00:00Z",
        "status": "paid",
        "currency": "usd",
        "total_amount": 1234,
        "is_invoice_generated": True,
    }
    return body | overrides


@dataclass
class FakePolar:
    """A MockTransport handler: routes by (method, path suffix), records every request."""

    routes: dict[tuple[str, str], httpx2.Response]
    requests: list[httpx2.Request] = field(default_factory=list)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        for (method, suffix), response in self.routes.items():
            if request.method == method and request.url.path.endswith(suffix):
                return response
        return httpx2.Response(404, json={"error": "ResourceNotFound", "detail": "Not found"})


def mock_provider(fake: FakePolar, download: FakePolar | None = None) -> PolarProvider:
    return PolarProvider(
        base_url="https://polar.test",
        customer_session=SecretStr(ALICE_TOKEN),
        retry=FAST_RETRY,
        transport=httpx2.MockTransport(fake),
        download_transport=httpx2.MockTransport(download) if download else None,
        poll_interval=0.001,
        generation_timeout=2.0,
    )


async def test_missing_optional_fields_are_null_and_unknown_fields_ignored() -> None:
    fake = FakePolar({("GET", MISSING_ID): httpx2.Response(200, json=order_body(brand_new_field={"x": 1}))})
    provider = mock_provider(fake)
    invoice = await provider.get_invoice(SESSION, MISSING_ID)
    await provider.aclose()
    assert invoice.total == Decimal("12.34") and invoice.number is None
    assert invoice.subtotal is invoice.tax is invoice.discount is None
    assert invoice.billing.name is None and invoice.billing.address is None and invoice.line_items == []
    assert invoice.amount_due == Decimal("0.00") and invoice.amount_paid == Decimal("12.34")


async def test_an_unknown_polar_status_is_read_by_whether_it_was_paid() -> None:
    fake = FakePolar(
        {
            ("GET", MISSING_ID): httpx2.Response(
                200, json=order_body(status="disputed", paid=False, due_amount=1234)
            )
        }
    )
    provider = mock_provider(fake)
    invoice = await provider.get_invoice(SESSION, MISSING_ID)
    await provider.aclose()
    assert invoice.status is InvoiceStatus.OPEN and invoice.provider_status == "disputed"


async def test_fractional_minor_units_are_provider_unavailable() -> None:
    fake = FakePolar(
        {
            ("GET", MISSING_ID): httpx2.Response(
                200, content=json.dumps(order_body(total_amount="__")).replace('"__"', "12.5")
            )
        }
    )
    provider = mock_provider(fake)
    with pytest.raises(ProviderUnavailable):
        await provider.get_invoice(SESSION, MISSING_ID)
    await provider.aclose()


@pytest.mark.parametrize("accepted", [b"null", b"{}", b""])
async def test_generation_accepts_any_202_body(accepted: bytes) -> None:
    fake = FakePolar(
        {
            ("POST", "/invoice"): httpx2.Response(202, content=accepted),
            ("GET", "/invoice"): httpx2.Response(200, json={"url": "https://files.test/invoice.pdf"}),
            ("GET", MISSING_ID): httpx2.Response(200, json=order_body(is_invoice_generated=False)),
        }
    )
    provider = mock_provider(fake)
    invoice = (await provider.generate_invoice(SESSION, MISSING_ID, billing=None, wait=False)).invoice
    await provider.aclose()
    assert invoice.status is InvoiceStatus.PENDING


async def test_a_generation_post_is_never_repeated_after_a_503() -> None:
    fake = FakePolar(
        {
            ("POST", "/invoice"): httpx2.Response(503, json={"error": "ServiceUnavailable", "detail": "x"}),
            ("GET", MISSING_ID): httpx2.Response(200, json=order_body(is_invoice_generated=False)),
        }
    )
    provider = mock_provider(fake)
    with pytest.raises(ProviderUnavailable):
        await provider.generate_invoice(SESSION, MISSING_ID, billing=None, wait=True)
    await provider.aclose()
    assert [request.method for request in fake.requests] == ["GET", "POST"]


async def test_a_document_that_is_not_a_pdf_is_provider_unavailable() -> None:
    fake = FakePolar(
        {("GET", "/invoice"): httpx2.Response(200, json={"url": "https://files.test/x.pdf?sig=1"})}
    )
    files = FakePolar({("GET", "/x.pdf"): httpx2.Response(200, content=b"<html>login</html>")})
    provider = mock_provider(fake, files)
    with pytest.raises(ProviderUnavailable):
        await provider.invoice_pdf(SESSION, MISSING_ID)
    await provider.aclose()
    assert "authorization" not in files.requests[0].headers


async def test_an_invoice_url_that_is_not_http_is_provider_unavailable() -> None:
    fake = FakePolar({("GET", "/invoice"): httpx2.Response(200, json={"url": "file:///etc/passwd"})})
    provider = mock_provider(fake)
    with pytest.raises(ProviderUnavailable):
        await provider.invoice_pdf(SESSION, MISSING_ID)
    await provider.aclose()


# -- end to end: a real MCP client, `mcp-invoices serve` over stdio, the emulator over HTTP ----------


@pytest.fixture
async def sandbox_url(state: PolarState) -> AsyncIterator[str]:
    """Every emulator under one app, as `mcp-invoices sandbox` serves it (Polar under /polar)."""
    async with running_app(create_sandbox_app(SandboxStates(polar=state))) as url:
        yield url


@pytest.fixture
async def stdio_env(sandbox_url: str, tmp_path: Path) -> dict[str, str]:
    polar_only = {
        key: value
        for key, value in sandbox_environment(sandbox_url, "alice").items()
        if key.startswith("POLAR_")
    }
    return polar_only | {
        "MCP_INVOICES_DB": str(tmp_path / "ledger.sqlite3"),
        "MCP_INVOICES_LOG_LEVEL": "DEBUG",
    }


@pytest.fixture
def errlog(tmp_path: Path) -> Any:
    with open(tmp_path / "server-stderr.log", "w+", encoding="utf-8") as stream:
        yield stream


def polar_client(env: dict[str, str], errlog: Any) -> Client:
    return Client(stdio_client(stdio_params(env), errlog=errlog))


def ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return result.structured_content


POLAR = {"provider": "polar"}


async def test_stdio_lists_reads_and_summarises_polar_invoices(
    stdio_env: dict[str, str], errlog: Any
) -> None:
    async with polar_client(stdio_env, errlog) as client:
        invoices = ok(await client.call_tool("list_invoices", POLAR))
        orders = ok(await client.call_tool("list_orders", POLAR))
        invoice = ok(
            await client.call_tool("get_invoice", POLAR | {"invoice_id": oid("alice_paid_generated")})
        )
        one = ok(
            await client.call_tool("summarize_invoice", POLAR | {"invoice_id": oid("alice_paid_generated")})
        )
        every = ok(await client.call_tool("summarize_invoices", POLAR))
    assert [row["id"] for row in invoices["invoices"]] == [oid("alice_paid_generated")]
    assert invoices["invoices"][0]["total"] == "110.00" and invoices["next_cursor"] is None
    assert len(orders["orders"]) == 7
    assert (
        invoice["total"] == "110.00"
        and invoice["currency"] == "USD"
        and invoice["number"] == "SBX-ALICE-0001"
    )
    assert "110.00" in one["summary"]
    assert every["count"] == 1


async def test_stdio_generates_an_invoice_with_progress(
    stdio_env: dict[str, str], errlog: Any, state: PolarState
) -> None:
    state.generation_delay = 0.3
    reported: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reported.append(progress)

    async with polar_client(stdio_env, errlog) as client:
        result = await client.call_tool(
            "generate_invoice",
            POLAR | {"order_id": oid("alice_paid_not_generated")},
            progress_callback=on_progress,
        )
        again = await client.call_tool(
            "generate_invoice", POLAR | {"order_id": oid("alice_paid_not_generated")}
        )
        missing = await client.call_tool(
            "generate_invoice", POLAR | {"order_id": oid("alice_paid_missing_billing")}
        )
    generated = ok(result)
    assert generated["outcome"] == "generated" and generated["number"] == "SBX-ALICE-0002"
    assert generated["total"] == "71.36" and reported
    assert ok(again)["outcome"] == "already_generated"
    assert missing.is_error and error_of(missing)["code"] == "missing_billing_details"
    assert state.generation_requests[oid("alice_paid_not_generated")] == 1


async def test_stdio_serves_the_json_and_pdf_resources_and_lists_only_own_invoices(
    stdio_env: dict[str, str], errlog: Any
) -> None:
    order_id = oid("alice_paid_generated")
    async with polar_client(stdio_env, errlog) as client:
        listed = (await client.list_resources()).resources
        document = (await client.read_resource(f"invoice://polar/{order_id}")).contents[0]
        pdf = (await client.read_resource(f"invoice://polar/{order_id}/pdf")).contents[0]
    polar_uris = {
        str(resource.uri) for resource in listed if str(resource.uri).startswith("invoice://polar/")
    }
    assert polar_uris == {f"invoice://polar/{order_id}"}
    assert isinstance(document, TextResourceContents) and isinstance(pdf, BlobResourceContents)
    assert document.mime_type == "application/json" and json.loads(document.text)["total"] == "110.00"
    assert pdf.mime_type == "application/pdf" and base64.b64decode(pdf.blob).startswith(b"%PDF-")


async def test_stdio_another_customers_invoice_is_exactly_a_missing_one(
    stdio_env: dict[str, str], errlog: Any
) -> None:
    bobs = oid("bob_paid_generated_jpy")
    async with polar_client(stdio_env, errlog) as client:
        theirs = await client.call_tool("get_invoice", POLAR | {"invoice_id": bobs})
        missing = await client.call_tool("get_invoice", POLAR | {"invoice_id": MISSING_ID})
        with pytest.raises(MCPError) as their_pdf:
            await client.read_resource(f"invoice://polar/{bobs}/pdf")
        with pytest.raises(MCPError) as missing_pdf:
            await client.read_resource(f"invoice://polar/{MISSING_ID}/pdf")
    assert theirs.is_error and missing.is_error
    assert error_of(theirs)["code"] == "not_found"
    assert json.dumps(error_of(theirs)).replace(bobs, "X") == json.dumps(error_of(missing)).replace(
        MISSING_ID, "X"
    )
    assert their_pdf.value.error.code == missing_pdf.value.error.code
    assert str(their_pdf.value).replace(bobs, "X") == str(missing_pdf.value).replace(MISSING_ID, "X")


async def test_stdio_never_shows_a_credential_in_results_errors_or_logs(
    stdio_env: dict[str, str], errlog: Any, state: PolarState
) -> None:
    shown: list[str] = []
    async with polar_client(stdio_env, errlog) as client:
        for name, arguments in (
            ("list_invoices", {}),
            ("list_orders", {}),
            ("get_invoice", {"invoice_id": oid("alice_paid_generated")}),
            ("get_invoice", {"invoice_id": "not-a-uuid"}),
            ("generate_invoice", {"order_id": oid("alice_draft")}),
            ("summarize_invoices", {}),
        ):
            result = await client.call_tool(name, POLAR | arguments)
            shown.append(json.dumps(result.model_dump(mode="json")))
        state.controls.fail_next = [401]
        refused = await client.call_tool("get_invoice", POLAR | {"invoice_id": oid("alice_paid_generated")})
        shown.append(json.dumps(refused.model_dump(mode="json")))
    errlog.seek(0)
    stderr = errlog.read()
    assert refused.is_error and error_of(refused)["code"] == "unauthorized"
    assert "POLAR_CUSTOMER_SESSION" in error_of(refused)["hint"]
    assert stderr  # DEBUG logging did write
    for secret in SECRETS:
        assert secret not in stderr
        assert not any(secret in text for text in shown)
    api = api_requests(state)
    assert api and all(entry.headers["authorization"] == f"Bearer {ALICE_TOKEN}" for entry in api)


# -- the invoice issued just before another (compare_invoices' default) -------------------------------


async def test_the_previous_invoice_is_the_one_issued_just_before_in_the_same_currency(
    alice: PolarProvider, state: PolarState
) -> None:
    generate_everything(state)
    march_usd = await alice.get_invoice(SESSION, oid("alice_paid_missing_billing"))
    previous = await alice.previous_invoice(SESSION, march_usd)
    first = await alice.previous_invoice(
        SESSION, await alice.get_invoice(SESSION, oid("alice_paid_generated"))
    )
    assert previous is not None and previous.id == oid("alice_paid_generated")  # February's is in EUR
    assert first is None


async def test_a_short_page_that_is_not_the_last_is_provider_unavailable_not_a_silent_gap() -> None:
    # Positions count in pages of 100 (Polar caps limit at 100, polar c6c3645 kit/pagination.py); a page
    # of fewer that is not the last would skip orders without a word.
    page = {"items": [order_body()], "pagination": {"total_count": 150, "max_page": 2}}
    fake = FakePolar({("GET", ORDERS): httpx2.Response(200, json=page)})
    provider = mock_provider(fake)
    with pytest.raises(ProviderUnavailable) as error:
        await provider.list_orders(SESSION, limit=100, cursor=None)
    await provider.aclose()
    assert "completely" in error.value.message


async def test_the_seller_is_the_orders_organization_read_without_another_request(
    state: PolarState, alice: PolarProvider
) -> None:
    invoice = await alice.get_invoice(SESSION, oid("alice_paid_generated"))

    seller = await alice.seller(invoice)
    assert seller is not None and seller.name == "Sandbox organization"
    assert len(state.controls.request_log) == 1
