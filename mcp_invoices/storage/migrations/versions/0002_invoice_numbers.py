"""Invoices are found by their printed number, case-insensitively, without a table scan.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

People quote the number on the document (``inv-2026-0004``), in any case. The lookup compares
``upper(number)`` with ``upper(:reference)``; an index on that very expression serves it on SQLite
and PostgreSQL alike (a plain index on ``number`` would not, since the column is wrapped).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("invoices_by_number", "invoices", [sa.text("upper(number)")], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("invoices_by_number", table_name="invoices", if_exists=True)
