"""What keeps one client's connections from taking the HTTP server away from everyone else.

uvicorn has no deadline on *receiving* a request: ``timeout_keep_alive`` runs only between requests
and every byte resets it, and a connection that never sends a byte is never closed. A client that
opens connections and sends a request line, then one header line every few seconds (slowloris),
holds them for ever; at the process's open-files limit ``accept()`` fails for everyone, and asyncio
logs every failure. Here, as Go's ``ReadHeaderTimeout`` and nginx's ``client_header_timeout`` do:

- **a receipt deadline**: from the moment a connection is accepted (or a new request's first byte
  arrives on a kept-alive one) the whole request, headers and body, must arrive within
  ``request_timeout`` seconds, or the connection is closed;
- **a cap on open connections**, below the open-files limit, with room kept for new ones: a new
  connection over the cap closes the oldest connection that is not being answered, preferring one
  that never completed a request (an attacker's) over an idle kept-alive one (a customer's). Only
  when every connection is being answered is the newcomer refused, with a 503 and ``Retry-After``;
- **the open-files soft limit raised** to the hard limit where the system allows, so the cap can be
  generous;
- **accept errors and closed connections logged at most once a second, with a count.**

uvicorn's protocol class is wrapped (subclassed) rather than replaced: everything it does for a
request once received stays as it is.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from mcp_invoices.config import HttpLimits
from mcp_invoices.logs import Throttled

__all__ = [
    "DeadlineH11Protocol",
    "raise_open_files_limit",
    "accept_backlog",
    "connection_cap",
    "throttle_loop_errors",
]

logger = logging.getLogger("mcp_invoices.server")

FILES_KEPT_FOR_THE_SERVER = 64
"""Open files kept out of the connection cap for the server's own use: the database, the shared store,
provider connections, the PDF fonts. An eighth of the limit when that is more."""

MOST_CONNECTIONS = 10_000
"""The default cap when the open-files limit is very high (h11 keeps a few kilobytes per connection)."""

_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"retry-after: 1\r\n"
    b"connection: close\r\n"
    b"content-length: 67\r\n"
    b"\r\n"
    b"The server has too many open connections; retry in a second or so.\n"
)


def raise_open_files_limit() -> int:
    """Raise this process's open-files soft limit to the hard limit where allowed; return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):  # a container may forbid it: keep the soft limit we have
            logger.warning("could not raise the open-files limit", extra={"open_files_limit": soft})
    return int(soft) if soft != resource.RLIM_INFINITY else 1 << 16


def accept_backlog(open_files: int) -> int:
    """How many connections the listening socket queues, and asyncio accepts in one turn of the loop.

    Those are accepted before the cap can close any of them: a turn's worth (two, while the previous
    one is closed) must fit beside the cap, or a flood exhausts the open files all the same.
    """
    return max(16, min(2048, open_files // 16))


def connection_cap(open_files: int, configured: int | None) -> int:
    """The connection cap: the configured one, never more than the open files leave room for."""
    kept = max(FILES_KEPT_FOR_THE_SERVER, open_files // 8) + 3 * accept_backlog(open_files)
    room = max(8, open_files - kept)
    if configured is None:
        return min(MOST_CONNECTIONS, room)
    if configured > room:
        logger.warning(
            "MCP_INVOICES_HTTP_MAX_CONNECTIONS is above what the open-files limit allows; using the lower cap",
            extra={"configured": configured, "cap": room, "open_files_limit": open_files},
        )
    return min(configured, room)


_closed_log = Throttled(logger, interval=1.0)


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a receipt deadline and a cap on open connections.

    uvicorn instantiates the class it is given, so ``configured(limits, cap)`` returns a subclass
    bound to those settings.
    """

    request_timeout: float = HttpLimits.request_timeout
    max_connections: int = MOST_CONNECTIONS

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._receipt_timer: asyncio.TimerHandle | None = None
        self._since = time.monotonic()
        """When this connection was accepted, or last answered a request: the eviction order."""
        self._answered_one = False

    @classmethod
    def configured(cls, limits: HttpLimits, cap: int) -> type[DeadlineH11Protocol]:
        return type(
            "DeadlineH11Protocol",
            (cls,),
            {"request_timeout": limits.request_timeout, "max_connections": cap},
        )

    # -- the cap ----------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_receipt_deadline()
        if len(self.connections) > self.max_connections:
            # Connections closed this turn of the loop leave the set on the next: count the open ones.
            still_open = sum(1 for connection in self.connections if not connection.transport.is_closing())
            if still_open > self.max_connections:
                self._make_room()

    def _idle(self) -> bool:
        """Not being answered: waiting for (the rest of) a request, or kept alive between requests."""
        return self.cycle is None or self.cycle.response_complete

    def _make_room(self) -> None:
        others = [
            connection
            for connection in self.connections
            if isinstance(connection, DeadlineH11Protocol)
            and connection is not self
            and connection._idle()
            and not connection.transport.is_closing()
        ]
        if others:
            # A connection that never completed a request goes before a customer's idle kept-alive one.
            victim = min(others, key=lambda connection: (connection._answered_one, connection._since))
            victim._close("closed to make room for a new connection")
            return
        self._cancel_receipt_deadline()
        self.transport.write(_REFUSAL)
        self.transport.close()
        _closed_log.warning(
            "refused a connection: every open connection is being answered",
            key="refused",
            extra={"max_connections": self.max_connections},
        )

    # -- the receipt deadline ---------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            self._cancel_receipt_deadline()
        elif self.conn.their_state in (h11.IDLE, h11.SEND_BODY):
            self._arm_receipt_deadline()  # a request begun and not yet whole: the clock runs (once)
        else:
            self._cancel_receipt_deadline()

    def on_response_complete(self) -> None:
        self._answered_one = True
        self._since = time.monotonic()
        self._cancel_receipt_deadline()  # uvicorn's keep-alive timeout takes over between requests
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_receipt_deadline()
        super().connection_lost(exc)

    def _arm_receipt_deadline(self) -> None:
        if self._receipt_timer is None:
            self._receipt_timer = self.loop.call_later(self.request_timeout, self._receipt_deadline_passed)

    def _cancel_receipt_deadline(self) -> None:
        if self._receipt_timer is not None:
            self._receipt_timer.cancel()
            self._receipt_timer = None

    def _receipt_deadline_passed(self) -> None:
        self._receipt_timer = None
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            return  # the request arrived whole; it is being answered
        self._close("closed a connection that did not send its request in time")

    def _close(self, reason: str) -> None:
        self._cancel_receipt_deadline()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
        if not self.transport.is_closing():
            self.transport.close()
        _closed_log.info(reason, key=reason, extra={"request_timeout_s": self.request_timeout})


def throttle_loop_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Log the event loop's own errors (a refused ``accept()``: too many open files) at most once a second.

    asyncio reports each failed ``accept()`` through the loop's exception handler, with a traceback;
    under a connection flood that was most of a 132 MB log in a minute. Here each kind of error is
    logged once a second at most, with how many occurred since.
    """
    throttled = Throttled(logging.getLogger("mcp_invoices.server"), interval=1.0)

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message") or "event loop error")
        exception = context.get("exception")
        throttled.error(
            message,
            key=message,
            extra={"error": type(exception).__name__} if exception is not None else {},
        )

    loop.set_exception_handler(handler)
