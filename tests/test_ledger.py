"""Specification of the embedded ledger: seeding, pricing, generation, numbering, concurrency,
immutability, scoping and pagination - on a real database (a SQLite file, or PostgreSQL), no mocks."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from mcp_invoices.domain.errors import (
    InvalidArgument,
    InvoiceError,
    MissingBillingDetails,
    NotFound,
    NotPaid,
)
from mcp_invoices.domain.models import Address, Billing, Invoice, InvoiceFilter, InvoiceStatus, Order
from mcp_invoices.providers.local.ledger import Ledger, NewOrder, NewOrderLine
from mcp_invoices.providers.local.seed import SAMPLE_CUSTOMERS, seed_sample_data
from tests.databases import rows

TODAY = date(2026, 6, 15)
"""The seeding day: every sample date falls in 2026, so the sample numbers are INV-2026-0001..0007."""

SEEDED_INVOICES = {"ord_1001", "ord_1002", "ord_2001", "ord_2002", "ord_3001", "ord_3002", "ord_3004"}
CENT = Decimal("0.01")

BILLING = Billing(
    name="Test Buyer Ltd",
    address=Address(
        line1="1 Test Street",
        line2="Floor 2",
        postal_code="12345",
        city="Testville",
        state="TS",
        country="US",
    ),
)


# -- fixtures and helpers --------------------------------------------------------------------------


@pytest.fixture
def ledger_file(database: Path | str) -> Path | str:
    """The ledger's database: a SQLite file, or a PostgreSQL URL (see conftest)."""
    return database


@pytest.fixture
def ledger(ledger_file: Path | str) -> Iterator[Ledger]:
    """The sample ledger, seeded as of ``TODAY``."""
    ledger = Ledger(ledger_file)
    seed_sample_data(ledger, TODAY)
    yield ledger
    ledger.close()


@pytest.fixture
def blank(ledger_file: Path | str) -> Iterator[Ledger]:
    """A ledger with two customers and no orders."""
    ledger = Ledger(ledger_file)
    ledger.add_customer("cus_a", "Customer A", "a@example.com", TODAY)
    ledger.add_customer("cus_b", "Customer B", None, TODAY)
    yield ledger
    ledger.close()


def add_order(
    ledger: Ledger,
    order_id: str,
    *,
    customer_id: str = "cus_a",
    status: str = "paid",
    currency: str = "USD",
    lines: list[NewOrderLine] | None = None,
    terms: int | None = None,
    billing: Billing | None = BILLING,
    shipping: str = "0",
    created_at: date = TODAY,
) -> None:
    ledger.add_order(
        NewOrder(
            id=order_id,
            customer_id=customer_id,
            created_at=created_at,
            currency=currency,
            status=status,
            lines=lines or [NewOrderLine("Service", Decimal(1), Decimal("100.00"))],
            payment_terms_days=terms,
            shipping=Decimal(shipping),
            billing=billing,
        )
    )


def generate(
    ledger: Ledger,
    order_id: str,
    *,
    customer_id: str | None = None,
    today: date = TODAY,
    billing: Billing | None = None,
) -> Invoice:
    return ledger.generate_invoice(customer_id, order_id, billing=billing, today=today)


def sequences(ledger_file: Path | str) -> dict[int, int]:
    """The last number allocated per year, read straight from the database."""
    return {year: last for year, last in rows(ledger_file, "SELECT year, last FROM invoice_sequences")}


def invoice_count(ledger_file: Path | str) -> int:
    return rows(ledger_file, "SELECT count(*) FROM invoices")[0][0]


def all_invoices(ledger: Ledger, customer_id: str | None = None) -> list[Invoice]:
    return ledger.list_invoices(customer_id, InvoiceFilter(), limit=1000, cursor=None).items


def all_orders(ledger: Ledger, customer_id: str | None = None) -> list[Order]:
    return ledger.list_orders(customer_id, limit=1000, cursor=None).items


def walk_invoices(ledger: Ledger, customer_id: str | None, query: InvoiceFilter, limit: int) -> list[Invoice]:
    seen: list[Invoice] = []
    cursor: str | None = None
    while True:
        page = ledger.list_invoices(customer_id, query, limit=limit, cursor=cursor)
        assert len(page.items) <= limit
        seen += page.items
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def walk_orders(ledger: Ledger, customer_id: str | None, limit: int) -> list[Order]:
    seen: list[Order] = []
    cursor: str | None = None
    while True:
        page = ledger.list_orders(customer_id, limit=limit, cursor=cursor)
        assert len(page.items) <= limit
        seen += page.items
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def sequence_of(invoice: Invoice) -> tuple[int, int]:
    assert invoice.number is not None
    _, year, sequence = invoice.number.split("-")
    return int(year), int(sequence)


def half_even(amount: Decimal, quantum: Decimal = CENT) -> Decimal:
    return amount.quantize(quantum, rounding=ROUND_HALF_EVEN)


# -- seeding ---------------------------------------------------------------------------------------


