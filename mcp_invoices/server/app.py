"""The MCP server: wiring only. The tools, resources and prompts live in modules of their own.

Every tool call goes through one boundary, ``InvoiceServer.call_tool`` (``server.calls``): unknown
tools and arguments refused, failures as ``isError`` results with ``{code, message, hint}`` (anything
unexpected logged by type and reported without internals), results in the client's protocol's form.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from mcp.server import MCPServer
from mcp_types import ListToolsResult, PaginatedRequestParams

from mcp_invoices import __version__
from mcp_invoices.principal import Principal
from mcp_invoices.replicas.budget import budget_share
from mcp_invoices.server import compat
from mcp_invoices.server.calls import (
    InvoiceServer,
    PrincipalResolver,
    Services,
    today_utc,
)
from mcp_invoices.server.completions import register_completions
from mcp_invoices.server.prompts import PROMPTS, register_prompts
from mcp_invoices.server.resources import register_resources
from mcp_invoices.server.results import tools_for_protocol
from mcp_invoices.server.runtime import Runtime
from mcp_invoices.server.schemas import inline_definitions
from mcp_invoices.server.tools import TOOLS, Tool
from mcp_invoices.server.versions import version_middleware
from mcp_invoices.views import view_meta, views_extension

__all__ = ["build_server", "PrincipalResolver", "SERVER_NAME"]

logger = logging.getLogger("mcp_invoices.server")

SERVER_NAME = "mcp-invoices"

INSTRUCTIONS = """\
Invoices of the customer this session is bound to (the server decides who that is; no tool takes a
customer). Start with list_invoices or summarize_invoices; use get_invoice for one invoice and read
its PDF through the resource link it returns. To create an invoice from an order, call list_orders,
then generate_invoice. Amounts are decimal strings in the invoice's currency.
"""


def build_server(
    runtime: Runtime,
    resolve_principal: PrincipalResolver,
    *,
    clock: Callable[[], date] = today_utc,
    **server_options: Any,
) -> MCPServer:
    """The MCP server over ``runtime``; ``resolve_principal`` says who each request acts for."""
    server = InvoiceServer(
        Services(runtime=runtime, resolve_principal=_drawing_its_share(resolve_principal), clock=clock),
        SERVER_NAME,
        title="Invoices",
        description="Generate, retrieve and summarise invoices, scoped to one customer per session.",
        instructions=INSTRUCTIONS,
        version=__version__,
        extensions=[views_extension()],  # MCP Apps: the ui:// view of invoices and summaries
        **server_options,
    )
    for tool in TOOLS:
        _add_tool(server, tool, open_world=runtime.any_remote)
    compat.skip_result_validation(server)
    compat.rewrite_input_schemas(server, inline_definitions)  # self-contained: strict in every framework
    compat.replace_request_handler(server, "tools/list", PaginatedRequestParams, _tools_list(server))
    register_resources(server)
    compat.add_middleware(server, version_middleware)  # each version gets only what it defines
    register_prompts(server)
    register_completions(server, PROMPTS)
    return server


def _drawing_its_share(resolve: PrincipalResolver) -> PrincipalResolver:
    """``resolve``, also naming the principal whose fair share of provider budgets the request draws from."""

    def resolve_and_share(ctx: Any) -> Principal:
        principal = resolve(ctx)
        budget_share.set("\n".join(f"{scope.provider}:{scope.customer_id}" for scope in principal.scopes))
        return principal

    return resolve_and_share


def _tools_list(
    server: InvoiceServer,
) -> Callable[[Any, PaginatedRequestParams | None], Awaitable[ListToolsResult]]:
    """tools/list as the client's protocol version defines it: no outputSchema before 2025-06-18."""

    async def tools_list(ctx: Any, params: PaginatedRequestParams | None) -> ListToolsResult:
        return tools_for_protocol(ListToolsResult(tools=await server.list_tools()), ctx.protocol_version)

    return tools_list


def _add_tool(server: InvoiceServer, tool: Tool, *, open_world: bool) -> None:
    server.add_tool(
        tool.handler,
        name=tool.name,
        title=tool.title,
        description=tool.description,
        annotations=tool.annotations(open_world=open_world),
        meta=view_meta(tool.view),
    )
