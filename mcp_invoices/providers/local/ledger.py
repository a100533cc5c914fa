"""The embedded ledger: customers, orders and the invoices generated from them, in one SQLite file.

Synchronous on purpose: every method runs in a worker thread (see ``provider.py``), never on the
event loop. Amounts are stored as integer minor units, quantities and tax rates as decimal
strings, so nothing in the file is a binary float.

Invariants the schema itself enforces:
- an order has at most one invoice (``invoices.order_id`` is the primary key);
- invoice numbers are gapless per year (``invoice_sequences`` is bumped in the same
  ``BEGIN IMMEDIATE`` transaction that inserts the invoice);
- an issued invoice's content never changes (triggers refuse updates of it, deletes and replacements).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

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
from mcp_invoices.domain.summary import InvoicesSummary, SummaryGroup, summarize_groups

__all__ = ["PROVIDER_ID", "Ledger", "NewOrder", "NewOrderLine", "SellerProfile"]

PROVIDER_ID = "local"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS customers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id                 TEXT PRIMARY KEY,
    customer_id        TEXT NOT NULL REFERENCES customers(id),
    created_at         TEXT NOT NULL,
    currency           TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('draft', 'pending', 'paid', 'refunded', 'void')),
    paid_at            TEXT,
    payment_terms_days INTEGER CHECK (payment_terms_days IS NULL OR payment_terms_days >= 0),
    shipping_minor     INTEGER NOT NULL DEFAULT 0,
    billing_name       TEXT,
    billing_line1      TEXT,
    billing_line2      TEXT,
    billing_postal_code TEXT,
    billing_city       TEXT,
    billing_state      TEXT,
    billing_country    TEXT
);
CREATE INDEX IF NOT EXISTS orders_by_customer ON orders (customer_id, created_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS order_lines (
    order_id       TEXT NOT NULL REFERENCES orders(id),
    position       INTEGER NOT NULL,
    description    TEXT NOT NULL,
    quantity       TEXT NOT NULL,
    unit_minor     INTEGER NOT NULL,
    discount_minor INTEGER NOT NULL DEFAULT 0,
    tax_rate       TEXT NOT NULL DEFAULT '0',
    period_start   TEXT,
    period_end     TEXT,
    PRIMARY KEY (order_id, position)
);
CREATE TABLE IF NOT EXISTS invoice_sequences (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS invoices (
    order_id       TEXT PRIMARY KEY REFERENCES orders(id),
    customer_id    TEXT NOT NULL REFERENCES customers(id),
    number         TEXT NOT NULL UNIQUE,
    year           INTEGER NOT NULL,
    sequence       INTEGER NOT NULL,
    issued_at      TEXT NOT NULL,
    due_at         TEXT NOT NULL,
    currency       TEXT NOT NULL,
    subtotal_minor INTEGER NOT NULL,
    discount_minor INTEGER NOT NULL,
    tax_minor      INTEGER NOT NULL,
    shipping_minor INTEGER NOT NULL,
    total_minor    INTEGER NOT NULL,
    customer_json  TEXT NOT NULL,
    billing_json   TEXT NOT NULL,
    lines_json     TEXT NOT NULL,
    -- Payment state may move after issue; everything above may not.
    status         TEXT NOT NULL,
    paid_minor     INTEGER NOT NULL,
    paid_at        TEXT,
    UNIQUE (year, sequence)
);
CREATE INDEX IF NOT EXISTS invoices_by_customer_date ON invoices (customer_id, issued_at DESC, sequence DESC);
CREATE INDEX IF NOT EXISTS invoices_by_issue_date ON invoices (issued_at DESC, sequence DESC);
CREATE TRIGGER IF NOT EXISTS invoices_are_immutable
BEFORE UPDATE OF order_id, customer_id, number, year, sequence, issued_at, due_at, currency,
    subtotal_minor, discount_minor, tax_minor, shipping_minor, total_minor,
    customer_json, billing_json, lines_json ON invoices
BEGIN
    SELECT RAISE(ABORT, 'an issued invoice is immutable');
END;
CREATE TRIGGER IF NOT EXISTS invoices_are_never_deleted
BEFORE DELETE ON invoices
BEGIN
    SELECT RAISE(ABORT, 'an issued invoice cannot be deleted');
END;
-- INSERT OR REPLACE deletes the old row without firing delete triggers: refuse it up front.
CREATE TRIGGER IF NOT EXISTS invoices_are_never_replaced
BEFORE INSERT ON invoices
WHEN EXISTS (SELECT 1 FROM invoices WHERE order_id = NEW.order_id OR number = NEW.number
             OR (year = NEW.year AND sequence = NEW.sequence))
BEGIN
    SELECT RAISE(ABORT, 'an issued invoice is immutable');
END;
"""


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


