"""Afternoon: what it is, how it is configured and how it is emulated (see ``providers.spec``)."""

from __future__ import annotations

from mcp_invoices.providers.spec import Credential, ProviderInfo, ProviderSpec

__all__ = ["SPEC"]

SPEC = ProviderSpec(
    info=ProviderInfo("afternoon", "Afternoon", remote=True, generates_invoices=False),
    summary="the organisation key sees everyone, so the server enforces AFTERNOON_CUSTOMER_ID",
    credentials=(Credential("api_key", "AFTERNOON_API_KEY", "an organisation key, ak_live_… or ak_test_…"),),
    customer_variable="AFTERNOON_CUSTOMER_ID",
    base_url="https://api.afternoon.co",
    requests_per_minute=1000,
    factory="mcp_invoices.providers.afternoon.client:AfternoonProvider",
    emulator="mcp_invoices.providers.afternoon.emulator:EMULATOR",
    secret_patterns=(r"\b(ak_(?:live|test)_)[A-Za-z0-9_-]+",),
)
