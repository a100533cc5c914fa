"""Running the server: stdio for MCP hosts, streamable HTTP for many clients."""

from __future__ import annotations

import logging

from mcp.server.mcpserver import Context
from starlette.requests import Request
from starlette.responses import JSONResponse

from mcp_invoices.config import Config
from mcp_invoices.principal import Principal
from mcp_invoices.server.app import build_server
from mcp_invoices.server.runtime import environment_principal, open_runtime

__all__ = ["serve_stdio", "serve_http"]

logger = logging.getLogger("mcp_invoices.server")


async def serve_stdio(config: Config) -> None:
    """Serve one session over stdin/stdout until stdin closes."""
    principal = environment_principal(config)

    def resolve(ctx: Context) -> Principal:
        return principal

    async with open_runtime(config) as runtime:
        server = build_server(runtime, resolve)
        logger.info("serving over stdio", extra={"providers": ",".join(runtime.providers)})
        await server.run_stdio_async()


async def serve_http(config: Config, host: str, port: int) -> None:
    """Serve streamable HTTP at /mcp (and /healthz for load balancers) until interrupted."""
    import uvicorn

    principal = environment_principal(config)

    def resolve(ctx: Context) -> Principal:
        return principal

    async with open_runtime(config) as runtime:
        server = build_server(runtime, resolve)

        @server.custom_route("/healthz", methods=["GET"])
        async def health(request: Request) -> JSONResponse:
            return JSONResponse({"status": "ok", "providers": sorted(runtime.providers)})

        app = server.streamable_http_app(host=host)
        uvicorn_config = uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on")
        logger.info("serving streamable HTTP", extra={"url": f"http://{host}:{port}/mcp"})
        await uvicorn.Server(uvicorn_config).serve()
