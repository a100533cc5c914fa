"""Running the server: stdio for MCP hosts, streamable HTTP (always authenticated) for many clients."""

from __future__ import annotations

import gc
import logging
from typing import TYPE_CHECKING

from mcp.server.mcpserver import Context

from mcp_invoices.config import Config, HttpAuthConfig, HttpLimits, StreamLimits, load_stream_limits
from mcp_invoices.principal import Principal
from mcp_invoices.server.app import build_server
from mcp_invoices.server.runtime import environment_principal, open_runtime
from mcp_invoices.shared import SharedSettings, load_shared_settings, open_shared_state

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from mcp_invoices.auth.client_metadata import ClientMetadataDocuments
    from mcp_invoices.auth.mail import MailSettings
    from mcp_invoices.auth.tokens import TokenStore
    from mcp_invoices.server.runtime import Runtime

__all__ = ["serve_stdio", "serve_http", "build_http_app"]

logger = logging.getLogger("mcp_invoices.server")

KEEP_ALIVE_SECONDS = 75
"""How long an idle HTTP connection stays open. Longer than the clients' and load balancers' own idle
timeouts (Node's fetch: 4 s; proxies: 60 s), so that it is always the client that closes: with
uvicorn's 5 s a busy server closed connections a TypeScript client was about to reuse, and calls
failed with "fetch failed: other side closed"."""


async def serve_stdio(config: Config) -> None:
    """Serve one session over stdin/stdout until stdin closes: the process environment is the principal."""
    principal = environment_principal(config)

    def resolve(ctx: Context) -> Principal:
        return principal

    async with open_shared_state(load_shared_settings()) as shared, open_runtime(config, shared) as runtime:
        server = build_server(runtime, resolve)
        logger.info("serving over stdio", extra={"providers": ",".join(runtime.providers)})
        _freeze_start_up_objects()
        await server.run_stdio_async()


def _freeze_start_up_objects() -> None:
    """Take what start-up built (modules, schemas, the server) out of the garbage collector's walks.

    Those objects live as long as the process; left in the collector's generations, every full
    collection walks all ~100,000 of them again (measured in-process: 16 ms of GC per 5,000-invoice
    summary, 3.8 ms frozen). Objects made later are collected as usual. ``gc.freeze`` is constant
    time: nothing is collected first, so start-up pays nothing.
    """
    gc.freeze()


def token_principal(ctx: Context) -> Principal:
    """The principal of an HTTP request: the verified bearer token's, and nothing else."""
    from mcp.server.auth.middleware.auth_context import get_access_token

    from mcp_invoices.auth.verifier import principal_from_access_token

    token = get_access_token()
    if token is None:  # unreachable behind RequireAuthMiddleware; refuse rather than guess
        raise PermissionError("no verified bearer token on this request")
    return principal_from_access_token(token)


