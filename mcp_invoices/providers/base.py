"""The interface every provider implements: the local ledger and each remote API alike.

A provider turns its own wire format into the domain models and its own failures into
``mcp_invoices.domain.errors``. It never sees MCP types, and it receives the caller's ``Scope``
explicitly on every call: a provider must answer only within that scope, and must answer an
object outside it exactly as it answers a missing one (``errors.not_found``).

People quote an invoice's printed number, not its id, so wherever an ``invoice_id`` arrives
(``get_invoice``, ``invoice_pdf``) it may be either. The decision is made here, once: a reference
shaped like the provider's ids is read as an id (``invoice_by_id``); one that is not, or that no
invoice has as its id, is looked up as a number within the scope (``find_by_number``). Each
provider says what its ids look like and finds numbers with the fewest requests its API allows.
"""

from __future__ import annotations

import abc
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from mcp_invoices.domain.errors import NotFound, NotSupported, not_found
from mcp_invoices.domain.models import Billing, Invoice, InvoiceFilter, InvoiceStatus, Order, Page
from mcp_invoices.domain.parties import Seller
from mcp_invoices.domain.summary import InvoiceFacts, InvoicesSummary, facts_of, summarize_facts
from mcp_invoices.principal import Scope
from mcp_invoices.providers.catalog import GENERATING_PROVIDERS, ProviderInfo
from mcp_invoices.providers.paging import check_pages_read, pages_per_summary
from mcp_invoices.replicas.base import DocumentStore

__all__ = [
    "NUMBER_SCAN_PAGES",
    "NUMBER_SCAN_PAGE_SIZE",
    "PREVIOUS_SCAN_LIMIT",
    "Generation",
    "GenerationOutcome",
    "InvoiceProvider",
    "Progress",
    "ProviderInfo",
    "json_uri",
    "no_progress",
    "pdf_uri",
]

PREVIOUS_SCAN_LIMIT = 1000
"""``previous_invoice`` reads at most this many invoices before giving up (an account's recent history)."""

_NOT_ISSUED = frozenset({InvoiceStatus.DRAFT, InvoiceStatus.PENDING})

logger = logging.getLogger("mcp_invoices.providers")

NUMBER_SCAN_PAGE_SIZE = 100
"""Invoices per page when a number is looked for by paging (every provider's largest page)."""
NUMBER_SCAN_PAGES = 10
"""Pages a number lookup reads at most where the API cannot filter by number: the scope's 1,000
most recent invoices. A bound, so that a mistyped number never walks a whole history."""

Progress = Callable[[float, float | None, str], Awaitable[None]]
"""``(progress, total, message)``: how a long operation reports where it is."""


async def no_progress(progress: float, total: float | None, message: str) -> None:
    return None


def json_uri(provider: str, invoice_id: str) -> str:
    return f"invoice://{provider}/{invoice_id}"


def pdf_uri(provider: str, invoice_id: str) -> str:
    return f"invoice://{provider}/{invoice_id}/pdf"


GenerationOutcome = Literal["generated", "already_generated", "pending"]


@dataclass(frozen=True, slots=True)
class Generation:
    """What a ``generate_invoice`` call did, decided where generation itself is serialized.

    ``generated`` goes to exactly one call per invoice - the one that issued it (the local ledger's
    writing transaction) or that first saw it ready under the generation lock (Polar) - whatever
    the number of concurrent calls or replicas; the others get ``already_generated``, or ``pending``
    while the provider is still at it.
    """

    invoice: Invoice
    outcome: GenerationOutcome


