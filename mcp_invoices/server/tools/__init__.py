"""The tools, each a value: name, title, description, annotations and a plain async function.

A tool function takes a ``Call`` (who and with what; injected) and its arguments, and returns a
``CallToolResult`` built by ``server.results``. Registration (``server.app``) wraps each in the same
error boundary; nothing here knows how the server is wired.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from mcp_types import CallToolResult, ToolAnnotations

from mcp_invoices.server.tools import compare, invoices, orders

__all__ = ["ToolSpec", "TOOLS"]

Effect = Literal["read", "generate"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    title: str
    description: str
    effect: Effect
    handler: Callable[..., Awaitable[CallToolResult]]

    def annotations(self, *, open_world: bool) -> ToolAnnotations:
        if self.effect == "read":
            return ToolAnnotations(read_only_hint=True, open_world_hint=open_world)
        # Generating is permanent but never destroys anything, and asking twice returns the same invoice.
        return ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=open_world
        )


def _spec(handler: Callable[..., Awaitable[CallToolResult]], **fields: Any) -> ToolSpec:
    return ToolSpec(handler=handler, **fields)


TOOLS: tuple[ToolSpec, ...] = (
    _spec(
        invoices.list_invoices,
        name="list_invoices",
        title="List invoices",
        description="List this session's invoices, most recent first, one page at a time. Filter by status, "
        "issue date, due date, or whether they are overdue. Each row links to the invoice as a resource.",
        effect="read",
    ),
    _spec(
        orders.list_orders,
        name="list_orders",
        title="List orders",
        description="List this session's orders, most recent first, with whether each has an invoice and "
        "whether its billing details are complete. Only for providers that generate invoices from orders "
        "(local, polar).",
        effect="read",
    ),
    _spec(
        invoices.get_invoice,
        name="get_invoice",
        title="Get an invoice",
        description="One invoice in full: status, dates, customer, billing, line items and amounts, with "
        "resource links to its JSON and PDF documents.",
        effect="read",
    ),
    _spec(
        orders.generate_invoice,
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
    ),
    _spec(
        invoices.summarize_invoice,
        name="summarize_invoice",
        title="Summarise an invoice",
        description="A short plain-language summary of one invoice with its key facts (amounts, dates, "
        "whether and how long it is overdue), small enough to quote in a chat.",
        effect="read",
    ),
    _spec(
        invoices.summarize_invoices,
        name="summarize_invoices",
        title="Summarise invoices",
        description="Aggregates over ALL of this session's matching invoices (not one page): count, totals per "
        "currency for total / paid / due / overdue, counts by status, ageing of what is due, and the oldest "
        "unpaid invoice. Filters as in list_invoices.",
        effect="read",
    ),
    _spec(
        compare.compare_invoices,
        name="compare_invoices",
        title="Compare two invoices",
        description="Exactly why one invoice differs from another: subtotal, discount, tax, shipping and total "
        "differences, and each line added, removed or changed (quantity and unit price before and after) "
        "with its difference; the breakdown adds up to the total difference. Without other_invoice_id it "
        "compares with this session's invoice issued just before it in the same currency. The summary is "
        "short enough to quote.",
        effect="read",
    ),
)
