"""Afternoon's emulator: its seeded data (sandbox-only and obviously fake) and the records it is made of.

Read by ``providers.afternoon.emulator``; every source cited here is cited in that module's docstring.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "AFTERNOON_API_KEY",
    "AFTERNOON_CUSTOMER_IDS",
    "AFTERNOON_INVOICE_IDS",
    "AFTERNOON_REVOKED_API_KEY",
    "AfternoonInvoice",
    "AfternoonLineItem",
    "extra_invoices",
    "seed_invoices",
]

AFTERNOON_API_KEY = "ak_test_sandbox"
"""The company-wide test key (sees every customer's invoices)."""

AFTERNOON_REVOKED_API_KEY = "ak_test_revoked_sandbox"
"""A key that answers 401 ``API_KEY_REVOKED``."""

AFTERNOON_CUSTOMER_IDS: dict[str, str] = {"alice": "cus_alice", "bob": "cus_bob", "carol": "cus_carol"}
"""Afternoon customer ids by sandbox name. Carol has no invoices."""

AFTERNOON_INVOICE_IDS: dict[str, str] = {
    "alice_paid": "cmalice0000paid0usd00001",
    "alice_open_overdue": "cmalice0000open0usd00002",
    "alice_open_eur": "cmalice0000open0eur00003",
    "alice_draft": "cmalice0000draft0usd0004",
    "alice_void": "cmalice0000void0usd00005",
    "alice_uncollectible_jpy": "cmalice0000uncol0jpy0006",
    "bob_paid_jpy": "cmbob000000paid0jpy00001",
    "bob_open": "cmbob000000open0usd00002",
    "bob_paid_gbp": "cmbob000000paid0gbp00003",
    "bob_draft": "cmbob000000draft0usd0004",
    "bob_past_due": "cmbob000000pastdue0usd05",
}
"""Seeded invoice ids (cuid-like) by role. Alice: paid usd $110.00, open usd $59.97 due 2026-02-15
(overdue), open eur €250.00 with a €25.00 discount due 2030-01-31, draft, void, uncollectible ¥1500.
Bob: paid ¥4980, open usd $19.99, paid gbp £42.00, draft, and $75.00 of status ``past_due`` (not in
seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt's enum: the harsh case of a status added later) due 2026-03-31."""


@dataclass
class AfternoonLineItem:
    id: str
    description: str | None
    quantity: int
    unit_amount_cents: int
    tax_amount_cents: int
    period_start: str | None = None
    period_end: str | None = None

    @property
    def total_amount_cents(self) -> int:
        return self.quantity * self.unit_amount_cents + self.tax_amount_cents


@dataclass
class AfternoonInvoice:
    id: str
    customer_id: str | None
    status: str
    """draft, open, paid, void, uncollectible (seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt's enum), or anything else for a status added later."""
    currency: str
    created_at: str
    line_items: list[AfternoonLineItem]
    invoice_number: str | None = None
    collection_method: str = "send_invoice"
    subscription_id: str | None = None
    due_date: str | None = None
    days_until_due: int | None = None
    description: str | None = None
    customer_memo: str | None = None
    footer: str | None = None
    discount_cents: int = 0
    finalized_at: str | None = None
    paid_at: str | None = None
    period_start: str | None = None
    period_end: str | None = None

    @property
    def subtotal_cents(self) -> int:
        return sum(item.quantity * item.unit_amount_cents for item in self.line_items)

    @property
    def tax_cents(self) -> int:
        return sum(item.tax_amount_cents for item in self.line_items)

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents - self.discount_cents + self.tax_cents


def seed_invoices() -> list[AfternoonInvoice]:
    ids = AFTERNOON_INVOICE_IDS
    return [
        AfternoonInvoice(
            ids["alice_paid"],
            "cus_alice",
            "paid",
            "usd",
            "2026-01-01T08:00:00.000Z",
            [
                AfternoonLineItem(
                    "li_alice_0001",
                    "Pro plan (January 2026)",
                    1,
                    10000,
                    1000,
                    "2026-01-01T00:00:00.000Z",
                    "2026-02-01T00:00:00.000Z",
                )
            ],
            invoice_number="AFT-ALICE-0001",
            collection_method="charge_automatically",
            subscription_id="sub_alice_pro",
            due_date="2026-01-01T08:00:00.000Z",
            days_until_due=0,
            description="Pro plan",
            finalized_at="2026-01-01T08:00:05.000Z",
            paid_at="2026-01-01T08:01:00.000Z",
            period_start="2026-01-01T00:00:00.000Z",
            period_end="2026-02-01T00:00:00.000Z",
        ),
        AfternoonInvoice(
            ids["alice_open_overdue"],
            "cus_alice",
            "open",
            "usd",
            "2026-01-16T08:00:00.000Z",
            [AfternoonLineItem("li_alice_0002", "Event tickets", 3, 1999, 0)],
            invoice_number="AFT-ALICE-0002",
            due_date="2026-02-15T00:00:00.000Z",
            days_until_due=30,
            customer_memo="Thanks for coming!",
            finalized_at="2026-01-16T08:00:05.000Z",
        ),
        AfternoonInvoice(
            ids["alice_open_eur"],
            "cus_alice",
            "open",
            "eur",
            "2026-03-01T08:00:00.000Z",
            [
                AfternoonLineItem("li_alice_0003", "Workshop (Berlin)", 1, 23600, 0),
                AfternoonLineItem("li_alice_0004", "Catering", 2, 1000, 1900),
            ],
            invoice_number="AFT-ALICE-0003",
            due_date="2030-01-31T00:00:00.000Z",
            days_until_due=30,
            discount_cents=2500,
            footer="VAT reverse charge where applicable.",
            finalized_at="2026-03-01T08:00:05.000Z",
        ),
        AfternoonInvoice(
            ids["alice_draft"],
            "cus_alice",
            "draft",
            "usd",
            "2026-04-01T08:00:00.000Z",
            [AfternoonLineItem("li_alice_0005", "Consulting", 2, 15000, 0)],
        ),
        AfternoonInvoice(
            ids["alice_void"],
            "cus_alice",
            "void",
            "usd",
            "2026-04-10T08:00:00.000Z",
            [AfternoonLineItem("li_alice_0006", "Cancelled booking", 1, 4900, 0)],
            invoice_number="AFT-ALICE-0004",
            due_date="2026-05-10T00:00:00.000Z",
            days_until_due=30,
            finalized_at="2026-04-10T08:00:05.000Z",
        ),
        AfternoonInvoice(
            ids["alice_uncollectible_jpy"],
            "cus_alice",
            "uncollectible",
            "jpy",
            "2026-04-20T08:00:00.000Z",
            [AfternoonLineItem("li_alice_0007", "Sticker pack", 1, 1500, 0)],
            invoice_number="AFT-ALICE-0005",
            due_date="2026-05-20T00:00:00.000Z",
            days_until_due=30,
            finalized_at="2026-04-20T08:00:05.000Z",
        ),
        AfternoonInvoice(
            ids["bob_paid_jpy"],
            "cus_bob",
            "paid",
            "jpy",
            "2026-01-03T10:00:00.000Z",
            [AfternoonLineItem("li_bob_0001", "Pro plan (January 2026)", 1, 4980, 0)],
            invoice_number="AFT-BOB-0001",
            collection_method="charge_automatically",
            subscription_id="sub_bob_pro",
            finalized_at="2026-01-03T10:00:05.000Z",
            paid_at="2026-01-03T10:01:00.000Z",
        ),
        AfternoonInvoice(
            ids["bob_open"],
            "cus_bob",
            "open",
            "usd",
            "2026-02-03T10:00:00.000Z",
            [AfternoonLineItem("li_bob_0002", "Ticket", 1, 1999, 0)],
            invoice_number="AFT-BOB-0002",
            due_date="2030-03-05T00:00:00.000Z",
            days_until_due=30,
            finalized_at="2026-02-03T10:00:05.000Z",
        ),
        AfternoonInvoice(
            ids["bob_paid_gbp"],
            "cus_bob",
            "paid",
            "gbp",
            "2026-03-03T10:00:00.000Z",
            [AfternoonLineItem("li_bob_0003", "Meetup venue", 1, 3500, 700)],
            invoice_number="AFT-BOB-0003",
            due_date="2026-04-02T00:00:00.000Z",
            days_until_due=30,
            finalized_at="2026-03-03T10:00:05.000Z",
            paid_at="2026-03-20T12:00:00.000Z",
        ),
        AfternoonInvoice(
            ids["bob_past_due"],
            "cus_bob",
            # assumption: not in seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt's InvoiceStatus enum — a status Afternoon might add later
            "past_due",
            "usd",
            "2026-03-01T10:00:00.000Z",
            [AfternoonLineItem("li_bob_0005", "Workshop seat", 1, 7500, 0)],
            invoice_number="AFT-BOB-0005",
            due_date="2026-03-31T00:00:00.000Z",
            days_until_due=30,
            finalized_at="2026-03-01T10:00:05.000Z",
        ),
        AfternoonInvoice(
            ids["bob_draft"],
            "cus_bob",
            "draft",
            "usd",
            "2026-04-03T10:00:00.000Z",
            [AfternoonLineItem("li_bob_0004", None, 1, 500, 0)],
        ),
    ]


def extra_invoices(customer_id: str, count: int) -> list[AfternoonInvoice]:
    """Deterministic bulk invoices (benchmarks): hourly from 2024-01-01, statuses cycled."""
    statuses = ("paid", "paid", "open", "open", "void", "uncollectible", "draft")
    currencies = ("usd", "eur", "jpy")
    invoices = []
    for n in range(count):
        created = datetime(2024, 1, 1, tzinfo=UTC).timestamp() + n * 3600
        stamp = datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        status = statuses[n % len(statuses)]
        invoices.append(
            AfternoonInvoice(
                f"cmbulk{customer_id[4:9]:0>5}{n:013d}",
                customer_id,
                status,
                currencies[n % 3],
                stamp,
                [
                    AfternoonLineItem(
                        f"li_bulk_{n:06d}", f"Bulk item {n}", 1 + n % 3, 1000 + (n % 89) * 7, (n % 5) * 10
                    )
                ],
                invoice_number=None if status == "draft" else f"AFT-BULK-{n:05d}",
                due_date=None if status == "draft" else stamp,
                finalized_at=None if status == "draft" else stamp,
                paid_at=stamp if status == "paid" else None,
            )
        )
    return invoices
