"""Afternoon (``api.afternoon.co``): invoices read with a company-wide API key, scoped by this server.

Wire format: seed 002 (``GET /v1/invoices/{id}`` → ``{success, invoice, request_id}``, amounts in
integer minor units named ``*_cents``) and the README's notes (``GET /v1/invoices?customer_id=
&status=&limit=&cursor=``; 401 codes ``UNAUTHORIZED`` / ``INVALID_API_KEY`` / ``API_KEY_REVOKED``;
429 when over 1,000 requests a minute).

The key sees every customer of the organisation, so Afternoon enforces nothing for us: **this
module is the scope**. Every call needs ``scope.customer_id``; a fetched invoice of another
customer is answered exactly like a missing one, and listed rows of another customer are dropped
even though the list is already asked for ``customer_id=<scope>``.

Afternoon has no PDF endpoint (``public_invoice_url`` is a hosted payment page on another host),
so the PDF resource is the server's own rendering (the base class), after the scoped fetch.
Afternoon does not generate invoices from orders here: ``list_orders`` and ``generate_invoice``
keep the base class's ``not_supported``. The invoice's wire shape and normalization live in
``afternoon_wire``.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.lowlevel
import httpx2
from pydantic import SecretStr

from mcp_invoices.config import ConfigError, RemoteProviderConfig
from mcp_invoices.domain import errors
from mcp_invoices.domain.errors import InvalidArgument, ProviderUnavailable, Unauthorized
from mcp_invoices.domain.models import (
    Invoice,
    InvoiceFilter,
    Page,
)
from mcp_invoices.domain.summary import InvoiceFacts
from mcp_invoices.principal import Scope
from mcp_invoices.providers.afternoon_wire import (
    DISPLAY_NAME,
    PROVIDER_ID,
    STATUSES,
    UNREADABLE_HINT,
    LeanInvoiceFacts,
    LeanList,
    Normalizer,
    WireInvoice,
    unreadable,
)
from mcp_invoices.providers.base import InvoiceProvider
from mcp_invoices.providers.catalog import spec
from mcp_invoices.providers.http import ProviderHTTP, RetryPolicy, parse_json, path_segment
from mcp_invoices.providers.lean import LeanReader
from mcp_invoices.providers.paging import check_pages_read, fetch_pages, pages_per_summary
from mcp_invoices.providers.wire import (
    error_body,
    text_at,
    validated,
)
from mcp_invoices.shared.base import Budget, SharedState

__all__ = ["DEFAULT_BASE_URL", "STATUSES", "AfternoonProvider"]

logger = logging.getLogger("mcp_invoices.afternoon")


@dataclass(slots=True)
class _PagesRead:
    """Pages one summary has read so far, across its cursor chains, and the most it may read."""

    limit: int
    read: int = 0


DEFAULT_BASE_URL = "https://api.afternoon.co"
AUTH_HINT = "Check AFTERNOON_API_KEY (an organisation key, ak_live_… or ak_test_…)"

MAX_PAGE_SIZE = 100
"""Afternoon's largest ``limit``."""
MAX_FETCHES_PER_PAGE = 10
"""Upstream pages one ``list_invoices`` call may read to fill a page whose rows are filtered here."""

_UNSCOPED_MARKER = "(provider session token)"
"""``server.runtime.TOKEN_SCOPED``: what a scope says when the credential itself names the customer.
An Afternoon key never does, so this marker is refused like a missing customer."""

_DEFAULT_RETRY = RetryPolicy()

_ID_SHAPE = re.compile(r"[a-z0-9_]{1,64}")
"""What an Afternoon invoice id can look like: lower-case letters, digits (a cuid) and underscores. A
quoted number such as "AFT-0042" or "aft-0042" cannot be one, so it costs no request by id."""

# -- the provider -----------------------------------------------------------------------------------


_REFUSALS: Mapping[str, str] = {
    "API_KEY_REVOKED": "Afternoon says the configured API key has been revoked.",
    "INVALID_API_KEY": "Afternoon does not recognise the configured API key.",
    "UNAUTHORIZED": "Afternoon refused the request as unauthenticated (the API key is missing or malformed).",
}


def _error_code(response: httpx2.Response) -> str | None:
    """``error.code`` of seed 002's ``ErrorResponse``, or None when the body is not one."""
    return text_at(error_body(response), "error", "code")


