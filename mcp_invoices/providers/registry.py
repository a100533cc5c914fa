"""Remote provider constructors by id, imported lazily so that start-up pays only for what is configured.

Each takes the provider's settings and the state replicas share (only Polar keeps any: sessions, generations).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mcp_invoices.config import RemoteProviderConfig
from mcp_invoices.providers.base import InvoiceProvider
from mcp_invoices.shared.base import SharedState

__all__ = ["FACTORIES"]


def _polar(config: RemoteProviderConfig, shared: SharedState | None = None) -> InvoiceProvider:
    from mcp_invoices.providers.polar import PolarProvider

    return PolarProvider.from_config(config, shared=shared)


def _afternoon(config: RemoteProviderConfig, shared: SharedState | None = None) -> InvoiceProvider:
    from mcp_invoices.providers.afternoon import AfternoonProvider

    return AfternoonProvider.from_config(config)


def _bagisto(config: RemoteProviderConfig, shared: SharedState | None = None) -> InvoiceProvider:
    from mcp_invoices.providers.bagisto import BagistoProvider

    return BagistoProvider.from_config(config)


def _payabli(config: RemoteProviderConfig, shared: SharedState | None = None) -> InvoiceProvider:
    from mcp_invoices.providers.payabli import PayabliProvider

    return PayabliProvider.from_config(config)


FACTORIES: Mapping[str, Callable[..., InvoiceProvider]] = {
    "polar": _polar,
    "afternoon": _afternoon,
    "bagisto": _bagisto,
    "payabli": _payabli,
}
