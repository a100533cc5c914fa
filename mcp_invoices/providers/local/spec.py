"""The local ledger: what it is, how it is configured and how it is emulated (see ``providers.spec``)."""

from __future__ import annotations

from mcp_invoices.providers.spec import ProviderInfo, ProviderSpec

__all__ = ["SPEC"]

SPEC = ProviderSpec(
    info=ProviderInfo("local", "The local ledger", remote=False, generates_invoices=True),
    summary="every SQL query carries MCP_INVOICES_CUSTOMER; unset, the owner sees all (stdio only)",
    signin_label="this shop",
)
