"""Polar's customer portal as the session's customer: authenticated requests and invoice documents.

Every portal call carries one customer's session token, which is what scopes it. Over stdio that token is
``POLAR_CUSTOMER_SESSION``; over HTTP a session is minted per customer with the organisation token
(``POLAR_ACCESS_TOKEN``), which is only ever sent to ``POST /v1/customer-sessions/``, and kept in the
shared state so that replicas do not each mint their own. Invoice documents are presigned URLs,
downloaded with a separate client that carries no Polar credential.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Unpack

import anyio
import httpx2
from pydantic import SecretStr

from mcp_invoices.domain.errors import ProviderTimeout, ProviderUnavailable, Unauthorized
from mcp_invoices.logs import add_secrets
from mcp_invoices.principal import Scope
from mcp_invoices.providers.catalog import spec
from mcp_invoices.providers.http import DOCUMENT_MAX_BYTES, ProviderHTTP, Tuning
from mcp_invoices.providers.polar.wire import (
    API_VERSION,
    API_VERSION_HEADER,
    NAME,
    PROVIDER_ID,
    UNREADABLE_HINT,
    WIRE,
    WireCustomerSession,
)
from mcp_invoices.providers.wire import error_body, text_at
from mcp_invoices.replicas.base import SharedState

__all__ = ["ACCESS_TOKEN_HINT", "CUSTOMER_SESSION_HINT", "PolarPortal", "check_served", "is_uuid"]

_SESSION: Final = WIRE.decoder(WireCustomerSession)

logger = logging.getLogger("mcp_invoices.polar")

CUSTOMER_SESSION_HINT: Final = (
    "Check POLAR_CUSTOMER_SESSION (a customer session token, polar_cst_…; they expire after an hour)."
)
ACCESS_TOKEN_HINT: Final = (
    "Check POLAR_ACCESS_TOKEN (an organisation access token allowed to create customer sessions)."
)
_SCOPE_CREDENTIAL_HINT: Final = (
    "The Polar customer session bound to this session's token was refused; issue a new token."
)

_CUSTOMER_SESSIONS: Final = "/v1/customer-sessions/"
_SESSION_REFRESH_MARGIN: Final = 300.0
"""A minted customer session is replaced this many seconds before Polar's ``expires_at``."""
_MAX_PDF_BYTES: Final = DOCUMENT_MAX_BYTES
_PDF_MAGIC: Final = b"%PDF-"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def check_served(response: httpx2.Response, object_id: str) -> httpx2.Response:
    """``response``, unless it is a 404 of no Polar resource for a well-formed id: the version or route is
    not served there (a malformed id, ``a/b`` say, misses every route and stays not found).

    Polar's own 404s name their error (``{"error": "ResourceNotFound", ...}``, polar c6c3645
    server/polar/exception_handlers.py); an API version it does not serve, or a path it has no route
    for, is a bare ``{"detail": "Not Found"}`` (server/polar/kit/versioning.py APIVersionMiddleware).
    That must not read as "no such invoice".
    """
    if response.status_code == 404 and is_uuid(object_id) and text_at(error_body(response), "error") is None:
        raise ProviderUnavailable(
            f"Polar does not serve API version {API_VERSION} (or this path) at the configured base URL.",
            hint="Check POLAR_BASE_URL (e.g. https://api.polar.sh); if it is right, this server needs an "
            "update for Polar's current API version.",
        )
    return response


@dataclass
class _MintedSession:
    token: SecretStr
    lifetime: float
    """Seconds from now after which a new session is minted instead (shortly before Polar's expiry)."""


