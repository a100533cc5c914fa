"""The server as its own authorization server: the SDK's OAuth routes over ``auth.oauth``, our sign-in pages.

Two things the SDK's handlers leave out are added around them here, at the ASGI level (so no SDK
internals are touched):

- RFC 9207: every authorization response that leaves ``/authorize`` for the client (an error the SDK
  redirects, our code and ``access_denied`` redirects in ``auth.signin``) carries ``iss``, the issuer
  exactly as the metadata spells it, and the metadata says so
  (``authorization_response_iss_parameter_supported``). A client talking to several authorization
  servers can then tell a response from another one (the mix-up attack).
- RFC 8707 section 2.2: a token request whose ``resource`` is not this server's resource is refused with
  ``invalid_target``. Every code and refresh token is bound at ``/authorize`` to this one resource
  (``AuthorizationServer._check_resource``), so "not the resource bound at /authorize" and "not this
  server's resource" are the same test; the SDK's token handler does not look at ``resource``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from mcp_invoices.auth.oauth import add_issuer, same_resource

if TYPE_CHECKING:
    from mcp.server.auth.settings import ClientRegistrationOptions
    from starlette.applications import Starlette
    from starlette.routing import BaseRoute
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from mcp_invoices.auth.client_metadata import ClientMetadataDocuments
    from mcp_invoices.auth.mail import MailSettings
    from mcp_invoices.auth.oauth import AuthorizationServer
    from mcp_invoices.auth.signin import SignIn
    from mcp_invoices.auth.tokens import TokenStore
    from mcp_invoices.config import HttpAuthConfig
    from mcp_invoices.server.runtime import Runtime

__all__ = ["install_authorization_server", "origin_of"]

logger = logging.getLogger("mcp_invoices.server")

TOKEN_REQUEST_MAX_BYTES = 64 * 1024
"""A token request is a short form (code, verifier, redirect URI, client credentials): far below this."""


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: where this server's authorization server lives."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def install_authorization_server(
    app: Starlette,
    runtime: Runtime,
    auth: HttpAuthConfig,
    store: TokenStore,
    mail: MailSettings | None,
    documents: ClientMetadataDocuments | None = None,
) -> str:
    """Add the OAuth endpoints and the sign-in pages in front of ``app``'s routes; the issuer they announce.

    The issuer is returned exactly as the metadata spells it (with the SDK's trailing slash): clients
    compare the two strings (RFC 8414 section 3.3, RFC 9207 section 2.4) and stop at a mismatch.
    """
    from pydantic import AnyHttpUrl

    issuer_origin = origin_of(auth.resource_url)
    issuer = str(AnyHttpUrl(issuer_origin))
    server = _authorization_server(auth, store, issuer_origin, issuer, documents)
    signin = _sign_in(server, runtime, auth, mail, secure=issuer_origin.startswith("https://"))
    app.router.routes[0:0] = [*_oauth_routes(server, issuer), *signin.routes()]
    return issuer


def _authorization_server(
    auth: HttpAuthConfig,
    store: TokenStore,
    issuer_origin: str,
    issuer: str,
    documents: ClientMetadataDocuments | None,
) -> AuthorizationServer:
    from mcp_invoices.auth.client_metadata import ClientMetadataDocuments, development_from_env
    from mcp_invoices.auth.oauth import AuthorizationServer, OAuthStore
    from mcp_invoices.auth.verifier import SCOPE

    documents = (
        documents if documents is not None else ClientMetadataDocuments(development=development_from_env())
    )
    if documents.development:
        logger.warning(
            "MCP_INVOICES_SIGNIN_DEVELOPMENT=1: client ID metadata documents may be http:// and on loopback or "
            "private addresses (development only)"
        )
    return AuthorizationServer(
        OAuthStore(store, secret_key=auth.secret_key),
        resource_url=auth.resource_url,
        issuer_url=issuer_origin,
        issuer=issuer,
        scopes=[SCOPE],
        documents=documents,
    )


def _sign_in(
    server: AuthorizationServer,
    runtime: Runtime,
    auth: HttpAuthConfig,
    mail: MailSettings | None,
    *,
    secure: bool,
) -> SignIn:
    """The sign-in pages, with each provider's way of vouching for a customer (shop login or email code)."""
    from mcp_invoices.auth.mail import load_mail_settings
    from mcp_invoices.auth.signin import CustomerDirectory, PasswordLogin, SignIn

    directories: dict[str, CustomerDirectory] = {}
    password_logins: dict[str, PasswordLogin] = {}
    without_sign_in: list[str] = []
    for name, provider in runtime.providers.items():
        if hasattr(provider, "customer_login"):
            if auth.secret_key is None:
                logger.warning(
                    f"{name} customers cannot sign in: keeping their shop login needs MCP_INVOICES_SECRET_KEY"
                )
                continue
            password_logins[name] = provider.customer_login
        elif hasattr(provider, "customer_by_email"):
            directories[name] = provider.customer_by_email
        else:
            without_sign_in.append(name)
    mail = mail if mail is not None else load_mail_settings()
    if not mail.can_send:
        logger.warning(
            "sign-in codes cannot be sent: set MCP_INVOICES_SMTP_HOST (and MCP_INVOICES_SMTP_FROM), or "
            "MCP_INVOICES_SIGNIN_LOG_CODES=1 in development; MCP_INVOICES_OAUTH=off turns sign-in off"
        )
    elif mail.log_codes:
        logger.warning(
            "MCP_INVOICES_SIGNIN_LOG_CODES=1: sign-in codes are written to this log (development only)"
        )
    return SignIn(
        server,
        directories,
        mail,
        secure_cookies=secure,
        password_logins=password_logins,
        without_sign_in=without_sign_in,
    )


def _registration() -> ClientRegistrationOptions:
    from mcp.server.auth.settings import ClientRegistrationOptions

    from mcp_invoices.auth.verifier import SCOPE

    return ClientRegistrationOptions(enabled=True, valid_scopes=[SCOPE], default_scopes=[SCOPE])


def _oauth_routes(server: AuthorizationServer, issuer: str) -> list[BaseRoute]:
    """The SDK's routes, with our metadata and revocation, ``iss`` on /authorize, ``resource`` checked at /token."""
    from mcp.server.auth.handlers.metadata import MetadataHandler
    from mcp.server.auth.routes import (
        AUTHORIZATION_PATH,
        REVOCATION_PATH,
        TOKEN_PATH,
        build_metadata,
        cors_middleware,
        create_auth_routes,
    )
    from mcp.server.auth.settings import RevocationOptions
    from pydantic import AnyHttpUrl
    from starlette.routing import Route

    from mcp_invoices.auth.oauth import revocation_endpoint

    revocation = RevocationOptions(enabled=True)
    sdk_routes = create_auth_routes(
        server, AnyHttpUrl(issuer), client_registration_options=_registration(), revocation_options=revocation
    )
    # The SDK's metadata, plus what its builder does not advertise: client ID metadata documents,
    # RFC 9207 `iss`, and the client authentication methods our revocation endpoint accepts.
    metadata = build_metadata(AnyHttpUrl(issuer), None, _registration(), revocation)
    metadata.client_id_metadata_document_supported = True
    metadata.authorization_response_iss_parameter_supported = True
    methods = ["none", "client_secret_post", "client_secret_basic"]
    metadata.revocation_endpoint_auth_methods_supported = methods
    metadata.token_endpoint_auth_methods_supported = methods
    wrappers: dict[str, Callable[[ASGIApp], ASGIApp]] = {
        AUTHORIZATION_PATH: lambda endpoint: IssuerOnRedirects(endpoint, issuer),
        TOKEN_PATH: lambda endpoint: TokenResourceCheck(endpoint, server.resource_url),
    }
    replaced = ("/.well-known/oauth-authorization-server", REVOCATION_PATH)
    routes: list[BaseRoute] = []
    for route in sdk_routes:
        path = getattr(route, "path", None)
        if path in replaced:
            continue
        if path in wrappers and isinstance(route, Route):
            route = Route(path, endpoint=wrappers[path](route.endpoint), methods=list(route.methods or ()))
        routes.append(route)
    routes.append(
        Route(
            "/.well-known/oauth-authorization-server",
            endpoint=cors_middleware(MetadataHandler(metadata).handle, ["GET", "OPTIONS"]),
            methods=["GET", "OPTIONS"],
        )
    )
    routes.append(
        Route(
            REVOCATION_PATH,
            endpoint=cors_middleware(revocation_endpoint(server), ["POST", "OPTIONS"]),
            methods=["POST", "OPTIONS"],
        )
    )
    return routes


class IssuerOnRedirects:
    """RFC 9207: ``iss`` on every redirect ``/authorize`` sends back to the client (errors included).

    A redirect to our own sign-in page is not an authorization response and is left alone.
    """

    def __init__(self, app: ASGIApp, issuer: str) -> None:
        self.app = app
        self.issuer = issuer
        self.own_origin = origin_of(issuer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_issuer(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (302, 303, 307):
                message = {
                    **message,
                    "headers": [self._with_issuer(name, value) for name, value in message["headers"]],
                }
            await send(message)

        await self.app(scope, receive, send_with_issuer)

    def _with_issuer(self, name: bytes, value: bytes) -> tuple[bytes, bytes]:
        if name.lower() != b"location":
            return name, value
        location = value.decode("latin-1")
        if origin_of(location) == self.own_origin:
            return name, value
        return name, add_issuer(location, self.issuer).encode("latin-1")


class TokenResourceCheck:
    """RFC 8707 section 2.2: ``invalid_target`` for a token request naming a resource other than ours.

    The form is read here (bounded), checked, then handed on unchanged to the SDK's token handler.
    """

    def __init__(self, app: ASGIApp, resource_url: str) -> None:
        self.app = app
        self.resource_url = resource_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body, complete = await _read_bounded(receive, TOKEN_REQUEST_MAX_BYTES)
        if not complete:
            if len(body) > TOKEN_REQUEST_MAX_BYTES:  # never a token request: refused unread, unchecked never
                await _too_large()(scope, receive, send)
            return  # otherwise the client went away mid-request: nothing to answer
        refusal = self._refusal(body)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _refusal(self, body: bytes) -> ASGIApp | None:
        from starlette.responses import JSONResponse

        asked = [value for key, value in parse_qsl(body.decode("latin-1")) if key == "resource"]
        if all(same_resource(value, self.resource_url) for value in asked):
            return None
        return JSONResponse(
            {
                "error": "invalid_target",
                "error_description": (
                    f"This authorization server issues tokens only for {self.resource_url}: ask for that "
                    "resource (or leave resource out), as at /authorize."
                ),
            },
            status_code=400,
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )


async def _read_bounded(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The request body up to ``limit`` bytes, and whether that was all of it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks), False
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that first gives back the whole body read, then waits as the original does."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _too_large() -> ASGIApp:
    from starlette.responses import JSONResponse

    return JSONResponse(
        {
            "error": "invalid_request",
            "error_description": f"A token request is a short form; this one is over {TOKEN_REQUEST_MAX_BYTES} bytes.",
        },
        status_code=413,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
