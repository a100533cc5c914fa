"""The tables of the server's durable state, as the code reads and writes them.

The DDL that creates them lives in the versioned migrations (``migrations/versions``); a test
checks that a migrated database and these definitions agree. Types are chosen so that one
definition serves SQLite and PostgreSQL: amounts are BIGINT minor units, quantities and tax rates
exact decimal strings, dates DATE, timestamps ``timestamptz`` (ISO-8601 text with its offset on
SQLite). Nothing is ever a binary float.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

__all__ = [
    "HEAD_REVISION",
    "metadata",
    "meta",
    "customers",
    "orders",
    "order_lines",
    "invoice_sequences",
    "invoices",
    "access_tokens",
    "oauth_clients",
    "oauth_grants",
    "oauth_attempts",
    "Key",
    "UtcDateTime",
]

HEAD_REVISION = "0003"
"""The newest migration. Opening a database compares its stamp with this without loading Alembic.

A schema change is a new file in ``migrations/versions`` (``down_revision`` = the previous head),
the matching change to the tables below, and this constant moved to it; the tests check all three
agree."""


class UtcDateTime(TypeDecorator[datetime]):
    """An aware timestamp: ``timestamptz`` on PostgreSQL, ISO-8601 text with its offset on SQLite.

    SQLite's own DATETIME drops the offset; ISO text keeps it and sorts like the instant for one
    offset (we always write UTC). Values come back aware, in UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC).isoformat() if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
        return parsed.astimezone(UTC)


def Key() -> TypeEngine[str]:
    """An identifier: text that sorts byte by byte on every database (C collation on PostgreSQL),
    so keyset pages and tie-breaks order ids as SQLite and Python do, whatever the server's locale."""
    return Text().with_variant(String(collation="C"), "postgresql")


metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Key(), primary_key=True),
    Column("name", Text, nullable=False),
    Column("email", Text),
    Column("created_at", Date, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Key(), primary_key=True),
    Column("customer_id", Key(), ForeignKey("customers.id"), nullable=False),
    Column("created_at", Date, nullable=False),
    Column("currency", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("paid_at", UtcDateTime),
    Column("payment_terms_days", Integer),
    Column("shipping_minor", BigInteger, nullable=False),
    Column("billing_name", Text),
    Column("billing_line1", Text),
    Column("billing_line2", Text),
    Column("billing_postal_code", Text),
    Column("billing_city", Text),
    Column("billing_state", Text),
    Column("billing_country", Text),
    CheckConstraint(
        "status IN ('draft', 'pending', 'paid', 'refunded', 'void')", name="orders_status_is_known"
    ),
    CheckConstraint(
        "payment_terms_days IS NULL OR payment_terms_days >= 0", name="orders_terms_are_not_negative"
    ),
)
Index("orders_by_customer", orders.c.customer_id, orders.c.created_at.desc(), orders.c.id.desc())

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", Key(), ForeignKey("orders.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("description", Text, nullable=False),
    Column("quantity", Text, nullable=False),
    Column("unit_minor", BigInteger, nullable=False),
    Column("discount_minor", BigInteger, nullable=False),
    Column("tax_rate", Text, nullable=False),
    Column("period_start", Date),
    Column("period_end", Date),
)

invoice_sequences = Table(
    "invoice_sequences",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("last", Integer, nullable=False),
)

invoices = Table(
    "invoices",
    metadata,
    Column("order_id", Key(), ForeignKey("orders.id"), primary_key=True),
    Column("customer_id", Key(), ForeignKey("customers.id"), nullable=False),
    Column("number", Text, nullable=False, unique=True),
    Column("year", Integer, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("issued_at", Date, nullable=False),
    Column("due_at", Date, nullable=False),
    Column("currency", Text, nullable=False),
    Column("subtotal_minor", BigInteger, nullable=False),
    Column("discount_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Column("shipping_minor", BigInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("customer_json", Text, nullable=False),
    Column("billing_json", Text, nullable=False),
    Column("lines_json", Text, nullable=False),
    # Payment state may move after issue; everything above may not (the triggers refuse it).
    Column("status", Text, nullable=False),
    Column("paid_minor", BigInteger, nullable=False),
    Column("paid_at", UtcDateTime),
    UniqueConstraint("year", "sequence", name="invoices_number_per_year"),
)
Index(
    "invoices_by_customer_date",
    invoices.c.customer_id,
    invoices.c.issued_at.desc(),
    invoices.c.sequence.desc(),
)
Index("invoices_by_issue_date", invoices.c.issued_at.desc(), invoices.c.sequence.desc())
# Numbers are looked up case-insensitively (``upper(number) = upper(:reference)``).
Index("invoices_by_number", func.upper(invoices.c.number))

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("id", Key(), primary_key=True),
    Column("secret_sha256", Text, nullable=False),
    Column("provider", Text, nullable=False),
    Column("customer_id", Text, nullable=False),
    Column("label", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Column("provider_credential", LargeBinary),
)

oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("client_id", Key(), primary_key=True),
    Column("info_json", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

oauth_grants = Table(
    "oauth_grants",
    metadata,
    Column("key", Key(), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("family", Text),
    Column("data_json", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
)
Index("oauth_grants_by_family", oauth_grants.c.family)

oauth_attempts = Table(
    "oauth_attempts",
    metadata,
    Column("key", Key(), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_ends", UtcDateTime, nullable=False),
)
