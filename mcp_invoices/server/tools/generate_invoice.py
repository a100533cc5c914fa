"""generate_invoice: the invoice of an order, asked about first where the client can answer (``server.elicit``)."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp_types import CallToolResult
from pydantic import Field

from mcp_invoices.domain.models import (
    Billing,
    Customer,
    Documents,
    Invoice,
    InvoiceStatus,
    LineItem,
    Order,
)
from mcp_invoices.domain.money import ZERO
from mcp_invoices.providers.base import json_uri, pdf_uri
from mcp_invoices.server.arguments import PROVIDER, ProviderId
from mcp_invoices.server.calls import CurrentCall
from mcp_invoices.server.elicit import AskedDecision
from mcp_invoices.server.inputs import BillingAddressInput, BillingName, ObjectId, Wait
from mcp_invoices.server.results import invoice_links, structured_result
from mcp_invoices.server.tools.get_invoice import invoice_meta, invoice_text
from mcp_invoices.server.tools.tool import Tool

__all__ = ["TOOL", "GeneratedInvoice", "BillingAddressInput", "generate_invoice"]


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


_ORDER_ID = Field(description="The order to invoice, as list_orders returns it.")
_BILLING_NAME = Field(default=None, description="Name to bill (person or company).")
_BILLING_ADDRESS = Field(default=None, description="Address to bill.")
_WAIT = Field(default=True)
"""The description is in ``inputs.Wait``."""


async def generate_invoice(
    call: CurrentCall,
    decision: AskedDecision,
    order_id: ObjectId = _ORDER_ID,
    provider: ProviderId | None = PROVIDER,
    billing_name: BillingName | None = _BILLING_NAME,
    billing_address: BillingAddressInput | None = _BILLING_ADDRESS,
    wait: Wait = _WAIT,
) -> Annotated[CallToolResult, GeneratedInvoice]:
    scope, source = call.provider(provider)
    if decision.outcome == "declined" and decision.order is not None:
        return _declined(decision.order, decision.billing)
    # The billing to save before generating: what the person entered when asked, else the arguments.
    billing = decision.billing
    # The provider decides generated / already_generated where it serializes generation (its
    # transaction or lock); deciding it here first would let concurrent calls all say "generated".
    generation = await source.generate_invoice(
        scope, order_id, billing=billing, wait=wait, progress=call.progress
    )
    invoice = generation.invoice
    outcome: Outcome = generation.outcome
    next_step: str | None = None
    if outcome == "pending":
        next_step = f"The provider is still generating it. Call get_invoice with invoice_id {invoice.id!r} in a few seconds."
        text = f"The invoice of order {order_id} is being generated. {next_step}"
    else:
        verb = "already had" if outcome == "already_generated" else "now has"
        text = f"Order {order_id} {verb} an invoice. {invoice_text(invoice)}"
    # The invoice was validated when it was built: its fields are reused as they are, not dumped and
    # validated a second time.
    result = GeneratedInvoice.model_construct(**dict(invoice), outcome=outcome, next_step=next_step)
    return structured_result(result, text, invoice_links(invoice), await invoice_meta(source, invoice))


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


TOOL = Tool(
    name="generate_invoice",
    title="Generate an invoice",
    description="Generate the invoice of an order (see list_orders). Permanent: an order that already has "
    "an invoice gets that invoice back, never a second one. Billing name and address given here are "
    "saved on the order first. Which orders can be invoiced follows the provider: the local ledger "
    "invoices paid orders only (not_paid otherwise); Polar invoices what Polar accepts, pending orders "
    "included, and draft or void orders are not_supported with Polar's reason. When the client supports "
    "elicitation, missing billing details are asked "
    "for, and the name and address to print are shown for confirmation before issuing; declining "
    "generates nothing (outcome 'declined'). With wait=true (default) it waits for the provider, "
    "reporting progress; with wait=false it may return status 'pending' and say how to check later.",
    effect="generate",
    handler=generate_invoice,
    view=True,
)
