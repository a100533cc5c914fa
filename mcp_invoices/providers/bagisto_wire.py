"""Bagisto's invoice as this server reads it, the transport adaptations its wire needs, and normalization.

Amounts are JSON numbers in major units, parsed as ``Decimal`` (never a float) and kept as stated:
``grandTotal`` is the total, never recomputed from the lines. ``items`` arrive embedded or as links
(``/api/shop/invoice-items/{id}``).
"""

from __future__ import annotations

import math
import re
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx2
from pydantic import ConfigDict, TypeAdapter
from pydantic.alias_generators import to_camel

from mcp_invoices.domain.errors import ProviderUnavailable
from mcp_invoices.domain.models import Billing, Customer, Documents, Invoice, InvoiceStatus, LineItem
from mcp_invoices.domain.money import MoneyError, normalize_currency, parse_amount
from mcp_invoices.domain.rules import settle
from mcp_invoices.providers.base import json_uri, pdf_uri
from mcp_invoices.providers.http import read_limited
from mcp_invoices.providers.wire import MajorUnits, StatusTable, WireInt, WireModel, error_body, unexpected

__all__ = [
    "INVOICE_LIST",
    "NAME",
    "PROVIDER_ID",
    "STATUSES",
    "UNREADABLE_HINT",
    "BagistoTransport",
    "WireInvoice",
    "WireItem",
    "WirePage",
    "embedded_items",
    "item_links",
    "malformed",
    "network_transport",
    "normalize_invoice",
    "total_pages",
]


_MAX_TOTAL_PAGES = 100_000
"""More pages than this is a broken header, not a customer's history."""

PROVIDER_ID = "bagisto"
NAME = "Bagisto"

STATUSES = StatusTable[str](
    NAME,
    {
        # Issued and awaiting payment. Not our ``pending``, which means "generation not finished yet".
        "pending": InvoiceStatus.OPEN,
        "pending_payment": InvoiceStatus.OPEN,
        # Overdue is derived from due_at in the normalized model; Bagisto's word stays in provider_status.
        "overdue": InvoiceStatus.OPEN,
        "paid": InvoiceStatus.PAID,
        "refunded": InvoiceStatus.REFUNDED,
        # Not in the seeds; Bagisto spells cancelled orders "canceled". Mapped so they never count as owed.
        "canceled": InvoiceStatus.VOID,
        "cancelled": InvoiceStatus.VOID,
    },
)
"""Bagisto invoice ``state`` → normalized status. An unknown state is served as ``open`` (and logged)."""

_MAX_ITEM_LINKS = 500
_MAX_RATE_LIMIT_BODY = 64 * 1024
"""A 429 body is read for its ``retry_after`` only this far: the wait is in its first few bytes."""
_ITEM_IRI = re.compile(r"^(?:[^?#]*/)?api/shop/invoice-items/(\d{1,19})/?$")


# -- wire shapes -----------------------------------------------------------------------------------


