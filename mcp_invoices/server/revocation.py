"""A revoked (or expired) token's open streams and sessions end within seconds, on every replica.

Every request's token is verified when the request arrives; a request that stays open (a GET event
stream, a long POST answered as server-sent events) was never looked at again, so a revoked token
kept receiving events. Here every open request is registered with its token; every
``REVALIDATE_SECONDS`` the tokens of the open requests are verified again (against the database,
which every replica shares), and the requests and handshake sessions of a token that no longer
verifies are ended: a stream gets its last chunk and closes, a session is forgotten (404 from then).
A database that does not answer leaves streams as they are: only a token known to be withdrawn
ends them.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_invoices.domain.errors import ServiceUnavailable
from mcp_invoices.logs import Throttled
from mcp_invoices.server import compat

__all__ = ["RevocationWatch", "REVALIDATE_SECONDS", "install_revocation_watch"]

logger = logging.getLogger("mcp_invoices.server")
_log = Throttled(logger, interval=1.0)

REVALIDATE_SECONDS = 2.0


class _Open:
    __slots__ = ("token", "cancel", "asgi_scope")

    def __init__(self, token: str, cancel: anyio.CancelScope, asgi_scope: Scope) -> None:
        self.token, self.cancel, self.asgi_scope = token, cancel, asgi_scope

    def client_id(self) -> str | None:
        """The verified token's client id, once the authentication middleware has put the user in scope."""
        user = self.asgi_scope.get("user")
        access_token = getattr(user, "access_token", None)
        return getattr(access_token, "client_id", None)


class RevocationWatch:
    """ASGI middleware that registers open requests, and the task that ends a withdrawn token's."""

    def __init__(
        self,
        app: ASGIApp,
        verify: Callable[[str], Any],
        sessions: Callable[[], Any] | None = None,
        interval: float = REVALIDATE_SECONDS,
    ) -> None:
        self.app, self._verify, self._sessions, self.interval = app, verify, sessions, interval
        self._open: set[_Open] = set()
        self.ended = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _bearer(scope) if scope["type"] == "http" else None
        if token is None:
            await self.app(scope, receive, send)
            return
        state = {"started": False, "finished": False}

        async def watched_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                state["finished"] = True
            await send(message)

        with anyio.CancelScope() as cancel:
            entry = _Open(token, cancel, scope)
            self._open.add(entry)
            try:
                await self.app(scope, receive, watched_send)
            finally:
                self._open.discard(entry)
        if cancel.cancelled_caught and state["started"] and not state["finished"]:
            with contextlib.suppress(Exception):  # the client may have gone already
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def run(self) -> None:
        """Verify the open requests' tokens again every ``interval`` seconds, until cancelled."""
        while True:
            await anyio.sleep(self.interval)
            tokens = {entry.token for entry in self._open}
            for token in tokens:
                try:
                    verified = await self._verify(token)
                except ServiceUnavailable:
                    continue  # not known to be withdrawn: leave its streams
                except Exception as error:
                    _log.warning(
                        "could not re-verify an open stream's token",
                        key="error",
                        extra={"error": type(error).__name__},
                    )
                    continue
                if verified is not None and not (
                    verified.expires_at and verified.expires_at < int(time.time())
                ):
                    continue
                self._end(token)

    def _end(self, token: str) -> None:
        ended = [entry for entry in self._open if entry.token == token]
        for entry in ended:
            entry.cancel.cancel()
        self.ended += len(ended)
        client_ids = {client_id for entry in ended if (client_id := entry.client_id()) is not None}
        manager = self._sessions() if self._sessions is not None else None
        closed = compat.drop_sessions_of(manager, client_ids) if manager is not None and client_ids else 0
        _log.info(
            "ended the open requests and sessions of a withdrawn token",
            key="ended",
            extra={"requests": len(ended), "sessions": closed},
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with anyio.create_task_group() as group:
            group.start_soon(self.run)
            try:
                yield
            finally:
                group.cancel_scope.cancel()


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            text = value.decode("latin-1")
            if text[:7].lower() == "bearer ":
                return text[7:].strip() or None
    return None


def install_revocation_watch(
    app: Starlette, verify: Callable[[str], Any], sessions: Callable[[], Any]
) -> dict[str, RevocationWatch]:
    """Wrap ``app``'s middleware with the watch and run its task for as long as the app's lifespan."""
    holder: dict[str, RevocationWatch] = {}

    def build(inner: ASGIApp) -> RevocationWatch:
        holder["watch"] = RevocationWatch(inner, verify, sessions)
        return holder["watch"]

    app.add_middleware(_Factory, build=build)
    original = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(asgi_app: Any) -> AsyncIterator[Any]:
        async with original(asgi_app) as state:
            watch = holder.get("watch")  # built with the middleware stack, on the app's first (lifespan) call
            if watch is None:
                yield state
                return
            async with watch.running():
                yield state

    app.router.lifespan_context = lifespan
    return holder


class _Factory:
    """Starlette instantiates middleware with the inner app; this hands it to ``build``."""

    def __new__(cls, app: ASGIApp, build: Callable[[ASGIApp], RevocationWatch]) -> RevocationWatch:  # type: ignore[misc]
        return build(app)
