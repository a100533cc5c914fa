"""Every tool, resource and error the README documents on the local provider, through the SDK's real client."""

from __future__ import annotations

import base64
import io
import json
from decimal import Decimal
from pathlib import Path

import anyio
import pypdf
import pytest
from mcp.shared.exceptions import MCPError

from tests.conftest import local_client
from tests.results import error_of

PDF_MAGIC = b"%PDF-"


def structured(result) -> dict:
    assert not result.is_error, result.content
    return result.structured_content


# -- list_invoices ---------------------------------------------------------------------------------


async def test_list_invoices_returns_only_the_session_customers_invoices_most_recent_first(
    ledger_path: Path,
) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        rows = structured(await client.call_tool("list_invoices", {}))["invoices"]
    assert {row["id"] for row in rows} == {"ord_1001", "ord_1002"}
    assert [row["issued_at"] for row in rows] == sorted((row["issued_at"] for row in rows), reverse=True)


async def test_list_invoices_rows_are_compact_with_decimal_string_amounts_and_a_resource_uri(
    ledger_path: Path,
) -> None:
    async with local_client(ledger_path, "cus_hana") as client:
        rows = structured(await client.call_tool("list_invoices", {}))["invoices"]
    row = next(row for row in rows if row["id"] == "ord_3001")
    assert set(row) == {
        "id",
        "number",
        "status",
        "issued_at",
        "due_at",
        "currency",
        "total",
        "amount_due",
        "uri",
    }
    assert row["currency"] == "JPY" and row["total"] == "113500" and row["amount_due"] == "0"
    assert row["uri"] == "invoice://local/ord_3001"


async def test_list_invoices_filters_by_status(ledger_path: Path) -> None:
    async with local_client(ledger_path, None) as client:
        rows = structured(await client.call_tool("list_invoices", {"status": "open"}))["invoices"]
    assert rows and all(row["status"] == "open" for row in rows)


