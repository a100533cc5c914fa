"""A person signs in through headless Chromium: the pages as they render, light and dark, and the whole
OAuth dance of the Python SDK's own client, whose browser step is Chromium.

The client registers a loopback redirect URI served by this test (as a desktop host does), Chromium
follows ``/authorize`` to the sign-in page, types the address, reads the code the SMTP server
received, allows access on the consent page and lands on the client's redirect URI, whose code the
client exchanges. Screenshots of each page in both colour schemes go to ``docs/screenshots/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata
from pydantic import AnyUrl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from mcp_invoices.providers.emulation import running_app
from tests.results import error_of
from tests.signin_support import ALICE, Mailbox, mail_to, signin_server, smtp_server
from tests.test_oauth import MemoryStorage

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE.parent.parent / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.database


class SignInBrowser:
    """Chromium behind ``signin_driver.mjs``; one JSON line per command and per answer."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            ["node", str(HERE / "signin_driver.mjs")],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "CHROMIUM": CHROMIUM},
        )
        self._lock = threading.Lock()

    def _call(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self._process.stdin is not None and self._process.stdout is not None
        with self._lock:
            self._process.stdin.write(json.dumps(command) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            stderr = self._process.stderr.read() if self._process.stderr else ""
            raise RuntimeError(f"the browser driver exited: {stderr[-2000:]}")
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok"):
            raise AssertionError(f"browser command {command['op']} failed: {answer.get('error')}")
        return answer

    async def run(self, **command: Any) -> dict[str, Any]:
        with anyio.fail_after(60):
            return await anyio.to_thread.run_sync(self._call, command, abandon_on_cancel=True)

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)


@pytest.fixture
def chromium(browser_ready: None) -> Iterator[SignInBrowser]:
    driver = SignInBrowser()
    try:
        yield driver
    finally:
        driver.close()


@contextlib.asynccontextmanager
async def callback_server() -> AsyncIterator[tuple[str, dict[str, str], anyio.Event]]:
    """The client's loopback redirect URI: records the query Chromium arrives with."""
    received: dict[str, str] = {}
    arrived = anyio.Event()

    async def callback(request: Request) -> HTMLResponse:
        received.update(request.query_params)
        arrived.set()
        return HTMLResponse("<!doctype html><title>Done</title><p>Signed in. You can close this tab.</p>")

    async with running_app(Starlette(routes=[Route("/callback", callback)])) as base:
        yield f"{base}/callback", received, arrived


async def shoot(browser: SignInBrowser, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        await browser.run(
            op="screenshot", colorScheme=scheme, path=str(SCREENSHOTS / f"signin-{name}-{scheme}.png")
        )
    await browser.run(op="scheme", colorScheme="light")


def assert_accessible(page: dict[str, Any]) -> None:
    assert page["unlabelled"] == [], "every field has a label"
    assert all(form["csrf"] for form in page["forms"]), "every form carries the CSRF token"


async def test_a_person_signs_in_with_chromium_and_the_python_sdk_client_gets_only_their_invoices(
    chromium: SignInBrowser, database: Path | str
) -> None:
    with smtp_server() as (mailbox, port):
        async with (
            signin_server(database, mail_to(port)) as (urls, _store),
            callback_server() as (
                redirect,
                received,
                arrived,
            ),
        ):
            url = urls[0]
            seen: dict[str, dict[str, Any]] = {}

            async def redirect_handler(authorization_url: str) -> None:
                await person_in_chromium(chromium, authorization_url, mailbox, seen)

            async def callback_handler() -> AuthorizationCodeResult:
                with anyio.fail_after(30):
                    await arrived.wait()
                return AuthorizationCodeResult(
                    code=received["code"], state=received.get("state"), iss=received.get("iss")
                )

            auth = OAuthClientProvider(
                server_url=url,
                client_metadata=OAuthClientMetadata(
                    client_name="Chromium Test Assistant",
                    client_uri=AnyUrl("https://assistant.example/"),
                    redirect_uris=[AnyUrl(redirect)],
                    grant_types=["authorization_code", "refresh_token"],
                    response_types=["code"],
                ),
                storage=MemoryStorage(),
                redirect_handler=redirect_handler,
                callback_handler=callback_handler,
            )
            async with httpx2.AsyncClient(auth=auth) as http:
                async with Client(streamable_http_client(url, http_client=http)) as client:
                    own = await client.call_tool("get_invoice", {"invoice_id": "ord_1001"})
                    other = await client.call_tool("get_invoice", {"invoice_id": "ord_2001"})
            outside = (await chromium.run(op="outside"))["requests"]

    assert own.structured_content is not None and own.structured_content["customer"]["id"] == "cus_alice"
    assert error_of(other)["code"] == "not_found"
    assert outside == [], "the pages load nothing from outside"

    email, wrong, consent = seen["email"], seen["wrong"], seen["consent"]
    assert email["heading"] == "Sign in to see your invoices"
    assert "Chromium Test Assistant" in email["text"]
    assert email["focused"] == {"tag": "input", "id": "email", "name": "email"}
    # A wrong code is announced (role=alert) and tied to its field.
    assert wrong["alert"] is not None and "not right" in wrong["alert"]
    assert wrong["invalid"] == [{"id": "code", "describedBy": "error"}]
    assert wrong["focused"] == {"tag": "input", "id": "code", "name": "code"}
    # Consent names who asks, where the browser returns, which provider, and what it will be able to do.
    assert consent["heading"] == "Allow Chromium Test Assistant to read your invoices?"
    assert "https://assistant.example/" in consent["text"] and "127.0.0.1" in consent["text"]
    assert ALICE in consent["text"] and "this shop" in consent["text"]
    assert "ask for the invoice of one of them" in consent["text"]
    # Light and dark are different renderings.
    assert seen["consent-dark"]["background"] != consent["background"]


async def person_in_chromium(
    browser: SignInBrowser, authorization_url: str, mailbox: Mailbox, seen: dict[str, dict[str, Any]]
) -> None:
    await browser.run(op="fresh", colorScheme="light")
    opened = await browser.run(op="goto", url=authorization_url)
    assert opened["status"] == 200 and "/signin?flow=" in opened["url"]
    seen["email"] = (await browser.run(op="read"))["page"]
    assert_accessible(seen["email"])
    await shoot(browser, "email")

    await browser.run(op="fill", selector="#email", value=ALICE)
    await browser.run(op="submit", selector="button[type=submit]")
    code = await anyio.to_thread.run_sync(mailbox.code, 1)
    await browser.run(op="fill", selector="#code", value="00000000" if code != "00000000" else "11111111")
    await browser.run(op="submit", selector="button[type=submit]")
    seen["wrong"] = (await browser.run(op="read"))["page"]
    assert_accessible(seen["wrong"])
    await shoot(browser, "code-error")

    await browser.run(op="fill", selector="#code", value=code)
    await browser.run(op="submit", selector="button[type=submit]")
    seen["consent"] = (await browser.run(op="read"))["page"]
    assert_accessible(seen["consent"])
    await shoot(browser, "consent")
    await browser.run(op="scheme", colorScheme="dark")
    seen["consent-dark"] = (await browser.run(op="read"))["page"]
    await browser.run(op="scheme", colorScheme="light")

    landed = await browser.run(op="submit", selector="button[value=allow]")
    assert landed["url"].split("?")[0].endswith("/callback")
