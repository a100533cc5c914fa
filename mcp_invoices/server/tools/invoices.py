"""Reading invoices: list, get, summarise one, summarise all."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from mcp_types import CallToolResult
from pydantic import BaseModel, ConfigDict, Field

from mcp_invoices.domain.breakdown import breakdown_of
from mcp_invoices.domain.models import Invoice, InvoiceFilter, InvoiceRow
from mcp_invoices.domain.money import format_money
from mcp_invoices.domain.summary import InvoicesSummary, InvoiceSummary, no_due_dates_note, with_note
from mcp_invoices.domain.summary import summarize_invoice as summarize_one
from mcp_invoices.providers.base import InvoiceProvider
from mcp_invoices.server.arguments import (
    CURSOR,
    DUE_AFTER,
    DUE_BEFORE,
    INVOICE_ID,
    ISSUED_AFTER,
    ISSUED_BEFORE,
    LIMIT,
    OVERDUE,
    PROVIDER,
    STATUS,
    ProviderId,
    StatusName,
    invoice_filter,
)
from mcp_invoices.server.calls import CurrentCall
from mcp_invoices.server.inputs import Cursor, Limit, ObjectId
from mcp_invoices.server.results import decode_cursor, encode_cursor, invoice_links, structured_result
from mcp_invoices.views import VIEW_DATA_KEY, invoice_view_data

__all__ = [
    "ListInvoicesResult",
    "list_invoices",
    "get_invoice",
    "summarize_invoice",
    "summarize_invoices",
    "invoice_text",
]


class ListInvoicesResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoices: list[InvoiceRow]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last page.")
    note: str | None = Field(
        default=None,
        description="Something to know about this listing, e.g. that the provider states no due dates.",
    )


async def invoice_meta(source: InvoiceProvider, invoice: Invoice) -> dict[str, Any]:
    """The result ``_meta`` of a tool that returns an invoice: what its view prints beyond the data."""
    return {VIEW_DATA_KEY: invoice_view_data(invoice, await source.seller(invoice))}


def invoice_text(invoice: Invoice) -> str:
    """One line a person can read: number, status, total (and how it adds up) and what is due."""
    label = invoice.number or f"(pending) for order {invoice.id}"

    def money(amount: Decimal) -> str:
        return format_money(amount, invoice.currency)

    return (
        f"Invoice {label}: {invoice.status.value}, total {money(invoice.total)} "
        f"({breakdown_of(invoice).equation(money)}), due {money(invoice.amount_due)}."
    )


async def list_invoices(
    call: CurrentCall,
    provider: ProviderId | None = PROVIDER,
    status: StatusName | None = STATUS,
    issued_after: date | None = ISSUED_AFTER,
    issued_before: date | None = ISSUED_BEFORE,
    overdue: bool | None = OVERDUE,
    due_after: date | None = DUE_AFTER,
    due_before: date | None = DUE_BEFORE,
    limit: Limit = LIMIT,
    cursor: Cursor | None = CURSOR,
) -> Annotated[CallToolResult, ListInvoicesResult]:
    scope, source = call.provider(provider)
    query = invoice_filter(status, issued_after, issued_before, overdue, due_after, due_before, call.today)
    listing = {"tool": "list_invoices", "provider": scope.provider, **query.model_dump(mode="json")}
    page = await source.list_invoices(scope, query, limit=limit, cursor=decode_cursor(listing, cursor))
    rows = [invoice.row() for invoice in page.items]
    note = None
    if not source.info.states_due_dates and _asks_about_due_dates(query):
        note = no_due_dates_note(source.info.display_name)
    result = ListInvoicesResult(
        invoices=rows, next_cursor=encode_cursor(listing, page.next_cursor), note=note
    )
    more = " More are available with next_cursor." if result.next_cursor else ""
    said = f" {note}" if note else ""
    return structured_result(result, f"{len(rows)} invoice(s) from {scope.provider}.{more}{said}")


def _asks_about_due_dates(query: InvoiceFilter) -> bool:
    return query.overdue is not None or query.due_after is not None or query.due_before is not None


async def get_invoice(
    call: CurrentCall,
    invoice_id: ObjectId = INVOICE_ID,
    provider: ProviderId | None = PROVIDER,
) -> Annotated[CallToolResult, Invoice]:
    scope, source = call.provider(provider)
    invoice = await source.get_invoice(scope, invoice_id)
    meta = await invoice_meta(source, invoice)
    return structured_result(invoice, invoice_text(invoice), invoice_links(invoice), meta)


async def summarize_invoice(
    call: CurrentCall,
    invoice_id: ObjectId = INVOICE_ID,
    provider: ProviderId | None = PROVIDER,
) -> Annotated[CallToolResult, InvoiceSummary]:
    scope, source = call.provider(provider)
    invoice = await source.get_invoice(scope, invoice_id)
    summary = summarize_one(invoice, call.today)
    return structured_result(summary, summary.summary, invoice_links(invoice))


async def summarize_invoices(
    call: CurrentCall,
    provider: ProviderId | None = PROVIDER,
    status: StatusName | None = STATUS,
    issued_after: date | None = ISSUED_AFTER,
    issued_before: date | None = ISSUED_BEFORE,
    overdue: bool | None = OVERDUE,
    due_after: date | None = DUE_AFTER,
    due_before: date | None = DUE_BEFORE,
) -> Annotated[CallToolResult, InvoicesSummary]:
    scope, source = call.provider(provider)
    query = invoice_filter(status, issued_after, issued_before, overdue, due_after, due_before, call.today)
    summary = await source.summarize(scope, query, call.today)
    if not source.info.states_due_dates:  # its overdue figures are zero for want of dates, not by fact
        summary = with_note(summary, no_due_dates_note(source.info.display_name))
    return structured_result(summary, summary.summary)
