"""Every use of the MCP SDK's private attributes, in one place.

The server needs what the SDK does not (yet) offer publicly: replacing a request handler of the
low-level server (``resources/list``, answered per session; ``completion/complete``, whose public
decorator does not hand the handler the request's context, so it could not know the session); the
argument names of a registered tool as its input schema publishes them; rewriting the input schemas it
publishes; middleware around every request; switching off the SDK's second validation of results built
from already-validated models; and the streamable-HTTP session manager's admission, discarding and
owners (per-principal session caps, revocation); one event store per session, a request handler in
front of the manager, and the stateless handshake keeping its event store (resumable streams,
``server/streams.py``). ``tests/test_compat.py`` fails loudly when the SDK
changes under any of them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server import MCPServer
from mcp.server.context import ServerMiddleware
from mcp.server.streamable_http import EventStore
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

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
    "use_event_store",
    "answer_before_sessions",
    "resumable_stateless_requests",
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


# -- resumable streams (server/streams.py) ---------------------------------------------------------


def use_event_store(transport: Any, store: EventStore) -> None:
    """Give one session's transport its own event store (the SDK hands every session the manager's one,
    whose stream ids, request ids, every client starts at 1)."""
    transport._event_store = store


def answer_before_sessions(manager: StreamableHTTPSessionManager, wrap: Callable[[ASGIApp], ASGIApp]) -> None:
    """Put ``wrap(app)`` where the manager answers every request of the MCP endpoint (behind the bearer
    check: the request's token is known there)."""
    manager.asgi_app = wrap(manager.asgi_app)  # type: ignore[assignment]


def resumable_stateless_requests(
    manager: StreamableHTTPSessionManager,
    new_store: Callable[[], Any],
    keep_for: float,
    retry_interval: int,
) -> None:
    """The SDK's stateless handshake (one transport per request, no sessions: replicas) with an event
    store, so a POST's stream is primed and kept; and the request's work goes on after its client's
    connection drops, at most ``keep_for`` seconds, until its answer is stored for a reconnect to find.

    ``new_store()`` returns a ``ScopedEventStore`` (``settled(timeout)``: every primed stream answered).
    A request of a client that cannot resume (no priming: before 2025-11-25) ends with its connection.
    This is the SDK's ``_handle_stateless_request`` (mcp 2.3) with those two changes.
    """
    import functools

    import anyio
    from mcp.server.streamable_http import StreamableHTTPServerTransport

    async def handle_stateless_request(
        protocol_version_hint: str | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        store = new_store()
        http_transport = StreamableHTTPServerTransport(
            mcp_session_id=None,
            is_json_response_enabled=manager.json_response,
            event_store=store,
            security_settings=manager.security_settings,
            retry_interval=retry_interval,
        )
        task_group = manager._task_group
        assert task_group is not None
        try:
            await task_group.start(
                functools.partial(_serve_stateless, manager, http_transport, protocol_version_hint)
            )
            await http_transport.handle_request(scope, receive, send)
            # The stream ended: answered, or its client's connection dropped. A primed call goes on
            # until its answer is kept, so that a reconnect (on any replica) receives it.
            await store.settled(keep_for)
        finally:
            with anyio.CancelScope(shield=True):
                await http_transport.terminate()

    manager._handle_stateless_request = handle_stateless_request  # type: ignore[method-assign]


async def _serve_stateless(
    manager: StreamableHTTPSessionManager,
    http_transport: Any,
    protocol_version_hint: str | None,
    *,
    task_status: Any,
) -> None:
    """One stateless request's server over its own transport: the SDK's ``run_stateless_server``
    (mcp 2.3 ``_handle_stateless_request``), unchanged."""
    from mcp.server.connection import Connection
    from mcp.server.runner import serve_connection
    from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher
    from mcp.shared.transport_context import TransportContext
    from mcp_types import DEFAULT_NEGOTIATED_VERSION

    async with http_transport.connect() as streams:
        read_stream, write_stream = streams
        task_status.started()
        dispatcher: JSONRPCDispatcher[TransportContext] = JSONRPCDispatcher(
            read_stream,
            write_stream,
            inline_methods=frozenset({"initialize"}),
            transport_builder=lambda _md: TransportContext(kind="streamable-http", can_send_request=False),
        )
        connection = Connection.from_envelope(
            protocol_version_hint if protocol_version_hint is not None else DEFAULT_NEGOTIATED_VERSION,
            None,
            None,
        )
        try:
            await serve_connection(
                manager.app, dispatcher, connection=connection, lifespan_state=manager._lifespan_state
            )
        except Exception:  # pragma: no cover - as the SDK: logged, the request ends
            logging.getLogger("mcp_invoices.server").exception("stateless request crashed")
