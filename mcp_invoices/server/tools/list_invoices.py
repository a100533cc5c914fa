"""list_invoices: the session's invoices, one page at a time, filtered."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from mcp_types import CallToolResult
from pydantic import BaseModel, ConfigDict, Field

from mcp_invoices.domain.models import InvoiceFilter, InvoiceRow
from mcp_invoices.domain.summary import no_due_dates_note
from mcp_invoices.server.arguments import (
    CURSOR,
    DUE_AFTER,
    DUE_BEFORE,
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
from mcp_invoices.server.inputs import Cursor, Limit
from mcp_invoices.server.results import decode_cursor, encode_cursor, structured_result
from mcp_invoices.server.tools.tool import Tool

__all__ = ["TOOL", "ListInvoicesResult", "list_invoices"]


class ListInvoicesResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoices: list[InvoiceRow]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last page.")
    note: str | None = Field(
        default=None,
        description="Something to know about this listing, e.g. that the provider states no due dates.",
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


TOOL = Tool(
    name="list_invoices",
    title="List invoices",
    description="List this session's invoices, most recent first, one page at a time. Filter by status, "
    "issue date, due date, or whether they are overdue. Each row links to the invoice as a resource.",
    effect="read",
    handler=list_invoices,
)
