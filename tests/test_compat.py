"""The SDK's private attributes the server relies on (server/compat.py) still exist and behave.

When the SDK changes under any of them, this fails loudly, naming the piece, instead of the server
silently answering differently (for example: unknown arguments accepted, or errors unstructured).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.server import MCPServer
from mcp_types import ListResourcesResult, PaginatedRequestParams, Resource
from pydantic import ValidationError

from mcp_invoices.server import compat


def _server_with_one_tool() -> MCPServer:
    server = MCPServer("compat-check")

    @server.tool()
    async def add(a: int, b: int = 1) -> int:
        return a + b

    return server


def test_a_tools_input_properties_are_the_argument_names_its_schema_publishes() -> None:
    assert compat.input_properties(_server_with_one_tool(), "add") == {"a", "b"}


def test_input_properties_of_an_unregistered_tool_is_a_lookup_error() -> None:
    with pytest.raises(LookupError):
        compat.input_properties(_server_with_one_tool(), "nope")


def test_skipping_result_validation_clears_every_output_model() -> None:
    server = _server_with_one_tool()
    compat.skip_result_validation(server)
    assert all(tool.fn_metadata.output_model is None for tool in server._tool_manager.list_tools())


async def test_a_replaced_request_handler_answers_instead_of_the_sdks() -> None:
    from mcp import Client

    server = _server_with_one_tool()

    async def list_resources(ctx: object, params: PaginatedRequestParams | None) -> ListResourcesResult:
        return ListResourcesResult(resources=[Resource(uri="invoice://x/1", name="one")])

    compat.replace_request_handler(server, "resources/list", PaginatedRequestParams, list_resources)
    async with Client(server) as client:
        listed = await client.list_resources()
    assert [str(resource.uri) for resource in listed.resources] == ["invoice://x/1"]


async def test_a_tool_whose_arguments_fail_validation_raises_a_tool_error_caused_by_the_validation_error() -> (
    None
):
    """``InvoiceServer.call_tool`` turns exactly this into a structured invalid_argument."""
    from mcp.server.mcpserver.exceptions import ToolError

    server = _server_with_one_tool()
    with pytest.raises(ToolError) as raised:
        await server.call_tool("add", {"a": "not a number"})
    assert isinstance(raised.value.__cause__, ValidationError)


async def test_each_tool_is_registered_as_its_own_function_with_no_wrapper(ledger_path: Path) -> None:
    """One error boundary (``InvoiceServer.call_tool``): the SDK calls each tool's function as its module
    declares it, not a wrapper that catches errors or rewrites its signature."""
    from mcp_invoices.config import load_config
    from mcp_invoices.server.app import build_server
    from mcp_invoices.server.runtime import environment_principal, open_runtime
    from mcp_invoices.server.tools import TOOLS

    config = load_config({"MCP_INVOICES_DB": str(ledger_path), "MCP_INVOICES_CUSTOMER": "cus_alice"})
    async with open_runtime(config) as runtime:
        server = build_server(runtime, lambda ctx: environment_principal(config))
        for tool in TOOLS:
            assert server._tool_manager.get_tool(tool.name).fn is tool.handler, tool.name


def test_the_session_manager_still_has_what_resumable_streams_replace() -> None:
    """server/streams.py: a transport's own event store, the manager's ASGI app, its stateless handler
    (copied from mcp 2.3: its signature and the attributes it reads must not have moved)."""
    import inspect

    from mcp.server.streamable_http import StreamableHTTPServerTransport
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

    transport = StreamableHTTPServerTransport(mcp_session_id="s")
    assert hasattr(transport, "_event_store") and hasattr(transport, "_mint_priming_event")
    manager = StreamableHTTPSessionManager(app=object(), stateless=True)  # type: ignore[arg-type]
    for attribute in (
        "asgi_app",
        "json_response",
        "security_settings",
        "_lifespan_state",
        "_task_group",
        "app",
    ):
        assert hasattr(manager, attribute), attribute
    parameters = list(inspect.signature(manager._handle_stateless_request).parameters)
    assert parameters == ["protocol_version_hint", "scope", "receive", "send"]
