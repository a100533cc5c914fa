"""What the sign-in tests share: a real SMTP server, the server with its own authorization server, and a
person (a plain HTTP client following the pages' forms) signing in."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2
from aiosmtpd.controller import Controller
from pydantic import SecretStr

from mcp_invoices.auth.client_metadata import ClientMetadataDocuments
from mcp_invoices.auth.mail import MailSettings
from mcp_invoices.auth.tokens import TokenStore
from mcp_invoices.config import HttpAuthConfig, load_config
from mcp_invoices.providers.emulation import running_app
from mcp_invoices.server.main import build_http_app
from mcp_invoices.server.runtime import open_runtime
from tests.databases import database_env

ALICE = "alice@example.com"
"""The sample ledger's ``cus_alice``."""


@dataclass
class Mailbox:
    """What the SMTP server received, with a condition to wait on (bounded) for the next message."""

    messages: list[Message] = field(default_factory=list)
    condition: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's handler hook
        with self.condition:
            self.messages.append(message_from_bytes(envelope.content))
            self.condition.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10.0) -> Message:
        with self.condition:
            if not self.condition.wait_for(lambda: len(self.messages) >= count, timeout=timeout):
                raise AssertionError(f"no email number {count} within {timeout} s")
            return self.messages[count - 1]

    def code(self, count: int) -> str:
        body = self.wait_for(count).get_payload(decode=True)
        assert isinstance(body, bytes)
        match = re.search(r"^\s+(\d{8})\s*$", body.decode(), re.M)
        assert match, body
        return match.group(1)


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    from tests.test_transports import _free_port

    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()  # returns once the server answers
    try:
        yield mailbox, port
    finally:
        controller.stop()


def mail_to(port: int) -> MailSettings:
    return MailSettings(
        host="127.0.0.1",
        port=port,
        username=None,
        password=None,
        sender="invoices@shop.example",
        security="none",
        log_codes=False,
    )


@contextlib.asynccontextmanager
async def signin_server(
    database: Path | str,
    mail: MailSettings,
    *,
    replicas: int = 1,
    env: dict[str, str] | None = None,
    secret_key: SecretStr | None = None,
    client_documents: ClientMetadataDocuments | None = None,
) -> AsyncIterator[tuple[list[str], TokenStore]]:
    """``replicas`` apps over one database (each its own process state), behind one public URL each;
    yields their /mcp URLs and a token store. The resource URL every replica serves is the first's.
    ``env`` adds providers (the sandbox's); ``secret_key`` is ``MCP_INVOICES_SECRET_KEY``."""
    config = load_config(database_env(database) | (env or {}), require_scope=False)
    store = TokenStore(config.database_url, secret_key=secret_key)
    async with contextlib.AsyncExitStack() as stack:
        urls: list[str] = []
        holders: list[dict[str, Any]] = []
        for _ in range(replicas):
            runtime = await stack.enter_async_context(open_runtime(config))
            holder: dict[str, Any] = {}

            def proxy(holder: dict[str, Any] = holder) -> Any:
                async def app(scope: Any, receive: Any, send: Any) -> None:
                    await holder["app"](scope, receive, send)

                return app

            base = await stack.enter_async_context(running_app(proxy()))
            urls.append(f"{base}/mcp")
            holders.append({"holder": holder, "runtime": runtime})
        for entry in holders:
            auth = HttpAuthConfig(
                resource_url=urls[0],
                issuer_url=None,
                secret_key=secret_key,
                jwt_issuer=None,
                jwt_audience=None,
                jwks_url=None,
                own_authorization_server=True,
            )
            app = build_http_app(
                entry["runtime"], auth, store, "127.0.0.1", mail=mail, client_documents=client_documents
            )
            entry["holder"]["app"] = app
            await stack.enter_async_context(app.router.lifespan_context(app))
        yield urls, store
    store.close()


