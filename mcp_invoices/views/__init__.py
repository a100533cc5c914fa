"""Interactive views for hosts that render MCP Apps (the ``io.modelcontextprotocol/ui`` extension).

One self-contained HTML document (``invoice_view.html``, beside this module, readable as it ships:
no build step, no network) shows an invoice, a summary of invoices or a comparison of two invoices,
whichever result the host hands it. It is served as a ``ui://`` resource through the SDK's Apps
extension, and the tools that have a view say so in their ``_meta.ui.resourceUri`` (``view_meta``).

Hosts without the extension see no difference: the extension adds one resource and a capability,
never touches ``tools/call``, and the tools' results, text and output schemas stay exactly as they are.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any, Final

from mcp.server.apps import APP_MIME_TYPE, Apps, ResourceCsp

__all__ = ["APP_MIME_TYPE", "VIEWED_TOOLS", "VIEW_URI", "view_html", "view_meta", "views_extension"]

VIEW_URI: Final = "ui://mcp-invoices/invoice-view.html"
"""The one document behind every view; it picks the layout from the shape of the result it receives."""

VIEWED_TOOLS: Final = ("get_invoice", "generate_invoice", "summarize_invoices", "compare_invoices")
"""Tools whose results a person would rather look at than read."""

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


def view_meta(tool_name: str) -> dict[str, Any] | None:
    """The ``_meta`` that names the view of ``tool_name`` in tools/list, or None for a tool without one."""
    if tool_name not in VIEWED_TOOLS:
        return None
    return {"ui": {"resourceUri": VIEW_URI}, LEGACY_RESOURCE_URI_KEY: VIEW_URI}
