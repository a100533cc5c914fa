"""Payabli's emulator: its seeded data (sandbox-only and obviously fake) and the records it is made of.

Read by ``providers.payabli.emulator``; the sources cited here are that module's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

__all__ = [
    "PAYABLI_API_TOKEN",
    "PAYABLI_CUSTOMER_IDS",
    "PAYABLI_ENTRY",
    "PAYABLI_INVOICE_IDS",
    "PAYABLI_PARENT_ORG_ID",
    "PAYABLI_PAYPOINT_ID",
    "PEOPLE",
    "PayabliInvoice",
    "PayabliItem",
    "extra_invoices",
    "seed_invoices",
]

PAYABLI_API_TOKEN = "payabli_sandbox_token"
"""The organisation-wide ``requestToken``."""

PAYABLI_ENTRY = "sandbox-entry"
"""The paypoint entry name used in ``/Query/invoices/{entry}``."""

PAYABLI_PAYPOINT_ID = 1147

PAYABLI_PARENT_ORG_ID = 230

PAYABLI_CUSTOMER_IDS: dict[str, int] = {"alice": 1001, "bob": 1002, "carol": 1003}
"""Payabli customer ids by sandbox name. Carol (1003) has no invoices."""

PAYABLI_INVOICE_IDS: dict[str, int] = {
    "alice_paid": 23548801,
    "alice_open_float_trap": 23548802,
    "alice_partially_paid": 23548803,
    "alice_draft": 23548804,
    "alice_cancelled": 23548805,
    "alice_open_overdue": 23548806,
    "bob_paid": 23548851,
    "bob_open": 23548852,
    "bob_partially_paid": 23548853,
    "bob_cancelled": 23548854,
}
"""Seeded invoice ids by role. Alice: paid 110.00 (tax 8.875% item), open 0.3 (items 0.1 + 0.2),
partially paid 1234.56 (paid 234.56), draft 59.97 (3 x 19.99), cancelled 49, open 250.00 due
2026-01-31 (overdue). Bob: paid 75.5, open 19.99, partially paid 300 (paid 100), cancelled 12.5."""

PEOPLE = {
    "alice": (
        "Alice",
        "Anders",
        "Anders Studio",
        "1 Sandbox Street",
        "Austin",
        "TX",
        "78701",
        "512-555-0101",
    ),
    "bob": (
        "Bob",
        "Brown",
        "Brown & Co",
        "22 Example Avenue",
        "San Francisco",
        "CA",
        "94103",
        "415-555-0102",
    ),
    "carol": ("Carol", "Chen", "", "3 Test Lane", "Denver", "CO", "80202", "303-555-0103"),
}


@dataclass
class PayabliItem:
    name: str
    cost: Decimal
    qty: int = 1
    tax_rate: Decimal = Decimal(0)
    tax_amount: Decimal = Decimal(0)
    description: str = ""
    product_code: str = ""

    @property
    def total(self) -> Decimal:
        return self.cost * self.qty


@dataclass
class PayabliInvoice:
    id: int
    customer: str
    number: str
    status: int
    invoice_date: str
    due_date: str | None
    items: list[PayabliItem]
    amount: Decimal
    """``invoiceAmount`` as Payabli states it (items + tax + freight + duty - discount)."""
    paid_amount: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    discount: Decimal = Decimal(0)
    freight: Decimal = Decimal(0)
    notes: str | None = None
    sent_at: str | None = None
    last_payment_at: str | None = None
    created_at: str = ""


def _d(value: str) -> Decimal:
    return Decimal(value)


def seed_invoices() -> list[PayabliInvoice]:
    ids = PAYABLI_INVOICE_IDS
    return [
        PayabliInvoice(
            ids["alice_paid"],
            "alice",
            "INV-1001-0001",
            4,
            "2026-01-05",
            "2026-02-04",
            [PayabliItem("Pro plan", _d("101.12"), 1, _d("8.875"), _d("8.88"), "Monthly plan", "PRO")],
            _d("110.00"),
            _d("110.00"),
            tax=_d("8.88"),
            sent_at="2026-01-05T10:00:00Z",
            last_payment_at="2026-01-10T16:20:00Z",
            created_at="2026-01-05T09:59:00Z",
        ),
        PayabliInvoice(
            ids["alice_open_float_trap"],
            "alice",
            "INV-1001-0002",
            1,
            "2026-02-05",
            "2030-03-07",
            [PayabliItem("Sticker", _d("0.1")), PayabliItem("Badge", _d("0.2"))],
            _d("0.3"),
            notes="Tiny amounts on purpose.",
            sent_at="2026-02-05T10:00:00Z",
            created_at="2026-02-05T09:59:00Z",
        ),
        PayabliInvoice(
            ids["alice_partially_paid"],
            "alice",
            "INV-1001-0003",
            2,
            "2026-03-05",
            "2030-04-04",
            [PayabliItem("Standing desk", _d("1234.56"))],
            _d("1234.56"),
            _d("234.56"),
            sent_at="2026-03-05T10:00:00Z",
            last_payment_at="2026-03-20T12:00:00Z",
            created_at="2026-03-05T09:59:00Z",
        ),
        PayabliInvoice(
            ids["alice_draft"],
            "alice",
            "INV-1001-0004",
            0,
            "2026-04-05",
            None,
            [PayabliItem("Hoodie", _d("19.99"), 3)],
            _d("59.97"),
            created_at="2026-04-05T09:59:00Z",
        ),
        PayabliInvoice(
            ids["alice_cancelled"],
            "alice",
            "INV-1001-0005",
            99,
            "2026-04-15",
            "2026-05-15",
            [PayabliItem("Cancelled booking", _d("49"))],
            _d("49"),
            sent_at="2026-04-15T10:00:00Z",
            created_at="2026-04-15T09:59:00Z",
        ),
        PayabliInvoice(
            ids["alice_open_overdue"],
            "alice",
            "INV-1001-0006",
            1,
            "2026-01-01",
            "2026-01-31",
            [PayabliItem("Consulting", _d("125.00"), 2)],
            _d("250.00"),
            sent_at="2026-01-01T10:00:00Z",
            created_at="2026-01-01T09:59:00Z",
        ),
        PayabliInvoice(
            ids["bob_paid"],
            "bob",
            "INV-1002-0001",
            4,
            "2026-01-12",
            "2026-02-11",
            [PayabliItem("Mug", _d("35.25"), 2)],
            _d("75.5"),
            _d("75.5"),
            freight=_d("5"),
            sent_at="2026-01-12T10:00:00Z",
            last_payment_at="2026-01-13T08:00:00Z",
            created_at="2026-01-12T09:59:00Z",
        ),
        PayabliInvoice(
            ids["bob_open"],
            "bob",
            "INV-1002-0002",
            1,
            "2026-02-12",
            "2030-03-14",
            [PayabliItem("Phone case", _d("19.99"))],
            _d("19.99"),
            sent_at="2026-02-12T10:00:00Z",
            created_at="2026-02-12T09:59:00Z",
        ),
        PayabliInvoice(
            ids["bob_partially_paid"],
            "bob",
            "INV-1002-0003",
            2,
            "2026-03-12",
            "2026-04-11",
            [PayabliItem("Workshop", _d("300"))],
            _d("300"),
            _d("100"),
            sent_at="2026-03-12T10:00:00Z",
            last_payment_at="2026-03-15T09:00:00Z",
            created_at="2026-03-12T09:59:00Z",
        ),
        PayabliInvoice(
            ids["bob_cancelled"],
            "bob",
            "INV-1002-0004",
            99,
            "2026-04-12",
            "2026-05-12",
            [PayabliItem("Tea", _d("12.5"))],
            _d("12.5"),
            created_at="2026-04-12T09:59:00Z",
        ),
    ]


def extra_invoices(customer: str, count: int, first_id: int) -> list[PayabliInvoice]:
    """Deterministic bulk invoices (benchmarks): one a day back from 2025-12-31, statuses cycled."""
    statuses = (4, 4, 1, 2, 0, 99)
    end = date(2025, 12, 31)
    invoices = []
    for n in range(count):
        day = end - timedelta(days=n % 3650)
        cost = Decimal(f"{10 + n % 90}.{n % 100:02d}")
        status = statuses[n % len(statuses)]
        paid = cost if status == 4 else (cost / 2).quantize(Decimal("0.01")) if status == 2 else Decimal(0)
        invoices.append(
            PayabliInvoice(
                first_id + n,
                customer,
                f"INV-BULK-{n:05d}",
                status,
                day.isoformat(),
                (day + timedelta(days=30)).isoformat(),
                [PayabliItem(f"Bulk item {n}", cost)],
                cost,
                paid,
                created_at=f"{day.isoformat()}T09:00:00Z",
            )
        )
    return invoices
