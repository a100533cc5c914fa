"""Running the server: stdio for MCP hosts, streamable HTTP (always authenticated) for many clients."""

from __future__ import annotations

import gc
import logging
from typing import TYPE_CHECKING

from mcp.server.mcpserver import Context

from mcp_invoices.config import Config, HttpAuthConfig, HttpLimits, StreamLimits, load_stream_limits
from mcp_invoices.principal import Principal
from mcp_invoices.replicas import SharedSettings, load_shared_settings, open_shared_state
from mcp_invoices.server.app import build_server
from mcp_invoices.server.runtime import environment_principal, open_runtime

if TYPE_CHECKING:
    from mcp.server import MCPServer
    from starlette.applications import Starlette

    from mcp_invoices.auth.client_metadata import ClientMetadataDocuments
    from mcp_invoices.auth.mail import MailSettings
    from mcp_invoices.auth.tokens import TokenStore
    from mcp_invoices.auth.verifier import InvoiceTokenVerifier
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


def token_verifier(auth: HttpAuthConfig, store: TokenStore) -> InvoiceTokenVerifier:
    """What checks a bearer token: our own tokens, and an external issuer's JWTs when one is configured."""
    from mcp_invoices.auth.verifier import InvoiceTokenVerifier, JwtSettings

    jwt_settings = (
        JwtSettings(
            issuer=auth.jwt_issuer, audience=auth.jwt_audience or auth.resource_url, jwks_url=auth.jwks_url
        )
        if auth.jwt_issuer and auth.jwks_url
        else None
    )
    return InvoiceTokenVerifier(store, resource_url=auth.resource_url, jwt_settings=jwt_settings)


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
    from mcp_invoices.auth.discovery import install_discovery
    from mcp_invoices.auth.install import install_authorization_server
    from mcp_invoices.auth.verifier import SCOPE
    from mcp_invoices.server import compat
    from mcp_invoices.server.dependencies import ServiceUnavailableResponses
    from mcp_invoices.server.revocation import install_revocation_watch

    shared_settings = shared_settings if shared_settings is not None else load_shared_settings()
    verifier = token_verifier(auth, store)
    server = _http_server(runtime, auth, store, verifier, shared_settings)
    app = _mcp_endpoint(server, runtime, host, limits or HttpLimits(), stream_limits, shared_settings)
    app.add_middleware(ServiceUnavailableResponses)
    # Outermost: a withdrawn token's open streams and sessions end within seconds.
    install_revocation_watch(app, verifier.verify_token, lambda: compat.session_manager(server))
    own = auth.own_authorization_server
    own_issuer = (
        install_authorization_server(app, runtime, auth, store, mail, client_documents) if own else None
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


def _http_server(
    runtime: Runtime,
    auth: HttpAuthConfig,
    store: TokenStore,
    verifier: InvoiceTokenVerifier,
    shared_settings: SharedSettings,
) -> MCPServer:
    """The MCP server behind bearer auth, its ``requestState`` sealed with keys every replica shares,
    and ``/healthz``."""
    from mcp.server.auth.settings import AuthSettings
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from mcp_invoices.auth.verifier import SCOPE
    from mcp_invoices.replicas import http as replicas

    server = build_server(
        runtime,
        token_principal,
        token_verifier=verifier,
        auth=AuthSettings(
            # Required by the SDK; what clients are told is install_discovery's (in build_http_app).
            issuer_url=auth.issuer_url or auth.resource_url,
            resource_server_url=auth.resource_url,
            required_scopes=[SCOPE],
            validate_token_resource=True,
        ),
        # Replicas: requestState sealed with keys every replica shares (see replicas/http.py).
        request_state_security=replicas.request_state_security(shared_settings),
    )

    async def health(request: Request) -> JSONResponse:
        status, body = await replicas.health(store, runtime.shared, sorted(runtime.providers))
        return JSONResponse(body, status_code=status)

    server.custom_route("/healthz", methods=["GET"])(health)
    return server


def _mcp_endpoint(
    server: MCPServer,
    runtime: Runtime,
    host: str,
    limits: HttpLimits,
    stream_limits: StreamLimits | None,
    shared_settings: SharedSettings,
) -> Starlette:
    """The SDK's streamable HTTP app at /mcp: sessions bounded, streams resumable on any replica."""
    from mcp_invoices.replicas import http as replicas
    from mcp_invoices.server import compat
    from mcp_invoices.server.sessions import install_session_limits
    from mcp_invoices.server.streams import event_log_for, install_resumable_streams, stop_when_client_leaves

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
    return app


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
