"""Client ID metadata documents (the MCP authorization spec of 2025-11-25): a client whose ``client_id`` is
an HTTPS URL is described by the JSON document at that URL, instead of registering.

The URL comes from whoever sends the authorization request, so fetching it is a request forgery waiting
to happen. It is fetched as an untrusted URL:

- ``https`` only, with a path, no user info, no fragment (``http`` only in development mode);
- the host is resolved first and every address must be a global one: no loopback, private, link-local
  (cloud metadata services), multicast or reserved address (allowed only in development mode); the
  request then goes to the address that was checked (pinned, with the name kept for TLS), so a second
  DNS answer cannot point it elsewhere;
- no redirect is followed; the answer must be JSON, at most ``MAX_BYTES``, within ``TIMEOUT`` seconds;
- the document must name itself (``client_id`` equal to the URL), list its redirect URIs, and be a
  public client (``token_endpoint_auth_method`` ``none``: a document cannot hold a secret);
- answers are cached (``CACHE_SECONDS``; a refusal for ``FAILURE_CACHE_SECONDS``), so one URL sent many
  times costs one request.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2

__all__ = ["ClientMetadataDocuments", "development_from_env", "is_metadata_url"]

logger = logging.getLogger("mcp_invoices.auth")

MAX_BYTES = 5 * 1024
TIMEOUT = 5.0
CACHE_SECONDS = 300.0
FAILURE_CACHE_SECONDS = 60.0

Resolve = Callable[[str, int], Awaitable[list[str]]]


def development_from_env(env: Mapping[str, str] | None = None) -> bool:
    """``MCP_INVOICES_SIGNIN_DEVELOPMENT=1``: documents may be ``http://`` and on non-global addresses."""
    value = (os.environ if env is None else env).get("MCP_INVOICES_SIGNIN_DEVELOPMENT", "0")
    return value.strip().lower() in ("1", "true", "yes")


def is_metadata_url(client_id: str) -> bool:
    return client_id.startswith(("https://", "http://"))


async def _resolve(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


class ClientMetadataDocuments:
    def __init__(self, *, development: bool = False, resolve: Resolve = _resolve) -> None:
        self.development = development
        self._resolve = resolve
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self.fetches = 0
        """Requests actually sent (the tests count them)."""

    async def document(self, client_id: str) -> dict[str, Any] | None:
        """The client's validated metadata, or None (the reason is logged, never fetched twice a minute)."""
        now = time.monotonic()
        cached = self._cache.get(client_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            document: dict[str, Any] | None = await self._fetch(client_id)
        except _Refused as refusal:
            logger.warning(
                "refused a client ID metadata document",
                extra={"client_id": client_id[:200], "reason": str(refusal)},
            )
            document = None
        if len(self._cache) > 1000:  # bounded: a flood of distinct URLs cannot grow it without end
            self._cache.clear()
        self._cache[client_id] = (now + (CACHE_SECONDS if document else FAILURE_CACHE_SECONDS), document)
        return document

    def _check_url(self, client_id: str) -> tuple[str, str, int]:
        parts = urlsplit(client_id)
        schemes = ("https", "http") if self.development else ("https",)
        if parts.scheme not in schemes:
            raise _Refused("not an https URL")
        if parts.username or parts.password or parts.fragment or not parts.hostname:
            raise _Refused("user info, a fragment or no host")
        if parts.path in ("", "/") or "/./" in parts.path or "/../" in parts.path:
            raise _Refused("no path, or a dot segment")
        if len(client_id) > 2048:
            raise _Refused("too long")
        return parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)

    def _allowed(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return self.development or ip.is_global

    async def _fetch(self, client_id: str) -> dict[str, Any]:
        scheme, host, port = self._check_url(client_id)
        try:
            with anyio.fail_after(TIMEOUT):
                addresses = await self._resolve(host, port)
        except (OSError, TimeoutError):
            raise _Refused("the host does not resolve") from None
        if not addresses or not all(self._allowed(address) for address in addresses):
            raise _Refused("the host resolves to a loopback, private, link-local or reserved address")
        pinned = addresses[0]
        literal = f"[{pinned}]" if ":" in pinned else pinned
        parts = urlsplit(client_id)
        target = parts._replace(netloc=f"{literal}:{port}").geturl()
        self.fetches += 1
        try:
            with anyio.fail_after(TIMEOUT):
                async with httpx2.AsyncClient(
                    follow_redirects=False, timeout=TIMEOUT, trust_env=False
                ) as http:
                    request = http.build_request(
                        "GET",
                        target,
                        headers={"Host": parts.netloc, "Accept": "application/json"},
                        extensions={"sni_hostname": host} if scheme == "https" else {},
                    )
                    response = await http.send(request, stream=True)
                    try:
                        if response.status_code != 200:
                            raise _Refused(f"answered {response.status_code}")
                        body = b""
                        async for chunk in response.aiter_bytes():
                            body += chunk
                            if len(body) > MAX_BYTES:
                                raise _Refused(f"larger than {MAX_BYTES} bytes")
                    finally:
                        await response.aclose()
        except (httpx2.HTTPError, TimeoutError, OSError) as error:
            raise _Refused(f"could not be fetched ({type(error).__name__})") from None
        try:
            document = json.loads(body)
        except ValueError:
            raise _Refused("not JSON") from None
        return self._validated(client_id, document)

    @staticmethod
    def _validated(client_id: str, document: Any) -> dict[str, Any]:
        if not isinstance(document, dict):
            raise _Refused("not a JSON object")
        if document.get("client_id") != client_id:
            raise _Refused("its client_id is not its own URL")
        uris = document.get("redirect_uris")
        if not isinstance(uris, list) or not uris or not all(isinstance(uri, str) for uri in uris):
            raise _Refused("no redirect_uris")
        method = document.get("token_endpoint_auth_method", "none")
        if method != "none" or "client_secret" in document:
            raise _Refused("not a public client (a document cannot hold a secret)")
        allowed = ("client_id", "client_name", "client_uri", "logo_uri", "redirect_uris", "grant_types")
        kept = {key: document[key] for key in allowed if key in document}
        return kept | {"token_endpoint_auth_method": "none", "response_types": ["code"]}


class _Refused(Exception):
    """Why a document is not used (logged; the client sees an unknown client)."""
