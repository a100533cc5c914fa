"""What a running server holds: its enabled providers, opened once per process.

The MCP layer asks the runtime for the provider of a scope; providers never see MCP types.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from mcp_invoices.config import Config
from mcp_invoices.domain.errors import InvalidArgument
from mcp_invoices.principal import Principal, Scope
from mcp_invoices.providers.base import InvoiceProvider
from mcp_invoices.providers.catalog import spec
from mcp_invoices.replicas import InProcessSharedState, SharedState

__all__ = ["Runtime", "environment_principal", "open_runtime"]

logger = logging.getLogger("mcp_invoices.runtime")

TOKEN_SCOPED = "(provider session token)"
"""Customer marker for providers whose credential is itself one customer's (Polar, Bagisto over stdio)."""


@dataclass
class Runtime:
    config: Config
    providers: Mapping[str, InvoiceProvider]
    shared: SharedState = field(default_factory=InProcessSharedState)
    """Documents, provider sessions, budgets and generation locks: in Redis when replicas share them."""

    def provider(self, scope: Scope) -> InvoiceProvider:
        try:
            return self.providers[scope.provider]
        except KeyError:
            raise InvalidArgument(f"Provider {scope.provider!r} is not enabled on this server.") from None

    @property
    def any_remote(self) -> bool:
        return any(provider.info.remote for provider in self.providers.values())


def environment_principal(config: Config) -> Principal:
    """The principal of a stdio session: one scope per enabled provider, from the environment."""
    scopes: list[Scope] = []
    if config.local_enabled:
        scopes.append(Scope("local", config.local_customer))
    for remote in config.remote:
        scopes.append(Scope(remote.provider, remote.customer_id or TOKEN_SCOPED))
    return Principal(subject="stdio", authenticated_by="environment", scopes=tuple(scopes))


@contextlib.asynccontextmanager
async def open_runtime(config: Config, shared: SharedState | None = None) -> AsyncIterator[Runtime]:
    """The providers of ``config``; ``shared`` (default: this process's memory) is what replicas share."""
    shared = shared if shared is not None else InProcessSharedState()
    providers: dict[str, InvoiceProvider] = {}
    try:
        if config.local_enabled:
            from mcp_invoices.providers.local.provider import (
                open_local_provider,  # SQLAlchemy only when local
            )

            # The SQLite ledger opens on first use (start-up stays quick); PostgreSQL is checked at start,
            # so a schema that is behind or a database that is down stops the server at once.
            providers["local"] = await open_local_provider(
                config.database_url,
                seed=config.seed_sample_data,
                auto_migrate=config.auto_migrate,
                lazy=config.database_url.startswith("sqlite"),
            )
        for remote in config.remote:
            # Each provider's requests draw from its own budget: one for all replicas when shared.
            budget = shared.budget(remote.provider, int(remote.options["rate_limit_per_minute"]))
            implementation = spec(remote.provider).implementation()
            providers[remote.provider] = implementation.from_config(remote, shared=shared, budget=budget)
        yield Runtime(config=config, providers=providers, shared=shared)
    finally:
        for provider in providers.values():
            with contextlib.suppress(Exception):
                await provider.aclose()
