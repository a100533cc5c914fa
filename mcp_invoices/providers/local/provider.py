"""The local provider: the embedded ledger behind the provider interface.

Ledger calls run in worker threads (the database drivers block); the event loop only awaits. The one
exception is reading one invoice from SQLite, which is quicker than the hop to a thread.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import anyio
import anyio.to_thread

from mcp_invoices.domain.errors import NotFound
from mcp_invoices.domain.models import Billing, Invoice, InvoiceFilter, Order, Page
from mcp_invoices.domain.parties import Seller
from mcp_invoices.domain.summary import InvoicesSummary
from mcp_invoices.principal import Scope
from mcp_invoices.providers.base import Generation, InvoiceProvider, Progress, no_progress
from mcp_invoices.providers.catalog import spec

if TYPE_CHECKING:  # the database layer (SQLAlchemy) loads when the ledger is first opened
    from mcp_invoices.providers.local.ledger import Ledger

PROVIDER_ID = "local"

__all__ = ["LocalProvider", "open_local_provider"]

logger = logging.getLogger("mcp_invoices.local")

T = TypeVar("T")


class LocalProvider(InvoiceProvider):
    info = spec(PROVIDER_ID).info

    def __init__(
        self,
        ledger: Ledger | None = None,
        *,
        opener: Callable[[], Ledger] | None = None,
        max_threads: int = 8,
    ) -> None:
        if (ledger is None) == (opener is None):
            raise ValueError("give either an open ledger or an opener")
        self.ledger = ledger
        self._opener = opener
        self._opening = anyio.Lock()
        self._limiter = anyio.CapacityLimiter(max_threads)

    async def _open(self) -> Ledger:
        """The ledger, opened (created, migrated, seeded) on first use when the provider was made lazily."""
        if self.ledger is None:
            async with self._opening:
                if self.ledger is None:
                    assert self._opener is not None
                    from mcp_invoices.storage.bounded import run_bounded

                    # Creating, migrating and seeding a new ledger may take longer than one query.
                    self.ledger = await run_bounded(self._opener, limiter=self._limiter, timeout=60)
        return self.ledger

    async def _call(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        from mcp_invoices.storage.bounded import run_bounded

        return await run_bounded(functools.partial(fn, *args, **kwargs), limiter=self._limiter)

    async def customer_by_email(self, email: str) -> str | None:
        """Who signs in with ``email`` (the one-time code goes to the address the ledger holds)."""
        ledger = await self._open()
        return await self._call(ledger.customer_by_email, email)

    async def get_invoice(self, scope: Scope, invoice_id: str) -> Invoice:
        ledger = await self._open()
        if not ledger.database.is_sqlite:
            # Id or number in one indexed query, rather than the interface's two steps.
            return await self._call(ledger.find_invoice, scope.customer_id, invoice_id)
        # One indexed read of a local SQLite file takes less CPU than the hop to a worker thread and
        # back, and in WAL mode a reader never waits for a writer: it runs on the event loop.
        try:
            return ledger.find_invoice(scope.customer_id, invoice_id)
        except Exception as error:
            from mcp_invoices.storage.bounded import is_database_failure, report

            if not is_database_failure(error):
                raise
            raise report(error) from None

    async def invoice_by_id(self, scope: Scope, invoice_id: str) -> Invoice:
        return await self._call((await self._open()).get_invoice, scope.customer_id, invoice_id)

    async def find_by_number(self, scope: Scope, number: str) -> Invoice | None:
        try:
            return await self._call((await self._open()).find_invoice, scope.customer_id, number)
        except NotFound:
            return None

    async def list_invoices(
        self, scope: Scope, query: InvoiceFilter, *, limit: int, cursor: str | None
    ) -> Page[Invoice]:
        ledger = await self._open()
        return await self._call(ledger.list_invoices, scope.customer_id, query, limit=limit, cursor=cursor)

    async def summarize(self, scope: Scope, query: InvoiceFilter, today: date) -> InvoicesSummary:
        return await self._call((await self._open()).summarize, scope.customer_id, query, today)

    async def list_orders(self, scope: Scope, *, limit: int, cursor: str | None) -> Page[Order]:
        ledger = await self._open()
        return await self._call(ledger.list_orders, scope.customer_id, limit=limit, cursor=cursor)

    async def get_order(self, scope: Scope, order_id: str) -> Order:
        return await self._call((await self._open()).get_order, scope.customer_id, order_id)

    async def generate_invoice(
        self,
        scope: Scope,
        order_id: str,
        *,
        billing: Billing | None,
        wait: bool,
        progress: Progress = no_progress,
    ) -> Generation:
        # Local generation is one short transaction, so ``wait`` never leaves it pending; the same
        # transaction says whether it issued the invoice or found it.
        await progress(0, 2, f"Issuing the invoice of order {order_id}")
        ledger = await self._open()
        invoice, issued = await self._call(ledger.issue_invoice, scope.customer_id, order_id, billing=billing)
        await progress(2, 2, f"Invoice {invoice.number} is ready")
        return Generation(invoice=invoice, outcome="generated" if issued else "already_generated")

    async def seller(self, invoice: Invoice) -> Seller | None:
        profile = await self._call((await self._open()).seller)
        if profile is None:
            return None
        return Seller(
            name=profile.name, address_lines=profile.address_lines, email=profile.email, tax_id=profile.tax_id
        )

    async def render_pdf(self, invoice: Invoice) -> bytes:
        from mcp_invoices.documents.pdf import render_invoice_pdf  # fpdf2 loads on first use

        return await render_invoice_pdf(invoice, await self.seller(invoice))

    async def aclose(self) -> None:
        if self.ledger is not None:
            await self._call(self.ledger.close)


def _open_ledger(location: str | Path, seed: bool, today: date | None, auto_migrate: bool) -> Ledger:
    from mcp_invoices.providers.local.ledger import Ledger
    from mcp_invoices.providers.local.seed import seed_sample_data

    ledger = Ledger(location, auto_migrate=auto_migrate)
    try:
        if seed and ledger.claim_seeding():
            seed_sample_data(ledger, today or datetime.now(UTC).date())
            logger.info("seeded a new ledger with sample data", extra={"database": repr(ledger.database)})
    except BaseException:
        ledger.close()
        raise
    return ledger


async def open_local_provider(
    location: str | Path,
    *,
    seed: bool = True,
    today: date | None = None,
    auto_migrate: bool = False,
    lazy: bool = False,
) -> LocalProvider:
    """Open (creating and seeding on first use) the ledger at ``location``: a SQLite path or a database URL.

    A SQLite ledger is created or migrated as needed; a PostgreSQL one must be migrated already
    (``mcp-invoices migrate``) unless ``auto_migrate``. With ``lazy``, nothing is opened (nor the
    database layer imported) until the first call, so a host's first ``tools/list`` comes sooner.
    """
    opener = functools.partial(_open_ledger, location, seed, today, auto_migrate)
    if lazy:
        return LocalProvider(opener=opener)
    return LocalProvider(await anyio.to_thread.run_sync(opener))
