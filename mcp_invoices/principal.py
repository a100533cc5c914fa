"""Who a request acts for: resolved by the server, never taken from a tool argument.

Over stdio the principal comes from the process environment (one scope per enabled provider);
over HTTP it comes from the verified bearer token (exactly one scope). Every provider call
receives the ``Scope`` explicitly, so scoping is visible in one argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import SecretStr

from mcp_invoices.domain.errors import InvalidArgument

__all__ = ["Scope", "Principal"]


@dataclass(frozen=True, slots=True)
class Scope:
    """The session's identity at one provider."""

    provider: str
    customer_id: str | None
    """The one customer this session is; ``None`` only for the local ledger's owner, who sees all."""
    credential: SecretStr | None = field(default=None, compare=False, repr=False)
    """A provider credential that belongs to this customer alone (a Bagisto customer token stored with an
    HTTP token); None where the provider's configured credentials serve the scope."""

    def cache_key(self) -> str:
        """Key prefix for anything cached for this scope (caches are never shared across scopes)."""
        return f"{self.provider}\x1f{self.customer_id or '*owner*'}"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    authenticated_by: Literal["environment", "token"]
    scopes: tuple[Scope, ...]

    @property
    def providers(self) -> tuple[str, ...]:
        return tuple(scope.provider for scope in self.scopes)

    def scope_for(self, provider: str | None) -> Scope:
        """The scope for ``provider``; with ``None``, the only enabled one."""
        enabled = ", ".join(self.providers) or "none"
        if provider is None:
            if len(self.scopes) == 1:
                return self.scopes[0]
            raise InvalidArgument(
                f"Several providers are enabled ({enabled}), so the call must name one.",
                hint=f"Pass provider set to one of: {enabled}.",
            )
        for scope in self.scopes:
            if scope.provider == provider:
                return scope
        raise InvalidArgument(
            f"Provider {provider!r} is not enabled for this session.",
            hint=f"Enabled providers: {enabled}.",
        )
