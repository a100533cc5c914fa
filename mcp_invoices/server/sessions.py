"""Caps on the handshake-era sessions (``Mcp-Session-Id``) one principal, and all together, may hold open.

The SDK keeps a session (a server task, its streams, its state) from ``initialize`` until the client
deletes it or it has been idle for ``session_idle_timeout``, and refuses every new session, whoever
asks, once 10,000 are open. One customer's token opening sessions without end therefore took the
server from everyone (and ~400 MB with it). Here:

- a principal (one provider and customer) holds at most ``max_sessions_per_principal`` sessions: its
  next ``initialize`` closes its **oldest** session first (a client whose session was closed gets
  404 and, as the protocol says, starts a new one);
- at ``max_sessions`` on this server, a new session closes the oldest session of the principal that
  holds the most, so one customer's flood never keeps another customer out;
- idle sessions close after ``session_idle_timeout`` (the SDK's own timer, set from our setting).

The 2026-07-28 protocol and the stateless handshake of several replicas keep no sessions; nothing
here applies to them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from mcp_invoices.config import HttpLimits
from mcp_invoices.logs import Throttled
from mcp_invoices.server import compat

__all__ = ["SessionLimits", "install_session_limits", "principal_key"]

logger = logging.getLogger("mcp_invoices.server")
_log = Throttled(logger, interval=1.0)

UNKNOWN_PRINCIPAL = "-"


def principal_key() -> str:
    """The provider and customer of the current request's verified token (one key per principal)."""
    from mcp_invoices.auth.verifier import principal_from_access_token

    token = get_access_token()
    if token is None:
        return UNKNOWN_PRINCIPAL
    try:
        scopes = principal_from_access_token(token).scopes
    except (KeyError, TypeError):  # a token without our claims: its subject is the principal
        return f"subject:{token.subject or token.client_id}"
    return "\n".join(f"{scope.provider}:{scope.customer_id}" for scope in scopes)


class SessionLimits:
    """The bookkeeping: which principal opened which session, oldest first."""

    def __init__(
        self,
        manager: StreamableHTTPSessionManager,
        *,
        per_principal: int,
        total: int,
    ) -> None:
        self.manager = manager
        self.per_principal = per_principal
        self.total = total
        self._by_principal: dict[str, dict[str, None]] = {}
        """Each principal's open sessions, in the order they were opened (dicts keep insertion order)."""
        self._principal_of: dict[str, str] = {}
        self.closed = 0
        """Sessions closed to make room (for the tests and the log)."""

    def open_sessions(self, principal: str) -> int:
        return len(self._by_principal.get(principal, ()))

    def admit(self, requestor: Any, admit: Callable[[Any], Any]) -> Any:
        principal = principal_key()
        held = self._by_principal.get(principal, {})
        while len(held) >= self.per_principal:
            self._close(next(iter(held)), "closed a principal's oldest session: it holds its most")
        while len(self._principal_of) >= self.total and self._principal_of:
            greediest = max(self._by_principal.values(), key=len)
            self._close(next(iter(greediest)), "closed the oldest session of the principal holding the most")
        transport = admit(requestor)
        session_id = getattr(transport, "mcp_session_id", None)
        if session_id is not None:
            self._by_principal.setdefault(principal, {})[session_id] = None
            self._principal_of[session_id] = principal
        return transport

    def forget(self, session_id: str) -> None:
        principal = self._principal_of.pop(session_id, None)
        if principal is None:
            return
        held = self._by_principal.get(principal)
        if held is not None:
            held.pop(session_id, None)
            if not held:
                del self._by_principal[principal]

    def _close(self, session_id: str, reason: str) -> None:
        """Close a session now: its ID answers 404 from here on; its task ends in the background."""
        self.forget(session_id)
        self.closed += 1
        transport = compat.drop_session(self.manager, session_id)
        if transport is not None:
            compat.end_session_soon(self.manager, session_id, transport)
        _log.info(
            reason,
            key=reason,
            extra={"max_sessions_per_principal": self.per_principal, "max_sessions": self.total},
        )


def install_session_limits(manager: StreamableHTTPSessionManager, limits: HttpLimits) -> SessionLimits:
    """Put ``limits``' session caps on ``manager`` (built by ``streamable_http_app``)."""
    session_limits = SessionLimits(
        manager, per_principal=limits.max_sessions_per_principal, total=limits.max_sessions
    )

    def on_discard(session_id: str, discard: Callable[[], Awaitable[None]]) -> Awaitable[None]:
        session_limits.forget(session_id)
        return discard()

    compat.wrap_session_admission(manager, admit=session_limits.admit, on_discard=on_discard)
    return session_limits
