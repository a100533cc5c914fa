"""Bearer-token verification for streamable HTTP, and the principal a verified token stands for.

Two kinds of token are accepted:
- the server's own (``mcpi_…``, see ``tokens.py``), bound to one provider and one customer;
- optionally, JWTs from the deployment's own issuer (``MCP_INVOICES_JWT_ISSUER``, ``…_AUDIENCE``,
  ``…_JWKS_URL``), whose claims name the provider and the customer.

Either way the SDK then checks expiry and the RFC 8707 resource on every request, and answers 401
with ``WWW-Authenticate`` pointing at the protected-resource metadata. The token itself is never
forwarded anywhere: providers are called with the server's own credentials.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import anyio.to_thread
from mcp.server.auth.provider import AccessToken
from pydantic import SecretStr

from mcp_invoices.auth.tokens import TOKEN_PREFIX, TokenStore
from mcp_invoices.principal import Principal, Scope

__all__ = ["InvoiceTokenVerifier", "TokenProblem", "JwtSettings", "principal_from_access_token", "SCOPE"]

logger = logging.getLogger("mcp_invoices.auth")

SCOPE = "invoices"
"""The OAuth scope every token carries (advertised in the protected-resource metadata)."""

_PROVIDER_CLAIM = "mcp_invoices_provider"
_CUSTOMER_CLAIM = "mcp_invoices_customer"
_CREDENTIAL_CLAIM = "mcp_invoices_provider_credential"


@dataclass(frozen=True)
class JwtSettings:
    issuer: str
    audience: str
    jwks_url: str
    provider_claim: str = _PROVIDER_CLAIM
    customer_claim: str = _CUSTOMER_CLAIM
    algorithms: tuple[str, ...] = ("RS256", "ES256", "PS256", "EdDSA")


class _JwksCache:
    """The issuer's signing keys, fetched with the project's one HTTP stack and refreshed on an unknown kid."""

    def __init__(self, url: str, *, min_refresh_seconds: float = 60.0) -> None:
        self._url = url
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._min_refresh = min_refresh_seconds
        self._lock = anyio.Lock()

    def _lookup(self, kid: str | None) -> Any | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def key(self, kid: str | None) -> Any | None:
        key = self._lookup(kid)
        if key is not None:
            return key
        async with self._lock:
            key = self._lookup(kid)
            # An unknown kid may be a rotated key: refetch, but not more often than min_refresh.
            if key is None and (not self._keys or time.monotonic() - self._fetched_at >= self._min_refresh):
                await self._refresh()
                key = self._lookup(kid)
        return key

    async def _refresh(self) -> None:
        import httpx2
        import jwt

        self._fetched_at = time.monotonic()
        try:
            async with httpx2.AsyncClient(timeout=httpx2.Timeout(5.0)) as client:
                response = await client.get(self._url)
                response.raise_for_status()
                jwks = jwt.PyJWKSet.from_dict(response.json())
        except Exception as exc:  # the issuer being down must not take the server down
            logger.warning("could not fetch the JWKS", extra={"error": type(exc).__name__})
            return
        self._keys = {key.key_id or "": key for key in jwks.keys}


TokenProblem = Literal["expired", "not_recognised", "wrong_resource"]


class InvoiceTokenVerifier:
    """The SDK's ``TokenVerifier``: our own tokens, and optionally an external issuer's JWTs."""

    def __init__(
        self, store: TokenStore, *, resource_url: str, jwt_settings: JwtSettings | None = None
    ) -> None:
        self._store = store
        self._limiter = anyio.CapacityLimiter(16)
        """Threads verifying tokens at once: a stuck database holds these, never the default pool's."""
        self._resource_url = resource_url
        self._jwt = jwt_settings
        self._jwks = _JwksCache(jwt_settings.jwks_url) if jwt_settings else None

    async def verify_token(self, token: str) -> AccessToken | None:
        if token.startswith(TOKEN_PREFIX):
            return await self._verify_own(token)
        if self._jwt is not None:
            return await self._verify_jwt(token)
        return None

    async def diagnose(self, token: str) -> TokenProblem:
        """Why ``verify_token`` refused ``token``: told to its sender in the 401 (see TokenStore.diagnose
        for what is, on purpose, not told apart)."""
        if token.startswith(TOKEN_PREFIX):
            return await anyio.to_thread.run_sync(self._store.diagnose, token)
        if self._jwt is None or self._jwks is None:
            return "not_recognised"
        import jwt

        try:
            key = await self._jwks.key(jwt.get_unverified_header(token).get("kid"))
            if key is None:
                return "not_recognised"
            jwt.decode(
                token,
                key=key,
                algorithms=list(self._jwt.algorithms),
                audience=self._jwt.audience,
                issuer=self._jwt.issuer,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:  # raised only once the signature checked out
            return "expired"
        except jwt.InvalidAudienceError:
            return "wrong_resource"
        except jwt.PyJWTError:
            return "not_recognised"
        return "not_recognised"  # signed and current, but without the provider and customer claims

    async def _verify_own(self, token: str) -> AccessToken | None:
        from mcp_invoices.storage.bounded import run_bounded

        # Bounded: a database that does not answer gives service_unavailable (a 503), not a hung request.
        verified = await run_bounded(functools.partial(self._store.verify, token), limiter=self._limiter)
        if verified is None:
            return None
        record = verified.record
        claims: dict[str, Any] = {
            "iss": "mcp-invoices",
            _PROVIDER_CLAIM: record.provider,
            _CUSTOMER_CLAIM: record.customer_id,
        }
        if verified.provider_credential is not None:
            claims[_CREDENTIAL_CLAIM] = verified.provider_credential
        return AccessToken(
            token=token,
            client_id=f"token:{record.id}",
            scopes=[SCOPE],
            expires_at=int(record.expires_at.timestamp()) if record.expires_at else None,
            resource=self._resource_url,
            subject=f"{record.provider}:{record.customer_id}",
            claims=claims,
        )

    async def _verify_jwt(self, token: str) -> AccessToken | None:
        import jwt

        assert self._jwt is not None and self._jwks is not None
        settings = self._jwt
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        key = await self._jwks.key(header.get("kid"))
        if key is None:
            return None
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=list(settings.algorithms),
                audience=settings.audience,
                issuer=settings.issuer,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            logger.info("rejected a JWT", extra={"reason": type(exc).__name__})
            return None
        provider, customer = claims.get(settings.provider_claim), claims.get(settings.customer_claim)
        if not isinstance(provider, str) or not isinstance(customer, str) or not customer:
            logger.info("rejected a JWT without provider and customer claims")
            return None
        return AccessToken(
            token=token,
            client_id=str(claims.get("azp") or claims.get("client_id") or claims.get("sub") or "jwt"),
            scopes=[SCOPE],
            expires_at=int(claims["exp"]),
            resource=self._resource_url,  # the audience was checked by jwt.decode against ours
            subject=str(claims.get("sub") or f"{provider}:{customer}"),
            claims={"iss": claims["iss"], _PROVIDER_CLAIM: provider, _CUSTOMER_CLAIM: customer},
        )


def principal_from_access_token(token: AccessToken) -> Principal:
    """One provider, one customer: exactly what the verified token says, nothing from the request body."""
    claims: Mapping[str, Any] = token.claims or {}
    credential = claims.get(_CREDENTIAL_CLAIM)
    scope = Scope(
        provider=str(claims[_PROVIDER_CLAIM]),
        customer_id=str(claims[_CUSTOMER_CLAIM]),
        credential=credential if isinstance(credential, SecretStr) else None,
    )
    return Principal(subject=token.subject or token.client_id, authenticated_by="token", scopes=(scope,))
