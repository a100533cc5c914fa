"""The server as its own OAuth authorization server: a real client signs a customer in, and attacks fail.

The client is the MCP Python SDK's own ``OAuthClientProvider`` (discovery, dynamic registration, PKCE,
resource indicator, refresh); the person is an HTTP client following the sign-in pages' forms; the
one-time code arrives by real SMTP (aiosmtpd on loopback).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyUrl

from mcp_invoices.auth.lockout import CODE_ATTEMPTS
from tests.databases import rows
from tests.results import error_of
from tests.signin_support import ALICE, Mailbox, Person, mail_to, query_of, signin_server, smtp_server

pytestmark = pytest.mark.database

REDIRECT = "http://127.0.0.1:5173/callback"


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


@contextlib.asynccontextmanager
async def deployed(database: Path | str) -> AsyncIterator[tuple[str, Mailbox, Path | str]]:
    """One server (entered and left in the test's own task: the SDK's lifespan requires it)."""
    with smtp_server() as (mailbox, port):
        async with signin_server(database, mail_to(port)) as (urls, _store):
            yield urls[0], mailbox, database


def sdk_client(url: str, person: Person, storage: MemoryStorage) -> OAuthClientProvider:
    outcome: dict[str, str] = {}

    async def redirect_handler(authorization_url: str) -> None:
        outcome["location"] = await person.sign_in(authorization_url)

    async def callback_handler() -> AuthorizationCodeResult:
        query = query_of(outcome["location"])
        # RFC 9207: the SDK client checks iss against the metadata's issuer, as a string.
        return AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))

    return OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="Test Assistant",
            redirect_uris=[AnyUrl(REDIRECT)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )


async def test_the_python_sdk_client_signs_a_customer_in_sees_only_their_invoices_refreshes_and_is_revoked(
    database: Path | str,
) -> None:
    async with deployed(database) as deployment:
        url, mailbox, database = deployment
        storage = MemoryStorage()
        async with httpx2.AsyncClient(follow_redirects=False) as browser:
            person = Person(browser, mailbox)
            auth = sdk_client(url, person, storage)
            async with httpx2.AsyncClient(auth=auth) as http:
                async with Client(streamable_http_client(url, http_client=http)) as client:
                    own = await client.call_tool("get_invoice", {"invoice_id": "ord_1001"})
                    other = await client.call_tool("get_invoice", {"invoice_id": "ord_2001"})
                    signed_in = storage.tokens
                    # The access token's hour is up (as the client reckons it): the SDK refreshes by itself.
                    auth.context.token_expiry_time = 0.5
                    after_refresh = await client.call_tool("get_invoice", {"invoice_id": "ord_1001"})
        assert signed_in is not None and storage.tokens is not None
        assert storage.tokens.refresh_token != signed_in.refresh_token  # rotated
        assert storage.tokens.access_token != signed_in.access_token
        assert after_refresh.structured_content is not None and not after_refresh.is_error
        assert not own.is_error and own.structured_content["customer"]["id"] == "cus_alice"
        assert error_of(other)["code"] == "not_found"
        assert mailbox.wait_for(1)["To"] == ALICE
        assert storage.tokens is not None and storage.tokens.refresh_token
        first = storage.tokens

        # Nothing secret at rest: no code, token or refresh token appears in the database.
        stored = " ".join(str(row) for row in rows(database, "SELECT * FROM oauth_grants"))
        assert first.refresh_token not in stored and first.access_token.split("_")[-1] not in stored

        # Refresh: a new access token and a new refresh token (rotation).
        assert storage.client is not None
        token_url = url.replace("/mcp", "/token")
        client_form = {
            "client_id": storage.client.client_id,
            "client_secret": storage.client.client_secret or "",
        }
        async with httpx2.AsyncClient() as http:
            refreshed = await http.post(
                token_url,
                data={"grant_type": "refresh_token", "refresh_token": first.refresh_token} | client_form,
            )
            assert refreshed.status_code == 200, refreshed.text
            second = refreshed.json()
            assert (
                second["refresh_token"] != first.refresh_token
                and second["access_token"] != first.access_token
            )
            works = await http.post(url, headers=_mcp_headers(second["access_token"]), json=_tools_list())
            assert works.status_code == 200

            # Revocation (RFC 7009) ends the grant: the next call is a 401 that says so.
            revoked = await http.post(
                url.replace("/mcp", "/revoke"), data={"token": second["access_token"]} | client_form
            )
            assert revoked.status_code == 200
            refused = await http.post(url, headers=_mcp_headers(second["access_token"]), json=_tools_list())
        assert refused.status_code == 401
        assert "not recognised here (it is unknown or was revoked)" in refused.json()["error"]["message"]
        assert "sign-in page" in refused.json()["error"]["message"]


def _mcp_headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
    }


def _tools_list() -> dict[str, Any]:
    """A request any authorised caller may send first (the handshake's initialize)."""
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"},
        },
    }


