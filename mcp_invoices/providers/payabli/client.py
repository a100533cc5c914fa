"""Payabli: one customer's invoices, read with an organisation-wide API token.

Payabli's ``requestToken`` sees every customer of the organisation, so *this server* enforces the
session's scope (``PAYABLI_CUSTOMER_ID``, or the HTTP token's customer):

- ``get_invoice`` fetches ``GET /Invoice/{idInvoice}`` and compares the record's ``customerId`` (and
  ``Customer.customerId``) with the scope; another customer's invoice gets exactly the ``not_found``
  of a missing one, after the same single request.
- listing always sends ``customerId(eq)=<scope>`` to ``GET /Query/invoices/{entry}`` with the documented
  filters, and checks every row here again (customer, status, dates, number): a row a filter should
  have excluded is dropped, so nothing rests on Payabli honouring a filter.
- the PDF export is requested only after the scoped read succeeded, so another customer's document
  is never fetched; its JSON file object is decoded and checked, and the server renders the PDF
  itself only when Payabli has none to give.

The record's wire shape and its normalization live in ``payabli_wire``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar, Unpack

from pydantic import SecretStr

from mcp_invoices.config import RemoteProviderConfig
from mcp_invoices.domain import errors
from mcp_invoices.domain.errors import (
    InvalidArgument,
    NotSupported,
    ProviderUnavailable,
    Unauthorized,
)
from mcp_invoices.domain.models import (
    Invoice,
    InvoiceFilter,
    Page,
)
from mcp_invoices.domain.summary import InvoiceFacts
from mcp_invoices.errors import ConfigError
from mcp_invoices.logs import add_secrets
from mcp_invoices.principal import Scope
from mcp_invoices.providers.base import InvoiceProvider
from mcp_invoices.providers.catalog import spec
from mcp_invoices.providers.http import (
    ProviderHTTP,
    Tuning,
    path_segment,
)
from mcp_invoices.providers.paging import (
    check_page_count,
    check_pages_read,
    fetch_pages,
    page_count,
    pages_per_summary,
)
from mcp_invoices.providers.payabli.document import PDF_ANSWER_MAX_BYTES, pdf_document
from mcp_invoices.providers.payabli.query import (
    CUSTOMER_FILTER,
    FACTS,
    NUMBER_FILTER,
    WHOLE,
    QueryPage,
    Reading,
    own_matching,
    query_filters,
)
from mcp_invoices.providers.payabli.refusals import error_text, lookup_failure, refusal
from mcp_invoices.providers.payabli.wire import (
    NAME,
    PROVIDER_ID,
    STATUSES,
    WIRE,
    WireInvoice,
    WireOutcome,
    normalize_invoice,
    seller_of,
)
from mcp_invoices.providers.wire import error_body
from mcp_invoices.replicas.base import Budget, DocumentStore, SharedState

__all__ = ["AUTH_HINT", "PROVIDER_ID", "STATUSES", "PayabliProvider"]

logger = logging.getLogger("mcp_invoices.payabli")

R = TypeVar("R", Invoice, InvoiceFacts)

AUTH_HINT = "Check PAYABLI_API_TOKEN (an organisation API token)"

PAGE_SIZE = 100
"""Records per Query page when walking everything (summaries); also the most a listing asks for."""
LISTING_READS = 4
"""Query pages one listing call reads at most to fill its page when rows are dropped here."""
PARALLEL_PAGES = 32
"""Query pages fetched at once when the total is known (summaries over many invoices); within the
HTTP pool's 50 connections, so no page waits for a connection long enough to time out."""

_MAX_INT64 = 2**63 - 1
_OUTCOME = WIRE.decoder(WireOutcome)
_INVOICE = WIRE.decoder(WireInvoice)
_INTEGER_ID = re.compile(r"[1-9][0-9]{0,18}")
"""Payabli ids are positive int64s, written canonically (no sign, no leading zero, ASCII digits)."""


# --------------------------------------------------------------------------------------------
# Ids, scope and cursors
# --------------------------------------------------------------------------------------------


def _positive_int64(value: str | None) -> int | None:
    """``value`` as a Payabli id, or None when it cannot be one."""
    if value is None or not _INTEGER_ID.fullmatch(value):
        return None
    number = int(value)
    return number if number <= _MAX_INT64 else None


