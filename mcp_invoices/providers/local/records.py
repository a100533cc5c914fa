"""The local ledger's rows: what is stored, how a row becomes a domain model, and the SQL of the money rules.

Amounts are integer minor units, quantities and tax rates exact decimal strings. The SQL twins of
``domain.rules`` (``amount_due_sql``, ``ageing_bucket_sql``) are tested equal to those rules.
"""

from __future__ import annotations

import functools
import json
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    case,
    cast,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.engine import RowMapping

from mcp_invoices.domain.errors import InvalidArgument
from mcp_invoices.domain.models import Address, Billing, Customer, Documents, Invoice, InvoiceStatus, LineItem
from mcp_invoices.domain.money import from_minor_units, quantize, to_minor_units
from mcp_invoices.domain.rules import AGEING_BUCKETS, CURRENT, SETTLED_STATUSES, settle
from mcp_invoices.domain.summary import SummaryGroup
from mcp_invoices.storage.schema import invoices

__all__ = [
    "CUSTOMERS_INVOICE_BY_REFERENCE",
    "INVOICE_BY_REFERENCE",
    "PROVIDER_ID",
    "ComputedLine",
    "NewOrder",
    "NewOrderLine",
    "SellerProfile",
    "ageing_bucket_sql",
    "amount_due_sql",
    "billing_from_order",
    "compute_line",
    "dialect_insert",
    "fold_number",
    "in_scope",
    "invalid_cursor",
    "invoice_from_row",
    "invoice_values",
    "split_cursor",
    "summary_group",
    "summary_statements",
    "overdue_sql",
]

PROVIDER_ID = "local"


@dataclass(frozen=True, slots=True)
class SellerProfile:
    """Who issues the ledger's invoices (printed on the PDF)."""

    name: str
    address_lines: tuple[str, ...]
    email: str | None
    tax_id: str | None


@dataclass(frozen=True, slots=True)
class NewOrderLine:
    description: str
    quantity: Decimal
    unit_amount: Decimal
    discount: Decimal = Decimal(0)
    tax_rate: Decimal = Decimal(0)
    """Percent, e.g. ``Decimal("20")`` for 20 % VAT."""
    period_start: date | None = None
    period_end: date | None = None


@dataclass(frozen=True, slots=True)
class NewOrder:
    id: str
    customer_id: str
    created_at: date
    currency: str
    status: str
    lines: Sequence[NewOrderLine]
    paid_at: datetime | None = None
    payment_terms_days: int | None = None
    shipping: Decimal = Decimal(0)
    billing: Billing | None = None


@dataclass(frozen=True, slots=True)
class ComputedLine:
    description: str
    quantity: Decimal
    unit_minor: int
    discount_minor: int
    tax_minor: int
    gross_minor: int
    total_minor: int
    period_start: str | None
    period_end: str | None


