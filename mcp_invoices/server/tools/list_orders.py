"""list_orders: the session's orders (providers that generate invoices from orders)."""

from __future__ import annotations

from typing import Annotated

from mcp_types import CallToolResult
from pydantic import BaseModel, ConfigDict, Field

from mcp_invoices.domain.models import OrderRow
from mcp_invoices.providers.catalog import GENERATING_IDS
from mcp_invoices.server.arguments import CURSOR, LIMIT, PROVIDER, ProviderId
from mcp_invoices.server.calls import CurrentCall
from mcp_invoices.server.inputs import Cursor, Limit
from mcp_invoices.server.results import decode_cursor, encode_cursor, structured_result
from mcp_invoices.server.tools.tool import Tool

__all__ = ["TOOL", "ListOrdersResult", "list_orders"]


class ListOrdersResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    orders: list[OrderRow]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last page.")


async def list_orders(
    call: CurrentCall,
    provider: ProviderId | None = PROVIDER,
    limit: Limit = LIMIT,
    cursor: Cursor | None = CURSOR,
) -> Annotated[CallToolResult, ListOrdersResult]:
    scope, source = call.provider(provider)
    listing = {"tool": "list_orders", "provider": scope.provider}
    page = await source.list_orders(scope, limit=limit, cursor=decode_cursor(listing, cursor))
    result = ListOrdersResult(
        orders=[order.row() for order in page.items], next_cursor=encode_cursor(listing, page.next_cursor)
    )
    more = " More are available with next_cursor." if result.next_cursor else ""
    return structured_result(result, f"{len(result.orders)} order(s) from {scope.provider}.{more}")


TOOL = Tool(
    name="list_orders",
    title="List orders",
    description="List this session's orders, most recent first, with whether each has an invoice and "
    "whether its billing details are complete. Only for providers that generate invoices from orders "
    f"({', '.join(GENERATING_IDS)}).",
    effect="read",
    handler=list_orders,
)