# -- attacks, one by one, on a flow driven by hand ---------------------------------------------------


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


async def register(http: httpx2.AsyncClient, url: str, redirect: str = REDIRECT) -> dict[str, Any]:
    response = await http.post(
        url.replace("/mcp", "/register"),
        json={"client_name": "Hand", "redirect_uris": [redirect], "token_endpoint_auth_method": "none"},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def authorize_url(url: str, client_id: str, challenge: str, redirect: str = REDIRECT, **extra: str) -> str:
    from urllib.parse import urlencode

    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "st-1",
        "resource": url,
    } | extra
    return url.replace("/mcp", "/authorize") + "?" + urlencode(query)


async def exchange(
    http: httpx2.AsyncClient, url: str, client_id: str, code: str, verifier: str, *, at: str | None = None
) -> httpx2.Response:
    return await http.post(
        (at or url).replace("/mcp", "/token"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": client_id,
            "code_verifier": verifier,
            "resource": url,
        },
    )


async def test_a_replayed_code_is_refused_and_revokes_what_it_gave(database: Path | str) -> None:
    async with deployed(database) as deployment:
        url, mailbox, _ = deployment
        async with httpx2.AsyncClient() as http, httpx2.AsyncClient() as browser:
            client = await register(http, url)
            verifier, challenge = pkce()
            location = await Person(browser, mailbox).sign_in(
                authorize_url(url, client["client_id"], challenge)
            )
            assert location.startswith(REDIRECT + "?") and query_of(location)["state"] == "st-1"
            code = query_of(location)["code"]
            first = await exchange(http, url, client["client_id"], code, verifier)
            assert first.status_code == 200
            token = first.json()["access_token"]
            assert (await http.post(url, headers=_mcp_headers(token), json=_tools_list())).status_code == 200
            replay = await exchange(http, url, client["client_id"], code, verifier)
            after = await http.post(url, headers=_mcp_headers(token), json=_tools_list())
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
        assert (
            after.status_code == 401
        )  # the tokens the code gave are revoked: one of the two holders is a thief


async def test_a_wrong_pkce_verifier_gets_nothing(database: Path | str) -> None:
    async with deployed(database) as deployment:
        url, mailbox, _ = deployment
        async with httpx2.AsyncClient() as http, httpx2.AsyncClient() as browser:
            client = await register(http, url)
            _verifier, challenge = pkce()
            location = await Person(browser, mailbox).sign_in(
                authorize_url(url, client["client_id"], challenge)
            )
            wrong = await exchange(http, url, client["client_id"], query_of(location)["code"], pkce()[0])
        assert wrong.status_code == 400 and wrong.json() == {
            "error": "invalid_grant",
            "error_description": "incorrect code_verifier",
        }


