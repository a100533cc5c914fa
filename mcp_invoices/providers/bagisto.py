"""Bagisto (self-hosted shop API): one customer's invoices, read with that customer's own token.

Wire format: seed 003 (``GET /api/shop/customer-invoices/{id}``) and the seeds README. Every call
carries the storefront key (``X-STOREFRONT-KEY``) and the customer token (``Authorization: Bearer``).
Bagisto scopes every answer by the token, so its 404 is exactly ``not_found``: a missing invoice
and another customer's one are the same answer, by construction, and cost the same one request.

- Amounts are JSON numbers in major units, parsed as ``Decimal`` (never a float) and kept as
  stated: ``grandTotal`` is the total, never recomputed from the lines.
- The list endpoint answers a plain JSON array, oldest first, with ``X-Total-Pages`` style
  headers. It is walked from the last page backwards so that the newest invoice comes first; the
  cursor ``"{page}:{before_id}"`` names a page and the id below which to resume, so invoices
  created while someone pages (they get higher ids, on later pages) never shift what is left.
- ``items`` arrive embedded or as links (``/api/shop/invoice-items/{id}``). ``get_invoice``
  resolves links (a few in parallel, with the same token); listings do not, since their rows and
  the summaries never show lines and a link per line would multiply the requests per page.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import urllib.request
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, NoReturn

import anyio
import httpx2
from pydantic import BaseModel, BeforeValidator, ConfigDict, SecretStr, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from mcp_invoices.config import RemoteProviderConfig
from mcp_invoices.domain import errors
from mcp_invoices.domain.errors import InvalidArgument, ProviderUnavailable, Unauthorized
from mcp_invoices.domain.models import (
    Billing,
    Customer,
    Documents,
    Invoice,
    InvoiceFilter,
    InvoiceStatus,
    LineItem,
    Page,
)
from mcp_invoices.domain.money import ZERO, MoneyError, normalize_currency, parse_amount
from mcp_invoices.logs import add_secrets
from mcp_invoices.principal import Scope
from mcp_invoices.shared.base import Budget, DocumentStore, SharedState
from mcp_invoices.providers.base import InvoiceProvider, json_uri, pdf_uri
from mcp_invoices.providers.catalog import spec
from mcp_invoices.providers.http import ProviderHTTP, RetryPolicy, parse_json, path_segment
from mcp_invoices.providers.paging import fetch_pages

__all__ = ["PROVIDER_ID", "STATUS_MAP", "BagistoProvider"]

logger = logging.getLogger("mcp_invoices.bagisto")

PROVIDER_ID = "bagisto"
_NAME = "Bagisto"
_INVOICES = "/api/shop/customer-invoices"
_ITEMS = "/api/shop/invoice-items"

STATUS_MAP: Mapping[str, InvoiceStatus] = {
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
}
"""Bagisto invoice ``state`` → normalized status. An unknown state is served as ``open`` (and logged)."""

_SETTLED = frozenset({InvoiceStatus.PAID, InvoiceStatus.REFUNDED})
"""Statuses whose total was paid (a refund returns money that was paid, as the local ledger counts it)."""

_PAGE_SIZE = 100
"""Invoices per provider page: Bagisto's maximum, so that a full walk costs the fewest requests."""
_PAGE_CONCURRENCY = 4
"""Pages read at once by a full walk (summaries): a self-hosted shop is often a small server."""
_MAX_TOTAL_PAGES = 100_000
"""More pages than this is a broken header, not a customer's history."""
_ITEM_CONCURRENCY = 4
"""Item links resolved at once per invoice: quick, without hammering a self-hosted shop."""
_MAX_ITEM_LINKS = 500
_ITEM_IRI = re.compile(r"^(?:[^?#]*/)?api/shop/invoice-items/(\d{1,19})/?$")
_INVOICE_ID = re.compile(r"^[1-9]\d{0,18}$")
"""Bagisto invoice ids are positive integers; anything else cannot exist for anyone."""
_POSITION = re.compile(r"^([1-9]\d{0,8}):([1-9]\d{0,18})?$")

