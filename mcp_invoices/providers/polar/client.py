"""Polar's customer portal as an invoice provider (the Polar seeds tests/sandbox/seeds/000_377e842cab561428.txt and tests/sandbox/seeds/001_757ee1a45c644c68.txt, plus the README's drift notes).

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
shared state (``mcp_invoices.replicas``), so that this holds across replicas too. Minted customer
sessions are kept there as well (encrypted in Redis), so replicas do not each mint their own.

The order's wire shape and its normalization live in ``polar_wire``; the authenticated portal calls,
session minting and document downloads in ``portal``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Final, Unpack

import anyio
import httpx2
from pydantic import SecretStr

from mcp_invoices.config import RemoteProviderConfig
from mcp_invoices.domain.errors import (
    InvalidArgument,
    ProviderUnavailable,
    not_found,
)
from mcp_invoices.domain.models import (
    Billing,
    Invoice,
    InvoiceFilter,
    Order,
    OrderInvoiceState,
    Page,
    same_number,
)
from mcp_invoices.logs import add_secrets
from mcp_invoices.principal import Scope
from mcp_invoices.providers.base import (
    NUMBER_SCAN_PAGES,
    Generation,
    InvoiceProvider,
    Progress,
    no_progress,
)
from mcp_invoices.providers.catalog import spec
from mcp_invoices.providers.http import Tuning
from mcp_invoices.providers.paging import check_page_count, page_count, pages_per_summary
from mcp_invoices.providers.polar.generation import (
    ORDERS,
    invoice_path,
    order_path,
    request_generation,
    update_billing,
)
from mcp_invoices.providers.polar.portal import (
    ACCESS_TOKEN_HINT,
    CUSTOMER_SESSION_HINT,
    PolarPortal,
    check_served,
    is_uuid,
)
from mcp_invoices.providers.polar.wire import (
    NAME,
    ORDER,
    PROVIDER_ID,
    STATUSES,
    WIRE,
    WireInvoiceURL,
    WireOrder,
    WireOrderPage,
    order_to_invoice,
    order_to_order,
)
from mcp_invoices.replicas import Budget, SharedState, in_process_state
from mcp_invoices.replicas.base import DocumentStore

__all__ = [
    "ACCESS_TOKEN_HINT",
    "CUSTOMER_SESSION_HINT",
    "STATUSES",
    "PolarProvider",
]

logger = logging.getLogger("mcp_invoices.polar")

_ORDER_PAGE: Final = WIRE.decoder(WireOrderPage)
_INVOICE_URL: Final = WIRE.decoder(WireInvoiceURL)
PAGE_SIZE: Final = 100
"""Orders per Polar page (Polar's maximum): fewest round trips, and cursors count in it."""
_MAX_PAGES_PER_CALL: Final = 20
"""One ``list_*`` call reads at most this many Polar pages before handing back a cursor."""
_REQUESTED_TTL: Final = 900.0
"""How long a generation this process asked for counts as in flight without Polar finishing it."""


def _decode_position(cursor: str | None) -> int:
    """The absolute index (newest first) in the customer's order list that a cursor points at."""
    if cursor is None:
        return 0
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 12:  # "²" is a digit to isdigit()
        raise InvalidArgument(
            "The cursor is not one this Polar listing produced.",
            hint="Call the tool again without cursor and page on from there.",
        )
    return int(cursor)


# ------------------------------------------------------------------------------------------------
# The provider
# ------------------------------------------------------------------------------------------------


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
        download_deadline: float = 30.0,
        poll_interval: float = 0.25,
        max_poll_interval: float = 2.0,
        download_transport: httpx2.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedState | None = None,
        **tuning: Unpack[Tuning],
    ) -> None:
        if customer_session is None and access_token is None:
            raise ValueError("Polar needs POLAR_CUSTOMER_SESSION or POLAR_ACCESS_TOKEN.")
        self.generation_timeout = generation_timeout
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self._clock = clock
        # Minted sessions and generations in flight: in this process, or in Redis for all replicas.
        self._shared = shared if shared is not None else in_process_state(clock=clock)
        self._portal = PolarPortal(
            base_url=base_url,
            shared=self._shared,
            customer_session=customer_session,
            access_token=access_token,
            download_deadline=download_deadline,
            download_transport=download_transport,
            **tuning,
        )
        self._summary_pages = pages_per_summary(self._portal.http.requests_per_minute)

    @classmethod
    def from_config(
        cls, config: RemoteProviderConfig, *, shared: SharedState | None = None, budget: Budget | None = None
    ) -> PolarProvider:
        session = config.credentials.get("customer_session")
        access = config.credentials.get("access_token")
        add_secrets(secret.get_secret_value() for secret in (session, access) if secret is not None)
        return cls(
            base_url=config.base_url,
            customer_session=session,
            access_token=access,
            shared=shared,
            budget=budget,
        )

    def __repr__(self) -> str:
        return f"PolarProvider(portal={self._portal!r})"

    async def customer_by_email(self, email: str) -> str | None:
        """Who signs in with ``email``: the organisation's customer Polar holds it for (HTTP mode)."""
        return await self._portal.customer_by_email(email)

    async def aclose(self) -> None:
        await self._portal.aclose()

    # -- reads -----------------------------------------------------------------------------------

    async def invoice_by_id(self, scope: Scope, invoice_id: str) -> Invoice:
        order = await self._fetch_order(scope, invoice_id, kind="invoice")
        if order.is_invoice_generated:
            return order_to_invoice(order)
        if await self._shared.generations.requested(scope, [invoice_id]):
            return order_to_invoice(order, pending=True)
        # The session's own order without an invoice: exactly the answer a missing one gets.
        raise not_found("invoice", invoice_id)

    def could_be_id(self, reference: str) -> bool:
        return is_uuid(reference)  # an order id; Polar's printed numbers are never UUIDs

    def could_be_number(self, reference: str) -> bool:
        return bool(reference.strip()) and not is_uuid(reference)

    async def find_by_number(self, scope: Scope, number: str) -> Invoice | None:
        """The session's orders, most recent first, 100 a request, until one's invoice has ``number``.

        Polar's customer-portal order list filters by product and subscription only (its ``query``
        searches product names), so paging is the only way; at most ``NUMBER_SCAN_PAGES`` pages.
        """
        async for _, order, _ in self._scan(scope, 0, NUMBER_SCAN_PAGES):
            if (
                order.is_invoice_generated
                and order.invoice_number
                and same_number(order.invoice_number, number)
            ):
                return order_to_invoice(order)
        return None

    async def list_invoices(
        self, scope: Scope, query: InvoiceFilter, *, limit: int, cursor: str | None
    ) -> Page[Invoice]:
        if query.needs_due_dates:  # Polar invoices have no due date: none can match, no request needed
            return Page[Invoice](items=[], next_cursor=None)

        def keep(order: WireOrder) -> bool:
            return order.is_invoice_generated and query.matches(order_to_invoice(order))

        def past(order: WireOrder) -> bool:  # newest first: nothing older can match
            return query.issued_after is not None and order.created_on < query.issued_after

        orders, next_cursor = await self._walk(scope, limit, cursor, keep, past)
        return Page[Invoice](items=[order_to_invoice(order) for order in orders], next_cursor=next_cursor)

    async def iter_invoices(self, scope: Scope, query: InvoiceFilter) -> AsyncIterator[Invoice]:
        """Every matching invoice, reading each Polar page once (summaries read them all)."""
        if query.needs_due_dates:
            return
        limit = self._summary_pages
        async for index, order, total in self._scan(scope, 0, limit + 1):
            if index >= limit * PAGE_SIZE:  # a page past what one summary may read
                check_page_count(NAME, page_count(total, PAGE_SIZE), limit)
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

    async def get_order(self, scope: Scope, order_id: str) -> Order:
        """One request to Polar (and, for an order without an invoice, one look at the shared state)."""
        order = await self._fetch_order(scope, order_id, kind="order")
        requested = (
            set()
            if order.is_invoice_generated
            else await self._shared.generations.requested(scope, [order_id])
        )
        return order_to_order(order, self._invoice_state(order, requested))

    async def pdf_by_id(self, scope: Scope, invoice_id: str, documents: DocumentStore | None = None) -> bytes:
        # One request decides: Polar answers 404 alike for a missing order, another customer's and
        # one whose invoice does not exist yet.
        response = check_served(
            await self._portal.request(scope, "GET", invoice_path(invoice_id), expected=(200, 404, 422)),
            invoice_id,
        )
        if response.status_code != 200:
            raise not_found("invoice", invoice_id)
        location = _INVOICE_URL.read(response, what="an invoice URL")
        return await self._portal.download_pdf(location.url)

    # -- generation ------------------------------------------------------------------------------

    async def generate_invoice(
        self,
        scope: Scope,
        order_id: str,
        *,
        billing: Billing | None,
        wait: bool,
        progress: Progress = no_progress,
    ) -> Generation:
        generations = self._shared.generations
        # Two calls for one order, on this replica or another: the second finds the first's request.
        # Across replicas the lock fails closed (no generation) when the shared store is unreachable.
        async with generations.lock(scope, order_id):
            order = await self._fetch_order(scope, order_id, kind="order")
            if order.is_invoice_generated:
                return await self._claim(scope, order)
            if not await generations.requested(scope, [order_id]):
                if billing is not None:
                    order = await update_billing(self._portal, scope, order, billing)
                    if order.is_invoice_generated:  # it came into existence meanwhile: never POST on it
                        return await self._claim(scope, order)
                # Shielded: a call whose client left stops, but never between asking Polar and
                # recording that it asked (the next call would ask again instead of answering this one).
                with anyio.CancelScope(shield=True):
                    await request_generation(self._portal, scope, order)
                    await generations.mark_requested(scope, order_id, _REQUESTED_TTL)
                logger.info(
                    "asked Polar to generate an invoice",
                    extra={"provider": PROVIDER_ID, "order": order_id},
                )
        ready = await self._wait_for_invoice(scope, order, progress) if wait else None
        if ready is None:
            return Generation(invoice=order_to_invoice(order, pending=True), outcome="pending")
        async with generations.lock(scope, order_id):
            return await self._claim(scope, ready)

    async def _claim(self, scope: Scope, order: WireOrder) -> Generation:
        """The outcome for an order whose invoice exists; called under the order's generation lock.

        ``generated`` goes to the first call that sees the invoice ready while this server's request
        for it is still marked, and that call clears the mark: exactly one per invoice, on any replica.
        An invoice that existed before anyone here asked for it is ``already_generated`` for everyone.
        """
        generations = self._shared.generations
        invoice = order_to_invoice(order)
        if await generations.requested(scope, [order.id]):
            await generations.clear_requested(scope, order.id)
            return Generation(invoice=invoice, outcome="generated")
        return Generation(invoice=invoice, outcome="already_generated")

    async def _wait_for_invoice(self, scope: Scope, order: WireOrder, progress: Progress) -> WireOrder | None:
        """Poll ``GET .../invoice`` with doubling intervals: the order once its invoice exists, or None
        when the time limit passes first."""
        deadline = self._clock() + self.generation_timeout
        interval = self.poll_interval
        checks = 0
        while checks < 10_000:  # bounded by the deadline; the count is a second fence
            checks += 1
            await progress(checks, None, f"Waiting for Polar to generate the invoice (check {checks})")
            response = check_served(
                await self._portal.request(scope, "GET", invoice_path(order.id), expected=(200, 404)),
                order.id,
            )
            if response.status_code == 200:
                break
            # 404 (InvoiceDoesNotExist, or ResourceNotFound from older deployments): not ready yet.
            remaining = deadline - self._clock()
            if remaining <= 0:
                return None
            await anyio.sleep(min(interval, remaining))
            interval = min(interval * 2, self.max_poll_interval)
        else:
            return None
        ready = await self._fetch_order(scope, order.id, kind="order")
        if not ready.is_invoice_generated:  # Polar's two views disagree for a moment: still pending
            return None
        await progress(checks, checks, "The invoice is ready")
        return ready

    # -- orders ----------------------------------------------------------------------------------

    async def _fetch_order(self, scope: Scope, order_id: str, *, kind: str) -> WireOrder:
        """The scope's order, or the one not-found answer (missing, another customer's, malformed id)."""
        response = check_served(
            await self._portal.request(scope, "GET", order_path(order_id), expected=(200, 404, 422)),
            order_id,
        )
        if response.status_code != 200:
            raise not_found("invoice" if kind == "invoice" else "order", order_id)
        return ORDER.read(response, what="an order")

    async def _orders_page(self, scope: Scope, page: int) -> WireOrderPage:
        response = await self._portal.request(
            scope,
            "GET",
            ORDERS,
            params={"page": page, "limit": PAGE_SIZE, "sorting": "-created_at"},
        )
        return _ORDER_PAGE.read(response, what="a list of orders")

    async def _scan(
        self, scope: Scope, start: int, max_pages: int
    ) -> AsyncIterator[tuple[int, WireOrder, int]]:
        """``(index, order, total_count)`` from absolute index ``start`` on, newest first, page by page."""
        page, offset = divmod(start, PAGE_SIZE)
        page += 1
        for _ in range(max_pages):
            listing = await self._orders_page(scope, page)
            for index in range(offset, len(listing.items)):
                yield (page - 1) * PAGE_SIZE + index, listing.items[index], listing.pagination.total_count
            if page < listing.pagination.max_page and len(listing.items) != PAGE_SIZE:
                # Cursors and page numbers count in PAGE_SIZE (polar c6c3645 kit/pagination.py caps a page
                # at 100): a short page that is not the last would make every later position wrong.
                raise ProviderUnavailable(
                    f"Polar answered page {page} of the orders with {len(listing.items)} orders instead of "
                    f"{PAGE_SIZE}, so the listing cannot be read completely.",
                    hint="Try again in a moment; if it persists, Polar's page size changed and this server "
                    "needs an update.",
                )
            if not listing.items or page >= listing.pagination.max_page:
                return
            page, offset = page + 1, 0

    async def _walk(
        self,
        scope: Scope,
        limit: int,
        cursor: str | None,
        keep: Callable[[WireOrder], bool],
        past: Callable[[WireOrder], bool] | None,
    ) -> tuple[list[WireOrder], str | None]:
        """Up to ``limit`` kept orders from the cursor on, and the cursor after the last one looked at."""
        start = _decode_position(cursor)
        kept: list[WireOrder] = []
        position, total = start, None
        async for index, order, count in self._scan(scope, start, _MAX_PAGES_PER_CALL):
            position, total = index + 1, count
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
    def _invoice_state(order: WireOrder, requested: set[str]) -> OrderInvoiceState:
        if order.is_invoice_generated:
            return "generated"
        return "pending" if order.id in requested else "none"

    # -- documents -------------------------------------------------------------------------------
