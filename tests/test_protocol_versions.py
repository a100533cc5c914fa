"""Every protocol version from 2024-11-05 to 2026-07-28 gets only what it defines.

Spoken as raw JSON-RPC over the stdio subprocess, the way a host built on an older SDK speaks it, so
that nothing of our own SDK's client smooths over what goes on the wire. ``resource_link`` content
and ``structuredContent`` exist from 2025-06-18 on; earlier versions must receive the same
information in text, and a generation must never be answered with something the client cannot parse.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import pytest
from mcp import Client

from tests.conftest import REPO, stdio_params
from tests.test_transports import _read_line

CONTENT_TYPES = {
    "2024-11-05": {"text", "image", "resource"},
    "2025-03-26": {"text", "image", "audio", "resource"},
    "2025-06-18": {"text", "image", "audio", "resource", "resource_link"},
    "2025-11-25": {"text", "image", "audio", "resource", "resource_link"},
}
BEFORE_RESOURCE_LINKS = ("2024-11-05", "2025-03-26")


class RawStdioSession:
    """A JSON-RPC client that writes and reads lines itself, with a deadline on every answer."""

    def __init__(self, ledger_path: Path, stderr_path: Path) -> None:
        # The server's stderr goes to a file the report shows when the test fails (set-up included).
        with stderr_path.open("wb") as stderr:
            self.process = self._start(ledger_path, stderr)
        self.next_id = 0

    @staticmethod
    def _start(ledger_path: Path, stderr: IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "mcp_invoices", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=REPO,
            env=os.environ
            | {
                "MCP_INVOICES_DB": str(ledger_path),
                "MCP_INVOICES_CUSTOMER": "cus_alice",
                "MCP_INVOICES_LOG_LEVEL": "ERROR",
            },
        )

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}})
        deadline = time.monotonic() + 60
        while True:  # bounded by the deadline inside _read_line; notifications are skipped
            message = json.loads(_read_line(self.process.stdout, deadline))
            if message.get("id") == self.next_id:
                return message

    def request_with_notifications(
        self, method: str, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The notifications sent while ``method`` ran, then its answer, in order of arrival."""
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}})
        deadline = time.monotonic() + 60
        received: list[dict[str, Any]] = []
        while True:  # bounded by the deadline inside _read_line
            message = json.loads(_read_line(self.process.stdout, deadline))
            received.append(message)
            if message.get("id") == self.next_id:
                return received

    def close(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def handshake(ledger_path: Path, request: pytest.FixtureRequest, server_logs: list[Path], tmp_path: Path):
    version = request.param
    stderr_path = tmp_path / "server-stderr.log"
    server_logs.append(stderr_path)
    session = RawStdioSession(ledger_path, stderr_path)
    try:
        answer = session.request(
            "initialize",
            {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
        )
        session.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        yield version, answer["result"], session
    finally:
        session.close()


def _content_types(result: dict[str, Any]) -> set[str]:
    return {block["type"] for block in result["content"]}


@pytest.mark.parametrize("handshake", list(CONTENT_TYPES), indirect=True)
def test_each_handshake_version_is_accepted_and_gets_only_content_types_it_defines(handshake) -> None:
    version, initialized, session = handshake
    assert initialized["protocolVersion"] == version
    got = session.request("tools/call", {"name": "get_invoice", "arguments": {"invoice_id": "ord_1001"}})[
        "result"
    ]
    summarised = session.request(
        "tools/call", {"name": "summarize_invoice", "arguments": {"invoice_id": "ord_1001"}}
    )
    generated = session.request(
        "tools/call", {"name": "generate_invoice", "arguments": {"order_id": "ord_1003"}}
    )
    for result in (got, summarised["result"], generated["result"]):
        assert not result.get("isError"), result
        assert _content_types(result) <= CONTENT_TYPES[version]


@pytest.mark.parametrize("handshake", BEFORE_RESOURCE_LINKS, indirect=True)
def test_before_resource_links_the_documents_are_named_in_text_and_readable(handshake) -> None:
    _, _, session = handshake
    result = session.request("tools/call", {"name": "get_invoice", "arguments": {"invoice_id": "ord_1001"}})[
        "result"
    ]
    assert "structuredContent" not in result
    texts = [block["text"] for block in result["content"]]
    summary, _, data = texts[0].partition("\n")
    assert json.loads(data)["id"] == "ord_1001" and summary.startswith("Invoice ")
    assert any("invoice://local/ord_1001/pdf" in text for text in texts[1:])
    read = session.request("resources/read", {"uri": "invoice://local/ord_1001/pdf"})["result"]
    assert read["contents"][0]["mimeType"] == "application/pdf"


@pytest.mark.parametrize("handshake", BEFORE_RESOURCE_LINKS, indirect=True)
def test_before_resource_links_a_generation_is_answered_in_a_form_the_client_parses(handshake) -> None:
    _, _, session = handshake
    result = session.request(
        "tools/call", {"name": "generate_invoice", "arguments": {"order_id": "ord_1003"}}
    )["result"]
    assert _content_types(result) == {"text"}
    generated = json.loads(result["content"][0]["text"].partition("\n")[2])
    assert generated["outcome"] == "generated" and generated["number"]


@pytest.mark.parametrize("handshake", ["2025-06-18", "2025-11-25"], indirect=True)
def test_from_2025_06_18_results_carry_structured_content_and_name_the_documents(handshake) -> None:
    _, _, session = handshake
    result = session.request("tools/call", {"name": "get_invoice", "arguments": {"invoice_id": "ord_1001"}})[
        "result"
    ]
    assert result["structuredContent"]["id"] == "ord_1001"
    # MCP_INVOICES_DOCUMENT_LINKS=text (the default): the documents are named in text, not linked.
    assert _content_types(result) == {"text"}
    assert "invoice://local/ord_1001/pdf" in result["content"][-1]["text"]


@pytest.mark.parametrize("handshake", list(CONTENT_TYPES), indirect=True)
def test_tools_list_promises_an_output_schema_only_from_2025_06_18(handshake) -> None:
    """A client told of an outputSchema demands structuredContent (the TypeScript SDK 1.12 at 2025-03-26
    throws without it); before 2025-06-18 none is sent, so none may be promised."""
    version, _, session = handshake
    tools = session.request("tools/list")["result"]["tools"]
    promised = {tool["name"] for tool in tools if "outputSchema" in tool}
    assert promised == (set() if version in BEFORE_RESOURCE_LINKS else {tool["name"] for tool in tools})


@pytest.mark.parametrize("handshake", list(CONTENT_TYPES), indirect=True)
def test_an_error_reads_the_same_in_every_handshake_version(handshake) -> None:
    _, _, session = handshake
    result = session.request(
        "tools/call", {"name": "get_invoice", "arguments": {"invoice_id": "inv_made_up"}}
    )["result"]
    assert result["isError"] is True and "structuredContent" not in result
    assert json.loads(result["content"][0]["text"])["code"] == "not_found"


async def test_the_stateless_2026_07_28_protocol_gets_structured_content_and_links(ledger_path: Path) -> None:
    params = stdio_params({"MCP_INVOICES_DB": str(ledger_path), "MCP_INVOICES_CUSTOMER": "cus_alice"})
    async with Client(params) as client:
        result = await client.call_tool("get_invoice", {"invoice_id": "ord_1001"})
    assert result.structured_content["id"] == "ord_1001"
    assert [block.type for block in result.content] == ["text", "text"]


async def test_with_resource_link_document_links_2025_11_25_and_2026_07_28_get_resource_links(
    ledger_path: Path,
) -> None:
    env = {
        "MCP_INVOICES_DB": str(ledger_path),
        "MCP_INVOICES_CUSTOMER": "cus_alice",
        "MCP_INVOICES_DOCUMENT_LINKS": "resource_link",
    }
    for mode in ("auto", "legacy"):
        async with Client(stdio_params(env), mode=mode) as client:
            result = await client.call_tool("get_invoice", {"invoice_id": "ord_1001"})
        assert [block.type for block in result.content] == ["text", "resource_link", "resource_link"], mode