async def test_list_invoices_filters_by_issue_dates(ledger_path: Path) -> None:
    async with local_client(ledger_path, None) as client:
        every = structured(await client.call_tool("list_invoices", {"limit": 100}))["invoices"]
        middle = sorted(row["issued_at"] for row in every)[len(every) // 2]
        after = structured(await client.call_tool("list_invoices", {"issued_after": middle}))["invoices"]
        before = structured(await client.call_tool("list_invoices", {"issued_before": middle}))["invoices"]
    assert all(row["issued_at"] >= middle for row in after)
    assert all(row["issued_at"] <= middle for row in before)
    assert len(after) + len(before) == len(every) + 1  # the middle one is in both


async def test_list_invoices_pages_with_an_opaque_cursor_through_every_invoice_once(
    ledger_path: Path,
) -> None:
    async with local_client(ledger_path, None) as client:
        seen, cursor = [], None
        for _ in range(20):  # bounded: the owner has fewer than 20 invoices
            arguments = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = structured(await client.call_tool("list_invoices", arguments))
            seen += [row["id"] for row in page["invoices"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        every = structured(await client.call_tool("list_invoices", {"limit": 100}))["invoices"]
    assert seen == [row["id"] for row in every]


async def test_a_cursor_from_other_filters_is_an_invalid_argument(ledger_path: Path) -> None:
    async with local_client(ledger_path, None) as client:
        page = structured(await client.call_tool("list_invoices", {"limit": 1}))
        error = error_of(
            await client.call_tool(
                "list_invoices", {"limit": 1, "status": "paid", "cursor": page["next_cursor"]}
            )
        )
    assert error["code"] == "invalid_argument"


async def test_a_malformed_cursor_is_an_invalid_argument(ledger_path: Path) -> None:
    async with local_client(ledger_path) as client:
        error = error_of(await client.call_tool("list_invoices", {"cursor": "not-a-cursor!"}))
    assert error["code"] == "invalid_argument" and "hint" in error


@pytest.mark.parametrize("limit", [0, 101])
async def test_limit_outside_1_to_100_is_an_invalid_argument(ledger_path: Path, limit: int) -> None:
    async with local_client(ledger_path) as client:
        error = error_of(await client.call_tool("list_invoices", {"limit": limit}))
    assert error["code"] == "invalid_argument" and "limit" in error["message"]


async def test_a_malformed_date_is_an_invalid_argument_naming_the_field(ledger_path: Path) -> None:
    async with local_client(ledger_path) as client:
        error = error_of(await client.call_tool("list_invoices", {"issued_after": "last march"}))
    assert error["code"] == "invalid_argument" and "issued_after" in error["message"]
    assert "last march" not in error["message"]  # values sent are not echoed back


async def test_a_customer_argument_is_refused_because_the_session_decides_the_customer(
    ledger_path: Path,
) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        error = error_of(await client.call_tool("list_invoices", {"customer_id": "cus_bob"}))
    assert error["code"] == "invalid_argument" and "session" in error["hint"]


async def test_an_unknown_provider_is_an_invalid_argument_listing_the_enabled_ones(ledger_path: Path) -> None:
    async with local_client(ledger_path) as client:
        error = error_of(await client.call_tool("list_invoices", {"provider": "polar"}))
    assert error["code"] == "invalid_argument" and "local" in error["hint"]


async def test_provider_may_be_named_explicitly(ledger_path: Path) -> None:
    async with local_client(ledger_path) as client:
        rows = structured(await client.call_tool("list_invoices", {"provider": "local"}))["invoices"]
    assert rows


# -- list_orders -----------------------------------------------------------------------------------


async def test_list_orders_shows_invoice_state_and_billing_completeness(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        orders = {row["id"]: row for row in structured(await client.call_tool("list_orders", {}))["orders"]}
    assert set(orders) == {"ord_1001", "ord_1002", "ord_1003", "ord_1004", "ord_1005"}
    assert orders["ord_1001"]["invoice"] == "generated"
    assert orders["ord_1003"]["invoice"] == "none" and orders["ord_1003"]["paid"] is True
    assert orders["ord_1005"]["billing_complete"] is False
    assert orders["ord_1004"]["paid"] is False


async def test_list_orders_pages_with_a_cursor(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        first = structured(await client.call_tool("list_orders", {"limit": 3}))
        second = structured(
            await client.call_tool("list_orders", {"limit": 3, "cursor": first["next_cursor"]})
        )
    ids = [row["id"] for row in first["orders"] + second["orders"]]
    assert len(ids) == len(set(ids)) == 5 and second["next_cursor"] is None


# -- get_invoice -----------------------------------------------------------------------------------


async def test_get_invoice_returns_the_normalized_invoice_with_links_to_its_documents(
    ledger_path: Path,
) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        result = await client.call_tool("get_invoice", {"invoice_id": "ord_1002"})
    invoice = structured(result)
    assert invoice["provider"] == "local" and invoice["id"] == "ord_1002" and invoice["status"] == "open"
    assert invoice["documents"] == {
        "json_uri": "invoice://local/ord_1002",
        "pdf_uri": "invoice://local/ord_1002/pdf",
        "url": None,
    }
    # MCP_INVOICES_DOCUMENT_LINKS=text (default): no resource_link blocks, the URIs named in text.
    assert [block.type for block in result.content] == ["text", "text"]
    documents = result.content[1].text
    assert documents.startswith("Documents (read with resources/read): Invoice ")
    assert "(JSON): invoice://local/ord_1002;" in documents and documents.endswith(
        "(PDF): invoice://local/ord_1002/pdf"
    )


async def test_with_resource_link_document_links_get_invoice_adds_resource_link_blocks(
    ledger_path: Path,
) -> None:
    settings = {"MCP_INVOICES_DOCUMENT_LINKS": "resource_link"}
    async with local_client(ledger_path, "cus_alice", settings) as client:
        result = await client.call_tool("get_invoice", {"invoice_id": "ord_1002"})
    links = {block.uri: block.mime_type for block in result.content if block.type == "resource_link"}
    assert links == {
        "invoice://local/ord_1002": "application/json",
        "invoice://local/ord_1002/pdf": "application/pdf",
    }
    assert structured(result)["id"] == "ord_1002"


async def test_invoice_amounts_add_up_exactly(ledger_path: Path) -> None:
    async with local_client(ledger_path, None) as client:
        rows = structured(await client.call_tool("list_invoices", {"limit": 100}))["invoices"]
        for row in rows:
            invoice = structured(await client.call_tool("get_invoice", {"invoice_id": row["id"]}))
            amounts = {
                key: Decimal(invoice[key]) for key in ("subtotal", "discount", "tax", "shipping", "total")
            }
            assert (
                amounts["subtotal"] - amounts["discount"] + amounts["tax"] + amounts["shipping"]
                == amounts["total"]
            )
            assert (
                sum(Decimal(line["total"]) for line in invoice["line_items"]) + amounts["shipping"]
                == amounts["total"]
            )
            if invoice["status"] in ("open", "partially_paid", "paid"):
                assert Decimal(invoice["amount_paid"]) + Decimal(invoice["amount_due"]) == amounts["total"]


async def test_jpy_amounts_have_no_decimals(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_hana") as client:
        invoice = structured(await client.call_tool("get_invoice", {"invoice_id": "ord_3002"}))
    assert invoice["currency"] == "JPY"
    for key in ("subtotal", "discount", "tax", "shipping", "total", "amount_paid", "amount_due"):
        assert "." not in invoice[key]


# -- generate_invoice ------------------------------------------------------------------------------


async def test_generate_invoice_issues_the_next_number_and_reports_progress(ledger_path: Path) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with local_client(ledger_path, "cus_alice") as client:
        before = structured(await client.call_tool("list_invoices", {}))["invoices"]
        result = await client.call_tool(
            "generate_invoice", {"order_id": "ord_1003"}, progress_callback=on_progress
        )
    invoice = structured(result)
    assert invoice["outcome"] == "generated" and invoice["status"] == "paid"
    assert invoice["number"] == "INV-{}-{:04d}".format(invoice["issued_at"][:4], 8)
    assert len(before) == 2
    assert progress and progress[-1][0] == progress[-1][1]
    assert any(block.type == "text" and "/pdf" in block.text for block in result.content[1:])


async def test_generating_twice_returns_the_same_invoice_and_never_a_second_one(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        first = structured(await client.call_tool("generate_invoice", {"order_id": "ord_1003"}))
        second = structured(await client.call_tool("generate_invoice", {"order_id": "ord_1003"}))
        rows = structured(await client.call_tool("list_invoices", {}))["invoices"]
    assert second["outcome"] == "already_generated"
    assert second["number"] == first["number"]
    assert [row["id"] for row in rows].count("ord_1003") == 1


async def test_concurrent_generate_calls_for_one_order_produce_one_invoice(ledger_path: Path) -> None:
    numbers: list[str] = []
    async with local_client(ledger_path, "cus_alice") as client:

        async def generate() -> None:
            numbers.append(
                structured(await client.call_tool("generate_invoice", {"order_id": "ord_1003"}))["number"]
            )

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(generate)
        rows = structured(await client.call_tool("list_invoices", {"limit": 100}))["invoices"]
    assert len(set(numbers)) == 1
    assert [row["id"] for row in rows].count("ord_1003") == 1


async def test_generating_an_unpaid_order_is_not_paid(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        error = error_of(await client.call_tool("generate_invoice", {"order_id": "ord_1004"}))
    assert error["code"] == "not_paid" and error["hint"]


async def test_generating_without_billing_details_is_missing_billing_details(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        error = error_of(await client.call_tool("generate_invoice", {"order_id": "ord_1005"}))
    assert error["code"] == "missing_billing_details" and "billing_address" in error["hint"]


async def test_billing_details_given_with_the_call_complete_the_order_and_appear_on_the_invoice(
    ledger_path: Path,
) -> None:
    address = {"line1": "9 Rue Oberkampf", "postal_code": "75011", "city": "Paris", "country": "FR"}
    async with local_client(ledger_path, "cus_alice") as client:
        invoice = structured(
            await client.call_tool(
                "generate_invoice",
                {"order_id": "ord_1005", "billing_name": "Alice Martin SARL", "billing_address": address},
            )
        )
    assert invoice["billing"]["name"] == "Alice Martin SARL"
    assert invoice["billing"]["address"]["city"] == "Paris"


async def test_a_billing_address_without_country_is_an_invalid_argument(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        error = error_of(
            await client.call_tool(
                "generate_invoice", {"order_id": "ord_1005", "billing_address": {"line1": "x"}}
            )
        )
    assert error["code"] == "invalid_argument" and "country" in error["message"]


async def test_generating_a_void_order_is_an_invalid_argument(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_bob") as client:
        error = error_of(await client.call_tool("generate_invoice", {"order_id": "ord_2004"}))
    assert error["code"] == "invalid_argument"


# -- summaries -------------------------------------------------------------------------------------


async def test_summarize_invoice_gives_a_short_text_and_key_facts(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        summary = structured(await client.call_tool("summarize_invoice", {"invoice_id": "ord_1002"}))
    assert summary["overdue"] is True and summary["days_overdue"] > 0
    assert "INV-" in summary["summary"] and len(summary["summary"]) < 400
    assert summary["amount_due"] == "1210.70"


async def test_summarize_invoices_aggregates_all_matching_invoices_per_currency(ledger_path: Path) -> None:
    async with local_client(ledger_path, None) as client:
        summary = structured(await client.call_tool("summarize_invoices", {}))
        rows = structured(await client.call_tool("list_invoices", {"limit": 100}))["invoices"]
    assert summary["count"] == len(rows)
    assert {entry["currency"] for entry in summary["currencies"]} == {"USD", "EUR", "JPY"}
    assert sum(entry["count"] for entry in summary["by_status"]) == len(rows)
    assert summary["oldest_unpaid"]["invoice_id"] == "ord_2002"


async def test_summarize_invoices_covers_every_page_not_just_the_first(ledger_path: Path) -> None:
    async with local_client(ledger_path, None) as client:
        for order in ("ord_1003", "ord_2003", "ord_3003"):
            structured(await client.call_tool("generate_invoice", {"order_id": order}))
        summary = structured(await client.call_tool("summarize_invoices", {}))
    assert summary["count"] == 10


async def test_summarize_invoices_respects_filters(ledger_path: Path) -> None:
    async with local_client(ledger_path, None) as client:
        summary = structured(await client.call_tool("summarize_invoices", {"status": "paid"}))
    assert [entry["status"] for entry in summary["by_status"]] == ["paid"]


# -- resources -------------------------------------------------------------------------------------


async def test_resources_list_shows_only_the_sessions_invoices(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_bob") as client:
        resources = (await client.list_resources()).resources
    assert {resource.uri for resource in resources} == {
        "invoice://local/ord_2001",
        "invoice://local/ord_2002",
    }
    assert all(resource.mime_type == "application/json" for resource in resources)


async def test_resource_templates_are_the_json_and_pdf_documents(ledger_path: Path) -> None:
    async with local_client(ledger_path) as client:
        templates = {
            t.uri_template: t.mime_type for t in (await client.list_resource_templates()).resource_templates
        }
    assert templates == {
        "invoice://{provider}/{invoice_id}": "application/json",
        "invoice://{provider}/{invoice_id}/pdf": "application/pdf",
    }


async def test_reading_the_json_resource_gives_the_normalized_invoice(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        contents = (await client.read_resource("invoice://local/ord_1001")).contents[0]
        via_tool = structured(await client.call_tool("get_invoice", {"invoice_id": "ord_1001"}))
    assert contents.mime_type == "application/json"
    assert json.loads(contents.text) == via_tool


async def test_reading_the_pdf_resource_gives_a_pdf_with_the_number_and_totals(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        contents = (await client.read_resource("invoice://local/ord_1002/pdf")).contents[0]
    pdf = base64.b64decode(contents.blob)
    assert contents.mime_type == "application/pdf" and pdf.startswith(PDF_MAGIC)
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "INV-2026-0004" in text or "INV-" in text
    assert "1,210.70" in text


async def test_reading_another_customers_invoice_is_the_same_error_as_a_missing_one(
    ledger_path: Path,
) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        with pytest.raises(MCPError) as theirs:
            await client.read_resource("invoice://local/ord_2001")
        with pytest.raises(MCPError) as missing:
            await client.read_resource("invoice://local/ord_9999")
    assert theirs.value.error.code == missing.value.error.code
    assert str(theirs.value).replace("ord_2001", "X") == str(missing.value).replace("ord_9999", "X")


# -- scope: not yours == not there -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "argument"),
    [
        ("get_invoice", "invoice_id"),
        ("summarize_invoice", "invoice_id"),
        ("generate_invoice", "order_id"),
    ],
)
async def test_another_customers_object_is_exactly_the_not_found_of_a_missing_one(
    ledger_path: Path, tool: str, argument: str
) -> None:
    theirs = "ord_2001"  # Bob's, invoiced
    missing = "ord_2999"
    async with local_client(ledger_path, "cus_alice") as client:
        error_theirs = error_of(await client.call_tool(tool, {argument: theirs}))
        error_missing = error_of(await client.call_tool(tool, {argument: missing}))
    assert error_theirs["code"] == error_missing["code"] == "not_found"
    assert {k: v.replace(theirs, "X") for k, v in error_theirs.items()} == {
        k: v.replace(missing, "X") for k, v in error_missing.items()
    }


async def test_the_ledger_owner_sees_every_customers_invoices(ledger_path: Path) -> None:
    async with local_client(ledger_path, None) as client:
        rows = structured(await client.call_tool("list_invoices", {"limit": 100}))["invoices"]
    assert {row["id"][:5] for row in rows} == {"ord_1", "ord_2", "ord_3"}


async def test_a_customer_summary_never_counts_other_customers(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        summary = structured(await client.call_tool("summarize_invoices", {}))
    assert summary["count"] == 2 and [entry["currency"] for entry in summary["currencies"]] == ["USD"]


# -- prompt ----------------------------------------------------------------------------------------


async def test_the_explain_invoice_prompt_names_the_invoice_and_the_tools_to_use(ledger_path: Path) -> None:
    async with local_client(ledger_path) as client:
        prompt = await client.get_prompt("explain_invoice", {"invoice_id": "ord_1002"})
    text = prompt.messages[0].content.text
    assert "ord_1002" in text and "get_invoice" in text
