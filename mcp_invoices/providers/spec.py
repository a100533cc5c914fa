"""The types a provider's spec is written in: a leaf module (it imports nothing from this package).

Each provider package declares its ``SPEC`` (``providers/<id>/spec.py``) with these types;
``providers.catalog`` lists them. Configuration, the providers and the server all read the specs, so
they sit below all three: nothing here may import ``mcp_invoices.config`` or a provider.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "TOKEN_SCOPED",
    "Credential",
    "Environments",
    "ProviderInfo",
    "ProviderSpec",
    "Transport",
]

TOKEN_SCOPED = "(provider session token)"
"""The customer of a scope whose credential is itself one customer's (``ProviderSpec.token_scoped``)."""

Transport = Literal["stdio", "http"]
_BOTH: frozenset[Transport] = frozenset({"stdio", "http"})


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """What a provider can do, as the MCP layer needs to know it."""

    id: str
    display_name: str
    remote: bool
    """Talks to a service outside this process (the tools are then ``openWorld``)."""
    generates_invoices: bool
    """Invoices are generated from orders (``list_orders`` and ``generate_invoice`` work)."""
    states_due_dates: bool = True
    """Its invoices carry a due date. Where they do not, nothing is ever overdue, no invoice matches a
    due-date filter, and results say so rather than count every invoice as current."""


@dataclass(frozen=True, slots=True)
class Credential:
    """A secret read from ``variable`` into ``RemoteProviderConfig.credentials[key]``."""

    key: str
    variable: str
    meaning: str
    """Completes "set VARIABLE (...)" in the message that asks for it."""
    transports: frozenset[Transport] = _BOTH
    """Where it is used: over HTTP each bearer token may carry the customer's own credential instead."""


@dataclass(frozen=True, slots=True)
class Environments:
    """A variable that picks one of the provider's public base URLs (``production``, ``sandbox``)."""

    variable: str
    urls: Mapping[str, str]
    default: str
    requests_per_minute: Mapping[str, int] = field(default_factory=dict)
    """Request budgets that differ from the provider's default in one environment."""


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    info: ProviderInfo
    summary: str
    """One line for the CLI help and the README: who the session is, and how it is enforced."""
    credentials: tuple[Credential, ...] = ()
    customer_variable: str | None = None
    """The server-enforced scope of an organisation-wide key; None where the credential is one customer's."""
    base_url: str | None = None
    """The public API; None for a self-hosted provider, whose ``<ID>_BASE_URL`` is then required."""
    environments: Environments | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    """Plain settings: ``RemoteProviderConfig.options`` key → environment variable."""
    requests_per_minute: int = 0
    """Default request budget (``<ID>_RATE_LIMIT_PER_MINUTE`` overrides it)."""
    requests_per_hour: int = 0
    """The provider's own limit where it counts by the hour; ``requests_per_minute`` is then set so that
    an hour of the budget, its burst included, stays within it."""
    factory: str = ""
    """``module:Class`` of the implementation; ``Class.from_config(config, shared=, budget=)`` builds it."""
    secret_patterns: tuple[str, ...] = ()
    """Regular expressions of the provider's credentials as they may appear in text; group 1 is the part
    a log may keep (a prefix such as ``ak_live_``), the rest is redacted."""
    signin_label: str = ""
    """Who the customer's account is with, as the sign-in pages say it (the display name when empty)."""
    emulator: str = ""
    """``module:NAME`` of its emulator's declaration (an ``Emulator``) for the sandbox; empty where none."""

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def display_name(self) -> str:
        return self.info.display_name

    @property
    def base_url_variable(self) -> str:
        return f"{self.id.upper()}_BASE_URL"

    @property
    def rate_limit_variable(self) -> str:
        return f"{self.id.upper()}_RATE_LIMIT_PER_MINUTE"

    @property
    def variables(self) -> tuple[str, ...]:
        """Every environment variable the provider reads, in the order the README lists them."""
        names = [credential.variable for credential in self.credentials]
        names += [self.customer_variable] if self.customer_variable else []
        names += [self.environments.variable] if self.environments else []
        names += [self.base_url_variable, *self.options.values()] if self.info.remote else []
        return tuple(names)

    @property
    def token_scoped(self) -> bool:
        """The credential itself names the customer (no ``customer_variable``): its scopes say ``TOKEN_SCOPED``."""
        return self.info.remote and self.customer_variable is None

    @property
    def signin_name(self) -> str:
        return self.signin_label or self.display_name

    def implementation(self) -> Any:
        """The provider class, imported now (and not before: start-up pays only for what is configured)."""
        return _imported(self.factory)

    def emulation(self) -> Any:
        """Its emulator's ``Emulator`` declaration, imported now (only the sandbox and tests need it)."""
        return _imported(self.emulator)


def _imported(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)