async def test_a_foreign_redirect_uri_is_refused_before_any_page(database: Path | str) -> None:
    async with deployed(database) as deployment:
        url, _, _ = deployment
        async with httpx2.AsyncClient() as http:
            client = await register(http, url)
            _, challenge = pkce()
            foreign = await http.get(
                authorize_url(url, client["client_id"], challenge, redirect="https://evil.example/cb")
            )
            other_path = await http.get(
                authorize_url(url, client["client_id"], challenge, redirect="http://127.0.0.1:5173/elsewhere")
            )
            other_port = await http.get(
                authorize_url(url, client["client_id"], challenge, redirect="http://127.0.0.1:40123/callback")
            )
        assert foreign.status_code == 400 and "not registered" in foreign.json()["error_description"]
        assert "location" not in foreign.headers
        assert other_path.status_code == 400
        # RFC 8252 7.3: a loopback redirect URI may come back on another port.
        assert other_port.status_code == 302 and "/signin?flow=" in other_port.headers["location"]


async def test_a_token_for_another_resource_is_not_issued(database: Path | str) -> None:
    async with deployed(database) as deployment:
        url, _, _ = deployment
        async with httpx2.AsyncClient() as http:
            client = await register(http, url)
            _, challenge = pkce()
            answer = await http.get(
                authorize_url(url, client["client_id"], challenge, resource="https://other.example/mcp")
            )
        assert answer.status_code == 302
        assert query_of(answer.headers["location"])["error"] == "invalid_target"
        # RFC 9207: an error the SDK's handler redirects carries the issuer too.
        assert query_of(answer.headers["location"])["iss"] == url.removesuffix("/mcp") + "/"


async def test_an_oversized_token_request_is_refused_not_passed_on_unchecked(database: Path | str) -> None:
    """The resource check reads the whole form; one too large to read is refused, never waved through."""
    async with deployed(database) as (url, _, _):
        async with httpx2.AsyncClient() as http:
            client = await register(http, url)
            answer = await http.post(
                url.replace("/mcp", "/token"),
                data={
                    "grant_type": "authorization_code",
                    "client_id": client["client_id"],
                    "code": "x",
                    "code_verifier": "v" * 43,
                    "redirect_uri": REDIRECT,
                    "resource": "https://other.example/mcp",
                    "padding": "p" * 70_000,
                },
            )
    assert answer.status_code == 413
    assert answer.json()["error"] == "invalid_request"


async def test_every_authorization_response_names_the_issuer_the_metadata_names(database: Path | str) -> None:
    """RFC 9207: ``iss`` on the code redirect equals the metadata's ``issuer``, which says it is sent."""
    async with deployed(database) as (url, mailbox, _):
        async with httpx2.AsyncClient() as http, httpx2.AsyncClient() as browser:
            metadata = (await http.get(url.replace("/mcp", "/.well-known/oauth-authorization-server"))).json()
            client = await register(http, url)
            location = await Person(browser, mailbox).sign_in(
                authorize_url(url, client["client_id"], pkce()[1])
            )
            to_sign_in = await http.get(authorize_url(url, client["client_id"], pkce()[1]))
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert query_of(location)["iss"] == metadata["issuer"] == url.removesuffix("/mcp") + "/"
    assert set(query_of(location)) == {"code", "state", "iss"}
    # The redirect to our own sign-in page is not an authorization response: no iss there.
    assert "iss" not in query_of(to_sign_in.headers["location"])