def build_http_app(
    runtime: Runtime,
    auth: HttpAuthConfig,
    store: TokenStore,
    host: str,
    shared_settings: SharedSettings | None = None,
    limits: HttpLimits | None = None,
    stream_limits: StreamLimits | None = None,
    mail: MailSettings | None = None,
    client_documents: ClientMetadataDocuments | None = None,
) -> Starlette:
    """The Starlette app: /mcp behind bearer auth, protected-resource metadata, /healthz, and (unless
    turned off) the server's own authorization server with its sign-in pages."""
    from mcp.server.auth.settings import AuthSettings
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from mcp_invoices.auth.discovery import install_discovery
    from mcp_invoices.auth.verifier import SCOPE, InvoiceTokenVerifier, JwtSettings
    from mcp_invoices.server import compat, replicas
    from mcp_invoices.server.dependencies import ServiceUnavailableResponses
    from mcp_invoices.server.revocation import install_revocation_watch
    from mcp_invoices.server.sessions import install_session_limits
    from mcp_invoices.server.streams import event_log_for, install_resumable_streams, stop_when_client_leaves

    shared_settings = shared_settings if shared_settings is not None else load_shared_settings()
    jwt_settings = (
        JwtSettings(
            issuer=auth.jwt_issuer, audience=auth.jwt_audience or auth.resource_url, jwks_url=auth.jwks_url
        )
        if auth.jwt_issuer and auth.jwks_url
        else None
    )
    verifier = InvoiceTokenVerifier(store, resource_url=auth.resource_url, jwt_settings=jwt_settings)
    server = build_server(
        runtime,
        token_principal,
        token_verifier=verifier,
        auth=AuthSettings(
            # Required by the SDK; what clients are told is install_discovery's (below).
            issuer_url=auth.issuer_url or auth.resource_url,
            resource_server_url=auth.resource_url,
            required_scopes=[SCOPE],
            validate_token_resource=True,
        ),
        # Replicas: requestState sealed with keys every replica shares (see server/replicas.py).
        request_state_security=replicas.request_state_security(shared_settings),
    )

    async def health(request: Request) -> JSONResponse:
        status, body = await replicas.health(store, runtime.shared, sorted(runtime.providers))
        return JSONResponse(body, status_code=status)

    server.custom_route("/healthz", methods=["GET"])(health)

    limits = limits if limits is not None else HttpLimits()
    stream_limits = stream_limits if stream_limits is not None else load_stream_limits()
    stateless = replicas.stateless_handshake(shared_settings)
    app = server.streamable_http_app(
        host=host,
        stateless_http=stateless,
        session_idle_timeout=limits.session_idle_timeout,
        max_sessions=limits.max_sessions,
        retry_interval=stream_limits.retry_ms,
    )
    install_session_limits(compat.session_manager(server), limits)
    compat.add_middleware(server, stop_when_client_leaves)  # a client that left cannot resume: its call stops
    # SEP-1699: POST streams primed and kept (Redis with replicas), resumed with Last-Event-ID anywhere.
    install_resumable_streams(
        compat.session_manager(server), event_log_for(runtime.shared, stream_limits), stateless=stateless
    )
    app.add_middleware(ServiceUnavailableResponses)
    # Outermost: a withdrawn token's open streams and sessions end within seconds.
    install_revocation_watch(app, verifier.verify_token, lambda: compat.session_manager(server))
    own_issuer = (
        install_authorization_server(app, runtime, auth, store, mail, client_documents)
        if auth.own_authorization_server
        else None
    )
    install_discovery(
        app,
        resource_url=auth.resource_url,
        external_issuer=auth.issuer_url,
        scopes=[SCOPE],
        diagnose=verifier.diagnose,
        own_issuer=own_issuer,
    )
    return app


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: where this server's authorization server lives."""
    from urllib.parse import urlsplit

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
    """Add the OAuth endpoints (the SDK's handlers over ``auth.oauth``) and the sign-in pages; the issuer."""
    from mcp.server.auth.routes import create_auth_routes
    from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions
    from pydantic import AnyHttpUrl

    from mcp_invoices.auth.client_metadata import ClientMetadataDocuments, development_from_env
    from mcp_invoices.auth.mail import load_mail_settings
    from mcp_invoices.auth.oauth import AuthorizationServer, OAuthStore
    from mcp_invoices.auth.signin import CustomerDirectory, PasswordLogin, SignIn
    from mcp_invoices.auth.verifier import SCOPE

    issuer = origin_of(auth.resource_url)
    documents = (
        documents if documents is not None else ClientMetadataDocuments(development=development_from_env())
    )
    if documents.development:
        logger.warning(
            "MCP_INVOICES_SIGNIN_DEVELOPMENT=1: client ID metadata documents may be http:// and on loopback or "
            "private addresses (development only)"
        )
    server = AuthorizationServer(
        OAuthStore(store, secret_key=auth.secret_key),
        resource_url=auth.resource_url,
        issuer_url=issuer,
        scopes=[SCOPE],
        documents=documents,
    )
    directories: dict[str, CustomerDirectory] = {}
    password_logins: dict[str, PasswordLogin] = {}
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
    signin = SignIn(
        server,
        directories,
        mail,
        secure_cookies=issuer.startswith("https://"),
        password_logins=password_logins,
    )
    routes = create_auth_routes(
        server,
        AnyHttpUrl(issuer),
        client_registration_options=ClientRegistrationOptions(
            enabled=True, valid_scopes=[SCOPE], default_scopes=[SCOPE]
        ),
        revocation_options=RevocationOptions(enabled=True),
    )
    from mcp.server.auth.handlers.metadata import MetadataHandler
    from mcp.server.auth.routes import REVOCATION_PATH, build_metadata, cors_middleware
    from starlette.routing import Route

    from mcp_invoices.auth.oauth import revocation_endpoint

    # The SDK's metadata, plus client ID metadata documents (which the SDK's builder does not advertise).
    metadata = build_metadata(
        AnyHttpUrl(issuer),
        None,
        ClientRegistrationOptions(enabled=True, valid_scopes=[SCOPE], default_scopes=[SCOPE]),
        RevocationOptions(enabled=True),
    )
    metadata.client_id_metadata_document_supported = True
    metadata.revocation_endpoint_auth_methods_supported = [
        "none",
        "client_secret_post",
        "client_secret_basic",
    ]
    metadata.token_endpoint_auth_methods_supported = ["none", "client_secret_post", "client_secret_basic"]
    replaced = ("/.well-known/oauth-authorization-server", REVOCATION_PATH)
    routes = [route for route in routes if getattr(route, "path", None) not in replaced]
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
    app.router.routes[0:0] = [*routes, *signin.routes()]
    # The issuer exactly as the SDK's authorization-server metadata spells it (with its trailing slash):
    # clients compare the two strings (RFC 8414 section 3.3) and stop at a mismatch.
    return str(AnyHttpUrl(issuer))


async def serve_http(config: Config, auth: HttpAuthConfig, host: str, port: int) -> None:
    """Serve streamable HTTP at /mcp until interrupted; every request must carry a valid bearer token."""
    import asyncio

    import uvicorn

    from mcp_invoices.auth.tokens import TokenStore
    from mcp_invoices.config import load_http_limits
    from mcp_invoices.server.connections import (
        DeadlineH11Protocol,
        accept_backlog,
        connection_cap,
        raise_open_files_limit,
        throttle_loop_errors,
    )

    limits = load_http_limits()
    open_files = raise_open_files_limit()
    cap = connection_cap(open_files, limits.max_connections)
    throttle_loop_errors(asyncio.get_running_loop())
    store = TokenStore(config.database_url, secret_key=auth.secret_key, auto_migrate=config.auto_migrate)
    shared_settings = load_shared_settings()
    async with open_shared_state(shared_settings) as shared, open_runtime(config, shared) as runtime:
        app = build_http_app(runtime, auth, store, host, shared_settings, limits)
        uvicorn_config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            lifespan="on",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            http=DeadlineH11Protocol.configured(limits, cap),
            backlog=accept_backlog(open_files),
        )
        shown_host = f"[{host}]" if ":" in host else host
        logger.info(
            f"listening on http://{shown_host}:{port}/mcp (streamable HTTP)",
            extra={
                "resource": auth.resource_url,
                "providers": ",".join(runtime.providers),
                "shared_state": shared.description,
                "max_connections": cap,
                "open_files_limit": open_files,
                "request_timeout_s": limits.request_timeout,
            },
        )
        _freeze_start_up_objects()
        await uvicorn.Server(uvicorn_config).serve()
