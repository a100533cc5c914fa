"""What an HTTP client finds before it has a token: discovery that leads somewhere.

With printed tokens only (``MCP_INVOICES_OAUTH=off``) there is no authorization server, so none is
advertised, and every dead end (the 401, the OAuth paths a client falls back to) says what to send
instead. With an external issuer configured, the metadata names it first; with sign-in on (the
default), it names this server too (``tests/test_oauth.py`` follows that path to the end).
"""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest

from tests.test_transports import http_server

MISSING = (
    "No bearer token was sent. Send the header Authorization: Bearer <token>, with a token printed by "
    "`mcp-invoices token issue --provider <provider> --customer <customer>` on the server; with mcp-remote, "
    "add the arguments --header and Authorization: Bearer <token> after the server URL."
)


@pytest.fixture(scope="module")
def self_issued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`serve --transport http` with nothing but its own printed tokens (sign-in off); yields the /mcp URL."""
    with http_server(
        {
            "MCP_INVOICES_DB": str(tmp_path_factory.mktemp("discovery") / "ledger.sqlite3"),
            "MCP_INVOICES_OAUTH": "off",
        }
    ) as url:
        yield url


def metadata_of(url: str) -> dict[str, object]:
    response = httpx2.get(url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp"), timeout=10)
    assert response.status_code == 200
    return response.json()


def test_with_only_its_own_tokens_the_metadata_names_no_authorization_server(self_issued: str) -> None:
    metadata = metadata_of(self_issued)
    assert metadata["resource"] == self_issued
    assert "authorization_servers" not in metadata
    assert metadata["bearer_methods_supported"] == ["header"]


def test_with_an_external_issuer_the_metadata_names_it(tmp_path: Path) -> None:
    env = {
        "MCP_INVOICES_DB": str(tmp_path / "ledger.sqlite3"),
        "MCP_INVOICES_JWT_ISSUER": "https://issuer.example",
        "MCP_INVOICES_JWKS_URL": "https://issuer.example/.well-known/jwks.json",  # fetched only for a JWT
    }
    with http_server(env) as url:
        metadata = metadata_of(url)
        response = httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=10)
    # The deployment's issuer first; this server's own sign-in (on by default) after it.
    assert metadata["authorization_servers"] == ["https://issuer.example", url.removesuffix("mcp")]
    assert "a token from https://issuer.example" in response.json()["error"]["message"]


def test_a_request_without_a_token_is_told_what_to_send_without_an_error_code(self_issued: str) -> None:
    """RFC 6750 section 3.1: no error code when the request carried no credentials; the body says it all."""
    response = httpx2.post(self_issued, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=10)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer resource_metadata="') and "error" not in challenge
    error = response.json()["error"]
    assert error["message"] == MISSING
    assert error["data"] == {"code": "unauthorized", "problem": "missing", "error_description": MISSING}


def test_a_client_that_falls_back_to_registering_at_the_origin_is_told_what_to_send(self_issued: str) -> None:
    response = httpx2.post(
        self_issued.replace("/mcp", "/register"), json={"redirect_uris": ["http://localhost/cb"]}, timeout=10
    )
    assert response.status_code == 404
    assert MISSING in response.json()["error_description"]


def test_an_idle_connection_stays_open_longer_than_clients_keep_theirs(self_issued: str) -> None:
    """Node's fetch reuses an idle connection for up to 4 s; a server that closes first (uvicorn's
    default is 5 s, and a busy server is late) makes the next call fail with "other side closed"."""
    parts = urlsplit(self_issued)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(f"GET /healthz HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
        response = b""
        while b"\r\n\r\n" not in response or len(response.partition(b"\r\n\r\n")[2]) < _length(response):
            chunk = connection.recv(65536)  # bounded by the socket's 10 s timeout
            assert chunk, "the server closed the connection mid-response"
            response += chunk
        assert response.startswith(b"HTTP/1.1 200")
        # Bounded wait on the condition itself: the socket turns readable (EOF) if the server closes it.
        closed_early = select.select([connection], [], [], 6.0)[0]
    assert closed_early == []


def _length(response: bytes) -> int:
    for line in response.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0