async def test_a_token_request_for_another_resource_is_refused_for_codes_and_refreshes(
    database: Path | str,
) -> None:
    """RFC 8707 section 2.2: the token endpoint answers ``invalid_target`` for a resource other than the one
    bound at /authorize (this server's), for a code and for a refresh; the code is not spent by it."""
    async with deployed(database) as (url, mailbox, _):
        async with httpx2.AsyncClient() as http, httpx2.AsyncClient() as browser:
            client = await register(http, url)
            verifier, challenge = pkce()
            location = await Person(browser, mailbox).sign_in(
                authorize_url(url, client["client_id"], challenge)
            )
            code = query_of(location)["code"]
            token_url = url.replace("/mcp", "/token")
            form = {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "client_id": client["client_id"],
                "code_verifier": verifier,
            }
            foreign = await http.post(token_url, data=form | {"resource": "https://other.example/mcp"})
            sibling = await http.post(token_url, data=form | {"resource": url + "/admin"})
            tokens = await http.post(token_url, data=form | {"resource": url})
            refresh = {
                "grant_type": "refresh_token",
                "refresh_token": tokens.json()["refresh_token"],
                "client_id": client["client_id"],
            }
            foreign_refresh = await http.post(
                token_url, data=refresh | {"resource": "https://other.example/mcp"}
            )
            refreshed = await http.post(token_url, data=refresh)
    for refused in (foreign, sibling, foreign_refresh):
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "invalid_target"
        assert url in refused.json()["error_description"]
        assert refused.headers["cache-control"] == "no-store"
    assert tokens.status_code == 200, tokens.text  # the refusals spent nothing
    assert refreshed.status_code == 200, refreshed.text  # nor did the refused refresh (no resource: ours)


async def test_forms_without_the_csrf_token_or_from_another_browser_are_refused(database: Path | str) -> None:
    async with deployed(database) as deployment:
        url, mailbox, _ = deployment
        async with (
            httpx2.AsyncClient() as http,
            httpx2.AsyncClient() as browser,
            httpx2.AsyncClient() as other,
        ):
            client = await register(http, url)
            _, challenge = pkce()
            person = Person(browser, mailbox)
            page = await person.open(authorize_url(url, client["client_id"], challenge))
            assert page.status_code == 200
            fields = person.form()
            missing = await browser.post(
                url.replace("/mcp", "/signin/email"), data={"flow": fields["flow"], "email": ALICE}
            )
            wrong = await browser.post(
                url.replace("/mcp", "/signin/email"), data=fields | {"csrf": "x" * 43, "email": ALICE}
            )
            # A cross-site form carries the right fields but not the SameSite=Strict cookie.
            forged = await other.post(url.replace("/mcp", "/signin/email"), data=fields | {"email": ALICE})
            elsewhere = await other.get(str(page.url))
        for refused in (missing, wrong, forged):
            assert refused.status_code == 403 and "security token is missing or wrong" in refused.text
        assert elsewhere.status_code == 403 and "started in another browser" in elsewhere.text
        assert mailbox.messages == []


async def test_guessing_the_code_locks_the_account_after_a_few_tries(database: Path | str) -> None:
    async with deployed(database) as deployment:
        url, mailbox, _ = deployment
        async with httpx2.AsyncClient() as http, httpx2.AsyncClient() as browser:
            client = await register(http, url)
            _, challenge = pkce()
            person = Person(browser, mailbox)
            await person.open(authorize_url(url, client["client_id"], challenge))
            await person.post("/signin/email", person.form() | {"email": ALICE})
            real = mailbox.code(1)
            answers = []
            for guess in range(CODE_ATTEMPTS):
                answers.append(await person.post("/signin/code", person.form() | {"code": f"{guess:08d}"}))
                if answers[-1].status_code == 429:
                    break
            # Locked: even the right code no longer works (a new flow for the same account is locked too).
            fields = hidden_fields_of(answers[0].text)
            late = await browser.post(url.replace("/mcp", "/signin/code"), data=fields | {"code": real})
        assert [answer.status_code for answer in answers] == [400] * (CODE_ATTEMPTS - 1) + [429]
        assert 'role="alert"' in answers[0].text and "tries left" in answers[0].text
        assert late.status_code == 429 and "Too many wrong codes" in late.text


def hidden_fields_of(html: str) -> dict[str, str]:
    from tests.signin_support import hidden_fields

    return hidden_fields(html)


