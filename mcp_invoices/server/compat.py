"""Every use of the MCP SDK's private attributes, in one place.

The server needs what the SDK does not (yet) offer publicly: replacing a request handler of the
low-level server (``resources/list``, answered per session; ``completion/complete``, whose public
decorator does not hand the handler the request's context, so it could not know the session); the
argument names of a registered tool as its input schema publishes them; rewriting the input schemas it
publishes; middleware around every request; switching off the SDK's second validation of results built
from already-validated models; and the streamable-HTTP session manager's admission, discarding and
owners (per-principal session caps, revocation). ``tests/test_compat.py`` fails loudly when the SDK
changes under any of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server import MCPServer
from mcp.server.context import ServerMiddleware
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from pydantic import BaseModel

__all__ = [
    "replace_request_handler",
    "input_properties",
    "rewrite_input_schemas",
    "skip_result_validation",
    "add_middleware",
    "session_manager",
    "wrap_session_admission",
    "drop_session",
    "end_session_soon",
    "drop_sessions_of",
    "bound_elicitation",
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


# -- handshake-era sessions (server/sessions.py): the SDK caps them only all together ----------------


def session_manager(server: MCPServer) -> StreamableHTTPSessionManager:
    """The session manager ``streamable_http_app`` built (call it after building the app)."""
    return server._lowlevel_server.session_manager


def wrap_session_admission(
    manager: StreamableHTTPSessionManager,
    *,
    admit: Callable[[Any, Callable[[Any], Any]], Any],
    on_discard: Callable[[str, Callable[[], Awaitable[None]]], Awaitable[None]],
) -> None:
    """Route the manager's admission of each new session through ``admit(requestor, sdk_admit)``, and
    tell ``on_discard(session_id, sdk_discard)`` whenever a session ends (DELETE, idle, crash)."""
    sdk_admit = manager._admit_session
    sdk_discard = manager._discard_session

    def admit_session(requestor: Any) -> Any:
        return admit(requestor, sdk_admit)

    async def discard_session(session_id: str, transport: Any) -> None:
        await on_discard(session_id, lambda: sdk_discard(session_id, transport))

    manager._admit_session = admit_session  # type: ignore[method-assign]
    manager._discard_session = discard_session  # type: ignore[method-assign]


def drop_session(manager: StreamableHTTPSessionManager, session_id: str) -> Any:
    """Forget a session at once (its ID answers 404 from now on); returns its transport, if it had one."""
    manager._session_owners.pop(session_id, None)
    return manager._server_instances.pop(session_id, None)


def end_session_soon(manager: StreamableHTTPSessionManager, session_id: str, transport: Any) -> None:
    """Terminate a dropped session's transport in the manager's task group (its server task then ends)."""
    task_group = manager._task_group
    if task_group is not None:
        task_group.start_soon(manager._discard_session, session_id, transport)


def drop_sessions_of(manager: StreamableHTTPSessionManager, client_ids: set[str]) -> int:
    """End every session opened with one of these tokens (by the client id the SDK recorded as owner)."""
    owned = [
        session_id
        for session_id, owner in manager._session_owners.items()
        if owner.get("client_id") in client_ids
    ]
    for session_id in owned:
        transport = drop_session(manager, session_id)
        if transport is not None:
            end_session_soon(manager, session_id, transport)
    return len(owned)


def bound_elicitation(context: Any, elicit: Callable[..., Awaitable[Any]]) -> None:
    """Have the SDK's resolvers ask through ``elicit`` for this call: they call ``context.elicit``."""
    # The Context is a pydantic model, which refuses unknown attributes; this one shadows its method.
    object.__setattr__(context, "elicit", elicit)
