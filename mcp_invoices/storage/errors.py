"""Why the server's database cannot be used as it is. Each is a ``ConfigError``: the command line
prints its message, which says what to do, and exits with status 2. No message carries a password."""

from __future__ import annotations

from mcp_invoices.errors import ConfigError

__all__ = ["DatabaseUnavailable", "SchemaAhead", "SchemaBehind", "describe_error"]


class DatabaseUnavailable(ConfigError):
    """The database cannot be reached, read, or driven (its driver is not installed)."""


class SchemaBehind(ConfigError):
    """The database's schema is older than this version of the server."""


class SchemaAhead(ConfigError):
    """The database was migrated by a newer version of the server."""


def describe_error(error: BaseException) -> str:
    """The driver's first line, without the SQL statement or its parameters."""
    original = getattr(error, "orig", None) or error
    return (str(original).strip().splitlines() or [type(original).__name__])[0]