async def test_an_unknown_address_gets_the_same_answer_and_no_email(database: Path | str) -> None:
    async with deployed(database) as deployment:
        url, mailbox, _ = deployment
        async with httpx2.AsyncClient() as http, httpx2.AsyncClient() as one, httpx2.AsyncClient() as two:
            client = await register(http, url)
            pages = []
            for browser, email in ((one, "nobody@nowhere.example"), (two, ALICE)):
                person = Person(browser, mailbox)
                await person.open(authorize_url(url, client["client_id"], pkce()[1]))
                answer = await person.post("/signin/email", person.form() | {"email": email})
                pages.append(
                    answer.text.replace(email, "EMAIL")
                    .replace(person.form()["flow"], "F")
                    .replace(person.form()["csrf"], "C")
                )
            mailbox.wait_for(1)
        assert pages[0] == pages[1]
        assert [message["To"] for message in mailbox.messages] == [ALICE]


async def test_a_reused_refresh_token_revokes_the_whole_family(database: Path | str) -> None:
    async with deployed(database) as deployment:
        url, mailbox, _ = deployment
        async with httpx2.AsyncClient() as http, httpx2.AsyncClient() as browser:
            client = await register(http, url)
            verifier, challenge = pkce()
            location = await Person(browser, mailbox).sign_in(
                authorize_url(url, client["client_id"], challenge)
            )
            tokens = (
                await exchange(http, url, client["client_id"], query_of(location)["code"], verifier)
            ).json()
            refresh = {"grant_type": "refresh_token", "client_id": client["client_id"]}
            rotated = await http.post(
                url.replace("/mcp", "/token"), data=refresh | {"refresh_token": tokens["refresh_token"]}
            )
            assert rotated.status_code == 200
            newest = rotated.json()
            reused = await http.post(
                url.replace("/mcp", "/token"), data=refresh | {"refresh_token": tokens["refresh_token"]}
            )
            after = await http.post(url, headers=_mcp_headers(newest["access_token"]), json=_tools_list())
            newest_refresh = await http.post(
                url.replace("/mcp", "/token"), data=refresh | {"refresh_token": newest["refresh_token"]}
            )
        assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
        assert after.status_code == 401
        assert newest_refresh.status_code == 400


async def test_the_metadata_leads_a_client_to_this_server_as_its_authorization_server(
    database: Path | str,
) -> None:
    async with deployed(database) as deployment:
        url, _, _ = deployment
        origin = url.removesuffix("/mcp")
        async with httpx2.AsyncClient() as http:
            resource = (await http.get(f"{origin}/.well-known/oauth-protected-resource/mcp")).json()
            server = (await http.get(f"{origin}/.well-known/oauth-authorization-server")).json()
            unauthenticated = await http.post(url, json=_tools_list())
        assert resource["authorization_servers"] == [f"{origin}/"] == [server["issuer"]]
        assert server["code_challenge_methods_supported"] == ["S256"]
        assert server["registration_endpoint"] == f"{origin}/register"
        assert server["revocation_endpoint"] == f"{origin}/revoke"
        assert server["authorization_response_iss_parameter_supported"] is True
        assert unauthenticated.status_code == 401
        assert "opens this server's sign-in page" in unauthenticated.json()["error"]["message"]


async def test_a_flow_begun_on_one_replica_finishes_on_another(database: Path | str) -> None:
    with smtp_server() as (mailbox, port):
        async with signin_server(database, mail_to(port), replicas=2) as (urls, _store):
            first, second = urls
            async with httpx2.AsyncClient() as http, httpx2.AsyncClient() as browser:
                client = await register(http, first)
                verifier, challenge = pkce()
                person = Person(browser, mailbox)
                await person.open(authorize_url(first, client["client_id"], challenge))
                fields = person.form()
                on_second = second.removesuffix("/mcp")
                # Cookies are per host, not per port: the browser sends the flow's cookie to both.
                await browser.post(f"{on_second}/signin/email", data=fields | {"email": ALICE})
                answer = await browser.post(
                    f"{on_second}/signin/code", data=fields | {"code": mailbox.code(1)}
                )
                assert answer.status_code == 303
                consent = await browser.post(
                    f"{on_second}/signin/consent", data=fields | {"decision": "allow"}
                )
                code = query_of(consent.headers["location"])["code"]
                tokens = await exchange(http, first, client["client_id"], code, verifier, at=second)
    assert tokens.status_code == 200, tokens.text


