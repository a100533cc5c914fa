"""Streams that survive a dropped connection (SEP-1699, protocol 2025-11-25 and its handshake).

A POST whose answer streams as server-sent events begins with a *priming event* (an ``id`` and a
``retry``, no data) before anything else. Every later event of that stream (progress, the answer)
is kept in an event log under the stream's id. A client whose connection is cut (a proxy's idle
timeout, a mobile network) reconnects with ``GET`` on the MCP endpoint and ``Last-Event-ID``; it
receives every event after that one and, while the call is still running, the rest as it comes,
until the answer. The log lives in Redis when the shared state does (``MCP_INVOICES_REDIS_URL``), so
the reconnect may reach any replica; otherwise in this process.

- Isolation: a stream's id is random (128 bits) and the log records whose it is: the principal of the
  token that opened it and, with handshake sessions, the session. A ``Last-Event-ID`` of another
  principal or session is answered exactly as an unknown one: 404, nothing replayed.
- Bounds (``config.StreamLimits``): events and bytes per stream (oldest dropped first; the answer,
  the newest, is kept), seconds after the last event, and, in memory, streams all together.
- Only streams the client can resume are kept: those that were primed (the client's protocol is
  2025-11-25 or later). The standalone ``GET`` stream is not replayed.
- The SDK's ``EventStore`` is the interface the transport writes through (``ScopedEventStore``, one
  per session or per stateless request); the reconnecting ``GET`` is answered here
  (``ResumeRequests``), before the session manager, so it works on a replica that never saw the
  session, and a resumed stream ends with its answer.

The 2026-07-28 protocol has no sessions and no event ids: a call whose connection is cut is made
again (``generate_invoice`` answers the same invoice, ``already_generated``).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.streamable_http import EventCallback, EventStore
from mcp_types import JSONRPCError, JSONRPCMessage, JSONRPCResponse

from mcp_invoices.logs import Throttled
from mcp_invoices.server.event_log import (
    EventLog,
    MemoryEventLog,
    RedisEventLog,
    StreamInfo,
    event_log_for,
    parse_event_id,
)

if TYPE_CHECKING:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from starlette.types import ASGIApp, Message, Receive, Scope, Send


__all__ = [
    "StreamInfo",
    "EventLog",
    "MemoryEventLog",
    "RedisEventLog",
    "ScopedEventStore",
    "ResumeRequests",
    "event_log_for",
    "install_resumable_streams",
    "stop_when_client_leaves",
    "CLIENT_GONE",
]

logger = logging.getLogger("mcp_invoices.server")
_log = Throttled(logger, interval=1.0)

# -- the SDK's interface: what one session (or one stateless request) writes -------------------------


class ScopedEventStore(EventStore):
    """The event store of one handshake session, or of one request without a session.

    The SDK's stream ids are request ids, which every client starts at 1: each stream gets a random
    token instead, recorded with ``owner`` and ``session``. Only primed streams are kept (the SDK primes
    those of clients that can resume); an event of another stream gets no id.
    """

    def __init__(self, log: EventLog, *, owner: str, session: str = "") -> None:
        self.log = log
        self.owner = owner
        self.session = session
        self._tokens: dict[str, str] = {}
        self._settled = anyio.Event()
        self._settled.set()

    @property
    def unanswered(self) -> int:
        """Primed streams whose answer has not been stored yet."""
        return len(self._tokens)

    async def store_event(self, stream_id: str, message: JSONRPCMessage | None) -> str:
        """Never raises (the SDK's message router would end the session): a log that fails leaves the
        stream without ids, which its client cannot resume, and says so in the log once a second."""
        from mcp_invoices.replicas import SharedStateUnavailable

        key = str(stream_id)
        if message is None:  # the priming event: the stream can be resumed from here on
            token = secrets.token_urlsafe(16)
            try:
                await self.log.open(token, StreamInfo(self.owner, self.session, key, False))
            except SharedStateUnavailable:
                _log.warning("a stream could not be made resumable: the shared store failed", key="open")
                return ""
            self._tokens[key] = token
            self._settled = anyio.Event()
            return f"{token}.0"
        kept = self._tokens.get(key)
        if kept is None:
            return ""  # not resumable: sent without an id
        final = isinstance(message, JSONRPCResponse | JSONRPCError)
        sequence = 0
        try:
            sequence = await self.log.append(
                kept, message.model_dump_json(by_alias=True, exclude_unset=True), final=final
            )
        except SharedStateUnavailable:
            _log.warning("an event of a resumable stream was not kept: the shared store failed", key="append")
        finally:
            if final:
                del self._tokens[key]
                if not self._tokens:
                    self._settled.set()
        return f"{kept}.{sequence}" if sequence else ""

    async def replay_events_after(self, last_event_id: str, send_callback: EventCallback) -> str | None:
        # Every GET with Last-Event-ID is answered by ResumeRequests before it reaches the transport.
        return None

    async def settled(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) until every primed stream has its answer stored."""
        with anyio.move_on_after(timeout):
            await self._settled.wait()
        return self._settled.is_set()


# -- the reconnect: GET with Last-Event-ID ----------------------------------------------------------

NOT_KEPT = (
    "No stream with this Last-Event-ID is kept for you: it ended more than {ttl:g} s ago, was never "
    "opened, or belongs to another session or token. Make the call again (generate_invoice answers the "
    "same invoice again)."
)


CLIENT_GONE = "mcp_invoices.client_gone"
"""The key, in a POST's ASGI scope, of the ``anyio.Event`` set when its client left without the answer."""


async def stop_when_client_leaves(ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
    """Server middleware: a request whose client left (``CLIENT_GONE``) is cancelled at once: its provider
    requests, polling and questions stop. What a provider was already asked is finished and recorded
    first (those steps are shielded), so the next call answers the same invoice."""
    request = getattr(ctx, "request", None)
    gone = getattr(request, "scope", {}).get(CLIENT_GONE) if request is not None else None
    if not isinstance(gone, anyio.Event):
        return await call_next(ctx)
    result: Any = None
    async with anyio.create_task_group() as group:

        async def cancel_when_gone() -> None:
            await gone.wait()
            group.cancel_scope.cancel()

        group.start_soon(cancel_when_gone)
        result = await call_next(ctx)
        group.cancel_scope.cancel()
    if gone.is_set() and result is None:
        _log.info(
            "stopped a call: its client left before the answer and cannot resume",
            key="client_left",
            extra={"method": getattr(ctx, "method", "?")},
        )
        from mcp.shared.exceptions import MCPError

        raise MCPError(code=-32603, message="The client left before the answer; the call was stopped.")
    return result


KEEP_ALIVE_SECONDS = 15.0
"""As the SDK's own streams (sse-starlette's ping): well under the usual proxies' 60 s idle timeout."""


class ResumeRequests:
    """In front of the session manager: a ``GET`` carrying ``Last-Event-ID`` is answered from the event log
    (the events after it, then the rest until the answer); everything else goes on to ``app``."""

    def __init__(self, app: ASGIApp, log: EventLog, principal: Callable[[], str]) -> None:
        self.app = app
        self.log = log
        self.principal = principal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            await self.watch_post(scope, receive, send)
            return
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        last_event_id = headers.get("last-event-id")
        if last_event_id is None:
            await self.app(scope, receive, send)
            return
        await self.resume(last_event_id, headers.get("mcp-session-id", ""), receive, send)

    async def watch_post(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Tell the call (``CLIENT_GONE`` in the request's scope) when its client leaves before the answer
        and cannot resume: its connection dropped while the answer streamed, and the stream was not primed."""
        gone = anyio.Event()
        scope[CLIENT_GONE] = gone
        state = {"resumable": False, "finished": False, "streaming": False}

        async def watched_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["streaming"] = any(
                    key.lower() == b"content-type" and value.startswith(b"text/event-stream")
                    for key, value in message.get("headers", [])
                )
            elif message["type"] == "http.response.body":
                if b"retry:" in message.get("body", b"")[:200] and not state["finished"]:
                    state["resumable"] = True
                if not message.get("more_body", False):
                    state["finished"] = True
            await send(message)

        async def watched_receive() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect" and state["streaming"] and not state["finished"]:
                if not state["resumable"]:
                    gone.set()
            return message

        try:
            await self.app(scope, watched_receive, watched_send)
        finally:
            if state["streaming"] and not state["finished"] and not state["resumable"]:
                gone.set()

    async def resume(self, last_event_id: str, session: str, receive: Receive, send: Send) -> None:
        from mcp_invoices.replicas import SharedStateUnavailable

        parsed = parse_event_id(last_event_id)
        try:
            info = await self.log.info(parsed[0]) if parsed else None
        except SharedStateUnavailable as error:
            await _json_error(send, 503, -32603, str(error))
            return
        if (
            parsed is None
            or info is None
            or not secrets.compare_digest(info.owner, self.principal())
            or (info.session and not secrets.compare_digest(info.session, session))
        ):
            _log.info("a Last-Event-ID matched no stream kept for its caller", key="not_kept")
            await _json_error(send, 404, -32602, NOT_KEPT.format(ttl=self.log.limits.ttl))
            return
        token, sequence = parsed
        response_headers = [
            (b"content-type", b"text/event-stream"),
            (b"cache-control", b"no-cache, no-transform"),
            (b"x-accel-buffering", b"no"),
        ] + ([(b"mcp-session-id", info.session.encode())] if info.session else [])
        await send({"type": "http.response.start", "status": 200, "headers": response_headers})
        await send(
            {"type": "http.response.body", "body": _retry(self.log.limits.retry_ms), "more_body": True}
        )
        async with anyio.create_task_group() as group:

            async def watch_disconnect() -> None:
                for _ in range(1_000_000):  # bounded: a client sends nothing on a GET but its disconnect
                    message: Message = await receive()
                    if message["type"] == "http.disconnect":
                        break
                group.cancel_scope.cancel()

            group.start_soon(watch_disconnect)
            try:
                await self._follow(token, sequence, send)
            except SharedStateUnavailable:  # the client reconnects again (its retry), maybe to Redis back
                _log.warning("a resumed stream lost the shared store; it ends here", key="follow_unavailable")
            group.cancel_scope.cancel()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _follow(self, token: str, sequence: int, send: Send) -> None:
        """Send what follows ``sequence`` until the answer, or until nothing came for ``ttl`` seconds; a
        comment every ``KEEP_ALIVE_SECONDS`` of silence keeps proxies from cutting the connection as idle."""
        quiet_until = last_sent = time.monotonic()
        quiet_until += self.log.limits.ttl
        for _ in range(1_000_000):  # bounded by the quiet deadline; the count is a second fence
            events, complete = await self.log.read_after(token, sequence)
            now = time.monotonic()
            for number, payload in events:
                body = f"id: {token}.{number}\nevent: message\ndata: {payload}\n\n".encode()
                await send({"type": "http.response.body", "body": body, "more_body": True})
                sequence = number
            if events:
                quiet_until, last_sent = now + self.log.limits.ttl, now
            elif now - last_sent >= KEEP_ALIVE_SECONDS:
                await send({"type": "http.response.body", "body": b": keep-alive\n\n", "more_body": True})
                last_sent = now
            if complete:
                return
            remaining = quiet_until - now
            if remaining <= 0:
                return
            await self.log.wait(token, sequence, min(remaining, KEEP_ALIVE_SECONDS))


def _retry(retry_ms: int) -> bytes:
    return f"retry: {retry_ms}\n\n".encode()


async def _json_error(send: Send, status: int, code: int, message: str) -> None:
    import json

    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install_resumable_streams(
    manager: StreamableHTTPSessionManager, log: EventLog, *, stateless: bool
) -> None:
    """Resumable POST streams on ``manager`` (built by ``streamable_http_app`` with ``retry_interval``):
    each session's own event store (or each stateless request's), and reconnects answered from ``log``."""
    from mcp_invoices.server import compat
    from mcp_invoices.server.sessions import principal_key

    if stateless:
        compat.resumable_stateless_requests(
            manager,
            lambda: ScopedEventStore(log, owner=principal_key()),
            keep_for=log.limits.ttl,
            retry_interval=log.limits.retry_ms,
        )
    else:

        def admit(requestor: Any, sdk_admit: Callable[[Any], Any]) -> Any:
            transport = sdk_admit(requestor)
            session = getattr(transport, "mcp_session_id", None)
            if transport is not None and session is not None:
                compat.use_event_store(
                    transport, ScopedEventStore(log, owner=principal_key(), session=session)
                )
            return transport

        async def on_discard(session: str, discard: Callable[[], Awaitable[None]]) -> None:
            await log.end_session(session)
            await discard()

        compat.wrap_session_admission(manager, admit=admit, on_discard=on_discard)
    compat.answer_before_sessions(manager, lambda app: ResumeRequests(app, log, principal_key))
