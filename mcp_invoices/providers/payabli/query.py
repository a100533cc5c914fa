"""Reading Payabli's Query listing: its filters, the shape a page is read in, and the scope check.

A Query page is read either as whole invoices (listings, lookups) or as a summary's facts; either
way every record is checked against the session's customer here, whatever Payabli was asked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import httpx2

from mcp_invoices.domain.models import Invoice, InvoiceFilter, same_number
from mcp_invoices.domain.summary import InvoiceFacts
from mcp_invoices.providers.payabli.wire import (
    PROVIDER_ID,
    STATUSES,
    WIRE,
    WireInvoice,
    WireInvoiceFacts,
    WireQueryOf,
    invoice_facts,
    normalize_invoice,
)
from mcp_invoices.providers.wire import text

__all__ = [
    "CUSTOMER_FILTER",
    "FACTS",
    "NUMBER_FILTER",
    "WHOLE",
    "QueryPage",
    "Reading",
    "due_filters",
    "own_matching",
    "query_filters",
]

logger = logging.getLogger("mcp_invoices.payabli")


class _Owned(Protocol):
    @property
    def invoice_number(self) -> str | int | None: ...

    def owned_by(self, customer: int) -> bool: ...


R = TypeVar("R", Invoice, InvoiceFacts)
W = TypeVar("W", bound=_Owned)


@dataclass(frozen=True)
class QueryPage(Generic[R]):
    invoices: list[R]
    """The scope's invoices on this page that match the filter (whole, or a summary's facts)."""
    fetched: int
    """Records Payabli returned (before dropping any), which is how far the position moves."""
    next_offset: int | None
    total: int | None
    """Records Payabli announced for the whole listing (``Summary.totalRecords``), if it did."""
    stray: int = 0
    """Records that a filter sent to Payabli should have excluded (it ignored that filter)."""


@dataclass(frozen=True, slots=True)
class Reading(Generic[W, R]):
    """How a Query page is read: its records and announced total, and what each record becomes."""

    page: Callable[[httpx2.Response], tuple[Sequence[W], int | None]]
    read: Callable[[W], R]


_WHAT = "an invoice list"
_WHOLE_PAGE = WIRE.decoder(WireQueryOf[WireInvoice])
_FACTS_PAGE = WIRE.decoder(WireQueryOf[WireInvoiceFacts])
"""The same records read as their facts: a summary reads a dozen fields of each ~2 KB record, and
the rest is skipped, never decoded."""


def _whole_page(response: httpx2.Response) -> tuple[Sequence[WireInvoice], int | None]:
    answer = _WHOLE_PAGE.read(response, what=_WHAT)
    return answer.records, answer.summary.total_records if answer.summary else None


def _facts_page(response: httpx2.Response) -> tuple[Sequence[WireInvoiceFacts], int | None]:
    answer = _FACTS_PAGE.read(response, what=_WHAT)
    return answer.records, answer.summary.total_records if answer.summary else None


WHOLE: Reading[WireInvoice, Invoice] = Reading(_whole_page, normalize_invoice)
FACTS: Reading[WireInvoiceFacts, InvoiceFacts] = Reading(_facts_page, invoice_facts)


# payabli 1.0.19 invoice/raw_client.py list_invoices docstring, "Accepted field names": status (in, nin,
# eq, ne), invoiceDate and dueDate (gt, ge, lt, le, eq, ne), invoiceNumber (ct, nct, eq, ne), customerId
# (eq, ne). Every filter is checked again here (``own_matching``): Payabli may ignore one.
CUSTOMER_FILTER = "customerId(eq)"
NUMBER_FILTER = "invoiceNumber(eq)"


def query_filters(query: InvoiceFilter) -> dict[str, str] | None:
    """``query``'s status, issue and due dates as Payabli filters; None for a status Payabli never has."""
    filters: dict[str, str] = {}
    if query.status is not None:
        codes = STATUSES.natives(query.status)
        if not codes:
            return None
        if len(codes) == 1:  # several codes would need ``in``, whose value separator is undocumented
            filters["status(eq)"] = str(codes[0])
    if query.issued_after is not None:
        filters["invoiceDate(ge)"] = query.issued_after.isoformat()
    if query.issued_before is not None:
        filters["invoiceDate(le)"] = query.issued_before.isoformat()
    return filters | due_filters(query)


def own_matching(
    records: Iterable[Any],
    customer: int,
    query: InvoiceFilter,
    reading: Reading[Any, R],
    number: str | None = None,
) -> tuple[list[R], int]:
    """The records of ``customer`` that match ``query`` (and carry ``number``, if given), read as
    ``reading`` says, and how many records a filter sent to Payabli should have excluded.

    Others are dropped (Payabli's filters are trusted for nothing) and their number logged.
    """
    invoices: list[R] = []
    foreign = stray = 0
    for record in records:
        if number is not None and not same_number(str(text(record.invoice_number) or ""), number):
            stray += 1
            continue
        if not record.owned_by(customer):
            foreign += 1
            continue
        invoice = reading.read(record)
        if query.matches(invoice):
            invoices.append(invoice)
        else:
            stray += 1
    if foreign:
        logger.warning(
            "Payabli listed invoices of other customers; they were dropped",
            extra={"provider": PROVIDER_ID, "dropped": foreign},
        )
    return invoices, stray


def due_filters(query: InvoiceFilter) -> dict[str, str]:
    """The due-date part of ``query`` as Payabli filters (``dueDate``, inclusive bounds).

    Overdue is pushed down as "due before today"; whether something is left to pay is checked
    here (``InvoiceFilter.matches``), so an undocumented status read from its amounts still counts.
    "Not overdue" is an OR Payabli cannot express: it is checked here only.
    """
    params: dict[str, str] = {}
    if query.due_after is not None:
        params["dueDate(ge)"] = query.due_after.isoformat()
    if query.due_before is not None:
        params["dueDate(le)"] = query.due_before.isoformat()
    if query.overdue is True and query.as_of is not None:
        params["dueDate(lt)"] = query.as_of.isoformat()
    return params