async def test_a_public_client_revokes_its_token_without_a_secret(database: Path | str) -> None:
    """The SDK's own revocation handler demanded a client_secret field even from a public client."""
    async with deployed(database) as (url, mailbox, _):
        async with httpx2.AsyncClient() as http, httpx2.AsyncClient() as browser:
            client = await register(http, url)
            verifier, challenge = pkce()
            location = await Person(browser, mailbox).sign_in(
                authorize_url(url, client["client_id"], challenge)
            )
            tokens = (
                await exchange(http, url, client["client_id"], query_of(location)["code"], verifier)
            ).json()
            stranger = await register(http, url)
            by_stranger = await http.post(
                url.replace("/mcp", "/revoke"),
                data={"token": tokens["access_token"], "client_id": stranger["client_id"]},
            )
            still = await http.post(url, headers=_mcp_headers(tokens["access_token"]), json=_tools_list())
            revoked = await http.post(
                url.replace("/mcp", "/revoke"),
                data={"token": tokens["refresh_token"], "client_id": client["client_id"]},
            )
            after = await http.post(url, headers=_mcp_headers(tokens["access_token"]), json=_tools_list())
    assert by_stranger.status_code == 200 and still.status_code == 200  # another client cannot revoke it
    assert (
        revoked.status_code == 200 and after.status_code == 401
    )  # revoking the refresh token ends the grant


