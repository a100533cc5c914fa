"""The initial schema: ledger (customers, orders, lines, numbering, invoices), tokens, meta.

Revision ID: 0001
Revises:
Create Date: 2026-06-15

Idempotent on purpose: every table, index and trigger is created only if missing, so a SQLite
ledger made before versioned migrations is adopted by this revision (what it lacks is added,
what it has is kept) and then stamped.

Invariants the database itself enforces, on SQLite and PostgreSQL alike:
- an order has at most one invoice (``invoices.order_id`` is the primary key);
- numbers are unique, and unique per (year, sequence);
- an issued invoice's content never changes: updates of it, deletes and replacements are refused.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types of this revision (later schema changes get their own revision).
KEY = sa.Text().with_variant(sa.String(collation="C"), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")

IMMUTABLE_COLUMNS = (
    "order_id, customer_id, number, year, sequence, issued_at, due_at, currency, subtotal_minor, "
    "discount_minor, tax_minor, shipping_minor, total_minor, customer_json, billing_json, lines_json"
)

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER IF NOT EXISTS invoices_are_immutable
    BEFORE UPDATE OF {IMMUTABLE_COLUMNS} ON invoices
    BEGIN
        SELECT RAISE(ABORT, 'an issued invoice is immutable');
    END""",
    """CREATE TRIGGER IF NOT EXISTS invoices_are_never_deleted
    BEFORE DELETE ON invoices
    BEGIN
        SELECT RAISE(ABORT, 'an issued invoice cannot be deleted');
    END""",
    # INSERT OR REPLACE deletes the old row without firing delete triggers: refuse it up front.
    """CREATE TRIGGER IF NOT EXISTS invoices_are_never_replaced
    BEFORE INSERT ON invoices
    WHEN EXISTS (SELECT 1 FROM invoices WHERE order_id = NEW.order_id OR number = NEW.number
                 OR (year = NEW.year AND sequence = NEW.sequence))
    BEGIN
        SELECT RAISE(ABORT, 'an issued invoice is immutable');
    END""",
)

# PostgreSQL has no INSERT OR REPLACE; INSERT ... ON CONFLICT DO UPDATE fires the update trigger,
# and TRUNCATE (which fires no row trigger) gets its own statement trigger.
POSTGRESQL_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION invoices_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            RAISE EXCEPTION 'an issued invoice is immutable'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RAISE EXCEPTION 'an issued invoice cannot be deleted'
            USING ERRCODE = 'integrity_constraint_violation';
    END
    $$""",
    "DROP TRIGGER IF EXISTS invoices_are_immutable ON invoices",
    f"""CREATE TRIGGER invoices_are_immutable
    BEFORE UPDATE OF {IMMUTABLE_COLUMNS} ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoices_refuse_change()""",
    "DROP TRIGGER IF EXISTS invoices_are_never_deleted ON invoices",
    """CREATE TRIGGER invoices_are_never_deleted
    BEFORE DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoices_refuse_change()""",
    "DROP TRIGGER IF EXISTS invoices_are_never_truncated ON invoices",
    """CREATE TRIGGER invoices_are_never_truncated
    BEFORE TRUNCATE ON invoices
    FOR EACH STATEMENT EXECUTE FUNCTION invoices_refuse_change()""",
)


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "customers",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("email", sa.Text),
        sa.Column("created_at", sa.Date, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "orders",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("customer_id", KEY, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("created_at", sa.Date, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("paid_at", TIMESTAMP),
        sa.Column("payment_terms_days", sa.Integer),
        sa.Column("shipping_minor", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("billing_name", sa.Text),
        sa.Column("billing_line1", sa.Text),
        sa.Column("billing_line2", sa.Text),
        sa.Column("billing_postal_code", sa.Text),
        sa.Column("billing_city", sa.Text),
        sa.Column("billing_state", sa.Text),
        sa.Column("billing_country", sa.Text),
        sa.CheckConstraint(
            "status IN ('draft', 'pending', 'paid', 'refunded', 'void')", name="orders_status_is_known"
        ),
        sa.CheckConstraint(
            "payment_terms_days IS NULL OR payment_terms_days >= 0", name="orders_terms_are_not_negative"
        ),
        if_not_exists=True,
    )
    op.create_index(
        "orders_by_customer",
        "orders",
        ["customer_id", sa.text("created_at DESC"), sa.text("id DESC")],
        if_not_exists=True,
    )
    op.create_table(
        "order_lines",
        sa.Column("order_id", KEY, sa.ForeignKey("orders.id"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("quantity", sa.Text, nullable=False),
        sa.Column("unit_minor", sa.BigInteger, nullable=False),
        sa.Column("discount_minor", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("tax_rate", sa.Text, nullable=False, server_default="0"),
        sa.Column("period_start", sa.Date),
        sa.Column("period_end", sa.Date),
        if_not_exists=True,
    )
    op.create_table(
        "invoice_sequences",
        sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last", sa.Integer, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "invoices",
        sa.Column("order_id", KEY, sa.ForeignKey("orders.id"), primary_key=True),
        sa.Column("customer_id", KEY, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("number", sa.Text, nullable=False, unique=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("issued_at", sa.Date, nullable=False),
        sa.Column("due_at", sa.Date, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("subtotal_minor", sa.BigInteger, nullable=False),
        sa.Column("discount_minor", sa.BigInteger, nullable=False),
        sa.Column("tax_minor", sa.BigInteger, nullable=False),
        sa.Column("shipping_minor", sa.BigInteger, nullable=False),
        sa.Column("total_minor", sa.BigInteger, nullable=False),
        sa.Column("customer_json", sa.Text, nullable=False),
        sa.Column("billing_json", sa.Text, nullable=False),
        sa.Column("lines_json", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("paid_minor", sa.BigInteger, nullable=False),
        sa.Column("paid_at", TIMESTAMP),
        sa.UniqueConstraint("year", "sequence", name="invoices_number_per_year"),
        if_not_exists=True,
    )
    op.create_index(
        "invoices_by_customer_date",
        "invoices",
        ["customer_id", sa.text("issued_at DESC"), sa.text("sequence DESC")],
        if_not_exists=True,
    )
    op.create_index(
        "invoices_by_issue_date",
        "invoices",
        [sa.text("issued_at DESC"), sa.text("sequence DESC")],
        if_not_exists=True,
    )
    op.create_table(
        "access_tokens",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("secret_sha256", sa.Text, nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("label", sa.Text),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP),
        sa.Column("revoked_at", TIMESTAMP),
        sa.Column("provider_credential", sa.LargeBinary),
        if_not_exists=True,
    )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRESQL_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    # Dropping the ledger is deliberate and total; the triggers go with their table.
    tables = ("access_tokens", "invoices", "invoice_sequences", "order_lines", "orders", "customers", "meta")
    for table in tables:
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS invoices_refuse_change()")
