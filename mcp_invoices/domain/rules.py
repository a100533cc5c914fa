"""The money rules every provider and the local ledger share: what is paid and due, and how old a debt is.

A provider states what it knows (a total, sometimes what was paid or what is still due) and its
status; ``settle`` derives the rest the same way for all of them. The ledger's SQL applies the same
rules to stored rows (``SETTLED_STATUSES``, ``AGEING_BUCKETS``) and is tested equal to these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from mcp_invoices.domain.models import InvoiceStatus
from mcp_invoices.domain.money import zero as zero_in

__all__ = [
    "AGEING_BUCKETS",
    "CURRENT",
    "PAID_IN_FULL_STATUSES",
    "SETTLED_STATUSES",
    "Settlement",
    "ageing_bucket",
    "settle",
]

PAID_IN_FULL_STATUSES = frozenset({InvoiceStatus.PAID, InvoiceStatus.REFUNDED})
"""Statuses whose total was paid when the provider does not say how much was (a refund returns money that was paid)."""

SETTLED_STATUSES = frozenset({InvoiceStatus.PAID, InvoiceStatus.REFUNDED, InvoiceStatus.VOID})
"""Statuses on which nothing is due, whatever the amounts say."""

CURRENT = "current"
"""The bucket of an amount not yet due, or without a due date."""

AGEING_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("days_1_30", 30),
    ("days_31_60", 60),
    ("days_61_90", 90),
    ("days_over_90", None),
)
"""Buckets of an amount past due, each with the most days past due it holds (None: no limit)."""


@dataclass(frozen=True, slots=True)
class Settlement:
    paid: Decimal
    due: Decimal


def settle(
    status: InvoiceStatus,
    total: Decimal,
    currency: str,
    *,
    paid: Decimal | None = None,
    due: Decimal | None = None,
) -> Settlement:
    """What is paid and what is due on an invoice of ``total``, given its status and what the provider states.

    - A stated ``due`` is kept; then paid is the rest of the total (nothing on a void invoice).
    - Otherwise a stated ``paid`` is kept, or else the whole total counts as paid on a paid or
      refunded invoice and nothing on any other; due is what is left, and nothing on a settled one.
    """
    zero = zero_in(currency)  # zeros carry the currency's precision too ("0.00", "0")
    if due is not None:
        if paid is None:
            paid = zero if status is InvoiceStatus.VOID else max(total - due, zero)
        return Settlement(paid=paid, due=due)
    if paid is None:
        paid = total if status in PAID_IN_FULL_STATUSES else zero
    due = zero if status in SETTLED_STATUSES else max(total - paid, zero)
    return Settlement(paid=paid, due=due)


def ageing_bucket(due_at: date | None, today: date) -> str:
    """The ageing bucket of an amount due on ``due_at``, as of ``today``."""
    if due_at is None:
        return CURRENT
    days = (today - due_at).days
    if days <= 0:
        return CURRENT
    for bucket, most_days in AGEING_BUCKETS:
        if most_days is None or days <= most_days:
            return bucket
    raise AssertionError("the last ageing bucket has no limit")
