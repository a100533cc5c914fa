"""Sign-in with the login each provider vouches for, through the sandbox's emulators.

Polar and Payabli: a one-time code sent to the address the provider holds for the customer (found with
the organisation's credential). Bagisto: the customer's own shop login (``POST /api/shop/customer/login``); the password goes from our
page to Bagisto and is never kept or logged; the customer token Bagisto returns is kept encrypted with
the access token, and serves the customer's calls.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from mcp_invoices.providers.bagisto.emulator import BAGISTO_CREDENTIALS, BAGISTO_CUSTOMER_TOKENS
from mcp_invoices.providers.emulation import running_app
from mcp_invoices.providers.payabli.emulator import PAYABLI_INVOICE_IDS
from mcp_invoices.providers.polar.emulator import POLAR_ORDER_IDS
from mcp_invoices.sandbox import create_sandbox_app, sandbox_environment
from tests.databases import rows
from tests.results import error_of
from tests.signin_support import Mailbox, Person, mail_to, query_of, signin_server, smtp_server
from tests.test_oauth import authorize_url, exchange, pkce, register

pytestmark = pytest.mark.database

SECRET_KEY = SecretStr("s" * 40)
BAGISTO_VARIABLES = ("BAGISTO_BASE_URL", "BAGISTO_STOREFRONT_KEY", "BAGISTO_RATE_LIMIT_PER_MINUTE")


@contextlib.asynccontextmanager
async def with_sandbox(database: Path | str, *names: str) -> AsyncIterator[tuple[str, Mailbox]]:
    async with running_app(create_sandbox_app()) as sandbox:
        environment = sandbox_environment(sandbox, "alice")
        env = {name: environment[name] for name in names} | {"MCP_INVOICES_LOCAL": "1"}
        with smtp_server() as (mailbox, port):
            async with signin_server(database, mail_to(port), env=env, secret_key=SECRET_KEY) as (urls, _):
                yield urls[0], mailbox


async def test_a_bagisto_customer_signs_in_with_the_shops_own_login(
    database: Path | str, caplog: pytest.LogCaptureFixture
) -> None:
    email, password = BAGISTO_CREDENTIALS["alice"]
    caplog.set_level(logging.DEBUG)
    async with with_sandbox(database, *BAGISTO_VARIABLES) as (url, mailbox):
        async with httpx2.AsyncClient() as http, httpx2.AsyncClient() as browser:
            client = await register(http, url)
            verifier, challenge = pkce()
            person = Person(browser, mailbox)
            first = await person.open(authorize_url(url, client["client_id"], challenge))
            assert '<option value="bagisto">' in first.text and '<option value="local">' in first.text
            asked = await person.post(
                "/signin/email", person.form() | {"provider": "bagisto", "email": email}
            )
            assert asked.status_code == 200 and 'type="password"' in asked.text
            wrong = await person.post("/signin/password", person.form() | {"password": "not-it"})
            assert wrong.status_code == 400 and "did not accept that email and password" in wrong.text
            consent = await person.post("/signin/password", person.form() | {"password": password})
            assert "the shop (Bagisto)" in consent.text, consent.text
            answer = await person.post("/signin/consent", person.form() | {"decision": "allow"})
            tokens = (
                await exchange(
                    http, url, client["client_id"], query_of(answer.headers["location"])["code"], verifier
                )
            ).json()
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            async with httpx2.AsyncClient(headers=headers) as authorised:
                async with Client(streamable_http_client(url, http_client=authorised)) as mcp:
                    own = await mcp.call_tool("get_invoice", {"invoice_id": "1", "provider": "bagisto"})
                    other = await mcp.call_tool("get_invoice", {"invoice_id": "4", "provider": "bagisto"})
    assert own.structured_content is not None and own.structured_content["number"] == "INV-001"
    assert error_of(other)["code"] == "not_found"
    # The password is nowhere: not in the database, not in a log line; the shop's token only encrypted.
    stored = " ".join(
        str(row)
        for table in ("oauth_grants", "access_tokens", "oauth_attempts")
        for row in rows(database, f"SELECT * FROM {table}")
    )
    assert password not in stored and BAGISTO_CUSTOMER_TOKENS["alice"] not in stored
    logged = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert password not in logged and "not-it" not in logged


CODE_PROVIDERS = {
    # provider: (its variables in HTTP mode, display name, alice's invoice id, bob's invoice id)
    "polar": (
        ("POLAR_BASE_URL", "POLAR_ACCESS_TOKEN", "POLAR_RATE_LIMIT_PER_MINUTE"),
        "Polar",
        POLAR_ORDER_IDS["alice_paid_generated"],
        POLAR_ORDER_IDS["bob_paid_generated_jpy"],
    ),
    "payabli": (
        ("PAYABLI_BASE_URL", "PAYABLI_API_TOKEN", "PAYABLI_ENTRY", "PAYABLI_RATE_LIMIT_PER_MINUTE"),
        "Payabli",
        str(PAYABLI_INVOICE_IDS["alice_paid"]),
        str(PAYABLI_INVOICE_IDS["bob_paid"]),
    ),
}


@pytest.mark.parametrize("provider", sorted(CODE_PROVIDERS))
async def test_a_customer_signs_in_with_a_code_sent_to_the_address_the_provider_holds(
    database: Path | str, provider: str
) -> None:
    """Polar: the organisation token finds the customer (GET /v1/customers/?email=), calls are served by a
    customer session minted for them. Payabli: GET /Query/customers/{entry}?email(eq)=, calls filtered to
    the customer by the server. Either way the code goes to the address the provider holds."""
    variables, name, own_id, other_id = CODE_PROVIDERS[provider]
    async with with_sandbox(database, *variables) as (url, mailbox):
        async with httpx2.AsyncClient() as http, httpx2.AsyncClient() as browser:
            client = await register(http, url)
            verifier, challenge = pkce()
            person = Person(browser, mailbox)
            await person.open(authorize_url(url, client["client_id"], challenge))
            await person.post(
                "/signin/email", person.form() | {"provider": provider, "email": "alice@example.com"}
            )
            consent = await person.post("/signin/code", person.form() | {"code": mailbox.code(1)})
            assert f"a customer of <strong>{name}</strong>" in consent.text
            answer = await person.post("/signin/consent", person.form() | {"decision": "allow"})
            code = query_of(answer.headers["location"])["code"]
            tokens = (await exchange(http, url, client["client_id"], code, verifier)).json()
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            async with httpx2.AsyncClient(headers=headers) as authorised:
                async with Client(streamable_http_client(url, http_client=authorised)) as mcp:
                    own = await mcp.call_tool("get_invoice", {"invoice_id": own_id, "provider": provider})
                    other = await mcp.call_tool("get_invoice", {"invoice_id": other_id, "provider": provider})
    assert mailbox.wait_for(1)["To"] == "alice@example.com"
    assert own.structured_content is not None and not own.is_error, own
    assert error_of(other)["code"] == "not_found"


async def test_an_afternoon_only_server_says_why_it_cannot_sign_in_and_what_to_do(
    database: Path | str,
) -> None:
    """Afternoon's reference holds no customer email and no customer login (docs/providers.md, Afternoon):
    nothing could vouch for the person typing, so the page says so and points to a printed token."""
    async with running_app(create_sandbox_app()) as sandbox:
        environment = sandbox_environment(sandbox, "alice")
        env = {name: environment[name] for name in ("AFTERNOON_BASE_URL", "AFTERNOON_API_KEY")}
        with smtp_server() as (mailbox, port):
            async with signin_server(database, mail_to(port), env=env) as (urls, _):
                async with httpx2.AsyncClient() as http, httpx2.AsyncClient() as browser:
                    client = await register(http, urls[0])
                    page = await Person(browser, mailbox).open(
                        authorize_url(urls[0], client["client_id"], pkce()[1])
                    )
    assert page.status_code == 503
    assert "Afternoon" in page.text and "no customer email address and no customer login" in page.text
    assert "mcp-invoices token issue" in page.text
    assert "MCP_INVOICES_SMTP_HOST" not in page.text  # email is set up: that is not what is missing
    assert mailbox.messages == []
