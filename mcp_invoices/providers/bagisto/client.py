"""Bagisto (self-hosted shop API): one customer's invoices, read with that customer's own token.

Every call carries the storefront key (``X-STOREFRONT-KEY``) and the customer token
(``Authorization: Bearer``); Bagisto scopes every answer by the token, so a missing invoice and
another customer's one are the same ``not_found``. Evidence for each wire fact: bagisto-api 5ab9ff2,
listed in ``docs/providers.md``.

- One invoice: REST ``GET /api/shop/customer-invoices/{id}`` (404 for anyone else's). Its lines
  arrive as IRIs that nothing serves, so they are read through GraphQL: the invoices of its order
  (``customerInvoices(orderId:)``), each with ``items { edges { node } }``. When the lines cannot
  be read, the invoice is still served with its stated totals and a ``note`` saying so.
- Listings, summaries and number lookups: GraphQL ``customerInvoices(first:, after:, state:)``,
  newest first (``id DESC``), ``first`` at most 50, ``after`` = ``pageInfo.endCursor`` until
  ``hasNextPage`` is false. The REST list is never used: it ignores ``page``/``per_page`` and
  always answers the 10 newest.
- Amounts are JSON numbers in major units, parsed as ``Decimal`` (never a float) and kept as
  stated: ``grandTotal`` is the total, never recomputed from the lines.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
from collections.abc import AsyncGenerator
from typing import Any, Unpack

from pydantic import SecretStr

from mcp_invoices.config import RemoteProviderConfig
from mcp_invoices.domain import errors
from mcp_invoices.domain.errors import (
    InvalidArgument,
    InvoiceError,
    ProviderUnavailable,
    Unauthorized,
)
from mcp_invoices.domain.models import (
    Invoice,
    InvoiceFilter,
    Page,
)
from mcp_invoices.logs import add_secrets
from mcp_invoices.principal import Scope
from mcp_invoices.providers.bagisto.api import INVOICES_DATA, LINES_DATA, BagistoAPI
from mcp_invoices.providers.bagisto.wire import (
    GRAPHQL_PAGE_MAX,
    INVOICE_ITEMS_QUERY,
    INVOICES_QUERY,
    NAME,
    PROVIDER_ID,
    STATUSES,
    WIRE,
    WireConnection,
    WireInvoice,
    WireItem,
    WireLines,
    WireLinesConnection,
    embedded_items,
    normalize_invoice,
)
from mcp_invoices.providers.base import InvoiceProvider
from mcp_invoices.providers.catalog import spec
from mcp_invoices.providers.http import DOCUMENT_MAX_BYTES, Tuning, path_segment
from mcp_invoices.providers.paging import check_page_count, pages_per_summary
from mcp_invoices.replicas.base import Budget, DocumentStore, SharedState

__all__ = ["PROVIDER_ID", "STATUSES", "BagistoProvider"]

logger = logging.getLogger("mcp_invoices.bagisto")

_INVOICES = "/api/shop/customer-invoices"
_INVOICE = WIRE.decoder(WireInvoice)

_PAGE_SIZE = GRAPHQL_PAGE_MAX
"""Invoices per GraphQL page: Bagisto's maximum, so that a full walk costs the fewest requests."""
_MAX_PAGES_PER_LIST = 20
"""Pages one ``list_invoices`` call reads looking for matches before it answers with a cursor."""
_MAX_ORDER_PAGES = 4
"""Pages of one order's invoices read looking for an invoice's lines (an order has a few invoices)."""
_INVOICE_ID = re.compile(r"^[1-9]\d{0,18}$")
"""Bagisto invoice ids are positive integers; anything else cannot exist for anyone."""
_AFTER = re.compile(r"^[A-Za-z0-9+/=_-]{1,64}$")
"""A Bagisto cursor (base64 of an offset, bagisto-api 5ab9ff2 src/State/CustomerInvoiceProvider.php)."""
_POSITION = re.compile(r"^([A-Za-z0-9+/=_-]{0,64})~([1-9]\d{0,18})$")
"""Our list cursor: ``{after}~{below_id}``: the Bagisto page to read again and the id to resume below."""
_LINES_UNREADABLE = (
    "Bagisto did not let us read this invoice's lines ({why}); its totals are Bagisto's own and complete."
)


