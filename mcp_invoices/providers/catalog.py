"""Every provider this server can serve, described once: configuration, budgets and help derive from here.

A ``ProviderSpec`` says what a provider is called, which environment variables enable and scope it,
how many requests a minute this server allows itself there, what it can do, and which class builds
it. The implementation is named by its import path, so start-up (which reads every spec to see
what is configured) imports only the providers that are configured.

Adding a provider: write its module (an ``InvoiceProvider`` whose ``info`` is ``spec("<id>").info``
and whose ``from_config`` builds it) and add its ``ProviderSpec`` to ``CATALOG``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, cast

if TYPE_CHECKING:  # annotations only: the catalog sits below everything it describes
    from mcp_invoices.config import RemoteProviderConfig
    from mcp_invoices.providers.base import InvoiceProvider
    from mcp_invoices.shared.base import Budget, SharedState

__all__ = [
    "CATALOG",
    "PROVIDER_IDS",
    "REMOTE_SPECS",
    "Credential",
    "Environments",
    "ProviderInfo",
    "ProviderSpec",
    "RemoteProviderClass",
    "Transport",
    "help_text",
    "markdown_table",
    "spec",
]

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


class RemoteProviderClass(Protocol):
    """What ``ProviderSpec.factory`` names: a provider class that builds itself from its configuration."""

    def from_config(
        self, config: RemoteProviderConfig, *, shared: SharedState | None = None, budget: Budget | None = None
    ) -> InvoiceProvider: ...


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

    def implementation(self) -> RemoteProviderClass:
        """The provider class, imported now (and not before: start-up pays only for what is configured)."""
        module, _, name = self.factory.partition(":")
        return cast("RemoteProviderClass", getattr(importlib.import_module(module), name))


CATALOG: tuple[ProviderSpec, ...] = (
    ProviderSpec(
        info=ProviderInfo("local", "The local ledger", remote=False, generates_invoices=True),
        summary="every SQL query carries MCP_INVOICES_CUSTOMER; unset, the owner sees all (stdio only)",
    ),
    ProviderSpec(
        info=ProviderInfo("polar", "Polar", remote=True, generates_invoices=True, states_due_dates=False),
        summary="enforced by Polar: the customer session token is one customer's",
        credentials=(
            Credential(
                "customer_session",
                "POLAR_CUSTOMER_SESSION",
                "the customer's session token",
                frozenset({"stdio"}),
            ),
            Credential(
                "access_token",
                "POLAR_ACCESS_TOKEN",
                "an organisation token, which opens a customer session for each bearer token's customer",
                frozenset({"http"}),
            ),
        ),
        environments=Environments(
            "POLAR_SERVER",
            {"production": "https://api.polar.sh", "sandbox": "https://sandbox-api.polar.sh"},
            "production",
            requests_per_minute={"sandbox": 100},
        ),
        requests_per_minute=500,
        factory="mcp_invoices.providers.polar.client:PolarProvider",
    ),
    ProviderSpec(
        info=ProviderInfo("afternoon", "Afternoon", remote=True, generates_invoices=False),
        summary="the organisation key sees everyone, so the server enforces AFTERNOON_CUSTOMER_ID",
        credentials=(
            Credential("api_key", "AFTERNOON_API_KEY", "an organisation key, ak_live_… or ak_test_…"),
        ),
        customer_variable="AFTERNOON_CUSTOMER_ID",
        base_url="https://api.afternoon.co",
        requests_per_minute=1000,
        factory="mcp_invoices.providers.afternoon.client:AfternoonProvider",
    ),
    ProviderSpec(
        info=ProviderInfo(
            "bagisto", "Bagisto", remote=True, generates_invoices=False, states_due_dates=False
        ),
        summary="enforced by Bagisto: the customer token is one customer's (self-hosted: base URL required)",
        credentials=(
            Credential("storefront_key", "BAGISTO_STOREFRONT_KEY", "the shop's storefront API key"),
            Credential(
                "customer_token",
                "BAGISTO_CUSTOMER_TOKEN",
                "the customer's token, from POST /api/shop/customer/login",
                frozenset({"stdio"}),
            ),
        ),
        # bagisto-api 5ab9ff2 src/Services/ApiKeyService.php: a shop key makes 1,000 requests an hour
        # (REST and GraphQL alike); 16 a minute with a burst of 2 is at most 962 in any hour.
        requests_per_minute=16,
        requests_per_hour=1000,
        factory="mcp_invoices.providers.bagisto.client:BagistoProvider",
    ),
    ProviderSpec(
        info=ProviderInfo("payabli", "Payabli", remote=True, generates_invoices=False),
        summary="the organisation token sees everyone, so the server enforces PAYABLI_CUSTOMER_ID",
        credentials=(Credential("api_token", "PAYABLI_API_TOKEN", "an organisation API token"),),
        customer_variable="PAYABLI_CUSTOMER_ID",
        environments=Environments(
            "PAYABLI_ENVIRONMENT",
            {"production": "https://api.payabli.com/api", "sandbox": "https://api-sandbox.payabli.com/api"},
            "production",
        ),
        options={"entry": "PAYABLI_ENTRY"},
        # Payabli documents no public limit: a conservative one.
        requests_per_minute=600,
        factory="mcp_invoices.providers.payabli.client:PayabliProvider",
    ),
)
"""Every provider, the local ledger first (it is the default)."""

PROVIDER_IDS: tuple[str, ...] = tuple(entry.id for entry in CATALOG)
"""The values of the tools' ``provider`` argument."""

REMOTE_SPECS: tuple[ProviderSpec, ...] = tuple(entry for entry in CATALOG if entry.info.remote)

_BY_ID: Mapping[str, ProviderSpec] = {entry.id: entry for entry in CATALOG}


def spec(provider_id: str) -> ProviderSpec:
    """The spec of a provider of this catalog (a ``KeyError`` for any other id)."""
    return _BY_ID[provider_id]


def _variables(entry: ProviderSpec) -> list[str]:
    if not entry.info.remote:
        return ["MCP_INVOICES_CUSTOMER", "MCP_INVOICES_DB"]
    return [*entry.variables, entry.rate_limit_variable]


def help_text() -> str:
    """The providers and the variables that enable each, for ``mcp-invoices serve --help``."""
    lines = ["providers (enabled when their credentials are set; with none, the local ledger):"]
    for entry in CATALOG:
        lines.append(f"  {entry.id}: {', '.join(_variables(entry))}")
    return "\n".join(lines)


def markdown_table() -> str:
    """The README's provider table."""
    rows = [
        "| provider id | environment variables | who the session is | requests a minute (default) |",
        "|---|---|---|---|",
    ]
    for entry in CATALOG:
        variables = ", ".join(f"`{name}`" for name in _variables(entry))
        budget = f"{entry.requests_per_minute:,}" if entry.info.remote else "-"
        if entry.environments is not None:
            for environment, per_minute in entry.environments.requests_per_minute.items():
                budget += f" ({per_minute:,} on its {environment})"
        if entry.requests_per_hour:
            budget += f" (its limit: {entry.requests_per_hour:,} an hour)"
        rows.append(f"| `{entry.id}` | {variables} | {entry.summary} | {budget} |")
    return "\n".join(rows)