def test_seeding_creates_the_three_sample_customers(ledger: Ledger, ledger_file: Path | str) -> None:
    customers = {row[0] for row in rows(ledger_file, "SELECT id FROM customers")}
    assert customers == set(SAMPLE_CUSTOMERS) == {"cus_alice", "cus_bob", "cus_hana"}


def test_seeding_creates_at_least_ten_orders_in_usd_eur_and_zero_decimal_jpy(ledger: Ledger) -> None:
    orders = all_orders(ledger)
    assert len(orders) >= 10
    assert {order.currency for order in orders} >= {"USD", "EUR", "JPY"}


def test_seeded_orders_include_paid_pending_void_and_refunded(ledger: Ledger) -> None:
    assert {order.status for order in all_orders(ledger)} >= {"paid", "pending", "void", "refunded"}


def test_seeded_orders_include_a_paid_order_with_billing_ready_to_invoice(ledger: Ledger) -> None:
    assert any(
        order.paid and order.invoice == "none" and order.billing.is_complete() for order in all_orders(ledger)
    )


def test_seeded_orders_include_an_unpaid_order_without_terms(ledger: Ledger) -> None:
    order = ledger.get_order(None, "ord_1004")
    assert (order.status, order.paid, order.invoice) == ("pending", False, "none")
    with pytest.raises(NotPaid):
        generate(ledger, "ord_1004")


def test_seeded_orders_include_a_paid_order_missing_billing_details(ledger: Ledger) -> None:
    assert any(
        order.paid and order.invoice == "none" and not order.billing.is_complete()
        for order in all_orders(ledger)
    )


def test_seeded_orders_include_already_invoiced_ones(ledger: Ledger) -> None:
    invoiced = {order.id for order in all_orders(ledger) if order.invoice == "generated"}
    assert invoiced == SEEDED_INVOICES


def test_seeded_invoices_are_paid_open_partially_paid_and_refunded(ledger: Ledger) -> None:
    assert {invoice.status for invoice in all_invoices(ledger)} == {
        InvoiceStatus.PAID,
        InvoiceStatus.OPEN,
        InvoiceStatus.PARTIALLY_PAID,
        InvoiceStatus.REFUNDED,
    }


def test_seeded_invoice_numbers_are_gapless_and_rise_with_issue_dates(ledger: Ledger) -> None:
    by_date = sorted(all_invoices(ledger), key=lambda invoice: invoice.issued_at or date.min)
    assert [invoice.number for invoice in by_date] == [f"INV-2026-{n:04d}" for n in range(1, 8)]


def test_seeded_numbers_restart_in_the_new_year_when_the_sample_spans_two_years(
    ledger_file: Path | str,
) -> None:
    ledger = Ledger(ledger_file)
    try:
        seed_sample_data(ledger, date(2026, 1, 20))
        by_date = sorted(all_invoices(ledger), key=lambda invoice: invoice.issued_at or date.min)
    finally:
        ledger.close()
    assert [sequence_of(invoice) for invoice in by_date] == [
        (2025, 1),
        (2025, 2),
        (2025, 3),
        (2025, 4),
        (2025, 5),
        (2026, 1),
        (2026, 2),
    ]
    assert all(
        str(invoice.issued_at.year) in (invoice.number or "") for invoice in by_date if invoice.issued_at
    )


def test_seeded_dates_are_relative_to_the_seeding_day(ledger: Ledger) -> None:
    assert ledger.get_order(None, "ord_1001").created_at == TODAY - timedelta(days=80)
    assert ledger.get_invoice(None, "ord_1001").issued_at == TODAY - timedelta(days=76)


# -- pricing ---------------------------------------------------------------------------------------


def test_order_line_is_gross_minus_discount_plus_tax(ledger: Ledger) -> None:
    line = ledger.get_order(None, "ord_2002").lines[0]  # 40 x 92.50, 150.00 off, 19 % VAT
    gross = Decimal(40) * Decimal("92.50")
    discount = Decimal("150.00")
    tax = half_even((gross - discount) * Decimal(19) / 100)
    assert (line.discount, line.tax, line.total) == (discount, tax, gross - discount + tax)
    assert line.total == Decimal("4224.50")


def test_order_totals_are_subtotal_minus_discount_plus_tax_plus_shipping_to_the_cent(ledger: Ledger) -> None:
    order = ledger.get_order(None, "ord_1003")
    # Landing page 1 x 1450.00 at 8.625 % tax; 3 x 19.99 photos untaxed; 12.50 shipping.
    page_gross = Decimal(1) * Decimal("1450.00")
    photos_gross = Decimal(3) * Decimal("19.99")
    page_tax = half_even(page_gross * Decimal("8.625") / 100)  # 125.0625 -> 125.06
    subtotal = page_gross + photos_gross
    total = subtotal - Decimal(0) + page_tax + Decimal("12.50")
    assert (order.subtotal, order.discount, order.tax, order.shipping, order.total) == (
        subtotal,
        Decimal("0.00"),
        page_tax,
        Decimal("12.50"),
        total,
    )
    assert format(order.total, "f") == "1647.53"


