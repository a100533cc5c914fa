"""Afternoon (``api.afternoon.co``): invoices read with a company-wide API key, scoped by this server.

Wire format: seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt (``GET /v1/invoices/{id}`` → ``{success, invoice, request_id}``, amounts in
integer minor units named ``*_cents``), the list page (docs.afternoon.co …/invoices/list: ``GET
/v1/invoices`` with ``limit`` default "50", ``cursor``, ``customer_id``, ``status``; its body's members
undocumented, read as ``WireList`` says) and the seeds README (401
codes ``UNAUTHORIZED`` / ``INVALID_API_KEY`` / ``API_KEY_REVOKED``; 429 over 1,000 requests a minute).
Nothing undocumented decides completeness: the status filter is never sent, any page size is
followed to the end of the cursor chain. See docs/providers.md (Afternoon).

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

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TypeVar, Unpack

import anyio
import anyio.lowlevel
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
from mcp_invoices.domain.summary import InvoiceFacts
from mcp_invoices.errors import ConfigError
from mcp_invoices.principal import Scope
from mcp_invoices.providers.afternoon.cursor import decode_position, encode_position
from mcp_invoices.providers.afternoon.wire import (
    NAME,
    PROVIDER_ID,
    REACHABLE_STATUSES,
    STATUSES,
    UNREADABLE_HINT,
    WIRE,
    Normalizer,
    WireInvoice,
    WireInvoiceAnswer,
    WireInvoiceFacts,
    WireList,
    WireOwner,
)
from mcp_invoices.providers.base import InvoiceProvider
from mcp_invoices.providers.catalog import spec
from mcp_invoices.providers.http import ProviderHTTP, Tuning, path_segment
from mcp_invoices.providers.paging import check_pages_read, pages_per_summary
from mcp_invoices.providers.wire import Raw, error_body, text_at
from mcp_invoices.replicas.base import Budget, SharedState

__all__ = ["DEFAULT_BASE_URL", "STATUSES", "AfternoonProvider"]

logger = logging.getLogger("mcp_invoices.afternoon")

R = TypeVar("R")

DEFAULT_BASE_URL = "https://api.afternoon.co"
AUTH_HINT = "Check AFTERNOON_API_KEY (an organisation key, ak_live_… or ak_test_…)"

PAGE_SIZE = 50
"""``limit`` sent on every list request: docs.afternoon.co …/invoices/list documents its default ("50")
and no maximum, so nothing larger is assumed to be accepted. Any page size may come back."""
MAX_PAGE_SIZE = 100
"""Most invoices one ``list_invoices`` page returns (the tool's own bound, read from as many of
Afternoon's pages as it takes)."""
MAX_FETCHES_PER_PAGE = 10
"""Upstream pages one ``list_invoices`` call may read to fill a page whose rows are filtered here."""

_UNSCOPED_MARKER = "(provider session token)"
"""``server.runtime.TOKEN_SCOPED``: what a scope says when the credential itself names the customer.
An Afternoon key never does, so this marker is refused like a missing customer."""

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
    """``error.code`` of seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt's ``ErrorResponse``, or None when the body is not one."""
    return text_at(error_body(response), "error", "code")


class AfternoonProvider(InvoiceProvider):
    """Afternoon invoices for one customer per call, read with the organisation's API key."""

    info = spec(PROVIDER_ID).info

    def __init__(
        self, *, api_key: SecretStr, base_url: str = DEFAULT_BASE_URL, **tuning: Unpack[Tuning]
    ) -> None:
        if not api_key.get_secret_value().strip():
            raise ValueError("Afternoon needs a non-empty API key.")
        self._normalizer = Normalizer(api_key)
        self._http = ProviderHTTP.for_provider(
            spec(PROVIDER_ID),
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key.get_secret_value().strip()}"},
            auth_hint=AUTH_HINT,
            **tuning,
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
        body = _ANSWER.read(response, what="an invoice")
        if not body.readable:
            raise WIRE.unexpected("a response this server cannot read")
        # Scope first, before anything else is read, so that no property of another customer's
        # invoice (not even a malformed one) can change the answer.
        if _OWNER.decode(body.invoice, what="an invoice").customer_id != customer:
            raise errors.not_found("invoice", invoice_id)
        return self._normalizer.invoice(_INVOICE.decode(body.invoice, what="an invoice"))

    def could_be_id(self, reference: str) -> bool:
        return _ID_SHAPE.fullmatch(reference) is not None

    # ``find_by_number`` is the interface's: Afternoon's list filters by customer and status only,
    # so the scope's invoices are paged most recent first until the number shows.

    async def list_invoices(
        self, scope: Scope, query: InvoiceFilter, *, limit: int, cursor: str | None
    ) -> Page[Invoice]:
        """Newest first; every filter (status, dates, due dates) and the scope are checked here.

        No status is sent: the list's status enum is undocumented, and an invoice of a status this
        server does not know is read as open or paid (``afternoon_wire._fallback_status``), which no
        filter sent upstream could select. Afternoon's page size is its own (``PAGE_SIZE`` is asked,
        any number may come back), so the cursor returned here is this server's: Afternoon's cursor
        of the page being read and how many of its rows were consumed. No row is skipped or repeated
        however many rows a page holds or the local checks drop.
        """
        customer = self._customer(scope)
        if query.status is not None and query.status not in REACHABLE_STATUSES:
            return Page(items=[], next_cursor=None)  # e.g. partially_paid: Afternoon has no such invoices
        wanted = max(1, min(limit, MAX_PAGE_SIZE))
        upstream, skip = decode_position(cursor) if cursor is not None else (None, 0)
        items: list[Invoice] = []
        for _ in range(MAX_FETCHES_PER_PAGE):
            rows, following = await self._fetch_page(customer, cursor=upstream)
            for index in range(skip, len(rows)):
                invoice = rows[index]
                if invoice is not None and query.matches(invoice):
                    items.append(invoice)
                if len(items) >= wanted:
                    if index + 1 < len(rows):
                        return Page(items=items, next_cursor=encode_position(upstream, index + 1))
                    return Page(items=items, next_cursor=encode_position(following, 0))
            if following is None:
                return Page(items=items, next_cursor=None)
            if following == upstream:
                raise ProviderUnavailable(
                    "Afternoon returned the same page cursor twice, so its list cannot be walked.",
                    hint=UNREADABLE_HINT,
                )
            # A page shorter than the one a cursor of ours was made on: the rest of the skip lies beyond it.
            upstream, skip = following, max(0, skip - len(rows))
        return Page(items=items, next_cursor=encode_position(upstream, skip))

    async def iter_invoices(self, scope: Scope, query: InvoiceFilter) -> AsyncIterator[Invoice]:
        """Every matching invoice in scope, once each, following Afternoon's cursor chain to its end.

        A page left empty by the local checks does not end the walk (its cursor still leads on), and
        a cursor seen before stops it with an error instead of looping.
        """
        customer = self._customer(scope)
        limit = pages_per_summary(self._http.requests_per_minute)
        seen_ids: set[str] = set()
        async for rows in self._chain(limit, lambda position: self._fetch_page(customer, cursor=position)):
            for invoice in rows:
                if invoice is not None and invoice.id not in seen_ids and query.matches(invoice):
                    seen_ids.add(invoice.id)
                    yield invoice

    async def iter_summary_facts(self, scope: Scope, query: InvoiceFilter) -> AsyncIterator[InvoiceFacts]:
        """A summary's facts of every matching invoice: one cursor chain over all the scope's invoices.

        Afternoon's list could be split by its status filter, but that filter's enum is undocumented:
        a chain per known status would never ask for an invoice of a status added later, and a
        provider that ignores the filter would send every row to every chain. One chain without a
        status reaches every invoice once, whatever its status; status and dates are checked here.
        Each page is decoded while the next one is already being fetched.
        """
        customer = self._customer(scope)
        if query.status is not None and query.status not in REACHABLE_STATUSES:
            return
        limit = pages_per_summary(self._http.requests_per_minute)
        pages, received = anyio.create_memory_object_stream[list[WireInvoiceFacts]](max_buffer_size=4)
        failures: list[Exception] = []

        async def walk() -> None:
            try:
                async with pages:
                    async for rows in self._chain(
                        limit, lambda position: self._fetch_facts(customer, cursor=position)
                    ):
                        await pages.send(rows)
            except anyio.BrokenResourceError:
                pass  # the reader stopped: its own error is raised
            except Exception as error:  # raised below as itself, not inside an exception group
                failures.append(error)

        seen: set[str] = set()
        found: list[InvoiceFacts] = []
        async with anyio.create_task_group() as group:
            group.start_soon(walk)
            async with received:
                try:
                    async for rows in received:
                        for index, row in enumerate(rows, 1):
                            if index % _ROWS_PER_SLICE == 0:
                                await anyio.lowlevel.checkpoint()  # the next page's request goes out now
                            if row.id in seen:
                                continue
                            seen.add(row.id)
                            facts = self._normalizer.facts(row)
                            if query.matches(facts):
                                found.append(facts)
                except Exception as error:  # an unreadable row: the walk stops, this error is raised
                    failures.insert(0, error)
                    group.cancel_scope.cancel()
        if failures:
            raise failures[0]
        for facts in found:
            yield facts

    # -- internals -------------------------------------------------------------------------------

    @staticmethod
    async def _chain(
        limit: int, fetch: Callable[[str | None], Awaitable[tuple[list[R], str | None]]]
    ) -> AsyncIterator[list[R]]:
        """Afternoon's pages from the first to the end of its cursor chain, at most ``limit`` of them.

        A cursor seen before, or a chain longer than ``limit``, is ``ProviderUnavailable``: never an
        endless walk, never a silent truncation.
        """
        cursor: str | None = None
        seen_cursors: set[str] = set()
        for read in range(1, limit + 1):
            check_pages_read(NAME, read, limit)
            rows, cursor = await fetch(cursor)
            yield rows
            if cursor is None:
                return
            if cursor in seen_cursors:
                raise ProviderUnavailable(
                    "Afternoon's list led back to a page already read, so it cannot be walked to the end.",
                    hint=UNREADABLE_HINT,
                )
            seen_cursors.add(cursor)
        check_pages_read(NAME, limit + 1, limit)

    async def _fetch_page(
        self, customer: str, *, cursor: str | None
    ) -> tuple[list[Invoice | None], str | None]:
        """One upstream page, row for row: the scope's invoices normalized, None in place of any other
        customer's row (dropped unread, but still a position in the page), and the next cursor."""
        response = await self._list_response(customer, cursor=cursor)
        body = _WHOLE_LIST.read(response, what=_LIST)
        rows, following = body.rows(), body.position()
        # The request asked for this customer only; a row of anyone else is dropped unread even so.
        invoices = [
            self._normalizer.invoice(_INVOICE.decode(raw, what="an invoice in a list"))
            if _OWNER.decode(raw, what="an invoice in a list").customer_id == customer
            else None
            for raw in rows
        ]
        _log_dropped(sum(invoice is None for invoice in invoices))
        return invoices, following

    async def _fetch_facts(
        self, customer: str, *, cursor: str | None
    ) -> tuple[list[WireInvoiceFacts], str | None]:
        """``_fetch_page`` for a summary: each row decoded as the facts it reads, the scope's only."""
        response = await self._list_response(customer, cursor=cursor)
        body = _FACTS_LIST.read(response, what=_LIST)
        rows = body.rows()
        owned = [row for row in rows if row.customer_id == customer]
        _log_dropped(len(rows) - len(owned))
        return owned, body.position()

    async def _list_response(self, customer: str, *, cursor: str | None) -> httpx2.Response:
        """The list request, its refusals raised; a 200 is returned for the caller to read.

        docs.afternoon.co …/invoices/list: query ``limit`` (a string, default "50", no maximum
        given), ``cursor``, ``customer_id``, ``status``; header ``Authorization``. ``PAGE_SIZE`` is
        the documented default, sent explicitly; ``status`` is never sent (see ``list_invoices``).
        """
        params: dict[str, str] = {"customer_id": customer, "limit": str(PAGE_SIZE)}
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


_LIST = "a list response"
_ANSWER = WIRE.decoder(WireInvoiceAnswer)
_OWNER = WIRE.decoder(WireOwner)
_INVOICE = WIRE.decoder(WireInvoice)
_WHOLE_LIST = WIRE.decoder(WireList[Raw])
_FACTS_LIST = WIRE.decoder(WireList[WireInvoiceFacts])
_ROWS_PER_SLICE = 25
"""Rows a summary's chain reads before it lets the loop run (~0.3 ms): the chains share one loop."""


def _log_dropped(dropped: int) -> None:
    if dropped:
        logger.warning(
            "Afternoon listed invoices outside the requested customer; they were dropped",
            extra={"provider": PROVIDER_ID, "dropped": dropped},
        )