def _scope_customer(scope: Scope) -> int:
    """The numeric Payabli customer this session is; refuses a session without one."""
    customer = _positive_int64(scope.customer_id)
    if customer is None:
        raise Unauthorized(
            "This session is not bound to a Payabli customer, so no Payabli invoice can be served.",
            hint="Set PAYABLI_CUSTOMER_ID to the customer's numeric Payabli id (customerId).",
        )
    return customer


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if cursor == "0" or _positive_int64(cursor) is not None:
        return int(cursor)
    raise InvalidArgument(
        "The cursor is not a Payabli listing position.",
        hint="Call list_invoices again without cursor and page on from there.",
    )


# --------------------------------------------------------------------------------------------
# The provider
# --------------------------------------------------------------------------------------------


class PayabliProvider(InvoiceProvider):
    """Payabli invoices of the session's customer (read-only: Payabli creates them itself)."""

    info = spec(PROVIDER_ID).info

    def __init__(
        self, *, base_url: str, api_token: SecretStr, entry: str | None = None, **tuning: Unpack[Tuning]
    ) -> None:
        token = api_token.get_secret_value()
        add_secrets([token])  # masked verbatim in every log line from now on
        self._token = token
        self._entry = entry
        self._http = ProviderHTTP.for_provider(
            spec(PROVIDER_ID),
            base_url=base_url,
            headers={"requestToken": token},
            auth_hint=AUTH_HINT,
            **tuning,
        )

    @classmethod
    def from_config(
        cls, config: RemoteProviderConfig, *, shared: SharedState | None = None, budget: Budget | None = None
    ) -> PayabliProvider:
        token = config.credentials.get("api_token")
        if token is None:
            raise ConfigError("Payabli needs PAYABLI_API_TOKEN (an organisation API token).")
        if config.customer_id is not None and _positive_int64(config.customer_id) is None:
            raise ConfigError("PAYABLI_CUSTOMER_ID must be the customer's numeric Payabli id (customerId).")
        try:
            return cls(
                base_url=config.base_url, api_token=token, entry=config.options.get("entry"), budget=budget
            )
        except ValueError:
            raise ConfigError("PAYABLI_BASE_URL must be an http(s) URL with a host.") from None

    def __repr__(self) -> str:
        return f"PayabliProvider(http={self._http!r}, entry={self._entry!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- reads ---------------------------------------------------------------------------------

    async def invoice_by_id(self, scope: Scope, invoice_id: str) -> Invoice:
        return normalize_invoice(await self._owned_record(scope, invoice_id))

    def could_be_id(self, reference: str) -> bool:
        return _positive_int64(reference) is not None

    async def find_by_number(self, scope: Scope, number: str) -> Invoice | None:
        """``invoiceNumber(eq)`` and ``customerId(eq)`` filtered by Payabli, every row checked here.

        Payabli documents no case-insensitive operator, so the number is asked for as quoted, then in
        upper and lower case (one request each, until found). Should Payabli ignore the number
        filter (rows with other numbers come back), the customer's invoices are walked instead.
        """
        quoted = number.strip()
        for variant in dict.fromkeys((quoted, quoted.upper(), quoted.lower())):
            page = await self._query(
                scope,
                InvoiceFilter(),
                offset=0,
                limit=PAGE_SIZE,
                reading=WHOLE,
                extra={NUMBER_FILTER: variant},
                number=number,
            )
            if page.invoices:
                return page.invoices[0]
            if page.stray:
                logger.warning(
                    "Payabli ignored the invoice number filter; walking the customer's invoices",
                    extra={"provider": PROVIDER_ID, "stray": page.stray},
                )
                async for invoice in self._walk(scope, InvoiceFilter(), WHOLE):
                    if invoice.has_number(number):
                        return invoice
                return None
        return None

    async def list_invoices(
        self, scope: Scope, query: InvoiceFilter, *, limit: int, cursor: str | None
    ) -> Page[Invoice]:
        # Rows a filter should have excluded are dropped here, so a page may come back short: the
        # next rows are read on (a few requests at most) and the cursor is where reading stopped.
        offset: int | None = _offset(cursor)
        items: list[Invoice] = []
        for _ in range(LISTING_READS):
            assert offset is not None
            page = await self._query(scope, query, offset=offset, limit=limit - len(items), reading=WHOLE)
            items += page.invoices
            offset = page.next_offset
            if offset is None or len(items) >= limit:
                break
        return Page(items=items, next_cursor=None if offset is None else str(offset))

    async def iter_invoices(self, scope: Scope, query: InvoiceFilter) -> AsyncIterator[Invoice]:
        async for invoice in self._walk(scope, query, WHOLE):
            yield invoice

    async def iter_summary_facts(self, scope: Scope, query: InvoiceFilter) -> AsyncIterator[InvoiceFacts]:
        # A summary reads a dozen fields of each record: no items, addresses or whole invoices built.
        async for facts in self._walk(scope, query, FACTS):
            yield facts

    async def _walk(self, scope: Scope, query: InvoiceFilter, reading: Reading[Any, R]) -> AsyncIterator[R]:
        """Every matching invoice: the first page says how many there are, the rest come in parallel.

        Offsets can shift if invoices are created meanwhile, so ids are de-duplicated; anything
        beyond the announced total is then walked page after page.
        """
        first = await self._query(scope, query, offset=0, limit=PAGE_SIZE, reading=reading)
        pages = [first]
        if first.next_offset is not None and first.total is not None:
            step = first.fetched  # Payabli's effective page size (it may cap limitRecord)
            count = page_count(first.total, step)
            check_page_count(NAME, count, pages_per_summary(self._http.requests_per_minute))
            pages += await fetch_pages(
                lambda number: self._query(scope, query, offset=number * step, limit=step, reading=reading),
                range(1, count),
                concurrency=PARALLEL_PAGES,
            )
        seen: set[str] = set()
        for page in pages:
            for invoice in page.invoices:
                if invoice.id not in seen:
                    seen.add(invoice.id)
                    yield invoice
        offset = pages[-1].next_offset
        # Invoices created while reading are walked on, within the pages one summary may read.
        read, limit = len(pages), pages_per_summary(self._http.requests_per_minute)
        while offset is not None:
            read += 1
            check_pages_read(NAME, read, limit)
            page = await self._query(scope, query, offset=offset, limit=PAGE_SIZE, reading=reading)
            for invoice in page.invoices:
                if invoice.id not in seen:
                    seen.add(invoice.id)
                    yield invoice
            offset = page.next_offset

    async def pdf_by_id(self, scope: Scope, invoice_id: str, documents: DocumentStore | None = None) -> bytes:
        """Payabli's own PDF (its export's file object); rendered here only when Payabli has none."""
        record = await self._owned_record(scope, invoice_id)  # scope first: never export another's PDF
        # payabli 1.0.19 invoice/raw_client.py get_invoice_pdf: GET Export/invoicePdf/{idInvoice}, JSON.
        response = await self._http.request(
            "GET",
            f"Export/invoicePdf/{path_segment(str(record.invoice_id))}",
            headers=self._headers(scope),
            expected=(200, 400, 404),
            max_body=PDF_ANSWER_MAX_BYTES,
        )
        if response.status_code == 200:
            document = pdf_document(response)
            if document is not None:
                return document
            reason = "the export's file object has no content"
        else:
            text = error_text(self._token, error_body(response))
            reason = f"HTTP {response.status_code}" + (f": {text}" if text else "")
        logger.info(
            "Payabli has no PDF for this invoice; rendering it here",
            extra={"provider": PROVIDER_ID, "reason": reason},
        )
        from mcp_invoices.documents.pdf import render_invoice_pdf  # fpdf2 loads on first use

        return await render_invoice_pdf(normalize_invoice(record), seller_of(record))

    # -- sign-in -------------------------------------------------------------------------------

    async def customer_by_email(self, email: str) -> str | None:
        """The id of the one customer of the paypoint whose email is ``email``, or None.

        ``GET /Query/customers/{entry}`` with ``email(eq)`` (payabli SDK 1.0.19 ``query.list_customers``,
        ``QueryCustomerResponse.Records[].customerId``/``Email``) with the organisation token: the
        one-time sign-in code goes to the address Payabli holds for that customer.
        """
        if not self._entry:
            return None
        response = await self._http.request(
            "GET",
            f"Query/customers/{path_segment(self._entry)}",
            params={"email(eq)": email, "limitRecord": 2},
        )
        try:
            records = response.json().get("Records")
        except (ValueError, AttributeError):
            records = None
        if not isinstance(records, list):
            raise ProviderUnavailable(
                "Payabli sent a customer list without Records.",
                hint="Check PAYABLI_BASE_URL and PAYABLI_ENTRY.",
            )
        ids = [
            str(record["customerId"])
            for record in records
            if isinstance(record, dict)
            and isinstance(record.get("customerId"), int)
            and str(record.get("Email", "")).lower() == email.strip().lower()
        ]
        return ids[0] if len(ids) == 1 else None

    # -- internals -----------------------------------------------------------------------------

    def _headers(self, scope: Scope) -> dict[str, str]:
        """A per-customer credential carried by the scope replaces the configured token."""
        if scope.credential is None:
            return {}
        return {"requestToken": scope.credential.get_secret_value()}

    async def _owned_record(self, scope: Scope, invoice_id: str) -> WireInvoice:
        """The record of ``invoice_id`` if it belongs to the scope; ``not_found`` otherwise, alike."""
        customer = _scope_customer(scope)
        number = _positive_int64(invoice_id)
        if number is None:  # cannot exist at Payabli: no request (and nothing learnt from one)
            raise errors.not_found("invoice", invoice_id)
        response = await self._http.request(
            "GET",
            f"Invoice/{path_segment(str(number))}",
            headers=self._headers(scope),
            expected=(200, 400, 404),
        )
        if response.status_code != 200:
            raise lookup_failure(self._token, response, invoice_id)
        if _OUTCOME.read(response, what="an invoice").refused:
            raise refusal(self._token, error_body(response), invoice_id)
        record = _INVOICE.read(response, what="an invoice")
        if record.invoice_id != number:
            raise ProviderUnavailable(
                "Payabli answered with another invoice than the one asked for.",
                hint="Try again later; if it persists, check PAYABLI_BASE_URL.",
            )
        if not record.owned_by(customer):
            raise errors.not_found("invoice", invoice_id)
        return record

    def _require_entry(self) -> str:
        if not self._entry:
            raise NotSupported(
                "Listing Payabli invoices needs the paypoint's entry name, and PAYABLI_ENTRY is not set.",
                hint="Set PAYABLI_ENTRY to the paypoint entry name; get_invoice works without it.",
            )
        return self._entry

    async def _query(
        self,
        scope: Scope,
        query: InvoiceFilter,
        *,
        offset: int,
        limit: int,
        reading: Reading[Any, R],
        extra: Mapping[str, str] | None = None,
        number: str | None = None,
    ) -> QueryPage[R]:
        """One Query page of the scope's invoices, filters pushed to Payabli and checked again here.

        ``extra`` adds raw filters (a number lookup's, checked here as ``number``); they never
        replace the customer filter.
        """
        customer = _scope_customer(scope)
        entry = self._require_entry()
        limit = max(1, min(limit, PAGE_SIZE))
        filters = query_filters(query)
        if filters is None:  # refunded, uncollectible, pending: Payabli has no such invoices
            return QueryPage(invoices=[], fetched=0, next_offset=None, total=0)
        params: dict[str, str | int] = {
            "fromRecord": offset,
            "limitRecord": limit,
            "sortBy": "desc(invoiceDate)",
            CUSTOMER_FILTER: customer,
            **filters,
        }
        if extra:
            params = {**extra, **params}  # the scope's own keys win over anything extra
        response = await self._http.request(
            "GET",
            f"Query/invoices/{path_segment(entry)}",
            params=params,
            headers=self._headers(scope),
            expected=(200, 400),
        )
        if response.status_code == 400:
            text = error_text(self._token, error_body(response))
            said = f": {text}" if text else ""
            raise ProviderUnavailable(
                f"Payabli refused the invoice listing{said}.",
                hint="Check PAYABLI_ENTRY (the paypoint entry name) and PAYABLI_BASE_URL.",
            )
        records, total = reading.page(response)
        invoices, stray = own_matching(records, customer, query, reading, number)
        fetched = len(records)
        consumed = offset + fetched
        more = fetched > 0 and (consumed < total if total is not None else fetched >= limit)
        return QueryPage(
            invoices=invoices,
            fetched=fetched,
            next_offset=consumed if more else None,
            total=total,
            stray=stray,
        )
