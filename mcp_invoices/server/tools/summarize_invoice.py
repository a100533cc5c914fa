"""summarize_invoice: one invoice's key facts, short enough to quote."""

from __future__ import annotations

from typing import Annotated

from mcp_types import CallToolResult

from mcp_invoices.domain.summary import InvoiceSummary
from mcp_invoices.domain.summary import summarize_invoice as summarize_one
from mcp_invoices.server.arguments import INVOICE_ID, PROVIDER, ProviderId
from mcp_invoices.server.calls import CurrentCall
from mcp_invoices.server.inputs import ObjectId
from mcp_invoices.server.results import invoice_links, structured_result
from mcp_invoices.server.tools.tool import Tool

__all__ = ["TOOL", "summarize_invoice"]


async def summarize_invoice(
    call: CurrentCall,
    invoice_id: ObjectId = INVOICE_ID,
    provider: ProviderId | None = PROVIDER,
) -> Annotated[CallToolResult, InvoiceSummary]:
    scope, source = call.provider(provider)
    invoice = await source.get_invoice(scope, invoice_id)
    summary = summarize_one(invoice, call.today)
    return structured_result(summary, summary.summary, invoice_links(invoice))


TOOL = Tool(
    name="summarize_invoice",
    title="Summarise an invoice",
    description="A short plain-language summary of one invoice with its key facts (amounts, dates, "
    "whether and how long it is overdue), small enough to quote in a chat.",
    effect="read",
    handler=summarize_invoice,
)
