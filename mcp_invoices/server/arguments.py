"""The tools' shared argument definitions: one description per idea, the same in every schema."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from mcp_invoices.domain.models import InvoiceFilter, InvoiceStatus
from mcp_invoices.providers.catalog import GENERATING_PROVIDERS, PROVIDER_IDS
from mcp_invoices.server.inputs import check_order

__all__ = [
    "ProviderId",
    "StatusName",
    "PROVIDER",
    "STATUS",
    "ISSUED_AFTER",
    "ISSUED_BEFORE",
    "OVERDUE",
    "DUE_AFTER",
    "DUE_BEFORE",
    "INVOICE_ID",
    "LIMIT",
    "CURSOR",
    "invoice_filter",
]

if TYPE_CHECKING:
    ProviderId = str
else:
    ProviderId = Literal[PROVIDER_IDS]  # the tools' provider enum is the catalog's, in its order
StatusName = Literal[
    "draft", "open", "paid", "partially_paid", "refunded", "void", "uncollectible", "pending"
]

PROVIDER = Field(
    default=None,
    description="Which provider to use. Optional when exactly one is enabled; the error lists the enabled ones.",
)
STATUS = Field(default=None, description="Only invoices in this status.")
ISSUED_AFTER = Field(default=None, description="Only invoices issued on or after (YYYY-MM-DD).")
ISSUED_BEFORE = Field(default=None, description="Only invoices issued on or before (YYYY-MM-DD).")
OVERDUE = Field(
    default=None,
    description="true: only overdue invoices (something left to pay, due date before today); false: only "
    "those that are not.",
)
DUE_AFTER = Field(default=None, description="Only invoices due on or after (YYYY-MM-DD).")
DUE_BEFORE = Field(default=None, description="Only invoices due on or before (YYYY-MM-DD).")
INVOICE_ID = Field(
    description=f"The invoice id as list_invoices returns it (for {GENERATING_PROVIDERS}: the order id), or the "
    "invoice number printed on it (e.g. INV-2026-0004), in any case."
)
LIMIT = Field(default=20)
"""The description, bounds and strictness are in ``inputs.Limit``."""
CURSOR = Field(default=None, description="next_cursor from the previous page.")


def invoice_filter(
    status: str | None,
    issued_after: date | None,
    issued_before: date | None,
    overdue: bool | None,
    due_after: date | None,
    due_before: date | None,
    today: date,
) -> InvoiceFilter:
    """The domain filter of a listing's arguments (``InvoiceFilter`` checks the due dates' order)."""
    check_order("issued_after", issued_after, "issued_before", issued_before)
    return InvoiceFilter(
        status=InvoiceStatus(status) if status else None,
        issued_after=issued_after,
        issued_before=issued_before,
        overdue=overdue,
        due_after=due_after,
        due_before=due_before,
        as_of=today if overdue is not None else None,  # judged today; a cursor stays bound to that day
    )
