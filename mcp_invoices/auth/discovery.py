"""What an HTTP client finds when it arrives without a token: discovery that leads somewhere.

- The protected-resource metadata (RFC 9728) names an authorization server only when one exists: the
  external issuer configured by environment, and this server itself when it signs customers in
  (``auth/oauth.py``, on unless ``MCP_INVOICES_OAUTH=off``). With printed tokens only there is none to name --
  advertising this server instead sent spec-following clients (mcp-remote) to authorization-server
  metadata and client registration that do not exist, and they stopped there.
- A 401 says what went wrong (no token, expired, not recognised, issued for another resource) and what
  to send: ``Authorization: Bearer <token>``, where such a token comes from, and how with mcp-remote.
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

__all__ = ["install_discovery", "protected_resource_metadata", "unauthorized_advice"]

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

TOKEN_COMMAND = "mcp-invoices token issue --provider <provider> --customer <customer>"


def protected_resource_metadata(
    resource_url: str, external_issuer: str | None, scopes: list[str], own_issuer: str | None = None
) -> dict[str, Any]:
    """RFC 9728 metadata; ``authorization_servers`` only when there is one a client can use: the external
    issuer the deployment configured first (clients take the first), then this server itself
    (``own_issuer``, when it signs customers in)."""
    metadata: dict[str, Any] = {
        "resource": resource_url,
        "scopes_supported": scopes,
        "bearer_methods_supported": ["header"],
        "resource_name": "mcp-invoices",
    }
    servers = [server for server in (external_issuer, own_issuer) if server]
    if servers:
        metadata["authorization_servers"] = servers
    return metadata


UNAUTHORIZED_CODE = -32001
"""The JSON-RPC code of a 401's body (implementation-defined server error range): MCP SDK clients that
read a JSON-RPC error from a non-2xx body (the Python SDK 2.x, so fastmcp 4) show its message."""


def unauthorized_advice(
    problem: str, external_issuer: str | None, resource_url: str, signs_in: bool = False
) -> str:
    """What went wrong with the credentials and what to do, one sentence each (no double quotes: it
    travels inside a quoted-string of WWW-Authenticate)."""
    own = f"printed by `{TOKEN_COMMAND}` on the server"
    source = f"from {external_issuer} (or one {own})" if external_issuer else own
    if signs_in:
        sign_in = f"Sign in again: add {resource_url} in your app by its URL and it opens this server's sign-in page"
        new = f"{sign_in} (or send Authorization: Bearer <token>, with a token {source})."
        if problem == "missing":
            return f"No bearer token was sent. {new}"
        if problem == "expired":
            return f"The bearer token has expired. {new}"
        if problem == "wrong_resource":
            return f"The bearer token was issued for another resource, not {resource_url}. {new}"
        return f"The bearer token is not recognised here (it is unknown or was revoked). {new}"
    send = (
        f"Send the header Authorization: Bearer <token>, with a token {source}; with mcp-remote, add the "
        "arguments --header and Authorization: Bearer <token> after the server URL."
    )
    new = f"Get a new token ({source}) and send it as Authorization: Bearer <token>."
    if problem == "missing":
        return f"No bearer token was sent. {send}"
    if problem == "expired":
        return f"The bearer token has expired. {new}"
    if problem == "wrong_resource":
        return f"The bearer token was issued for another resource, not {resource_url}. {new}"
    return f"The bearer token is not recognised here (it is unknown or was revoked). {new}"


Diagnose = Callable[[str], Awaitable[str]]


def _bearer_token(scope: Message) -> str | None:
    """The token of the request's Authorization: Bearer header, or None (no header, or another scheme)."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None


