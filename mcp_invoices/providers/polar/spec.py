"""Polar: what it is, how it is configured and how it is emulated (see ``providers.spec``)."""

from __future__ import annotations

from mcp_invoices.providers.spec import Credential, Environments, ProviderInfo, ProviderSpec

__all__ = ["SPEC"]

SPEC = ProviderSpec(
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
    emulator="mcp_invoices.providers.polar.emulator:EMULATOR",
    secret_patterns=(r"\b(polar_(?:cst|oat|pat)_)[A-Za-z0-9_-]+",),
)