_STOREFRONT_HINT = "Check BAGISTO_STOREFRONT_KEY: it must be this Bagisto shop's storefront API key."
_TOKEN_HINT = (
    "Check BAGISTO_CUSTOMER_TOKEN: it must be a current customer token "
    "(log in again with POST /api/shop/customer/login to get a new one)."
)
_SESSION_TOKEN_HINT = (
    "The Bagisto customer token stored for this session was refused; "
    "issue the session again with a fresh customer token."
)
_BOTH_HINT = "Check BAGISTO_STOREFRONT_KEY and BAGISTO_CUSTOMER_TOKEN."


# -- wire shapes -----------------------------------------------------------------------------------


def _not_bool(value: object) -> object:
    # JSON true/false is never an id, a quantity or an amount (pydantic would read true as 1).
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number here")  # noqa: TRY004 - pydantic reports ValueErrors
    return value


_Number = Annotated[Decimal, BeforeValidator(_not_bool)]
_Id = Annotated[int, BeforeValidator(_not_bool)]


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class _WireItem(_Wire):
    """An invoice line, embedded or behind a link.

    ``{id, sku, name, qty, price, total, taxAmount, discountAmount}``
    """

    id: _Id
    sku: str | None = None
    name: str | None = None
    qty: _Number | None = None
    price: _Number | None = None
    total: _Number | None = None
    tax_amount: _Number | None = None
    discount_amount: _Number | None = None


class _WireInvoice(_Wire):
    """The fields of seed 003 this client relies on (the others are ignored)."""

    id: _Id
    increment_id: str | None = None
    state: str
    grand_total: _Number
    sub_total: _Number | None = None
    shipping_amount: _Number | None = None
    tax_amount: _Number | None = None
    discount_amount: _Number | None = None
    order_currency_code: str | None = None
    channel_currency_code: str | None = None
    base_currency_code: str | None = None
    created_at: str | None = None
    items: list[_WireItem | str] | None = None


_INVOICE_LIST = TypeAdapter(list[_WireInvoice])


@dataclass(frozen=True)
class _WirePage:
    invoices: list[_WireInvoice]
    total_pages: int | None


def _malformed(what: str) -> ProviderUnavailable:
    """``what`` completes "Bagisto sent ..."; it never quotes the body (which may echo anything)."""
    return ProviderUnavailable(
        f"{_NAME} sent {what}.",
        hint="Try again in a moment; if it persists, check that BAGISTO_BASE_URL points at the shop's API.",
    )


def _validated(adapter: Callable[[Any], Any], body: Any, what: str) -> Any:
    """``adapter(body)``, or ``ProviderUnavailable``; the log names the wrong fields, never their values."""
    try:
        return adapter(body)
    except ValidationError as exc:
        fields = sorted({".".join(str(part) for part in error["loc"]) or "(body)" for error in exc.errors()})
        logger.warning(
            "%s sent %s in an unexpected shape",
            _NAME,
            what,
            extra={"provider": PROVIDER_ID, "fields": fields[:10]},
        )
        raise _malformed(f"{what} in an unexpected shape") from None


# -- the transport under ProviderHTTP ----------------------------------------------------------------


