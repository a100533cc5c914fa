"""Versioned schema migrations (Alembic), configured in code: no alembic.ini is needed at run time.

Policy when a database is opened:
- SQLite upgrades itself, so the zero-setup path stays zero-setup. A ledger created before
  migrations existed (its tables but no ``alembic_version``) is adopted: the initial revision only
  creates what is missing, then stamps it.
- PostgreSQL is upgraded by ``mcp-invoices migrate`` (one deliberate step per deployment). A
  server opened on a database that is behind refuses to start and says so, unless
  ``MCP_INVOICES_AUTO_MIGRATE=1`` asks it to migrate on start.

Migrations run in one transaction, under a lock: ``BEGIN IMMEDIATE`` on SQLite, an advisory
lock on PostgreSQL, so replicas or processes starting together migrate once.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from mcp_invoices.storage.engine import Database, display_url
from mcp_invoices.storage.errors import DatabaseUnavailable, SchemaAhead, SchemaBehind, describe_error
from mcp_invoices.storage.schema import HEAD_REVISION

__all__ = ["current_revision", "ensure_schema", "upgrade"]

logger = logging.getLogger("mcp_invoices.storage")

_MIGRATION_LOCK = 0x6D6370690001
"""The PostgreSQL advisory lock migrations hold (any constant the application reserves)."""


def current_revision(connection: Connection) -> str | None:
    """The revision the database is stamped with; None for a database never migrated."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _is_legacy_ledger(connection: Connection) -> bool:
    """Tables made by the ledger before versioned migrations: to be adopted, not recreated."""
    names = set(inspect(connection).get_table_names())
    return "alembic_version" not in names and bool(names & {"invoices", "access_tokens", "meta"})


def upgrade(database: Database, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to ``revision`` in one locked transaction; returns (revision before, revision after)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "mcp_invoices.storage:migrations")
    with database.write() as connection:
        if database.dialect == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        before = current_revision(connection)
        if before is None and _is_legacy_ledger(connection):
            logger.info("adopting a database created before versioned migrations")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        after = current_revision(connection)
    if before != after:
        logger.info(
            "migrated the database",
            extra={"database": display_url(database.url), "from": before or "empty", "to": after},
        )
    return before, after


def _known_revisions() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "mcp_invoices.storage:migrations")
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def ensure_schema(database: Database, *, auto_migrate: bool = False) -> None:
    """Make sure the schema is the one this code expects, migrating where the policy allows."""
    where = display_url(database.url)
    try:
        with database.read() as connection:
            revision = current_revision(connection)
        if revision == HEAD_REVISION:
            return
        if revision is not None and revision not in _known_revisions():
            raise SchemaAhead(
                f"The database {where} is at schema revision {revision}, which this version of mcp-invoices "
                "does not know: it was migrated by a newer version. Upgrade mcp-invoices."
            )
        if database.is_sqlite or auto_migrate:
            upgrade(database)
            return
    except SQLAlchemyError as error:
        raise DatabaseUnavailable(
            f"Cannot use the database {where} (MCP_INVOICES_DATABASE_URL): {describe_error(error)}"
        ) from None
    state = "empty" if revision is None else f"at revision {revision}"
    raise SchemaBehind(
        f"The database {where} is {state}, behind this version of mcp-invoices (revision {HEAD_REVISION}). "
        "Run `mcp-invoices migrate` against it first "
        "(or set MCP_INVOICES_AUTO_MIGRATE=1 to migrate on start)."
    )
