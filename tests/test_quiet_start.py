"""A first start at INFO says what an operator wants to know, and nothing libraries say about themselves.

Hosts show the server's stderr to people as its log: where it listens, which providers it serves and
that the database was migrated belong there; Alembic's plugin set-up and uvicorn's start-up steps do not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx2
import pytest

from tests.conftest import REPO
from tests.test_transports import _free_port

LIBRARY_CHATTER = (
    "setup plugin",
    "Context impl",
    "Will assume",
    "Running upgrade",
    "Waiting for application startup",
    "Application startup complete",
    "Started server process",
)


@pytest.fixture(scope="module")
def first_start_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict[str, object]]]:
    """The /mcp URL and the stderr of `serve --transport http` on a database that does not exist yet, at INFO."""
    directory = tmp_path_factory.mktemp("quiet-start")
    port = _free_port()
    env = {"MCP_INVOICES_DB": str(directory / "ledger.sqlite3"), "MCP_INVOICES_LOG_LEVEL": "INFO"}
    with open(directory / "stderr.log", "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "mcp_invoices", "serve", "--transport", "http", "--port", str(port)],
            env=os.environ | env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            deadline = time.monotonic() + 30
            while True:  # bounded: until the health endpoint answers (the start is complete) or the deadline
                assert process.poll() is None, (directory / "stderr.log").read_text()
                try:
                    if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not become healthy within 30 s"
                time.sleep(0.05)
        finally:
            process.terminate()
            process.wait(timeout=30)
    lines = (directory / "stderr.log").read_text().splitlines()
    return f"http://127.0.0.1:{port}/mcp", [json.loads(line) for line in lines if line.strip()]


def test_a_first_start_logs_no_library_set_up_chatter(
    first_start_log: tuple[str, list[dict[str, object]]],
) -> None:
    _, log = first_start_log
    chatter = [entry["msg"] for entry in log if any(c in str(entry.get("msg")) for c in LIBRARY_CHATTER)]
    assert chatter == []


def test_a_first_start_names_where_it_listens_its_providers_and_the_migrated_database(
    first_start_log: tuple[str, list[dict[str, object]]],
) -> None:
    url, log = first_start_log
    messages = {str(entry.get("msg")): entry for entry in log}
    listening = messages[f"listening on {url} (streamable HTTP)"]
    migrated = messages["migrated the database"]
    assert listening["providers"] == "local"
    assert migrated["from"] == "empty" and str(migrated["database"]).endswith("ledger.sqlite3")
