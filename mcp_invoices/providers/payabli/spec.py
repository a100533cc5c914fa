"""Payabli: what it is, how it is configured and how it is emulated (see ``providers.spec``)."""

from __future__ import annotations

from mcp_invoices.providers.spec import Credential, Environments, ProviderInfo, ProviderSpec

__all__ = ["SPEC"]

SPEC = ProviderSpec(
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
    emulator="mcp_invoices.providers.payabli.emulator:EMULATOR",
)
