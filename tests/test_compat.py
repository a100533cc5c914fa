"""The SDK's private attributes the server relies on (server/compat.py) still exist and behave.

When the SDK changes under any of them, this fails loudly, naming the piece, instead of the server
silently answering differently (for example: unknown arguments accepted, or errors unstructured).
"""

from __future__ import annotations

import pytest
from mcp.server import MCPServer
from mcp_types import CallToolRequestParams, CallToolResult
from pydantic import ValidationError

from mcp_invoices.server import compat


def _server_with_one_tool() -> MCPServer:
    server = MCPServer("compat-check")

    @server.tool()
    async def add(a: int, b: int = 1) -> int:
        return a + b

    return server


def test_the_registered_tool_of_a_name_is_found_and_a_missing_one_is_none() -> None:
    server = _server_with_one_tool()
    assert compat.registered_tool(server, "add") is not None
    assert compat.registered_tool(server, "nope") is None


def test_a_tools_input_properties_are_its_arguments() -> None:
    tool = compat.registered_tool(_server_with_one_tool(), "add")
    assert tool is not None
    assert compat.tool_input_properties(tool) == {"a", "b"}


def test_the_argument_model_validates_as_the_sdk_will() -> None:
    tool = compat.registered_tool(_server_with_one_tool(), "add")
    assert tool is not None
    validate = compat.tool_argument_model(tool)
    validate({"a": 1})
    with pytest.raises(ValidationError):
        validate({"a": "not a number"})


def test_skipping_result_validation_clears_every_output_model() -> None:
    server = _server_with_one_tool()
    compat.skip_result_validation(server)
    tool = compat.registered_tool(server, "add")
    assert tool is not None and tool.fn_metadata.output_model is None


async def test_a_replaced_tools_call_handler_answers_and_can_delegate_to_the_sdks() -> None:
    from mcp import Client

    server = _server_with_one_tool()
    sdk_handler = compat.sdk_call_tool_handler(server)
    seen: list[str] = []

    async def call_tool(ctx: object, params: CallToolRequestParams) -> CallToolResult:
        seen.append(params.name)
        return await sdk_handler(ctx, params)

    compat.replace_request_handler(server, "tools/call", CallToolRequestParams, call_tool)
    async with Client(server) as client:
        result = await client.call_tool("add", {"a": 2})
    assert seen == ["add"]
    assert not result.is_error and result.structured_content == {"result": 3}
