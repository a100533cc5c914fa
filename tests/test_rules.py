"""The money rules are decided once (``domain.rules``); the ledger's SQL is the same rule."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Date, Integer, String, create_engine, literal, select

from mcp_invoices.domain.models import InvoiceStatus
from mcp_invoices.domain.money import from_minor_units, to_minor_units
from mcp_invoices.domain.rules import ageing_bucket, settle
from mcp_invoices.providers.local.records import ageing_bucket_sql, amount_due_sql

TODAY = date(2026, 6, 30)


@pytest.fixture(scope="module")
def sqlite():  # type: ignore[no-untyped-def]
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def test_a_stated_amount_due_is_kept_and_the_rest_of_the_total_is_paid() -> None:
    settled = settle(InvoiceStatus.PAID, Decimal("100.00"), "USD", due=Decimal("20.00"))
    assert (settled.paid, settled.due) == (Decimal("80.00"), Decimal("20.00"))


def test_a_void_invoice_with_a_stated_amount_due_received_nothing() -> None:
    settled = settle(InvoiceStatus.VOID, Decimal("100.00"), "USD", due=Decimal("0.00"))
    assert settled.paid == Decimal("0.00")


def test_without_stated_amounts_a_paid_or_refunded_invoice_was_paid_in_full() -> None:
    for status in (InvoiceStatus.PAID, InvoiceStatus.REFUNDED):
        settled = settle(status, Decimal("1500"), "JPY")
        assert (settled.paid, settled.due) == (Decimal("1500"), Decimal("0"))


def test_without_stated_amounts_an_open_invoice_owes_its_total() -> None:
    settled = settle(InvoiceStatus.OPEN, Decimal("110.00"), "USD")
    assert (str(settled.paid), str(settled.due)) == ("0.00", "110.00")


def test_nothing_is_due_on_a_settled_invoice_whatever_was_paid() -> None:
    for status in (InvoiceStatus.PAID, InvoiceStatus.VOID, InvoiceStatus.REFUNDED):
        assert settle(status, Decimal("100.00"), "USD", paid=Decimal("10.00")).due == Decimal("0.00")


@pytest.mark.parametrize("status", list(InvoiceStatus))
@pytest.mark.parametrize(("total", "paid"), [(11000, 0), (11000, 2500), (11000, 11000), (0, 0)])
def test_the_ledgers_sql_amount_due_is_the_domain_rule(
    sqlite, status: InvoiceStatus, total: int, paid: int
) -> None:  # type: ignore[no-untyped-def]
    expected = settle(status, from_minor_units(total, "EUR"), "EUR", paid=from_minor_units(paid, "EUR")).due
    query = select(
        amount_due_sql(literal(status.value, String), literal(total, Integer), literal(paid, Integer))
    )
    assert sqlite.execute(query).scalar_one() == to_minor_units(expected, "EUR")


@pytest.mark.parametrize("days_past_due", [-10, 0, 1, 29, 30, 31, 60, 61, 90, 91, 400])
def test_the_ledgers_sql_ageing_bucket_is_the_domain_rule(sqlite, days_past_due: int) -> None:  # type: ignore[no-untyped-def]
    due_at = TODAY - timedelta(days=days_past_due)
    query = select(ageing_bucket_sql(literal(due_at, Date), TODAY))
    assert sqlite.execute(query).scalar_one() == ageing_bucket(due_at, TODAY)
