"""Durable state: the local ledger and the token store, in one SQLite file or one PostgreSQL database.

``MCP_INVOICES_DATABASE_URL`` selects it (``postgresql://...`` for deployments); unset, it is the
SQLite file ``MCP_INVOICES_DB`` names or the default one. SQLAlchemy Core is the database layer,
Alembic versions the schema (``migrations/``), psycopg 3 is the PostgreSQL driver.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL

from mcp_invoices.storage.engine import Database, display_url, normalize_url
from mcp_invoices.storage.errors import DatabaseUnavailable, SchemaAhead, SchemaBehind, describe_error
from mcp_invoices.storage.migrate import current_revision, ensure_schema, upgrade
from mcp_invoices.storage.schema import HEAD_REVISION

__all__ = [
    "HEAD_REVISION",
    "Database",
    "DatabaseUnavailable",
    "SchemaAhead",
    "SchemaBehind",
    "current_revision",
    "describe_error",
    "display_url",
    "ensure_schema",
    "normalize_url",
    "open_database",
    "upgrade",
]


def open_database(location: str | Path | URL | Database, *, auto_migrate: bool = False) -> Database:
    """A database whose schema is current: SQLite migrates itself, PostgreSQL only if ``auto_migrate``.

    ``location`` is a SQLite path, a database URL, or an open ``Database`` (shared, not copied).
    """
    if isinstance(location, Database):
        return location
    database = Database(location)
    try:
        ensure_schema(database, auto_migrate=auto_migrate)
    except BaseException:
        database.close()
        raise
    return database