def compute_line(row: RowMapping, currency: str) -> ComputedLine:
    """Price one order line exactly: gross, minus discount, plus tax rounded half-even per line."""
    quantity = Decimal(row["quantity"])
    unit = from_minor_units(row["unit_minor"], currency)
    gross = quantize(quantity * unit, currency)
    discount = from_minor_units(row["discount_minor"], currency)
    tax = quantize((gross - discount) * Decimal(row["tax_rate"]) / 100, currency)
    return ComputedLine(
        description=row["description"],
        quantity=quantity,
        unit_minor=row["unit_minor"],
        discount_minor=row["discount_minor"],
        tax_minor=to_minor_units(tax, currency),
        gross_minor=to_minor_units(gross, currency),
        total_minor=to_minor_units(gross - discount + tax, currency),
        period_start=_iso(row["period_start"]),
        period_end=_iso(row["period_end"]),
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def billing_from_order(row: RowMapping) -> Billing:
    address = Address(
        line1=row["billing_line1"],
        line2=row["billing_line2"],
        postal_code=row["billing_postal_code"],
        city=row["billing_city"],
        state=row["billing_state"],
        country=row["billing_country"],
    )
    has_address = any(value is not None for value in address.model_dump().values())
    return Billing(name=row["billing_name"], address=address if has_address else None)


def amount_due_sql(
    status: ColumnElement[str], total_minor: ColumnElement[int], paid_minor: ColumnElement[int]
) -> ColumnElement[int]:
    """``rules.settle(...).due`` of a stored invoice, in SQL (stored payments never exceed the total)."""
    return case(
        (status.in_(sorted(settled.value for settled in SETTLED_STATUSES)), 0),
        else_=total_minor - paid_minor,
    )


def overdue_sql(as_of: date) -> ColumnElement[bool]:
    """``Invoice.is_overdue(as_of)`` of a stored invoice, in SQL: an unpaid status, something left to
    pay, due before ``as_of``. Every operand is NOT NULL, so its negation is exactly "not overdue"."""
    return and_(
        invoices.c.status.in_([status.value for status in InvoiceStatus if status.is_unpaid]),
        amount_due_sql(invoices.c.status, invoices.c.total_minor, invoices.c.paid_minor) > 0,
        invoices.c.due_at < as_of,
    )


def ageing_bucket_sql(due_at: ColumnElement[date], today: date) -> ColumnElement[str]:
    """``rules.ageing_bucket(due_at, today)`` in SQL: dates compared with thresholds computed here,
    so that the SQL is the same on every database."""
    limited = [(bucket, most_days) for bucket, most_days in AGEING_BUCKETS if most_days is not None]
    unlimited = next(bucket for bucket, most_days in AGEING_BUCKETS if most_days is None)
    return case(
        (due_at.is_(None), CURRENT),
        (due_at >= today, CURRENT),
        *((due_at >= today - timedelta(days=most_days), bucket) for bucket, most_days in limited),
        else_=unlimited,
    )


def in_scope(table: Table, customer_id: str | None) -> ColumnElement[bool]:
    """The customer filter that every scoped query carries (owner: no filter)."""
    return true() if customer_id is None else table.c.customer_id == customer_id


def dialect_insert(db: Connection) -> Callable[[Table], Any]:
    """INSERT with ON CONFLICT: both databases speak it, each through its own SQLAlchemy construct."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert: Callable[[Table], Any] = postgresql.insert if db.dialect.name == "postgresql" else sqlite.insert
    return insert


def invalid_cursor() -> InvalidArgument:
    return InvalidArgument(
        "The cursor does not belong to this listing (it is malformed, or the filters changed).",
        hint="Call the tool again without cursor, with the same filters, and page on from there.",
    )


def split_cursor(cursor: str) -> tuple[date, str]:
    """A keyset position ``<ISO date>|<tie-breaker>``, as the previous page wrote it."""
    day, separator, rest = cursor.partition("|")
    try:
        if not separator:
            raise ValueError(cursor)
        return date.fromisoformat(day), rest
    except ValueError:
        raise invalid_cursor() from None


def invoice_from_row(row: Mapping[Any, Any]) -> Invoice:
    """The normalized invoice of a stored invoice row."""
    currency = row["currency"]
    money = functools.partial(from_minor_units, currency=currency)
    lines = json.loads(row["lines_json"])
    total = row["total_minor"]
    paid = row["paid_minor"]
    return Invoice(
        provider=PROVIDER_ID,
        id=row["order_id"],
        number=row["number"],
        status=InvoiceStatus(row["status"]),
        provider_status=row["status"],
        currency=currency,
        issued_at=row["issued_at"],
        due_at=row["due_at"],
        paid_at=row["paid_at"],
        customer=Customer.model_validate_json(row["customer_json"]),
        billing=Billing.model_validate_json(row["billing_json"]),
        line_items=[
            LineItem(
                description=line["description"],
                quantity=Decimal(line["quantity"]),
                unit_amount=money(line["unit_minor"]),
                discount=money(line["discount_minor"]),
                tax=money(line["tax_minor"]),
                total=money(line["total_minor"]),
                period_start=line["period_start"],
                period_end=line["period_end"],
            )
            for line in lines
        ],
        subtotal=money(row["subtotal_minor"]),
        discount=money(row["discount_minor"]),
        tax=money(row["tax_minor"]),
        shipping=money(row["shipping_minor"]),
        total=money(total),
        amount_paid=money(paid),
        amount_due=settle(InvoiceStatus(row["status"]), money(total), currency, paid=money(paid)).due,
        documents=Documents(
            json_uri=f"invoice://{PROVIDER_ID}/{row['order_id']}",
            pdf_uri=f"invoice://{PROVIDER_ID}/{row['order_id']}/pdf",
        ),
    )


def summary_statements(conditions: list[ColumnElement[bool]], today: date) -> tuple[Select[Any], Select[Any]]:
    """``(grouped, oldest_unpaid)``: the aggregates by currency, status and ageing bucket, and the unpaid
    invoice that fell due first, over the invoices that meet ``conditions``."""
    bucket = ageing_bucket_sql(invoices.c.due_at, today)
    due = amount_due_sql(invoices.c.status, invoices.c.total_minor, invoices.c.paid_minor)
    matching = (
        select(
            invoices.c.currency,
            invoices.c.status,
            bucket.label("bucket"),
            invoices.c.total_minor,
            invoices.c.paid_minor,
            due.label("due_minor"),
        )
        .where(*conditions)
        .subquery()
    )
    grouped = select(
        matching.c.currency,
        matching.c.status,
        matching.c.bucket,
        func.count().label("count"),
        # SUM of BIGINT is NUMERIC on PostgreSQL: back to an integer count of minor units.
        cast(func.sum(matching.c.total_minor), BigInteger).label("total"),
        cast(func.sum(matching.c.paid_minor), BigInteger).label("paid"),
        cast(func.sum(matching.c.due_minor), BigInteger).label("due"),
    ).group_by(matching.c.currency, matching.c.status, matching.c.bucket)
    oldest_unpaid = (
        select(invoices)
        .where(
            *conditions,
            invoices.c.status.in_([status.value for status in InvoiceStatus if status.is_unpaid]),
            invoices.c.total_minor > invoices.c.paid_minor,
        )
        .order_by(invoices.c.due_at, invoices.c.issued_at, invoices.c.order_id)
        .limit(1)
    )
    return grouped, oldest_unpaid


def summary_group(row: RowMapping) -> SummaryGroup:
    currency = row["currency"]
    return SummaryGroup(
        currency=currency,
        status=InvoiceStatus(row["status"]),
        due_bucket=row["bucket"],
        count=row["count"],
        total=from_minor_units(row["total"], currency),
        paid=from_minor_units(row["paid"], currency),
        due=from_minor_units(row["due"], currency),
    )


def invoice_values(
    order: RowMapping,
    customer: RowMapping,
    billing: Billing,
    lines: list[ComputedLine],
    issued: date,
    sequence: int,
) -> dict[str, Any]:
    """The row of the invoice issued for ``order`` on ``issued`` with the year's number ``sequence``."""
    subtotal = sum(line.gross_minor for line in lines)
    discount = sum(line.discount_minor for line in lines)
    tax = sum(line.tax_minor for line in lines)
    total = subtotal - discount + tax + order["shipping_minor"]
    paid = order["status"] in ("paid", "refunded")
    terms = order["payment_terms_days"] or 0
    return {
        "order_id": order["id"],
        "customer_id": order["customer_id"],
        "number": f"INV-{issued.year}-{sequence:04d}",
        "year": issued.year,
        "sequence": sequence,
        "issued_at": issued,
        "due_at": issued + timedelta(days=terms),
        "currency": order["currency"],
        "subtotal_minor": subtotal,
        "discount_minor": discount,
        "tax_minor": tax,
        "shipping_minor": order["shipping_minor"],
        "total_minor": total,
        "customer_json": Customer(
            id=customer["id"], name=customer["name"], email=customer["email"]
        ).model_dump_json(),
        "billing_json": billing.model_dump_json(),
        "lines_json": json.dumps([_stored_line(line) for line in lines]),
        "status": {"paid": "paid", "refunded": "refunded"}.get(order["status"], "open"),
        "paid_minor": total if paid else 0,
        "paid_at": order["paid_at"] if paid else None,
    }


def _stored_line(line: ComputedLine) -> dict[str, Any]:
    return {
        "description": line.description,
        "quantity": str(line.quantity),
        "unit_minor": line.unit_minor,
        "discount_minor": line.discount_minor,
        "tax_minor": line.tax_minor,
        "total_minor": line.total_minor,
        "period_start": line.period_start,
        "period_end": line.period_end,
    }


# -- finding an invoice by id or printed number ------------------------------------------------------

_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


def fold_number(reference: str) -> str:
    """An invoice number as it is compared: ASCII letters upper-cased, nothing else changed.

    SQLite's ``upper()`` folds ASCII letters only; PostgreSQL's folds by its locale, so ``ı`` (dotless
    i) matched ``I`` there and not under SQLite. Numbers are ASCII (``INV-2026-0001``), so folding the
    reference here, in Python, and comparing it with ``upper(number)`` is the same rule on both.
    """
    return reference.strip().translate(_ASCII_UPPER)


# The hottest read (get_invoice), built once: a statement assembled per call costs more than the lookup.
INVOICE_BY_REFERENCE = (
    select(invoices)
    .where(
        or_(
            invoices.c.order_id == bindparam("reference"),
            # The reference is folded in Python (``fold_number``): one rule on every database.
            func.upper(invoices.c.number) == bindparam("number"),
        )
    )
    # An id wins over a number that happens to spell it.
    .order_by(case((invoices.c.order_id == bindparam("reference"), 0), else_=1))
    .limit(1)
)
CUSTOMERS_INVOICE_BY_REFERENCE = INVOICE_BY_REFERENCE.where(
    invoices.c.customer_id == bindparam("customer_id")
)
