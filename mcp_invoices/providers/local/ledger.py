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

import functools
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import ColumnElement, Connection, func, not_, select, tuple_
from sqlalchemy.engine import RowMapping

from mcp_invoices.domain.errors import (
    MissingBillingDetails,
    not_found,
)
from mcp_invoices.domain.models import (
    Address,
    Billing,
    Invoice,
    InvoiceFilter,
    Order,
    OrderLine,
    Page,
)
from mcp_invoices.domain.money import from_minor_units, to_minor_units
from mcp_invoices.domain.summary import InvoicesSummary, summarize_groups
from mcp_invoices.providers.local.issuing import check_invoiceable, next_number, update_billing
from mcp_invoices.providers.local.records import (
    CUSTOMERS_INVOICE_BY_REFERENCE,
    INVOICE_BY_REFERENCE,
    PROVIDER_ID,
    ComputedLine,
    NewOrder,
    NewOrderLine,
    SellerProfile,
    billing_from_order,
    compute_line,
    dialect_insert,
    fold_number,
    in_scope,
    invalid_cursor,
    invoice_from_row,
    invoice_values,
    overdue_sql,
    split_cursor,
    summary_group,
    summary_statements,
)
from mcp_invoices.storage import Database, open_database
from mcp_invoices.storage.schema import customers, invoices, meta, order_lines, orders

__all__ = ["PROVIDER_ID", "Ledger", "NewOrder", "NewOrderLine", "SellerProfile", "fold_number"]