def test_invoice_totals_are_subtotal_minus_discount_plus_tax_plus_shipping(ledger: Ledger) -> None:
    invoice = ledger.get_invoice(None, "ord_2002")
    dashboard_gross = Decimal(40) * Decimal("92.50")
    dashboard_tax = half_even((dashboard_gross - Decimal("150.00")) * Decimal(19) / 100)
    travel = Decimal("311.37")
    assert invoice.subtotal == dashboard_gross + travel
    assert invoice.discount == Decimal("150.00")
    assert invoice.tax == dashboard_tax
    assert invoice.total == dashboard_gross + travel - Decimal("150.00") + dashboard_tax
    assert format(invoice.total, "f") == "4535.87"


def test_invoice_line_totals_add_up_to_the_invoice_total_without_shipping(ledger: Ledger) -> None:
    for invoice in all_invoices(ledger):
        assert sum(line.total or 0 for line in invoice.line_items) + (invoice.shipping or 0) == invoice.total


def test_tax_is_rounded_half_even_per_line_not_on_the_total(blank: Ledger) -> None:
    five_percent = Decimal(5)
    add_order(
        blank,
        "ord_tax",
        lines=[
            NewOrderLine("A", Decimal(1), Decimal("0.50"), tax_rate=five_percent),  # 0.025 -> 0.02
            NewOrderLine("B", Decimal(1), Decimal("0.50"), tax_rate=five_percent),  # 0.025 -> 0.02
            NewOrderLine("C", Decimal(1), Decimal("0.90"), tax_rate=five_percent),  # 0.045 -> 0.04
            NewOrderLine("D", Decimal(1), Decimal("0.70"), tax_rate=five_percent),  # 0.035 -> 0.04
        ],
    )
    invoice = generate(blank, "ord_tax")
    assert [line.tax for line in invoice.line_items] == [CENT * 2, CENT * 2, CENT * 4, CENT * 4]
    assert invoice.tax == Decimal("0.12")  # taxing the 2.60 subtotal at once would give 0.13
    assert invoice.total == Decimal("2.72")


def test_fractional_quantities_are_priced_exactly_and_rounded_half_even(blank: Ledger) -> None:
    add_order(blank, "ord_hours", lines=[NewOrderLine("Consulting", Decimal("2.5"), Decimal("0.01"))])
    # 2.5 x 0.01 = 0.025 -> 0.02 half-even (half-up would say 0.03)
    assert generate(blank, "ord_hours").subtotal == Decimal("0.02")


def test_jpy_amounts_have_no_decimals(ledger: Ledger) -> None:
    invoice = ledger.get_invoice(None, "ord_3001").model_dump(mode="json")
    amounts = [
        invoice[key]
        for key in ("subtotal", "discount", "tax", "shipping", "total", "amount_paid", "amount_due")
    ]
    amounts += [
        line[key] for line in invoice["line_items"] for key in ("unit_amount", "discount", "tax", "total")
    ]
    assert all("." not in amount for amount in amounts), amounts
    assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == ("113000", "500", "113500")


def test_jpy_tax_is_rounded_half_even_to_whole_yen(blank: Ledger) -> None:
    ten_percent = Decimal(10)
    add_order(
        blank,
        "ord_yen",
        currency="JPY",
        lines=[
            NewOrderLine("A", Decimal(1), Decimal(5), tax_rate=ten_percent),  # 0.5 -> 0
            NewOrderLine("B", Decimal(1), Decimal(15), tax_rate=ten_percent),  # 1.5 -> 2
        ],
    )
    invoice = generate(blank, "ord_yen")
    assert [format(line.tax, "f") for line in invoice.line_items] == ["0", "2"]
    assert format(invoice.total, "f") == "22"


# -- generation ------------------------------------------------------------------------------------


def test_paid_order_with_billing_gets_a_paid_invoice_with_nothing_due(ledger: Ledger) -> None:
    invoice = generate(ledger, "ord_1003")
    assert invoice.status is InvoiceStatus.PAID
    assert invoice.amount_due == Decimal("0.00")
    assert invoice.amount_paid == invoice.total == Decimal("1647.53")
    assert invoice.paid_at is not None
    assert invoice.issued_at == TODAY


def test_pending_order_with_terms_gets_an_open_invoice_due_after_the_terms(blank: Ledger) -> None:
    add_order(blank, "ord_terms", status="pending", terms=21)
    invoice = generate(blank, "ord_terms")
    assert invoice.status is InvoiceStatus.OPEN
    assert invoice.due_at == TODAY + timedelta(days=21)
    assert invoice.amount_due == invoice.total == Decimal("100.00")
    assert invoice.amount_paid == Decimal("0.00")
    assert invoice.paid_at is None


def test_refunded_order_gets_a_refunded_invoice_with_nothing_due(blank: Ledger) -> None:
    add_order(blank, "ord_refunded", status="refunded")
    invoice = generate(blank, "ord_refunded")
    assert (invoice.status, invoice.amount_due) == (InvoiceStatus.REFUNDED, Decimal("0.00"))


def test_invoice_is_numbered_inv_year_sequence(blank: Ledger) -> None:
    add_order(blank, "ord_1")
    assert generate(blank, "ord_1").number == "INV-2026-0001"


