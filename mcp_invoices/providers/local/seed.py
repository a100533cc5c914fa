"""Sample data for a new ledger, so that a new user sees something at once.

Dates are relative to the day of seeding, so the sample always has invoices that are paid,
current, overdue and long overdue. Three customers, thirteen orders in every state the tools
distinguish, in USD, EUR and JPY (zero-decimal).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from mcp_invoices.domain.models import Address, Billing
from mcp_invoices.providers.local.ledger import Ledger
from mcp_invoices.providers.local.records import NewOrder, NewOrderLine, SellerProfile

__all__ = ["SAMPLE_CUSTOMERS", "seed_sample_data"]

SAMPLE_CUSTOMERS = ("cus_alice", "cus_bob", "cus_hana")
"""Customer ids of the sample ledger (``MCP_INVOICES_CUSTOMER=cus_alice`` scopes a session to Alice)."""

SELLER = SellerProfile(
    name="Northwind Studio Ltd",
    address_lines=("12 Harbour Street", "Bristol BS1 4DJ", "United Kingdom"),
    email="billing@northwind.example",
    tax_id="GB 123 4567 89",
)

_ALICE = Billing(
    name="Alice Martin",
    address=Address(
        line1="221 Baker Avenue",
        line2="Suite 4",
        postal_code="94107",
        city="San Francisco",
        state="CA",
        country="US",
    ),
)
_BOB = Billing(
    name="Okafor Consulting GmbH",
    address=Address(line1="Torstraße 109", postal_code="10119", city="Berlin", country="DE"),
)
_HANA = Billing(
    name="Sato Design KK",
    address=Address(
        line1="1-2-3 Jingumae", postal_code="150-0001", city="Shibuya-ku", state="Tokyo", country="JP"
    ),
)


def _line(
    description: str, quantity: str, unit: str, *, discount: str = "0", tax_rate: str = "0"
) -> NewOrderLine:
    return NewOrderLine(
        description=description,
        quantity=Decimal(quantity),
        unit_amount=Decimal(unit),
        discount=Decimal(discount),
        tax_rate=Decimal(tax_rate),
    )


def _at(day: date) -> datetime:
    return datetime.combine(day, time(10, 30), tzinfo=UTC)


_SampleOrder = tuple[NewOrder, int | None, Decimal | None]
"""(order, issue the invoice this many days ago or None, then record this payment)."""


def _sample_orders(ago: Callable[[int], date]) -> list[_SampleOrder]:
    # fmt: off
    return [
        (NewOrder("ord_1001", "cus_alice", ago(80), "USD", "paid", [
            _line("Website redesign - discovery workshop", "1", "1200.00"),
            _line("Design system components", "12", "85.50", discount="42.75"),
        ], paid_at=_at(ago(76)), shipping=Decimal(0), billing=_ALICE), 76, None),
        (NewOrder("ord_1002", "cus_alice", ago(52), "USD", "pending", [
            _line("Monthly retainer - support hours", "10", "95.00"),
            _line("Hosting (annual)", "1", "240.00", tax_rate="8.625"),
        ], payment_terms_days=30, billing=_ALICE), 50, None),
        (NewOrder("ord_1003", "cus_alice", ago(3), "USD", "paid", [
            _line("Landing page build", "1", "1450.00", tax_rate="8.625"),
            _line("Stock photography licence", "3", "19.99"),
        ], paid_at=_at(ago(2)), shipping=Decimal("12.50"), billing=_ALICE), None, None),
        (NewOrder("ord_1004", "cus_alice", ago(1), "USD", "pending", [
            _line("Brand guidelines booklet (print)", "25", "14.40"),
        ], shipping=Decimal("18.00"), billing=_ALICE), None, None),
        (NewOrder("ord_1005", "cus_alice", ago(6), "USD", "paid", [
            _line("Logo animation", "1", "380.00"),
        ], paid_at=_at(ago(6)), billing=Billing(name="Alice Martin")), None, None),
        (NewOrder("ord_2001", "cus_bob", ago(130), "EUR", "paid", [
            _line("Data pipeline audit", "3", "1100.00", tax_rate="19"),
        ], paid_at=_at(ago(121)), billing=_BOB), 125, None),
        (NewOrder("ord_2002", "cus_bob", ago(112), "EUR", "pending", [
            _line("Dashboard implementation", "40", "92.50", discount="150.00", tax_rate="19"),
            _line("Travel expenses", "1", "311.37"),
        ], payment_terms_days=14, billing=_BOB), 110, Decimal("1500.00")),
        (NewOrder("ord_2003", "cus_bob", ago(4), "EUR", "paid", [
            _line("Quarterly maintenance", "1", "899.00", tax_rate="19"),
        ], paid_at=_at(ago(4)), billing=_BOB), None, None),
        (NewOrder("ord_2004", "cus_bob", ago(20), "EUR", "void", [
            _line("Cancelled workshop", "1", "600.00"),
        ], billing=_BOB), None, None),
        (NewOrder("ord_3001", "cus_hana", ago(12), "JPY", "paid", [
            _line("Illustration set", "6", "18000"),
            _line("Rush fee", "1", "5000", tax_rate="10"),
        ], paid_at=_at(ago(11)), billing=_HANA), 10, None),
        (NewOrder("ord_3002", "cus_hana", ago(6), "JPY", "pending", [
            _line("Packaging design", "1", "240000", discount="12000", tax_rate="10"),
        ], payment_terms_days=30, billing=_HANA), 5, None),
        (NewOrder("ord_3003", "cus_hana", ago(2), "JPY", "paid", [
            _line("Poster print run", "150", "320", tax_rate="10"),
        ], paid_at=_at(ago(2)), shipping=Decimal(1500), billing=_HANA), None, None),
        (NewOrder("ord_3004", "cus_hana", ago(40), "JPY", "refunded", [
            _line("Photo retouching (refunded)", "20", "1500"),
        ], paid_at=_at(ago(39)), billing=_HANA), 38, None),
    ]
    # fmt: on


def seed_sample_data(ledger: Ledger, today: date | None = None) -> None:
    """Fill an empty ledger with the sample customers, orders and invoices."""
    start = today or datetime.now(UTC).date()

    def ago(days: int) -> date:
        return start - timedelta(days=days)

    ledger.set_seller(SELLER)
    ledger.add_customer("cus_alice", "Alice Martin", "alice@example.com", ago(400))
    ledger.add_customer("cus_bob", "Bob Okafor", "bob@okafor.example", ago(300))
    ledger.add_customer("cus_hana", "Hana Sato", "hana@sato-design.example", ago(200))
    orders = _sample_orders(ago)
    for order, _, _ in orders:
        ledger.add_order(order)
    # Issue in date order so that numbers rise with dates, as a real ledger's would.
    for order, issued_days_ago, payment in sorted(
        (entry for entry in orders if entry[1] is not None), key=lambda entry: -(entry[1] or 0)
    ):
        assert issued_days_ago is not None
        ledger.generate_invoice(None, order.id, billing=None, today=ago(issued_days_ago))
        if payment is not None:
            ledger.record_payment(order.id, payment, _at(ago(issued_days_ago - 20)))
