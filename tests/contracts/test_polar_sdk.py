"""polar-sdk 1.0.2 as the judge of our Polar client and of our Polar sandbox.

1. Responses built with the SDK's own models (every ``OrderStatus``, optional fields null, Polar's own
   example order) go through our client on loopback and come out right: status, paid, due, totals exact.
2. Every request our client sends has the shape the SDK's service method gives the same operation
   (method, path, query keys, body keys, ``Polar-Version``, bearer): both run against one recording
   server on loopback.
3. The SDK reads our sandbox: pointed at ``mcp_invoices.providers.polar.emulator`` as alice and bob, it lists and
   reads every order and invoice without a parsing error, for every version the client claims.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from decimal import Decimal
from typing import Any

import polar
import pytest
from polar.v2026_04 import outputs
from pydantic import SecretStr

from mcp_invoices.domain.models import Address, Billing, InvoiceFilter, InvoiceStatus
from mcp_invoices.principal import Scope
from mcp_invoices.providers.emulation import running_app
from mcp_invoices.providers.http import RetryPolicy
from mcp_invoices.providers.polar.client import PolarProvider
from mcp_invoices.providers.polar.emulator import (
    POLAR_API_VERSIONS,
    POLAR_CUSTOMER_SESSIONS,
    POLAR_ORDER_IDS,
    POLAR_ORGANIZATION_TOKEN,
    PolarState,
    create_app,
)
from mcp_invoices.providers.polar.wire import API_VERSION
from mcp_invoices.server.runtime import TOKEN_SCOPED
from tests.contracts.polar.sdk_orders import (
    ORDER_ID,
    ORDER_STATUSES,
    SDK_VERSIONS,
    RecordingPolar,
    Sent,
    body_of,
    customer_order,
    polars_example_order,
)

SESSION = Scope("polar", TOKEN_SCOPED)
FAST_RETRY = RetryPolicy(base_delay=0.001, max_delay=0.01, max_retry_after=0.01, total_budget=5.0)
TOKEN = "polar_cst_contract"

CLAIMED_VERSIONS = [API_VERSION]
"""The API versions our client claims: the one it pins and sends."""


@asynccontextmanager
async def client_against(
    order: outputs.CustomerOrder, **options: Any
) -> AsyncIterator[tuple[PolarProvider, RecordingPolar]]:
    """Our client pointed at a recording Polar that serves ``order`` (built with the SDK's models)."""
    recording = RecordingPolar(order=body_of(order))
    async with running_app(recording.app()) as url:
        credentials = options or {"customer_session": SecretStr(TOKEN)}
        provider = PolarProvider(base_url=url, retry=FAST_RETRY, generation_timeout=1.0, **credentials)
        try:
            yield provider, recording
        finally:
            await provider.aclose()


# -- 1. SDK-built responses through our client ----------------------------------------------------


def order_in(status: str) -> outputs.CustomerOrder:
    """A $110.00 order in ``status`` with the amounts Polar states for it (models/order.py)."""
    paid = status in ("paid", "refunded", "partially_refunded")  # polar c6c3645 Order.paid
    refunded = {"refunded": 10000, "partially_refunded": 4000}.get(status, 0)
    refunded_tax = {"refunded": 1000, "partially_refunded": 400}.get(status, 0)
    return customer_order(
        status=status,
        paid=paid,
        due_amount=11000,  # max(0, total + applied balance): the charge, whatever the status
        refunded_amount=refunded,
        refunded_tax_amount=refunded_tax,
        refundable_amount=10000 - refunded,
        refundable_tax_amount=1000 - refunded_tax,
    )


# (normalized status, amount_paid, amount_due) per Polar status of a $110.00 order.
BY_STATUS = {
    "paid": (InvoiceStatus.PAID, "110.00", "0.00"),
    # paid in full; the refund is money returned, not a balance owed (provider_status keeps it)
    "partially_refunded": (InvoiceStatus.PAID, "110.00", "0.00"),
    "refunded": (InvoiceStatus.REFUNDED, "110.00", "0.00"),
    "pending": (InvoiceStatus.OPEN, "0.00", "110.00"),
    "draft": (InvoiceStatus.DRAFT, "0.00", "110.00"),
    "void": (InvoiceStatus.VOID, "0.00", "0.00"),
}


def test_every_sdk_order_status_has_an_expectation() -> None:
    assert set(BY_STATUS) == set(ORDER_STATUSES)


@pytest.mark.parametrize("status", ORDER_STATUSES)
async def test_each_sdk_order_status_reads_with_exact_paid_and_due(status: str) -> None:
    async with client_against(order_in(status)) as (provider, _):
        invoice = await provider.get_invoice(SESSION, ORDER_ID)
    want_status, paid, due = BY_STATUS[status]
    assert (invoice.status, invoice.provider_status) == (want_status, status)
    assert (str(invoice.total), str(invoice.amount_paid), str(invoice.amount_due)) == ("110.00", paid, due)
    assert (str(invoice.subtotal), str(invoice.tax), str(invoice.discount)) == ("100.00", "10.00", "0.00")


async def test_polars_example_order_is_paid_in_full_and_owes_nothing() -> None:
    async with client_against(polars_example_order()) as (provider, _):
        invoice = await provider.get_invoice(SESSION, ORDER_ID)
    assert invoice.status is InvoiceStatus.PAID and invoice.number == "INV-2024-001"
    assert (invoice.subtotal, invoice.discount, invoice.tax, invoice.total) == (
        Decimal("99.00"),
        Decimal("10.00"),
        Decimal("7.12"),
        Decimal("96.12"),
    )
    assert (invoice.amount_paid, invoice.amount_due) == (Decimal("96.12"), Decimal("0.00"))
    assert invoice.billing == Billing(
        name="John Doe",
        address=Address(
            line1="123 Main Street",
            line2="Apt 4B",
            postal_code="94105",
            city="San Francisco",
            state="US-CA",
            country="US",
        ),
    )


async def test_a_summary_counts_polars_example_order_as_paid() -> None:
    async with client_against(polars_example_order()) as (provider, _):
        summary = await provider.summarize(SESSION, InvoiceFilter(), date(2026, 12, 1))
    [usd] = summary.currencies
    assert (usd.currency, usd.total, usd.paid, usd.due, usd.overdue) == (
        "USD",
        Decimal("96.12"),
        Decimal("96.12"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert summary.oldest_unpaid is None


async def test_customer_balance_applied_to_a_pending_order_counts_as_paid() -> None:
    # 110.00 with 5.00 of customer balance applied: 105.00 is charged (due_amount) and still owed.
    order = dataclasses.replace(order_in("pending"), applied_balance_amount=-500, due_amount=10500)
    async with client_against(order) as (provider, _):
        invoice = await provider.get_invoice(SESSION, ORDER_ID)
    assert (str(invoice.total), str(invoice.amount_paid), str(invoice.amount_due)) == (
        "110.00",
        "5.00",
        "105.00",
    )


async def test_an_sdk_order_with_every_optional_field_null_reads_with_nulls() -> None:
    async with client_against(customer_order(items=[], subtotal_amount=0, net_amount=0, tax_amount=0)) as (
        provider,
        _,
    ):
        invoice = await provider.get_invoice(SESSION, ORDER_ID)
    assert invoice.number is None and invoice.billing == Billing(name=None, address=None)
    assert invoice.customer.model_dump() == {"id": customer_order().customer_id, "name": None, "email": None}
    assert invoice.line_items == []


async def test_the_customer_is_the_orders_customer_id_and_billing_name() -> None:
    # CustomerOrder names its customer by id only (no customer object): polar c6c3645
    # server/polar/customer_portal/schemas/order.py; the printed name is billing_name.
    async with client_against(polars_example_order()) as (provider, _):
        invoice = await provider.get_invoice(SESSION, ORDER_ID)
    assert invoice.customer.model_dump() == {
        "id": polars_example_order().customer_id,
        "name": "John Doe",
        "email": None,
    }


# -- 2. Our requests have the SDK's shape ---------------------------------------------------------


def sdk_client(url: str, token: str = TOKEN) -> Any:
    return SDK_VERSIONS[API_VERSION].PolarAsync(access_token=token, base_url=url)


async def sdk_sent(operation: Callable[[Any], Any], token: str = TOKEN) -> list[Sent]:
    recording = RecordingPolar(order=body_of(customer_order()))
    async with running_app(recording.app()) as url:
        async with sdk_client(url, token) as sdk:
            try:
                await operation(sdk)
            except polar.PolarDeserializationError:
                pass  # the recorded answer is not the operation's model; only the request counts here
    return recording.sent


def same_shape(ours: Sent, sdks: Sent) -> None:
    assert (ours.method, ours.path, ours.version, ours.authorization) == (
        sdks.method,
        sdks.path,
        sdks.version,
        sdks.authorization,
    )
    assert ours.query <= sdks.query, f"query keys the SDK does not send: {ours.query - sdks.query}"
    assert ours.json_keys <= sdks.json_keys or not sdks.json_keys


async def test_the_sdk_client_sends_the_version_our_client_pins() -> None:
    assert SDK_VERSIONS[API_VERSION].Polar.version == API_VERSION
    assert API_VERSION in POLAR_API_VERSIONS  # served by Polar (polar c6c3645 server/polar/version.py)


async def test_listing_orders_is_the_sdks_list_request() -> None:
    [sdks] = await sdk_sent(lambda sdk: sdk.customer_portal.orders.list(page=1, limit=100))
    async with client_against(customer_order()) as (provider, recording):
        await provider.list_orders(SESSION, limit=10, cursor=None)
    [ours] = recording.sent
    same_shape(ours, sdks)
    assert ours.query == {"page", "limit", "sorting"} and ours.version == API_VERSION


async def test_reading_an_order_is_the_sdks_get_request() -> None:
    [sdks] = await sdk_sent(lambda sdk: sdk.customer_portal.orders.get(ORDER_ID))
    async with client_against(customer_order()) as (provider, recording):
        await provider.get_invoice(SESSION, ORDER_ID)
    [ours] = recording.sent
    same_shape(ours, sdks)


async def test_reading_the_invoice_url_is_the_sdks_invoice_request() -> None:
    [sdks] = await sdk_sent(lambda sdk: sdk.customer_portal.orders.invoice(ORDER_ID))
    async with client_against(customer_order()) as (provider, recording):
        with pytest.raises(Exception):  # noqa: B017 - the document URL points nowhere; only the request counts
            await provider.invoice_pdf(SESSION, ORDER_ID)
    ours = recording.sent[0]
    same_shape(ours, sdks)


async def test_generating_is_the_sdks_update_then_generate_invoice_requests() -> None:
    address = {"line1": "1 Main St", "postal_code": "94105", "city": "SF", "state": "US-CA", "country": "US"}

    async def sdk_calls(sdk: Any) -> None:
        await sdk.customer_portal.orders.update(ORDER_ID, billing_name="A", billing_address=address)
        await sdk.customer_portal.orders.generate_invoice(ORDER_ID)

    sdk_patch, sdk_post = await sdk_sent(sdk_calls)
    # polar-sdk 1.0.2 inputs.CustomerOrderUpdate: the PATCH body's keys
    update_keys = set(polar.v2026_04.inputs.CustomerOrderUpdate.__annotations__)
    async with client_against(customer_order(is_invoice_generated=False)) as (provider, recording):
        await provider.generate_invoice(
            SESSION,
            ORDER_ID,
            billing=Billing(name="A", address=Address(**address)),
            wait=False,
        )
    get, patch, post = recording.sent
    assert get.method == "GET"
    same_shape(patch, sdk_patch)
    assert patch.json_keys == {"billing_name", "billing_address"} <= update_keys
    same_shape(post, sdk_post)


async def test_opening_a_customer_session_is_the_sdks_create_request() -> None:
    [sdks] = await sdk_sent(
        lambda sdk: sdk.customer_sessions.create(external_customer_id="alice"), token=POLAR_ORGANIZATION_TOKEN
    )
    async with client_against(customer_order(), access_token=SecretStr(POLAR_ORGANIZATION_TOKEN)) as (
        provider,
        recording,
    ):
        await provider.get_invoice(Scope("polar", "alice"), ORDER_ID)
    mint, read = recording.sent
    same_shape(mint, sdks)
    assert mint.json_keys == sdks.json_keys == {"external_customer_id"}
    assert read.version == API_VERSION


# -- 3. The SDK reads our sandbox -----------------------------------------------------------------


@pytest.fixture
async def sandbox_url() -> AsyncIterator[str]:
    state = PolarState(generation_delay=0.0)
    for order in state.orders.values():  # every invoice exists, so every invoice URL is read too
        order.invoice_ready_at = float("-inf")
    async with running_app(create_app(state)) as url:
        yield url


@pytest.mark.parametrize("version", CLAIMED_VERSIONS)
@pytest.mark.parametrize("customer", ["alice", "bob"])
async def test_the_sdk_lists_and_reads_every_sandbox_order_and_invoice(
    sandbox_url: str, version: str, customer: str
) -> None:
    module = SDK_VERSIONS[version]
    async with module.PolarAsync(access_token=POLAR_CUSTOMER_SESSIONS[customer], base_url=sandbox_url) as sdk:
        orders = sdk.customer_portal.orders
        listed = [order async for order in orders.iter_list(limit=100)]
        mine = sorted(oid for role, oid in POLAR_ORDER_IDS.items() if role.startswith(customer))
        assert sorted(order.id for order in listed) == mine
        for order in listed:
            assert isinstance(order, module.outputs.CustomerOrder)
            read = await orders.get(order.id)
            assert read == order
            assert (await orders.invoice(order.id)).url.startswith("http://127.0.0.1")


@pytest.mark.parametrize("version", sorted(set(SDK_VERSIONS) & POLAR_API_VERSIONS))
async def test_every_version_the_sandbox_serves_reads_with_that_versions_sdk(
    sandbox_url: str, version: str
) -> None:
    module = SDK_VERSIONS[version]
    async with module.PolarAsync(access_token=POLAR_CUSTOMER_SESSIONS["alice"], base_url=sandbox_url) as sdk:
        page = await sdk.customer_portal.orders.list(limit=100)
    assert page.pagination.total_count == len(page.items) == 7


async def test_a_version_polar_does_not_serve_yet_is_not_found_as_polar_answers(sandbox_url: str) -> None:
    # polar-sdk 1.0.2 ships 2027-01; polar c6c3645 serves 2026-04 and 2026-10 only (a bare 404 otherwise).
    assert "2027-01" not in POLAR_API_VERSIONS
    async with SDK_VERSIONS["2027-01"].PolarAsync(
        access_token=POLAR_CUSTOMER_SESSIONS["alice"], base_url=sandbox_url
    ) as sdk:
        with pytest.raises(polar.PolarError):
            await sdk.customer_portal.orders.list(limit=100)
