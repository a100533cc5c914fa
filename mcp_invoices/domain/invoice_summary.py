"""The plain-language summary of one invoice (``summarize_invoice``), and what it shares with the
summary of many (``domain.summary``): the frozen result model, days overdue, plurals.

A pure function of the invoice and of ``today`` (overdue is derived from ``due_at``, so the caller
states the date it is asking about). Amounts stay ``Decimal`` and are quantized to the currency's
precision.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from mcp_invoices.domain import money
from mcp_invoices.domain.breakdown import breakdown_of
from mcp_invoices.domain.models import Amount, Invoice, InvoiceStatus

__all__ = ["InvoiceSummary", "LineFact", "SummaryModel", "days_overdue", "plural", "summarize_invoice"]


class SummaryModel(BaseModel):
    """A summary's result: frozen, and exactly its declared fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class _MaybeOverdue(Protocol):
    @property
    def due_at(self) -> date | None: ...

    def is_overdue(self, today: date) -> bool: ...


class LineFact(SummaryModel):
    """One line item, reduced to what a summary quotes."""

    description: str
    total: Amount | None


class InvoiceSummary(SummaryModel):
    """The result of ``summarize_invoice``: a short text plus the facts it is built from."""

    summary: str
    """One to three plain-language sentences, small enough to quote in a chat."""
    provider: str
    invoice_id: str
    number: str | None
    status: InvoiceStatus
    currency: str
    total: Amount
    amount_paid: Amount
    amount_due: Amount
    issued_at: date | None
    due_at: date | None
    paid_at: datetime | None
    overdue: bool
    days_overdue: int | None
    """Days past ``due_at``; None unless ``overdue``."""
    line_count: int
    largest_line: LineFact | None
    """The line with the largest total (the first of equals); None when no line states a total."""
    uri: str
    """The invoice's JSON resource URI."""


def days_overdue(invoice: _MaybeOverdue, today: date) -> int | None:
    """Days past ``due_at`` when the invoice is overdue (``Invoice.is_overdue``), else None."""
    if not invoice.is_overdue(today):
        return None
    assert invoice.due_at is not None  # is_overdue guarantees it
    return (today - invoice.due_at).days


def _label(invoice: Invoice) -> str:
    return invoice.number or invoice.id


def plural(count: int, word: str) -> str:
    """``1 day``, ``2 days``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _largest_line(invoice: Invoice, currency: str) -> LineFact | None:
    largest: tuple[str, Decimal] | None = None
    for line in invoice.line_items:
        if line.total is not None and (largest is None or line.total > largest[1]):
            largest = (line.description, line.total)
    if largest is None:
        return None
    return LineFact(description=largest[0], total=money.quantize(largest[1], currency))


def _due_clause(amount_due: Decimal, due_at: date | None, days_overdue: int | None, currency: str) -> str:
    due = money.format_money(amount_due, currency)
    if due_at is None:
        return f"{due} due, no due date"
    if days_overdue is not None:
        return f"{due} was due on {due_at.isoformat()}, {plural(days_overdue, 'day')} overdue"
    return f"{due} due by {due_at.isoformat()}"


def _invoice_sentence(
    invoice: Invoice, total: Decimal, paid: Decimal, due: Decimal, days_overdue: int | None
) -> str:
    currency = invoice.currency
    head = f"Invoice {_label(invoice)} for {money.format_money(total, currency)}"
    status = invoice.status
    if status is InvoiceStatus.PAID:
        when = f" on {invoice.paid_at.date().isoformat()}" if invoice.paid_at else ""
        return f"{head} was paid{when}."
    if status is InvoiceStatus.OPEN:
        if due <= 0:
            return f"{head} is open with nothing left to pay."
        return f"{head} is open: {_due_clause(due, invoice.due_at, days_overdue, currency)}."
    if status is InvoiceStatus.PARTIALLY_PAID:
        return (
            f"{head} is partially paid: {money.format_money(paid, currency)} paid, "
            f"{_due_clause(due, invoice.due_at, days_overdue, currency)}."
        )
    if status is InvoiceStatus.REFUNDED:
        return f"{head} was refunded."
    if status is InvoiceStatus.VOID:
        return f"{head} is void; nothing is owed."
    if status is InvoiceStatus.UNCOLLECTIBLE:
        return f"{head} is marked uncollectible with {money.format_money(due, currency)} unpaid."
    if status is InvoiceStatus.DRAFT:
        return f"{head} is a draft and has not been issued."
    return f"{head} is being generated and is not ready yet."


def _details_sentence(invoice: Invoice, largest: LineFact | None) -> str:
    """Issue date and line facts, e.g. "Issued 2026-03-01; 3 lines, largest: Pro plan ($60.00)."."""
    parts = []
    if invoice.issued_at is not None:
        parts.append(f"Issued {invoice.issued_at.isoformat()}")
    if invoice.line_items:
        lines = plural(len(invoice.line_items), "line")
        if largest is not None and largest.total is not None and len(invoice.line_items) > 1:
            # The provider's line amount; said so when it includes tax (domain/breakdown.py reads which).
            with_tax = " incl. tax" if breakdown_of(invoice).lines_include_tax else ""
            lines += (
                f", largest: {largest.description} "
                f"({money.format_money(largest.total, invoice.currency)}{with_tax})"
            )
        parts.append(lines)
    if not parts:
        return ""
    text = "; ".join(parts)
    return " " + text[0].upper() + text[1:] + "."


def summarize_invoice(invoice: Invoice, today: date) -> InvoiceSummary:
    """Summarize one invoice as of ``today``.

    Amounts are quantized to the currency's precision. ``overdue`` follows ``Invoice.is_overdue``
    (unpaid status, something left to pay, ``due_at`` before today) and ``days_overdue`` is set only
    then. ``largest_line`` is the line with the largest stated total.
    """
    currency = money.normalize_currency(invoice.currency)
    total = money.quantize(invoice.total, currency)
    paid = money.quantize(invoice.amount_paid, currency)
    due = money.quantize(invoice.amount_due, currency)
    overdue_days = days_overdue(invoice, today)
    largest = _largest_line(invoice, currency)
    text = _invoice_sentence(invoice, total, paid, due, overdue_days) + _details_sentence(invoice, largest)
    return InvoiceSummary(
        summary=text,
        provider=invoice.provider,
        invoice_id=invoice.id,
        number=invoice.number,
        status=invoice.status,
        currency=currency,
        total=total,
        amount_paid=paid,
        amount_due=due,
        issued_at=invoice.issued_at,
        due_at=invoice.due_at,
        paid_at=invoice.paid_at,
        overdue=overdue_days is not None,
        days_overdue=overdue_days,
        line_count=len(invoice.line_items),
        largest_line=largest,
        uri=invoice.documents.json_uri,
    )
