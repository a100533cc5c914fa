"""The embedded ledger: customers, orders and the invoices generated from them.

It lives in the server's database (``mcp_invoices.storage``): one SQLite file by default,
PostgreSQL when several replicas share it. Synchronous on purpose: every method runs in a worker
thread (see ``provider.py``), never on the event loop. Amounts are stored as integer minor units,
quantities and tax rates as exact decimal strings, so nothing stored is a binary float.

Invariants the schema itself enforces (see ``storage/migrations``):
- an order has at most one invoice (``invoices.order_id`` is the primary key);
- an issued invoice's content never changes (triggers refuse updates of it, deletes and replacements).

Invariants the transactions keep, across threads, processes and replicas alike:
- invoice numbers are gapless per year: the year's counter in ``invoice_sequences`` is bumped by an
  upsert in the same transaction that inserts the invoice, so a refused or failed generation
  allocates nothing, and the counter's row lock queues concurrent generations;
- an order is invoiced once: its row is locked (``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR
  UPDATE`` on PostgreSQL) before its existing invoice is looked for, so a second concurrent call
  waits and then finds the first one's invoice.

Every customer-facing query carries the caller's scope; pages are keyset-paginated; summaries are
aggregated by the database (``summarize``), not by loading invoices.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, Table, case, cast, func, select, true, tuple_
from sqlalchemy.engine import RowMapping

from mcp_invoices.domain.errors import (
    InvalidArgument,
    MissingBillingDetails,
    NotPaid,
    not_found,
)
from mcp_invoices.domain.models import (
    Address,
    Billing,
    Customer,
    Documents,
    Invoice,
    InvoiceFilter,
    InvoiceStatus,
    LineItem,
    Order,
    OrderLine,
    Page,
)
from mcp_invoices.domain.money import from_minor_units, quantize, to_minor_units
from mcp_invoices.domain.rules import AGEING_BUCKETS, CURRENT, SETTLED_STATUSES, settle
from mcp_invoices.domain.summary import InvoicesSummary, SummaryGroup, summarize_groups
from mcp_invoices.storage import Database, open_database
from mcp_invoices.storage.schema import customers, invoice_sequences, invoices, meta, order_lines, orders

__all__ = ["PROVIDER_ID", "Ledger", "NewOrder", "NewOrderLine", "SellerProfile"]

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
class _ComputedLine:
    description: str
    quantity: Decimal
    unit_minor: int
    discount_minor: int
    tax_minor: int
    gross_minor: int
    total_minor: int
    period_start: str | None
    period_end: str | None


def _compute_line(row: RowMapping, currency: str) -> _ComputedLine:
    """Price one order line exactly: gross, minus discount, plus tax rounded half-even per line."""
    quantity = Decimal(row["quantity"])
    unit = from_minor_units(row["unit_minor"], currency)
    gross = quantize(quantity * unit, currency)
    discount = from_minor_units(row["discount_minor"], currency)
    tax = quantize((gross - discount) * Decimal(row["tax_rate"]) / 100, currency)
    return _ComputedLine(
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


def _billing_from_order(row: RowMapping) -> Billing:
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


def _in_scope(table: Table, customer_id: str | None) -> ColumnElement[bool]:
    """The customer filter that every scoped query carries (owner: no filter)."""
    return true() if customer_id is None else table.c.customer_id == customer_id


def _dialect_insert(db: Connection) -> Callable[[Table], Any]:
    """INSERT with ON CONFLICT: both databases speak it, each through its own SQLAlchemy construct."""
    if db.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _invalid_cursor() -> InvalidArgument:
    return InvalidArgument(
        "The cursor does not belong to this listing (it is malformed, or the filters changed).",
        hint="Call the tool again without cursor, with the same filters, and page on from there.",
    )


def _split_cursor(cursor: str) -> tuple[date, str]:
    """A keyset position ``<ISO date>|<tie-breaker>``, as the previous page wrote it."""
    day, separator, rest = cursor.partition("|")
    try:
        if not separator:
            raise ValueError(cursor)
        return date.fromisoformat(day), rest
    except ValueError:
        raise _invalid_cursor() from None


class Ledger:
    """The ledger on one database. Thread-safe: connections come from the engine's pool."""

    def __init__(self, location: str | Path | Database, *, auto_migrate: bool = False) -> None:
        self._owns_database = not isinstance(location, Database)
        self.database = open_database(location, auto_migrate=auto_migrate)
        self.path = self.database.sqlite_path
        """The SQLite file, when the ledger is one (None on PostgreSQL)."""

    def close(self) -> None:
        if self._owns_database:
            self.database.close()

    # -- meta and seeding --------------------------------------------------------------------

    def is_empty(self) -> bool:
        with self.database.read() as db:
            return db.execute(select(customers.c.id).limit(1)).first() is None

    def claim_seeding(self) -> bool:
        """True for exactly one opener of a new, empty ledger: two processes never both seed it.

        The claim is a row in ``meta`` inserted with ON CONFLICT DO NOTHING: a second claimant
        waits on the first one's uncommitted row, then finds it and backs off.
        """
        with self.database.write() as db:
            if db.execute(select(customers.c.id).limit(1)).first() is not None:
                return False
            claim = (
                _dialect_insert(db)(meta)
                .values(key="seeded", value="sample")
                .on_conflict_do_nothing(index_elements=[meta.c.key])
                .returning(meta.c.key)
            )
            return db.execute(claim).first() is not None

    def set_seller(self, seller: SellerProfile) -> None:
        value = json.dumps(
            {
                "name": seller.name,
                "address_lines": list(seller.address_lines),
                "email": seller.email,
                "tax_id": seller.tax_id,
            }
        )
        with self.database.write() as db:
            insert = _dialect_insert(db)(meta).values(key="seller", value=value)
            db.execute(
                insert.on_conflict_do_update(
                    index_elements=[meta.c.key], set_={"value": insert.excluded.value}
                )
            )

    def seller(self) -> SellerProfile | None:
        with self.database.read() as db:
            value = db.execute(select(meta.c.value).where(meta.c.key == "seller")).scalar()
        if value is None:
            return None
        data = json.loads(value)
        return SellerProfile(
            name=data["name"],
            address_lines=tuple(data.get("address_lines") or ()),
            email=data.get("email"),
            tax_id=data.get("tax_id"),
        )

    def add_customer(self, customer_id: str, name: str, email: str | None, created_at: date) -> None:
        with self.database.write() as db:
            db.execute(
                customers.insert().values(id=customer_id, name=name, email=email, created_at=created_at)
            )

    def add_order(self, order: NewOrder) -> None:
        billing = order.billing or Billing()
        address = billing.address or Address()
        with self.database.write() as db:
            db.execute(
                orders.insert().values(
                    id=order.id,
                    customer_id=order.customer_id,
                    created_at=order.created_at,
                    currency=order.currency,
                    status=order.status,
                    paid_at=order.paid_at,
                    payment_terms_days=order.payment_terms_days,
                    shipping_minor=to_minor_units(order.shipping, order.currency),
                    billing_name=billing.name,
                    billing_line1=address.line1,
                    billing_line2=address.line2,
                    billing_postal_code=address.postal_code,
                    billing_city=address.city,
                    billing_state=address.state,
                    billing_country=address.country,
                )
            )
            db.execute(
                order_lines.insert(),
                [
                    {
                        "order_id": order.id,
                        "position": position,
                        "description": line.description,
                        "quantity": str(line.quantity),
                        "unit_minor": to_minor_units(line.unit_amount, order.currency),
                        "discount_minor": to_minor_units(line.discount, order.currency),
                        "tax_rate": str(line.tax_rate),
                        "period_start": line.period_start,
                        "period_end": line.period_end,
                    }
                    for position, line in enumerate(order.lines, start=1)
                ],
            )

    # -- orders ------------------------------------------------------------------------------

    def _order_row(
        self, db: Connection, customer_id: str | None, order_id: str, *, lock: bool = False
    ) -> RowMapping:
        query = select(orders).where(orders.c.id == order_id, _in_scope(orders, customer_id))
        if lock:
            query = query.with_for_update()  # PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the lock
        row = db.execute(query).mappings().first()
        if row is None:
            raise not_found("order", order_id)
        return row

    def _lines(self, db: Connection, order_id: str, currency: str) -> list[_ComputedLine]:
        rows = db.execute(
            select(order_lines).where(order_lines.c.order_id == order_id).order_by(order_lines.c.position)
        ).mappings()
        return [_compute_line(row, currency) for row in rows]

    def _order_model(self, db: Connection, row: RowMapping) -> Order:
        currency = row["currency"]
        lines = self._lines(db, row["id"], currency)
        invoiced = db.execute(select(invoices.c.order_id).where(invoices.c.order_id == row["id"])).first()
        money = lambda minor: from_minor_units(minor, currency)
        subtotal = sum(line.gross_minor for line in lines)
        discount = sum(line.discount_minor for line in lines)
        tax = sum(line.tax_minor for line in lines)
        return Order(
            provider=PROVIDER_ID,
            id=row["id"],
            created_at=row["created_at"],
            status=row["status"],
            paid=row["status"] in ("paid", "refunded"),
            currency=currency,
            subtotal=money(subtotal),
            discount=money(discount),
            tax=money(tax),
            shipping=money(row["shipping_minor"]),
            total=money(subtotal - discount + tax + row["shipping_minor"]),
            billing=_billing_from_order(row),
            invoice="generated" if invoiced else "none",
            lines=[
                OrderLine(
                    description=line.description,
                    quantity=line.quantity,
                    unit_amount=money(line.unit_minor),
                    discount=money(line.discount_minor),
                    tax=money(line.tax_minor),
                    total=money(line.total_minor),
                )
                for line in lines
            ],
        )

    def list_orders(self, customer_id: str | None, *, limit: int, cursor: str | None) -> Page[Order]:
        query = select(orders).where(_in_scope(orders, customer_id))
        if cursor is not None:
            created_at, order_id = _split_cursor(cursor)
            query = query.where(tuple_(orders.c.created_at, orders.c.id) < tuple_(created_at, order_id))
        query = query.order_by(orders.c.created_at.desc(), orders.c.id.desc()).limit(limit + 1)
        with self.database.read() as db:
            rows = db.execute(query).mappings().all()
            more = len(rows) > limit
            rows = rows[:limit]
            items = [self._order_model(db, row) for row in rows]
        next_cursor = f"{rows[-1]['created_at'].isoformat()}|{rows[-1]['id']}" if more else None
        return Page[Order](items=items, next_cursor=next_cursor)

    def get_order(self, customer_id: str | None, order_id: str) -> Order:
        with self.database.read() as db:
            return self._order_model(db, self._order_row(db, customer_id, order_id))

    # -- invoices ----------------------------------------------------------------------------

    def _invoice_model(self, row: RowMapping) -> Invoice:
        currency = row["currency"]
        money = lambda minor: from_minor_units(minor, currency)
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

    def get_invoice(self, customer_id: str | None, invoice_id: str) -> Invoice:
        query = select(invoices).where(invoices.c.order_id == invoice_id, _in_scope(invoices, customer_id))
        with self.database.read() as db:
            row = db.execute(query).mappings().first()
        if row is None:
            raise not_found("invoice", invoice_id)
        return self._invoice_model(row)

    def _filter(self, customer_id: str | None, query: InvoiceFilter) -> list[ColumnElement[bool]]:
        conditions = [_in_scope(invoices, customer_id)]
        if query.status is not None:
            conditions.append(invoices.c.status == query.status.value)
        if query.issued_after is not None:
            conditions.append(invoices.c.issued_at >= query.issued_after)
        if query.issued_before is not None:
            conditions.append(invoices.c.issued_at <= query.issued_before)
        return conditions

    def list_invoices(
        self, customer_id: str | None, query: InvoiceFilter, *, limit: int, cursor: str | None
    ) -> Page[Invoice]:
        statement = select(invoices).where(*self._filter(customer_id, query))
        if cursor is not None:
            issued_at, sequence = _split_cursor(cursor)
            if not sequence.isdigit():
                raise _invalid_cursor()
            statement = statement.where(
                tuple_(invoices.c.issued_at, invoices.c.sequence) < tuple_(issued_at, int(sequence))
            )
        statement = statement.order_by(invoices.c.issued_at.desc(), invoices.c.sequence.desc())
        statement = statement.limit(limit + 1)
        with self.database.read() as db:
            rows = db.execute(statement).mappings().all()
        more = len(rows) > limit
        rows = rows[:limit]
        # (issue date, sequence) is unique and orders like the numbers, even past 9,999 a year.
        next_cursor = f"{rows[-1]['issued_at'].isoformat()}|{rows[-1]['sequence']}" if more else None
        return Page[Invoice](items=[self._invoice_model(row) for row in rows], next_cursor=next_cursor)

    def summarize(self, customer_id: str | None, query: InvoiceFilter, today: date) -> InvoicesSummary:
        """Aggregates over every matching invoice, computed by the database (only the oldest is loaded)."""
        conditions = self._filter(customer_id, query)
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
                invoices.c.status.in_(("open", "partially_paid")),
                invoices.c.total_minor > invoices.c.paid_minor,
            )
            .order_by(invoices.c.due_at, invoices.c.issued_at, invoices.c.order_id)
            .limit(1)
        )
        with self.database.read() as db:
            rows = db.execute(grouped).mappings().all()
            oldest = db.execute(oldest_unpaid).mappings().first()
        groups = [
            SummaryGroup(
                currency=row["currency"],
                status=InvoiceStatus(row["status"]),
                due_bucket=row["bucket"],
                count=row["count"],
                total=from_minor_units(row["total"], row["currency"]),
                paid=from_minor_units(row["paid"], row["currency"]),
                due=from_minor_units(row["due"], row["currency"]),
            )
            for row in rows
        ]
        return summarize_groups(groups, self._invoice_model(oldest) if oldest else None, today)

    def generate_invoice(
        self,
        customer_id: str | None,
        order_id: str,
        *,
        billing: Billing | None,
        today: date | None = None,
    ) -> Invoice:
        """Issue the invoice of an order, or return the one it already has (never a second).

        Everything happens in one write transaction: locking the order, the existence check, the
        billing update, the number allocation and the insert. Two concurrent calls for one order
        therefore serialize on the order's lock, and the second finds the first one's invoice.
        """
        issued = today or datetime.now(UTC).date()
        with self.database.write() as db:
            order = self._order_row(db, customer_id, order_id, lock=True)
            existing = db.execute(select(invoices).where(invoices.c.order_id == order_id)).mappings().first()
            if existing is not None:
                return self._invoice_model(existing)
            status = order["status"]
            if status == "void":
                raise InvalidArgument(
                    f"Order {order_id!r} is void, so it cannot be invoiced.",
                    hint="A void order was cancelled; call list_orders to pick another order.",
                )
            if status == "draft" or (status == "pending" and order["payment_terms_days"] is None):
                raise NotPaid(
                    f"Order {order_id!r} is not paid yet, and its invoice is issued once it is paid.",
                    hint="Wait for the payment, then call generate_invoice again.",
                )
            if billing is not None:
                self._update_billing(db, order, billing)
                order = self._order_row(db, customer_id, order_id)
            order_billing = _billing_from_order(order)
            if not order_billing.is_complete():
                raise MissingBillingDetails(
                    f"Order {order_id!r} has no complete billing name and address, which an invoice needs.",
                    hint="Call generate_invoice again with billing_name and billing_address "
                    "(at least line1 and country).",
                )
            return self._issue(db, order, order_billing, issued)

    def _update_billing(self, db: Connection, order: RowMapping, billing: Billing) -> None:
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

    def _next_number(self, db: Connection, year: int) -> int:
        """The year's next sequence number, allocated in the caller's transaction.

        The upsert locks the year's counter row until the transaction ends: concurrent
        generations queue here, and a rollback returns the number, so there is never a gap.
        """
        insert = _dialect_insert(db)(invoice_sequences).values(year=year, last=1)
        allocate = insert.on_conflict_do_update(
            index_elements=[invoice_sequences.c.year], set_={"last": invoice_sequences.c.last + 1}
        ).returning(invoice_sequences.c.last)
        return int(db.execute(allocate).scalar_one())

    def _issue(self, db: Connection, order: RowMapping, billing: Billing, issued: date) -> Invoice:
        currency = order["currency"]
        lines = self._lines(db, order["id"], currency)
        sequence = self._next_number(db, issued.year)
        customer = (
            db.execute(select(customers).where(customers.c.id == order["customer_id"])).mappings().one()
        )
        subtotal = sum(line.gross_minor for line in lines)
        discount = sum(line.discount_minor for line in lines)
        tax = sum(line.tax_minor for line in lines)
        total = subtotal - discount + tax + order["shipping_minor"]
        paid = order["status"] in ("paid", "refunded")
        terms = order["payment_terms_days"] or 0
        db.execute(
            invoices.insert().values(
                order_id=order["id"],
                customer_id=order["customer_id"],
                number=f"INV-{issued.year}-{sequence:04d}",
                year=issued.year,
                sequence=sequence,
                issued_at=issued,
                due_at=issued + timedelta(days=terms),
                currency=currency,
                subtotal_minor=subtotal,
                discount_minor=discount,
                tax_minor=tax,
                shipping_minor=order["shipping_minor"],
                total_minor=total,
                customer_json=Customer(
                    id=customer["id"], name=customer["name"], email=customer["email"]
                ).model_dump_json(),
                billing_json=billing.model_dump_json(),
                lines_json=json.dumps(
                    [
                        {
                            "description": line.description,
                            "quantity": str(line.quantity),
                            "unit_minor": line.unit_minor,
                            "discount_minor": line.discount_minor,
                            "tax_minor": line.tax_minor,
                            "total_minor": line.total_minor,
                            "period_start": line.period_start,
                            "period_end": line.period_end,
                        }
                        for line in lines
                    ]
                ),
                status={"paid": "paid", "refunded": "refunded"}.get(order["status"], "open"),
                paid_minor=total if paid else 0,
                paid_at=order["paid_at"] if paid else None,
            )
        )
        row = db.execute(select(invoices).where(invoices.c.order_id == order["id"])).mappings().one()
        return self._invoice_model(row)

    def record_payment(self, invoice_id: str, amount: Decimal, paid_at: datetime) -> Invoice:
        """Record a payment against an open invoice (used by the seed data and by tests)."""
        with self.database.write() as db:
            row = (
                db.execute(select(invoices).where(invoices.c.order_id == invoice_id).with_for_update())
                .mappings()
                .first()
            )
            if row is None:
                raise not_found("invoice", invoice_id)
            paid = row["paid_minor"] + to_minor_units(amount, row["currency"])
            status = "paid" if paid >= row["total_minor"] else "partially_paid"
            db.execute(
                invoices.update()
                .where(invoices.c.order_id == invoice_id)
                .values(paid_minor=paid, status=status, paid_at=paid_at if status == "paid" else None)
            )
            if status == "paid":
                db.execute(
                    orders.update().where(orders.c.id == invoice_id).values(status="paid", paid_at=paid_at)
                )
            row = db.execute(select(invoices).where(invoices.c.order_id == invoice_id)).mappings().one()
            return self._invoice_model(row)