class InvoiceProvider(abc.ABC):
    """One source of invoices. Methods are async; blocking work runs off the event loop."""

    info: ProviderInfo

    # -- reads -------------------------------------------------------------------------------

    async def get_invoice(self, scope: Scope, invoice_id: str) -> Invoice:
        """The invoice by id or by printed number; ``not_found`` when neither is in ``scope``."""
        if self.could_be_id(invoice_id):
            try:
                return await self.invoice_by_id(scope, invoice_id)
            except NotFound:
                if not self.could_be_number(invoice_id):
                    raise
        return await self._invoice_by_number(scope, invoice_id)

    @abc.abstractmethod
    async def invoice_by_id(self, scope: Scope, invoice_id: str) -> Invoice:
        """The invoice with this id, or ``not_found`` when it is missing or outside ``scope``."""

    def could_be_id(self, reference: str) -> bool:
        """Whether ``reference`` has the shape of this provider's invoice ids (then it is tried as one)."""
        return True

    def could_be_number(self, reference: str) -> bool:
        """Whether ``reference`` may be a printed number (a shape no number has skips the lookup)."""
        return bool(reference.strip())

    async def find_by_number(self, scope: Scope, number: str) -> Invoice | None:
        """The scope's invoice printed with ``number`` (any case), or None.

        By default the scope's invoices are paged most recent first until one matches, at most
        ``NUMBER_SCAN_PAGES`` pages; providers whose API filters by number override this.
        """
        cursor: str | None = None
        for _ in range(NUMBER_SCAN_PAGES):
            page = await self.list_invoices(
                scope, InvoiceFilter(), limit=NUMBER_SCAN_PAGE_SIZE, cursor=cursor
            )
            for invoice in page.items:
                if invoice.has_number(number):
                    return invoice
            if page.next_cursor is None or not page.items:
                return None
            cursor = page.next_cursor
        logger.info(
            "a number lookup stopped at its bound",
            extra={"provider": self.info.id, "pages": NUMBER_SCAN_PAGES},
        )
        return None

    async def _invoice_by_number(self, scope: Scope, reference: str) -> Invoice:
        found = await self.find_by_number(scope, reference) if self.could_be_number(reference) else None
        if found is None:
            # The one not-found answer: a number of another customer's is never in this scope's pages.
            raise not_found("invoice", reference)
        return found

    @abc.abstractmethod
    async def list_invoices(
        self, scope: Scope, query: InvoiceFilter, *, limit: int, cursor: str | None
    ) -> Page[Invoice]:
        """One page of the scope's invoices, most recent first. ``cursor`` is this provider's own."""

    async def iter_invoices(self, scope: Scope, query: InvoiceFilter) -> AsyncIterator[Invoice]:
        """Every matching invoice in scope, page after page (providers may fetch pages in parallel)."""
        cursor: str | None = None
        limit = pages_per_summary(None)
        for read in range(1, limit + 2):
            check_pages_read(self.info.display_name, read, limit)
            page = await self.list_invoices(scope, query, limit=100, cursor=cursor)
            for invoice in page.items:
                yield invoice
            if page.next_cursor is None or not page.items:
                return
            cursor = page.next_cursor

    async def previous_invoice(self, scope: Scope, invoice: Invoice) -> Invoice | None:
        """The scope's invoice issued just before ``invoice`` in its currency (``compare_invoices``' default).

        Reads the scope's own listing, newest first, from ``invoice``'s issue date down; on the same
        day, the one listed after it. Drafts and pending invoices are not issued yet and are skipped.
        Bounded: at most ``PREVIOUS_SCAN_LIMIT`` invoices are read.
        """
        if invoice.issued_at is None:
            return None
        seen_it = False
        scanned = 0
        listing = self.iter_invoices(scope, InvoiceFilter(issued_before=invoice.issued_at))
        async with contextlib.aclosing(listing) as candidates:  # type: ignore[type-var]
            async for candidate in candidates:
                scanned += 1
                if scanned > PREVIOUS_SCAN_LIMIT:
                    return None
                if candidate.id == invoice.id:
                    seen_it = True
                    continue
                if candidate.currency != invoice.currency or candidate.issued_at is None:
                    continue
                if candidate.status in _NOT_ISSUED:
                    continue
                if candidate.issued_at < invoice.issued_at or seen_it:
                    return candidate
        return None

    async def iter_summary_facts(self, scope: Scope, query: InvoiceFilter) -> AsyncIterator[InvoiceFacts]:
        """What a summary reads of every matching invoice. Providers whose pages state these facts
        override this to skip building whole invoices; the summary must come out the same."""
        async for invoice in self.iter_invoices(scope, query):
            yield facts_of(invoice)

    async def summarize(self, scope: Scope, query: InvoiceFilter, today: date) -> InvoicesSummary:
        """Aggregates over all matching invoices (not one page)."""
        return summarize_facts([facts async for facts in self.iter_summary_facts(scope, query)], today)

    async def invoice_pdf(
        self, scope: Scope, invoice_id: str, documents: DocumentStore | None = None
    ) -> bytes:
        """The PDF of the invoice with this id or printed number (resolved like ``get_invoice``)."""
        if self.could_be_id(invoice_id):
            try:
                return await self.pdf_by_id(scope, invoice_id, documents)
            except NotFound:
                if not self.could_be_number(invoice_id):
                    raise
        invoice = await self._invoice_by_number(scope, invoice_id)
        return await self.pdf_by_id(scope, invoice.id, documents)

    async def pdf_by_id(self, scope: Scope, invoice_id: str, documents: DocumentStore | None = None) -> bytes:
        """The PDF of the invoice with this id. Providers that serve their own document override this;
        otherwise it is rendered here from the invoice as it is now (``documents`` caches renderings
        by that state)."""
        return await self.rendered_pdf(scope, await self.invoice_by_id(scope, invoice_id), documents)

    async def rendered_pdf(self, scope: Scope, invoice: Invoice, documents: DocumentStore | None) -> bytes:
        """The server's rendering of an invoice read within ``scope``, from ``documents`` when it has it."""
        pdf = await documents.get(scope, "pdf", invoice) if documents is not None else None
        if pdf is None:
            pdf = await self.render_pdf(invoice)
            if documents is not None:
                await documents.put(scope, "pdf", invoice, pdf)
        return pdf

    async def seller(self, invoice: Invoice) -> Seller | None:
        """Who issued ``invoice`` (the merchant), where the provider says; None where it does not.

        The invoice view names it under "From"; without one it names the provider the invoice came
        through, as what it is. By default the seller the provider's record named (``Invoice.seller``).
        """
        return invoice.seller

    async def render_pdf(self, invoice: Invoice) -> bytes:
        """The server's rendering of an invoice the caller has already read within its scope."""
        from mcp_invoices.documents.pdf import render_invoice_pdf  # fpdf2 loads on first use, not at start-up

        return await render_invoice_pdf(invoice, await self.seller(invoice))

    # -- orders and generation (local, Polar) -----------------------------------------------

    async def list_orders(self, scope: Scope, *, limit: int, cursor: str | None) -> Page[Order]:
        raise NotSupported(
            f"{self.info.display_name} does not expose orders to generate invoices from.",
            hint=f"list_orders works with the {GENERATING_PROVIDERS} providers; use list_invoices here.",
        )

    async def get_order(self, scope: Scope, order_id: str) -> Order:
        """One order of the scope (as ``list_orders`` shows it), or ``not_found`` when missing or not the scope's."""
        raise NotSupported(
            f"{self.info.display_name} does not expose orders to generate invoices from.",
            hint=f"list_orders works with the {GENERATING_PROVIDERS} providers; use list_invoices here.",
        )

    async def generate_invoice(
        self,
        scope: Scope,
        order_id: str,
        *,
        billing: Billing | None,
        wait: bool,
        progress: Progress = no_progress,
    ) -> Generation:
        """Generate the invoice of an order, or return the existing one unchanged (never twice).

        With ``wait`` False, or past the provider's time limit, the invoice may come back with
        status ``pending`` (outcome ``pending``).
        """
        raise NotSupported(
            f"{self.info.display_name} does not generate invoices through this server.",
            hint="Invoices here are created in the provider's own dashboard; use get_invoice to read them.",
        )

    async def aclose(self) -> None:
        """Release connections and files."""
        return