def _state(query: InvoiceFilter) -> tuple[bool, str | None]:
    """``(any can match, the one Bagisto state to ask for)``; callers still apply the whole filter.

    Dates are never sent: ``customerInvoices`` takes no date argument.
    """
    if query.status is None:
        return True, None
    states = STATUSES.natives(query.status)
    return bool(states), states[0] if len(states) == 1 else None


def _decode_position(cursor: str) -> tuple[str | None, int]:
    match = _POSITION.match(cursor)
    if match is None:
        raise InvalidArgument(
            "The cursor is not one this server gave out for Bagisto.",
            hint="Call list_invoices again without cursor and page on from there.",
        )
    return match.group(1) or None, int(match.group(2))


def _encode_position(after: str | None, below_id: int) -> str:
    return f"{after or ''}~{below_id}"


class _Walk:
    """One GraphQL walk's guard: every cursor must be new, and the walk ends within ``limit`` pages."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.read = 0
        self._cursors: set[str | None] = set()

    def next(self, after: str | None, page: WireConnection | WireLinesConnection) -> str | None:
        """The ``after`` of the next page, None at the end; a cursor that does not advance is refused."""
        self.read += 1
        self._cursors.add(after)
        if not page.page_info.has_next_page:
            return None
        cursor = page.page_info.end_cursor
        if not page.edges or cursor is None or cursor in self._cursors or not _AFTER.match(cursor):
            # bagisto-api 5ab9ff2 src/State/CustomerInvoiceProvider.php: an offset past the end answers
            # the last page again, so a cursor seen before would loop forever.
            raise WIRE.unexpected("a next-page cursor that does not advance")
        return cursor


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
        **tuning: Unpack[Tuning],
    ) -> None:
        self._customer_token = customer_token
        secrets = tuple(
            secret.get_secret_value() for secret in (storefront_key, customer_token) if secret is not None
        )
        add_secrets(secrets)
        self._api = BagistoAPI(base_url=base_url, storefront_key=storefront_key, secrets=secrets, **tuning)
        self._http = self._api.http

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

    async def invoice_by_id(self, scope: Scope, invoice_id: str) -> Invoice:
        """REST for the invoice (scoped by the token); its lines through GraphQL, or a note saying why not."""
        token = self._token(scope)
        wire = await self._invoice(scope, token, invoice_id)
        items = embedded_items(wire)
        if items is not None:
            return normalize_invoice(wire, items)
        try:
            items = await self._lines(scope, token, wire)
        except (Unauthorized, InvalidArgument):
            raise
        except InvoiceError as error:  # the invoice itself was read: serve it, and say what is missing
            logger.warning(
                "%s lines of an invoice could not be read",
                NAME,
                extra={"provider": PROVIDER_ID, "error": error.code},
            )
            return normalize_invoice(wire, [], note=_LINES_UNREADABLE.format(why=error.message.rstrip(".")))
        return normalize_invoice(wire, items)

    def could_be_id(self, reference: str) -> bool:
        return _INVOICE_ID.match(reference) is not None

    async def find_by_number(self, scope: Scope, number: str) -> Invoice | None:
        """The ``incrementId`` among every invoice of the customer, newest first, then read in full.

        ``customerInvoices`` takes no number argument, so the walk reads the customer's pages until
        it meets the number (as many as one summary may read; past them it says so rather than
        answer not_found).
        """
        async with contextlib.aclosing(self.iter_invoices(scope, InvoiceFilter())) as invoices:
            async for invoice in invoices:
                if invoice.has_number(number):
                    return await self.invoice_by_id(scope, invoice.id)
        return None

    async def list_invoices(
        self, scope: Scope, query: InvoiceFilter, *, limit: int, cursor: str | None
    ) -> Page[Invoice]:
        """Newest first, until ``limit`` match; the cursor names the Bagisto page and the id to resume below."""
        if limit < 1:
            raise InvalidArgument("limit must be at least 1.")
        after, below_id = _decode_position(cursor) if cursor is not None else (None, None)
        possible, state = _state(query)
        if query.needs_due_dates or not possible:  # nothing can match: nothing to ask
            return Page[Invoice](items=[], next_cursor=None)
        token = self._token(scope)
        walk = _Walk(_MAX_PAGES_PER_LIST)
        found: list[Invoice] = []
        while True:  # bounded: _Walk refuses a repeated cursor, and the loop ends after _MAX_PAGES_PER_LIST
            page = await self._page(scope, token, after, state)
            nodes = sorted(page.invoices, key=lambda wire: wire.id, reverse=True)
            following = walk.next(after, page)
            for index, wire in enumerate(nodes):
                if below_id is not None and wire.id >= below_id:
                    continue  # already served (or created since): the cursor resumes below it
                invoice = normalize_invoice(wire, [])
                if not query.matches(invoice):
                    continue
                found.append(invoice)
                if len(found) < limit:
                    continue
                if index + 1 < len(nodes):  # resume on this page, below the last id returned
                    return Page[Invoice](items=found, next_cursor=_encode_position(after, wire.id))
                more = following is not None
                return Page[Invoice](
                    items=found, next_cursor=_encode_position(following, wire.id) if more else None
                )
            if following is None:
                return Page[Invoice](items=found, next_cursor=None)
            if nodes:  # the next page resumes below this one, whatever shifts its offsets meanwhile
                below_id = nodes[-1].id if below_id is None else min(below_id, nodes[-1].id)
            after = following
            if walk.read >= _MAX_PAGES_PER_LIST and below_id is not None:  # answer now; the cursor leads on
                return Page[Invoice](items=found, next_cursor=_encode_position(after, below_id))

    async def iter_invoices(self, scope: Scope, query: InvoiceFilter) -> AsyncGenerator[Invoice, None]:
        """Every match, newest first: GraphQL pages of 50 from the first to the last.

        ``totalCount`` on the first page says how many pages follow; a listing longer than one summary
        may read is refused before the second request.
        """
        possible, state = _state(query)
        if query.needs_due_dates or not possible:
            return
        token = self._token(scope)
        limit = pages_per_summary(self._http.requests_per_minute)
        walk = _Walk(limit)
        seen: set[int] = set()  # should an invoice be created while pages are read, count none twice
        after: str | None = None
        while True:  # bounded: _Walk refuses a repeated cursor, and check_page_count caps the pages
            page = await self._page(scope, token, after, state)
            if walk.read == 0:
                if page.total_count is None:
                    raise WIRE.unexpected("an invoice list without its totalCount")
                check_page_count(NAME, math.ceil(page.total_count / _PAGE_SIZE), limit)
            following = walk.next(after, page)
            for wire in sorted(page.invoices, key=lambda wire: wire.id, reverse=True):
                if wire.id in seen:
                    continue
                seen.add(wire.id)
                invoice = normalize_invoice(wire, [])
                if query.matches(invoice):
                    yield invoice
            if following is None:
                return
            if walk.read >= limit:
                raise ProviderUnavailable(
                    f"{NAME}'s invoice list did not end within the {limit} pages one summary may read.",
                    hint="Narrow it with status or issued_after / issued_before.",
                )
            after = following

    async def pdf_by_id(self, scope: Scope, invoice_id: str, documents: DocumentStore | None = None) -> bytes:
        """Bagisto's own PDF (``GET .../customer-invoices/{id}/pdf``)."""
        token = self._token(scope)
        self._check_id(invoice_id)
        response = await self._api.get(
            scope,
            token,
            f"{_INVOICES}/{path_segment(invoice_id)}/pdf",
            accept="application/pdf, application/json;q=0.5",
            max_body=DOCUMENT_MAX_BYTES,
        )
        if response.status_code == 404:
            raise errors.not_found("invoice", invoice_id)
        if not response.content.startswith(b"%PDF-"):
            raise WIRE.unexpected("an invoice document that is not a PDF")
        return response.content

    # -- sign-in -------------------------------------------------------------------------------------

    async def customer_login(self, email: str, password: str) -> tuple[str, SecretStr] | None:
        """The customer's own shop login: ``(customer id, bearer token)``, or None when Bagisto refuses it."""
        return await self._api.login(email, password)

    # -- internals -----------------------------------------------------------------------------------

    def _token(self, scope: Scope) -> str:
        """The customer token: the session's own (HTTP mode) or the configured one (stdio)."""
        if scope.credential is not None:
            return scope.credential.get_secret_value()
        if self._customer_token is not None:
            return self._customer_token.get_secret_value()
        raise Unauthorized(
            f"No {NAME} customer token is available for this session.",
            hint="Set BAGISTO_CUSTOMER_TOKEN to the customer's token (from POST /api/shop/customer/login).",
        )

    @staticmethod
    def _check_id(invoice_id: str) -> None:
        # Not a Bagisto id, so no one's invoice: the same not_found, without asking.
        if not _INVOICE_ID.match(invoice_id):
            raise errors.not_found("invoice", invoice_id)

    async def _invoice(self, scope: Scope, token: str, invoice_id: str) -> WireInvoice:
        self._check_id(invoice_id)
        response = await self._api.get(scope, token, f"{_INVOICES}/{path_segment(invoice_id)}")
        if response.status_code == 404:
            raise errors.not_found("invoice", invoice_id)
        wire = _INVOICE.read(response, what="an invoice")
        if str(wire.id) != invoice_id:
            raise WIRE.unexpected("an invoice other than the one asked for")
        return wire

    async def _page(self, scope: Scope, token: str, after: str | None, state: str | None) -> WireConnection:
        """One ``customerInvoices`` page of the customer's invoices (newest first)."""
        variables: dict[str, Any] = {"first": _PAGE_SIZE, "after": after}
        if state is not None:
            variables["state"] = state
        return await self._api.query(scope, token, INVOICES_QUERY, variables, INVOICES_DATA)

    async def _lines(self, scope: Scope, token: str, wire: WireInvoice) -> list[WireItem]:
        """The invoice's lines, from its order's invoices over GraphQL (the customer's scope, as REST)."""
        if wire.order_id is None:
            raise ProviderUnavailable(f"{NAME} did not say which order the invoice belongs to")
        walk = _Walk(_MAX_ORDER_PAGES)
        after: str | None = None
        while True:  # bounded: _Walk refuses a repeated cursor; at most _MAX_ORDER_PAGES pages
            page = await self._api.query(
                scope,
                token,
                INVOICE_ITEMS_QUERY,
                {"first": _PAGE_SIZE, "after": after, "orderId": wire.order_id},
                LINES_DATA,
            )
            following = walk.next(after, page)
            for node in page.invoices:
                if node.id != wire.id:
                    continue
                lines = node.items
                if not isinstance(lines, WireLines):
                    raise ProviderUnavailable(f"{NAME} answered the invoice without its lines")
                if not lines.complete:
                    raise ProviderUnavailable(
                        f"{NAME} gave {len(lines.edges)} of the invoice's {lines.total_count} lines"
                    )
                return lines.items
            if following is None or walk.read >= _MAX_ORDER_PAGES:
                raise ProviderUnavailable(f"{NAME}'s GraphQL API did not list the invoice under its order")
            after = following