def test_invoice_carries_the_customer_and_the_order_lines(ledger: Ledger) -> None:
    invoice = generate(ledger, "ord_1003")
    assert (invoice.customer.id, invoice.customer.name) == ("cus_alice", "Alice Martin")
    assert [line.description for line in invoice.line_items] == [
        "Landing page build",
        "Stock photography licence",
    ]
    assert invoice.documents.json_uri == "invoice://local/ord_1003"
    assert invoice.documents.pdf_uri == "invoice://local/ord_1003/pdf"


def test_generating_marks_the_order_as_invoiced(ledger: Ledger) -> None:
    generate(ledger, "ord_1003")
    assert ledger.get_order(None, "ord_1003").invoice == "generated"


def test_generating_twice_returns_the_same_invoice(ledger: Ledger) -> None:
    first = generate(ledger, "ord_1003")
    second = generate(ledger, "ord_1003", today=TODAY + timedelta(days=3))
    assert second == first


def test_generating_twice_allocates_no_new_number(ledger: Ledger, ledger_file: Path | str) -> None:
    generate(ledger, "ord_1003")
    before = (sequences(ledger_file), invoice_count(ledger_file))
    generate(ledger, "ord_1003")
    assert (sequences(ledger_file), invoice_count(ledger_file)) == before
    assert generate(ledger, "ord_2003").number == "INV-2026-0009"


def test_unpaid_order_without_terms_is_not_paid(ledger: Ledger) -> None:
    with pytest.raises(NotPaid) as raised:
        generate(ledger, "ord_1004")
    assert raised.value.code == "not_paid" and raised.value.hint


def test_draft_order_is_not_paid(blank: Ledger) -> None:
    add_order(blank, "ord_draft", status="draft", terms=30)
    with pytest.raises(NotPaid):
        generate(blank, "ord_draft")


def test_void_order_is_an_invalid_argument(ledger: Ledger) -> None:
    with pytest.raises(InvalidArgument) as raised:
        generate(ledger, "ord_2004")
    assert "void" in str(raised.value)


def test_order_without_complete_billing_is_missing_billing_details(ledger: Ledger) -> None:
    with pytest.raises(MissingBillingDetails) as raised:
        generate(ledger, "ord_1005")
    assert "billing_address" in (raised.value.hint or "")


def test_billing_given_with_the_call_completes_the_order_and_the_invoice_carries_it(ledger: Ledger) -> None:
    billing = Billing(
        name="Alice Martin Studio", address=Address(line1="9 Pier Road", city="Oakland", country="US")
    )
    invoice = generate(ledger, "ord_1005", billing=billing)
    assert invoice.billing == billing
    assert ledger.get_order(None, "ord_1005").billing == billing


def test_billing_address_given_with_the_call_replaces_the_whole_address(blank: Ledger) -> None:
    add_order(blank, "ord_moved")  # billed to 1 Test Street, Floor 2, 12345 Testville, TS, US
    moved = Address(line1="10 Downing Street", country="GB")
    invoice = generate(blank, "ord_moved", billing=Billing(address=moved))
    assert invoice.billing == Billing(name=BILLING.name, address=moved)


def test_billing_name_given_alone_keeps_the_orders_address(blank: Ledger) -> None:
    add_order(blank, "ord_renamed")
    invoice = generate(blank, "ord_renamed", billing=Billing(name="Renamed Ltd"))
    assert invoice.billing == Billing(name="Renamed Ltd", address=BILLING.address)


def test_incomplete_billing_given_with_the_call_is_still_missing_billing_details(ledger: Ledger) -> None:
    with pytest.raises(MissingBillingDetails):
        generate(ledger, "ord_1005", billing=Billing(address=Address(city="Oakland")))


@pytest.mark.parametrize(
    ("order_id", "billing", "error"),
    [
        ("ord_1004", None, NotPaid),
        ("ord_2004", None, InvalidArgument),
        ("ord_1005", None, MissingBillingDetails),
        ("ord_1005", Billing(name="Only A Name"), MissingBillingDetails),
    ],
)
def test_refused_generation_allocates_no_number_and_saves_nothing(
    ledger: Ledger, ledger_file: Path | str, order_id: str, billing: Billing | None, error: type[InvoiceError]
) -> None:
    order_before = ledger.get_order(None, order_id)
    before = (sequences(ledger_file), invoice_count(ledger_file))
    with pytest.raises(error):
        generate(ledger, order_id, billing=billing)
    assert (sequences(ledger_file), invoice_count(ledger_file)) == before
    assert ledger.get_order(None, order_id) == order_before
    assert generate(ledger, "ord_1003").number == "INV-2026-0008"


def test_invoice_numbers_are_gapless_within_a_year(blank: Ledger) -> None:
    for n in range(1, 6):
        add_order(blank, f"ord_{n}")
    numbers = [generate(blank, f"ord_{n}", today=date(2026, 3, n)).number for n in range(1, 6)]
    assert numbers == [f"INV-2026-{n:04d}" for n in range(1, 6)]


