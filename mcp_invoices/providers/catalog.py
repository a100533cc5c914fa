"""Every provider this server can serve, described once: configuration, budgets and help derive from here.

A ``ProviderSpec`` says what a provider is called, which environment variables enable and scope it,
how many requests a minute this server allows itself there, what it can do, and which class builds
it. The implementation is named by its import path, so start-up (which reads every spec to see
what is configured) imports only the providers that are configured.

Adding a provider: write its package ``providers/<id>/`` (an ``InvoiceProvider`` whose ``info`` is
its ``SPEC.info`` and whose ``from_config`` builds it, and its ``spec.py`` declaring ``SPEC``) and
add its package name to ``CATALOG``: that one line is all this package needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from mcp_invoices.providers.spec import (
    TOKEN_SCOPED,
    Credential,
    Environments,
    ProviderInfo,
    ProviderSpec,
    Transport,
)

__all__ = [
    "CATALOG",
    "GENERATING_IDS",
    "GENERATING_PROVIDERS",
    "PROVIDER_IDS",
    "REMOTE_SPECS",
    "TOKEN_SCOPED",
    "Credential",
    "Environments",
    "ProviderInfo",
    "ProviderSpec",
    "Transport",
    "help_text",
    "markdown_table",
    "spec",
]


def _declared(package: str) -> ProviderSpec:
    """The ``SPEC`` of ``mcp_invoices.providers.<package>.spec`` (a small module of data, cheap to import)."""
    declared = importlib.import_module(f"mcp_invoices.providers.{package}.spec").SPEC
    if not isinstance(declared, ProviderSpec) or declared.id != package:
        raise TypeError(f"mcp_invoices.providers.{package}.spec.SPEC is not the ProviderSpec of {package!r}")
    return declared


CATALOG: tuple[ProviderSpec, ...] = tuple(
    _declared(package)
    for package in (
        "local",
        "polar",
        "afternoon",
        "bagisto",
        "payabli",
    )
)
"""Every provider, the local ledger first (it is the default)."""

PROVIDER_IDS: tuple[str, ...] = tuple(entry.id for entry in CATALOG)
"""The values of the tools' ``provider`` argument."""

REMOTE_SPECS: tuple[ProviderSpec, ...] = tuple(entry for entry in CATALOG if entry.info.remote)

GENERATING_IDS: tuple[str, ...] = tuple(entry.id for entry in CATALOG if entry.info.generates_invoices)
"""The providers that generate invoices from orders (``("local", "polar")``)."""
GENERATING_PROVIDERS: str = " and ".join(", ".join(GENERATING_IDS).rsplit(", ", 1))
"""The same as a sentence says them ("local and polar")."""

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
