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
import re
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, NoReturn

import anyio
import httpx2
from pydantic import SecretStr

from mcp_invoices.config import RemoteProviderConfig
from mcp_invoices.domain import errors
from mcp_invoices.domain.errors import InvalidArgument, ProviderUnavailable, Unauthorized
from mcp_invoices.domain.models import (
    Invoice,
    InvoiceFilter,
    Page,
)
from mcp_invoices.logs import add_secrets
from mcp_invoices.principal import Scope
from mcp_invoices.providers.bagisto_wire import (
    INVOICE_LIST,
    NAME,
    PROVIDER_ID,
    STATUSES,
    UNREADABLE_HINT,
    BagistoTransport,
    WireInvoice,
    WireItem,
    WirePage,
    embedded_items,
    item_links,
    malformed,
    network_transport,
    normalize_invoice,
    total_pages,
)
from mcp_invoices.providers.base import InvoiceProvider
from mcp_invoices.providers.catalog import spec
from mcp_invoices.providers.http import DOCUMENT_MAX_BYTES, ProviderHTTP, RetryPolicy, path_segment
from mcp_invoices.providers.paging import check_page_count, fetch_pages, pages_per_summary
from mcp_invoices.providers.wire import error_body, read_body, text_at
from mcp_invoices.shared.base import Budget, DocumentStore, SharedState

__all__ = ["PROVIDER_ID", "STATUSES", "BagistoProvider"]

logger = logging.getLogger("mcp_invoices.bagisto")

_INVOICES = "/api/shop/customer-invoices"
_ITEMS = "/api/shop/invoice-items"

_PAGE_SIZE = 100
"""Invoices per provider page: Bagisto's maximum, so that a full walk costs the fewest requests."""
_PAGE_CONCURRENCY = 4
"""Pages read at once by a full walk (summaries): a self-hosted shop is often a small server."""
_ITEM_CONCURRENCY = 4
_MAX_PAGES_PER_LIST = 20
"""Pages one ``list_invoices`` call reads looking for matches before it answers with a cursor."""
"""Item links resolved at once per invoice: quick, without hammering a self-hosted shop."""
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