class _AdviseOnUnauthorized:
    """Every 401 names the problem (no token, expired, not recognised, another resource) and the fix.

    RFC 6750 section 3.1: a request without credentials gets no ``error`` in WWW-Authenticate; any other
    gets ``invalid_token`` with an ``error_description``. The body is a JSON-RPC error whose message is
    that description and whose ``data`` repeats the OAuth fields, so that both MCP SDK clients (which
    surface a JSON-RPC error body) and OAuth clients (which read the header) show it.
    """

    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        external_issuer: str | None,
        resource_url: str,
        diagnose: Diagnose,
        signs_in: bool = False,
    ) -> None:
        self.app = app
        self.external_issuer = external_issuer
        self.resource_url = resource_url
        self.diagnose = diagnose
        self.signs_in = signs_in

    async def __call__(self, scope: Message, receive: Callable[[], Awaitable[Message]], send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in _OAUTH_ENDPOINTS:
            # The token and revocation endpoints' 401s are OAuth answers (invalid_client), not ours.
            await self.app(scope, receive, send)
            return
        rewriting = False

        async def advise(message: Message) -> None:
            nonlocal rewriting
            if message["type"] == "http.response.start" and message["status"] == 401:
                rewriting = True
                token = _bearer_token(scope)
                problem = "missing" if token is None else await self.diagnose(token)
                advice = unauthorized_advice(problem, self.external_issuer, self.resource_url, self.signs_in)
                oauth = (
                    {"error_description": advice}
                    if problem == "missing"
                    else {
                        "error": "invalid_token",
                        "error_description": advice,
                    }
                )
                body = json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "id": None,
                        "error": {
                            "code": UNAUTHORIZED_CODE,
                            "message": advice,
                            "data": {"code": "unauthorized", "problem": problem} | oauth,
                        },
                    }
                ).encode()
                headers = [
                    (
                        name,
                        _challenge(value, problem, advice) if name.lower() == b"www-authenticate" else value,
                    )
                    for name, value in message.get("headers", [])
                    if name.lower() not in (b"content-length", b"content-type")
                ]
                headers += [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ]
                await send({**message, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            if rewriting and message["type"] == "http.response.body":
                return  # the SDK's own body is replaced by ours, sent with the start
            await send(message)

        await self.app(scope, receive, advise)


def _challenge(value: bytes, problem: str, advice: str) -> bytes:
    """The SDK's ``Bearer error=..., error_description=..., resource_metadata=...`` challenge, with the
    error only when credentials were sent and our description."""
    metadata = re.search(rb'resource_metadata="[^"]*"', value)
    parts = (
        [] if problem == "missing" else [b'error="invalid_token"', f'error_description="{advice}"'.encode()]
    )
    if metadata:
        parts.append(metadata.group(0))
    return b"Bearer " + b", ".join(parts) if parts else b"Bearer"


def install_discovery(
    app: Starlette,
    *,
    resource_url: str,
    external_issuer: str | None,
    scopes: list[str],
    diagnose: Diagnose,
    own_issuer: str | None = None,
) -> None:
    """Serve our metadata in place of the SDK's (which always names an issuer) and advise on every 401.

    ``own_issuer``: this server's own authorization server (its routes are added by the caller)."""
    from mcp.server.auth.routes import build_resource_metadata_url
    from pydantic import AnyHttpUrl

    path = str(build_resource_metadata_url(AnyHttpUrl(resource_url))).split("://", 1)[1]
    path = path[path.index("/") :]
    metadata = protected_resource_metadata(resource_url, external_issuer, scopes, own_issuer)

    async def serve_metadata(request: Request) -> Response:
        if request.method == "OPTIONS":  # CORS preflight from browser-based clients
            return Response(status_code=204, headers=_CORS)
        return JSONResponse(metadata, headers=_CORS | {"Cache-Control": "public, max-age=3600"})

    ours = Route(path, endpoint=serve_metadata, methods=["GET", "OPTIONS"])
    routes = app.router.routes
    if not external_issuer and not own_issuer:
        # Clients that find no authorization server fall back to this origin's well-known OAuth paths
        # (the TypeScript SDK 1.x, so mcp-remote, registers a client at /register). There is nothing to
        # register with; the 404 says what to send instead, and the client's error shows it.
        async def no_authorization_server(request: Request) -> Response:
            # mcp-remote shows this body, not the 401's: it names the token's problem too when the client
            # sent one here (mcp-remote sends its --header to every request).
            token = _bearer_token(request.scope)
            problem = "missing" if token is None else await diagnose(token)
            advice = unauthorized_advice(problem, None, resource_url)
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
    app.add_middleware(
        _AdviseOnUnauthorized,
        external_issuer=external_issuer,
        resource_url=resource_url,
        diagnose=diagnose,
        signs_in=own_issuer is not None,
    )


_OAUTH_ENDPOINTS = frozenset({"/token", "/revoke", "/register"})


_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Access-Control-Allow-Headers": "mcp-protocol-version",
}
