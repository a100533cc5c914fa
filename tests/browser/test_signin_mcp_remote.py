"""mcp-remote without ``--header`` signs a customer in: the bridge Claude Desktop configurations use
discovers this server's authorization server, registers, prints the authorization URL (no desktop
browser here), Chromium plays the person, mcp-remote's own loopback callback receives the code, and
the bridge then proxies ``get_invoice`` calls over stdio: the customer's own invoice, and not_found
for another customer's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from tests.browser.test_signin_in_browser import SignInBrowser
from tests.clients.test_independent_clients import MCP_REMOTE, require_installed
from tests.signin_support import ALICE, mail_to, signin_server, smtp_server
from tests.test_transports import _free_port

pytestmark = pytest.mark.database


class Lines:
    """A pipe's lines as they come, with a bounded wait for one that matches."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self.condition = threading.Condition()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            with self.condition:
                self.lines.append(line)
                self.condition.notify_all()

    def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        found: list[re.Match[str]] = []

        def seen() -> bool:
            found[:] = [match for line in self.lines if (match := re.search(pattern, line))]
            return bool(found)

        with self.condition:
            if not self.condition.wait_for(seen, timeout=timeout):
                raise AssertionError(
                    f"nothing matched {pattern!r} within {timeout} s:\n{''.join(self.lines)[-3000:]}"
                )
        return found[0]


async def test_mcp_remote_without_a_header_signs_in_and_serves_only_the_customers_invoices(
    browser_ready: None, database: Path | str, tmp_path: Path
) -> None:
    require_installed(MCP_REMOTE, "mcp-remote")
    browser = SignInBrowser()
    try:
        with smtp_server() as (mailbox, port):
            async with signin_server(database, mail_to(port)) as (urls, _store):
                url = urls[0]
                callback_port = _free_port()
                process = subprocess.Popen(
                    [str(MCP_REMOTE), url, str(callback_port), "--host", "127.0.0.1"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=os.environ | {"MCP_REMOTE_CONFIG_DIR": str(tmp_path), "BROWSER": "true"},
                )
                try:
                    stderr, stdout = Lines(process.stderr), Lines(process.stdout)
                    found = await anyio.to_thread.run_sync(
                        stderr.wait_for, r"(http://127\.0\.0\.1:\d+/authorize\?\S+)"
                    )
                    await browser.run(op="fresh", colorScheme="light")
                    opened = await browser.run(op="goto", url=found.group(1))
                    assert opened["status"] == 200, opened
                    await browser.run(op="fill", selector="#email", value=ALICE)
                    await browser.run(op="submit", selector="button[type=submit]")
                    code = await anyio.to_thread.run_sync(mailbox.code, 1)
                    await browser.run(op="fill", selector="#code", value=code)
                    await browser.run(op="submit", selector="button[type=submit]")
                    consent = (await browser.run(op="read"))["page"]
                    landed = await browser.run(op="submit", selector="button[value=allow]")
                    assert f":{callback_port}/oauth/callback" in landed["url"]

                    assert process.stdin is not None
                    for message in _session():
                        process.stdin.write(json.dumps(message) + "\n")
                        process.stdin.flush()
                    own = await anyio.to_thread.run_sync(stdout.wait_for, r'^(\{.*"id": ?2.*\})$')
                    other = await anyio.to_thread.run_sync(stdout.wait_for, r'^(\{.*"id": ?3.*\})$')
                finally:
                    process.terminate()
                    try:
                        process.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait(timeout=10)
    finally:
        browser.close()

    assert consent["heading"].startswith("Allow ") and "to read your invoices?" in consent["heading"]
    own_result = json.loads(own.group(1))["result"]
    other_result = json.loads(other.group(1))["result"]
    assert own_result["structuredContent"]["customer"]["id"] == "cus_alice"
    assert other_result["isError"] is True and '"not_found"' in other_result["content"][0]["text"]


def _session() -> list[dict[str, Any]]:
    return [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "desktop", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "get_invoice", "arguments": {"invoice_id": "ord_1001"}},
        },
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "get_invoice", "arguments": {"invoice_id": "ord_2001"}},
        },
    ]