class Ledger:
    """The ledger on one database. Thread-safe: connections come from the engine's pool."""

    def __init__(self, location: str | Path | Database, *, auto_migrate: bool = False) -> None:
        self._owns_database = not isinstance(location, Database)
        self.database = open_database(location, auto_migrate=auto_migrate)
        self.path = self.database.sqlite_path
        """The SQLite file, when the ledger is one (None on PostgreSQL)."""
        self._invoice_by_reference = self.database.prepare(INVOICE_BY_REFERENCE)
        self._customers_invoice_by_reference = self.database.prepare(CUSTOMERS_INVOICE_BY_REFERENCE)

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
                dialect_insert(db)(meta)
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
            insert = dialect_insert(db)(meta).values(key="seller", value=value)
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

    def customer_by_email(self, email: str) -> str | None:
        """The id of the one customer whose address is ``email`` (case-insensitive); None for none or several."""
        query = select(customers.c.id).where(func.lower(customers.c.email) == email.strip().lower()).limit(2)
        with self.database.read() as db:
            ids = [row[0] for row in db.execute(query)]
        return ids[0] if len(ids) == 1 else None

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
        query = select(orders).where(orders.c.id == order_id, in_scope(orders, customer_id))
        if lock:
            query = query.with_for_update()  # PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the lock
        row = db.execute(query).mappings().first()
        if row is None:
            raise not_found("order", order_id)
        return row

    def _lines(self, db: Connection, order_id: str, currency: str) -> list[ComputedLine]:
        rows = db.execute(
            select(order_lines).where(order_lines.c.order_id == order_id).order_by(order_lines.c.position)
        ).mappings()
        return [compute_line(row, currency) for row in rows]

    def _order_model(self, db: Connection, row: RowMapping) -> Order:
        currency = row["currency"]
        lines = self._lines(db, row["id"], currency)
        invoiced = db.execute(select(invoices.c.order_id).where(invoices.c.order_id == row["id"])).first()
        money = functools.partial(from_minor_units, currency=currency)
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
            billing=billing_from_order(row),
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
        query = select(orders).where(in_scope(orders, customer_id))
        if cursor is not None:
            created_at, order_id = split_cursor(cursor)
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

    def get_invoice(self, customer_id: str | None, invoice_id: str) -> Invoice:
        query = select(invoices).where(invoices.c.order_id == invoice_id, in_scope(invoices, customer_id))
        with self.database.read() as db:
            row = db.execute(query).mappings().first()
        if row is None:
            raise not_found("invoice", invoice_id)
        return invoice_from_row(row)

    def find_invoice(self, customer_id: str | None, reference: str) -> Invoice:
        """The scope's invoice whose id is ``reference``, else whose number is (any case): one query.

        Both lookups are indexed: the id by the primary key, the number by ``invoices_by_number``
        (on ``upper(number)``, the very expression compared here, so both databases use it).
        """
        parameters = {"reference": reference, "number": fold_number(reference)}
        if customer_id is None:
            row = self._invoice_by_reference.first(parameters)
        else:
            row = self._customers_invoice_by_reference.first(parameters | {"customer_id": customer_id})
        if row is None:
            raise not_found("invoice", reference)
        return invoice_from_row(row)

    def _filter(self, customer_id: str | None, query: InvoiceFilter) -> list[ColumnElement[bool]]:
        conditions = [in_scope(invoices, customer_id)]
        if query.status is not None:
            conditions.append(invoices.c.status == query.status.value)
        if query.issued_after is not None:
            conditions.append(invoices.c.issued_at >= query.issued_after)
        if query.issued_before is not None:
            conditions.append(invoices.c.issued_at <= query.issued_before)
        if query.due_after is not None:
            conditions.append(invoices.c.due_at >= query.due_after)
        if query.due_before is not None:
            conditions.append(invoices.c.due_at <= query.due_before)
        if query.overdue is not None:
            assert query.as_of is not None  # InvoiceFilter guarantees it
            conditions.append(overdue_sql(query.as_of) if query.overdue else not_(overdue_sql(query.as_of)))
        return conditions

    def list_invoices(
        self, customer_id: str | None, query: InvoiceFilter, *, limit: int, cursor: str | None
    ) -> Page[Invoice]:
        statement = select(invoices).where(*self._filter(customer_id, query))
        if cursor is not None:
            issued_at, sequence = split_cursor(cursor)
            if not (sequence.isascii() and sequence.isdigit()) or len(sequence) > 9:  # "²" passes isdigit()
                raise invalid_cursor()
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
        return Page[Invoice](items=[invoice_from_row(row) for row in rows], next_cursor=next_cursor)

    def summarize(self, customer_id: str | None, query: InvoiceFilter, today: date) -> InvoicesSummary:
        """Aggregates over every matching invoice, computed by the database (only the oldest is loaded)."""
        grouped, oldest_unpaid = summary_statements(self._filter(customer_id, query), today)
        with self.database.read() as db:
            rows = db.execute(grouped).mappings().all()
            oldest = db.execute(oldest_unpaid).mappings().first()
        groups = [summary_group(row) for row in rows]
        return summarize_groups(groups, invoice_from_row(oldest) if oldest else None, today)

    def generate_invoice(
        self,
        customer_id: str | None,
        order_id: str,
        *,
        billing: Billing | None,
        today: date | None = None,
    ) -> Invoice:
        """The invoice of an order, issued now or found (``issue_invoice`` without saying which)."""
        return self.issue_invoice(customer_id, order_id, billing=billing, today=today)[0]

    def issue_invoice(
        self,
        customer_id: str | None,
        order_id: str,
        *,
        billing: Billing | None,
        today: date | None = None,
    ) -> tuple[Invoice, bool]:
        """Issue the invoice of an order, or return the one it already has (never a second); the flag
        says whether this call issued it.

        Everything happens in one write transaction: locking the order, the existence check, the
        billing update, the number allocation and the insert. Two concurrent calls for one order
        therefore serialize on the order's lock, and the second finds the first one's invoice.
        """
        issued = today or datetime.now(UTC).date()
        with self.database.write() as db:
            order = self._order_row(db, customer_id, order_id, lock=True)
            existing = db.execute(select(invoices).where(invoices.c.order_id == order_id)).mappings().first()
            if existing is not None:
                return invoice_from_row(existing), False
            check_invoiceable(order)
            if billing is not None:
                update_billing(db, order, billing)
                order = self._order_row(db, customer_id, order_id)
            order_billing = billing_from_order(order)
            if not order_billing.is_complete():
                raise MissingBillingDetails(
                    f"Order {order_id!r} has no complete billing name and address, which an invoice needs.",
                    hint="Call generate_invoice again with billing_name and billing_address "
                    "(at least line1 and country).",
                )
            return self._issue(db, order, order_billing, issued), True

    def _issue(self, db: Connection, order: RowMapping, billing: Billing, issued: date) -> Invoice:
        lines = self._lines(db, order["id"], order["currency"])
        sequence = next_number(db, issued.year)
        customer = (
            db.execute(select(customers).where(customers.c.id == order["customer_id"])).mappings().one()
        )
        db.execute(
            invoices.insert().values(**invoice_values(order, customer, billing, lines, issued, sequence))
        )
        row = db.execute(select(invoices).where(invoices.c.order_id == order["id"])).mappings().one()
        return invoice_from_row(row)

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
            return invoice_from_row(row)
