"""The tools with numbers and due-date filters, on the local ledger through the SDK's real client."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from tests.conftest import local_client
from tests.results import error_of


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return result.structured_content


def is_overdue(row: dict[str, Any], today: date) -> bool:
    return (
        row["status"] in ("open", "partially_paid")
        and Decimal(row["amount_due"]) > 0
        and row["due_at"] is not None
        and date.fromisoformat(row["due_at"]) < today
    )


async def test_overdue_true_lists_exactly_the_overdue_invoices_and_false_the_rest(ledger_path: Path) -> None:
    today = datetime.now(UTC).date()
    async with local_client(ledger_path, None) as client:
        every = structured(await client.call_tool("list_invoices", {"limit": 100}))["invoices"]
        late = structured(await client.call_tool("list_invoices", {"limit": 100, "overdue": True}))
        current = structured(await client.call_tool("list_invoices", {"limit": 100, "overdue": False}))
    assert late["invoices"], "the sample ledger has overdue invoices"
    assert [row["id"] for row in late["invoices"]] == [row["id"] for row in every if is_overdue(row, today)]
    assert [row["id"] for row in current["invoices"]] == [
        row["id"] for row in every if not is_overdue(row, today)
    ]
    assert late["note"] is None  # the ledger states due dates


async def test_the_overdue_summary_covers_what_the_overdue_listing_shows(ledger_path: Path) -> None:
    async with local_client(ledger_path, None) as client:
        rows = structured(await client.call_tool("list_invoices", {"limit": 100, "overdue": True}))[
            "invoices"
        ]
        summary = structured(await client.call_tool("summarize_invoices", {"overdue": True}))
    assert summary["count"] == len(rows)
    due = {c["currency"]: Decimal(c["overdue"]) for c in summary["currencies"]}
    for currency, overdue in due.items():
        assert overdue == sum(Decimal(r["amount_due"]) for r in rows if r["currency"] == currency)


async def test_due_date_bounds_list_invoices_due_within_them(ledger_path: Path) -> None:
    async with local_client(ledger_path, None) as client:
        every = structured(await client.call_tool("list_invoices", {"limit": 100}))["invoices"]
        days = sorted(row["due_at"] for row in every)
        after, before = days[1], days[-2]
        rows = structured(
            await client.call_tool("list_invoices", {"limit": 100, "due_after": after, "due_before": before})
        )["invoices"]
    assert [row["id"] for row in rows] == [row["id"] for row in every if after <= row["due_at"] <= before]


async def test_a_cursor_stays_bound_to_the_overdue_and_due_date_filters(ledger_path: Path) -> None:
    async with local_client(ledger_path, None) as client:
        page = structured(await client.call_tool("list_invoices", {"limit": 1, "overdue": False}))
        assert page["next_cursor"]
        for changed in ({"overdue": True}, {}, {"overdue": False, "due_before": "2100-01-01"}):
            error = error_of(
                await client.call_tool(
                    "list_invoices", {"limit": 1, "cursor": page["next_cursor"], **changed}
                )
            )
            assert error["code"] == "invalid_argument"
        same = structured(
            await client.call_tool(
                "list_invoices", {"limit": 1, "overdue": False, "cursor": page["next_cursor"]}
            )
        )
    assert same["invoices"] and same["invoices"][0]["id"] != page["invoices"][0]["id"]


@pytest.mark.parametrize("tool", ["list_invoices", "summarize_invoices"])
async def test_due_after_later_than_due_before_is_an_invalid_argument_saying_why(
    ledger_path: Path, tool: str
) -> None:
    async with local_client(ledger_path) as client:
        error = error_of(
            await client.call_tool(tool, {"due_after": "2026-07-01", "due_before": "2026-06-01"})
        )
    assert error["code"] == "invalid_argument" and "due_before" in error["message"] and error["hint"]


@pytest.mark.parametrize("tool", ["get_invoice", "summarize_invoice"])
async def test_invoice_tools_take_the_printed_number_in_any_case(ledger_path: Path, tool: str) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        number = structured(await client.call_tool("get_invoice", {"invoice_id": "ord_1001"}))["number"]
        found = structured(await client.call_tool(tool, {"invoice_id": number.lower()}))
    assert "ord_1001" in (found.get("id"), found.get("invoice_id"))


async def test_resources_take_the_printed_number(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        number = structured(await client.call_tool("get_invoice", {"invoice_id": "ord_1001"}))["number"]
        as_json = await client.read_resource(f"invoice://local/{number.lower()}")
        as_pdf = await client.read_resource(f"invoice://local/{number}/pdf")
        with pytest.raises(MCPError):
            await client.read_resource("invoice://local/inv-1999-0001")
    assert '"ord_1001"' in as_json.contents[0].text  # type: ignore[union-attr]
    assert as_pdf.contents