def _list_params(query: InvoiceFilter) -> dict[str, Any] | None:
    """Query parameters of the list endpoint for ``query``; None when no Bagisto invoice can match.

    The status is sent to Bagisto when exactly one Bagisto state means it; callers still apply the
    whole filter themselves (dates are never sent: the seeds document no date filter).
    """
    params: dict[str, Any] = {"per_page": _PAGE_SIZE}
    if query.status is not None:
        states = STATUSES.natives(query.status)
        if not states:
            return None
        if len(states) == 1:
            params["state"] = states[0]
    return params


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
    body = error_body(response)
    return " ".join(text_at(body, key) or "" for key in ("message", "title", "detail")).lower()


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
            provider_name=NAME,
            base_url=base_url,
            headers={
                "X-STOREFRONT-KEY": storefront_key.get_secret_value(),
                "Content-Type": "application/json",  # seed 003 lists it as required, body or not
            },
            auth_hint=_BOTH_HINT,
            retry=retry or RetryPolicy(),
            budget=budget,
            transport=BagistoTransport(transport or network_transport(base_url)),
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

    async def invoice_by_id(self, scope: Scope, invoice_id: str) -> Invoice:
        token = self._token(scope)
        wire = await self._invoice(scope, token, invoice_id)
        links = item_links(wire)
        resolved = iter(await self._resolve_items(scope, token, invoice_id, links) if links else [])
        # In the invoice's own order, whether a line came embedded or behind a link.
        items = [item if isinstance(item, WireItem) else next(resolved) for item in wire.items or ()]
        return normalize_invoice(wire, items)

    def could_be_id(self, reference: str) -> bool:
        return _INVOICE_ID.match(reference) is not None

    async def find_by_number(self, scope: Scope, number: str) -> Invoice | None:
        """The ``incrementId`` among the customer's invoices, most recent first, then read in full.

        Bagisto documents no filter by ``incrementId``, so the interface's bounded paging finds it
        (page 1 for the page count, then from the last page back); listed rows do not follow item
        links, so the match is read once more by id for its lines.
        """
        found = await super().find_by_number(scope, number)
        return None if found is None else await self.invoice_by_id(scope, found.id)

    async def list_invoices(
        self, scope: Scope, query: InvoiceFilter, *, limit: int, cursor: str | None
    ) -> Page[Invoice]:
        """Newest first: pages from the last one back, each page newest first, until ``limit`` match."""
        if limit < 1:
            raise InvalidArgument("limit must be at least 1.")
        if query.needs_due_dates:  # Bagisto states no due dates: nothing can match, nothing to ask
            return Page[Invoice](items=[], next_cursor=None)
        start = _decode_position(cursor) if cursor is not None else None
        found: list[Invoice] = []
        read = 0
        async with contextlib.aclosing(self._walk(scope, query, start)) as pages:
            async for page_number, invoices in pages:
                read += 1
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
                if read >= _MAX_PAGES_PER_LIST and page_number > 1:  # answer now; the cursor leads on
                    return Page[Invoice](items=found, next_cursor=_encode_position(page_number - 1, None))
        return Page[Invoice](items=found, next_cursor=None)

    async def iter_invoices(self, scope: Scope, query: InvoiceFilter) -> AsyncIterator[Invoice]:
        """Every match, newest first: page 1 says how many pages there are, the rest come in parallel.

        One request per provider page (summaries read everything), at most ``_PAGE_CONCURRENCY`` at once.
        """
        if query.needs_due_dates:
            return
        params = _list_params(query)
        if params is None:
            return
        token = self._token(scope)
        first, total_pages = await self._first_page(scope, token, params)
        check_page_count(NAME, total_pages, pages_per_summary(self._http.requests_per_minute))
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
                invoice = normalize_invoice(wire, embedded_items(wire))
                if query.matches(invoice):
                    yield invoice

    async def pdf_by_id(self, scope: Scope, invoice_id: str, documents: DocumentStore | None = None) -> bytes:
        """Bagisto's own PDF (``GET .../customer-invoices/{id}/pdf``)."""
        token = self._token(scope)
        self._check_id(invoice_id)
        response = await self._get(
            scope,
            token,
            f"{_INVOICES}/{path_segment(invoice_id)}/pdf",
            accept="application/pdf, application/json;q=0.5",
            max_body=DOCUMENT_MAX_BYTES,
        )
        if response.status_code == 404:
            raise errors.not_found("invoice", invoice_id)
        if not response.content.startswith(b"%PDF-"):
            raise malformed("an invoice document that is not a PDF")
        return response.content

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

    async def _get(
        self,
        scope: Scope,
        token: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        accept: str = "application/json",
        max_body: int | None = None,
    ) -> httpx2.Response:
        """``GET path`` as the customer; a 200 or a 404 comes back, a refusal raises ``Unauthorized``."""
        response = await self._http.request(
            "GET",
            path,
            params=params,
            headers={"Authorization": f"Bearer {token}", "Accept": accept},
            expected=(200, 401, 403, 404),
            max_body=max_body,
        )
        if response.status_code in (401, 403):
            self._refused(scope, response)
        return response

    def _refused(self, scope: Scope, response: httpx2.Response) -> NoReturn:
        """Say which credential Bagisto refused, read from its error body (never echoing the body)."""
        text = _error_text(response)
        if "storefront" in text:
            which, message, hint = "storefront_key", f"{NAME} refused the storefront key.", _STOREFRONT_HINT
        elif any(word in text for word in ("customer", "logged in", "token", "unauthenticated", "bearer")):
            which, message = "customer_token", f"{NAME} refused the customer token."
            hint = _SESSION_TOKEN_HINT if scope.credential is not None else _TOKEN_HINT
        else:
            which, message, hint = "unknown", f"{NAME} refused the credentials.", _BOTH_HINT
        logger.warning(
            "%s refused the %s",
            NAME,
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
        first: WirePage | None = None
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
            yield (
                page_number,
                [(wire.id, normalize_invoice(wire, embedded_items(wire))) for wire in newest_first],
            )
            page_number, before_id = page_number - 1, None

    async def _first_page(self, scope: Scope, token: str, params: Mapping[str, Any]) -> tuple[WirePage, int]:
        """Page 1 and the number of pages (0 when there are no invoices), which the walk starts from."""
        first = await self._page(scope, token, params, 1)
        if first.total_pages is None:
            raise malformed("an invoice list without its pagination headers")
        return first, first.total_pages

    async def _invoice(self, scope: Scope, token: str, invoice_id: str) -> WireInvoice:
        self._check_id(invoice_id)
        response = await self._get(scope, token, f"{_INVOICES}/{path_segment(invoice_id)}")
        if response.status_code == 404:
            raise errors.not_found("invoice", invoice_id)
        wire = read_body(WireInvoice, response, provider=NAME, what="an invoice", hint=UNREADABLE_HINT)
        if str(wire.id) != invoice_id:
            raise malformed("an invoice other than the one asked for")
        return wire

    async def _page(self, scope: Scope, token: str, params: Mapping[str, Any], page: int) -> WirePage:
        response = await self._get(scope, token, _INVOICES, params={**params, "page": page})
        if response.status_code == 404:
            raise malformed("a 404 for the invoice list")
        invoices = read_body(
            INVOICE_LIST, response, provider=NAME, what="an invoice list", hint=UNREADABLE_HINT
        )
        return WirePage(invoices=invoices, total_pages=total_pages(response.headers))

    async def _resolve_items(
        self, scope: Scope, token: str, invoice_id: str, item_ids: Sequence[str]
    ) -> list[WireItem]:
        """GET each linked item with the same token, a few at a time; returned in the links' order."""

        async def fetch(index: int) -> WireItem:
            response = await self._get(scope, token, f"{_ITEMS}/{path_segment(item_ids[index])}")
            if response.status_code == 404:
                raise ProviderUnavailable(
                    f"{NAME} listed an item of invoice {invoice_id!r} that it then could not find.",
                    hint="Try again in a moment.",
                )
            return read_body(WireItem, response, provider=NAME, what="an invoice item", hint=UNREADABLE_HINT)

        # The first failure cancels the fetches still in flight and is raised as itself.
        return await fetch_pages(fetch, range(len(item_ids)), concurrency=self._item_concurrency)