def test_invoice_numbers_restart_at_0001_in_a_new_year(blank: Ledger) -> None:
    for n in range(1, 6):
        add_order(blank, f"ord_{n}")
    issued = [date(2026, 12, 30), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 2), date(2028, 2, 29)]
    numbers = [generate(blank, f"ord_{n}", today=day).number for n, day in enumerate(issued, start=1)]
    assert numbers == ["INV-2026-0001", "INV-2026-0002", "INV-2027-0001", "INV-2027-0002", "INV-2028-0001"]


def test_an_invoice_is_numbered_in_the_year_it_is_issued(blank: Ledger) -> None:
    add_order(blank, "ord_1", created_at=date(2026, 12, 28))
    invoice = generate(blank, "ord_1", today=date(2027, 1, 3))
    assert (invoice.number, invoice.issued_at) == ("INV-2027-0001", date(2027, 1, 3))


# -- concurrency -----------------------------------------------------------------------------------


def run_together(calls: list[Callable[[], Invoice]]) -> list[Invoice]:
    """Run the calls in threads that all start at the same barrier."""
    barrier = threading.Barrier(len(calls))

    def at_barrier(call: Callable[[], Invoice]) -> Invoice:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(at_barrier, calls))


def test_two_ledgers_on_one_file_generating_one_order_at_once_issue_one_invoice(
    ledger: Ledger, ledger_file: Path | str
) -> None:
    other = Ledger(ledger_file)
    try:
        first, second = run_together(
            [
                lambda: generate(ledger, "ord_1003"),
                lambda: generate(other, "ord_1003"),
            ]
        )
    finally:
        other.close()
    assert first.number == second.number == "INV-2026-0008"
    assert first == second
    assert invoice_count(ledger_file) == len(SEEDED_INVOICES) + 1
    assert sequences(ledger_file) == {2026: 8}


def test_many_threads_generating_one_order_issue_one_invoice(blank: Ledger, ledger_file: Path | str) -> None:
    add_order(blank, "ord_1")
    invoices = run_together([lambda: generate(blank, "ord_1")] * 8)
    assert {invoice.number for invoice in invoices} == {"INV-2026-0001"}
    assert sequences(ledger_file) == {2026: 1}


def test_concurrent_generation_for_n_orders_gives_n_consecutive_numbers(
    blank: Ledger, ledger_file: Path | str
) -> None:
    n = 12
    for i in range(n):
        add_order(blank, f"ord_{i}")
    ledgers = [Ledger(ledger_file) for _ in range(3)]
    try:
        invoices = run_together([(lambda i=i: generate(ledgers[i % 3], f"ord_{i}")) for i in range(n)])
    finally:
        for other in ledgers:
            other.close()
    assert sorted(invoice.number or "" for invoice in invoices) == [
        f"INV-2026-{i:04d}" for i in range(1, n + 1)
    ]
    assert len({invoice.id for invoice in invoices}) == n


# -- immutability ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "assignment",
    [
        "total_minor = total_minor + 1",
        "subtotal_minor = 0",
        "tax_minor = 0",
        "discount_minor = 1",
        "shipping_minor = 1",
        "number = 'INV-2026-9999'",
        "sequence = 9999",
        "issued_at = '2020-01-01'",
        "due_at = '2099-01-01'",
        "currency = 'EUR'",
        "customer_id = 'cus_bob'",
        "billing_json = '{}'",
        "customer_json = '{}'",
        "lines_json = '[]'",
    ],
)
def test_updating_an_issued_invoice_is_refused(
    ledger: Ledger, ledger_file: Path | str, assignment: str
) -> None:
    before = ledger.get_invoice(None, "ord_1001")
    with pytest.raises(DBAPIError, match="immutable"):
        rows(ledger_file, f"UPDATE invoices SET {assignment} WHERE order_id = 'ord_1001'")
    assert ledger.get_invoice(None, "ord_1001") == before


def test_deleting_an_issued_invoice_is_refused(ledger: Ledger, ledger_file: Path | str) -> None:
    with pytest.raises(DBAPIError, match="cannot be deleted"):
        rows(ledger_file, "DELETE FROM invoices WHERE order_id = 'ord_1001'")
    assert invoice_count(ledger_file) == len(SEEDED_INVOICES)


def test_emptying_the_invoices_table_at_once_is_refused(
    ledger: Ledger, ledger_file: Path | str, on_postgres: bool
) -> None:
    # SQLite's DELETE without WHERE, PostgreSQL's TRUNCATE: neither fires row triggers by default.
    with pytest.raises(DBAPIError, match="cannot be deleted"):
        rows(ledger_file, "TRUNCATE invoices" if on_postgres else "DELETE FROM invoices")
    assert invoice_count(ledger_file) == len(SEEDED_INVOICES)


