"""A provider's summary equals the pure domain summary of the same invoices, on every provider.

Providers summarise without building whole invoices (Payabli and Afternoon from the facts part of
each record's one wire shape, the local ledger in SQL); whatever the path, the result must be exactly
``summarize_invoices`` of the invoices the same provider lists, for every filter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from mcp_invoices.config import load_config
from mcp_invoices.domain.models import InvoiceFilter, InvoiceStatus
from mcp_invoices.domain.summary import summarize_invoices
from mcp_invoices.providers.afternoon.emulator import AfternoonState
from mcp_invoices.providers.catalog import PROVIDER_IDS
from mcp_invoices.providers.payabli.emulator import PayabliState
from mcp_invoices.sandbox import SandboxStates, create_sandbox_app, running_app, sandbox_environment
from mcp_invoices.server.runtime import Runtime, environment_principal, open_runtime

TODAY = date(2026, 5, 1)

FILTERS = [
    InvoiceFilter(),
    InvoiceFilter(status=InvoiceStatus.OPEN),
    InvoiceFilter(status=InvoiceStatus.PAID),
    InvoiceFilter(status=InvoiceStatus.PARTIALLY_PAID),
    InvoiceFilter(status=InvoiceStatus.REFUNDED),
    InvoiceFilter(issued_after=date(2024, 3, 1)),
    InvoiceFilter(issued_after=date(2025, 6, 1), issued_before=date(2026, 4, 1)),
]


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    """Every provider, each against its emulator, with enough invoices for several pages of each."""
    states = SandboxStates(
        afternoon=AfternoonState(extra_invoices=420), payabli=PayabliState(extra_invoices=430)
    )
    async with running_app(create_sandbox_app(states)) as base_url:
        env = sandbox_environment(base_url, "alice") | {
            "MCP_INVOICES_DB": str(tmp_path / "ledger.sqlite3"),
            "MCP_INVOICES_LOCAL": "1",
            "MCP_INVOICES_CUSTOMER": "cus_alice",
        }
        async with open_runtime(load_config(env)) as opened:
            yield opened


def test_every_provider_is_served_here(runtime: Runtime) -> None:
    assert set(runtime.providers) == set(PROVIDER_IDS)


@pytest.mark.parametrize("provider_id", PROVIDER_IDS)
async def test_a_providers_summary_is_exactly_the_domain_summary_of_its_invoices(
    runtime: Runtime, provider_id: str
) -> None:
    scope = environment_principal(runtime.config).scope_for(provider_id)
    provider = runtime.providers[provider_id]
    unfiltered = [invoice async for invoice in provider.iter_invoices(scope, InvoiceFilter())]
    assert unfiltered, "every sandbox provider has invoices for alice"
    for query in FILTERS:
        invoices = [invoice async for invoice in provider.iter_invoices(scope, query)]
        summary = await provider.summarize(scope, query, TODAY)
        assert summary == summarize_invoices(invoices, TODAY), (provider_id, query)
        # The same JSON too: Decimal("1.0") == Decimal("1.00"), but the wire text would differ.
        assert summary.model_dump_json() == summarize_invoices(invoices, TODAY).model_dump_json()
