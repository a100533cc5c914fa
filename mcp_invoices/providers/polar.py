"""Polar's customer portal as an invoice provider (seeds 000 and 001, plus the README's drift notes).

In Polar an invoice belongs to an order and shares its id. The order carries everything the
normalized invoice needs (amounts in integer minor units, lower-case currency, billing details,
``is_invoice_generated``), so reading an invoice is one ``GET /v1/customer-portal/orders/{id}``.
The invoice document is a presigned URL from ``GET .../invoice``; this server downloads it with a
separate client that carries no Polar credential and serves it as the ``.../pdf`` resource.

Every portal call is authenticated with one customer's session token, which is what scopes it:
Polar answers another customer's order exactly as a missing one (404), and so does this module.
Over stdio that token is ``POLAR_CUSTOMER_SESSION``; over HTTP a session is minted per customer
with the organisation token (``POLAR_ACCESS_TOKEN``), which is only ever sent to
``POST /v1/customer-sessions/``.

Generation is permanent at Polar, so the server never asks twice for one order while a
generation is in flight: a per-order lock and a record of requested generations, both in the
shared state (``mcp_invoices.shared``), so that this holds across replicas too. Minted customer
sessions are kept there as well (encrypted in Redis), so replicas do not each mint their own.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Final, TypeVar

import anyio
import httpx2
from pydantic import BaseModel, ConfigDict, PlainValidator, SecretStr, ValidationError, field_validator

from mcp_invoices.config import RemoteProviderConfig
from mcp_invoices.domain.errors import (
    InvalidArgument,
    MissingBillingDetails,
    NotPaid,
    ProviderTimeout,
    ProviderUnavailable,
    Unauthorized,
    not_found,
)
from mcp_invoices.domain.models import (
    Address,
    Billing,
    Customer,
    Documents,
    Invoice,
    InvoiceFilter,
    InvoiceStatus,
    LineItem,
    Order,
    OrderInvoiceState,
    OrderLine,
    Page,
)
from mcp_invoices.domain.money import from_minor_units, normalize_currency
from mcp_invoices.logs import add_secrets
from mcp_invoices.principal import Scope
from mcp_invoices.shared.base import DocumentStore
from mcp_invoices.providers.base import (
    InvoiceProvider,
    Progress,
    json_uri,
    no_progress,
    pdf_uri,
)
from mcp_invoices.providers.http import ProviderHTTP, RetryPolicy, parse_json, path_segment
from mcp_invoices.providers.catalog import spec
from mcp_invoices.shared import Budget, SharedState, in_process_state

__all__ = [
    "ACCESS_TOKEN_HINT",
    "CUSTOMER_SESSION_HINT",
    "POLAR_STATUS_MAP",
    "PolarProvider",
]

logger = logging.getLogger("mcp_invoices.polar")

PROVIDER_ID: Final = "polar"
DISPLAY_NAME: Final = "Polar"

CUSTOMER_SESSION_HINT: Final = (
    "Check POLAR_CUSTOMER_SESSION (a customer session token, polar_cst_…; they expire after an hour)."
)
ACCESS_TOKEN_HINT: Final = (
    "Check POLAR_ACCESS_TOKEN (an organisation access token allowed to create customer sessions)."
)
_SCOPE_CREDENTIAL_HINT: Final = (
    "The Polar customer session bound to this session's token was refused; issue a new token."
)

POLAR_STATUS_MAP: Final[Mapping[str, InvoiceStatus]] = {
    "paid": InvoiceStatus.PAID,
    "refunded": InvoiceStatus.REFUNDED,
    # The invoice was paid in full; the partial refund is a credit on top of it, not a balance
    # still owed, so the invoice reads as paid and ``provider_status`` keeps the nuance.
    "partially_refunded": InvoiceStatus.PAID,
    "pending": InvoiceStatus.OPEN,
    "void": InvoiceStatus.VOID,
    "draft": InvoiceStatus.DRAFT,
}
"""Polar order status (of an order whose invoice exists) → normalized invoice status.