def hidden_fields(html: str) -> dict[str, str]:
    return {
        name: unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([a-z]+)" value="([^"]*)"', html)
    }


@dataclass
class Person:
    """A person in a browser, as a plain HTTP client following the pages (cookies kept)."""

    http: httpx2.AsyncClient
    mailbox: Mailbox
    emails_seen: int = 0
    last: httpx2.Response | None = None

    async def open(self, url: str) -> httpx2.Response:
        """GET ``url`` and follow redirects on this server; stop at one that leaves it (the client's)."""
        response = await self.http.get(url)
        for _ in range(10):  # bounded
            if response.status_code not in (302, 303):
                break
            target = urljoin(str(response.url), response.headers["location"])
            if urlsplit(target).netloc != urlsplit(str(response.url)).netloc:
                break
            response = await self.http.get(target)
        self.last = response
        return response

    async def post(self, action: str, fields: dict[str, str]) -> httpx2.Response:
        assert self.last is not None
        response = await self.http.post(urljoin(str(self.last.url), action), data=fields)
        if response.status_code == 303:
            target = urljoin(str(response.url), response.headers["location"])
            if urlsplit(target).netloc == urlsplit(str(response.url)).netloc:
                return await self.open(target)
        self.last = response
        return response

    def form(self) -> dict[str, str]:
        assert self.last is not None
        return hidden_fields(self.last.text)

    async def sign_in(self, authorization_url: str, email: str = ALICE, *, allow: bool = True) -> str:
        """The whole dance; returns where the server finally sends the browser (the client's redirect URI)."""
        page = await self.open(authorization_url)
        assert page.status_code == 200, page.text
        page = await self.post("/signin/email", self.form() | {"email": email})
        assert "Enter your code" in page.text, page.text
        self.emails_seen += 1
        code = self.mailbox.code(self.emails_seen)
        page = await self.post("/signin/code", self.form() | {"code": code})
        assert "to read your invoices?" in page.text, page.text
        answer = await self.post("/signin/consent", self.form() | {"decision": "allow" if allow else "deny"})
        assert answer.status_code == 303, answer.text
        return answer.headers["location"]


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def sign_in_for_tokens(
    url: str,
    provider: str,
    email: str,
    *,
    code: Callable[[], str] | None = None,
    password: str | None = None,
) -> dict[str, Any]:
    """A whole sign-in with plain synchronous HTTP (register, PKCE, the pages' forms, the token exchange);
    ``code`` reads the one-time code from wherever it was sent; ``password`` is a shop login's."""
    import base64
    import hashlib
    import secrets
    from urllib.parse import urlencode

    redirect = "http://127.0.0.1:5173/callback"
    origin = url.removesuffix("/mcp")
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    with httpx2.Client(timeout=30) as http, httpx2.Client(timeout=30) as browser:
        client = http.post(
            f"{origin}/register",
            json={
                "client_name": "Isolation",
                "redirect_uris": [redirect],
                "token_endpoint_auth_method": "none",
            },
        ).json()
        query = {
            "response_type": "code",
            "client_id": client["client_id"],
            "redirect_uri": redirect,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "s",
            "resource": url,
        }
        started = browser.get(f"{origin}/authorize?{urlencode(query)}")
        page = browser.get(urljoin(origin, started.headers["location"]))

        def post(action: str, fields: dict[str, str]) -> httpx2.Response:
            answer = browser.post(f"{origin}{action}", data=hidden_fields(page.text) | fields)
            if answer.status_code == 303 and answer.headers["location"].startswith("/"):
                return browser.get(urljoin(origin, answer.headers["location"]))
            return answer

        page = post("/signin/email", {"provider": provider, "email": email})
        if password is not None:
            page = post("/signin/password", {"password": password})
        else:
            assert code is not None
            page = post("/signin/code", {"code": code()})
        assert "to read your invoices?" in page.text, page.text
        allowed = browser.post(
            f"{origin}/signin/consent", data=hidden_fields(page.text) | {"decision": "allow"}
        )
        granted = query_of(allowed.headers["location"])["code"]
        tokens = http.post(
            f"{origin}/token",
            data={
                "grant_type": "authorization_code",
                "code": granted,
                "redirect_uri": redirect,
                "client_id": client["client_id"],
                "code_verifier": verifier,
                "resource": url,
            },
        )
        assert tokens.status_code == 200, tokens.text
        return dict(tokens.json())
