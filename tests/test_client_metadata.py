"""Client ID metadata documents: a client known by the URL of its own metadata, fetched as an untrusted URL.

Refusals are checked with a local server that counts requests: a refused URL costs no request at all.
The accepted path runs in development mode (``MCP_INVOICES_SIGNIN_DEVELOPMENT=1``: http and loopback
allowed), since a test cannot hold a public HTTPS host; outside it, the same loopback URL is refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from mcp_invoices.auth.client_metadata import MAX_BYTES, ClientMetadataDocuments, development_from_env
from mcp_invoices.providers.emulation import running_app
from tests.signin_support import Person, mail_to, query_of, signin_server, smtp_server
from tests.test_oauth import REDIRECT, authorize_url, exchange, pkce

pytestmark = pytest.mark.database


@pytest.fixture
async def publisher() -> AsyncIterator[tuple[str, list[str]]]:
    """Serves documents on 127.0.0.1 and records every request path."""
    seen: list[str] = []

    async def serve(request: Request) -> Response:
        seen.append(request.url.path)
        name = request.path_params["name"]
        base = str(request.base_url).rstrip("/")
        url = f"{base}/clients/{name}"
        document: dict[str, Any] = {
            "client_id": url,
            "client_name": "Published Client",
            "redirect_uris": [REDIRECT],
        }
        if name == "other-id.json":
            document["client_id"] = f"{base}/clients/someone-else.json"
        if name == "secret.json":
            document["token_endpoint_auth_method"] = "client_secret_post"
        if name == "big.json":
            document["client_name"] = "x" * (MAX_BYTES + 1)
        if name == "moved.json":
            return RedirectResponse("http://169.254.169.254/latest/meta-data/")
        return JSONResponse(document)

    async with running_app(Starlette(routes=[Route("/clients/{name}", serve)])) as base:
        yield base, seen


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/client.json",  # not https
        "https://127.0.0.1/client.json",  # loopback
        "https://[::1]/client.json",
        "https://10.1.2.3/client.json",  # private
        "https://192.168.0.10/client.json",
        "https://169.254.169.254/latest/meta-data/",  # link-local: cloud metadata services
        "https://localhost/client.json",  # a name that resolves to loopback
        "https://[::ffff:127.0.0.1]/client.json",
        "https://example.com",  # no path
        "https://user:pw@example.com/client.json",
        "https://example.com/client.json#x",
    ],
)
async def test_unsafe_document_urls_are_refused_without_a_request(url: str) -> None:
    documents = ClientMetadataDocuments(development=False)
    assert await documents.document(url) is None
    assert documents.fetches == 0


async def test_outside_development_a_loopback_publisher_is_refused(publisher: tuple[str, list[str]]) -> None:
    base, seen = publisher
    documents = ClientMetadataDocuments(development=False)
    assert await documents.document(f"{base}/clients/ok.json") is None
    assert seen == [] and documents.fetches == 0


@pytest.mark.parametrize("name", ["other-id.json", "secret.json", "big.json", "moved.json", "absent"])
async def test_a_document_that_does_not_describe_a_public_client_at_its_own_url_is_refused(
    publisher: tuple[str, list[str]], name: str
) -> None:
    base, _ = publisher
    documents = ClientMetadataDocuments(development=True)
    url = f"{base}/clients/{name}" if name != "absent" else f"{base}/nothing/here.json"
    assert await documents.document(url) is None


async def test_a_document_is_fetched_once_and_cached(publisher: tuple[str, list[str]]) -> None:
    base, seen = publisher
    documents = ClientMetadataDocuments(development=True)
    first = await documents.document(f"{base}/clients/ok.json")
    second = await documents.document(f"{base}/clients/ok.json")
    assert first == second and first is not None and first["client_name"] == "Published Client"
    assert seen == ["/clients/ok.json"]


def test_development_mode_is_off_unless_asked_for() -> None:
    assert development_from_env({}) is False
    assert development_from_env({"MCP_INVOICES_SIGNIN_DEVELOPMENT": "1"}) is True


async def test_a_client_known_by_its_document_signs_a_customer_in(
    database: Path | str, publisher: tuple[str, list[str]]
) -> None:
    base, _ = publisher
    client_id = f"{base}/clients/ok.json"
    with smtp_server() as (mailbox, port):
        async with signin_server(
            database, mail_to(port), client_documents=ClientMetadataDocuments(development=True)
        ) as (urls, _store):
            url = urls[0]
            async with httpx2.AsyncClient() as http, httpx2.AsyncClient() as browser:
                metadata = (
                    await http.get(url.replace("/mcp", "/.well-known/oauth-authorization-server"))
                ).json()
                verifier, challenge = pkce()
                person = Person(browser, mailbox)
                page = await person.open(authorize_url(url, client_id, challenge))
                assert "Published Client" in page.text
                location = await person.sign_in(authorize_url(url, client_id, challenge))
                tokens = await exchange(http, url, client_id, query_of(location)["code"], verifier)
    assert metadata["client_id_metadata_document_supported"] is True
    assert tokens.status_code == 200 and tokens.json()["access_token"].startswith("mcpi_")