def test_replacing_an_issued_invoice_by_insert_or_replace_is_refused(
    ledger: Ledger, ledger_file: Path | str, on_postgres: bool
) -> None:
    before = ledger.get_invoice(None, "ord_1001")
    row = dict(rows(ledger_file, "SELECT * FROM invoices WHERE order_id = 'ord_1001'")[0]._mapping)
    row["total_minor"] = 1
    columns = ", ".join(row)
    values = ", ".join(f":{column}" for column in row)
    # SQLite's INSERT OR REPLACE deletes the old row silently; PostgreSQL's upsert is an update.
    replace = (
        f"INSERT INTO invoices ({columns}) VALUES ({values}) "
        "ON CONFLICT (order_id) DO UPDATE SET total_minor = excluded.total_minor"
        if on_postgres
        else f"INSERT OR REPLACE INTO invoices ({columns}) VALUES ({values})"
    )
    with pytest.raises(DBAPIError, match="immutable"):
        rows(ledger_file, replace, row)
    assert ledger.get_invoice(None, "ord_1001") == before


def test_recording_payments_moves_an_open_invoice_to_partially_paid_then_paid(blank: Ledger) -> None:
    add_order(blank, "ord_terms", status="pending", terms=30)
    invoice = generate(blank, "ord_terms")
    assert invoice.status is InvoiceStatus.OPEN

    partly = blank.record_payment("ord_terms", Decimal("40.00"), datetime(2026, 6, 20, tzinfo=UTC))
    assert (partly.status, partly.amount_paid, partly.amount_due) == (
        InvoiceStatus.PARTIALLY_PAID,
        Decimal("40.00"),
        Decimal("60.00"),
    )
    assert partly.paid_at is None

    paid_at = datetime(2026, 6, 25, tzinfo=UTC)
    paid = blank.record_payment("ord_terms", Decimal("60.00"), paid_at)
    assert (paid.status, paid.amount_paid, paid.amount_due, paid.paid_at) == (
        InvoiceStatus.PAID,
        Decimal("100.00"),
        Decimal("0.00"),
        paid_at,
    )
    assert paid.number == invoice.number and paid.total == invoice.total
    assert blank.get_order(None, "ord_terms").paid


# -- scoping ---------------------------------------------------------------------------------------

MISSING = "ord_9999"

SCOPED_READS: dict[str, tuple[str, Callable[[Ledger, str, str], object]]] = {
    # name: (an object of cus_bob's, how cus_alice reaches for it)
    "get_invoice": ("ord_2001", lambda ledger, scope, object_id: ledger.get_invoice(scope, object_id)),
    "get_order": ("ord_2003", lambda ledger, scope, object_id: ledger.get_order(scope, object_id)),
    "generate_uninvoiced": (
        "ord_2003",
        lambda ledger, scope, object_id: generate(ledger, object_id, customer_id=scope),
    ),
    "generate_invoiced": (
        "ord_2001",
        lambda ledger, scope, object_id: generate(ledger, object_id, customer_id=scope),
    ),
    "generate_void": (
        "ord_2004",
        lambda ledger, scope, object_id: generate(ledger, object_id, customer_id=scope),
    ),
}


def not_found_of(call: Callable[[], object]) -> NotFound:
    with pytest.raises(NotFound) as raised:
        call()
    return raised.value


@pytest.mark.parametrize("operation", list(SCOPED_READS))
def test_another_customers_object_is_the_same_not_found_as_a_missing_one(
    ledger: Ledger, operation: str
) -> None:
    others, reach = SCOPED_READS[operation]
    other = not_found_of(lambda: reach(ledger, "cus_alice", others))
    missing = not_found_of(lambda: reach(ledger, "cus_alice", MISSING))
    assert type(other) is type(missing)
    assert other.code == missing.code == "not_found"
    assert str(other).replace(others, "<id>") == str(missing).replace(MISSING, "<id>")
    assert other.hint == missing.hint and other.hint


def test_generating_another_customers_order_changes_nothing(ledger: Ledger, ledger_file: Path | str) -> None:
    before = (ledger.get_order(None, "ord_2003"), sequences(ledger_file), invoice_count(ledger_file))
    with pytest.raises(NotFound):
        generate(
            ledger,
            "ord_2003",
            customer_id="cus_alice",
            billing=Billing(name="Mallory", address=Address(line1="1 Evil Way", country="US")),
        )
    assert (ledger.get_order(None, "ord_2003"), sequences(ledger_file), invoice_count(ledger_file)) == before


def test_a_customer_reads_their_own_invoice_and_order(ledger: Ledger) -> None:
    assert ledger.get_invoice("cus_bob", "ord_2001").customer.id == "cus_bob"
    assert ledger.get_order("cus_bob", "ord_2003").id == "ord_2003"


@pytest.mark.parametrize("customer_id", SAMPLE_CUSTOMERS)
def test_list_invoices_under_a_scope_returns_only_that_customers_invoices(
    ledger: Ledger, customer_id: str
) -> None:
    invoices = all_invoices(ledger, customer_id)
    expected = {invoice.id for invoice in all_invoices(ledger) if invoice.customer.id == customer_id}
    assert invoices and {invoice.id for invoice in invoices} == expected
    assert all(invoice.customer.id == customer_id for invoice in invoices)


