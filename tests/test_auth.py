"""Bearer tokens over HTTP: issued, verified, expired, revoked, external JWTs; the principal they give."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcp_invoices.auth.tokens import TokenError, TokenStore, parse_ttl
from mcp_invoices.config import ConfigError, HttpAuthConfig, load_config, load_http_auth
from mcp_invoices.providers.emulation import running_app
from mcp_invoices.server.main import build_http_app
from mcp_invoices.server.runtime import open_runtime
from tests.databases import database_env, stored_bytes
from tests.results import error_of

SECRET_KEY = SecretStr("k" * 40)


@pytest.fixture
def store(database: Path | str) -> Iterator[TokenStore]:
    store = TokenStore(database, secret_key=SECRET_KEY)
    yield store
    store.close()


# -- the token store -------------------------------------------------------------------------------


def test_an_issued_token_verifies_to_its_provider_and_customer(store: TokenStore) -> None:
    issued = store.issue("local", "cus_alice", ttl=timedelta(hours=1))
    verified = store.verify(issued.token.get_secret_value())
    assert verified is not None
    assert (verified.record.provider, verified.record.customer_id) == ("local", "cus_alice")


def test_only_a_hash_of_the_secret_is_stored(store: TokenStore, database: Path | str) -> None:
    issued = store.issue("local", "cus_alice", ttl=None)
    # mcpi_<id>_<secret>: the id has no "_", the secret (urlsafe base64) may.
    secret = issued.token.get_secret_value().removeprefix("mcpi_").split("_", 1)[1]
    assert secret.encode() not in stored_bytes(database)


def test_a_tampered_token_does_not_verify(store: TokenStore) -> None:
    token = store.issue("local", "cus_alice", ttl=None).token.get_secret_value()
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert store.verify(tampered) is None
    assert store.verify("mcpi_nonexistent00_" + "x" * 43) is None
    assert store.verify("not even a token") is None


def test_an_expired_token_does_not_verify(store: TokenStore) -> None:
    issued = store.issue(
        "local", "cus_alice", ttl=timedelta(seconds=10), now=datetime.now(UTC) - timedelta(hours=1)
    )
    assert store.verify(issued.token.get_secret_value()) is None


def test_a_revoked_token_stops_verifying_and_is_listed_as_revoked(store: TokenStore) -> None:
    issued = store.issue("local", "cus_alice", ttl=None, label="support bot")
    store.revoke(issued.record.id)
    assert store.verify(issued.token.get_secret_value()) is None
    assert [record.revoked_at is not None for record in store.list()] == [True]


def test_revoking_an_unknown_token_says_how_to_find_the_right_one(store: TokenStore) -> None:
    with pytest.raises(TokenError, match="token list"):
        store.revoke("nope")


def test_a_provider_credential_is_stored_encrypted_and_returned_on_verification(
    store: TokenStore, database: Path | str
) -> None:
    issued = store.issue("bagisto", "42", ttl=None, provider_credential=SecretStr("bagisto_token_alice"))
    assert b"bagisto_token_alice" not in stored_bytes(database)
    verified = store.verify(issued.token.get_secret_value())
    assert verified is not None and verified.provider_credential is not None
    assert verified.provider_credential.get_secret_value() == "bagisto_token_alice"


def test_a_provider_credential_needs_the_secret_key(database: Path | str) -> None:
    keyless = TokenStore(database)
    with pytest.raises(TokenError, match="MCP_INVOICES_SECRET_KEY"):
        keyless.issue("bagisto", "42", ttl=None, provider_credential=SecretStr("t"))


@pytest.mark.parametrize(
    ("text", "seconds"), [("3600", 3600), ("90m", 5400), ("12h", 43200), ("30d", 2592000)]
)
def test_ttl_accepts_seconds_minutes_hours_and_days(text: str, seconds: int) -> None:
    assert parse_ttl(text).total_seconds() == seconds


def test_an_unknown_provider_cannot_get_a_token(store: TokenStore) -> None:
    with pytest.raises(TokenError, match="--provider"):
        store.issue("stripe", "c", ttl=None)


# -- configuration over HTTP -----------------------------------------------------------------------


def test_over_http_polar_needs_the_organisation_token_not_one_customers_session() -> None:
    with pytest.raises(ConfigError, match="POLAR_ACCESS_TOKEN"):
        load_config({"POLAR_CUSTOMER_SESSION": "polar_cst_x"}, require_scope=False)


def test_over_http_an_organisation_key_needs_no_customer_in_the_environment() -> None:
    config = load_config({"AFTERNOON_API_KEY": "ak_test_x"}, require_scope=False)
    assert config.remote[0].customer_id is None


def test_over_http_the_environments_local_customer_is_ignored() -> None:
    config = load_config({"MCP_INVOICES_CUSTOMER": "cus_alice"}, require_scope=False)
    assert config.local_customer is None


def test_a_short_secret_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="32 characters"):
        load_http_auth("127.0.0.1", 8000, {"MCP_INVOICES_SECRET_KEY": "short"})


# -- over real HTTP ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def authenticated_server(
    database: Path | str, *, jwks_url: str | None = None, port_hint: int = 0
) -> AsyncIterator[tuple[str, TokenStore]]:
    config = load_config(database_env(database), require_scope=False)
    store = TokenStore(config.database_url, secret_key=SECRET_KEY)
    async with open_runtime(config) as runtime:
        holder: dict[str, str] = {}

        async def app(scope, receive, send):  # the resource URL is known only once the port is
            await holder["app"](scope, receive, send)  # type: ignore[operator]

        async with running_app(app) as base_url:
            auth = HttpAuthConfig(
                resource_url=f"{base_url}/mcp",
                issuer_url="https://issuer.example" if jwks_url else None,
                secret_key=SECRET_KEY,
                jwt_issuer="https://issuer.example" if jwks_url else None,
                jwt_audience=f"{base_url}/mcp",
                jwks_url=jwks_url,
            )
            holder["app"] = build_http_app(runtime, auth, store, "127.0.0.1")  # type: ignore[assignment]
            async with holder["app"].router.lifespan_context(holder["app"]):  # type: ignore[attr-defined]
                yield f"{base_url}/mcp", store


@contextlib.asynccontextmanager
async def bearer(url: str, token: str) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        async with Client(streamable_http_client(url, http_client=http)) as client:
            yield client


def _post(url: str, token: str | None) -> httpx2.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx2.post(
        url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers=headers | {"Accept": "application/json, text/event-stream"},
        timeout=10,
    )


async def test_a_request_without_a_token_is_401_with_www_authenticate(database: Path | str) -> None:
    async with authenticated_server(database) as (url, _):
        response = await anyio_to_thread(_post, url, None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert "oauth-protected-resource" in response.headers["www-authenticate"]


async def test_revoked_expired_and_forged_tokens_are_401(database: Path | str) -> None:
    async with authenticated_server(database) as (url, store):
        revoked = store.issue("local", "cus_alice", ttl=None)
        store.revoke(revoked.record.id)
        expired = store.issue(
            "local", "cus_alice", ttl=timedelta(seconds=1), now=datetime.now(UTC) - timedelta(days=1)
        )
        tokens = [
            revoked.token.get_secret_value(),
            expired.token.get_secret_value(),
            "mcpi_forged000000_" + "a" * 43,
        ]
        statuses = [(await anyio_to_thread(_post, url, token)).status_code for token in tokens]
    assert statuses == [401, 401, 401]


async def test_a_token_holder_sees_only_the_tokens_customer(database: Path | str) -> None:
    async with authenticated_server(database) as (url, store):
        token = store.issue("local", "cus_bob", ttl=timedelta(hours=1)).token.get_secret_value()
        async with bearer(url, token) as client:
            rows = (await client.call_tool("list_invoices", {})).structured_content["invoices"]
            alice = await client.call_tool("get_invoice", {"invoice_id": "ord_1001"})
            resources = await client.list_resources()
    assert {row["id"] for row in rows} == {"ord_2001", "ord_2002"}
    assert alice.is_error and error_of(alice)["code"] == "not_found"
    assert resources.cache_scope == "private"


async def test_a_token_for_a_provider_the_server_does_not_serve_is_an_invalid_argument(
    database: Path | str,
) -> None:
    async with authenticated_server(database) as (url, store):
        token = store.issue("afternoon", "cus_x", ttl=None).token.get_secret_value()
        async with bearer(url, token) as client:
            result = await client.call_tool("list_invoices", {})
    assert result.is_error and error_of(result)["code"] == "invalid_argument"


async def test_revocation_takes_effect_on_the_next_request(database: Path | str) -> None:
    async with authenticated_server(database) as (url, store):
        issued = store.issue("local", "cus_alice", ttl=None)
        token = issued.token.get_secret_value()
        async with bearer(url, token) as client:
            before = await client.call_tool("list_invoices", {})
        store.revoke(issued.record.id)
        after = (await anyio_to_thread(_post, url, token)).status_code
    assert not before.is_error and after == 401


# -- an external issuer's JWTs ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@contextlib.asynccontextmanager
async def jwks_server(key: rsa.RSAPrivateKey) -> AsyncIterator[str]:
    public = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"kid": "k1", "use": "sig", "alg": "RS256"}

    async def jwks(request):  # type: ignore[no-untyped-def]
        return JSONResponse({"keys": [public]})

    async with running_app(Starlette(routes=[Route("/jwks.json", jwks)])) as base:
        yield f"{base}/jwks.json"


def _jwt(key: rsa.RSAPrivateKey, audience: str, **claims: object) -> str:
    body = {
        "iss": "https://issuer.example",
        "aud": audience,
        "sub": "user-7",
        "exp": int(time.time()) + 300,
        "mcp_invoices_provider": "local",
        "mcp_invoices_customer": "cus_hana",
    } | claims
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})


async def test_a_jwt_from_the_trusted_issuer_binds_the_request_to_its_customer(
    database: Path | str, signing_key: rsa.RSAPrivateKey
) -> None:
    async with (
        jwks_server(signing_key) as jwks_url,
        authenticated_server(database, jwks_url=jwks_url) as (url, _),
    ):
        async with bearer(url, _jwt(signing_key, url)) as client:
            rows = (await client.call_tool("list_invoices", {})).structured_content["invoices"]
    assert rows and all(row["id"].startswith("ord_3") for row in rows)


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "https://another-server.example/mcp"},
        {"exp": int(time.time()) - 60},
        {"iss": "https://evil.example"},
        {"mcp_invoices_customer": None},
    ],
    ids=["wrong-audience", "expired", "wrong-issuer", "no-customer"],
)
async def test_a_jwt_that_is_not_for_this_server_is_401(
    database: Path | str, signing_key: rsa.RSAPrivateKey, claims: dict[str, object]
) -> None:
    async with (
        jwks_server(signing_key) as jwks_url,
        authenticated_server(database, jwks_url=jwks_url) as (url, _),
    ):
        token = _jwt(signing_key, url, **claims)
        status = (await anyio_to_thread(_post, url, token)).status_code
    assert status == 401


async def test_a_jwt_signed_by_another_key_is_401(
    database: Path | str, signing_key: rsa.RSAPrivateKey
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    async with (
        jwks_server(signing_key) as jwks_url,
        authenticated_server(database, jwks_url=jwks_url) as (url, _),
    ):
        status = (await anyio_to_thread(_post, url, _jwt(other, url))).status_code
    assert status == 401


async def anyio_to_thread(fn, *args):  # type: ignore[no-untyped-def]
    import anyio.to_thread

    return await anyio.to_thread.run_sync(fn, *args)


# -- what a 401 tells its reader --------------------------------------------------------------------


async def _sdk_client_error(url: str, token: str | None) -> str:
    """What an MCP SDK 2.x client (the one fastmcp 4 and this project's demo are built on) raises."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers) as http:
        with pytest.raises(Exception) as raised:
            async with Client(streamable_http_client(url, http_client=http)) as client:
                await client.list_tools()
    error: BaseException = raised.value
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return str(error)


def _challenge_and_message(url: str, token: str | None) -> tuple[str, str]:
    response = _post(url, token)
    assert response.status_code == 401
    return response.headers["www-authenticate"], response.json()["error"]["message"]


async def test_each_sign_in_mistake_is_named_with_its_fix_in_the_header_the_body_and_the_sdk_client(
    database: Path | str,
) -> None:
    async with authenticated_server(database) as (url, store):
        revoked = store.issue("local", "cus_alice", ttl=None)
        store.revoke(revoked.record.id)
        expired = store.issue(
            "local", "cus_alice", ttl=timedelta(seconds=1), now=datetime.now(UTC) - timedelta(days=1)
        )
        cases = {
            "missing": None,
            "expired": expired.token.get_secret_value(),
            "revoked": revoked.token.get_secret_value(),
            "unknown": "mcpi_forged000000_" + "a" * 43,
            "not ours": "not-a-token-at-all",
        }
        seen = {
            name: await anyio_to_thread(_challenge_and_message, url, token) for name, token in cases.items()
        }
        shown = {name: await _sdk_client_error(url, token) for name, token in cases.items()}
    assert "error=" not in seen["missing"][0] and seen["missing"][1].startswith("No bearer token was sent.")
    assert "--header" in seen["missing"][1]
    assert seen["expired"][1].startswith("The bearer token has expired.")
    for name in ("expired", "revoked", "unknown", "not ours"):
        challenge, message = seen[name]
        assert challenge.startswith('Bearer error="invalid_token", error_description="'), name
        assert f'error_description="{message}"' in challenge, name
        assert "mcp-invoices token issue" in message, name
    # Revoked and unknown read the same: telling them apart would only help whoever holds a leaked token.
    assert seen["revoked"][1] == seen["unknown"][1] == seen["not ours"][1]
    assert seen["revoked"][1].startswith("The bearer token is not recognised here")
    for name, (_, message) in seen.items():
        assert message in shown[name], (name, shown[name])


async def test_a_jwt_for_another_resource_and_an_expired_jwt_are_told_apart(
    database: Path | str, signing_key: rsa.RSAPrivateKey
) -> None:
    async with (
        jwks_server(signing_key) as jwks_url,
        authenticated_server(database, jwks_url=jwks_url) as (url, _),
    ):
        elsewhere = _jwt(signing_key, "https://another-server.example/mcp")
        late = _jwt(signing_key, url, exp=int(time.time()) - 60)
        forged = _jwt(rsa.generate_private_key(public_exponent=65537, key_size=2048), url)
        messages = [
            (await anyio_to_thread(_challenge_and_message, url, token))[1]
            for token in (elsewhere, late, forged)
        ]
    assert messages[0].startswith(f"The bearer token was issued for another resource, not {url}.")
    assert messages[1].startswith("The bearer token has expired.")
    assert messages[2].startswith("The bearer token is not recognised here")
    assert all("https://issuer.example" in message for message in messages)