def _compute_line(row: sqlite3.Row, currency: str) -> _ComputedLine:
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
        period_start=row["period_start"],
        period_end=row["period_end"],
    )


def _billing_from_order(row: sqlite3.Row) -> Billing:
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


def _scope_clause(customer_id: str | None, column: str = "customer_id") -> tuple[str, tuple[str, ...]]:
    """The customer filter that every scoped query carries (owner: no filter)."""
    if customer_id is None:
        return "1 = 1", ()
    return f"{column} = ?", (customer_id,)


class Ledger:
    """The SQLite ledger. Thread-safe: each worker thread keeps its own connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        # executescript manages its own transaction; the script is idempotent (IF NOT EXISTS).
        self._connection().executescript(
            f"BEGIN IMMEDIATE;{_SCHEMA}"
            f"INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}');COMMIT;"
        )

    # -- connections -------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA synchronous = NORMAL")
            self._local.db = db
            with self._connections_lock:
                self._connections.append(db)
        return db

    @contextmanager
    def _transaction(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE for writes: concurrent writers queue instead of failing late."""
        db = self._connection()
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        else:
            db.execute("COMMIT")

    def close(self) -> None:
        with self._connections_lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()

    # -- meta and seeding --------------------------------------------------------------------

    def is_empty(self) -> bool:
        db = self._connection()
        return db.execute("SELECT NOT EXISTS (SELECT 1 FROM customers)").fetchone()[0] == 1

    def claim_seeding(self) -> bool:
        """True for exactly one opener of a new, empty ledger: two processes never both seed it."""
        with self._transaction() as db:
            if db.execute("SELECT EXISTS (SELECT 1 FROM customers)").fetchone()[0]:
                return False
            claimed = db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('seeded', 'sample')")
            return claimed.rowcount == 1

    def set_seller(self, seller: SellerProfile) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('seller', ?)",
                (
                    json.dumps(
                        {
                            "name": seller.name,
                            "address_lines": list(seller.address_lines),
                            "email": seller.email,
                            "tax_id": seller.tax_id,
                        }
                    ),
                ),
            )

    def seller(self) -> SellerProfile | None:
        row = self._connection().execute("SELECT value FROM meta WHERE key = 'seller'").fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        return SellerProfile(
            name=data["name"],
            address_lines=tuple(data.get("address_lines") or ()),
            email=data.get("email"),
            tax_id=data.get("tax_id"),
        )

    def add_customer(self, customer_id: str, name: str, email: str | None, created_at: date) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO customers (id, name, email, created_at) VALUES (?, ?, ?, ?)",
                (customer_id, name, email, created_at.isoformat()),
            )

    def customer_exists(self, customer_id: str) -> bool:
        row = self._connection().execute("SELECT 1 FROM customers WHERE id = ?", (customer_id,)).fetchone()
        return row is not None

    def add_order(self, order: NewOrder) -> None:
        billing = order.billing or Billing()
        address = billing.address or Address()
        with self._transaction() as db:
            db.execute(
                """INSERT INTO orders (id, customer_id, created_at, currency, status, paid_at,
                       payment_terms_days, shipping_minor, billing_name, billing_line1, billing_line2,
                       billing_postal_code, billing_city, billing_state, billing_country)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    order.id,
                    order.customer_id,
                    order.created_at.isoformat(),
                    order.currency,
                    order.status,
                    order.paid_at.isoformat() if order.paid_at else None,
                    order.payment_terms_days,
                    to_minor_units(order.shipping, order.currency),
                    billing.name,
                    address.line1,
                    address.line2,
                    address.postal_code,
                    address.city,
                    address.state,
                    address.country,
                ),
            )
            db.executemany(
                """INSERT INTO order_lines (order_id, position, description, quantity, unit_minor,
                       discount_minor, tax_rate, period_start, period_end)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    (
                        order.id,
                        position,
                        line.description,
                        str(line.quantity),
                        to_minor_units(line.unit_amount, order.currency),
                        to_minor_units(line.discount, order.currency),
                        str(line.tax_rate),
                        line.period_start.isoformat() if line.period_start else None,
                        line.period_end.isoformat() if line.period_end else None,
                    )
                    for position, line in enumerate(order.lines, start=1)
                ],
            )

    # -- orders ------------------------------------------------------------------------------

    def _order_row(self, db: sqlite3.Connection, customer_id: str | None, order_id: str) -> sqlite3.Row:
        clause, args = _scope_clause(customer_id)
        row = db.execute(f"SELECT * FROM orders WHERE id = ? AND {clause}", (order_id, *args)).fetchone()
        if row is None:
            raise not_found("order", order_id)
        return row

    def _lines(self, db: sqlite3.Connection, order_id: str, currency: str) -> list[_ComputedLine]:
        rows = db.execute("SELECT * FROM order_lines WHERE order_id = ? ORDER BY position", (order_id,))
        return [_compute_line(row, currency) for row in rows]

    def _order_model(self, db: sqlite3.Connection, row: sqlite3.Row) -> Order:
        currency = row["currency"]
        lines = self._lines(db, row["id"], currency)
        invoiced = db.execute("SELECT 1 FROM invoices WHERE order_id = ?", (row["id"],)).fetchone()
        money = lambda minor: from_minor_units(minor, currency)
        subtotal = sum(line.gross_minor for line in lines)
        discount = sum(line.discount_minor for line in lines)
        tax = sum(line.tax_minor for line in lines)
        return Order(
            provider=PROVIDER_ID,
            id=row["id"],
            created_at=date.fromisoformat(row["created_at"]),
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
        clause, args = _scope_clause(customer_id)
        keyset, keyset_args = "", ()
        if cursor is not None:
            created_at, _, order_id = cursor.partition("|")
            keyset, keyset_args = "AND (created_at, id) < (?, ?)", (created_at, order_id)
        db = self._connection()
        rows = db.execute(
            f"SELECT * FROM orders WHERE {clause} {keyset} ORDER BY created_at DESC, id DESC LIMIT ?",
            (*args, *keyset_args, limit + 1),
        ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        orders = [self._order_model(db, row) for row in rows]
        next_cursor = f"{rows[-1]['created_at']}|{rows[-1]['id']}" if more else None
        return Page[Order](items=orders, next_cursor=next_cursor)

    def get_order(self, customer_id: str | None, order_id: str) -> Order:
        db = self._connection()
        return self._order_model(db, self._order_row(db, customer_id, order_id))

    # -- invoices ----------------------------------------------------------------------------

    def _invoice_model(self, row: sqlite3.Row) -> Invoice:
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
            issued_at=date.fromisoformat(row["issued_at"]),
            due_at=date.fromisoformat(row["due_at"]),
            paid_at=datetime.fromisoformat(row["paid_at"]) if row["paid_at"] else None,
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
            amount_due=money(0 if row["status"] in ("paid", "refunded", "void") else total - paid),
            documents=Documents(
                json_uri=f"invoice://{PROVIDER_ID}/{row['order_id']}",
                pdf_uri=f"invoice://{PROVIDER_ID}/{row['order_id']}/pdf",
            ),
        )

    def get_invoice(self, customer_id: str | None, invoice_id: str) -> Invoice:
        clause, args = _scope_clause(customer_id)
        row = (
            self._connection()
            .execute(f"SELECT * FROM invoices WHERE order_id = ? AND {clause}", (invoice_id, *args))
            .fetchone()
        )
        if row is None:
            raise not_found("invoice", invoice_id)
        return self._invoice_model(row)

    def _filter_sql(self, customer_id: str | None, query: InvoiceFilter) -> tuple[str, list[object]]:
        clause, scope_args = _scope_clause(customer_id)
        conditions, args = [clause], list(scope_args)
        if query.status is not None:
            conditions.append("status = ?")
            args.append(query.status.value)
        if query.issued_after is not None:
            conditions.append("issued_at >= ?")
            args.append(query.issued_after.isoformat())
        if query.issued_before is not None:
            conditions.append("issued_at <= ?")
            args.append(query.issued_before.isoformat())
        return " AND ".join(conditions), args

    def list_invoices(
        self, customer_id: str | None, query: InvoiceFilter, *, limit: int, cursor: str | None
    ) -> Page[Invoice]:
        where, args = self._filter_sql(customer_id, query)
        if cursor is not None:
            issued_at, _, sequence = cursor.partition("|")
            where += " AND (issued_at, sequence) < (?, ?)"
            args += [issued_at, int(sequence) if sequence.isdigit() else 0]
        rows = (
            self._connection()
            .execute(
                f"SELECT * FROM invoices WHERE {where} ORDER BY issued_at DESC, sequence DESC LIMIT ?",
                (*args, limit + 1),
            )
            .fetchall()
        )
        more = len(rows) > limit
        rows = rows[:limit]
        # (issue date, sequence) is unique and orders like the numbers, even past 9,999 a year.
        next_cursor = f"{rows[-1]['issued_at']}|{rows[-1]['sequence']}" if more else None
        return Page[Invoice](items=[self._invoice_model(row) for row in rows], next_cursor=next_cursor)

    def summarize(self, customer_id: str | None, query: InvoiceFilter, today: date) -> InvoicesSummary:
        """Aggregates over every matching invoice, computed by SQLite (no invoice is loaded but the oldest)."""
        where, args = self._filter_sql(customer_id, query)
        db = self._connection()
        # Days past due decide the ageing bucket; amount due is what the invoice model derives too.
        rows = db.execute(
            f"""SELECT currency, status,
                       CASE WHEN julianday(?) - julianday(due_at) <= 0 THEN 'current'
                            WHEN julianday(?) - julianday(due_at) <= 30 THEN 'days_1_30'
                            WHEN julianday(?) - julianday(due_at) <= 60 THEN 'days_31_60'
                            WHEN julianday(?) - julianday(due_at) <= 90 THEN 'days_61_90'
                            ELSE 'days_over_90' END AS bucket,
                       COUNT(*) AS count, SUM(total_minor) AS total, SUM(paid_minor) AS paid,
                       SUM(CASE WHEN status IN ('paid', 'refunded', 'void') THEN 0
                                ELSE total_minor - paid_minor END) AS due
                FROM invoices WHERE {where}
                GROUP BY currency, status, bucket""",
            (*[today.isoformat()] * 4, *args),
        ).fetchall()
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
        oldest = db.execute(
            f"""SELECT * FROM invoices WHERE {where}
                  AND status IN ('open', 'partially_paid') AND total_minor > paid_minor
                ORDER BY due_at, issued_at, order_id LIMIT 1""",
            args,
        ).fetchone()
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

        Everything happens in one ``BEGIN IMMEDIATE`` transaction: the existence check, the billing
        update, the number allocation and the insert. Two concurrent calls for one order therefore
        serialize, and the second finds the first one's invoice.
        """
        issued = today or datetime.now(UTC).date()
        with self._transaction() as db:
            order = self._order_row(db, customer_id, order_id)
            existing = db.execute("SELECT * FROM invoices WHERE order_id = ?", (order_id,)).fetchone()
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

    def _update_billing(self, db: sqlite3.Connection, order: sqlite3.Row, billing: Billing) -> None:
        """Billing given with the generate call fills in or replaces the order's own, before issue.

        A given address replaces the whole address (never mixed with parts of the old one); a
        given name replaces the name; what is not given is kept.
        """
        if billing.name is not None:
            db.execute("UPDATE orders SET billing_name = ? WHERE id = ?", (billing.name, order["id"]))
        address = billing.address
        if address is not None:
            db.execute(
                """UPDATE orders SET billing_line1 = ?, billing_line2 = ?, billing_postal_code = ?,
                       billing_city = ?, billing_state = ?, billing_country = ?
                   WHERE id = ?""",
                (
                    address.line1,
                    address.line2,
                    address.postal_code,
                    address.city,
                    address.state,
                    address.country,
                    order["id"],
                ),
            )

    def _issue(self, db: sqlite3.Connection, order: sqlite3.Row, billing: Billing, issued: date) -> Invoice:
        currency = order["currency"]
        lines = self._lines(db, order["id"], currency)
        (sequence,) = db.execute(
            """INSERT INTO invoice_sequences (year, last) VALUES (?, 1)
               ON CONFLICT (year) DO UPDATE SET last = last + 1 RETURNING last""",
            (issued.year,),
        ).fetchone()
        customer = db.execute("SELECT * FROM customers WHERE id = ?", (order["customer_id"],)).fetchone()
        subtotal = sum(line.gross_minor for line in lines)
        discount = sum(line.discount_minor for line in lines)
        tax = sum(line.tax_minor for line in lines)
        total = subtotal - discount + tax + order["shipping_minor"]
        paid = order["status"] in ("paid", "refunded")
        terms = order["payment_terms_days"] or 0
        db.execute(
            """INSERT INTO invoices (order_id, customer_id, number, year, sequence, issued_at, due_at,
                   currency, subtotal_minor, discount_minor, tax_minor, shipping_minor, total_minor,
                   customer_json, billing_json, lines_json, status, paid_minor, paid_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                order["id"],
                order["customer_id"],
                f"INV-{issued.year}-{sequence:04d}",
                issued.year,
                sequence,
                issued.isoformat(),
                (issued + timedelta(days=terms)).isoformat(),
                currency,
                subtotal,
                discount,
                tax,
                order["shipping_minor"],
                total,
                Customer(id=customer["id"], name=customer["name"], email=customer["email"]).model_dump_json(),
                billing.model_dump_json(),
                json.dumps(
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
                {"paid": "paid", "refunded": "refunded"}.get(order["status"], "open"),
                total if paid else 0,
                order["paid_at"] if paid else None,
            ),
        )
        row = db.execute("SELECT * FROM invoices WHERE order_id = ?", (order["id"],)).fetchone()
        return self._invoice_model(row)

    def record_payment(self, invoice_id: str, amount: Decimal, paid_at: datetime) -> Invoice:
        """Record a payment against an open invoice (used by the seed data and by tests)."""
        with self._transaction() as db:
            row = db.execute("SELECT * FROM invoices WHERE order_id = ?", (invoice_id,)).fetchone()
            if row is None:
                raise not_found("invoice", invoice_id)
            paid = row["paid_minor"] + to_minor_units(amount, row["currency"])
            status = "paid" if paid >= row["total_minor"] else "partially_paid"
            db.execute(
                "UPDATE invoices SET paid_minor = ?, status = ?, paid_at = ? WHERE order_id = ?",
                (paid, status, paid_at.isoformat() if status == "paid" else None, invoice_id),
            )
            if status == "paid":
                db.execute(
                    "UPDATE orders SET status = 'paid', paid_at = ? WHERE id = ?", (paid_at.isoformat(), invoice_id)
                )
            row = db.execute("SELECT * FROM invoices WHERE order_id = ?", (invoice_id,)).fetchone()
            return self._invoice_model(row)