``pending`` (generation scheduled, not ready) is not in Polar's vocabulary: it is this process's
own knowledge that it asked Polar to generate the invoice.
"""

_PAID_ORDER_STATUSES: Final = frozenset({"paid", "refunded", "partially_refunded"})

_ORDERS: Final = "/v1/customer-portal/orders/"
_CUSTOMER_SESSIONS: Final = "/v1/customer-sessions/"
PAGE_SIZE: Final = 100
"""Orders per Polar page (Polar's maximum): fewest round trips, and cursors count in it."""
_MAX_PAGES_PER_CALL: Final = 20
"""One ``list_*`` call reads at most this many Polar pages before handing back a cursor."""
_MAX_PAGES_TOTAL: Final = 1000
"""``iter_invoices`` stops after this many pages (100,000 orders): a bound, not a limit in practice."""
_SESSION_REFRESH_MARGIN: Final = 300.0
"""A minted customer session is replaced this many seconds before Polar's ``expires_at``."""
_REQUESTED_TTL: Final = 900.0
"""How long a generation this process asked for counts as in flight without Polar finishing it."""
_MAX_PDF_BYTES: Final = 25 * 1024 * 1024
_PDF_MAGIC: Final = b"%PDF-"

M = TypeVar("M", bound=BaseModel)


# ------------------------------------------------------------------------------------------------
# Wire shapes: only what this module relies on is validated; extra fields are ignored.
# ------------------------------------------------------------------------------------------------


def _minor_units(value: object) -> int:
    """An integer amount in minor units; an integral ``Decimal`` (``100.0``) is tolerated, a fraction is not."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    raise ValueError("amounts must be integers in minor units")


MinorUnits = Annotated[int, PlainValidator(_minor_units)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _WireAddress(_Wire):
    line1: str | None = None
    line2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None


class _WireItem(_Wire):
    label: str | None = None
    amount: MinorUnits
    tax_amount: MinorUnits | None = None


class _WireCustomer(_Wire):
    id: str | None = None
    name: str | None = None
    email: str | None = None


class _WireOrder(_Wire):
    """A ``CustomerOrder`` of the customer portal."""

    id: str
    created_at: datetime
    status: str
    paid: bool | None = None
    currency: str
    subtotal_amount: MinorUnits | None = None
    discount_amount: MinorUnits | None = None
    tax_amount: MinorUnits | None = None
    total_amount: MinorUnits
    due_amount: MinorUnits | None = None
    billing_name: str | None = None
    billing_address: _WireAddress | None = None
    invoice_number: str | None = None
    is_invoice_generated: bool
    customer_id: str | None = None
    customer: _WireCustomer | None = None
    items: list[_WireItem] = []

    @field_validator("currency")
    @classmethod
    def _upper_currency(cls, value: str) -> str:
        return normalize_currency(value)  # Polar sends "usd"

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    @property
    def created_on(self) -> date:
        return self.created_at.astimezone(UTC).date()

    @property
    def was_paid(self) -> bool:
        return self.paid if self.paid is not None else self.status in _PAID_ORDER_STATUSES


class _WirePagination(_Wire):
    total_count: int
    max_page: int


class _WireOrderPage(_Wire):
    items: list[_WireOrder]
    pagination: _WirePagination


class _WireInvoiceURL(_Wire):
    url: str


class _WireCustomerSession(_Wire):
    token: str
    expires_at: datetime


def _parse(model: type[M], response: httpx2.Response, what: str) -> M:
    """The body as ``model``; anything else is Polar misbehaving (never a crash, never the body's text)."""
    data = parse_json(response, provider=DISPLAY_NAME)
    try:
        return model.model_validate(data)
    except ValidationError:
        raise ProviderUnavailable(
            f"Polar sent {what} in a shape this server does not understand.",
            hint="Try again in a moment; if it persists, check Polar's status page and the configured base URL.",
        ) from None


def _error_name(response: httpx2.Response) -> str | None:
    """Polar's ``{"error": "<Name>", "detail": ...}`` name, or None when the body is not that shape."""
    try:
        body = parse_json(response, provider=DISPLAY_NAME)
    except ProviderUnavailable:
        return None
    name = body.get("error") if isinstance(body, dict) else None
    return name if isinstance(name, str) else None


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------------------------
# Normalization
# ------------------------------------------------------------------------------------------------


def _invoice_status(order: _WireOrder) -> InvoiceStatus:
    status = POLAR_STATUS_MAP.get(order.status)
    if status is None:
        # An order status Polar added after this table: read it by whether money was received.
        logger.warning("unknown Polar order status", extra={"provider_status": order.status})
        status = InvoiceStatus.PAID if order.was_paid else InvoiceStatus.OPEN
    return status


def _billing(order: _WireOrder) -> Billing:
    address = order.billing_address
    return Billing(
        name=order.billing_name,
        address=Address(**address.model_dump()) if address is not None else None,
    )


def _amounts_due_and_paid(order: _WireOrder, status: InvoiceStatus) -> tuple[Decimal, Decimal]:
    """``(amount_due, amount_paid)`` from Polar's stated ``due_amount``; derived only when it is missing."""
    currency = order.currency
    zero = from_minor_units(0, currency)  # "0.00", "0": zeros carry the currency's precision too
    total = from_minor_units(order.total_amount, currency)
    if order.due_amount is not None:
        due = from_minor_units(order.due_amount, currency)
    else:
        due = zero if order.was_paid or order.status == "void" else total
    if order.status == "void" or status is InvoiceStatus.VOID:
        return due, zero  # a void order received nothing
    return due, max(total - due, zero)


def order_to_invoice(order: _WireOrder, *, pending: bool = False) -> Invoice:
    """The normalized invoice of a Polar order (``pending``: generation asked for, document not ready)."""
    currency = order.currency

    def money(minor: int | None) -> Decimal | None:
        return None if minor is None else from_minor_units(minor, currency)

    status = InvoiceStatus.PENDING if pending else _invoice_status(order)
    amount_due, amount_paid = _amounts_due_and_paid(order, status)
    customer = order.customer
    return Invoice(
        provider=PROVIDER_ID,
        id=order.id,
        # Polar reserves a number on the order; it is the invoice's only once the invoice exists.
        number=None if pending else order.invoice_number,
        status=status,
        provider_status=order.status,
        currency=currency,
        # Polar's invoice is dated by its order; Polar sets no due date and no payment time on it.
        issued_at=order.created_on,
        due_at=None,
        paid_at=None,
        customer=Customer(
            id=order.customer_id or (customer.id if customer else None),
            name=customer.name if customer else None,
            email=customer.email if customer else None,
        ),
        billing=_billing(order),
        line_items=[
            # Polar states each item's amount before tax and before order-level discounts, and its tax
            # beside it; no quantity or unit price. The line totals therefore add up to the subtotal.
            LineItem(
                description=item.label or "(no description)",
                tax=money(item.tax_amount),
                total=money(item.amount),
            )
            for item in order.items
        ],
        subtotal=money(order.subtotal_amount),
        discount=money(order.discount_amount),
        tax=money(order.tax_amount),
        shipping=None,  # Polar sells digital goods: no shipping on its orders
        total=from_minor_units(order.total_amount, currency),
        amount_paid=amount_paid,
        amount_due=amount_due,
        # The presigned document URL expires within the hour and lets anyone holding it read the
        # invoice: it is not published; the PDF resource fetches a fresh one on each read instead.
        documents=Documents(json_uri=json_uri(PROVIDER_ID, order.id), pdf_uri=pdf_uri(PROVIDER_ID, order.id)),
    )


def order_to_order(order: _WireOrder, invoice: OrderInvoiceState) -> Order:
    """A Polar order as a ``list_orders`` row source."""
    currency = order.currency

    def money(minor: int | None) -> Decimal:
        return from_minor_units(minor or 0, currency)

    subtotal = (
        order.subtotal_amount
        if order.subtotal_amount is not None
        else sum(item.amount for item in order.items)
    )
    return Order(
        provider=PROVIDER_ID,
        id=order.id,
        created_at=order.created_on,
        status=order.status,
        paid=order.was_paid,
        currency=currency,
        subtotal=money(subtotal),
        discount=money(order.discount_amount),
        tax=money(order.tax_amount),
        shipping=money(0),
        total=money(order.total_amount),
        billing=_billing(order),
        invoice=invoice,
        lines=[
            OrderLine(
                description=item.label or "(no description)",
                quantity=Decimal(1),
                unit_amount=money(item.amount),
                discount=money(0),
                tax=money(item.tax_amount),
                total=money(item.amount),
            )
            for item in order.items
        ],
    )


def _decode_position(cursor: str | None) -> int:
    """The absolute index (newest first) in the customer's order list that a cursor points at."""
    if cursor is None:
        return 0
    if not cursor.isdigit() or len(cursor) > 12:
        raise InvalidArgument(
            "The cursor is not one this Polar listing produced.",
            hint="Call the tool again without cursor and page on from there.",
        )
    return int(cursor)


# ------------------------------------------------------------------------------------------------
# The provider
# ------------------------------------------------------------------------------------------------


@dataclass
class _MintedSession:
    token: SecretStr
    lifetime: float
    """Seconds from now after which a new session is minted instead (shortly before Polar's expiry)."""


class PolarProvider(InvoiceProvider):
    """Polar through its customer portal API, one customer session per scope."""

    info = spec(PROVIDER_ID).info

    def __init__(
        self,
        *,
        base_url: str,
        customer_session: SecretStr | None = None,
        access_token: SecretStr | None = None,
        generation_timeout: float = 30.0,
        poll_interval: float = 0.25,
        max_poll_interval: float = 2.0,
        retry: RetryPolicy | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        download_transport: httpx2.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedState | None = None,
        budget: Budget | None = None,
    ) -> None:
        if customer_session is None and access_token is None:
            raise ValueError("Polar needs POLAR_CUSTOMER_SESSION or POLAR_ACCESS_TOKEN.")
        self._customer_session = customer_session
        self._access_token = access_token
        self.generation_timeout = generation_timeout
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self._clock = clock
        # No default Authorization header: each call names its token, so the organisation token can
        # only ever reach the one endpoint that takes it.
        self._http = ProviderHTTP(
            provider_name=DISPLAY_NAME,
            base_url=base_url,
            auth_hint=CUSTOMER_SESSION_HINT if customer_session is not None else ACCESS_TOKEN_HINT,
            retry=retry or RetryPolicy(),
            budget=budget,
            transport=transport,
        )
        # Invoice documents live on presigned storage URLs: a plain client that never carries a
        # Polar token and never follows a redirect elsewhere.
        self._downloads = httpx2.AsyncClient(
            headers={"Accept": "application/pdf"},
            timeout=httpx2.Timeout(connect=5.0, read=20.0, write=20.0, pool=5.0),
            follow_redirects=False,
            transport=download_transport,
        )
        # Minted sessions and generations in flight: in this process, or in Redis for all replicas.
        self._shared = shared if shared is not None else in_process_state(clock=clock)
        self._mint_locks: dict[str, anyio.Lock] = {}

    @classmethod
    def from_config(
        cls, config: RemoteProviderConfig, *, shared: SharedState | None = None, budget: Budget | None = None
    ) -> PolarProvider:
        session = config.credentials.get("customer_session")
        access = config.credentials.get("access_token")
        add_secrets(secret.get_secret_value() for secret in (session, access) if secret is not None)
        return cls(
            base_url=config.base_url, customer_session=session, access_token=access, shared=shared, budget=budget
        )

    def __repr__(self) -> str:
        return f"PolarProvider(http={self._http!r})"

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._downloads.aclose()

    # -- reads -----------------------------------------------------------------------------------

    async def get_invoice(self, scope: Scope, invoice_id: str) -> Invoice:
        order = await self._fetch_order(scope, invoice_id, kind="invoice")
        if order.is_invoice_generated:
            return order_to_invoice(order)
        if await self._shared.generations.requested(scope, [invoice_id]):
            return order_to_invoice(order, pending=True)
        # The session's own order without an invoice: exactly the answer a missing one gets.
        raise not_found("invoice", invoice_id)

    async def list_invoices(
        self, scope: Scope, query: InvoiceFilter, *, limit: int, cursor: str | None
    ) -> Page[Invoice]:
        def keep(order: _WireOrder) -> bool:
            return order.is_invoice_generated and query.matches(order_to_invoice(order))

        def past(order: _WireOrder) -> bool:  # newest first: nothing older can match
            return query.issued_after is not None and order.created_on < query.issued_after

        orders, next_cursor = await self._walk(scope, limit, cursor, keep, past)
        return Page[Invoice](items=[order_to_invoice(order) for order in orders], next_cursor=next_cursor)

    async def iter_invoices(self, scope: Scope, query: InvoiceFilter) -> AsyncIterator[Invoice]:
        """Every matching invoice, reading each Polar page once (summaries read them all)."""
        async for _, order, _ in self._scan(scope, 0, _MAX_PAGES_TOTAL):
            if query.issued_after is not None and order.created_on < query.issued_after:
                return
            if order.is_invoice_generated:
                invoice = order_to_invoice(order)
                if query.matches(invoice):
                    yield invoice

    async def list_orders(self, scope: Scope, *, limit: int, cursor: str | None) -> Page[Order]:
        orders, next_cursor = await self._walk(scope, limit, cursor, lambda order: True, None)
        requested = await self._shared.generations.requested(
            scope, [order.id for order in orders if not order.is_invoice_generated]
        )
        return Page[Order](
            items=[order_to_order(order, self._invoice_state(order, requested)) for order in orders],
            next_cursor=next_cursor,
        )

    async def invoice_pdf(self, scope: Scope, invoice_id: str, documents: DocumentStore | None = None) -> bytes:
        # One request decides: Polar answers 404 alike for a missing order, another customer's and
        # one whose invoice does not exist yet.
        response = await self._portal(scope, "GET", self._invoice_path(invoice_id), expected=(200, 404, 422))
        if response.status_code != 200:
            raise not_found("invoice", invoice_id)
        location = _parse(_WireInvoiceURL, response, "an invoice URL")
        return await self._download_pdf(location.url)

    # -- generation ------------------------------------------------------------------------------

    async def generate_invoice(
        self,
        scope: Scope,
        order_id: str,
        *,
        billing: Billing | None,
        wait: bool,
        progress: Progress = no_progress,
    ) -> Invoice:
        generations = self._shared.generations
        # Two calls for one order, on this replica or another: the second finds the first's request.
        # Across replicas the lock fails closed (no generation) when the shared store is unreachable.
        async with generations.lock(scope, order_id):
            order = await self._fetch_order(scope, order_id, kind="order")
            if order.is_invoice_generated:
                await generations.clear_requested(scope, order_id)
                return order_to_invoice(order)
            if not await generations.requested(scope, [order_id]):
                if billing is not None:
                    order = await self._update_billing(scope, order, billing)
                    if order.is_invoice_generated:
                        return order_to_invoice(order)
                await self._request_generation(scope, order)
                await generations.mark_requested(scope, order_id, _REQUESTED_TTL)
                logger.info(
                    "asked Polar to generate an invoice", extra={"provider": PROVIDER_ID, "order": order_id}
                )
        if not wait:
            return order_to_invoice(order, pending=True)
        return await self._wait_for_invoice(scope, order, progress)

    async def _update_billing(self, scope: Scope, order: _WireOrder, billing: Billing) -> _WireOrder:
        """Save the billing name and/or address on the order before generating (the invoice is permanent)."""
        body: dict[str, Any] = {}
        if billing.name is not None:
            body["billing_name"] = billing.name
        if billing.address is not None:
            body["billing_address"] = billing.address.model_dump()
        if not body:
            return order
        response = await self._portal(
            scope,
            "PATCH",
            self._order_path(order.id),
            json=body,
            expected=(200, 404, 409, 422),
            idempotent=True,
        )
        if response.status_code == 404:
            raise not_found("order", order.id)
        if response.status_code == 409:
            # The invoice came into existence meanwhile; it is returned as it is.
            return await self._fetch_order(scope, order.id, kind="order")
        if response.status_code == 422:
            raise InvalidArgument(
                f"Polar refused the billing details for order {order.id!r}.",
                hint="Pass billing_name and a billing_address with line1, postal_code, city and a two-letter "
                "country code.",
            )
        return _parse(_WireOrder, response, "an order")

    async def _request_generation(self, scope: Scope, order: _WireOrder) -> None:
        # Not idempotent for the retry layer: a POST that may have reached Polar is never repeated.
        response = await self._portal(
            scope,
            "POST",
            self._invoice_path(order.id),
            expected=(200, 201, 202, 204, 404, 409, 422),
            idempotent=False,
        )
        status = response.status_code
        if status in (200, 201, 202, 204):
            return  # 202 with a JSON null (mid-2026) or {} (earlier): both mean scheduled
        error = _error_name(response)
        if status == 404:
            raise not_found("order", order.id)
        if status == 409:
            if error == "InvoiceAlreadyExists":
                return
            if order.status in ("draft", "void"):
                raise InvalidArgument(
                    f"Order {order.id!r} is {order.status}, and Polar does not invoice draft or void orders.",
                    hint="Only paid orders can be invoiced; call list_orders to find one.",
                )
            raise NotPaid(
                f"Order {order.id!r} is not eligible for an invoice: Polar invoices only paid orders "
                f"(this one is {order.status}).",
                hint="Generate the invoice once the order is paid.",
            )
        if status == 422:
            if error == "MissingInvoiceBillingDetails":
                raise MissingBillingDetails(
                    f"Polar needs a billing name and address before it can invoice order {order.id!r}.",
                    hint="Call generate_invoice again with billing_name and billing_address "
                    "(line1, postal_code, city, country).",
                )
            if error == "NotPaidOrder":
                raise NotPaid(
                    f"Order {order.id!r} is not paid, so Polar cannot invoice it yet.",
                    hint="Generate the invoice once the order is paid.",
                )
            if error == "RequestValidationError":
                raise not_found("order", order.id)
        raise ProviderUnavailable(
            f"Polar refused to generate the invoice of order {order.id!r} for a reason this server does not know.",
            hint="Try again later; if it persists, check the order in Polar's customer portal.",
        )

    async def _wait_for_invoice(self, scope: Scope, order: _WireOrder, progress: Progress) -> Invoice:
        """Poll ``GET .../invoice`` with doubling intervals until it exists or the time limit passes."""
        deadline = self._clock() + self.generation_timeout
        interval = self.poll_interval
        checks = 0
        while checks < 10_000:  # bounded by the deadline; the count is a second fence
            checks += 1
            await progress(checks, None, f"Waiting for Polar to generate the invoice (check {checks})")
            response = await self._portal(scope, "GET", self._invoice_path(order.id), expected=(200, 404))
            if response.status_code == 200:
                break
            # 404 (InvoiceDoesNotExist, or ResourceNotFound before mid-2026): not ready yet.
            remaining = deadline - self._clock()
            if remaining <= 0:
                return order_to_invoice(order, pending=True)
            await anyio.sleep(min(interval, remaining))
            interval = min(interval * 2, self.max_poll_interval)
        else:
            return order_to_invoice(order, pending=True)
        ready = await self._fetch_order(scope, order.id, kind="order")
        if not ready.is_invoice_generated:  # Polar's two views disagree for a moment: still pending
            return order_to_invoice(ready, pending=True)
        await self._shared.generations.clear_requested(scope, order.id)
        await progress(checks, checks, "The invoice is ready")
        return order_to_invoice(ready)

    # -- orders ----------------------------------------------------------------------------------

    @staticmethod
    def _order_path(order_id: str) -> str:
        return f"{_ORDERS}{path_segment(order_id)}"

    @classmethod
    def _invoice_path(cls, order_id: str) -> str:
        return f"{cls._order_path(order_id)}/invoice"

    async def _fetch_order(self, scope: Scope, order_id: str, *, kind: str) -> _WireOrder:
        """The scope's order, or the one not-found answer (missing, another customer's, malformed id)."""
        response = await self._portal(scope, "GET", self._order_path(order_id), expected=(200, 404, 422))
        if response.status_code != 200:
            raise not_found("invoice" if kind == "invoice" else "order", order_id)
        return _parse(_WireOrder, response, "an order")

    async def _orders_page(self, scope: Scope, page: int) -> _WireOrderPage:
        response = await self._portal(
            scope,
            "GET",
            _ORDERS,
            params={"page": page, "limit": PAGE_SIZE, "sorting": "-created_at"},
        )
        return _parse(_WireOrderPage, response, "a list of orders")

    async def _scan(
        self, scope: Scope, start: int, max_pages: int
    ) -> AsyncIterator[tuple[int, _WireOrder, int]]:
        """``(index, order, total_count)`` from absolute index ``start`` on, newest first, page by page."""
        page, offset = divmod(start, PAGE_SIZE)
        page += 1
        for _ in range(max_pages):
            listing = await self._orders_page(scope, page)
            for index in range(offset, len(listing.items)):
                yield (page - 1) * PAGE_SIZE + index, listing.items[index], listing.pagination.total_count
            if not listing.items or page >= listing.pagination.max_page:
                return
            page, offset = page + 1, 0

    async def _walk(
        self,
        scope: Scope,
        limit: int,
        cursor: str | None,
        keep: Callable[[_WireOrder], bool],
        past: Callable[[_WireOrder], bool] | None,
    ) -> tuple[list[_WireOrder], str | None]:
        """Up to ``limit`` kept orders from the cursor on, and the cursor after the last one looked at."""
        start = _decode_position(cursor)
        kept: list[_WireOrder] = []
        position, total = start, None
        async for index, order, total in self._scan(scope, start, _MAX_PAGES_PER_CALL):
            position = index + 1
            if past is not None and past(order):
                return kept, None
            if keep(order):
                kept.append(order)
                if len(kept) >= limit:
                    break
        if total is None or position >= total:
            return kept, None
        return kept, str(position)

    @staticmethod
    def _invoice_state(order: _WireOrder, requested: set[str]) -> OrderInvoiceState:
        if order.is_invoice_generated:
            return "generated"
        return "pending" if order.id in requested else "none"

    # -- documents -------------------------------------------------------------------------------

    async def _download_pdf(self, url: str) -> bytes:
        """The document behind a presigned URL, fetched with no Polar credential; it must be a PDF."""
        unavailable = ProviderUnavailable(
            "Polar's invoice document could not be downloaded.",
            hint="Try again in a moment; the invoice itself is available with get_invoice.",
        )
        try:
            target = httpx2.URL(url)
        except (httpx2.InvalidURL, TypeError, ValueError):
            raise unavailable from None
        if target.scheme not in ("https", "http") or not target.host:
            raise unavailable
        try:
            async with self._downloads.stream("GET", target) as response:
                if response.status_code != 200:
                    logger.warning(
                        "invoice document download failed",
                        extra={"provider": PROVIDER_ID, "status": response.status_code},
                    )
                    raise unavailable
                document = bytearray()
                async for chunk in response.aiter_bytes():
                    document += chunk
                    if len(document) > _MAX_PDF_BYTES:
                        raise unavailable
        except httpx2.TimeoutException:
            raise ProviderTimeout(
                "Polar's invoice document did not arrive in time.", hint="Try again in a moment."
            ) from None
        except httpx2.HTTPError:
            raise unavailable from None
        if not document.startswith(_PDF_MAGIC):
            raise ProviderUnavailable(
                "Polar's invoice document is not a PDF.",
                hint="Try again in a moment; if it persists, check the invoice in Polar's customer portal.",
            )
        return bytes(document)

    # -- authentication --------------------------------------------------------------------------

    async def _portal(
        self,
        scope: Scope,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        expected: tuple[int, ...] = (200,),
        idempotent: bool | None = None,
    ) -> httpx2.Response:
        """A customer-portal call as the scope's customer; a refused minted session is re-minted once."""
        token, minted, hint = await self._session_for(scope)
        try:
            return await self._http.request(
                method,
                path,
                params=params,
                json=json,
                headers=_bearer(token),
                expected=expected,
                idempotent=idempotent,
            )
        except Unauthorized as refused:
            if not minted:
                raise Unauthorized(refused.message, hint=hint) from None
        token, _, _ = await self._session_for(scope, stale=token)
        try:
            return await self._http.request(
                method,
                path,
                params=params,
                json=json,
                headers=_bearer(token),
                expected=expected,
                idempotent=idempotent,
            )
        except Unauthorized:
            raise Unauthorized(
                "Polar refused the customer session this server opened for the session's customer.",
                hint=ACCESS_TOKEN_HINT,
            ) from None

    async def _session_for(self, scope: Scope, *, stale: str | None = None) -> tuple[str, bool, str]:
        """``(token, minted, hint)``: the customer session that scopes this call."""
        if scope.credential is not None:
            return scope.credential.get_secret_value(), False, _SCOPE_CREDENTIAL_HINT
        if self._customer_session is not None:
            return self._customer_session.get_secret_value(), False, CUSTOMER_SESSION_HINT
        customer = scope.customer_id
        if not customer:
            raise Unauthorized(
                "Polar needs a customer to open a session for, and this session names none.",
                hint=CUSTOMER_SESSION_HINT,
            )
        lock = self._mint_locks.setdefault(customer, anyio.Lock())
        # Concurrent first calls for one customer mint one session in this process; two replicas may
        # each mint one at the same moment, which is harmless (the last one stored is shared).
        async with lock:
            cached = await self._shared.sessions.get(scope)
            if cached is not None and cached.get_secret_value() != stale:
                return cached.get_secret_value(), True, ACCESS_TOKEN_HINT
            session = await self._mint(customer)
            await self._shared.sessions.put(scope, session.token, session.lifetime)
            return session.token.get_secret_value(), True, ACCESS_TOKEN_HINT

    async def _mint(self, customer: str) -> _MintedSession:
        """``POST /v1/customer-sessions/`` with the organisation token: the only call that carries it."""
        assert self._access_token is not None
        body = {"customer_id": customer} if _is_uuid(customer) else {"external_customer_id": customer}
        try:
            response = await self._http.request(
                "POST",
                _CUSTOMER_SESSIONS,
                json=body,
                headers=_bearer(self._access_token.get_secret_value()),
                expected=(200, 201, 404, 422),
                idempotent=True,  # a second session for the same customer is harmless
            )
        except Unauthorized:
            raise Unauthorized(
                "Polar refused the organisation access token.", hint=ACCESS_TOKEN_HINT
            ) from None
        if response.status_code in (404, 422):
            raise Unauthorized(
                "Polar has no customer in this organisation for this session's customer id.",
                hint="Issue the session's token for a Polar customer id or external id of this organisation.",
            )
        session = _parse(_WireCustomerSession, response, "a customer session")
        add_secrets([session.token])
        expires_at = (
            session.expires_at if session.expires_at.tzinfo else session.expires_at.replace(tzinfo=UTC)
        )
        lifetime = (expires_at - datetime.now(UTC)).total_seconds()
        margin = min(_SESSION_REFRESH_MARGIN, max(lifetime, 0.0) / 2)
        logger.info(
            "opened a Polar customer session", extra={"provider": PROVIDER_ID, "lifetime": round(lifetime)}
        )
        return _MintedSession(token=SecretStr(session.token), lifetime=lifetime - margin)
