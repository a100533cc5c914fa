"""completion/complete: provider and invoice_id, for the resource templates and the prompt, own invoices only."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from mcp import Client
from mcp_types import PromptReference, ResourceTemplateReference

from mcp_invoices.domain.models import Address, Billing
from mcp_invoices.providers.local.ledger import Ledger, NewOrder, NewOrderLine
from mcp_invoices.server.completions import COMPLETION_LIMIT
from tests.conftest import local_client

JSON_TEMPLATE = ResourceTemplateReference(uri="invoice://{provider}/{invoice_id}")
PDF_TEMPLATE = ResourceTemplateReference(uri="invoice://{provider}/{invoice_id}/pdf")
PROMPT = PromptReference(name="explain_invoice")
REFS = [JSON_TEMPLATE, PDF_TEMPLATE, PROMPT]
REF_IDS = ["json-template", "pdf-template", "prompt"]


async def values(
    client: Client, ref: object, name: str, value: str, context: dict[str, str] | None = None
) -> list[str]:
    result = await client.complete(ref, {"name": name, "value": value}, context)  # type: ignore[arg-type]
    assert len(result.completion.values) <= COMPLETION_LIMIT
    return result.completion.values


async def test_the_server_declares_the_completions_capability(ledger_path: Path) -> None:
    async with local_client(ledger_path) as client:
        capabilities = client.server_capabilities
    assert capabilities is not None and capabilities.completions is not None


@pytest.mark.parametrize("ref", REFS, ids=REF_IDS)
async def test_provider_completes_to_the_sessions_providers_by_prefix(ledger_path: Path, ref: object) -> None:
    async with local_client(ledger_path) as client:
        assert await values(client, ref, "provider", "") == ["local"]
        assert await values(client, ref, "provider", "LO") == ["local"]
        assert await values(client, ref, "provider", "pol") == []


@pytest.mark.parametrize("ref", REFS, ids=REF_IDS)
async def test_invoice_id_completes_to_the_sessions_own_ids_and_numbers(
    ledger_path: Path, ref: object
) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        own = (await client.call_tool("list_invoices", {})).structured_content["invoices"]
        everything = await values(client, ref, "invoice_id", "")
        ids = await values(client, ref, "invoice_id", "ORD_")
    assert set(everything) == {row["id"] for row in own} | {row["number"] for row in own}
    assert set(ids) == {row["id"] for row in own}


async def test_a_number_prefix_completes_case_insensitively_most_recent_first(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        own = (await client.call_tool("list_invoices", {})).structured_content["invoices"]
        numbers = await values(client, JSON_TEMPLATE, "invoice_id", "inv-")
    assert numbers == [row["number"] for row in own]  # list_invoices is most recent first, too


async def test_invoice_id_follows_the_provider_already_chosen(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        chosen = await values(client, JSON_TEMPLATE, "invoice_id", "ord", {"provider": "local"})
        other = await values(client, JSON_TEMPLATE, "invoice_id", "ord", {"provider": "polar"})
    assert chosen and other == []


async def test_another_customers_ids_and_numbers_are_never_suggested(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_bob") as bob:
        bobs = (await bob.call_tool("list_invoices", {})).structured_content["invoices"]
    async with local_client(ledger_path, "cus_alice") as alice:
        for row in bobs:
            for typed in (row["id"], row["number"], row["id"][:5], row["number"][:9]):
                suggested = await values(alice, JSON_TEMPLATE, "invoice_id", typed)
                assert row["id"] not in suggested and row["number"] not in suggested


async def test_other_arguments_and_other_templates_get_no_suggestions(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        assert await values(client, JSON_TEMPLATE, "customer", "") == []
        assert await values(client, ResourceTemplateReference(uri="file://{path}"), "invoice_id", "") == []
        assert await values(client, PromptReference(name="nope"), "invoice_id", "") == []


async def test_completions_are_bounded_to_one_hundred_values_and_say_there_are_more(
    ledger_path: Path,
) -> None:
    ledger = Ledger(
        os.environ.get("MCP_INVOICES_DATABASE_URL") or ledger_path
    )  # PostgreSQL in CI's database pass
    try:
        ledger.add_customer("cus_many", "Many Invoices Ltd", None, date(2026, 1, 1))
        billing = Billing(name="Many Invoices Ltd", address=Address(line1="1 Long Road", country="DE"))
        for n in range(120):  # bounded
            order_id = f"ord_many_{n:03d}"
            ledger.add_order(
                NewOrder(
                    order_id,
                    "cus_many",
                    date(2026, 1, 1),
                    "EUR",
                    "paid",
                    [NewOrderLine("Item", Decimal(1), Decimal("10.00"))],
                    paid_at=datetime(2026, 1, 1, tzinfo=UTC),
                    billing=billing,
                )
            )
            ledger.generate_invoice("cus_many", order_id, billing=None, today=date(2026, 1, 2))
    finally:
        ledger.close()
    async with local_client(ledger_path, "cus_many") as client:
        result = await client.complete(JSON_TEMPLATE, {"name": "invoice_id", "value": "ord_many"})
    assert len(result.completion.values) == COMPLETION_LIMIT
    assert result.completion.has_more is True and result.completion.total is not None
    assert result.completion.total > COMPLETION_LIMIT
