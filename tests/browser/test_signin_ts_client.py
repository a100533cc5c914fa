"""The TypeScript SDK 1.x client's own OAuth support does the whole dance, its browser step in Chromium:
discovery, dynamic registration, PKCE, sign-in and consent, tokens, ``get_invoice`` (own invoice; another
customer's is ``not_found``), a refresh through the SDK's ``refreshAuthorization`` (rotated), revocation
(the next call is refused, and so is the grant's refresh token the client then tries).

Over two replicas: the client and the person talk to one replica, the sign-in pages of the other serve
the browser (cookies are per host, not per port), and the state lives in the database both share.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx2
import pytest

from tests.browser.test_signin_in_browser import SignInBrowser, callback_server
from tests.clients.test_independent_clients import HERE as CLIENTS_DIR
from tests.clients.test_independent_clients import require_installed
from tests.signin_support import ALICE, mail_to, signin_server, smtp_server

pytestmark = pytest.mark.database

TS_CURRENT = CLIENTS_DIR / "ts-current"


class Conversation:
    """``oauth_drive.mjs``: one JSON line each way, every read bounded."""

    def __init__(self, url: str, redirect: str) -> None:
        self.process = subprocess.Popen(
            ["node", str(CLIENTS_DIR / "oauth_drive.mjs"), str(TS_CURRENT), url, redirect],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError(
                f"oauth_drive.mjs exited: {self.process.stderr.read() if self.process.stderr else ''}"
            )
        return dict(json.loads(line))

    async def hear(self, key: str) -> dict[str, Any]:
        for _ in range(5):  # bounded: skip what the client says on the way (a new authorization URL)
            with anyio.fail_after(60):
                message = await anyio.to_thread.run_sync(self._read, abandon_on_cancel=True)
            if key in message:
                return message
            assert "error" not in message, message
        raise AssertionError(f"no {key!r} from the client")

    def say(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


async def test_the_typescript_sdk_client_signs_in_through_chromium_over_two_replicas(
    browser_ready: None, database: Path | str
) -> None:
    require_installed(TS_CURRENT / "node_modules/@modelcontextprotocol/sdk", "the TypeScript SDK 1.x")
    browser = SignInBrowser()
    try:
        with smtp_server() as (mailbox, port):
            async with (
                signin_server(database, mail_to(port), replicas=2) as (urls, _store),
                callback_server() as (
                    redirect,
                    received,
                    arrived,
                ),
            ):
                first, second = urls
                talk = Conversation(first, redirect)
                try:
                    authorize = (await talk.hear("authorize"))["authorize"]
                    await browser.run(op="fresh", colorScheme="light")
                    # The person's browser reaches the other replica (a load balancer's choice).
                    on_second = authorize.replace(first.removesuffix("/mcp"), second.removesuffix("/mcp"))
                    opened = await browser.run(op="goto", url=on_second)
                    assert opened["status"] == 200
                    await browser.run(op="fill", selector="#email", value=ALICE)
                    await browser.run(op="submit", selector="button[type=submit]")
                    await browser.run(
                        op="fill", selector="#code", value=await anyio.to_thread.run_sync(mailbox.code, 1)
                    )
                    await browser.run(op="submit", selector="button[type=submit]")
                    await browser.run(op="submit", selector="button[value=allow]")
                    with anyio.fail_after(30):
                        await arrived.wait()
                    talk.say({"code": received["code"]})
                    calls = await talk.hear("calls")
                    talk.say({"refresh": True})
                    refreshed = await talk.hear("refreshed")
                    async with httpx2.AsyncClient() as http:
                        revoked = await http.post(
                            first.replace("/mcp", "/revoke"),
                            data={
                                "token": refreshed["tokens"]["access_token"],
                                "client_id": calls["client"]["client_id"],
                            },
                        )
                    talk.say({"again": True})
                    again = await talk.hear("again")
                finally:
                    talk.close()
    finally:
        browser.close()

    own, other = calls["calls"]
    assert own["structured"]["customer"]["id"] == "cus_alice" and not own["isError"]
    assert other["isError"] and '"not_found"' in other["text"], other
    assert refreshed["refreshed"]["rotated"] is True
    assert refreshed["refreshed"]["call"]["structured"]["customer"]["id"] == "cus_alice"
    assert revoked.status_code == 200, revoked.text
    # Revoked: the call gets 401, and the client's refresh (the same grant's refresh token) is refused too.
    assert again["again"].get("thrown") == "refresh token does not exist", again