async def test_in_development_mode_the_code_is_in_the_log_and_only_then(
    database: Path | str, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import re

    from mcp_invoices.auth.mail import load_mail_settings

    caplog.set_level(logging.INFO)
    development = load_mail_settings({"MCP_INVOICES_SIGNIN_LOG_CODES": "1"})
    assert development.log_codes and development.host is None and development.can_send
    assert not load_mail_settings({}).can_send  # neither SMTP nor development mode: no way to send
    async with signin_server(database, development) as (urls, _store):
        url = urls[0]
        async with httpx2.AsyncClient() as http, httpx2.AsyncClient() as browser:
            client = await register(http, url)
            person = Person(browser, Mailbox())
            await person.open(authorize_url(url, client["client_id"], pkce()[1]))
            await person.post("/signin/email", person.form() | {"email": ALICE})
            logged = [
                record.getMessage()
                for record in caplog.records
                if "development sign-in code" in record.getMessage()
            ]
            assert len(logged) == 1 and "MCP_INVOICES_SIGNIN_LOG_CODES=1" in logged[0]
            code = re.search(r": (\d{8}) ", logged[0])
            assert code is not None
            consent = await person.post("/signin/code", person.form() | {"code": code.group(1)})
    assert "to read your invoices?" in consent.text


async def test_with_smtp_no_code_token_or_address_reaches_the_log(
    database: Path | str, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    async with deployed(database) as (url, mailbox, _):
        async with httpx2.AsyncClient() as http, httpx2.AsyncClient() as browser:
            client = await register(http, url)
            verifier, challenge = pkce()
            location = await Person(browser, mailbox).sign_in(
                authorize_url(url, client["client_id"], challenge)
            )
            tokens = (
                await exchange(http, url, client["client_id"], query_of(location)["code"], verifier)
            ).json()
    # The server's log (ours, the SDK's server side, uvicorn's); the test's own SMTP server and HTTP
    # clients log what they carry, and are not the server.
    server = ("mcp_invoices", "mcp.server", "uvicorn", "starlette")
    logged = "\n".join(
        f"{record.getMessage()} {record.__dict__}"
        for record in caplog.records
        if record.name.startswith(server)
    )
    assert "registered an OAuth client" in logged  # the server's log was captured
    secrets_seen = [
        mailbox.code(1),
        query_of(location)["code"],
        tokens["access_token"],
        tokens["refresh_token"],
    ]
    assert [secret for secret in secrets_seen if secret in logged] == []


def test_sign_in_secrets_in_a_logged_url_are_redacted() -> None:
    from mcp_invoices.logs import redact

    line = redact(
        '"GET /signin?flow=Zm9vYmFyYmF6cXV4MTIz HTTP/1.1" and /callback?code=c0dec0dec0de&state=st-1'
    )
    assert "Zm9vYmFyYmF6cXV4MTIz" not in line and "c0dec0dec0de" not in line and "state=st-1" in line
    assert "r3fr3sh" not in redact("refreshing mcpr_r3fr3shr3fr3sh")


def test_the_real_server_offers_sign_in_by_default_with_nothing_but_development_codes(tmp_path: Path) -> None:
    """`mcp-invoices serve --transport http` as the README says: the metadata leads to the sign-in page."""
    from tests.test_transports import http_server

    env = {"MCP_INVOICES_DB": str(tmp_path / "ledger.sqlite3"), "MCP_INVOICES_SIGNIN_LOG_CODES": "1"}
    with http_server(env) as url, httpx2.Client() as http:
        issuer = http.get(url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp")).json()[
            "authorization_servers"
        ][0]
        metadata = http.get(f"{issuer.rstrip('/')}/.well-known/oauth-authorization-server").json()
        client = http.post(
            metadata["registration_endpoint"],
            json={"client_name": "Smoke", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"},
        ).json()
        started = http.get(authorize_url(url, client["client_id"], pkce()[1]))
        page = http.get(urljoin(url, started.headers["location"]))
    assert started.status_code == 302
    assert page.status_code == 200 and "Sign in to see your invoices" in page.text
    assert (
        page.headers["cache-control"] == "no-store"
        and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    )


async def test_denying_sends_access_denied_to_the_client_and_no_code(database: Path | str) -> None:
    async with deployed(database) as (url, mailbox, _):
        async with httpx2.AsyncClient() as http, httpx2.AsyncClient() as browser:
            client = await register(http, url)
            location = await Person(browser, mailbox).sign_in(
                authorize_url(url, client["client_id"], pkce()[1]), allow=False
            )
    assert location.startswith(REDIRECT + "?")
    assert query_of(location) == {
        "error": "access_denied",
        "error_description": "The customer declined.",
        "state": "st-1",
        "iss": url.removesuffix("/mcp") + "/",
    }


async def test_grants_long_expired_are_swept_when_a_new_sign_in_starts(database: Path | str) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from mcp_invoices.storage import open_database
    from mcp_invoices.storage.schema import oauth_grants

    async with deployed(database) as (url, mailbox, _):
        async with httpx2.AsyncClient() as http:
            client = await register(http, url)
            await http.get(authorize_url(url, client["client_id"], pkce()[1]))
            assert len(rows(database, "SELECT key FROM oauth_grants")) == 1
            db = open_database(database)
            try:
                with db.write() as connection:
                    connection.execute(
                        update(oauth_grants).values(expires_at=datetime.now(UTC) - timedelta(days=2))
                    )
            finally:
                db.close()
            await http.get(authorize_url(url, client["client_id"], pkce()[1]))
    assert len(rows(database, "SELECT key FROM oauth_grants")) == 1  # the old one gone, the new one kept


async def test_without_a_way_to_send_codes_the_page_says_sign_in_is_not_set_up(database: Path | str) -> None:
    from mcp_invoices.auth.mail import load_mail_settings

    async with signin_server(database, load_mail_settings({})) as (urls, _store):
        url = urls[0]
        async with httpx2.AsyncClient() as http, httpx2.AsyncClient() as browser:
            client = await register(http, url)
            page = await Person(browser, Mailbox()).open(authorize_url(url, client["client_id"], pkce()[1]))
    assert page.status_code == 503
    assert "MCP_INVOICES_SMTP_HOST" in page.text and "printed token" in page.text
