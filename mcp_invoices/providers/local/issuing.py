"""Issuing a ledger invoice: whether an order may be invoiced, its billing filled in, its number.

Each runs inside the caller's write transaction (``Ledger.issue_invoice``), so a refusal or a failure
rolls everything back, the number included.
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping

from mcp_invoices.domain.errors import InvalidArgument, NotPaid
from mcp_invoices.domain.models import Billing
from mcp_invoices.providers.local.records import dialect_insert
from mcp_invoices.storage.schema import invoice_sequences, orders

__all__ = ["check_invoiceable", "next_number", "update_billing"]


def check_invoiceable(order: RowMapping) -> None:
    """Refuse a void order, and one not paid yet unless it has payment terms (invoiced, then paid)."""
    status = order["status"]
    if status == "void":
        raise InvalidArgument(
            f"Order {order['id']!r} is void, so it cannot be invoiced.",
            hint="A void order was cancelled; call list_orders to pick another order.",
        )
    if status == "draft" or (status == "pending" and order["payment_terms_days"] is None):
        raise NotPaid(
            f"Order {order['id']!r} is not paid yet, and its invoice is issued once it is paid.",
            hint="Wait for the payment, then call generate_invoice again.",
        )


def update_billing(db: Connection, order: RowMapping, billing: Billing) -> None:
    """Billing given with the generate call fills in or replaces the order's own, before issue.

    A given address replaces the whole address (never mixed with parts of the old one); a
    given name replaces the name; what is not given is kept.
    """
    changes: dict[str, str | None] = {}
    if billing.name is not None:
        changes["billing_name"] = billing.name
    address = billing.address
    if address is not None:
        changes |= {
            "billing_line1": address.line1,
            "billing_line2": address.line2,
            "billing_postal_code": address.postal_code,
            "billing_city": address.city,
            "billing_state": address.state,
            "billing_country": address.country,
        }
    if changes:
        db.execute(orders.update().where(orders.c.id == order["id"]).values(**changes))


def next_number(db: Connection, year: int) -> int:
    """The year's next sequence number, allocated in the caller's transaction.

    The upsert locks the year's counter row until the transaction ends: concurrent
    generations queue here, and a rollback returns the number, so there is never a gap.
    """
    insert = dialect_insert(db)(invoice_sequences).values(year=year, last=1)
    allocate = insert.on_conflict_do_update(
        index_elements=[invoice_sequences.c.year], set_={"last": invoice_sequences.c.last + 1}
    ).returning(invoice_sequences.c.last)
    return int(db.execute(allocate).scalar_one())
