"""What an HTTP client finds when it arrives without a token: discovery that leads somewhere.

- The protected-resource metadata (RFC 9728) names an authorization server only when one exists: the
  external issuer configured by environment. With the server's own tokens there is none to name --
  advertising this server instead sent spec-following clients (mcp-remote) to authorization-server
  metadata and client registration that do not exist, and they stopped there.
- A 401 says what to send: ``Authorization: Bearer <token>``, and where such a token comes from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["install_discovery", "missing_token_advice", "protected_resource_metadata"]

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

TOKEN_COMMAND = "mcp-invoices token issue --provider <provider> --customer <customer>"


def missing_token_advice(external_issuer: str | None) -> str:
    """The 401's error_description: what to send, and where the token comes from (no double quotes:
    it travels inside a quoted-string of WWW-Authenticate)."""
    own = f"printed by `{TOKEN_COMMAND}` on the server"
    source = f"from {external_issuer} (or one {own})" if external_issuer else own
    return f"Send the header Authorization: Bearer <token>, with a token {source}."


def protected_resource_metadata(
    resource_url: str, external_issuer: str | None, scopes: list[str]
) -> dict[str, Any]:
    """RFC 9728 metadata; ``authorization_servers`` only when there is one a client can use."""
    metadata: dict[str, Any] = {
        "resource": resource_url,
        "scopes_supported": scopes,
        "bearer_methods_supported": ["header"],
        "resource_name": "mcp-invoices",
    }
    if external_issuer:
        metadata["authorization_servers"] = [external_issuer]
    return metadata


class _AdviseOnUnauthorized:
    """Rewrites the error_description of every 401 (header and body) to say what to send."""

    def __init__(self, app: Callable[..., Awaitable[None]], advice: str) -> None:
        self.app = app
        self.advice = advice

    async def __call__(self, scope: Message, receive: Callable[[], Awaitable[Message]], send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rewriting = False
        body = json.dumps({"error": "invalid_token", "error_description": self.advice}).encode()

        async def advise(message: Message) -> None:
            nonlocal rewriting
            if message["type"] == "http.response.start" and message["status"] == 401:
                rewriting = True
                headers = []
                for name, value in message.get("headers", []):
                    if name.lower() == b"www-authenticate":
                        value = re.sub(
                            rb'error_description="[^"]*"',
                            f'error_description="{self.advice}"'.encode(),
                            value,
                        )
                    if name.lower() != b"content-length":
                        headers.append((name, value))
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**message, "headers": headers})
                return
            if rewriting and message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, advise)


def install_discovery(
    app: Starlette, *, resource_url: str, external_issuer: str | None, scopes: list[str]
) -> None:
    """Serve our metadata in place of the SDK's (which always names an issuer) and advise on every 401."""
    from mcp.server.auth.routes import build_resource_metadata_url
    from pydantic import AnyHttpUrl

    path = str(build_resource_metadata_url(AnyHttpUrl(resource_url))).split("://", 1)[1]
    path = path[path.index("/") :]
    metadata = protected_resource_metadata(resource_url, external_issuer, scopes)

    async def serve_metadata(request: Request) -> Response:
        if request.method == "OPTIONS":  # CORS preflight from browser-based clients
            return Response(status_code=204, headers=_CORS)
        return JSONResponse(metadata, headers=_CORS | {"Cache-Control": "public, max-age=3600"})

    ours = Route(path, endpoint=serve_metadata, methods=["GET", "OPTIONS"])
    routes = app.router.routes
    if not external_issuer:
        # Clients that find no authorization server fall back to this origin's well-known OAuth paths
        # (the TypeScript SDK 1.x, so mcp-remote, registers a client at /register). There is nothing to
        # register with; the 404 says what to send instead, and the client's error shows it.
        advice = missing_token_advice(None)

        async def no_authorization_server(request: Request) -> Response:
            return JSONResponse(
                {
                    "error": "not_found",
                    "error_description": f"This server is not an OAuth authorization server. {advice}",
                },
                status_code=404,
            )

        for oauth_path in ("/register", "/authorize", "/token", "/.well-known/oauth-authorization-server"):
            routes.append(Route(oauth_path, endpoint=no_authorization_server, methods=["GET", "POST"]))
    replaced = [index for index, route in enumerate(routes) if getattr(route, "path", None) == path]
    if replaced:
        routes[replaced[0]] = ours
    else:
        routes.insert(0, ours)
    app.add_middleware(_AdviseOnUnauthorized, advice=missing_token_advice(external_issuer))


_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Access-Control-Allow-Headers": "mcp-protocol-version",
}