@pytest.mark.parametrize("customer_id", SAMPLE_CUSTOMERS)
def test_list_orders_under_a_scope_returns_only_that_customers_orders(
    ledger: Ledger, customer_id: str
) -> None:
    prefix = {"cus_alice": "ord_1", "cus_bob": "ord_2", "cus_hana": "ord_3"}[customer_id]
    orders = all_orders(ledger, customer_id)
    assert orders and all(order.id.startswith(prefix) for order in orders)
    assert {order.id for order in orders} == {
        order.id for order in all_orders(ledger) if order.id.startswith(prefix)
    }


def test_the_owner_sees_every_customers_invoices_and_orders(ledger: Ledger) -> None:
    assert {invoice.id for invoice in all_invoices(ledger)} == SEEDED_INVOICES
    assert {invoice.customer.id for invoice in all_invoices(ledger)} == set(SAMPLE_CUSTOMERS)
    assert len(all_orders(ledger)) == sum(len(all_orders(ledger, customer)) for customer in SAMPLE_CUSTOMERS)


def test_an_unknown_customer_scope_sees_nothing(ledger: Ledger) -> None:
    assert all_invoices(ledger, "cus_nobody") == []
    assert all_orders(ledger, "cus_nobody") == []


# -- pagination ------------------------------------------------------------------------------------


def recent_first_invoices(invoices: list[Invoice]) -> list[str]:
    return [
        i.id for i in sorted(invoices, key=lambda i: (i.issued_at or date.min, i.number or ""), reverse=True)
    ]


@pytest.mark.parametrize("limit", [1, 2])
def test_invoice_cursor_walks_every_invoice_once_most_recent_first(ledger: Ledger, limit: int) -> None:
    for order_id in ("ord_1003", "ord_2003", "ord_3003"):  # three issued the same day: ties on the date
        generate(ledger, order_id)
    walked = walk_invoices(ledger, None, InvoiceFilter(), limit)
    assert [invoice.id for invoice in walked] == recent_first_invoices(all_invoices(ledger))
    assert len(walked) == len(SEEDED_INVOICES) + 3
    issued = [invoice.issued_at for invoice in walked]
    assert issued == sorted(issued, reverse=True)  # type: ignore[type-var]


@pytest.mark.parametrize("limit", [1, 2])
def test_order_cursor_walks_every_order_once_most_recent_first(ledger: Ledger, limit: int) -> None:
    walked = walk_orders(ledger, None, limit)
    expected = sorted(all_orders(ledger), key=lambda order: (order.created_at, order.id), reverse=True)
    assert [order.id for order in walked] == [order.id for order in expected]
    assert len(walked) == 13  # includes ord_1005 and ord_3002, created the same day


@pytest.mark.parametrize("limit", [1, 2])
def test_order_cursor_stays_within_the_scope(ledger: Ledger, limit: int) -> None:
    walked = walk_orders(ledger, "cus_hana", limit)
    assert [order.id for order in walked] == ["ord_3003", "ord_3002", "ord_3001", "ord_3004"]


@pytest.mark.parametrize("limit", [1, 2])
def test_invoice_cursor_stays_within_the_scope(ledger: Ledger, limit: int) -> None:
    walked = walk_invoices(ledger, "cus_alice", InvoiceFilter(), limit)
    assert [invoice.id for invoice in walked] == ["ord_1002", "ord_1001"]


@pytest.mark.parametrize("limit", [1, 2])
def test_status_filter_combines_with_pagination(ledger: Ledger, limit: int) -> None:
    for order_id in ("ord_1003", "ord_2003", "ord_3003"):
        generate(ledger, order_id)
    query = InvoiceFilter(status=InvoiceStatus.PAID)
    walked = walk_invoices(ledger, None, query, limit)
    expected = recent_first_invoices([i for i in all_invoices(ledger) if i.status is InvoiceStatus.PAID])
    assert [invoice.id for invoice in walked] == expected
    assert set(expected) == {"ord_1001", "ord_2001", "ord_3001", "ord_1003", "ord_2003", "ord_3003"}


@pytest.mark.parametrize("limit", [1, 2])
def test_issue_date_filters_combine_with_pagination(ledger: Ledger, limit: int) -> None:
    after, before = TODAY - timedelta(days=76), TODAY - timedelta(days=10)  # both bounds inclusive
    walked = walk_invoices(ledger, None, InvoiceFilter(issued_after=after, issued_before=before), limit)
    assert [invoice.id for invoice in walked] == ["ord_3001", "ord_3004", "ord_1002", "ord_1001"]


@pytest.mark.parametrize("limit", [1, 2])
def test_all_filters_and_scope_combine_with_pagination(ledger: Ledger, limit: int) -> None:
    query = InvoiceFilter(
        status=InvoiceStatus.PAID, issued_after=TODAY - timedelta(days=200), issued_before=TODAY
    )
    walked = walk_invoices(ledger, "cus_bob", query, limit)
    assert [invoice.id for invoice in walked] == ["ord_2001"]


def test_the_last_page_has_no_cursor(ledger: Ledger) -> None:
    page = ledger.list_invoices(None, InvoiceFilter(), limit=len(SEEDED_INVOICES), cursor=None)
    assert len(page.items) == len(SEEDED_INVOICES) and page.next_cursor is None
    page = ledger.list_orders(None, limit=13, cursor=None)
    assert len(page.items) == 13 and page.next_cursor is None


