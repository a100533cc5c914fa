"""compare_invoices: why one invoice differs from another (the MCP side of ``domain.compare``)."""

from __future__ import annotations

from typing import Annotated

from mcp_types import CallToolResult
from pydantic import Field

from mcp_invoices.domain.compare import InvoiceComparison
from mcp_invoices.domain.compare import compare_invoices as compare
from mcp_invoices.domain.errors import NotFound
from mcp_invoices.server.arguments import INVOICE_ID, PROVIDER, ProviderId
from mcp_invoices.server.calls import CurrentCall
from mcp_invoices.server.inputs import ObjectId
from mcp_invoices.server.results import structured_result
from mcp_invoices.server.tools.tool import Tool

__all__ = ["TOOL", "compare_invoices"]


async def compare_invoices(
    call: CurrentCall,
    invoice_id: ObjectId = INVOICE_ID,
    other_invoice_id: ObjectId | None = Field(
        default=None,
        description="The invoice to compare with (before). Default: this session's invoice issued just before "
        "invoice_id, same provider and currency.",
    ),
    provider: ProviderId | None = PROVIDER,
) -> Annotated[CallToolResult, InvoiceComparison]:
    scope, source = call.provider(provider)
    invoice = await source.get_invoice(scope, invoice_id)
    if other_invoice_id is not None:
        other = await source.get_invoice(scope, other_invoice_id)
    else:
        previous = await source.previous_invoice(scope, invoice)
        if previous is None:
            raise NotFound(
                f"No {invoice.currency} invoice of this session was issued before {invoice.number or invoice.id}.",
                hint="Pass other_invoice_id to choose the invoice to compare with (see list_invoices).",
            )
        # Read in full: a provider's listing may carry fewer details (Bagisto's has no line items).
        other = await source.get_invoice(scope, previous.id)
    comparison = compare(invoice, other)
    return structured_result(comparison, comparison.summary)


TOOL = Tool(
    name="compare_invoices",
    title="Compare two invoices",
    description="Exactly why one invoice differs from another: subtotal, discount, tax, shipping and total "
    "differences, and each line added, removed or changed (quantity and unit price before and after) "
    "with its difference; the breakdown adds up to the total difference. Without other_invoice_id it "
    "compares with this session's invoice issued just before it in the same currency. The summary is "
    "short enough to quote.",
    effect="read",
    handler=compare_invoices,
    view=True,
)