class _BagistoTransport(httpx2.AsyncBaseTransport):
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
            seconds = _body_retry_after(await response.aread())
            if seconds is not None:
                response.headers["Retry-After"] = str(seconds)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def _body_retry_after(content: bytes) -> int | None:
    """Whole seconds from a 429 body's ``retry_after`` (message or problem+json shape), if readable."""
    try:
        body = parse_json(httpx2.Response(429, content=content), provider=_NAME)
    except ProviderUnavailable:
        return None
    value = body.get("retry_after") if isinstance(body, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return None
    try:
        seconds = Decimal(str(value).strip())
    except ArithmeticError:
        return None
    return math.ceil(seconds) if seconds.is_finite() and seconds >= 0 else None


def _network_transport(base_url: str) -> httpx2.AsyncHTTPTransport:
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


def _status(state: str) -> InvoiceStatus:
    status = STATUS_MAP.get(state.strip().lower())
    if status is None:
        logger.warning(
            "unknown %s invoice state; served as open",
            _NAME,
            extra={"provider": PROVIDER_ID, "state": state[:40]},
        )
        return InvoiceStatus.OPEN
    return status


def _states_for(status: InvoiceStatus) -> tuple[str, ...]:
    """The Bagisto states that map to ``status`` (when there is exactly one, Bagisto is asked for it)."""
    return tuple(state for state, mapped in STATUS_MAP.items() if mapped is status)


def _list_params(query: InvoiceFilter) -> dict[str, Any] | None:
    """Query parameters of the list endpoint for ``query``; None when no Bagisto invoice can match.

    The status is sent to Bagisto when exactly one Bagisto state means it; callers still apply the
    whole filter themselves (dates are never sent: the seeds document no date filter).
    """
    params: dict[str, Any] = {"per_page": _PAGE_SIZE}
    if query.status is not None:
        states = _states_for(query.status)
        if not states:
            return None
        if len(states) == 1:
            params["state"] = states[0]
    return params


def _currency(wire: _WireInvoice) -> str:
    # grandTotal and friends are in the order's currency; the base* twins are in the shop's.
    code = wire.order_currency_code or wire.channel_currency_code or wire.base_currency_code
    if not code:
        raise _malformed("an invoice without a currency")
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


def _line(item: _WireItem, currency: str) -> LineItem:
    return LineItem(
        description=item.name or item.sku or f"Item {item.id}",
        quantity=None if item.qty is None else _plain(item.qty),
        unit_amount=_optional(item.price, currency),
        discount=_optional(item.discount_amount, currency),
        tax=_optional(item.tax_amount, currency),
        total=_optional(item.total, currency),
    )


def _normalize(wire: _WireInvoice, items: Sequence[_WireItem]) -> Invoice:
    """The normalized invoice; amounts exactly as Bagisto states them, at the currency's precision."""
    try:
        currency = _currency(wire)
        total = parse_amount(wire.grand_total, currency)
        lines = [_line(item, currency) for item in items]
        subtotal = _optional(wire.sub_total, currency)
        discount = _optional(wire.discount_amount, currency)
        tax = _optional(wire.tax_amount, currency)
        shipping = _optional(wire.shipping_amount, currency)
        zero = parse_amount(ZERO, currency)  # "0.00", "0": at the currency's precision like the rest
    except MoneyError:
        raise _malformed("an amount or a currency that cannot be read exactly") from None
    status = _status(wire.state)
    settled = status in _SETTLED
    owed = status.is_unpaid
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
        amount_paid=total if settled else zero,
        amount_due=total if owed else zero,
        documents=Documents(
            json_uri=json_uri(PROVIDER_ID, invoice_id),
            pdf_uri=pdf_uri(PROVIDER_ID, invoice_id),
            url=None,  # Bagisto's PDF needs both credentials in headers: there is no shareable URL
        ),
    )


def _embedded(wire: _WireInvoice) -> list[_WireItem]:
    """The embedded items only (listings do not follow links)."""
    return [item for item in wire.items or () if isinstance(item, _WireItem)]


def _item_links(wire: _WireInvoice) -> list[str]:
    """Item ids behind the invoice's links; a link that is not an invoice-item IRI is malformed."""
    ids: list[str] = []
    for item in wire.items or ():
        if isinstance(item, str):
            match = _ITEM_IRI.match(item.strip())
            if match is None:
                raise _malformed("an item link that is not an invoice item")
            ids.append(match.group(1))
    if len(ids) > _MAX_ITEM_LINKS:
        raise _malformed("more item links than this server follows")
    return ids


