"""Specification of the durable state layer: numbering across replicas, migrations, start-up checks.

Runs on SQLite files, and on PostgreSQL when MCP_INVOICES_TEST_DATABASE_URL is set (see conftest);
tests about PostgreSQL alone are skipped without it.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy.exc import DBAPIError

from mcp_invoices.auth.tokens import TokenStore
from mcp_invoices.cli import main
from mcp_invoices.config import load_config
from mcp_invoices.domain.models import Address, Billing, Invoice, InvoiceStatus
from mcp_invoices.providers.local.ledger import Ledger, NewOrder, NewOrderLine
from mcp_invoices.providers.local.provider import _open_ledger
from mcp_invoices.server.runtime import open_runtime
from mcp_invoices.storage import (
    HEAD_REVISION,
    Database,
    SchemaAhead,
    SchemaBehind,
    current_revision,
    normalize_url,
    open_database,
    upgrade,
)
from mcp_invoices.storage.schema import metadata
from tests.conftest import REPO
from tests.databases import PostgresDatabases, database_env, rows

pytestmark = pytest.mark.database

T = TypeVar("T")
DATA = Path(__file__).parent / "data"
TODAY = date(2026, 6, 15)
BILLING = Billing(name="Replica Buyer", address=Address(line1="1 Shared Street", country="FR"))
EVERY_TABLE = {"meta", "customers", "orders", "order_lines", "invoice_sequences", "invoices", "access_tokens"}


@pytest.fixture
def empty_database(tmp_path: Path, postgres: PostgresDatabases | None) -> Iterator[Path | str]:
    """A database without even a schema: a new SQLite path, or an empty PostgreSQL database."""
    if postgres is None:
        yield tmp_path / "new" / "ledger.sqlite3"
        return
    url = postgres.create(migrated=False)
    try:
        yield url
    finally:
        postgres.drop(url)


@pytest.fixture
def postgres_only(postgres: PostgresDatabases | None) -> PostgresDatabases:
    if postgres is None:
        pytest.skip(
            "needs PostgreSQL: set MCP_INVOICES_TEST_DATABASE_URL (scripts/start-test-services.sh postgres)"
        )
    return postgres


@pytest.fixture
def replicas(database: Path | str) -> Iterator[tuple[Ledger, Ledger]]:
    """Two ledgers on one database, each with its own engine and pool: two server replicas."""
    first, second = Ledger(database), Ledger(database)
    first.add_customer("cus_r", "Replica Customer", None, TODAY)
    yield first, second
    first.close()
    second.close()


def add_paid_order(ledger: Ledger, order_id: str) -> None:
    ledger.add_order(
        NewOrder(
            order_id,
            "cus_r",
            TODAY,
            "EUR",
            "paid",
            [NewOrderLine("Work", Decimal(1), Decimal("10.00"))],
            billing=BILLING,
        )
    )


def assert_no_password(url: Path | str, text: str) -> None:
    """The URL's password appears nowhere in ``text`` (URLs in messages show ``***`` instead)."""
    password = normalize_url(url).password if isinstance(url, str) else None
    if password:
        assert f":{password}@" not in text
        assert password not in text.replace(normalize_url(url).render_as_string(hide_password=True), "")


