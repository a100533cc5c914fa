"""Remote provider constructors by id, imported lazily so that start-up pays only for what is configured."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mcp_invoices.config import RemoteProviderConfig
from mcp_invoices.providers.base import InvoiceProvider

__all__ = ["FACTORIES"]


def _polar(config: RemoteProviderConfig) -> InvoiceProvider:
    from mcp_invoices.providers.polar import PolarProvider

    return PolarProvider.from_config(config)


def _afternoon(config: RemoteProviderConfig) -> InvoiceProvider:
    from mcp_invoices.providers.afternoon import AfternoonProvider

    return AfternoonProvider.from_config(config)


def _bagisto(config: RemoteProviderConfig) -> InvoiceProvider:
    from mcp_invoices.providers.bagisto import BagistoProvider

    return BagistoProvider.from_config(config)


def _payabli(config: RemoteProviderConfig) -> InvoiceProvider:
    from mcp_invoices.providers.payabli import PayabliProvider

    return PayabliProvider.from_config(config)


FACTORIES: Mapping[str, Callable[[RemoteProviderConfig], InvoiceProvider]] = {
    "polar": _polar,
    "afternoon": _afternoon,
    "bagisto": _bagisto,
    "payabli": _payabli,
}
