"""Bagisto: what it is, how it is configured and how it is emulated (see ``providers.spec``)."""

from __future__ import annotations

from mcp_invoices.providers.spec import Credential, ProviderInfo, ProviderSpec

__all__ = ["SPEC"]

SPEC = ProviderSpec(
    info=ProviderInfo("bagisto", "Bagisto", remote=True, generates_invoices=False, states_due_dates=False),
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
    emulator="mcp_invoices.providers.bagisto.emulator:EMULATOR",
    signin_label="the shop (Bagisto)",
)
