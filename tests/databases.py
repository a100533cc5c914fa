"""Where a test's durable state lives: a fresh SQLite file, or a fresh PostgreSQL database.

With ``MCP_INVOICES_TEST_DATABASE_URL`` (or ``pytest --database-url``) set to a PostgreSQL URL whose
role may create databases, every test that asks for a database gets its own, copied from a
template migrated once per run (``CREATE DATABASE ... TEMPLATE``: tens of milliseconds), and
dropped afterwards. ``scripts/start-test-services.sh postgres`` starts such a server on 127.0.0.1.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from mcp_invoices.storage import Database, normalize_url, upgrade

__all__ = ["PostgresDatabases", "database_env", "rows", "stored_bytes"]

NAME_PREFIX = "mcpi_test_"


class PostgresDatabases:
    """Creates and drops the per-test databases on one PostgreSQL server."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        if self.url.get_backend_name() != "postgresql":
            raise ValueError("MCP_INVOICES_TEST_DATABASE_URL must be a postgresql:// URL")
        # CREATE/DROP DATABASE cannot run in a transaction.
        self._admin = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.template = f"{NAME_PREFIX}template_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{self.template}"')
        migrated = Database(self.url_of(self.template))
        try:
            upgrade(migrated)
        finally:
            migrated.close()  # a template must have no connections when it is copied

    def url_of(self, name: str) -> URL:
        return self.url.set(database=name)

    def _execute(self, statement: str) -> None:
        with self._admin.connect() as connection:
            connection.exec_driver_sql(statement)

    def create(self, *, migrated: bool = True) -> str:
        """A new database (migrated, or empty) and its URL, password included."""
        name = f"{NAME_PREFIX}{uuid.uuid4().hex[:16]}"
        self._execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{self.template}"' if migrated else ""))
        return self.url_of(name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = normalize_url(url).database
        assert name and name.startswith(NAME_PREFIX)
        # FORCE: a test may leave a pooled connection behind; the database goes all the same.
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self._admin.dispose()


def rows(location: str | Path, sql: str, parameters: dict[str, Any] | None = None) -> Sequence[Any]:
    """Run one statement against a test's database, outside the code under test, and return its rows."""
    database = Database(location)
    try:
        with database.write() as connection:
            result = connection.execute(text(sql), parameters or {})
            return result.all() if result.returns_rows else []
    finally:
        database.close()


def stored_bytes(location: str | Path) -> bytes:
    """Everything the token store wrote, as bytes: the SQLite file and its WAL, or every token row."""
    if isinstance(location, Path):
        files = [location, location.with_name(location.name + "-wal")]
        return b"".join(path.read_bytes() for path in files if path.exists())
    return b"".join(
        value if isinstance(value, bytes) else str(value).encode()
        for row in rows(location, "SELECT * FROM access_tokens")
        for value in row
    )


def database_env(location: str | Path) -> dict[str, str]:
    """The environment that points a server at a test's database."""
    if isinstance(location, Path):
        return {"MCP_INVOICES_DB": str(location)}
    return {"MCP_INVOICES_DATABASE_URL": location}
