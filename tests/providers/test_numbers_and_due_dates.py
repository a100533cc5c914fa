"""Numbers wherever ids go, and due dates as filters, on every remote provider.

Each provider talks to its emulator over real HTTP on 127.0.0.1; the emulators' request logs show
what each lookup costs. Then one real ``mcp-invoices serve`` over stdio, with all four providers,
answers numbers and overdue listings through the SDK's real client.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import date
from urllib.parse import parse_qs

import pytest
from mcp import Client
from mcp.client.stdio import stdio_client

from mcp_invoices.config import load_config
from mcp_invoices.domain.errors import NotFound
from mcp_invoices.domain.models import InvoiceFilter
from mcp_invoices.principal import Scope
from mcp_invoices.providers.afternoon.emulator import AFTERNOON_INVOICE_IDS
from mcp_invoices.providers.base import InvoiceProvider
from mcp_invoices.providers.catalog import spec
from mcp_invoices.providers.emulation import LoggedRequest, serving_in_thread
from mcp_invoices.providers.payabli.emulator import PAYABLI_INVOICE_IDS
from mcp_invoices.providers.polar.emulator import POLAR_ORDER_IDS
from mcp_invoices.sandbox import SandboxStates, create_sandbox_app, sandbox_environment
from mcp_invoices.server.runtime import environment_principal
from tests.conftest import stdio_params
from tests.results import error_of

AS_OF = date(2026, 6, 1)
"""The day overdue is judged on here (the emulators' data are fixed in time)."""
REMOTE = ("polar", "afternoon", "bagisto", "payabli")


@pytest.fixture
def states() -> SandboxStates:
    return SandboxStates()


@pytest.fixture
def sandbox_url(states: SandboxStates) -> Iterator[str]:
    with serving_in_thread(create_sandbox_app(states)) as url:
        yield url


@pytest.fixture
async def providers(sandbox_url: str) -> AsyncIterator[dict[str, tuple[InvoiceProvider, Scope, Scope]]]:
    """Each remote provider with alice's scope and bob's, built as ``serve`` builds them."""
    built: dict[str, tuple[InvoiceProvider, Scope, Scope]] = {}
    scopes = {
        who: {
            scope.provider: scope
            for scope in environment_principal(load_config(sandbox_environment(sandbox_url, who))).scopes
        }
        for who in ("alice", "bob")
    }
    config = load_config(sandbox_environment(sandbox_url, "alice"))
    for remote in config.remote:
        built[remote.provider] = (
            spec(remote.provider).implementation().from_config(remote),
            scopes["alice"][remote.provider],
            scopes["bob"][remote.provider],
        )
    try:
        yield built
    finally:
        for provider, _, _ in built.values():
            await provider.aclose()


@pytest.fixture
async def bobs(sandbox_url: str) -> AsyncIterator[dict[str, tuple[InvoiceProvider, Scope]]]:
    """Each remote provider as bob's own session (Polar's and Bagisto's credential is the customer's)."""
    config = load_config(sandbox_environment(sandbox_url, "bob"))
    scopes = {scope.provider: scope for scope in environment_principal(config).scopes}
    built = {
        remote.provider: (spec(remote.provider).implementation().from_config(remote), scopes[remote.provider])
        for remote in config.remote
    }
    try:
        yield built
    finally:
        for provider, _ in built.values():
            await provider.aclose()


def log_of(states: SandboxStates, name: str) -> list[LoggedRequest]:
    return getattr(states, name).controls.request_log


# -- numbers -----------------------------------------------------------------------------------------

LOWER_CASE_NUMBERS = {
    "polar": ("sbx-alice-0001", POLAR_ORDER_IDS["alice_paid_generated"]),
    "afternoon": ("aft-alice-0002", AFTERNOON_INVOICE_IDS["alice_open_overdue"]),
    "bagisto": ("inv-003", "3"),
    "payabli": ("inv-1001-0006", str(PAYABLI_INVOICE_IDS["alice_open_overdue"])),
}


@pytest.mark.parametrize("name", REMOTE)
async def test_a_printed_number_in_any_case_finds_the_sessions_invoice(
    providers: dict[str, tuple[InvoiceProvider, Scope, Scope]], name: str
) -> None:
    provider, alice, _ = providers[name]
    number, invoice_id = LOWER_CASE_NUMBERS[name]
    invoice = await provider.get_invoice(alice, number)
    assert invoice.id == invoice_id and invoice.number == number.upper()


@pytest.mark.parametrize("name", REMOTE)
async def test_the_pdf_of_an_invoice_is_read_by_its_number_too(
    providers: dict[str, tuple[InvoiceProvider, Scope, Scope]], name: str
) -> None:
    provider, alice, _ = providers[name]
    number, _ = LOWER_CASE_NUMBERS[name]
    assert (await provider.invoice_pdf(alice, number)).startswith(b"%PDF-")


async def test_payabli_finds_a_number_by_the_documented_number_and_customer_filters_as_quoted_then_upper_case(
    providers: dict[str, tuple[InvoiceProvider, Scope, Scope]], states: SandboxStates
) -> None:
    provider, alice, _ = providers["payabli"]
    await provider.get_invoice(alice, "inv-1001-0006")
    quoted, upper = log_of(
        states, "payabli"
    )  # invoiceNumber documents eq, ct, nct, ne: no case-insensitive one
    for request, number in ((quoted, "inv-1001-0006"), (upper, "INV-1001-0006")):
        query = parse_qs(request.query)
        assert request.path.endswith("/Query/invoices/sandbox-entry")
        assert query["customerId(eq)"] == ["1001"]
        assert query["invoiceNumber(eq)"] == [number]


async def test_afternoon_finds_a_number_on_the_customers_first_list_page(
    providers: dict[str, tuple[InvoiceProvider, Scope, Scope]], states: SandboxStates
) -> None:
    provider, alice, _ = providers["afternoon"]
    await provider.get_invoice(alice, "aft-alice-0002")  # not shaped like a cuid: no id request
    [request] = log_of(states, "afternoon")
    assert request.path == "/v1/invoices"
    assert parse_qs(request.query) == {"customer_id": ["cus_alice"], "limit": ["50"]}


async def test_polar_finds_a_number_on_the_sessions_first_orders_page(
    providers: dict[str, tuple[InvoiceProvider, Scope, Scope]], states: SandboxStates
) -> None:
    provider, alice, _ = providers["polar"]
    await provider.get_invoice(alice, "sbx-alice-0001")  # not a UUID: no order request by id
    [request] = log_of(states, "polar")
    assert request.path.endswith("/v1/customer-portal/orders/")
    assert parse_qs(request.query)["limit"] == ["100"]


async def test_bagisto_finds_a_number_on_one_graphql_page_then_reads_it_in_full(
    providers: dict[str, tuple[InvoiceProvider, Scope, Scope]], states: SandboxStates
) -> None:
    provider, alice, _ = providers["bagisto"]
    invoice = await provider.get_invoice(alice, "inv-003")
    paths = [request.path for request in log_of(states, "bagisto")]
    # one page of the customer's invoices, the match by id, then its lines over GraphQL
    assert paths == ["/api/graphql", "/api/shop/customer-invoices/3", "/api/graphql"]
    assert invoice.line_items


@pytest.mark.parametrize("name", ["afternoon", "payabli"])
async def test_a_number_two_customers_share_resolves_within_the_sessions_customer_only(
    providers: dict[str, tuple[InvoiceProvider, Scope, Scope]], states: SandboxStates, name: str
) -> None:
    """Organisation keys see everyone: bob's invoice printed with alice's number stays bob's."""
    provider, alice, bob = providers[name]
    if name == "afternoon":
        bobs_id = AFTERNOON_INVOICE_IDS["bob_open"]
        invoices = states.afternoon.invoices
        invoices[bobs_id] = dataclasses.replace(invoices[bobs_id], invoice_number="AFT-ALICE-0002")
        alices_id = AFTERNOON_INVOICE_IDS["alice_open_overdue"]
    else:
        bobs_key = PAYABLI_INVOICE_IDS["bob_open"]
        payabli = states.payabli.invoices
        payabli[bobs_key] = dataclasses.replace(payabli[bobs_key], number="INV-1001-0006")
        bobs_id, alices_id = str(bobs_key), str(PAYABLI_INVOICE_IDS["alice_open_overdue"])
    number = LOWER_CASE_NUMBERS[name][0]
    assert (await provider.get_invoice(alice, number)).id == alices_id
    assert (await provider.get_invoice(bob, number)).id == bobs_id


@pytest.mark.parametrize("name", REMOTE)
async def test_another_customers_number_is_exactly_the_not_found_of_a_missing_number(
    providers: dict[str, tuple[InvoiceProvider, Scope, Scope]],
    bobs: dict[str, tuple[InvoiceProvider, Scope]],
    name: str,
) -> None:
    provider, alice, _ = providers[name]
    bobs_provider, bob = bobs[name]
    listed = bobs_provider.iter_invoices(bob, InvoiceFilter())
    their_number = await anext(invoice.number async for invoice in listed if invoice.number)
    assert not their_number.startswith(("SBX-ALICE", "AFT-ALICE", "INV-1001"))  # really bob's
    with pytest.raises(NotFound) as theirs:
        await provider.get_invoice(alice, their_number.lower())
    with pytest.raises(NotFound) as missing:
        await provider.get_invoice(alice, "no-such-number-1")
    assert str(theirs.value).replace(their_number.lower(), "X") == str(missing.value).replace(
        "no-such-number-1", "X"
    )
    assert theirs.value.hint == missing.value.hint


# -- due dates and overdue ---------------------------------------------------------------------------

OVERDUE = InvoiceFilter(overdue=True, as_of=AS_OF)


async def test_payabli_is_asked_only_for_invoices_due_before_the_day_for_overdue(
    providers: dict[str, tuple[InvoiceProvider, Scope, Scope]], states: SandboxStates
) -> None:
    provider, alice, _ = providers["payabli"]
    page = await provider.list_invoices(alice, OVERDUE, limit=20, cursor=None)
    assert [invoice.id for invoice in page.items] == [str(PAYABLI_INVOICE_IDS["alice_open_overdue"])]
    [request] = log_of(states, "payabli")
    assert parse_qs(request.query)["dueDate(lt)"] == ["2026-06-01"]


async def test_payabli_gets_due_date_bounds_as_its_documented_due_date_filters(
    providers: dict[str, tuple[InvoiceProvider, Scope, Scope]], states: SandboxStates
) -> None:
    provider, alice, _ = providers["payabli"]
    query = InvoiceFilter(due_after=date(2026, 2, 1), due_before=date(2026, 12, 31))
    page = await provider.list_invoices(alice, query, limit=20, cursor=None)
    assert {invoice.number for invoice in page.items} == {"INV-1001-0001", "INV-1001-0005"}
    [request] = log_of(states, "payabli")
    sent = parse_qs(request.query)
    assert sent["dueDate(ge)"] == ["2026-02-01"] and sent["dueDate(le)"] == ["2026-12-31"]


async def test_afternoon_overdue_listing_is_filtered_while_paging_the_customers_invoices(
    providers: dict[str, tuple[InvoiceProvider, Scope, Scope]], states: SandboxStates
) -> None:
    provider, alice, _ = providers["afternoon"]
    page = await provider.list_invoices(alice, OVERDUE, limit=20, cursor=None)
    assert [invoice.id for invoice in page.items] == [AFTERNOON_INVOICE_IDS["alice_open_overdue"]]
    assert len(log_of(states, "afternoon")) == 1  # six invoices: one page


@pytest.mark.parametrize("name", REMOTE)
async def test_not_overdue_is_every_other_invoice(
    providers: dict[str, tuple[InvoiceProvider, Scope, Scope]], name: str
) -> None:
    provider, alice, _ = providers[name]
    every = [invoice async for invoice in provider.iter_invoices(alice, InvoiceFilter())]
    current = [
        invoice async for invoice in provider.iter_invoices(alice, InvoiceFilter(overdue=False, as_of=AS_OF))
    ]
    assert {invoice.id for invoice in current} == {
        invoice.id for invoice in every if not invoice.is_overdue(AS_OF)
    }


@pytest.mark.parametrize("name", ["polar", "bagisto"])
@pytest.mark.parametrize(
    "query",
    [OVERDUE, InvoiceFilter(due_after=date(2000, 1, 1)), InvoiceFilter(due_before=date(2100, 1, 1))],
    ids=["overdue", "due_after", "due_before"],
)
async def test_a_provider_without_due_dates_answers_due_date_questions_empty_without_a_request(
    providers: dict[str, tuple[InvoiceProvider, Scope, Scope]],
    states: SandboxStates,
    name: str,
    query: InvoiceFilter,
) -> None:
    provider, alice, _ = providers[name]
    assert not provider.info.states_due_dates
    page = await provider.list_invoices(alice, query, limit=20, cursor=None)
    summary = await provider.summarize(alice, query, AS_OF)
    assert page.items == [] and page.next_cursor is None and summary.count == 0
    assert log_of(states, name) == []


# -- through the real client over stdio ----------------------------------------------------------------


async def test_over_stdio_every_provider_takes_numbers_and_overdue_filters(sandbox_url: str) -> None:
    env = sandbox_environment(sandbox_url, "alice")
    async with Client(stdio_client(stdio_params(env))) as client:
        for name in REMOTE:
            number, invoice_id = LOWER_CASE_NUMBERS[name]
            found = await client.call_tool("get_invoice", {"invoice_id": number, "provider": name})
            assert not found.is_error and found.structured_content["id"] == invoice_id, found.content
            summary = await client.call_tool(
                "summarize_invoice", {"invoice_id": number.upper(), "provider": name}
            )
            assert summary.structured_content["invoice_id"] == invoice_id
            read = await client.read_resource(f"invoice://{name}/{number}")
            assert invoice_id in read.contents[0].text  # type: ignore[union-attr]
            listed = await client.call_tool("list_invoices", {"provider": name, "overdue": True})
            assert not listed.is_error, listed.content
            rows = listed.structured_content["invoices"]
            assert all(row["due_at"] is not None and row["amount_due"] != "0" for row in rows)
            summarized = await client.call_tool("summarize_invoices", {"provider": name, "overdue": True})
            if name in ("polar", "bagisto"):
                assert rows == [] and "states no due dates" in listed.structured_content["note"]
                assert "states no due dates" in summarized.structured_content["summary"]
            else:
                assert rows and listed.structured_content["note"] is None
                assert summarized.structured_content["count"] == len(rows)
        missing = await client.call_tool(
            "get_invoice", {"invoice_id": "no-such-number-1", "provider": "payabli"}
        )
        assert error_of(missing)["code"] == "not_found"
