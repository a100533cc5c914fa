"""Shared fixtures: real servers on a real (temporary) ledger, driven through the SDK's real client."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.server import MCPServer

from mcp_invoices.config import load_config
from mcp_invoices.server.app import build_server
from mcp_invoices.server.runtime import environment_principal, open_runtime

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite3"


@contextlib.asynccontextmanager
async def local_server(ledger_path: Path, customer: str | None) -> AsyncIterator[MCPServer]:
    """The server as `serve` builds it, on the local ledger, scoped like MCP_INVOICES_CUSTOMER would."""
    env = {"MCP_INVOICES_DB": str(ledger_path)}
    if customer is not None:
        env["MCP_INVOICES_CUSTOMER"] = customer
    config = load_config(env)
    principal = environment_principal(config)
    async with open_runtime(config) as runtime:
        yield build_server(runtime, lambda ctx: principal)


@contextlib.asynccontextmanager
async def local_client(ledger_path: Path, customer: str | None = "cus_alice") -> AsyncIterator[Client]:
    """An in-process SDK client session against the local server."""
    async with local_server(ledger_path, customer) as server, Client(server) as client:
        yield client


def stdio_params(env: dict[str, str], *args: str) -> StdioServerParameters:
    """`mcp-invoices serve` as a subprocess, the way an MCP host launches it."""
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_invoices", "serve", *args],
        env={"MCP_INVOICES_LOG_LEVEL": "WARNING", "PYTHONPATH": os.pathsep.join(sys.path)} | env,
        cwd=str(REPO),
    )
