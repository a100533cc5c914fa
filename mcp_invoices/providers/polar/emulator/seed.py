"""Polar's emulator: its seeded data (sandbox-only and obviously fake) and the records it is made of.

Read by ``providers.polar.emulator``; the sources cited here are that module's (polar c6c3645).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "CUSTOMER_EMAILS",
    "CUSTOMER_NAMES",
    "POLAR_CUSTOMER_IDS",
    "POLAR_CUSTOMER_SESSIONS",
    "POLAR_ORDER_IDS",
    "POLAR_ORGANIZATION_TOKEN",
    "PolarItem",
    "PolarOrder",
    "extra_orders",
    "seed_orders",
]

POLAR_ORGANIZATION_TOKEN = "polar_oat_sandbox"
"""Organisation access token: only valid for ``POST /v1/customer-sessions/``."""

POLAR_CUSTOMER_IDS: dict[str, str] = {
    "alice": "a11ce000-0000-4000-8000-00000000c001",
    "bob": "b0b00000-0000-4000-8000-00000000c002",
    "carol": "ca401000-0000-4000-8000-00000000c003",
}
"""Polar customer ids by sandbox name (``external_id`` is the name). Carol has no orders."""

POLAR_CUSTOMER_SESSIONS: dict[str, str] = {
    "alice": "polar_cst_sandbox_alice",
    "bob": "polar_cst_sandbox_bob",
    "carol": "polar_cst_sandbox_carol",
}
"""Fixed customer session tokens (never expire); minted sessions expire after ``session_ttl``."""

POLAR_ORDER_IDS: dict[str, str] = {
    # alice
    "alice_paid_generated": "a11ce000-0000-4000-8000-000000000001",
    "alice_paid_not_generated": "a11ce000-0000-4000-8000-000000000002",
    "alice_paid_missing_billing": "a11ce000-0000-4000-8000-000000000003",
    "alice_pending": "a11ce000-0000-4000-8000-000000000004",
    "alice_draft": "a11ce000-0000-4000-8000-000000000005",
    "alice_void": "a11ce000-0000-4000-8000-000000000006",
    "alice_refunded": "a11ce000-0000-4000-8000-000000000007",
    # bob
    "bob_paid_generated_jpy": "b0b00000-0000-4000-8000-000000000001",
    "bob_paid_discounted": "b0b00000-0000-4000-8000-000000000002",
    "bob_partially_refunded": "b0b00000-0000-4000-8000-000000000003",
    "bob_pending": "b0b00000-0000-4000-8000-000000000004",
    "bob_paid_missing_address": "b0b00000-0000-4000-8000-000000000005",
}
"""Seeded order ids by role. Alice: paid+generated (usd 110.00), paid+billing not generated
(eur 71.36), paid without billing details (usd), pending (jpy ¥1500), draft, void, refunded.
Bob: paid+generated (jpy ¥5478), paid with a discount (usd 99.00), partially refunded, pending,
paid with a name but no address."""

CUSTOMER_EMAILS = {name: f"{name}@example.com" for name in POLAR_CUSTOMER_IDS}

CUSTOMER_NAMES = {"alice": "Alice Anders", "bob": "Bob Brown", "carol": "Carol Chen"}


@dataclass
class PolarItem:
    label: str
    amount: int
    tax_amount: int


@dataclass
class PolarOrder:
    id: str
    customer: str
    """Sandbox customer name (``alice``)."""
    created_at: datetime
    status: str
    """draft, pending, paid, refunded, partially_refunded, void."""
    currency: str
    items: list[PolarItem]
    billing_name: str | None
    billing_address: dict[str, str | None] | None
    invoice_number: str | None
    discount_amount: int = 0
    refunded_amount: int = 0
    refunded_tax_amount: int = 0
    applied_balance_amount: int = 0
    """Customer balance applied (negative: credit used); polar c6c3645 models/order.py."""
    invoice_ready_at: float | None = None
    """State-clock time from which the invoice exists; ``None`` = never requested."""
    description: str = ""
    invoice_inputs: tuple[Any, ...] | None = None
    """The billing details the current invoice was generated from (None: not generated here)."""

    @property
    def subtotal_amount(self) -> int:
        return sum(item.amount for item in self.items)

    @property
    def tax_amount(self) -> int:
        return sum(item.tax_amount for item in self.items)

    @property
    def net_amount(self) -> int:
        return self.subtotal_amount - self.discount_amount

    @property
    def total_amount(self) -> int:
        return self.net_amount + self.tax_amount

    @property
    def paid(self) -> bool:
        # polar c6c3645 server/polar/models/order.py Order.paid
        return self.status in ("paid", "refunded", "partially_refunded")

    @property
    def due_amount(self) -> int:
        # polar c6c3645 server/polar/models/order.py Order.due_amount: the amount charged, whatever the status
        return max(0, self.total_amount + self.applied_balance_amount)

    @property
    def refundable_amount(self) -> int:
        # polar c6c3645 server/polar/order/schemas.py OrderBase.refundable_amount
        return max(0, self.net_amount + self.applied_balance_amount - self.refunded_amount)

    @property
    def refundable_tax_amount(self) -> int:
        return max(0, self.tax_amount - self.refunded_tax_amount)

    def invoice_checksum(self) -> tuple[Any, ...]:
        """What the invoice is generated from that a customer can change (Polar checksums the order)."""
        address = tuple(sorted((self.billing_address or {}).items()))
        return (self.billing_name, address)


def _address(
    line1: str, city: str, postal_code: str, country: str, state: str | None = None
) -> dict[str, str | None]:
    return {
        "line1": line1,
        "line2": None,
        "postal_code": postal_code,
        "city": city,
        "state": state,
        "country": country,
    }


_ALICE_ADDRESS = _address("1 Sandbox Street", "Berlin", "10115", "DE")

_BOB_ADDRESS = _address("22 Example Avenue", "San Francisco", "94103", "US", "US-CA")

_ALREADY = float("-inf")


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def seed_orders() -> list[PolarOrder]:
    ids = POLAR_ORDER_IDS
    alice, bob = "Alice Anders", "Bob Brown"
    return [
        PolarOrder(
            ids["alice_paid_generated"],
            "alice",
            _at("2026-01-05T09:30:00"),
            "paid",
            "usd",
            [PolarItem("Pro plan (monthly)", 10000, 1000)],
            alice,
            _ALICE_ADDRESS,
            "SBX-ALICE-0001",
            invoice_ready_at=_ALREADY,
        ),
        PolarOrder(
            ids["alice_paid_not_generated"],
            "alice",
            _at("2026-02-05T09:30:00"),
            "paid",
            "eur",
            [PolarItem("Team seats x 3", 5997, 1139)],
            alice,
            _ALICE_ADDRESS,
            "SBX-ALICE-0002",
        ),
        PolarOrder(
            ids["alice_paid_missing_billing"],
            "alice",
            _at("2026-03-05T09:30:00"),
            "paid",
            "usd",
            [PolarItem("Storage add-on", 1999, 0)],
            None,
            None,
            "SBX-ALICE-0003",
        ),
        PolarOrder(
            ids["alice_pending"],
            "alice",
            _at("2026-04-05T09:30:00"),
            "pending",
            "jpy",
            [PolarItem("Sticker pack", 1500, 0)],
            alice,
            _ALICE_ADDRESS,
            "SBX-ALICE-0004",
        ),
        PolarOrder(
            ids["alice_draft"],
            "alice",
            _at("2026-05-05T09:30:00"),
            "draft",
            "usd",
            [PolarItem("Consulting hour", 15000, 0)],
            alice,
            _ALICE_ADDRESS,
            None,
        ),
        PolarOrder(
            ids["alice_void"],
            "alice",
            _at("2026-05-10T09:30:00"),
            "void",
            "usd",
            [PolarItem("Cancelled upgrade", 4900, 0)],
            alice,
            _ALICE_ADDRESS,
            "SBX-ALICE-0005",
        ),
        PolarOrder(
            ids["alice_refunded"],
            "alice",
            _at("2026-05-20T09:30:00"),
            "refunded",
            "usd",
            [PolarItem("Annual plan", 120000, 12000)],
            alice,
            _ALICE_ADDRESS,
            "SBX-ALICE-0006",
            refunded_amount=120000,
            refunded_tax_amount=12000,
        ),
        PolarOrder(
            ids["bob_paid_generated_jpy"],
            "bob",
            _at("2026-01-12T14:00:00"),
            "paid",
            "jpy",
            [PolarItem("Pro plan (monthly)", 4980, 498)],
            bob,
            _BOB_ADDRESS,
            "SBX-BOB-0001",
            invoice_ready_at=_ALREADY,
        ),
        PolarOrder(
            ids["bob_paid_discounted"],
            "bob",
            _at("2026-02-12T14:00:00"),
            "paid",
            "usd",
            [PolarItem("Pro plan (monthly)", 10000, 900)],
            bob,
            _BOB_ADDRESS,
            "SBX-BOB-0002",
            discount_amount=1000,
        ),
        PolarOrder(
            ids["bob_partially_refunded"],
            "bob",
            _at("2026-03-12T14:00:00"),
            "partially_refunded",
            "usd",
            [PolarItem("Seat", 1999, 0), PolarItem("Seat", 1999, 0)],
            bob,
            _BOB_ADDRESS,
            "SBX-BOB-0003",
            refunded_amount=1999,
            invoice_ready_at=_ALREADY,
        ),
        PolarOrder(
            ids["bob_pending"],
            "bob",
            _at("2026-04-12T14:00:00"),
            "pending",
            "usd",
            [PolarItem("Pro plan (monthly)", 10000, 1000)],
            bob,
            _BOB_ADDRESS,
            "SBX-BOB-0004",
        ),
        PolarOrder(
            ids["bob_paid_missing_address"],
            "bob",
            _at("2026-05-12T14:00:00"),
            "paid",
            "usd",
            [PolarItem("Workshop ticket", 2500, 0)],
            bob,
            None,
            "SBX-BOB-0005",
        ),
    ]


def extra_orders(customer: str, count: int) -> list[PolarOrder]:
    """Deterministic bulk orders (benchmarks): hourly from 2024-01-01, mostly paid and generated."""
    statuses = ("paid", "paid", "paid", "pending", "refunded")
    currencies = ("usd", "eur", "jpy")
    start = _at("2024-01-01T00:00:00")
    prefix = {"alice": "a11ce000", "bob": "b0b00000", "carol": "ca401000"}[customer]
    orders = []
    for n in range(count):
        status = statuses[n % len(statuses)]
        orders.append(
            PolarOrder(
                id=f"{prefix}-0001-4000-8000-{n:012d}",
                customer=customer,
                created_at=start + timedelta(hours=n),
                status=status,
                currency=currencies[n % len(currencies)],
                items=[PolarItem(f"Bulk item {n}", 1000 + (n % 97) * 13, (n % 7) * 10)],
                billing_name=CUSTOMER_NAMES[customer],
                billing_address=_ALICE_ADDRESS,
                invoice_number=f"SBX-BULK-{n:05d}",
                refunded_amount=(1000 + (n % 97) * 13) if status == "refunded" else 0,
                invoice_ready_at=_ALREADY if status != "pending" else None,
            )
        )
    return orders
