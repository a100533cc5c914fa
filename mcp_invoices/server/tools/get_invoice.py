"""get_invoice: one invoice in full; also the text and view data of any tool that returns an invoice."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from mcp_types import CallToolResult

from mcp_invoices.domain.breakdown import breakdown_of
from mcp_invoices.domain.models import Invoice
from mcp_invoices.domain.money import format_money
from mcp_invoices.providers.base import InvoiceProvider
from mcp_invoices.server.arguments import INVOICE_ID, PROVIDER, ProviderId
from mcp_invoices.server.calls import CurrentCall
from mcp_invoices.server.inputs import ObjectId
from mcp_invoices.server.results import invoice_links, structured_result
from mcp_invoices.server.tools.tool import Tool
from mcp_invoices.views import VIEW_DATA_KEY, invoice_view_data

__all__ = ["TOOL", "get_invoice", "invoice_meta", "invoice_text"]


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


async def get_invoice(
    call: CurrentCall,
    invoice_id: ObjectId = INVOICE_ID,
    provider: ProviderId | None = PROVIDER,
) -> Annotated[CallToolResult, Invoice]:
    scope, source = call.provider(provider)
    invoice = await source.get_invoice(scope, invoice_id)
    meta = await invoice_meta(source, invoice)
    return structured_result(invoice, invoice_text(invoice), invoice_links(invoice), meta)


TOOL = Tool(
    name="get_invoice",
    title="Get an invoice",
    description="One invoice in full: status, dates, customer, billing, line items and amounts, with "
    "resource links to its JSON and PDF documents.",
    effect="read",
    handler=get_invoice,
    view=True,
)
