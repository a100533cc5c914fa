"""Specification of ``InvoiceFilter``: due-date bounds, overdue, and what a listing may ask."""

from __future__ import annotations

from datetime import date

import pytest

from mcp_invoices.domain.errors import InvalidArgument
from mcp_invoices.domain.models import InvoiceFilter, InvoiceStatus, same_number
from mcp_invoices.domain.summary import no_due_dates_note, summarize_invoices, with_note
from tests.factories import make_invoice

TODAY = date(2026, 6, 15)


def test_due_date_bounds_are_inclusive() -> None:
    invoice = make_invoice(due_at=date(2026, 6, 1))
    assert InvoiceFilter(due_after=date(2026, 6, 1), due_before=date(2026, 6, 1)).matches(invoice)
    assert not InvoiceFilter(due_after=date(2026, 6, 2)).matches(invoice)
    assert not InvoiceFilter(due_before=date(2026, 5, 31)).matches(invoice)


def test_an_invoice_without_a_due_date_matches_no_due_date_bound() -> None:
    undated = make_invoice(due_at=None)
    assert not InvoiceFilter(due_after=date(2000, 1, 1)).matches(undated)
    assert not InvoiceFilter(due_before=date(2100, 1, 1)).matches(undated)
    assert InvoiceFilter().matches(undated)


def test_overdue_keeps_unpaid_invoices_past_their_due_date_and_false_keeps_the_rest() -> None:
    late = make_invoice(due_at=date(2026, 6, 14))
    due_today = make_invoice(due_at=TODAY)
    paid_late = make_invoice(status=InvoiceStatus.PAID, amount_paid="100.00", due_at=date(2026, 1, 1))
    nothing_left = make_invoice(amount_due="0.00", due_at=date(2026, 1, 1))
    undated = make_invoice(due_at=None)
    overdue, current = InvoiceFilter(overdue=True, as_of=TODAY), InvoiceFilter(overdue=False, as_of=TODAY)
    assert [overdue.matches(i) for i in (late, due_today, paid_late, nothing_left, undated)] == [
        True,
        False,
        False,
        False,
        False,
    ]
    assert [current.matches(i) for i in (late, due_today, paid_late, nothing_left, undated)] == [
        False,
        True,
        True,
        True,
        True,
    ]


def test_overdue_agrees_with_the_summarys_overdue_amount() -> None:
    invoices = [make_invoice(due_at=date(2026, 6, day)) for day in (1, 14, 15, 30)]
    overdue = [i for i in invoices if InvoiceFilter(overdue=True, as_of=TODAY).matches(i)]
    summary = summarize_invoices(invoices, TODAY)
    assert summary.currencies[0].overdue == sum(i.amount_due for i in overdue)


def test_due_after_later_than_due_before_is_an_invalid_argument_saying_why() -> None:
    with pytest.raises(InvalidArgument, match="later than due_before") as raised:
        InvoiceFilter(due_after=date(2026, 7, 1), due_before=date(2026, 6, 1))
    assert raised.value.hint


def test_overdue_is_always_judged_as_of_a_stated_day() -> None:
    with pytest.raises(InvalidArgument):
        InvoiceFilter(overdue=True)


def test_only_overdue_and_due_bounds_need_due_dates() -> None:
    assert InvoiceFilter(overdue=True, as_of=TODAY).needs_due_dates
    assert InvoiceFilter(due_before=TODAY).needs_due_dates
    assert not InvoiceFilter(overdue=False, as_of=TODAY).needs_due_dates
    assert not InvoiceFilter(status=InvoiceStatus.OPEN).needs_due_dates


def test_a_number_matches_in_any_case_and_around_whitespace_but_not_in_part() -> None:
    assert same_number("INV-2026-0004", " inv-2026-0004 ")
    assert not same_number("INV-2026-0004", "INV-2026-000")
    assert make_invoice(number="INV-2026-0004").has_number("Inv-2026-0004")
    assert not make_invoice(number=None).has_number("INV-2026-0004")


def test_a_summary_of_a_provider_without_due_dates_says_so_and_keeps_its_figures() -> None:
    summary = summarize_invoices([make_invoice()], TODAY)
    noted = with_note(summary, no_due_dates_note("Polar"))
    assert noted.summary.startswith(summary.summary) and "Polar states no due dates" in noted.summary
    assert noted.model_dump(exclude={"summary"}) == summary.model_dump(exclude={"summary"})
