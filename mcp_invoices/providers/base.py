"""The interface every provider implements: the local ledger and each remote API alike.

A provider turns its own wire format into the domain models and its own failures into
``mcp_invoices.domain.errors``. It never sees MCP types, and it receives the caller's ``Scope``
explicitly on every call: a provider must answer only within that scope, and must answer an
object outside it exactly as it answers a missing one (``errors.not_found``).
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from mcp_invoices.domain.errors import NotSupported
from mcp_invoices.domain.models import Billing, Invoice, InvoiceFilter, InvoiceStatus, Order, Page
from mcp_invoices.domain.summary import InvoicesSummary, summarize_invoices
from mcp_invoices.principal import Scope
from mcp_invoices.providers.catalog import ProviderInfo
from mcp_invoices.providers.paging import check_pages_read, pages_per_summary
from mcp_invoices.shared.base import DocumentStore

__all__ = [
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

    @abc.abstractmethod
    async def get_invoice(self, scope: Scope, invoice_id: str) -> Invoice:
        """The invoice, or ``not_found`` when it is missing or outside ``scope``."""

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

    async def summarize(self, scope: Scope, query: InvoiceFilter, today: date) -> InvoicesSummary:
        """Aggregates over all matching invoices (not one page)."""
        return summarize_invoices([invoice async for invoice in self.iter_invoices(scope, query)], today)

    async def invoice_pdf(
        self, scope: Scope, invoice_id: str, documents: DocumentStore | None = None
    ) -> bytes:
        """The invoice's PDF. Providers that serve their own document override this; otherwise it is
        rendered here from the invoice as it is now (``documents`` caches renderings by that state)."""
        return await self.rendered_pdf(scope, await self.get_invoice(scope, invoice_id), documents)

    async def rendered_pdf(self, scope: Scope, invoice: Invoice, documents: DocumentStore | None) -> bytes:
        """The server's rendering of an invoice read within ``scope``, from ``documents`` when it has it."""
        pdf = await documents.get(scope, "pdf", invoice) if documents is not None else None
        if pdf is None:
            pdf = await self.render_pdf(invoice)
            if documents is not None:
                await documents.put(scope, "pdf", invoice, pdf)
        return pdf

    async def render_pdf(self, invoice: Invoice) -> bytes:
        """The server's rendering of an invoice the caller has already read within its scope."""
        from mcp_invoices.documents.pdf import render_invoice_pdf  # fpdf2 loads on first use, not at start-up

        return await render_invoice_pdf(invoice)

    # -- orders and generation (local, Polar) -----------------------------------------------

    async def list_orders(self, scope: Scope, *, limit: int, cursor: str | None) -> Page[Order]:
        raise NotSupported(
            f"{self.info.display_name} does not expose orders to generate invoices from.",
            hint="list_orders works with the local and polar providers; use list_invoices here.",
        )

    async def get_order(self, scope: Scope, order_id: str) -> Order:
        """One order of the scope (as ``list_orders`` shows it), or ``not_found`` when missing or not the scope's."""
        raise NotSupported(
            f"{self.info.display_name} does not expose orders to generate invoices from.",
            hint="list_orders works with the local and polar providers; use list_invoices here.",
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
