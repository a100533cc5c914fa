"""What a running server holds: its enabled providers, opened once per process.

The MCP layer asks the runtime for the provider of a scope; providers never see MCP types.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field

from mcp_invoices.config import Config, ConfigError
from mcp_invoices.domain.errors import InvalidArgument
from mcp_invoices.principal import Principal, Scope
from mcp_invoices.providers.base import InvoiceProvider
from mcp_invoices.providers.paging import set_budget
from mcp_invoices.shared import InProcessSharedState, SharedState

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


def _remote_factories() -> Mapping[str, Callable[..., InvoiceProvider]]:
    """Remote provider constructors, imported only when one is configured (start-up stays lean)."""
    from mcp_invoices.providers.registry import FACTORIES

    return FACTORIES


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
        if config.remote:
            factories = _remote_factories()
            for remote in config.remote:
                factory = factories.get(remote.provider)
                if factory is None:
                    raise ConfigError(f"Provider {remote.provider!r} is configured but this build cannot serve it yet.")
                providers[remote.provider] = factory(remote, shared)
                set_budget(remote.provider, shared.budget(remote.provider, int(remote.options["rate_limit_per_minute"])))
        yield Runtime(config=config, providers=providers, shared=shared)
    finally:
        for remote in config.remote:
            set_budget(remote.provider, None)
        for provider in providers.values():
            with contextlib.suppress(Exception):
                await provider.aclose()