class PolarPortal:
    """Customer-portal requests as the scope's customer, and downloads of the documents they point at."""

    def __init__(
        self,
        *,
        base_url: str,
        shared: SharedState,
        customer_session: SecretStr | None,
        access_token: SecretStr | None,
        download_deadline: float = 30.0,
        download_transport: httpx2.AsyncBaseTransport | None = None,
        **tuning: Unpack[Tuning],
    ) -> None:
        # No default Authorization header: each call names its token, so the organisation token can
        # only ever reach the one endpoint that takes it.
        self.http = ProviderHTTP.for_provider(
            spec(PROVIDER_ID),
            base_url=base_url,
            headers={API_VERSION_HEADER: API_VERSION},  # on every request, the session mint included
            auth_hint=CUSTOMER_SESSION_HINT if customer_session is not None else ACCESS_TOKEN_HINT,
            **tuning,
        )
        # Invoice documents live on presigned storage URLs: a plain client that never carries a
        # Polar token and never follows a redirect elsewhere.
        self._downloads = httpx2.AsyncClient(
            headers={"Accept": "application/pdf"},
            timeout=httpx2.Timeout(connect=5.0, read=20.0, write=20.0, pool=5.0),
            follow_redirects=False,
            transport=download_transport,
        )
        self.download_deadline = download_deadline
        self._shared = shared
        self._customer_session = customer_session
        self._access_token = access_token
        self._mint_locks: dict[str, anyio.Lock] = {}

    def __repr__(self) -> str:
        return f"PolarPortal(http={self.http!r})"

    async def aclose(self) -> None:
        await self.http.aclose()
        await self._downloads.aclose()

    async def request(
        self,
        scope: Scope,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        expected: tuple[int, ...] = (200,),
        idempotent: bool | None = None,
    ) -> httpx2.Response:
        """A customer-portal call as the scope's customer; a refused minted session is re-minted once."""

        async def send(token: str) -> httpx2.Response:
            return await self.http.request(
                method,
                path,
                params=params,
                json=json,
                headers=_bearer(token),
                expected=expected,
                idempotent=idempotent,
            )

        token, minted, hint = await self._session_for(scope)
        try:
            return await send(token)
        except Unauthorized as refused:
            if not minted:
                raise Unauthorized(refused.message, hint=hint) from None
        token, _, _ = await self._session_for(scope, stale=token)
        try:
            return await send(token)
        except Unauthorized:
            raise Unauthorized(
                "Polar refused the customer session this server opened for the session's customer.",
                hint=ACCESS_TOKEN_HINT,
            ) from None

    async def _session_for(self, scope: Scope, *, stale: str | None = None) -> tuple[str, bool, str]:
        """``(token, minted, hint)``: the customer session that scopes this call."""
        if scope.credential is not None:
            return scope.credential.get_secret_value(), False, _SCOPE_CREDENTIAL_HINT
        if self._customer_session is not None:
            return self._customer_session.get_secret_value(), False, CUSTOMER_SESSION_HINT
        customer = scope.customer_id
        if not customer:
            raise Unauthorized(
                "Polar needs a customer to open a session for, and this session names none.",
                hint=CUSTOMER_SESSION_HINT,
            )
        lock = self._mint_locks.setdefault(customer, anyio.Lock())
        # Concurrent first calls for one customer mint one session in this process; two replicas may
        # each mint one at the same moment, which is harmless (the last one stored is shared).
        async with lock:
            cached = await self._shared.sessions.get(scope)
            if cached is not None and cached.get_secret_value() != stale:
                return cached.get_secret_value(), True, ACCESS_TOKEN_HINT
            session = await self._mint(customer)
            await self._shared.sessions.put(scope, session.token, session.lifetime)
            return session.token.get_secret_value(), True, ACCESS_TOKEN_HINT

    async def customer_by_email(self, email: str) -> str | None:
        """The id of the one customer of the organisation whose email is ``email``, or None.

        ``GET /v1/customers/?email=`` (polar ``server/polar/customer/endpoints.py`` ``list``: "Filter by
        exact email", tagged public) with the organisation token; the one-time sign-in code then goes
        to that address, which is Polar's record of the customer, not what the person typed alone.
        """
        if self._access_token is None:
            return None
        try:
            response = await self.http.request(
                "GET",
                "/v1/customers/",
                params={"email": email, "limit": 2},
                headers=_bearer(self._access_token.get_secret_value()),
            )
        except Unauthorized:
            raise Unauthorized(
                "Polar refused the organisation access token.", hint=ACCESS_TOKEN_HINT
            ) from None
        try:
            items = response.json().get("items")
        except (ValueError, AttributeError):
            items = None
        if not isinstance(items, list):
            raise ProviderUnavailable(f"{NAME} sent a customer list without items.", hint=UNREADABLE_HINT)
        ids = [item.get("id") for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)]
        return ids[0] if len(ids) == 1 else None

    async def _mint(self, customer: str) -> _MintedSession:
        """``POST /v1/customer-sessions/`` with the organisation token: the only call that carries it."""
        assert self._access_token is not None
        body = {"customer_id": customer} if is_uuid(customer) else {"external_customer_id": customer}
        try:
            response = await self.http.request(
                "POST",
                _CUSTOMER_SESSIONS,
                json=body,
                headers=_bearer(self._access_token.get_secret_value()),
                expected=(200, 201, 404, 422),
                idempotent=True,  # a second session for the same customer is harmless
            )
        except Unauthorized:
            raise Unauthorized(
                "Polar refused the organisation access token.", hint=ACCESS_TOKEN_HINT
            ) from None
        if response.status_code in (404, 422):
            raise Unauthorized(
                "Polar has no customer in this organisation for this session's customer id.",
                hint="Issue the session's token for a Polar customer id or external id of this organisation.",
            )
        session = _SESSION.read(response, what="a customer session")
        add_secrets([session.token])
        expires_at = (
            session.expires_at if session.expires_at.tzinfo else session.expires_at.replace(tzinfo=UTC)
        )
        lifetime = (expires_at - datetime.now(UTC)).total_seconds()
        margin = min(_SESSION_REFRESH_MARGIN, max(lifetime, 0.0) / 2)
        logger.info(
            "opened a Polar customer session", extra={"provider": PROVIDER_ID, "lifetime": round(lifetime)}
        )
        return _MintedSession(token=SecretStr(session.token), lifetime=lifetime - margin)

    async def download_pdf(self, url: str) -> bytes:
        """The document behind a presigned URL, fetched with no Polar credential; it must be a PDF."""
        unavailable = ProviderUnavailable(
            "Polar's invoice document could not be downloaded.",
            hint="Try again in a moment; the invoice itself is available with get_invoice.",
        )
        try:
            target = httpx2.URL(url)
        except (httpx2.InvalidURL, TypeError, ValueError):
            raise unavailable from None
        if target.scheme not in ("https", "http") or not target.host:
            raise unavailable
        late = ProviderTimeout(
            f"Polar's invoice document had not arrived after {self.download_deadline:g} seconds, so the "
            "download was stopped.",
            hint="Try again in a moment.",
        )
        try:
            # One deadline from connect to the last byte: the read timeout alone restarts with every chunk.
            with anyio.fail_after(self.download_deadline):
                async with self._downloads.stream("GET", target) as response:
                    if response.status_code != 200:
                        logger.warning(
                            "invoice document download failed",
                            extra={"provider": PROVIDER_ID, "status": response.status_code},
                        )
                        raise unavailable
                    document = bytearray()
                    async for chunk in response.aiter_bytes():
                        document += chunk
                        if len(document) > _MAX_PDF_BYTES:
                            raise unavailable
        except (httpx2.TimeoutException, TimeoutError):
            raise late from None
        except httpx2.HTTPError:
            raise unavailable from None
        if not document.startswith(_PDF_MAGIC):
            raise ProviderUnavailable(
                "Polar's invoice document is not a PDF.",
                hint="Try again in a moment; if it persists, check the invoice in Polar's customer portal.",
            )
        return bytes(document)
