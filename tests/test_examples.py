"""Every file in examples/ does what it says: the scripts run to the end, the host configurations start the server.

The scripts run as a user runs them (``python examples/...``) on a temporary sample ledger; each host
configuration's stdio entry is launched exactly as written (``mcp-invoices`` found on PATH, as a host
finds it) and its HTTP entry is checked for the URL and the header the server asks for.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import REPO
from tests.test_transports import http_server, issue_token

EXAMPLES = REPO / "examples"
HOSTS = EXAMPLES / "hosts"
BIN = str(Path(sys.executable).parent)  # where `pip install` put mcp-invoices
MCP_REMOTE = REPO / "tests/clients/mcp-remote/node_modules/.bin/mcp-remote"


def run_example(*args: str, env: dict[str, str] | None = None) -> str:
    completed = subprocess.run(
        [sys.executable, *args], capture_output=True, timeout=180, cwd=REPO, env=os.environ | (env or {})
    )
    assert completed.returncode == 0, completed.stderr.decode()[-3000:]
    return completed.stdout.decode()


def test_the_assistant_example_finds_what_is_overdue_and_explains_it(tmp_path: Path) -> None:
    output = run_example("examples/assistant_stdio.py", "--db", str(tmp_path / "ledger.sqlite3"))
    assert "Overdue (1):\n  INV-2026-0004: 1210.70 USD due since" in output
    assert "About INV-2026-0004:" in output
    assert "  - Monthly retainer - support hours: 10 x 95.00 = 950.00" in output


def test_the_support_bot_example_answers_two_customers_each_from_their_own_invoices(tmp_path: Path) -> None:
    env = {"MCP_INVOICES_DB": str(tmp_path / "ledger.sqlite3")}
    tokens = {customer: issue_token(env, "local", customer) for customer in ("cus_alice", "cus_bob")}
    with http_server(env) as url:
        output = run_example(
            "examples/support_bot_http.py",
            "--url",
            url,
            "--ask-about",
            "ord_1001",
            *(
                argument
                for customer, token in tokens.items()
                for argument in ("--token", f"{customer}={token}")
            ),
        )
    alice, bob = output.split("[cus_bob]")
    assert "$3,393.95 billed" in alice and "invoice ord_1001: INV-2026-0003, paid" in alice
    assert "€" in bob and "invoice ord_1001: not_found" in bob  # Alice's invoice is not Bob's to see
    assert all(token not in output for token in tokens.values())


def test_the_sandbox_walkthrough_reads_a_remote_providers_invoices_and_pdf() -> None:
    output = run_example("examples/sandbox_walkthrough.py", "--provider", "payabli")
    assert "payabli: 5 invoice(s) on the first page" in output
    assert re.search(r"PDF invoice://payabli/\S+/pdf: \d+ bytes, starts %PDF-", output)


# -- host configurations ----------------------------------------------------------------------------


def stdio_entries() -> list[tuple[str, dict[str, Any]]]:
    """Every stdio server entry of every host file: (where, {command, args, env})."""
    entries = []
    for path, key in (
        ("claude-desktop/claude_desktop_config.json", "mcpServers"),
        ("cursor/mcp.json", "mcpServers"),
        ("windsurf/mcp_config.json", "mcpServers"),
        ("vscode/mcp.json", "servers"),
    ):
        for name, entry in json.loads((HOSTS / path).read_text())[key].items():
            if "command" in entry:
                entries.append((f"{path}:{name}", entry))
    for line in (HOSTS / "claude-code.sh").read_text().splitlines():
        if line.startswith("claude mcp add --transport stdio"):
            words = shlex.split(line)
            name, _, value = words[words.index("--env") + 1].partition("=")
            env = {name: value}
            command = words[words.index("--") + 1 :]
            entries.append(("claude-code.sh", {"command": command[0], "args": command[1:], "env": env}))
    return entries


@pytest.mark.parametrize(("where", "entry"), stdio_entries(), ids=[where for where, _ in stdio_entries()])
async def test_each_hosts_stdio_entry_starts_the_server_as_the_configured_customer(
    where: str, entry: dict[str, Any], tmp_path: Path
) -> None:
    params = StdioServerParameters(
        command=entry["command"],
        args=entry["args"],
        env={
            "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
            "MCP_INVOICES_DB": str(tmp_path / "l.sqlite3"),
            "MCP_INVOICES_LOG_LEVEL": "WARNING",
        }
        | entry.get("env", {}),
    )
    async with Client(params) as client:
        listed = await client.call_tool("list_invoices", {})
    assert {row["id"] for row in listed.structured_content["invoices"]} == {"ord_1001", "ord_1002"}  # Alice's


def http_entries() -> list[tuple[str, str, str]]:
    """Every HTTP entry: (where, URL, Authorization header as written)."""
    entries = []
    for path, key, url_key in (
        ("cursor/mcp.json", "mcpServers", "url"),
        ("windsurf/mcp_config.json", "mcpServers", "serverUrl"),
        ("vscode/mcp.json", "servers", "url"),
    ):
        for name, entry in json.loads((HOSTS / path).read_text())[key].items():
            if "command" not in entry:
                entries.append((f"{path}:{name}", entry[url_key], entry["headers"]["Authorization"]))
    script = (HOSTS / "claude-code.sh").read_text().replace("\\\n", " ")
    for line in script.splitlines():
        if line.startswith("claude mcp add --transport http"):
            words = shlex.split(line)
            header = words[words.index("--header") + 1]
            entries.append(("claude-code.sh", words[6], header.removeprefix("Authorization: ")))
    return entries


def test_every_hosts_http_entry_sends_a_bearer_token_to_the_servers_mcp_endpoint() -> None:
    entries = http_entries()
    assert {where.split(":")[0] for where, _, _ in entries} == {
        "cursor/mcp.json",
        "windsurf/mcp_config.json",
        "vscode/mcp.json",
        "claude-code.sh",
    }
    for where, url, authorization in entries:
        assert url == "http://127.0.0.1:8000/mcp", where
        assert re.fullmatch(r"Bearer \$\{(env:|input:)?[\w-]+\}", authorization), (where, authorization)


def test_vscode_entries_name_their_type_under_top_level_servers() -> None:
    servers = json.loads((HOSTS / "vscode/mcp.json").read_text())["servers"]
    assert {entry["type"] for entry in servers.values()} == {"stdio", "http"}


async def test_the_claude_desktop_http_entry_reaches_the_server_through_mcp_remote(tmp_path: Path) -> None:
    if not MCP_REMOTE.exists():
        message = "mcp-remote is not installed: run scripts/install-client-test-deps.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    entry = json.loads((HOSTS / "claude-desktop/claude_desktop_config.http.json").read_text())["mcpServers"][
        "invoices"
    ]
    assert entry["command"] == "npx" and entry["args"][1].startswith("mcp-remote@")
    env = {"MCP_INVOICES_DB": str(tmp_path / "ledger.sqlite3")}
    token = issue_token(env, "local", "cus_bob")
    with http_server(env) as url:
        # As written, with the pinned mcp-remote for `npx -y mcp-remote@…`, this test's server and a real token.
        args = [
            url if argument == "http://127.0.0.1:8000/mcp" else argument for argument in entry["args"][2:]
        ]
        params = StdioServerParameters(
            command=str(MCP_REMOTE),
            args=args,
            env={
                "PATH": os.environ.get("PATH", ""),
                "MCP_REMOTE_CONFIG_DIR": str(tmp_path / "mcp-auth"),
                "MCP_INVOICES_AUTHORIZATION": f"Bearer {token}",
            },
        )
        async with Client(params) as client:
            listed = await client.call_tool("list_invoices", {})
    assert {row["id"] for row in listed.structured_content["invoices"]} == {"ord_2001", "ord_2002"}  # Bob's
