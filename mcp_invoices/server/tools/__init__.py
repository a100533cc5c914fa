"""The tools, one module each: ``server/tools/<name>.py`` declares its function, arguments,
description, annotations and view in one ``TOOL`` record (``tool.Tool``). Registration
(``server.app``) reads the records; every call goes through one error boundary
(``server.calls.InvoiceServer.call_tool``); nothing here knows how the server is wired.

To add a tool: write its module (function and ``TOOL``), then add it to ``TOOLS`` below (the order is
the order of tools/list).
"""

from __future__ import annotations

from mcp_invoices.server.tools import (
    compare_invoices,
    generate_invoice,
    get_invoice,
    list_invoices,
    list_orders,
    summarize_invoice,
    summarize_invoices,
)
from mcp_invoices.server.tools.tool import Tool

__all__ = ["TOOLS", "Tool"]

TOOLS: tuple[Tool, ...] = (
    list_invoices.TOOL,
    list_orders.TOOL,
    get_invoice.TOOL,
    generate_invoice.TOOL,
    summarize_invoice.TOOL,
    summarize_invoices.TOOL,
    compare_invoices.TOOL,
)