def all_at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run every call in its own thread, all released together by one barrier."""
    barrier = threading.Barrier(len(calls))

    def at_barrier(call: Callable[[], T]) -> T:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(at_barrier, calls))


def tables(location: Path | str) -> set[str]:
    database = Database(location)
    try:
        from sqlalchemy import inspect

        with database.read() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        database.close()


def revision_of(location: Path | str) -> str | None:
    database = Database(location)
    try:
        with database.read() as connection:
            return current_revision(connection)
    finally:
        database.close()


# -- gapless numbering across replicas -------------------------------------------------------------


def test_fifty_concurrent_generations_on_two_replicas_number_1_to_50_without_gap_or_duplicate(
    replicas: tuple[Ledger, Ledger], database: Path | str
) -> None:
    first, second = replicas
    order_ids = [f"ord_{n:02d}" for n in range(50)]
    for order_id in order_ids:
        add_paid_order(first, order_id)
    invoices = all_at_once(
        [
            (
                lambda ledger=(first, second)[n % 2], order_id=order_id: ledger.generate_invoice(
                    None, order_id, billing=None, today=TODAY
                )
            )
            for n, order_id in enumerate(order_ids)
        ]
    )
    assert sorted(invoice.number or "" for invoice in invoices) == [f"INV-2026-{n:04d}" for n in range(1, 51)]
    assert {invoice.id for invoice in invoices} == set(order_ids)
    assert rows(database, "SELECT year, last FROM invoice_sequences") == [(2026, 50)]
    assert rows(database, "SELECT count(*), count(DISTINCT number) FROM invoices") == [(50, 50)]


def test_concurrent_generations_of_one_order_on_two_replicas_issue_one_invoice(
    replicas: tuple[Ledger, Ledger], database: Path | str
) -> None:
    first, second = replicas
    add_paid_order(first, "ord_once")
    invoices: list[Invoice] = all_at_once(
        [
            (
                lambda ledger=(first, second)[n % 2]: ledger.generate_invoice(
                    None, "ord_once", billing=None, today=TODAY
                )
            )
            for n in range(16)
        ]
    )
    assert {invoice.number for invoice in invoices} == {"INV-2026-0001"}
    assert all(invoice == invoices[0] for invoice in invoices)
    assert rows(database, "SELECT count(*) FROM invoices") == [(1,)]
    assert rows(database, "SELECT year, last FROM invoice_sequences") == [(2026, 1)]


def test_a_generation_that_fails_after_allocating_returns_its_number(
    replicas: tuple[Ledger, Ledger], database: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = replicas
    add_paid_order(first, "ord_fails")
    add_paid_order(first, "ord_next")

    def broken_json(*args: object, **kwargs: object) -> str:
        raise RuntimeError("the process died mid-transaction")

    with monkeypatch.context() as patch:
        patch.setattr("mcp_invoices.providers.local.ledger.json.dumps", broken_json)
        with pytest.raises(RuntimeError):
            first.generate_invoice(None, "ord_fails", billing=None, today=TODAY)
    assert second.generate_invoice(None, "ord_next", billing=None, today=TODAY).number == "INV-2026-0001"


def test_concurrent_first_opens_seed_the_sample_ledger_exactly_once(database: Path | str) -> None:
    ledgers = all_at_once([lambda: _open_ledger(database, True, TODAY, False) for _ in range(4)])
    for ledger in ledgers:
        ledger.close()
    assert rows(database, "SELECT count(*) FROM customers") == [(3,)]
    assert rows(database, "SELECT count(*) FROM invoices") == [(7,)]


# -- migrations ------------------------------------------------------------------------------------


def test_the_head_revision_constant_is_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "mcp_invoices.storage:migrations")
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD_REVISION]


def test_migrating_an_empty_database_creates_every_table_at_the_head_revision(
    empty_database: Path | str,
) -> None:
    database = Database(empty_database)
    try:
        assert upgrade(database) == (None, HEAD_REVISION)
        assert upgrade(database) == (HEAD_REVISION, HEAD_REVISION)  # a second run changes nothing
    finally:
        database.close()
    assert tables(empty_database) >= EVERY_TABLE | {"alembic_version"}
    assert revision_of(empty_database) == HEAD_REVISION


def test_concurrent_migrations_of_one_database_migrate_it_once(empty_database: Path | str) -> None:
    databases = [Database(empty_database) for _ in range(4)]
    try:
        outcomes = all_at_once([(lambda database=database: upgrade(database)) for database in databases])
    finally:
        for database in databases:
            database.close()
    first_run, *later_runs = sorted(outcomes, key=lambda outcome: outcome[0] or "")
    assert first_run == (None, HEAD_REVISION)
    assert later_runs == [(HEAD_REVISION, HEAD_REVISION)] * 3
    assert revision_of(empty_database) == HEAD_REVISION


# SQLite cannot reflect an expression index (invoices_by_number, on upper(number)), so SQLAlchemy and
# Alembic say they skip it; the PostgreSQL run of this test compares it.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_the_migrated_schema_is_the_one_the_code_declares(database: Path | str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    opened = open_database(database)
    try:
        with opened.read() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
    finally:
        opened.close()
    assert differences == []


def test_a_new_sqlite_ledger_creates_and_migrates_itself_on_open(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "ledger.sqlite3"
    Ledger(path).close()
    assert revision_of(path) == HEAD_REVISION
    assert tables(path) >= EVERY_TABLE


def load_sql(path: Path, script: str) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(script)
    db.close()


def test_a_ledger_from_before_migrations_is_adopted_with_its_data_and_completed(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    load_sql(path, (DATA / "pre_migrations_ledger.sql").read_text())  # no access_tokens table yet
    assert "access_tokens" not in tables(path) and revision_of(path) is None

    ledger = Ledger(path)
    try:
        assert revision_of(path) == HEAD_REVISION
        assert "access_tokens" in tables(path)  # what was missing is added
        invoice = ledger.get_invoice(None, "ord_old1")
        assert (invoice.number, invoice.status, invoice.total, invoice.issued_at) == (
            "INV-2026-0001",
            InvoiceStatus.PAID,
            Decimal("302.50"),
            date(2026, 3, 2),
        )
        assert invoice.paid_at == datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
        assert invoice.line_items[0].quantity == Decimal("2.5")
        assert ledger.seller() is not None and ledger.seller().name == "Legacy Seller Ltd"  # type: ignore[union-attr]
        assert not ledger.claim_seeding()  # an adopted ledger is never seeded again
        # Numbering goes on from the old counter, and the old triggers still guard the old invoice.
        next_invoice = ledger.generate_invoice(None, "ord_old2", billing=None, today=date(2026, 3, 12))
        assert next_invoice.number == "INV-2026-0002"
        with pytest.raises(DBAPIError, match="immutable"):
            rows(path, "UPDATE invoices SET total_minor = 1 WHERE order_id = 'ord_old1'")
    finally:
        ledger.close()


def test_tokens_issued_before_migrations_still_verify_after_adoption(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    load_sql(path, (DATA / "pre_migrations_tokens.sql").read_text())
    secret = "s" * 43
    load_sql(
        path,
        "INSERT INTO access_tokens (id, secret_sha256, provider, customer_id, label, created_at, expires_at) "
        f"VALUES ('abcdefghijk2', '{hashlib.sha256(secret.encode()).hexdigest()}', 'local', 'cus_alice', "
        "NULL, "
        "'2026-01-01T00:00:00+00:00', '2099-01-01T00:00:00+00:00')",
    )
    store = TokenStore(path)
    try:
        verified = store.verify(f"mcpi_abcdefghijk2_{secret}")
        assert verified is not None and verified.record.customer_id == "cus_alice"
        assert verified.record.expires_at == datetime(2099, 1, 1, tzinfo=UTC)
        assert store.revoke("abcdefghijk2").revoked_at is not None
    finally:
        store.close()
    assert revision_of(path) == HEAD_REVISION
    assert tables(path) >= EVERY_TABLE


def test_a_database_migrated_by_a_newer_version_is_refused(database: Path | str) -> None:
    open_database(database).close()
    rows(database, "UPDATE alembic_version SET version_num = 'f00d'")
    with pytest.raises(SchemaAhead, match="newer version"):
        open_database(database)


# -- PostgreSQL: migrated deliberately, refused when behind ------------------------------------------


def test_opening_a_postgresql_database_that_is_behind_is_refused_with_the_command_to_run(
    postgres_only: PostgresDatabases,
) -> None:
    url = postgres_only.create(migrated=False)
    try:
        with pytest.raises(SchemaBehind, match="mcp-invoices migrate") as refused:
            Ledger(url)
        assert_no_password(url, str(refused.value))
        assert tables(url) == set()  # nothing was created behind the operator's back
    finally:
        postgres_only.drop(url)


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_the_server_refuses_to_start_on_a_postgresql_database_that_is_behind(
    postgres_only: PostgresDatabases, transport: str
) -> None:
    url = postgres_only.create(migrated=False)
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "mcp_invoices", "serve", "--transport", transport, "--port", "0"],
            env={
                "PATH": os.environ.get("PATH", ""),
                "PYTHONPATH": os.pathsep.join(sys.path),
                "HOME": os.environ.get("HOME", "/tmp"),
                "MCP_INVOICES_DATABASE_URL": url,
            },
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        postgres_only.drop(url)
    assert finished.returncode == 2, finished.stderr
    assert "Run `mcp-invoices migrate`" in finished.stderr
    assert "MCP_INVOICES_AUTO_MIGRATE=1" in finished.stderr
    assert_no_password(url, finished.stderr + finished.stdout)
    assert finished.stdout == ""


async def test_auto_migrate_lets_the_server_migrate_a_postgresql_database_on_start(
    postgres_only: PostgresDatabases,
) -> None:
    url = postgres_only.create(migrated=False)
    try:
        config = load_config({"MCP_INVOICES_DATABASE_URL": url, "MCP_INVOICES_AUTO_MIGRATE": "1"})
        async with open_runtime(config) as runtime:
            assert "local" in runtime.providers
        assert revision_of(url) == HEAD_REVISION
    finally:
        postgres_only.drop(url)


def test_mcp_invoices_migrate_upgrades_to_head_and_check_reports_it(
    empty_database: Path | str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in database_env(empty_database).items():
        monkeypatch.setenv(name, value)
    assert main(["migrate", "--check"]) == 1
    assert "Run `mcp-invoices migrate`" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert f"to revision {HEAD_REVISION}" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert "already up to date" in capsys.readouterr().out
    assert main(["migrate", "--check"]) == 0
    output = capsys.readouterr().out
    assert "up to date" in output
    assert_no_password(empty_database, output)


def test_mcp_invoices_migrate_on_an_unreachable_database_says_so_without_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MCP_INVOICES_DATABASE_URL", "postgresql://someone:hunter2secret@127.0.0.1:1/nothing")
    assert main(["migrate"]) == 2
    captured = capsys.readouterr()
    assert "cannot migrate postgresql+psycopg://someone:***@127.0.0.1:1/nothing" in captured.err
    assert "hunter2secret" not in captured.err + captured.out


def test_postgresql_urls_use_psycopg_3() -> None:
    assert normalize_url("postgresql://u:p@db:5432/x").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u:p@db/x").drivername == "postgresql+psycopg"
    assert normalize_url(Path("/tmp/a.sqlite3")).render_as_string() == "sqlite:////tmp/a.sqlite3"


def test_an_unsupported_database_url_is_refused_naming_the_variable() -> None:
    from mcp_invoices.config import ConfigError

    with pytest.raises(ConfigError, match="MCP_INVOICES_DATABASE_URL must be a postgresql://"):
        load_config({"MCP_INVOICES_DATABASE_URL": "mysql://u:p@db/x"})


def test_without_a_database_url_the_store_is_the_sqlite_file(tmp_path: Path) -> None:
    config = load_config({"MCP_INVOICES_DB": str(tmp_path / "mine.sqlite3")})
    assert config.database_url == f"sqlite:///{tmp_path / 'mine.sqlite3'}"


async def test_a_database_outage_while_serving_is_service_unavailable_without_details(
    database: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from mcp_invoices.domain.errors import ServiceUnavailable
    from mcp_invoices.principal import Scope
    from mcp_invoices.providers.local.provider import open_local_provider

    provider = await open_local_provider(database, seed=False)
    try:

        def outage(*args: object, **kwargs: object) -> None:
            closed = Exception("server closed the connection")
            raise OperationalError("SELECT secret_sha256 FROM access_tokens", {}, closed)

        monkeypatch.setattr(provider.ledger, "find_invoice", outage)  # what get_invoice runs
        with pytest.raises(ServiceUnavailable) as raised:
            await provider.get_invoice(Scope("local", "cus_a"), "ord_1")
    finally:
        await provider.aclose()
    assert raised.value.code == "service_unavailable"
    assert "SELECT" not in str(raised.value) and "server closed" not in str(raised.value)


# -- prepared reads (the reads on every request) ---------------------------------------------------


def test_a_prepared_read_returns_the_row_connection_execute_returns(database: Path | str) -> None:
    from sqlalchemy import bindparam, select

    from mcp_invoices.storage.schema import access_tokens, invoices

    ledger = _open_ledger(database, True, date(2026, 9, 14), False)
    store = TokenStore(ledger.database)
    try:
        store.issue("local", "cus_alice", ttl=None)
        statements = [
            (
                select(invoices).where(invoices.c.customer_id == bindparam("customer")),
                {"customer": "cus_alice"},
            ),
            (select(invoices).where(invoices.c.customer_id == bindparam("customer")), {"customer": "nobody"}),
            (
                select(access_tokens).where(access_tokens.c.customer_id == bindparam("customer")),
                {"customer": "cus_alice"},
            ),
        ]
        for statement, parameters in statements:
            with ledger.database.read() as db:
                expected = db.execute(statement, parameters).mappings().first()
            row = ledger.database.prepare(statement).first(parameters)
            assert row == (dict(expected) if expected is not None else None)
            if row is not None:  # dates and aware timestamps come back as SQLAlchemy gives them
                assert [type(value) for value in row.values()] == [type(value) for value in expected.values()]
    finally:
        store.close()
        ledger.close()


def test_a_prepared_read_fails_with_sqlalchemys_errors_without_its_parameters(tmp_path: Path) -> None:
    from sqlalchemy import bindparam, select

    from mcp_invoices.storage.schema import invoices

    ledger = Ledger(tmp_path / "ledger.sqlite3")
    try:
        read = ledger.database.prepare(select(invoices).where(invoices.c.order_id == bindparam("secret")))
        with ledger.database.write() as db:
            db.exec_driver_sql("DROP TABLE invoices")
        with pytest.raises(DBAPIError) as raised:
            read.first({"secret": "s3cr3t-value"})
    finally:
        ledger.close()
    assert "s3cr3t-value" not in str(raised.value)
