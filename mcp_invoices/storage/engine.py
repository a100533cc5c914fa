"""Engines for the server's database: a SQLite file by default, PostgreSQL for deployments.

One ``Database`` wraps a SQLAlchemy engine (sync, pooled: the ledger runs in worker threads) and
hands out read and write transactions:

- SQLite: the driver's own transaction handling is switched off and we emit ``BEGIN`` ourselves
  (the pysqlite "begin" recipe): ``BEGIN IMMEDIATE`` for writes, so concurrent writers queue for
  the lock up front instead of failing late; plain ``BEGIN`` for reads. WAL, foreign keys on.
- PostgreSQL (psycopg 3): READ COMMITTED; code that must serialize takes row locks
  (``SELECT ... FOR UPDATE``) or relies on ``INSERT ... ON CONFLICT``.

SQL errors never carry their parameters (``hide_parameters``): values may be secrets or
personal data, and exception text ends up in logs.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Select, create_engine, event, exc
from sqlalchemy.engine import URL, make_url

from mcp_invoices.config import database_timeout, sqlite_database_url
from mcp_invoices.storage.errors import DatabaseUnavailable

__all__ = ["Database", "PreparedRead", "normalize_url", "display_url"]

_WRITE = "mcp_invoices_write"
"""Execution option marking a connection whose transaction writes (BEGIN IMMEDIATE on SQLite)."""


def normalize_url(location: str | Path | URL) -> URL:
    """A SQLAlchemy URL for a SQLite path or a database URL; ``postgresql://`` means psycopg 3."""
    if isinstance(location, Path):
        return make_url(sqlite_database_url(location))
    url = make_url(location)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(
            f"unsupported database {url.get_backend_name()!r}: use a SQLite file or a postgresql:// URL"
        )
    return url


def display_url(url: URL) -> str:
    """The URL without its password, for messages and logs."""
    return url.render_as_string(hide_password=True)


def _use_wal(cursor: Any) -> None:
    """Put the file in WAL mode (readers never block the writer), once: the mode is the file's.

    Switching needs the file to itself, and SQLite answers "locked" at once, without waiting, when
    several processes or threads open a new file together: retry briefly until one has switched.
    """
    deadline = time.monotonic() + 30
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _sqlite_engine(url: URL) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # The busy timeout: how long a write waits for another writer's lock before failing (not hanging).
    engine = create_engine(
        url,
        connect_args={"timeout": database_timeout(), "check_same_thread": False},
        pool_size=10,
        max_overflow=20,
        pool_timeout=database_timeout(),
        hide_parameters=True,
    )

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: Any) -> None:
        # Take BEGIN away from the driver (see the module docstring), then set up the connection.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            _use_wal(cursor)
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine


def _postgresql_engine(url: URL) -> Engine:
    # An unreachable host fails in seconds rather than hanging (the URL may set its own); a statement
    # that runs too long, or waits too long for a lock, is ended by the server. A server that does
    # not answer at all (stopped, partitioned) is bounded by the callers' own deadline (``bounded``).
    timeout = database_timeout()
    connect_args: dict[str, Any] = (
        {} if "connect_timeout" in url.query else {"connect_timeout": max(1, round(timeout))}
    )
    if "options" not in url.query:
        milliseconds = int(timeout * 1000)
        connect_args["options"] = f"-c statement_timeout={milliseconds} -c lock_timeout={milliseconds}"
    try:
        return create_engine(
            url,
            connect_args=connect_args,
            pool_size=10,
            max_overflow=20,
            pool_timeout=timeout,
            pool_pre_ping=True,
            hide_parameters=True,
        )
    except ImportError:
        raise DatabaseUnavailable(
            f"{display_url(url)} needs the PostgreSQL driver psycopg 3: pip install 'mcp-invoices[postgres]'."
        ) from None


class Database:
    """A pooled engine and its transactions. Thread-safe; ``close`` releases every connection."""

    def __init__(self, location: str | Path | URL) -> None:
        self.url = normalize_url(location)
        self.engine = _sqlite_engine(self.url) if self.is_sqlite else _postgresql_engine(self.url)
        self._writer = self.engine.execution_options(**{_WRITE: True})

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    @property
    def sqlite_path(self) -> Path | None:
        """The file of a SQLite database (None for PostgreSQL or an in-memory one)."""
        if not self.is_sqlite or not self.url.database or self.url.database == ":memory:":
            return None
        return Path(self.url.database)

    def __repr__(self) -> str:
        return f"Database({display_url(self.url)!r})"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (rolled back at the end: nothing it did is kept)."""
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with self._writer.begin() as connection:
            yield connection

    def prepare(self, statement: Select[Any]) -> PreparedRead:
        """``statement`` compiled once, for a read that runs on every request (see ``PreparedRead``)."""
        return PreparedRead(self, statement)

    def close(self) -> None:
        self.engine.dispose()


class PreparedRead:
    """A SELECT compiled once, whose first row is read on every request (a token, one invoice).

    On SQLite it runs straight on a pooled driver connection: no compilation or cache key per call,
    and no ``BEGIN``/``ROLLBACK`` around a single statement (one SELECT reads one consistent snapshot
    on its own). Each value passes through the result processor SQLAlchemy itself would apply (dates,
    UTC datetimes), so the row equals ``Connection.execute``'s, and driver errors are raised as
    SQLAlchemy's exceptions, without their parameters. That is ~30 us instead of ~250 us a read.
    Other databases run the statement through ``Database.read`` as usual.
    """

    def __init__(self, database: Database, statement: Select[Any]) -> None:
        self._database = database
        self._statement = statement
        dialect = database.engine.dialect
        compiled = statement.compile(dialect=dialect)
        self._direct = database.is_sqlite and compiled.positiontup is not None
        self._sql = str(compiled)
        self._positions: tuple[str, ...] = tuple(compiled.positiontup or ())
        self._defaults: dict[str, Any] = dict(compiled.params)
        self._binders: list[tuple[str, Callable[[Any], Any] | None]] = [
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in self._positions
        ]
        self._columns: list[tuple[str, Callable[[Any], Any] | None]] = [
            (str(column.key), column.type.dialect_impl(dialect).result_processor(dialect, None))
            for column in statement.selected_columns
        ]

    def first(self, parameters: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row for ``parameters`` (by bind-parameter name), or None."""
        if not self._direct:
            with self._database.read() as db:
                row = db.execute(self._statement, dict(parameters)).mappings().first()
            return dict(row) if row is not None else None
        values = self._defaults | dict(parameters)
        arguments = tuple(bind(values[name]) if bind else values[name] for name, bind in self._binders)
        engine = self._database.engine
        connection = engine.raw_connection()
        try:
            raw = connection.driver_connection.execute(self._sql, arguments).fetchone()  # type: ignore[union-attr]
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DBAPIError.instance(
                self._sql,
                None,
                error,
                engine.dialect.loaded_dbapi.Error,
                hide_parameters=True,
                dialect=engine.dialect,
            ) from error
        finally:
            connection.close()
        if raw is None:
            return None
        return {
            key: process(value) if process is not None else value
            for (key, process), value in zip(self._columns, raw, strict=True)
        }
