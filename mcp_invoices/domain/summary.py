"""Plain-language summaries of many invoices (``summarize_invoices``); one invoice's is in
``invoice_summary`` (``summarize_invoice``, re-exported here).

Both are pure functions of the invoices and of ``today`` (overdue is derived from ``due_at``, so
the caller states the date it is asking about). Amounts stay ``Decimal`` throughout; totals are
kept per currency and never mixed.

Definitions shared by both summaries:

- **billed** statuses are every status except ``void``, ``draft`` and ``pending``: a voided
  invoice was cancelled, a draft or a pending one has not been issued yet, so none of them is
  money that was asked for.
- **unpaid** statuses are those of ``InvoiceStatus.is_unpaid`` (``open``, ``partially_paid``);
  only they contribute to ``due``. An ``uncollectible`` invoice is written off, not due.
- **days past due** is ``today - due_at`` in days; an invoice is overdue when it is unpaid, has
  something left to pay and ``due_at < today`` (``Invoice.is_overdue``).
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from mcp_invoices.domain import money
from mcp_invoices.domain.invoice_summary import (
    InvoiceSummary,
    LineFact,
    SummaryModel,
    days_overdue,
    plural,
    summarize_invoice,
)
from mcp_invoices.domain.models import Amount, Invoice, InvoiceStatus, is_past_due
from mcp_invoices.domain.rules import AGEING_BUCKETS, CURRENT, ageing_bucket

__all__ = [
    "BILLED_EXCLUDED_STATUSES",
    "SummaryGroup",
    "summarize_groups",
    "AgeingBuckets",
    "CurrencyTotals",
    "InvoiceSummary",
    "InvoicesSummary",
    "LineFact",
    "OldestUnpaid",
    "StatusCount",
    "InvoiceFacts",
    "facts_of",
    "summarize_facts",
    "summarize_invoice",
    "summarize_invoices",
    "no_due_dates_note",
    "with_note",
]

BILLED_EXCLUDED_STATUSES = frozenset({InvoiceStatus.VOID, InvoiceStatus.DRAFT, InvoiceStatus.PENDING})
"""Statuses whose invoices are counted but whose amounts are not part of ``total`` or ``paid``."""

# Sums run at a precision far above any ledger's, so adding thousands of amounts never rounds;
# only the final quantize to the currency's precision does (and it is exact for exact inputs).
_SUM_CONTEXT = decimal.Context(prec=100, rounding=decimal.ROUND_HALF_EVEN)


class AgeingBuckets(SummaryModel):
    """``due`` split by days past the due date; the five buckets always sum exactly to ``due``."""

    current: Amount
    """Not yet due (``due_at >= today``) or without a due date."""
    days_1_30: Amount
    days_31_60: Amount
    days_61_90: Amount
    days_over_90: Amount


class CurrencyTotals(SummaryModel):
    """Aggregates over the invoices of one currency.

    - ``count``: invoices in this currency, of every status.
    - ``total``: sum of ``total`` over billed invoices (every status except void, draft, pending).
    - ``paid``: sum of ``amount_paid`` over the same billed invoices.
    - ``due``: sum of ``amount_due`` over unpaid invoices (``open``, ``partially_paid``).
    - ``overdue``: the part of ``due`` whose ``due_at`` is before today (``due - ageing.current``).
    - ``ageing``: ``due`` split by days past due.
    """

    currency: str
    count: int
    total: Amount
    paid: Amount
    due: Amount
    overdue: Amount
    ageing: AgeingBuckets


class StatusCount(SummaryModel):
    status: InvoiceStatus
    count: int


class OldestUnpaid(SummaryModel):
    """The unpaid invoice with something left to pay that fell (or falls) due first."""

    invoice_id: str
    number: str | None
    issued_at: date | None
    due_at: date | None
    currency: str
    amount_due: Amount
    days_overdue: int | None
    """Days past ``due_at``; None unless overdue."""
    uri: str


class InvoicesSummary(SummaryModel):
    """The result of ``summarize_invoices``."""

    summary: str
    """Plain-language text: count, per-currency billed / due / overdue, the oldest unpaid."""
    as_of: date
    """The ``today`` the overdue figures were computed for."""
    count: int
    by_status: list[StatusCount]
    """Statuses with at least one invoice, in ``InvoiceStatus`` declaration order."""
    currencies: list[CurrencyTotals]
    """One entry per currency seen, sorted by currency code."""
    oldest_unpaid: OldestUnpaid | None


# --- many invoices ---------------------------------------------------------------------------------

_BUCKETS = (CURRENT, *(bucket for bucket, _ in AGEING_BUCKETS))


@dataclass(frozen=True, slots=True)
class SummaryGroup:
    """Invoices already aggregated by (currency, status, ageing bucket), e.g. by a SQL GROUP BY.

    ``due_bucket`` is ``rules.CURRENT`` or one of ``rules.AGEING_BUCKETS`` (by days past ``due_at`` as of the summary's day; "current"
    when not yet due or without a due date); it only matters for unpaid statuses.
    """

    currency: str
    status: InvoiceStatus
    due_bucket: str
    count: int
    total: Decimal
    paid: Decimal
    due: Decimal


@dataclass
class _CurrencyAccumulator:
    count: int = 0
    total: Decimal = money.ZERO
    paid: Decimal = money.ZERO
    buckets: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(_BUCKETS, money.ZERO))

    def add_group(self, group: SummaryGroup) -> None:
        self.add_amounts(
            group.status, group.due_bucket, group.total, group.paid, group.due, count=group.count
        )

    def add_amounts(
        self,
        status: InvoiceStatus,
        due_bucket: str,
        total: Decimal,
        paid: Decimal,
        due: Decimal,
        *,
        count: int = 1,
    ) -> None:
        add = _SUM_CONTEXT.add
        self.count += count
        if status not in BILLED_EXCLUDED_STATUSES:
            self.total = add(self.total, total)
            self.paid = add(self.paid, paid)
        if status.is_unpaid:
            self.buckets[due_bucket] = add(self.buckets[due_bucket], due)

    def result(self, currency: str) -> CurrencyTotals:
        def q(amount: Decimal) -> Decimal:
            with decimal.localcontext(_SUM_CONTEXT):
                return money.quantize(amount, currency)

        buckets = {name: q(amount) for name, amount in self.buckets.items()}
        # Each bucket is quantized on its own, so due and overdue are summed from the quantized
        # buckets: the buckets add up to ``due`` exactly even if an input had excess precision.
        with decimal.localcontext(_SUM_CONTEXT):
            due = sum(buckets.values(), money.ZERO)
            overdue = due - buckets["current"]
        return CurrencyTotals(
            currency=currency,
            count=self.count,
            total=q(self.total),
            paid=q(self.paid),
            due=due,
            overdue=overdue,
            ageing=AgeingBuckets(**buckets),
        )


def _oldest_key(invoice: Invoice | InvoiceFacts) -> tuple[bool, date, bool, date, str]:
    # Earliest due date first, no due date last; then earliest issued, then id, for a stable answer.
    return (
        invoice.due_at is None,
        invoice.due_at or date.max,
        invoice.issued_at is None,
        invoice.issued_at or date.max,
        invoice.id,
    )


def _oldest_unpaid(invoice: Invoice | InvoiceFacts, today: date) -> OldestUnpaid:
    currency = money.normalize_currency(invoice.currency)
    uri = invoice.uri if isinstance(invoice, InvoiceFacts) else invoice.documents.json_uri
    return OldestUnpaid(
        invoice_id=invoice.id,
        number=invoice.number,
        issued_at=invoice.issued_at,
        due_at=invoice.due_at,
        currency=currency,
        amount_due=money.quantize(invoice.amount_due, currency),
        days_overdue=days_overdue(invoice, today),
        uri=uri,
    )


def _currency_phrase(totals: CurrencyTotals) -> str:
    c = totals.currency
    phrase = f"{money.format_money(totals.total, c)} billed, "
    if totals.due == 0:
        return phrase + "nothing due"
    phrase += f"{money.format_money(totals.due, c)} due"
    if totals.overdue != 0:
        phrase += f" ({money.format_money(totals.overdue, c)} overdue)"
    return phrase


def _summary_text(
    count: int, by_status: list[StatusCount], currencies: list[CurrencyTotals], oldest: OldestUnpaid | None
) -> str:
    if count == 0:
        return "No invoices match."
    statuses = ", ".join(f"{s.count} {s.status.value.replace('_', ' ')}" for s in by_status)
    text = (
        f"{plural(count, 'invoice')} ({statuses}): "
        + "; ".join(_currency_phrase(t) for t in currencies)
        + "."
    )
    if oldest is not None:
        label = oldest.number or oldest.invoice_id
        if oldest.days_overdue is not None:
            when = f"{plural(oldest.days_overdue, 'day')} overdue"
        elif oldest.due_at is not None:
            when = f"due {oldest.due_at.isoformat()}"
        else:
            when = "no due date"
        text += f" Oldest unpaid: {label}, {money.format_money(oldest.amount_due, oldest.currency)}, {when}."
    return text


def summarize_invoices(invoices: Iterable[Invoice], today: date) -> InvoicesSummary:
    """Aggregate any number of invoices as of ``today``, in one pass over ``invoices``.

    ``invoices`` may be a generator (e.g. every page of a provider, fetched lazily); memory stays
    proportional to the number of currencies, not of invoices. Per-currency figures are defined on
    ``CurrencyTotals``: totals are never mixed across currencies; ``total`` and ``paid`` leave out
    void, draft and pending invoices; ``due`` counts only unpaid (open, partially paid) invoices;
    ``overdue`` is the part of ``due`` past its due date; the ageing buckets sum exactly to ``due``.

    ``oldest_unpaid`` is the unpaid invoice with ``amount_due > 0`` and the earliest ``due_at``
    (across currencies; one without a due date comes after all dated ones), ties broken by the
    earliest ``issued_at`` and then by id.
    """
    return _summarize(invoices, today)


def summarize_groups(
    groups: Iterable[SummaryGroup], oldest_unpaid: Invoice | None, today: date
) -> InvoicesSummary:
    """The same summary as ``summarize_invoices``, from pre-aggregated groups (a database's GROUP BY).

    ``oldest_unpaid`` is found by the caller with the ordering documented on ``summarize_invoices``.
    """
    count = 0
    status_counts = dict.fromkeys(InvoiceStatus, 0)
    per_currency: dict[str, _CurrencyAccumulator] = {}
    for group in groups:
        count += group.count
        status_counts[group.status] += group.count
        currency = money.normalize_currency(group.currency)
        per_currency.setdefault(currency, _CurrencyAccumulator()).add_group(group)
    return _assemble(count, status_counts, per_currency, oldest_unpaid, today)


@dataclass(frozen=True, slots=True)
class InvoiceFacts:
    """What ``summarize_invoices`` reads of one invoice, and nothing else (no lines, customer or billing).

    A provider that can read these straight from its pages summarises without building whole
    invoices; ``facts_of`` gives the same facts of a normalized invoice, and both must summarise
    alike (``summarize_facts``).
    """

    id: str
    number: str | None
    status: InvoiceStatus
    currency: str
    issued_at: date | None
    due_at: date | None
    total: Decimal
    amount_paid: Decimal
    amount_due: Decimal
    uri: str
    """The invoice's JSON resource URI."""

    def is_overdue(self, today: date) -> bool:
        return is_past_due(self.status, self.amount_due, self.due_at, today)


def facts_of(invoice: Invoice) -> InvoiceFacts:
    return InvoiceFacts(
        id=invoice.id,
        number=invoice.number,
        status=invoice.status,
        currency=invoice.currency,
        issued_at=invoice.issued_at,
        due_at=invoice.due_at,
        total=invoice.total,
        amount_paid=invoice.amount_paid,
        amount_due=invoice.amount_due,
        uri=invoice.documents.json_uri,
    )


def summarize_facts(facts: Iterable[InvoiceFacts], today: date) -> InvoicesSummary:
    """``summarize_invoices`` over invoices given by their facts: the same definitions, the same result."""
    return _summarize(facts, today)


def _summarize(invoices: Iterable[Invoice] | Iterable[InvoiceFacts], today: date) -> InvoicesSummary:
    """One pass over whole invoices or their facts: both carry every field a summary reads."""
    count = 0
    status_counts = dict.fromkeys(InvoiceStatus, 0)
    per_currency: dict[str, _CurrencyAccumulator] = {}
    oldest: Invoice | InvoiceFacts | None = None
    for invoice in invoices:
        count += 1
        status_counts[invoice.status] += 1
        currency = money.normalize_currency(invoice.currency)
        accumulator = per_currency.get(currency)
        if accumulator is None:
            accumulator = per_currency[currency] = _CurrencyAccumulator()
        accumulator.add_amounts(
            invoice.status,
            ageing_bucket(invoice.due_at, today),
            invoice.total,
            invoice.amount_paid,
            invoice.amount_due,
        )
        unpaid_and_owing = invoice.status.is_unpaid and invoice.amount_due > 0
        if unpaid_and_owing and (oldest is None or _oldest_key(invoice) < _oldest_key(oldest)):
            oldest = invoice
    return _assemble(count, status_counts, per_currency, oldest, today)


def _assemble(
    count: int,
    status_counts: dict[InvoiceStatus, int],
    per_currency: dict[str, _CurrencyAccumulator],
    oldest: Invoice | InvoiceFacts | None,
    today: date,
) -> InvoicesSummary:
    by_status = [StatusCount(status=s, count=n) for s, n in status_counts.items() if n > 0]
    currencies = [per_currency[code].result(code) for code in sorted(per_currency)]
    oldest_unpaid = _oldest_unpaid(oldest, today) if oldest is not None else None
    return InvoicesSummary(
        summary=_summary_text(count, by_status, currencies, oldest_unpaid),
        as_of=today,
        count=count,
        by_status=by_status,
        currencies=currencies,
        oldest_unpaid=oldest_unpaid,
    )


def no_due_dates_note(provider_name: str) -> str:
    """What a result says when its provider states no due dates (so "not overdue" is not a fact)."""
    return (
        f"{provider_name} states no due dates, so none of its invoices can be counted as overdue or "
        "matched by a due date: overdue amounts show as 0 for want of dates, not because all is current."
    )


def with_note(summary: InvoicesSummary, note: str) -> InvoicesSummary:
    """``summary`` with ``note`` added to its text (its figures unchanged)."""
    return summary.model_copy(update={"summary": f"{summary.summary} {note}"})