class _Wire(WireModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class WireItem(_Wire):
    """An invoice line, embedded or behind a link.

    ``{id, sku, name, qty, price, total, taxAmount, discountAmount}``
    """

    id: WireInt
    sku: str | None = None
    name: str | None = None
    qty: MajorUnits | None = None
    price: MajorUnits | None = None
    total: MajorUnits | None = None
    tax_amount: MajorUnits | None = None
    discount_amount: MajorUnits | None = None


class WireInvoice(_Wire):
    """The fields of seed 003 this client relies on (the others are ignored)."""

    id: WireInt
    increment_id: str | None = None
    state: str
    grand_total: MajorUnits
    sub_total: MajorUnits | None = None
    shipping_amount: MajorUnits | None = None
    tax_amount: MajorUnits | None = None
    discount_amount: MajorUnits | None = None
    order_currency_code: str | None = None
    channel_currency_code: str | None = None
    base_currency_code: str | None = None
    created_at: str | None = None
    items: list[WireItem | str] | None = None


INVOICE_LIST = TypeAdapter(list[WireInvoice])


@dataclass(frozen=True)
class WirePage:
    invoices: list[WireInvoice]
    total_pages: int | None


UNREADABLE_HINT = (
    "Try again in a moment; if it persists, check that BAGISTO_BASE_URL points at the shop's API."
)


def malformed(what: str) -> ProviderUnavailable:
    """``what`` completes "Bagisto sent ..."; it never quotes the body (which may echo anything)."""
    return unexpected(NAME, what, hint=UNREADABLE_HINT)


# -- the transport under ProviderHTTP ----------------------------------------------------------------


class BagistoTransport(httpx2.AsyncBaseTransport):
    """Adapts Bagisto's wire to ``ProviderHTTP`` below the client.

    - A 429 names its wait in the body (``retry_after``); ``ProviderHTTP`` honours only the
      ``Retry-After`` header, so the body's value is lifted into that header when it is missing.
    - Cookies are dropped both ways: one pooled client serves many customers' tokens, and a
      Laravel session cookie set for one of them must never ride along with another's request.
    """

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if "cookie" in request.headers:
            del request.headers["cookie"]
        response = await self._inner.handle_async_request(request)
        if "set-cookie" in response.headers:
            del response.headers["set-cookie"]
        if response.status_code == 429 and "retry-after" not in response.headers:
            response = await read_limited(response, _MAX_RATE_LIMIT_BODY)
            seconds = _body_retry_after(response.content)
            if seconds is not None:
                response.headers["Retry-After"] = str(seconds)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def _body_retry_after(content: bytes) -> int | None:
    """Whole seconds from a 429 body's ``retry_after`` (message or problem+json shape), if readable."""
    body = error_body(httpx2.Response(429, content=content))
    value = body.get("retry_after") if isinstance(body, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return None
    try:
        seconds = Decimal(str(value).strip())
    except ArithmeticError:
        return None
    return math.ceil(seconds) if seconds.is_finite() and seconds >= 0 else None


def network_transport(base_url: str) -> httpx2.AsyncHTTPTransport:
    """The pooled network transport ``ProviderHTTP`` would have built, with the environment's proxy.

    httpx2 ignores ``HTTP(S)_PROXY`` once a transport is given, so the proxy for the one host this
    client talks to is looked up here the same way (``NO_PROXY`` honoured).
    """
    url = httpx2.URL(base_url)
    proxy = None
    if not urllib.request.proxy_bypass(url.host):
        proxy = urllib.request.getproxies().get(url.scheme) or urllib.request.getproxies().get("all")
    limits = httpx2.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=20.0)
    return httpx2.AsyncHTTPTransport(limits=limits, proxy=proxy)


# -- normalization -----------------------------------------------------------------------------------


def _currency(wire: WireInvoice) -> str:
    # grandTotal and friends are in the order's currency; the base* twins are in the shop's.
    code = wire.order_currency_code or wire.channel_currency_code or wire.base_currency_code
    if not code:
        raise malformed("an invoice without a currency")
    return normalize_currency(code)


def _issued(created_at: str | None) -> date | None:
    """The UTC date of ``createdAt`` (``2025-02-10T10:30:00.000000Z``); unreadable → None, not an error."""
    if not created_at:
        return None
    try:
        moment = datetime.fromisoformat(created_at.strip())
    except ValueError:
        return None
    return (moment if moment.tzinfo is None else moment.astimezone(UTC)).date()


def _optional(value: Decimal | None, currency: str) -> Decimal | None:
    return None if value is None else parse_amount(value, currency)


def _plain(quantity: Decimal) -> Decimal:
    """``2.0000`` (a DECIMAL(12,4) column) as ``2``, ``2.5000`` as ``2.5``: the quantity, not its storage."""
    return quantity.normalize() if quantity.is_finite() else quantity


def _line(item: WireItem, currency: str) -> LineItem:
    return LineItem(
        description=item.name or item.sku or f"Item {item.id}",
        quantity=None if item.qty is None else _plain(item.qty),
        unit_amount=_optional(item.price, currency),
        discount=_optional(item.discount_amount, currency),
        tax=_optional(item.tax_amount, currency),
        total=_optional(item.total, currency),
    )


def normalize_invoice(wire: WireInvoice, items: Sequence[WireItem]) -> Invoice:
    """The normalized invoice; amounts exactly as Bagisto states them, at the currency's precision."""
    try:
        currency = _currency(wire)
        total = parse_amount(wire.grand_total, currency)
        lines = [_line(item, currency) for item in items]
        subtotal = _optional(wire.sub_total, currency)
        discount = _optional(wire.discount_amount, currency)
        tax = _optional(wire.tax_amount, currency)
        shipping = _optional(wire.shipping_amount, currency)
    except MoneyError:
        raise malformed("an amount or a currency that cannot be read exactly") from None
    status = STATUSES.read(wire.state, lambda: InvoiceStatus.OPEN)  # an unknown state is still owed
    settled = settle(status, total, currency)
    invoice_id = str(wire.id)
    return Invoice(
        provider=PROVIDER_ID,
        id=invoice_id,
        number=wire.increment_id or None,
        status=status,
        provider_status=wire.state,
        currency=currency,
        issued_at=_issued(wire.created_at),
        due_at=None,  # Bagisto's API states no due date (its payment terms stay server-side)
        paid_at=None,  # nor when it was paid
        customer=Customer(),  # the invoice carries no customer fields; the token is the customer
        billing=Billing(),  # billing lives on the order (``order`` IRI), not on the invoice
        line_items=lines,
        subtotal=subtotal,
        discount=discount,
        tax=tax,
        shipping=shipping,
        total=total,
        amount_paid=settled.paid,
        amount_due=settled.due,
        documents=Documents(
            json_uri=json_uri(PROVIDER_ID, invoice_id),
            pdf_uri=pdf_uri(PROVIDER_ID, invoice_id),
            url=None,  # Bagisto's PDF needs both credentials in headers: there is no shareable URL
        ),
    )


def embedded_items(wire: WireInvoice) -> list[WireItem]:
    """The embedded items only (listings do not follow links)."""
    return [item for item in wire.items or () if isinstance(item, WireItem)]


def item_links(wire: WireInvoice) -> list[str]:
    """Item ids behind the invoice's links; a link that is not an invoice-item IRI is malformed."""
    ids: list[str] = []
    for item in wire.items or ():
        if isinstance(item, str):
            match = _ITEM_IRI.match(item.strip())
            if match is None:
                raise malformed("an item link that is not an invoice item")
            ids.append(match.group(1))
    if len(ids) > _MAX_ITEM_LINKS:
        raise malformed("more item links than this server follows")
    return ids


def _header_int(headers: httpx2.Headers, name: str) -> int | None:
    value = headers.get(name, "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def total_pages(headers: httpx2.Headers) -> int | None:
    pages = _header_int(headers, "x-total-pages")
    if pages is None:
        count, per_page = _header_int(headers, "x-total-count"), _header_int(headers, "x-per-page")
        if count is None or not per_page:
            return None
        pages = math.ceil(count / per_page)
    return pages if pages <= _MAX_TOTAL_PAGES else None
