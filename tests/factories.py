"""The one place tests build domain invoices (issue 24: five factories became this module).

``make_invoice`` is a valid normalized invoice with nothing but what a test names: empty parties,
no lines, ``amount_due = total - amount_paid`` unless given, a fresh id unless given. Money may be
given as ``str``, ``int`` or ``Decimal`` and is always stored as ``Decimal``. ``printed_invoice`` is
the one a document prints: named parties, an address, one line, a due date.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from mcp_invoices.domain.models import (
    Address,
    Billing,
    Customer,
    Documents,
    Invoice,
    InvoiceStatus,
    LineItem,
)

__all__ = ["Money", "cached_invoice", "line_item", "make_invoice", "printed_invoice"]

Money = str | int | Decimal
_ids = itertools.count(1)
_OPTIONAL_MONEY = ("subtotal", "discount", "tax", "shipping")


def _money(value: Money | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def make_invoice(
    invoice_id: str | None = None,
    *,
    provider: str = "local",
    number: str | None = None,
    status: InvoiceStatus = InvoiceStatus.OPEN,
    currency: str = "USD",
    total: Money = "100.00",
    amount_paid: Money = "0.00",
    amount_due: Money | None = None,
    issued_at: date | None = date(2026, 3, 1),
    due_at: date | None = None,
    paid_at: datetime | None = None,
    customer: Customer | None = None,
    billing: Billing | None = None,
    line_items: list[LineItem] | None = None,
    **fields: Any,
) -> Invoice:
    """A valid invoice; ``fields`` are any other ``Invoice`` fields (subtotal, discount, tax and
    shipping may be given as money like the amounts; ``id`` is ``invoice_id``)."""
    invoice_id = invoice_id or fields.pop("id", None) or f"inv_{next(_ids)}"
    total_d, paid_d = Decimal(total), Decimal(amount_paid)
    for name in _OPTIONAL_MONEY:
        if name in fields:
            fields[name] = _money(fields[name])
    fields.setdefault(
        "documents",
        Documents(
            json_uri=f"invoice://{provider}/{invoice_id}", pdf_uri=f"invoice://{provider}/{invoice_id}/pdf"
        ),
    )
    return Invoice(
        provider=provider,
        id=invoice_id,
        number=number,
        status=status,
        currency=currency,
        issued_at=issued_at,
        due_at=due_at,
        paid_at=paid_at,
        customer=customer or Customer(),
        billing=billing or Billing(),
        line_items=line_items or [],
        total=total_d,
        amount_paid=paid_d,
        amount_due=total_d - paid_d if amount_due is None else Decimal(amount_due),
        **fields,
    )


def line_item(description: str, currency: str = "USD", quantity: str = "2", unit: str = "50.00") -> LineItem:
    """One line: ``quantity`` x ``unit``, zero tax at the currency's precision."""
    unit_amount = Decimal(unit)
    return LineItem(
        description=description,
        quantity=Decimal(quantity),
        unit_amount=unit_amount,
        tax=Decimal(0) if currency == "JPY" else Decimal("0.00"),
        total=unit_amount * Decimal(quantity),
    )


def printed_invoice(
    *,
    currency: str = "USD",
    number: str | None = "INV-2026-0042",
    line_items: list[LineItem] | None = None,
    subtotal: Money | None = "100.00",
    total: Money = "1234.50",
    amount_paid: Money = "234.50",
    amount_due: Money = "1000.00",
    **fields: Any,
) -> Invoice:
    """The invoice a document prints (Polar's ``inv_1``): a named customer and billing party with an
    address, one line, issued 2026-03-01 and due 2026-03-31."""
    fields.setdefault("customer", Customer(id="cus_1", name="Jane Customer", email="jane@example.com"))
    fields.setdefault(
        "billing",
        Billing(
            name="Globex Corporation",
            address=Address(line1="42 Harbour Road", postal_code="94107", city="San Francisco", country="US"),
        ),
    )
    fields.setdefault("due_at", date(2026, 3, 31))
    return make_invoice(
        "inv_1",
        provider="polar",
        currency=currency,
        number=number,
        line_items=line_items if line_items is not None else [line_item("Widget", currency)],
        subtotal=subtotal,
        total=total,
        amount_paid=amount_paid,
        amount_due=amount_due,
        **fields,
    )


def cached_invoice(
    invoice_id: str = "ord_1", status: InvoiceStatus = InvoiceStatus.OPEN, paid: Money = "0.00"
) -> Invoice:
    """A local ``INV-1`` of 10.00 with ``paid`` paid: what the document-cache tests key on."""
    return make_invoice(invoice_id, number="INV-1", status=status, total="10.00", amount_paid=paid)
