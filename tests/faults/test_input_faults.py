"""Every input bounded where it enters, checked before anything permanent; honest outcomes.

A client's mistake is an ``invalid_argument`` that names the field (never our ``provider_unavailable``),
and a generation answers ``generated`` exactly once per invoice however many calls race for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_invoices.domain.models import InvoiceFilter
from mcp_invoices.principal import Scope
from mcp_invoices.server.results import encode_cursor
from tests.faults.conftest import ANSWER_BOUND, BYSTANDER_BOUND, Sessions, sessions, while_bystanding
from tests.results import error_of

ALICE = Scope("local", "cus_alice")
ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}


async def refused(session: Sessions, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    outcome = await while_bystanding(session, lambda: session.victim.call_tool(tool, arguments))
    assert outcome.elapsed < ANSWER_BOUND and max(outcome.bystander) < BYSTANDER_BOUND
    error = error_of(outcome.result)
    assert error["code"] == "invalid_argument", error
    return error


async def order_invoice_state(session: Sessions, order_id: str) -> str:
    rows = (await session.victim.call_tool("list_orders", {"limit": 100})).structured_content
    assert rows is not None
    return next(row["invoice"] for row in rows["orders"] if row["id"] == order_id)


@pytest.mark.parametrize(
    ("field", "address", "name"),
    [
        ("billing_address.city", {**ADDRESS, "city": "x" * 1_000_000}, None),
        ("billing_address.country", {**ADDRESS, "country": "U\u0000"}, None),
        ("billing_address.country", {**ADDRESS, "country": "QQ"}, None),
        ("billing_address.line1", {**ADDRESS, "line1": "1 Main St\nBcc: x"}, None),
        ("billing_address.line1", {**ADDRESS, "line1": "   "}, None),
        ("billing_address.postal_code", {**ADDRESS, "postal_code": "1" * 21}, None),
        ("billing_name", ADDRESS, "Alice\u202eCorp"),
        ("billing_name", ADDRESS, "n" * 201),
    ],
    ids=[
        "1-mb-city",
        "nul-in-country",
        "unknown-country",
        "newline",
        "blank-line1",
        "long-postcode",
        "bidi-override",
        "long-name",
    ],
)
async def test_bad_billing_input_is_an_invalid_argument_naming_the_field_and_issues_nothing(
    ledger_copy: Path, field: str, address: dict[str, str], name: str | None
) -> None:
    arguments: dict[str, Any] = {"order_id": "ord_1005", "billing_address": address}
    if name is not None:
        arguments["billing_name"] = name
    async with sessions(ledger_copy, "local", None, ALICE) as session:
        error = await refused(session, "generate_invoice", arguments)
        assert field in error["message"]
        assert await order_invoice_state(session, "ord_1005") == "none"


async def test_a_lower_case_country_code_is_read_as_the_code(ledger_copy: Path) -> None:
    async with sessions(ledger_copy, "local", None, ALICE) as session:
        result = await session.victim.call_tool(
            "generate_invoice", {"order_id": "ord_1005", "billing_address": {**ADDRESS, "country": "de"}}
        )
    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert result.structured_content["billing"]["address"]["country"] == "DE"


async def test_eight_concurrent_generations_of_one_order_answer_generated_exactly_once(
    ledger_copy: Path,
) -> None:
    outcomes: list[str] = []
    numbers: set[str] = set()
    async with sessions(ledger_copy, "local", None, ALICE) as session:

        async def generate() -> None:
            result = await session.victim.call_tool("generate_invoice", {"order_id": "ord_1003"})
            assert result.structured_content is not None, result.content
            outcomes.append(result.structured_content["outcome"])
            numbers.add(result.structured_content["number"])

        async with anyio.create_task_group() as group:
            for _ in range(8):
                group.start_soon(generate)
    assert sorted(outcomes) == ["already_generated"] * 7 + ["generated"]
    assert len(numbers) == 1


@pytest.mark.parametrize(
    ("tool", "arguments", "field"),
    [
        ("list_invoices", {"cursor": "²"}, "cursor"),
        ("list_invoices", {"cursor": "9" * 30}, "cursor"),
        ("list_invoices", {"cursor": "c" * 5000}, "cursor"),
        ("list_orders", {"cursor": "abc\ud800"}, "cursor"),
        ("list_invoices", {"limit": "5"}, "limit"),
        ("list_invoices", {"limit": True}, "limit"),
        ("generate_invoice", {"order_id": "ord_1003", "wait": "yes"}, "wait"),
        ("get_invoice", {"invoice_id": "x" * 70_000}, "invoice_id"),
        ("get_invoice", {"invoice_id": "ord\ud800"}, "invoice_id"),
        ("generate_invoice", {"order_id": ""}, "order_id"),
        ("list_invoices", {"issued_after": "2026-05-01", "issued_before": "2026-04-01"}, "issued_after"),
        (
            "summarize_invoices",
            {"issued_after": "2026-05-01", "issued_before": "2026-04-01"},
            "issued_before",
        ),
    ],
    ids=[
        "superscript-two",
        "thirty-nines",
        "5-kb",
        "lone-surrogate",
        "limit-string",
        "limit-bool",
        "wait-string",
        "70-kb-id",
        "surrogate-id",
        "empty-order",
        "dates-reversed",
        "summary-dates-reversed",
    ],
)
async def test_abusive_ids_cursors_and_arguments_are_invalid_arguments_naming_the_field(
    ledger_copy: Path, tool: str, arguments: dict[str, Any], field: str
) -> None:
    async with sessions(ledger_copy, "local", None, ALICE) as session:
        error = await refused(session, tool, arguments)
    assert field in error["message"]


@pytest.mark.parametrize("position", ["2026-01-01|²", "2026-01-01|" + "9" * 30, "2026-01-01|-1", "x|1"])
async def test_a_forged_cursor_with_a_bad_position_is_an_invalid_argument(
    ledger_copy: Path, position: str
) -> None:
    listing = {"tool": "list_invoices", "provider": "local", **InvoiceFilter().model_dump(mode="json")}
    async with sessions(ledger_copy, "local", None, ALICE) as session:
        error = await refused(session, "list_invoices", {"cursor": encode_cursor(listing, position)})
    assert "cursor" in error["message"]
