"""summarize_invoices: aggregates over all of the session's matching invoices."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from mcp_types import CallToolResult

from mcp_invoices.domain.summary import InvoicesSummary, no_due_dates_note, with_note
from mcp_invoices.server.arguments import (
    DUE_AFTER,
    DUE_BEFORE,
    ISSUED_AFTER,
    ISSUED_BEFORE,
    OVERDUE,
    PROVIDER,
    STATUS,
    ProviderId,
    StatusName,
    invoice_filter,
)
from mcp_invoices.server.calls import CurrentCall
from mcp_invoices.server.results import structured_result
from mcp_invoices.server.tools.tool import Tool

__all__ = ["TOOL", "summarize_invoices"]


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


TOOL = Tool(
    name="summarize_invoices",
    title="Summarise invoices",
    description="Aggregates over ALL of this session's matching invoices (not one page): count, totals per "
    "currency for total / paid / due / overdue, counts by status, ageing of what is due, and the oldest "
    "unpaid invoice. Filters as in list_invoices.",
    effect="read",
    handler=summarize_invoices,
    view=True,
)
