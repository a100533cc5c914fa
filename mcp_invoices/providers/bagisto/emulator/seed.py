"""Bagisto's emulator: its seeded data (sandbox-only and obviously fake) and the records it is made of.

Read by ``providers.bagisto.emulator``; the sources cited here are that module's (bagisto-api 5ab9ff2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

__all__ = [
    "BAGISTO_CREDENTIALS",
    "BAGISTO_CUSTOMER_IDS",
    "BAGISTO_CUSTOMER_TOKENS",
    "BAGISTO_INVOICE_IDS",
    "BAGISTO_STOREFRONT_KEY",
    "DAVE_INVOICE_IDS",
    "BagistoInvoice",
    "BagistoItem",
    "dave_invoices",
    "extra_invoices",
    "seed_invoices",
]

BAGISTO_STOREFRONT_KEY = "pk_storefront_sandbox"
"""The storefront key every request must carry in ``X-STOREFRONT-KEY``."""

BAGISTO_CUSTOMER_TOKENS: dict[str, str] = {
    "alice": "bagisto_token_alice",
    "bob": "bagisto_token_bob",
    "carol": "bagisto_token_carol",
    "dave": "bagisto_token_dave",
}
"""Customer bearer tokens; ``POST /api/shop/customer/login`` returns the same ones."""

BAGISTO_CUSTOMER_IDS: dict[str, int] = {"alice": 1, "bob": 2, "carol": 3, "dave": 4}

BAGISTO_CREDENTIALS: dict[str, tuple[str, str]] = {
    name: (f"{name}@example.com", f"{name}-pass") for name in BAGISTO_CUSTOMER_TOKENS
}
"""Login (email, password) by sandbox name, e.g. ``alice@example.com`` / ``alice-pass``."""

DAVE_INVOICE_IDS = list(range(11, 36))

BAGISTO_INVOICE_IDS: dict[str, list[int]] = {
    "alice": [1, 2, 3, 6, 7, 10],
    "bob": [4, 5, 8, 9],
    "carol": [],
    "dave": DAVE_INVOICE_IDS,
}
"""Invoice ids per customer (interleaved, so guessing a neighbour's id is a real test).
Alice: 1 paid USD 110.00 (bagisto-api's own test invoice: 2 x 50.00, 5.00 shipping, 5.00 tax),
2 pending EUR 0.30 (0.10 + 0.20), 3 paid USD 66.27 (3 x 19.99 with discount and shipping), 6 refunded
USD 17.49, 7 overdue JPY 1500, 10 pending_payment USD 1234.56. Bob: 4 paid USD 75.50, 5 paid GBP
42.00, 8 pending USD 19.99, 9 paid JPY 4980. Dave: 25 invoices, more than the REST list's 10 and
than one GraphQL page of 10: ids 11..35, invoice ``10 + n`` is ``n`` x 10.00 USD, pending when ``n``
is a multiple of 3 (8 of them, 1,080.00 due), else paid (total of all 25: 3,250.00). An id no one
owns: 999."""

_CENT = Decimal("0.01")


def _money(value: str) -> Decimal:
    return Decimal(value).quantize(_CENT)


@dataclass
class BagistoItem:
    id: int
    sku: str
    name: str
    qty: int
    price: Decimal
    tax_amount: Decimal = Decimal("0.00")
    discount_amount: Decimal = Decimal("0.00")

    @property
    def total(self) -> Decimal:
        return (self.price * self.qty).quantize(_CENT)


@dataclass
class BagistoInvoice:
    id: int
    customer: str
    increment_id: str
    state: str
    """pending, pending_payment, paid, overdue, refunded."""
    currency: str
    items: list[BagistoItem]
    created_at: str
    shipping_amount: Decimal = Decimal("0.00")
    order_id: int = 0
    transaction_id: str = ""
    email_sent: bool = True
    reminders: int = 0
    next_reminder_at: str | None = None

    @property
    def sub_total(self) -> Decimal:
        return sum((item.total for item in self.items), Decimal("0.00"))

    @property
    def tax_amount(self) -> Decimal:
        return sum((item.tax_amount for item in self.items), Decimal("0.00"))

    @property
    def discount_amount(self) -> Decimal:
        return sum((item.discount_amount for item in self.items), Decimal("0.00"))

    @property
    def grand_total(self) -> Decimal:
        return self.sub_total + self.shipping_amount + self.tax_amount - self.discount_amount


def _invoice(
    id_: int,
    customer: str,
    state: str,
    currency: str,
    created_at: str,
    items: list[tuple[str, str, int, str, str, str]],
    shipping: str = "0",
    **extra: Any,
) -> BagistoInvoice:
    built = [
        BagistoItem(id_ * 10 + n, sku, name, qty, _money(price), _money(tax), _money(discount))
        for n, (sku, name, qty, price, tax, discount) in enumerate(items, start=1)
    ]
    extra.setdefault("transaction_id", f"TXN-{10000 + id_}")
    return BagistoInvoice(
        id_,
        customer,
        f"INV-{id_:03d}",
        state,
        currency,
        built,
        created_at,
        shipping_amount=_money(shipping),
        order_id=id_,
        **extra,
    )


def seed_invoices() -> list[BagistoInvoice]:
    seed_example = _invoice(
        1,
        "alice",
        "paid",
        "USD",
        "2025-02-10T10:30:00+00:00",
        [("TEST-INV-SKU-001", "Test Invoice Product", 2, "50", "5", "0")],
        shipping="5",
        transaction_id="TXN-12345",
    )  # bagisto-api 5ab9ff2 tests/Feature/RestApi/CustomerInvoiceTest.php: its invoice1, INV-001 paid 110.00
    return [
        seed_example,
        _invoice(
            2,
            "alice",
            "pending",
            "EUR",
            "2025-03-01T09:00:00+00:00",
            [("SKU-STICKER", "Sticker", 1, "0.10", "0", "0"), ("SKU-BADGE", "Badge", 1, "0.20", "0", "0")],
            email_sent=False,
        ),
        _invoice(
            3,
            "alice",
            "paid",
            "USD",
            "2025-04-01T09:00:00+00:00",
            [("SKU-HOODIE", "Hoodie", 3, "19.99", "4.80", "6.00")],
            shipping="7.50",
        ),
        _invoice(
            4,
            "bob",
            "paid",
            "USD",
            "2025-04-02T09:00:00+00:00",
            [("SKU-MUG", "Mug", 2, "35.25", "0", "0")],
            shipping="5.00",
        ),
        _invoice(
            5,
            "bob",
            "paid",
            "GBP",
            "2025-04-03T09:00:00+00:00",
            [("SKU-TOTE", "Tote bag", 1, "35.00", "7.00", "0")],
        ),
        _invoice(
            6,
            "alice",
            "refunded",
            "USD",
            "2025-05-01T09:00:00+00:00",
            [("SKU-MUG", "Mug", 1, "12.50", "0", "0")],
            shipping="4.99",
        ),
        _invoice(
            7,
            "alice",
            "overdue",
            "JPY",
            "2025-06-01T09:00:00+00:00",
            [("SKU-TEA", "Tea set", 1, "1500", "0", "0")],
            reminders=2,
            next_reminder_at="2030-01-01T09:00:00+00:00",
        ),
        _invoice(
            8,
            "bob",
            "pending",
            "USD",
            "2025-06-02T09:00:00+00:00",
            [("SKU-CASE", "Phone case", 1, "19.99", "0", "0")],
            email_sent=False,
        ),
        _invoice(
            9,
            "bob",
            "paid",
            "JPY",
            "2025-06-03T09:00:00+00:00",
            [("SKU-BENTO", "Bento box", 2, "2490", "0", "0")],
        ),
        _invoice(
            10,
            "alice",
            "pending_payment",
            "USD",
            "2025-07-01T09:00:00+00:00",
            [("SKU-DESK", "Standing desk", 1, "1234.56", "0", "0")],
        ),
    ]


def extra_invoices(customer: str, count: int, first_id: int) -> list[BagistoInvoice]:
    """Deterministic bulk invoices (benchmarks): hourly from 2024-01-01, states cycled."""
    states = ("paid", "paid", "pending", "overdue", "refunded")
    currencies = ("USD", "EUR", "JPY")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    invoices = []
    for n in range(count):
        created = (start + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        price = f"{10 + n % 90}.{n % 100:02d}" if currencies[n % 3] != "JPY" else str(1000 + n % 50)
        invoices.append(
            _invoice(
                first_id + n,
                customer,
                states[n % len(states)],
                currencies[n % 3],
                created,
                [(f"SKU-BULK-{n}", f"Bulk item {n}", 1 + n % 2, price, "0", "0")],
            )
        )
    return invoices


def dave_invoices() -> list[BagistoInvoice]:
    return [
        _invoice(
            10 + n,
            "dave",
            "pending" if n % 3 == 0 else "paid",
            "USD",
            f"2025-01-{n:02d}T09:00:00+00:00",
            [(f"SKU-MONTH-{n}", f"Subscription month {n}", 1, f"{n * 10}.00", "0", "0")],
        )
        for n in range(1, 26)
    ]
