"""The real server process: over stdio as a host launches it, and over streamable HTTP on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import REPO, stdio_params
from tests.results import error_of


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def http_server(env: dict[str, str]) -> Iterator[str]:
    """`mcp-invoices serve --transport http` on a free loopback port; yields the /mcp URL."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mcp_invoices", "serve", "--transport", "http", "--port", str(port)],
        env=os.environ | {"MCP_INVOICES_LOG_LEVEL": "WARNING"} | env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # bounded: until the health endpoint answers or the deadline passes
            if process.poll() is not None:
                raise AssertionError(f"server exited: {process.stderr.read().decode()}")
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not become healthy within 30 s")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- stdio -----------------------------------------------------------------------------------------


async def test_stdio_session_lists_tools_and_calls_one(ledger_path: Path) -> None:
    params = stdio_params({"MCP_INVOICES_DB": str(ledger_path), "MCP_INVOICES_CUSTOMER": "cus_alice"})
    async with Client(params) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("list_invoices", {})
    assert names == {
        "list_invoices",
        "list_orders",
        "get_invoice",
        "generate_invoice",
        "summarize_invoice",
        "summarize_invoices",
        "compare_invoices",
    }
    assert {row["id"] for row in result.structured_content["invoices"]} == {"ord_1001", "ord_1002"}


async def test_stdio_scope_holds_in_the_subprocess(ledger_path: Path) -> None:
    params = stdio_params({"MCP_INVOICES_DB": str(ledger_path), "MCP_INVOICES_CUSTOMER": "cus_bob"})
    async with Client(params) as client:
        result = await client.call_tool("get_invoice", {"invoice_id": "ord_1001"})
    assert result.is_error and error_of(result)["code"] == "not_found"


def _read_line(stream, deadline: float) -> str:
    """One line from a pipe, or fail at the deadline (never hangs the suite)."""
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([stream], [], [], remaining)[0]:
            raise AssertionError(f"no complete line before the deadline; got {line!r}")
        chunk = os.read(stream.fileno(), 1)
        if not chunk:
            raise AssertionError(f"stream closed; got {line!r}")
        line += chunk
    return line.decode()


def test_stdio_server_writes_only_protocol_to_stdout_and_exits_when_stdin_closes(ledger_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "mcp_invoices", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=os.environ | {"MCP_INVOICES_DB": str(ledger_path), "MCP_INVOICES_LOG_LEVEL": "DEBUG"},
    )
    assert process.stdin and process.stdout
    deadline = time.monotonic() + 60
    process.stdin.write(
        b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
        b'"capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}\n'
    )
    process.stdin.flush()
    initialized = json.loads(_read_line(process.stdout, deadline))
    process.stdin.write(
        b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'
    )
    process.stdin.flush()
    listed = json.loads(_read_line(process.stdout, deadline))
    process.stdin.close()  # the host goes away
    returncode = process.wait(timeout=30)
    rest = process.stdout.read()
    stderr = process.stderr.read() if process.stderr else b""
    assert initialized["id"] == 1 and "result" in initialized
    assert listed["id"] == 2 and len(listed["result"]["tools"]) == 7
    assert returncode == 0, stderr.decode()
    assert rest == b""  # nothing but protocol on stdout, even with DEBUG logging
    assert stderr  # the logs went to stderr instead


def test_stdio_refuses_an_organisation_key_without_a_customer_scope(ledger_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "mcp_invoices", "serve"],
        input=b"",
        capture_output=True,
        timeout=60,
        cwd=REPO,
        env=os.environ | {"AFTERNOON_API_KEY": "ak_test_secretvalue123", "MCP_INVOICES_DB": str(ledger_path)},
    )
    assert completed.returncode == 2
    assert b"AFTERNOON_CUSTOMER_ID" in completed.stderr
    assert b"ak_test_secretvalue123" not in completed.stderr + completed.stdout
    assert completed.stdout == b""


# -- streamable HTTP -------------------------------------------------------------------------------


def issue_token(env: dict[str, str], provider: str, customer: str, *extra: str) -> str:
    """`mcp-invoices token issue`, as an operator runs it."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mcp_invoices",
            "token",
            "issue",
            "--provider",
            provider,
            "--customer",
            customer,
            *extra,
        ],
        capture_output=True,
        timeout=60,
        cwd=REPO,
        env=os.environ | env,
        check=True,
    )
    return completed.stdout.decode().strip()


@contextlib.asynccontextmanager
async def bearer_client(url: str, token: str, mode: str = "auto"):
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            yield client


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_http_serves_both_protocol_eras_to_a_token_holder(ledger_path: Path, mode: str) -> None:
    env = {"MCP_INVOICES_DB": str(ledger_path)}
    token = issue_token(env, "local", "cus_hana")
    with http_server(env) as url:
        async with bearer_client(url, token, mode) as client:
            version = client.protocol_version
            result = await client.call_tool("summarize_invoices", {})
            pdf = await client.read_resource("invoice://local/ord_3001/pdf")
    assert version == ("2026-07-28" if mode == "auto" else "2025-11-25")
    assert result.structured_content["currencies"][0]["currency"] == "JPY"
    assert pdf.contents[0].mime_type == "application/pdf"


def test_http_without_a_token_is_401_pointing_at_the_resource_metadata(ledger_path: Path) -> None:
    with http_server({"MCP_INVOICES_DB": str(ledger_path)}) as url:
        response = httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        metadata = httpx2.get(url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp"))
    assert response.status_code == 401
    assert 'resource_metadata="' in response.headers["www-authenticate"]
    assert metadata.json()["resource"] == url
