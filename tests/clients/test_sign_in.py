"""Sign-in mistakes as clients we did not write show them to their user.

mcp-remote (the bridge of Claude Desktop configurations) never shows a 401's body: it falls back to
OAuth client registration at the server's origin and shows that answer, so the 404 of ``/register``
names the same problem and fix as the 401 (mcp-remote sends its ``--header`` there too).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mcp_invoices.auth.tokens import TokenStore
from tests.clients.test_independent_clients import MCP_REMOTE, require_installed
from tests.test_transports import http_server

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"},
    },
}


FORGED = "mcpi_forged000000_" + "a" * 43


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A deployment with printed tokens only (``MCP_INVOICES_OAUTH=off``): with sign-in on, mcp-remote
    without ``--header`` opens the sign-in page instead (``tests/test_oauth.py``). With it, the token
    each mistake sends: none, unknown, expired (issued in its ledger two hours ago for one hour) and
    revoked (issued there, then withdrawn)."""
    ledger = tmp_path_factory.mktemp("sign-in") / "ledger.sqlite3"
    env = {"MCP_INVOICES_DB": str(ledger), "MCP_INVOICES_OAUTH": "off"}
    with http_server(env) as url:
        store = TokenStore(ledger)
        try:
            past = datetime.now(UTC) - timedelta(hours=2)
            expired = store.issue(
                "local", "cus_alice", ttl=timedelta(hours=1), now=past
            ).token.get_secret_value()
            revoked = store.issue("local", "cus_alice", ttl=None).token.get_secret_value()
            store.revoke(revoked)
        finally:
            store.close()
        yield url, {"missing": "", "unknown": FORGED, "expired": expired, "revoked": revoked}


@pytest.fixture(scope="module")
def server_url(deployment: tuple[str, dict[str, str]]) -> str:
    return deployment[0]


def mcp_remote_stderr(url: str, token: str | None, config_dir: Path) -> str:
    """What mcp-remote prints to its user (stderr) when it cannot connect; it exits on its own."""
    require_installed(MCP_REMOTE, "mcp-remote")
    header = ["--header", f"Authorization: Bearer {token}"] if token else []
    completed = subprocess.run(
        [str(MCP_REMOTE), url, *header],
        input=(json.dumps(INITIALIZE) + "\n").encode(),
        capture_output=True,
        timeout=90,
        env=os.environ | {"MCP_REMOTE_CONFIG_DIR": str(config_dir)},
    )
    assert completed.returncode != 0
    return completed.stderr.decode()


def test_mcp_remote_without_a_header_tells_its_user_to_add_one(server_url: str, tmp_path: Path) -> None:
    shown = mcp_remote_stderr(server_url, None, tmp_path)
    assert "No bearer token was sent." in shown
    assert "with mcp-remote, add the arguments --header and Authorization: Bearer <token>" in shown


@pytest.mark.parametrize("mistake", ["unknown", "revoked"])
def test_mcp_remote_with_a_token_the_server_does_not_know_says_so(
    deployment: tuple[str, dict[str, str]], mistake: str, tmp_path: Path
) -> None:
    url, tokens = deployment
    shown = mcp_remote_stderr(url, tokens[mistake], tmp_path)
    # A revoked token reads exactly as an unknown one (on purpose: docs in auth/discovery.py).
    assert "The bearer token is not recognised here (it is unknown or was revoked)." in shown
    assert "mcp-invoices token issue" in shown


def test_mcp_remote_with_an_expired_token_says_it_expired(
    deployment: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, tokens = deployment
    shown = mcp_remote_stderr(url, tokens["expired"], tmp_path)
    assert "The bearer token has expired." in shown
    assert "mcp-invoices token issue" in shown


@pytest.mark.parametrize("mistake", ["missing", "unknown", "expired", "revoked"])
def test_what_the_agent_frameworks_show_for_a_401(
    deployment: tuple[str, dict[str, str]], mistake: str
) -> None:
    """Measured: the OpenAI Agents SDK 0.24, langchain-mcp-adapters 0.3.2, Pydantic AI 2.78 and fastmcp
    3.4 (all on the Python SDK 1.x) show their user only the status (``HTTP error 401`` or httpx's
    ``Client error '401 Unauthorized'``), never the 401's WWW-Authenticate or body, so the server's
    explanation cannot reach their users; it reaches curl, the MCP SDK 2.x client and mcp-remote
    (tests/test_auth.py, above). If a framework starts showing it, this test says so."""
    from tests.clients.test_frameworks import run_script

    server_url, tokens = deployment
    shown = run_script("sign_in.py", {"url": server_url, "token": tokens[mistake] or None})
    assert set(shown) == {"openai-agents", "langchain", "pydantic-ai", "fastmcp"}
    for framework, message in shown.items():
        assert "401" in message, (framework, message)
        assert "bearer token" not in message.lower(), (framework, message)