def _header_int(headers: httpx2.Headers, name: str) -> int | None:
    value = headers.get(name, "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _total_pages(headers: httpx2.Headers) -> int | None:
    pages = _header_int(headers, "x-total-pages")
    if pages is None:
        count, per_page = _header_int(headers, "x-total-count"), _header_int(headers, "x-per-page")
        if count is None or not per_page:
            return None
        pages = math.ceil(count / per_page)
    return pages if pages <= _MAX_TOTAL_PAGES else None


def _encode_position(page: int, before_id: int | None) -> str:
    return f"{page}:{'' if before_id is None else before_id}"


def _decode_position(cursor: str) -> tuple[int, int | None]:
    match = _POSITION.match(cursor)
    if match is None:
        raise InvalidArgument(
            "The cursor is not one this server gave out for Bagisto.",
            hint="Call list_invoices again without cursor and page on from there.",
        )
    return int(match.group(1)), int(match.group(2)) if match.group(2) else None


def _error_text(response: httpx2.Response) -> str:
    """``message``, or problem+json's ``title``/``detail``, lower-cased; used to tell credentials apart."""
    try:
        body = parse_json(response, provider=_NAME)
    except ProviderUnavailable:
        return ""
    if not isinstance(body, dict):
        return ""
    return " ".join(str(body.get(key, "")) for key in ("message", "title", "detail")).lower()


# -- the provider ------------------------------------------------------------------------------------


class BagistoProvider(InvoiceProvider):
    """A Bagisto shop's invoices for the customer whose token the scope (or configuration) holds."""

    info = spec(PROVIDER_ID).info

    def __init__(
        self,
        *,
        base_url: str,
        storefront_key: SecretStr,
        customer_token: SecretStr | None = None,
        retry: RetryPolicy | None = None,
        budget: Budget | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        item_concurrency: int = _ITEM_CONCURRENCY,
    ) -> None:
        self._customer_token = customer_token
        self._item_concurrency = max(1, item_concurrency)
        add_secrets(
            secret.get_secret_value() for secret in (storefront_key, customer_token) if secret is not None
        )
        self._http = ProviderHTTP(
            provider_name=_NAME,
            base_url=base_url,
            headers={
                "X-STOREFRONT-KEY": storefront_key.get_secret_value(),
                "Content-Type": "application/json",  # seed 003 lists it as required, body or not
            },
            auth_hint=_BOTH_HINT,
            retry=retry or RetryPolicy(),
            budget=budget,
            transport=_BagistoTransport(transport or _network_transport(base_url)),
            sleep=sleep,
        )

    @classmethod
    def from_config(
        cls, config: RemoteProviderConfig, *, shared: SharedState | None = None, budget: Budget | None = None
    ) -> BagistoProvider:
        """Built from BAGISTO_BASE_URL, BAGISTO_STOREFRONT_KEY and (stdio) BAGISTO_CUSTOMER_TOKEN."""
        return cls(
            base_url=config.base_url,
            storefront_key=config.credentials["storefront_key"],
            customer_token=config.credentials.get("customer_token"),
            budget=budget,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- reads ---------------------------------------------------------------------------------------

    async def get_invoice(self, scope: Scope, invoice_id: str) -> Invoice:
        token = self._token(scope)
        wire = await self._invoice(scope, token, invoice_id)
        links = _item_links(wire)
        resolved = iter(await self._resolve_items(scope, token, invoice_id, links) if links else [])
        # In the invoice's own order, whether a line came embedded or behind a link.
        items = [item if isinstance(item, _WireItem) else next(resolved) for item in wire.items or ()]
        return _normalize(wire, items)

    async def list_invoices(
        self, scope: Scope, query: InvoiceFilter, *, limit: int, cursor: str | None
    ) -> Page[Invoice]:
        """Newest first: pages from the last one back, each page newest first, until ``limit`` match."""
        if limit < 1:
            raise InvalidArgument("limit must be at least 1.")
        start = _decode_position(cursor) if cursor is not None else None
        found: list[Invoice] = []
        async with contextlib.aclosing(self._walk(scope, query, start)) as pages:
            async for page_number, invoices in pages:
                for index, (wire_id, invoice) in enumerate(invoices):
                    if not query.matches(invoice):
                        continue
                    found.append(invoice)
                    if len(found) < limit:
                        continue
                    if index + 1 < len(invoices):  # resume on this page, below the last id returned
                        return Page[Invoice](items=found, next_cursor=_encode_position(page_number, wire_id))
                    more = page_number > 1
                    return Page[Invoice](
                        items=found, next_cursor=_encode_position(page_number - 1, None) if more else None
                    )
        return Page[Invoice](items=found, next_cursor=None)

    async def iter_invoices(self, scope: Scope, query: InvoiceFilter) -> AsyncIterator[Invoice]:
        """Every match, newest first: page 1 says how many pages there are, the rest come in parallel.

        One request per provider page (summaries read everything), at most ``_PAGE_CONCURRENCY`` at once.
        """
        params = _list_params(query)
        if params is None:
            return
        token = self._token(scope)
        first, total_pages = await self._first_page(scope, token, params)
        rest = await fetch_pages(
            lambda number: self._page(scope, token, params, number),
            range(2, total_pages + 1),
            concurrency=_PAGE_CONCURRENCY,
        )
        seen: set[int] = set()  # should a page boundary move while pages are read, count no invoice twice
        for page in reversed([first, *rest]):
            for wire in sorted(page.invoices, key=lambda wire: wire.id, reverse=True):
                if wire.id in seen:
                    continue
                seen.add(wire.id)
                invoice = _normalize(wire, _embedded(wire))
                if query.matches(invoice):
                    yield invoice

    async def invoice_pdf(self, scope: Scope, invoice_id: str, documents: DocumentStore | None = None) -> bytes:
        """Bagisto's own PDF (``GET .../customer-invoices/{id}/pdf``)."""
        token = self._token(scope)
        self._check_id(invoice_id)
        response = await self._get(
            scope,
            token,
            f"{_INVOICES}/{path_segment(invoice_id)}/pdf",
            accept="application/pdf, application/json;q=0.5",
        )
        if response.status_code == 404:
            raise errors.not_found("invoice", invoice_id)
        if not response.content.startswith(b"%PDF-"):
            raise _malformed("an invoice document that is not a PDF")
        return response.content

    # -- internals -----------------------------------------------------------------------------------

    def _token(self, scope: Scope) -> str:
        """The customer token: the session's own (HTTP mode) or the configured one (stdio)."""
        if scope.credential is not None:
            return scope.credential.get_secret_value()
        if self._customer_token is not None:
            return self._customer_token.get_secret_value()
        raise Unauthorized(
            f"No {_NAME} customer token is available for this session.",
            hint="Set BAGISTO_CUSTOMER_TOKEN to the customer's token (from POST /api/shop/customer/login).",
        )

    @staticmethod
    def _check_id(invoice_id: str) -> None:
        # Not a Bagisto id, so no one's invoice: the same not_found, without asking.
        if not _INVOICE_ID.match(invoice_id):
            raise errors.not_found("invoice", invoice_id)

    async def _get(
        self,
        scope: Scope,
        token: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        accept: str = "application/json",
    ) -> httpx2.Response:
        """``GET path`` as the customer; a 200 or a 404 comes back, a refusal raises ``Unauthorized``."""
        response = await self._http.request(
            "GET",
            path,
            params=params,
            headers={"Authorization": f"Bearer {token}", "Accept": accept},
            expected=(200, 401, 403, 404),
        )
        if response.status_code in (401, 403):
            self._refused(scope, response)
        return response

    def _refused(self, scope: Scope, response: httpx2.Response) -> NoReturn:
        """Say which credential Bagisto refused, read from its error body (never echoing the body)."""
        text = _error_text(response)
        if "storefront" in text:
            which, message, hint = "storefront_key", f"{_NAME} refused the storefront key.", _STOREFRONT_HINT
        elif any(word in text for word in ("customer", "logged in", "token", "unauthenticated", "bearer")):
            which, message = "customer_token", f"{_NAME} refused the customer token."
            hint = _SESSION_TOKEN_HINT if scope.credential is not None else _TOKEN_HINT
        else:
            which, message, hint = "unknown", f"{_NAME} refused the credentials.", _BOTH_HINT
        logger.warning(
            "%s refused the %s",
            _NAME,
            which.replace("_", " "),
            extra={"provider": PROVIDER_ID, "status": response.status_code, "credential": which},
        )
        raise Unauthorized(message, hint=hint)

    async def _walk(
        self, scope: Scope, query: InvoiceFilter, start: tuple[int, int | None] | None
    ) -> AsyncGenerator[tuple[int, list[tuple[int, Invoice]]], None]:
        """``(page number, [(id, invoice)] newest first)`` from ``start`` (or the last page) down to page 1.

        Invoices are normalized without following item links; callers apply the filter.
        """
        params = _list_params(query)
        if params is None:
            return
        token = self._token(scope)
        first: _WirePage | None = None
        if start is None:
            first, page_number = await self._first_page(scope, token, params)
            before_id = None
        else:
            page_number, before_id = start
        while page_number >= 1:  # bounded: the page number only goes down
            page = (
                first
                if page_number == 1 and first is not None
                else await self._page(scope, token, params, page_number)
            )
            newest_first = sorted(
                (wire for wire in page.invoices if before_id is None or wire.id < before_id),
                key=lambda wire: wire.id,
                reverse=True,
            )
            yield page_number, [(wire.id, _normalize(wire, _embedded(wire))) for wire in newest_first]
            page_number, before_id = page_number - 1, None

    async def _first_page(self, scope: Scope, token: str, params: Mapping[str, Any]) -> tuple[_WirePage, int]:
        """Page 1 and the number of pages (0 when there are no invoices), which the walk starts from."""
        first = await self._page(scope, token, params, 1)
        if first.total_pages is None:
            raise _malformed("an invoice list without its pagination headers")
        return first, first.total_pages

    async def _invoice(self, scope: Scope, token: str, invoice_id: str) -> _WireInvoice:
        self._check_id(invoice_id)
        response = await self._get(scope, token, f"{_INVOICES}/{path_segment(invoice_id)}")
        if response.status_code == 404:
            raise errors.not_found("invoice", invoice_id)
        wire: _WireInvoice = _validated(_WireInvoice.model_validate, parse_json(response), "an invoice")
        if str(wire.id) != invoice_id:
            raise _malformed("an invoice other than the one asked for")
        return wire

    async def _page(self, scope: Scope, token: str, params: Mapping[str, Any], page: int) -> _WirePage:
        response = await self._get(scope, token, _INVOICES, params={**params, "page": page})
        if response.status_code == 404:
            raise _malformed("a 404 for the invoice list")
        body = parse_json(response)
        invoices: list[_WireInvoice] = _validated(_INVOICE_LIST.validate_python, body, "an invoice list")
        return _WirePage(invoices=invoices, total_pages=_total_pages(response.headers))

    async def _resolve_items(
        self, scope: Scope, token: str, invoice_id: str, item_ids: Sequence[str]
    ) -> list[_WireItem]:
        """GET each linked item with the same token, a few at a time; returned in the links' order."""

        async def fetch(index: int) -> _WireItem:
            response = await self._get(scope, token, f"{_ITEMS}/{path_segment(item_ids[index])}")
            if response.status_code == 404:
                raise ProviderUnavailable(
                    f"{_NAME} listed an item of invoice {invoice_id!r} that it then could not find.",
                    hint="Try again in a moment.",
                )
            item: _WireItem = _validated(_WireItem.model_validate, parse_json(response), "an invoice item")
            return item

        # The first failure cancels the fetches still in flight and is raised as itself.
        return await fetch_pages(fetch, range(len(item_ids)), concurrency=self._item_concurrency)
