"""Orders and generating their invoices (providers that generate invoices from orders)."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp_types import CallToolResult
from pydantic import BaseModel, ConfigDict, Field

from mcp_invoices.domain.errors import NotFound
from mcp_invoices.domain.models import (
    Billing,
    Customer,
    Documents,
    Invoice,
    InvoiceStatus,
    LineItem,
    Order,
    OrderRow,
)
from mcp_invoices.domain.money import ZERO
from mcp_invoices.principal import Scope
from mcp_invoices.providers.base import InvoiceProvider, json_uri, pdf_uri
from mcp_invoices.server.arguments import CURSOR, LIMIT, PROVIDER, ProviderId
from mcp_invoices.server.calls import CurrentCall
from mcp_invoices.server.elicit import AskedDecision
from mcp_invoices.server.results import decode_cursor, encode_cursor, invoice_links, structured_result
from mcp_invoices.server.tools.invoices import invoice_text

__all__ = ["ListOrdersResult", "GeneratedInvoice", "BillingAddressInput", "list_orders", "generate_invoice"]


class ListOrdersResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    orders: list[OrderRow]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last page.")


Outcome = Literal["generated", "already_generated", "pending", "declined"]


class GeneratedInvoice(Invoice):
    """The invoice, plus how the call went."""

    outcome: Outcome = Field(
        description="declined: the person declined when asked and nothing was generated; the invoice shown is "
        "the draft that would have been issued (status draft, no number)."
    )
    next_step: str | None = Field(
        default=None,
        description="What to do next when the invoice is still pending at the provider, or was declined.",
    )


class BillingAddressInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line1: str = Field(description="Street and number")
    line2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str = Field(description="ISO 3166-1 alpha-2 country code, e.g. US, DE, JP", min_length=2, max_length=2)


async def list_orders(
    call: CurrentCall,
    provider: ProviderId | None = PROVIDER,
    limit: int = LIMIT,
    cursor: str | None = CURSOR,
) -> Annotated[CallToolResult, ListOrdersResult]:
    scope, source = call.provider(provider)
    listing = {"tool": "list_orders", "provider": scope.provider}
    page = await source.list_orders(scope, limit=limit, cursor=decode_cursor(listing, cursor))
    result = ListOrdersResult(
        orders=[order.row() for order in page.items], next_cursor=encode_cursor(listing, page.next_cursor)
    )
    more = " More are available with next_cursor." if result.next_cursor else ""
    return structured_result(result, f"{len(result.orders)} order(s) from {scope.provider}.{more}")


async def generate_invoice(
    call: CurrentCall,
    decision: AskedDecision,
    order_id: str = Field(description="The order to invoice, as list_orders returns it."),
    provider: ProviderId | None = PROVIDER,
    billing_name: str | None = Field(
        default=None, min_length=1, max_length=200, description="Name to bill (person or company)."
    ),
    billing_address: BillingAddressInput | None = Field(default=None, description="Address to bill."),
    wait: bool = Field(default=True, description="Wait until the invoice is ready (default true)."),
) -> Annotated[CallToolResult, GeneratedInvoice]:
    scope, source = call.provider(provider)
    if decision.outcome == "declined" and decision.order is not None:
        return _declined(decision.order, decision.billing)
    # The billing to save before generating: what the person entered when asked, else the arguments.
    billing = decision.billing
    # Where the provider cannot generate, it answers not_supported itself, the same for every id:
    # looking the id up first would answer differently for an invoice that exists.
    already = await _existing_invoice(source, scope, order_id) if source.info.generates_invoices else None
    invoice = already or await source.generate_invoice(
        scope, order_id, billing=billing, wait=wait, progress=call.progress
    )
    if invoice.status is InvoiceStatus.PENDING:
        outcome: Outcome = "pending"
        next_step: str | None = (
            f"The provider is still generating it. Call get_invoice with invoice_id {invoice.id!r} in a few seconds."
        )
        text = f"The invoice of order {order_id} is being generated. {next_step}"
    else:
        outcome, next_step = ("already_generated" if already else "generated"), None
        verb = "already had" if already else "now has"
        text = f"Order {order_id} {verb} an invoice. {invoice_text(invoice)}"
    result = GeneratedInvoice(**invoice.model_dump(), outcome=outcome, next_step=next_step)
    return structured_result(result, text, invoice_links(invoice))


def _declined(order: Order, billing: Billing | None) -> CallToolResult:
    """Nothing generated: the draft that would have been issued, so the person sees what they declined."""
    draft = Invoice(
        provider=order.provider,
        id=order.id,
        number=None,
        status=InvoiceStatus.DRAFT,
        currency=order.currency,
        customer=Customer(),
        billing=billing or order.billing,
        line_items=[
            LineItem(
                description=line.description,
                quantity=line.quantity,
                unit_amount=line.unit_amount,
                discount=line.discount,
                tax=line.tax,
                total=line.total,
            )
            for line in order.lines
        ],
        subtotal=order.subtotal,
        discount=order.discount,
        tax=order.tax,
        shipping=order.shipping,
        total=order.total,
        amount_paid=ZERO,
        amount_due=ZERO,
        documents=Documents(
            json_uri=json_uri(order.provider, order.id), pdf_uri=pdf_uri(order.provider, order.id)
        ),
    )
    next_step = "Nothing was generated. Call generate_invoice again when the details are right."
    result = GeneratedInvoice(**draft.model_dump(), outcome="declined", next_step=next_step)
    return structured_result(result, f"Declined: no invoice was generated for order {order.id}. {next_step}")


async def _existing_invoice(provider: InvoiceProvider, scope: Scope, order_id: str) -> Invoice | None:
    """The order's invoice if it already exists, so that generation is never repeated."""
    try:
        invoice: Invoice = await provider.get_invoice(scope, order_id)
    except NotFound:
        return None
    return None if invoice.status is InvoiceStatus.PENDING else invoice