def test_a_page_short_of_the_end_has_a_cursor(ledger: Ledger) -> None:
    assert ledger.list_invoices(
        None, InvoiceFilter(), limit=len(SEEDED_INVOICES) - 1, cursor=None
    ).next_cursor
    assert ledger.list_orders(None, limit=12, cursor=None).next_cursor


# -- numbers and due dates -------------------------------------------------------------------------


def test_an_invoice_is_found_by_its_number_in_any_case(ledger: Ledger) -> None:
    number = ledger.get_invoice("cus_alice", "ord_1001").number
    assert number is not None
    for quoted in (number, number.lower(), f"  {number.title()} "):
        assert ledger.find_invoice("cus_alice", quoted).id == "ord_1001"
    assert ledger.find_invoice("cus_alice", "ord_1001").number == number  # ids still work


def test_another_customers_number_is_the_same_not_found_as_a_missing_number(ledger: Ledger) -> None:
    their_number = ledger.get_invoice("cus_bob", "ord_2001").number
    assert their_number is not None
    with pytest.raises(NotFound) as theirs:
        ledger.find_invoice("cus_alice", their_number.lower())
    with pytest.raises(NotFound) as missing:
        ledger.find_invoice("cus_alice", "inv-1999-0001")
    assert str(theirs.value).replace(their_number.lower(), "X") == str(missing.value).replace(
        "inv-1999-0001", "X"
    )
    assert ledger.find_invoice(None, their_number.lower()).id == "ord_2001"  # the owner sees every number


def test_a_number_lookup_is_an_index_search_never_a_table_scan(
    ledger: Ledger, ledger_file: Path | str
) -> None:
    if not isinstance(ledger_file, Path):
        pytest.skip("the plan is read with SQLite's EXPLAIN QUERY PLAN")
    lookup = "SELECT * FROM invoices WHERE (order_id = 'x' OR upper(number) = upper('x'))"

    def plan(sql: str) -> str:
        return " ".join(str(row[-1]) for row in rows(ledger_file, f"EXPLAIN QUERY PLAN {sql}"))

    assert "USING INDEX invoices_by_number" in plan(lookup)  # the owner's lookup: by the number index
    scoped = plan(f"{lookup} AND customer_id = 'cus_alice'")  # a customer's: the planner may start there
    assert "SEARCH invoices USING" in scoped and "SCAN invoices" not in scoped


def overdue_filters(as_of: date) -> list[InvoiceFilter]:
    return [
        InvoiceFilter(overdue=True, as_of=as_of),
        InvoiceFilter(overdue=False, as_of=as_of),
        InvoiceFilter(due_after=as_of - timedelta(days=40)),
        InvoiceFilter(due_before=as_of + timedelta(days=10)),
        InvoiceFilter(
            overdue=True, as_of=as_of, due_after=as_of - timedelta(days=60), status=InvoiceStatus.OPEN
        ),
    ]


@pytest.mark.parametrize("limit", [1, 3])
def test_due_date_and_overdue_filters_select_what_the_domain_rule_selects_page_after_page(
    ledger: Ledger, limit: int
) -> None:
    every = all_invoices(ledger)
    for as_of in (TODAY, TODAY + timedelta(days=45), TODAY + timedelta(days=200)):
        for query in overdue_filters(as_of):
            walked = walk_invoices(ledger, None, query, limit)
            assert [invoice.id for invoice in walked] == [
                invoice.id for invoice in every if query.matches(invoice)
            ]


def test_overdue_finds_the_unpaid_invoice_past_its_due_date(ledger: Ledger) -> None:
    overdue = all_invoices(ledger)
    late = [invoice for invoice in overdue if invoice.is_overdue(TODAY + timedelta(days=45))]
    assert late, "the sample ledger has an invoice that falls overdue"
    listed = ledger.list_invoices(
        None, InvoiceFilter(overdue=True, as_of=TODAY + timedelta(days=45)), limit=100, cursor=None
    )
    assert {invoice.id for invoice in listed.items} == {invoice.id for invoice in late}


@pytest.mark.parametrize(
    ("reference", "found"),
    [
        ("inv-2026-0001", True),  # ASCII letters in any case
        ("  Inv-2026-0001 ", True),
        ("ınv-2026-0001", False),  # dotless ı: PostgreSQL's upper() made it I, SQLite's did not
        ("İNV-2026-0001", False),  # dotted İ
        ("ﬁnv-2026-0001", False),  # a ligature PostgreSQL may expand
    ],
)
def test_invoice_numbers_fold_ascii_letters_only_on_every_database(
    ledger: Ledger, reference: str, found: bool
) -> None:
    from mcp_invoices.domain.errors import NotFound

    owner = next(invoice for invoice in all_invoices(ledger) if invoice.number == "INV-2026-0001").customer.id
    if found:
        assert ledger.find_invoice(owner, reference).number == "INV-2026-0001"
    else:
        with pytest.raises(NotFound):
            ledger.find_invoice(owner, reference)
