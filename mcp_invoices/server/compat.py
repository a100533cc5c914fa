"""Every use of the MCP SDK's private attributes, in one place.

The server needs three things the SDK does not (yet) offer publicly: replacing a request handler of
the low-level server (``tools/call`` to check arguments first, ``resources/list`` per session), the
registered tool of a name (its argument model and input schema), and switching off the SDK's second
validation of results built from already-validated models. ``tests/test_compat.py`` fails loudly
when the SDK changes under any of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver.tools import Tool
from pydantic import BaseModel

__all__ = [
    "replace_request_handler",
    "sdk_call_tool_handler",
    "registered_tool",
    "tool_argument_model",
    "tool_input_properties",
    "skip_result_validation",
]

Handler = Callable[[Any, Any], Awaitable[Any]]


def replace_request_handler(server: MCPServer, method: str, params_type: type[BaseModel], handler: Handler) -> None:
    """Answer ``method`` with ``handler(ctx, params)`` instead of the SDK's own handler."""
    server._lowlevel_server.add_request_handler(method, params_type, handler)


def sdk_call_tool_handler(server: MCPServer) -> Handler:
    """The SDK's own ``tools/call`` handler (resolves dependencies, runs the tool, shapes errors)."""
    handler: Handler = server._handle_call_tool
    return handler


def registered_tool(server: MCPServer, name: str) -> Tool | None:
    tool: Tool | None = server._tool_manager.get_tool(name)
    return tool


def tool_argument_model(tool: Tool) -> Callable[[dict[str, Any]], object]:
    """Validates a call's arguments exactly as the SDK will (same model, same JSON pre-parsing)."""
    metadata = tool.fn_metadata

    def validate(arguments: dict[str, Any]) -> object:
        return metadata.arg_model.model_validate(metadata.pre_parse_json(arguments))

    return validate


def tool_input_properties(tool: Tool) -> set[str]:
    return set(tool.parameters.get("properties", {}))


def skip_result_validation(server: MCPServer) -> None:
    """Results are built from pydantic models, validated as they are constructed; the SDK validating the
    dumped dict again would cost every call a second pass. The outputSchema stays published."""
    for tool in server._tool_manager.list_tools():
        tool.fn_metadata.output_model = None
