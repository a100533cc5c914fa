"""The server as its own OAuth authorization server: registered clients, grants, attempt counters.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05

Everything a sign-in needs between two requests lives here, so any replica can finish a flow another
began. Nothing secret is stored as sent: pending flows, authorization codes, refresh tokens and
one-time codes are found by the SHA-256 of their value; client secrets are not stored at all (they are
an HMAC of the client id under the server's key, see ``auth/oauth.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = sa.Text().with_variant(sa.String(collation="C"), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("client_id", KEY, primary_key=True),
        sa.Column("info_json", sa.Text, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "oauth_grants",
        sa.Column("key", KEY, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("family", sa.Text),
        sa.Column("data_json", sa.Text, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("used_at", TIMESTAMP),
        sa.Column("revoked_at", TIMESTAMP),
        if_not_exists=True,
    )
    op.create_index("oauth_grants_by_family", "oauth_grants", ["family"], if_not_exists=True)
    op.create_table(
        "oauth_attempts",
        sa.Column("key", KEY, primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_ends", TIMESTAMP, nullable=False),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("oauth_grants_by_family", table_name="oauth_grants", if_exists=True)
    for table in ("oauth_attempts", "oauth_grants", "oauth_clients"):
        op.drop_table(table)
