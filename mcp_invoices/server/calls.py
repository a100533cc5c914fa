"""What a tool call acts for and with, injected into tool functions.

A tool is a plain async function whose first parameter is a ``Call``: the verified principal (never an
argument), the runtime's providers, today's date and the call's progress channel. The MCP server
fills it per request (``CurrentCall``); tests may build one directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context, Resolve

from mcp_invoices.principal import Principal, Scope
from mcp_invoices.providers.base import InvoiceProvider, Progress, no_progress
from mcp_invoices.server.runtime import Runtime

__all__ = ["Call", "CurrentCall", "InvoiceServer", "PrincipalResolver", "Services", "today_utc"]

PrincipalResolver = Callable[[Context], Principal]


def today_utc() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True, slots=True)
class Services:
    """What every call of one server shares."""

    runtime: Runtime
    resolve_principal: PrincipalResolver
    clock: Callable[[], date] = today_utc


@dataclass(frozen=True, slots=True)
class Call:
    runtime: Runtime
    principal: Principal
    today: date
    progress: Progress = no_progress

    def provider(self, provider: str | None) -> tuple[Scope, InvoiceProvider]:
        """The session's scope at ``provider`` (or its only one) and the provider that serves it."""
        scope = self.principal.scope_for(provider)
        return scope, self.runtime.provider(scope)


class InvoiceServer(MCPServer):
    """An ``MCPServer`` that carries the services its tools are called with."""

    def __init__(self, services: Services, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.services = services


async def current_call(ctx: Context) -> Call:  # async: no worker-thread hop per call
    server = ctx.mcp_server
    if not isinstance(server, InvoiceServer):  # a wiring mistake, never a client's
        raise TypeError("tool functions run only on an InvoiceServer")
    services = server.services

    async def progress(done: float, total: float | None, message: str) -> None:
        await ctx.report_progress(done, total, message)

    return Call(
        runtime=services.runtime,
        principal=services.resolve_principal(ctx),
        today=services.clock(),
        progress=progress,
    )


CurrentCall = Annotated[Call, Resolve(current_call)]
