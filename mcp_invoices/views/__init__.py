"""Interactive views for hosts that render MCP Apps (the ``io.modelcontextprotocol/ui`` extension).

One self-contained HTML document (``invoice_view.html``, beside this module, readable as it ships:
no build step, no network) shows an invoice, a summary of invoices or a comparison of two invoices,
whichever result the host hands it. It is served as a ``ui://`` resource through the SDK's Apps
extension, and the tools that have a view (``Tool.view``, in each tool's module) say so in their
``_meta.ui.resourceUri`` (``view_meta``).

Hosts without the extension see no difference: the extension adds one resource and a capability,
never touches ``tools/call``, and the tools' results, text and output schemas stay exactly as they are.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Any, Final

from mcp.server.apps import APP_MIME_TYPE, Apps, ResourceCsp

from mcp_invoices.domain.breakdown import breakdown_of
from mcp_invoices.domain.models import Invoice
from mcp_invoices.domain.parties import Seller
from mcp_invoices.providers.catalog import spec

__all__ = [
    "APP_MIME_TYPE",
    "VIEW_DATA_KEY",
    "VIEW_URI",
    "invoice_view_data",
    "view_html",
    "view_meta",
    "views_extension",
]

VIEW_URI: Final = "ui://mcp-invoices/invoice-view.html"
"""The one document behind every view; it picks the layout from the shape of the result it receives."""

LEGACY_RESOURCE_URI_KEY: Final = "ui/resourceUri"
"""The flat ``_meta`` key hosts built before ``_meta.ui`` still read (ext-apps writes both)."""


@cache
def view_html() -> str:
    """The view document, read once from the installed package."""
    return files(__package__).joinpath("invoice_view.html").read_text(encoding="utf-8")


def views_extension() -> Apps:
    """The Apps extension serving the view; pass it to ``MCPServer(extensions=[...])``."""
    apps = Apps()
    apps.add_html_resource(
        VIEW_URI,
        view_html(),
        name="invoice-view",
        title="Invoice view",
        description="Shows an invoice, a summary of invoices or a comparison of two invoices.",
        # No domains at all: the document needs no network (the host may refuse everything).
        csp=ResourceCsp(),
        prefers_border=True,
    )
    return apps


def view_meta(viewed: bool) -> dict[str, Any] | None:
    """The ``_meta`` that names the view in tools/list for a tool that has one (``Tool.view``), else None."""
    if not viewed:
        return None
    return {"ui": {"resourceUri": VIEW_URI}, LEGACY_RESOURCE_URI_KEY: VIEW_URI}


VIEW_DATA_KEY: Final = "mcp-invoices/view"
"""The result ``_meta`` key carrying what the invoice view prints and the structured content does not
state: the breakdown (net, tax, gross; the rows to the total), the seller, the formatted addresses.
Hosts hand a view the whole result, ``_meta`` included; the model never needs it (the text says it)."""

_ROW_FIELDS: Final = {
    "Subtotal (net)": "subtotal",
    "Discount": "discount",
    "Tax": "tax",
    "Shipping": "shipping",
    "Adjustment (provider's total)": "adjustment",
}


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def invoice_view_data(invoice: Invoice, seller: Seller | None) -> dict[str, Any]:
    """What the invoice view prints beyond the invoice's fields, computed once, here, by the rule the
    PDF and the text follow (``mcp_invoices.domain.breakdown``): the view does no arithmetic of its own.

    - ``lines``: each line's ``net``, ``tax`` and ``gross`` (decimal strings, or null);
    - ``rows``: ``{field, label, amount}`` from the subtotal to the total, subtracted rows negative, so
      that the rows' amounts sum to ``total``;
    - ``seller``: ``{name, lines}`` of the merchant, or null where the provider names none;
    - ``provider_name``: how the provider is called (its spec's display name), for "Issued through" and
      "Open in" (the view names no provider of its own);
    - ``billed_to``: the billing name and address as printed lines.
    """
    breakdown = breakdown_of(invoice)
    rows = [
        {"field": _ROW_FIELDS[label], "label": label, "amount": _amount(amount * sign)}
        for label, amount, sign in breakdown.rows()
    ]
    billing = invoice.billing
    billed_to = [
        line for line in (billing.name, *(billing.address.lines() if billing.address else ())) if line
    ]
    return {
        "lines": [
            {"net": _amount(line.net), "tax": _amount(line.tax), "gross": _amount(line.gross)}
            for line in breakdown.lines
        ],
        "rows": rows,
        "total": _amount(breakdown.total),
        "seller": None if seller is None else {"name": seller.name, "lines": seller.lines()},
        "provider_name": spec(invoice.provider).display_name,
        "billed_to": billed_to,
    }
