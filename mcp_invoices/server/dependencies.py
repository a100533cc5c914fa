"""A request whose own dependency fails before a tool runs (the token store, while verifying the bearer
token) gets a coded 503, never a bare ``500 Internal Server Error``.

Tool calls have their own boundary (``server/app.py``); this covers what runs before it: Starlette's
authentication middleware lets any exception but its own through to the server-error handler.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_invoices.domain.errors import ServiceUnavailable

__all__ = ["ServiceUnavailableResponses", "RETRY_AFTER_SECONDS"]

RETRY_AFTER_SECONDS = 5


class ServiceUnavailableResponses:
    """ASGI middleware: ``ServiceUnavailable`` raised before a response began becomes a JSON 503."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except ServiceUnavailable as error:
            if started:
                raise
            await _respond(send, error)


async def _respond(send: Send, error: ServiceUnavailable) -> None:
    body: dict[str, Any] = {
        "error": error.code,
        "error_description": error.message,
        **({"hint": error.hint} if error.hint else {}),
    }
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
