"""The provider contract: what every remote provider does, each against its emulator over loopback.

One parametrized suite instead of a copy per provider file (issue 24). Each provider is built as
``serve`` builds it (``load_config`` over ``sandbox_environment``) for the sandbox's customers and
talks to the emulators over real HTTP on 127.0.0.1. What is particular to one provider (its wire
format, its paging quirks, its own documents) stays in ``tests/providers/test_<id>.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import pytest

from mcp_invoices.config import load_config
from mcp_invoices.domain.errors import NotFound, Unauthorized
from mcp_invoices.domain.models import Invoice, InvoiceFilter, InvoiceStatus
from mcp_invoices.domain.summary import summarize_invoices
from mcp_invoices.principal import Scope
from mcp_invoices.providers.base import InvoiceProvider
from mcp_invoices.providers.catalog import REMOTE_SPECS, spec
from mcp_invoices.providers.emulation import serving_in_thread
from mcp_invoices.sandbox import SandboxStates, create_sandbox_app, sandbox_environment
from mcp_invoices.server.runtime import environment_principal

PROVIDERS = tuple(entry.id for entry in REMOTE_SPECS)
AS_OF = date(2026, 6, 1)
"""The day summaries are judged on (the emulators' data are fixed in time)."""

MISSING_ID = {entry.id: entry.emulation().seeded.missing_invoice for entry in REMOTE_SPECS}
"""An id of each provider's shape that no emulator holds (each emulator's ``EMULATOR`` says which)."""
CUSTOMER_CREDENTIAL = {
    entry.id: next(
        (c.variable for c in entry.credentials if c.transports == frozenset({"stdio"})),
        entry.credentials[0].variable,
    )
    for entry in REMOTE_SPECS
}
"""The variable holding the credential a refusal is about: the customer's own (the credential used
only over stdio) where there is one, else the provider's one credential."""


def test_the_tables_name_the_credential_a_customer_holds() -> None:
    """The derivation above, spelled out once for the providers we know (a new one is derived alike)."""
    assert {name: CUSTOMER_CREDENTIAL[name] for name in ("polar", "afternoon", "bagisto", "payabli")} == {
        "polar": "POLAR_CUSTOMER_SESSION",
        "afternoon": "AFTERNOON_API_KEY",
        "bagisto": "BAGISTO_CUSTOMER_TOKEN",
        "payabli": "PAYABLI_API_TOKEN",
    }
    assert len(PROVIDERS) >= 4


@pytest.fixture
def states() -> SandboxStates:
    """The emulators' seed data; every Polar order has its invoice, so listings span the statuses."""
    states = SandboxStates()
    for order in states.polar.orders.values():
        order.invoice_ready_at = float("-inf")
    return states


@pytest.fixture
def sandbox_url(states: SandboxStates) -> Iterator[str]:
    with serving_in_thread(create_sandbox_app(states)) as url:
        yield url


@contextlib.asynccontextmanager
async def session_of(env: dict[str, str], name: str) -> AsyncIterator[tuple[InvoiceProvider, Scope]]:
    """Provider ``name`` and its scope, built from ``env`` as ``serve`` builds them."""
    config = load_config(env)
    (remote,) = [entry for entry in config.remote if entry.provider == name]
    (scope,) = [entry for entry in environment_principal(config).scopes if entry.provider == name]
    provider = spec(name).implementation().from_config(remote)
    try:
        yield provider, scope
    finally:
        await provider.aclose()


async def every_invoice(
    provider: InvoiceProvider, scope: Scope, query: InvoiceFilter | None = None
) -> list[Invoice]:
    return [invoice async for invoice in provider.iter_invoices(scope, query or InvoiceFilter())]


def request_count(states: SandboxStates, name: str) -> int:
    return len(getattr(states, name).controls.request_log)


@pytest.mark.parametrize("name", PROVIDERS)
async def test_another_customers_invoice_is_exactly_the_not_found_of_a_missing_one(
    sandbox_url: str, states: SandboxStates, name: str
) -> None:
    async with session_of(sandbox_environment(sandbox_url, "bob"), name) as (bob, bobs):
        theirs = (await every_invoice(bob, bobs))[0].id
    missing = MISSING_ID[name]
    async with session_of(sandbox_environment(sandbox_url, "alice"), name) as (alice, alices):
        before = request_count(states, name)
        with pytest.raises(NotFound) as not_yours:
            await alice.get_invoice(alices, theirs)
        for_theirs = request_count(states, name) - before
        with pytest.raises(NotFound) as not_there:
            await alice.get_invoice(alices, missing)
        for_missing = request_count(states, name) - before - for_theirs
    assert {k: str(v).replace(theirs, "X") for k, v in not_yours.value.to_dict().items()} == {
        k: str(v).replace(missing, "X") for k, v in not_there.value.to_dict().items()
    }
    assert for_theirs == for_missing, "another customer's invoice costs what a missing one costs"


@pytest.mark.parametrize("name", PROVIDERS)
async def test_another_customers_pdf_is_exactly_the_not_found_of_a_missing_one(
    sandbox_url: str, name: str
) -> None:
    async with session_of(sandbox_environment(sandbox_url, "bob"), name) as (bob, bobs):
        theirs = (await every_invoice(bob, bobs))[0].id
    missing = MISSING_ID[name]
    async with session_of(sandbox_environment(sandbox_url, "alice"), name) as (alice, alices):
        with pytest.raises(NotFound) as not_yours:
            await alice.invoice_pdf(alices, theirs)
        with pytest.raises(NotFound) as not_there:
            await alice.invoice_pdf(alices, missing)
    assert str(not_yours.value).replace(theirs, "X") == str(not_there.value).replace(missing, "X")


@pytest.mark.parametrize("limit", [1, 3, 100])
@pytest.mark.parametrize("name", PROVIDERS)
async def test_paging_reaches_every_invoice_of_the_customer_once_newest_first(
    sandbox_url: str, name: str, limit: int
) -> None:
    async with session_of(sandbox_environment(sandbox_url, "alice"), name) as (alice, scope):
        everything = [invoice.id for invoice in await every_invoice(alice, scope)]
        paged: list[Invoice] = []
        cursor: str | None = None
        for _ in range(len(everything) + 2):  # bounded: one page per invoice at most, and the last
            page = await alice.list_invoices(scope, InvoiceFilter(), limit=limit, cursor=cursor)
            assert len(page.items) <= limit
            paged += page.items
            if (cursor := page.next_cursor) is None:
                break
        assert cursor is None, "the listing ended"
    ids = [invoice.id for invoice in paged]
    assert everything and len(ids) == len(set(ids)) and ids == everything
    issued = [invoice.issued_at for invoice in paged if invoice.issued_at is not None]
    assert issued == sorted(issued, reverse=True)
    assert all(invoice.provider == name for invoice in paged)


@pytest.mark.parametrize("name", PROVIDERS)
async def test_each_session_lists_only_its_own_invoices(sandbox_url: str, name: str) -> None:
    async with session_of(sandbox_environment(sandbox_url, "alice"), name) as (alice, alices):
        hers = {invoice.id for invoice in await every_invoice(alice, alices)}
        assert all([await alice.get_invoice(alices, invoice_id) for invoice_id in sorted(hers)])
    async with session_of(sandbox_environment(sandbox_url, "bob"), name) as (bob, bobs):
        his = {invoice.id for invoice in await every_invoice(bob, bobs)}
    async with session_of(sandbox_environment(sandbox_url, "carol"), name) as (carol, carols):
        assert await every_invoice(carol, carols) == []
    assert hers and his and not hers & his


@pytest.mark.parametrize("name", PROVIDERS)
async def test_a_status_filter_lists_exactly_the_invoices_of_that_status(sandbox_url: str, name: str) -> None:
    seen: set[InvoiceStatus] = set()
    for customer in ("alice", "bob"):
        async with session_of(sandbox_environment(sandbox_url, customer), name) as (provider, scope):
            everything = await every_invoice(provider, scope)
            for status in InvoiceStatus:
                listed = [
                    invoice.id
                    for invoice in await every_invoice(provider, scope, InvoiceFilter(status=status))
                ]
                assert listed == [invoice.id for invoice in everything if invoice.status is status], status
        seen |= {invoice.status for invoice in everything}
    assert len(seen) >= 2, "the seed data spans statuses"


@pytest.mark.parametrize("name", PROVIDERS)
async def test_every_printed_number_finds_its_invoice(sandbox_url: str, name: str) -> None:
    async with session_of(sandbox_environment(sandbox_url, "alice"), name) as (alice, scope):
        numbered = [invoice for invoice in await every_invoice(alice, scope) if invoice.number]
        assert numbered
        for invoice in numbered:
            assert invoice.number is not None
            found = await alice.get_invoice(scope, invoice.number)
            assert (found.id, found.number) == (invoice.id, invoice.number)


@pytest.mark.parametrize("name", PROVIDERS)
async def test_the_summary_equals_the_sum_of_the_whole_invoices(sandbox_url: str, name: str) -> None:
    async with session_of(sandbox_environment(sandbox_url, "alice"), name) as (alice, scope):
        for query in (InvoiceFilter(), InvoiceFilter(status=InvoiceStatus.OPEN)):
            summary = await alice.summarize(scope, query, AS_OF)
            expected = summarize_invoices(await every_invoice(alice, scope, query), AS_OF)
            assert summary == expected, query
    assert summary.count >= 0


@pytest.mark.parametrize("name", PROVIDERS)
async def test_the_pdf_of_an_invoice_is_a_pdf(sandbox_url: str, name: str) -> None:
    async with session_of(sandbox_environment(sandbox_url, "alice"), name) as (alice, scope):
        invoice = (await every_invoice(alice, scope))[0]
        pdf = await alice.invoice_pdf(scope, invoice.id)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")


@pytest.mark.parametrize("call", ["get", "list"])
@pytest.mark.parametrize("name", PROVIDERS)
async def test_a_refused_credential_is_unauthorized_naming_its_variable_never_its_value(
    sandbox_url: str, name: str, call: str
) -> None:
    async with session_of(sandbox_environment(sandbox_url, "alice"), name) as (alice, scope):
        invoice_id = (await every_invoice(alice, scope))[0].id
    variable = CUSTOMER_CREDENTIAL[name]
    wrong = "wrong-credential-0123456789abcdef"
    env: dict[str, Any] = sandbox_environment(sandbox_url, "alice") | {variable: wrong}
    async with session_of(env, name) as (refused, scope):
        with pytest.raises(Unauthorized) as failure:
            if call == "get":
                await refused.get_invoice(scope, invoice_id)
            else:
                await refused.list_invoices(scope, InvoiceFilter(), limit=10, cursor=None)
    said = f"{failure.value.message} {failure.value.hint}"
    assert variable in said and wrong not in said
