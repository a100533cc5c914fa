"""Alembic's environment for mcp-invoices: runs on the connection the caller hands over.

``mcp_invoices.storage.migrate.upgrade`` opens the transaction (and takes the migration lock),
then puts its connection in ``config.attributes["connection"]``; nothing here opens another.
Without one (Alembic's own command line, for writing a new revision), it connects to
``MCP_INVOICES_DATABASE_URL`` or the default SQLite file.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from mcp_invoices.storage.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        transactional_ddl=True,
        # SQLite cannot ALTER most things in place: later revisions use batch operations there.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from mcp_invoices.config import load_config
    from mcp_invoices.storage import Database

    database = Database(load_config(require_scope=False).database_url)
    try:
        with database.write() as connection:
            _run(connection)
    finally:
        database.close()


if context.is_offline_mode():
    raise SystemExit("mcp-invoices migrations run online only (mcp-invoices migrate).")
_main()