class AfternoonProvider(InvoiceProvider):
    """Afternoon invoices for one customer per call, read with the organisation's API key."""

    info = spec(PROVIDER_ID).info

    def __init__(
        self,
        *,
        api_key: SecretStr,
        base_url: str = DEFAULT_BASE_URL,
        retry: RetryPolicy = _DEFAULT_RETRY,
        budget: Budget | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if not api_key.get_secret_value().strip():
            raise ValueError("Afternoon needs a non-empty API key.")
        self._normalizer = Normalizer(api_key)
        self._http = ProviderHTTP(
            provider_name=DISPLAY_NAME,
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key.get_secret_value().strip()}"},
            auth_hint=AUTH_HINT,
            retry=retry,
            budget=budget,
            transport=transport,
            sleep=sleep,
        )

    @classmethod
    def from_config(
        cls, config: RemoteProviderConfig, *, shared: SharedState | None = None, budget: Budget | None = None
    ) -> AfternoonProvider:
        """Built by the runtime from the catalog. The customer scope is not taken from here: it arrives with each call."""
        api_key = config.credentials.get("api_key")
        if api_key is None or not api_key.get_secret_value().strip():
            raise ConfigError(
                "Afternoon needs AFTERNOON_API_KEY (an organisation key, ak_live_… or ak_test_…)."
            )
        return cls(api_key=api_key, base_url=config.base_url, budget=budget)

    def __repr__(self) -> str:
        return f"AfternoonProvider(http={self._http!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- scope ----------------------------------------------------------------------------------

    @staticmethod
    def _customer(scope: Scope) -> str:
        """The one customer this call may see. An organisation key never serves an unscoped session."""
        customer = (scope.customer_id or "").strip()
        if not customer or customer == _UNSCOPED_MARKER:
            raise Unauthorized(
                "This session has no Afternoon customer scope, and an organisation key never serves an "
                "unscoped session.",
                hint="Set AFTERNOON_CUSTOMER_ID to the one customer this session serves "
                "(over HTTP, issue the token for a customer).",
            )
        return customer

    # -- reads ------------------------------------------------------------------------------------

    async def invoice_by_id(self, scope: Scope, invoice_id: str) -> Invoice:
        """One request; another customer's invoice gets exactly the not_found of a missing one."""
        customer = self._customer(scope)
        response = await self._http.request(
            "GET", f"/v1/invoices/{path_segment(invoice_id)}", expected=(200, 400, 401, 403, 404)
        )
        if response.status_code in (401, 403):
            raise self._refusal(response)
        if response.status_code in (400, 404):
            # The id is this request's only input: an id Afternoon rejects as malformed is as absent
            # as an unknown one, and both are the one not_found.
            raise errors.not_found("invoice", invoice_id)
        body = parse_json(response, provider=DISPLAY_NAME)
        if (
            not isinstance(body, dict)
            or body.get("success") is False
            or not isinstance(body.get("invoice"), dict)
        ):
            raise unreadable("a response")
        raw = body["invoice"]
        # Scope first, before anything else is read, so that no property of another customer's
        # invoice (not even a malformed one) can change the answer.
        if raw.get("customer_id") != customer:
            raise errors.not_found("invoice", invoice_id)
        wire = validated(WireInvoice, raw, provider=DISPLAY_NAME, what="an invoice", hint=UNREADABLE_HINT)
        return self._normalizer.invoice(wire)

    def could_be_id(self, reference: str) -> bool:
        return _ID_SHAPE.fullmatch(reference) is not None

    # ``find_by_number`` is the interface's: Afternoon's list filters by customer and status only,
    # so the scope's invoices are paged most recent first (100 a request) until the number shows.

    async def list_invoices(
        self, scope: Scope, query: InvoiceFilter, *, limit: int, cursor: str | None
    ) -> Page[Invoice]:
        """Newest first. Status goes to Afternoon; dates (which it cannot filter) and scope are checked here.

        Afternoon filters no due date, so ``overdue`` and the due-date bounds are checked here too.
        (``status=open`` is not sent for ``overdue``: an unknown Afternoon status is read as open,
        and such an invoice may be overdue.)

        Each upstream request asks only for the rows still missing from the page, so the cursor
        Afternoon returns always points just past the last row consumed and no row is skipped or
        repeated, however many rows the local checks drop.
        """
        customer = self._customer(scope)
        native_status: str | None = None
        if query.status is not None:
            natives = STATUSES.natives(query.status)
            if not natives:  # e.g. partially_paid: Afternoon has no such invoices
                return Page(items=[], next_cursor=None)
            native_status = natives[0]
        wanted = max(1, min(limit, MAX_PAGE_SIZE))
        items: list[Invoice] = []
        position = cursor
        for _ in range(MAX_FETCHES_PER_PAGE):
            rows, next_position = await self._fetch_page(
                customer, native_status, limit=wanted - len(items), cursor=position
            )
            items.extend(invoice for invoice in rows if query.matches(invoice))
            if next_position is not None and next_position == position:
                raise ProviderUnavailable(
                    "Afternoon returned the same page cursor twice, so its list cannot be walked.",
                    hint=UNREADABLE_HINT,
                )
            position = next_position
            if position is None or len(items) >= wanted:
                break
        return Page(items=items, next_cursor=position)

    async def iter_invoices(self, scope: Scope, query: InvoiceFilter) -> AsyncIterator[Invoice]:
        """Every matching invoice in scope, once each, following the cursor chain to its end.

        Unlike the default, a page left empty by the local date checks does not end the walk (its
        cursor still leads on), and a cursor seen before stops it with an error instead of looping.
        """
        cursor: str | None = None
        seen_cursors: set[str] = set()
        seen_ids: set[str] = set()
        limit = pages_per_summary(self._http.requests_per_minute)
        for _ in range(limit):
            page = await self.list_invoices(scope, query, limit=MAX_PAGE_SIZE, cursor=cursor)
            for invoice in page.items:
                if invoice.id not in seen_ids:
                    seen_ids.add(invoice.id)
                    yield invoice
            if page.next_cursor is None:
                return
            if page.next_cursor in seen_cursors:
                raise ProviderUnavailable(
                    "Afternoon's list led back to a page already read, so it cannot be walked to the end.",
                    hint=UNREADABLE_HINT,
                )
            seen_cursors.add(page.next_cursor)
            cursor = page.next_cursor
        check_pages_read(DISPLAY_NAME, limit + 1, limit)

    async def iter_summary_facts(self, scope: Scope, query: InvoiceFilter) -> AsyncIterator[InvoiceFacts]:
        """A summary's facts of every matching invoice, read by one cursor chain per status, side by side.

        Afternoon pages only by cursor, so one chain over 5,000 invoices is 50 round trips one after
        another. Its list filters by status, and every invoice has exactly one of the statuses that
        filter accepts (seed 002 uses one enum for both), so a chain per status reads the same
        invoices, each chain a fraction as long. A row whose status is not its chain's means the
        filter was not applied: the walk stops rather than count anything twice or miss it.
        """
        customer = self._customer(scope)
        statuses = STATUSES.natives(query.status) if query.status is not None else tuple(STATUSES)
        budget = _PagesRead(limit=pages_per_summary(self._http.requests_per_minute))
        chains = await fetch_pages(
            lambda index: self._facts_chain(customer, statuses[index], query, budget),
            range(len(statuses)),
            concurrency=len(statuses) or 1,
        )
        seen: set[str] = set()
        for chain in chains:
            for facts in chain:
                if facts.id not in seen:
                    seen.add(facts.id)
                    yield facts

    async def _facts_chain(
        self, customer: str, status: str, query: InvoiceFilter, budget: _PagesRead
    ) -> list[InvoiceFacts]:
        """One status's cursor chain; each page is read while the next one is already being fetched.
        Every chain of one summary counts its pages against the same ``budget``."""
        pages, received = anyio.create_memory_object_stream[list[LeanInvoiceFacts]](max_buffer_size=4)

        async def walk() -> None:
            with contextlib.suppress(anyio.BrokenResourceError):  # the reader stopped: its error is raised
                await walk_pages()

        async def walk_pages() -> None:
            async with pages:
                cursor: str | None = None
                seen_cursors: set[str] = set()
                for _ in range(budget.limit):
                    budget.read += 1
                    check_pages_read(DISPLAY_NAME, budget.read, budget.limit)
                    rows, cursor = await self._fetch_facts(customer, status, cursor=cursor)
                    await pages.send(rows)
                    if cursor is None:
                        return
                    if cursor in seen_cursors:
                        raise ProviderUnavailable(
                            "Afternoon's list led back to a page already read, so it cannot be walked to the end.",
                            hint=UNREADABLE_HINT,
                        )
                    seen_cursors.add(cursor)
                check_pages_read(DISPLAY_NAME, budget.limit + 1, budget.limit)

        found: list[InvoiceFacts] = []
        async with anyio.create_task_group() as group:
            group.start_soon(walk)
            async with received:
                async for rows in received:
                    for index, row in enumerate(rows, 1):
                        if index % _ROWS_PER_SLICE == 0:
                            # The other chains' next requests go out now, not after this whole page.
                            await anyio.lowlevel.checkpoint()
                        if row.status.strip().lower() != status:
                            raise ProviderUnavailable(
                                "Afternoon listed invoices of another status than the one asked for, "
                                "so its invoices cannot be summarised exactly.",
                                hint=UNREADABLE_HINT,
                            )
                        facts = self._normalizer.facts(row)
                        if query.matches(facts):
                            found.append(facts)
        return found

    # -- internals -------------------------------------------------------------------------------

    async def _fetch_page(
        self, customer: str, status: str | None, *, limit: int, cursor: str | None
    ) -> tuple[list[Invoice], str | None]:
        """One upstream page: the scope's rows, normalized, and Afternoon's next cursor (None at the end)."""
        rows, next_cursor = await self._fetch_rows(customer, status, limit=limit, cursor=cursor)
        invoices = [
            self._normalizer.invoice(
                validated(
                    WireInvoice, raw, provider=DISPLAY_NAME, what="an invoice in a list", hint=UNREADABLE_HINT
                )
            )
            for raw in rows
        ]
        return invoices, next_cursor

    async def _fetch_rows(
        self, customer: str, status: str | None, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One upstream page: the scope's rows as sent, and Afternoon's next cursor (None at the end)."""
        response = await self._list_response(customer, status, limit=limit, cursor=cursor)
        body = parse_json(response, provider=DISPLAY_NAME)
        # The README names the list endpoint but not its body. Read the seed's envelope with the plural
        # key (``invoices``, as the emulator documents) or the common ``data``, plus ``next_cursor``.
        rows = body.get("invoices", body.get("data")) if isinstance(body, dict) else None
        if not isinstance(rows, list) or body.get("success") is False:
            raise unreadable("a list response")
        next_cursor = body.get("next_cursor")
        if next_cursor is not None and not isinstance(next_cursor, str):
            raise unreadable("a list response")
        # The request asked for this customer only; a row of anyone else is dropped unread even so.
        owned = [raw for raw in rows if isinstance(raw, dict) and raw.get("customer_id") == customer]
        _log_dropped(len(rows) - len(owned))
        return owned, _next_cursor(next_cursor, body.get("has_more"))

    async def _fetch_facts(
        self, customer: str, status: str, *, cursor: str | None
    ) -> tuple[list[LeanInvoiceFacts], str | None]:
        """``_fetch_rows`` for a summary: a full page decoded as the facts it reads (``LeanList``)."""
        response = await self._list_response(customer, status, limit=MAX_PAGE_SIZE, cursor=cursor)
        body = _LEAN_LIST.read(response, provider=DISPLAY_NAME, what="a list response", hint=UNREADABLE_HINT)
        rows = body.invoices if body.invoices is not None else body.data
        if rows is None or body.success is False:
            raise unreadable("a list response")
        owned = [row for row in rows if row.customer_id == customer]
        _log_dropped(len(rows) - len(owned))
        return owned, _next_cursor(body.next_cursor, body.has_more)

    async def _list_response(
        self, customer: str, status: str | None, *, limit: int, cursor: str | None
    ) -> httpx2.Response:
        """The list request, its refusals raised; a 200 is returned for the caller to read."""
        params: dict[str, str | int] = {"customer_id": customer, "limit": limit}
        if status is not None:
            params["status"] = status
        if cursor is not None:
            params["cursor"] = cursor
        response = await self._http.request(
            "GET", "/v1/invoices", params=params, expected=(200, 400, 401, 403)
        )
        if response.status_code in (401, 403):
            raise self._refusal(response)
        if response.status_code == 400:
            if cursor is not None and _error_code(response) == "VALIDATION_ERROR":
                raise InvalidArgument(
                    "Afternoon no longer accepts this page cursor.",
                    hint="Call list_invoices again without cursor and page on from there.",
                )
            raise ProviderUnavailable(
                "Afternoon refused the list request as invalid (HTTP 400).",
                hint="Check AFTERNOON_BASE_URL; if it persists, the Afternoon API may have changed.",
            )
        return response

    def _refusal(self, response: httpx2.Response) -> Unauthorized:
        """401/403 as Unauthorized, saying revoked or unknown where Afternoon does (never the key)."""
        code = _error_code(response)
        message = _REFUSALS.get(code or "", "Afternoon refused the configured API key.")
        logger.warning(
            "Afternoon refused the API key",
            extra={"provider": PROVIDER_ID, "status": response.status_code, "code": (code or "")[:40]},
        )
        return Unauthorized(message, hint=AUTH_HINT)


_LEAN_LIST = LeanReader(LeanList)
_ROWS_PER_SLICE = 25
"""Rows a summary's chain reads before it lets the loop run (~0.3 ms): the chains share one loop."""


def _next_cursor(cursor: str | None, has_more: object) -> str | None:
    """The cursor of the next page, or None at the end; a "more" without a cursor cannot be walked."""
    if not cursor:
        if has_more is True:
            raise ProviderUnavailable(
                "Afternoon said more invoices exist but gave no cursor to read them.",
                hint=UNREADABLE_HINT,
            )
        return None
    return None if has_more is False else cursor


def _log_dropped(dropped: int) -> None:
    if dropped:
        logger.warning(
            "Afternoon listed invoices outside the requested customer; they were dropped",
            extra={"provider": PROVIDER_ID, "dropped": dropped},
        )
