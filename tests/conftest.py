"""Shared fixtures: real servers on a real (temporary) ledger, driven through the SDK's real client.

The ledger and the tokens live in a fresh SQLite file per test, or, with
``MCP_INVOICES_TEST_DATABASE_URL`` (or ``--database-url``) set, in a fresh PostgreSQL database per
test (see ``tests/databases.py``). Tests that use a database are marked ``database``: ``pytest -m
database`` runs just them, which is how CI runs the suite a second time on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.server import MCPServer

from mcp_invoices.config import load_config
from mcp_invoices.server.app import build_server
from mcp_invoices.server.runtime import environment_principal, open_runtime
from tests.databases import PostgresDatabases

REPO = Path(__file__).resolve().parent.parent
DATABASE_FIXTURES = {"database", "ledger_path"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database-url",
        default=os.environ.get("MCP_INVOICES_TEST_DATABASE_URL") or None,
        help="run the database tests on this PostgreSQL server (a role that may create databases); "
        "default: MCP_INVOICES_TEST_DATABASE_URL, else SQLite files",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.database)


SERVER_LOGS = pytest.StashKey[list[Path]]()


@pytest.fixture
def server_logs(request: pytest.FixtureRequest) -> list[Path]:
    """Files a test's servers write their output to: shown in the report when the test fails.

    A server started by a test never sends its output to DEVNULL: it writes to a file added here, so a
    failure (in set-up too) shows what the server said.
    """
    logs: list[Path] = []
    request.node.stash[SERVER_LOGS] = logs
    return logs


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.failed:
        for path in item.stash.get(SERVER_LOGS, []):
            try:
                text = path.read_text(errors="replace")
            except OSError as error:
                text = f"(could not read it: {error})"
            # The end of a long log is where the failure is.
            report.sections.append((f"server output ({path})", text[-20_000:] or "(nothing)"))
    return report


def pytest_report_header(config: pytest.Config) -> str:
    url = config.getoption("--database-url")
    if not url:
        return "databases: SQLite files"
    from mcp_invoices.storage import display_url, normalize_url

    return f"databases: PostgreSQL at {display_url(normalize_url(url))}"


@pytest.fixture(autouse=True)
def no_database_from_the_developers_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own MCP_INVOICES_DATABASE_URL must never reach a test (or its data)."""
    monkeypatch.delenv("MCP_INVOICES_DATABASE_URL", raising=False)
    monkeypatch.delenv("MCP_INVOICES_AUTO_MIGRATE", raising=False)


@pytest.fixture(scope="session")
def postgres(request: pytest.FixtureRequest) -> Iterator[PostgresDatabases | None]:
    """The PostgreSQL server the tests use, or None for SQLite."""
    url = request.config.getoption("--database-url")
    if not url:
        yield None
        return
    databases = PostgresDatabases(url)
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture
def on_postgres(postgres: PostgresDatabases | None) -> bool:
    return postgres is not None


@pytest.fixture
def database(tmp_path: Path, postgres: PostgresDatabases | None) -> Iterator[Path | str]:
    """A fresh, migrated database for the ledger and the tokens: a SQLite path, or a PostgreSQL URL."""
    if postgres is None:
        yield tmp_path / "ledger.sqlite3"
        return
    url = postgres.create()
    try:
        yield url
    finally:
        postgres.drop(url)


@pytest.fixture
def ledger_path(
    tmp_path: Path, postgres: PostgresDatabases | None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The ledger file of a server started by a test (``MCP_INVOICES_DB``).

    On PostgreSQL the server's state goes to a fresh database instead: the fixture exports its URL
    as ``MCP_INVOICES_DATABASE_URL``, which ``local_server`` and subprocesses that inherit the
    environment pass on.
    """
    if postgres is None:
        yield tmp_path / "ledger.sqlite3"
        return
    url = postgres.create()
    monkeypatch.setenv("MCP_INVOICES_DATABASE_URL", url)
    try:
        yield tmp_path / "ledger.sqlite3"
    finally:
        postgres.drop(url)


@contextlib.asynccontextmanager
async def local_server(
    ledger_path: Path, customer: str | None, settings: dict[str, str] | None = None
) -> AsyncIterator[MCPServer]:
    """The server as `serve` builds it, on the local ledger, scoped like MCP_INVOICES_CUSTOMER would;
    ``settings``: more environment variables (MCP_INVOICES_DOCUMENT_LINKS, ...)."""
    env = {"MCP_INVOICES_DB": str(ledger_path)} | (settings or {})
    if database_url := os.environ.get("MCP_INVOICES_DATABASE_URL"):
        env["MCP_INVOICES_DATABASE_URL"] = database_url  # a test on PostgreSQL (see ledger_path)
    if customer is not None:
        env["MCP_INVOICES_CUSTOMER"] = customer
    config = load_config(env)
    principal = environment_principal(config)
    async with open_runtime(config) as runtime:
        yield build_server(runtime, lambda ctx: principal)


@contextlib.asynccontextmanager
async def local_client(
    ledger_path: Path, customer: str | None = "cus_alice", settings: dict[str, str] | None = None
) -> AsyncIterator[Client]:
    """An in-process SDK client session against the local server."""
    async with local_server(ledger_path, customer, settings) as server, Client(server) as client:
        yield client


def stdio_params(env: dict[str, str], *args: str) -> StdioServerParameters:
    """`mcp-invoices serve` as a subprocess, the way an MCP host launches it."""
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_invoices", "serve", *args],
        env={"MCP_INVOICES_LOG_LEVEL": "WARNING", "PYTHONPATH": os.pathsep.join(sys.path)} | env,
        cwd=str(REPO),
    )
