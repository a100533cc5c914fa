"""Every use of the MCP SDK's private attributes, in one place.

The server needs three things the SDK does not (yet) offer publicly: replacing a request handler of
the low-level server (``resources/list``, answered per session; ``completion/complete``, whose public
decorator does not hand the handler the request's context, so it could not know the session), the argument names of a registered
tool as its input schema publishes them, rewriting the input schemas it publishes, and switching off the SDK's second validation of results
built from already-validated models. ``tests/test_compat.py`` fails loudly
when the SDK changes under any of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server import MCPServer
from mcp.server.context import ServerMiddleware
from pydantic import BaseModel

__all__ = [
    "replace_request_handler",
    "input_properties",
    "rewrite_input_schemas",
    "skip_result_validation",
    "add_middleware",
]

Handler = Callable[[Any, Any], Awaitable[Any]]
SchemaRewrite = Callable[[dict[str, Any]], dict[str, Any]]


def replace_request_handler(
    server: MCPServer, method: str, params_type: type[BaseModel], handler: Handler
) -> None:
    """Answer ``method`` with ``handler(ctx, params)`` instead of the SDK's own handler."""
    server._lowlevel_server.add_request_handler(method, params_type, handler)


def input_properties(server: MCPServer, tool_name: str) -> frozenset[str]:
    """The argument names of a registered tool, exactly as its input schema publishes them."""
    tool = server._tool_manager.get_tool(tool_name)
    if tool is None:
        raise LookupError(f"no tool named {tool_name!r} is registered")
    return frozenset(tool.parameters.get("properties", {}))


def skip_result_validation(server: MCPServer) -> None:
    """Results are built from pydantic models, validated as they are constructed; the SDK validating the
    dumped dict again would cost every call a second pass. The outputSchema stays published."""
    for tool in server._tool_manager.list_tools():
        tool.fn_metadata.output_model = None


def rewrite_input_schemas(server: MCPServer, rewrite: SchemaRewrite) -> None:
    """Publish ``rewrite(schema)`` as each registered tool's input schema. Arguments are still validated
    by the tool's own argument model, so the rewrite must describe the same arguments."""
    for tool in server._tool_manager.list_tools():
        tool.parameters = rewrite(tool.parameters)


def add_middleware(server: MCPServer, middleware: ServerMiddleware[Any]) -> None:
    """Run ``middleware(ctx, call_next)`` around every request the server answers, ``initialize`` included
    (innermost: the SDK's own tracing middleware still sees the final answer)."""
    server._lowlevel_server.middleware.append(middleware)
