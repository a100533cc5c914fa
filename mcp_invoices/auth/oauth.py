"""The server as its own OAuth 2.1 authorization server (the MCP authorization spec of 2025-11-25).

Built on the SDK's ``mcp.server.auth`` handlers (metadata, registration, authorize, token, revoke),
which validate requests and check PKCE; this module is the ``OAuthAuthorizationServerProvider`` they
call, keeping every piece of state in the server's database so that any replica can finish a flow
another began:

- a registered client is a row of ``oauth_clients``; its secret (for confidential clients) is never
  stored: it is an HMAC of the client id under the server's key, recomputed when needed;
- a pending sign-in, an authorization code and a refresh token are rows of ``oauth_grants`` found by
  the SHA-256 of their value, so a copy of the database cannot be replayed;
- the access token issued is one of the server's own tokens (``TokenStore.issue``) bound to one
  provider and one customer: exactly the principal a printed token stands for, so everything
  downstream (verification, isolation, revocation watch) is unchanged;
- codes and refresh tokens are single-use (an atomic ``UPDATE ... WHERE used_at IS NULL``); a code or
  a refresh token presented a second time revokes every token of its family (RFC 6749 4.1.2, RFC 9700
  4.14.2), because one of the two presenters is an attacker;
- tokens are issued only for this server's resource (RFC 8707): an authorization request naming
  another resource is refused with ``invalid_target``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import anyio.to_thread
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    IdentityAssertionParams,
    RefreshToken,
    TokenError,
)
from mcp.shared.auth import InvalidRedirectUriError, OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl, ValidationError

from mcp_invoices.auth.client_metadata import ClientMetadataDocuments, is_metadata_url
from mcp_invoices.auth.grants import Grant, OAuthStore, grant_key

__all__ = [
    "ACCESS_TOKEN_TTL",
    "AuthorizationServer",
    "LoopbackAwareClient",
    "OAuthStore",
    "Grant",
    "grant_key",
]

logger = logging.getLogger("mcp_invoices.auth")

ACCESS_TOKEN_TTL = timedelta(hours=1)
REFRESH_TOKEN_TTL = timedelta(days=30)
CODE_TTL = timedelta(minutes=2)
FLOW_TTL = timedelta(minutes=15)
REFRESH_PREFIX = "mcpr_"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


class LoopbackAwareClient(OAuthClientInformationFull):
    """A registered client whose redirect URIs are matched exactly, except the port of a loopback one.

    RFC 8252 section 7.3 (and the MCP authorization spec): a native client listens on whatever port is
    free when it signs in, so ``http://127.0.0.1:PORT/callback`` matches a registered loopback URI with
    any port; everything else (scheme, host, path, query) must be identical.
    """

    def validate_redirect_uri(self, redirect_uri: AnyUrl | None) -> AnyUrl:
        if redirect_uri is None:
            return super().validate_redirect_uri(None)
        asked = urlsplit(str(redirect_uri))
        for registered in self.redirect_uris or []:
            if str(registered) == str(redirect_uri):
                return redirect_uri
            known = urlsplit(str(registered))
            if (
                asked.scheme == known.scheme == "http"
                and asked.hostname in _LOOPBACK_HOSTS
                and asked.hostname == known.hostname
                and (asked.path, asked.query, asked.fragment) == (known.path, known.query, known.fragment)
            ):
                return redirect_uri
        raise InvalidRedirectUriError(f"Redirect URI '{redirect_uri}' is not registered for this client")


class AuthorizationServer:
    """The SDK's ``OAuthAuthorizationServerProvider``, over ``OAuthStore``.

    ``authorize`` starts a pending sign-in and sends the browser to our sign-in page; the sign-in
    routes (``auth/signin.py``) prove who the customer is, ask for consent and call ``issue_code``.
    """

    def __init__(
        self,
        store: OAuthStore,
        *,
        resource_url: str,
        issuer_url: str,
        scopes: list[str],
        documents: ClientMetadataDocuments | None = None,
        issuer: str | None = None,
    ) -> None:
        self.store = store
        self.documents = documents
        """Clients known by a client ID metadata document (``client_metadata.py``); None: registration only."""
        self.resource_url = resource_url
        self.issuer_url = issuer_url.rstrip("/")
        self.issuer = issuer if issuer is not None else self.issuer_url
        """The issuer exactly as the metadata spells it: the ``iss`` of every authorization response."""
        self.scopes = scopes
        self._limiter = anyio.CapacityLimiter(8)

    async def _run(self, function: Any, *args: Any) -> Any:
        return await anyio.to_thread.run_sync(function, *args, limiter=self._limiter)

    # -- clients -----------------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        if is_metadata_url(client_id):
            if self.documents is None:
                return None
            document = await self.documents.document(client_id)
            if document is None:
                return None
            try:
                return LoopbackAwareClient.model_validate(document | {"scope": " ".join(self.scopes)})
            except ValidationError:
                return None
        info = await self._run(self.store.load_client, client_id)
        if info is None:
            return None
        if info.get("token_endpoint_auth_method", "none") != "none":
            info["client_secret"] = await self._run(self.store.client_secret, client_id)
        return LoopbackAwareClient.model_validate(info)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        if client_info.client_secret is not None:
            # Not the SDK's random secret: one derived from the client id, so none is ever stored.
            client_info.client_secret = await self._run(self.store.client_secret, client_info.client_id)
        await self._run(self.store.save_client, client_info.model_dump(mode="json", exclude_none=True))
        logger.info(
            "registered an OAuth client",
            extra={"client_id": client_info.client_id, "client_name": client_info.client_name or ""},
        )

    # -- authorization -----------------------------------------------------------------------------

    def _check_resource(self, resource: str | None) -> str:
        if resource is None:
            return self.resource_url
        if not same_resource(resource, self.resource_url):
            raise AuthorizeError(
                "invalid_target",
                f"This authorization server issues tokens only for {self.resource_url}, not {resource}.",
            )
        return self.resource_url

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        resource = self._check_resource(params.resource)
        # Each new sign-in sweeps what expired more than a day ago (sign-ins are rare; the sweep is one
        # DELETE per table), so abandoned flows and used codes do not pile up.
        await self._run(self.store.purge_expired)
        flow = secrets.token_urlsafe(32)
        data = {
            "client_id": client.client_id,
            "redirect_uri": str(params.redirect_uri),
            "redirect_uri_provided_explicitly": params.redirect_uri_provided_explicitly,
            "code_challenge": params.code_challenge,
            "state": params.state,
            "scopes": params.scopes or self.scopes,
            "resource": resource,
            "csrf": secrets.token_urlsafe(32),
            "step": "email",
        }
        await self._run(self.store.put, grant_key("flow", flow), "flow", data, FLOW_TTL)
        return f"{self.issuer_url}/signin?{urlencode({'flow': flow})}"

    async def issue_code(self, flow: Mapping[str, Any], provider: str, customer_id: str) -> str:
        """An authorization code for a finished sign-in: where the browser goes next (the client's own
        registered redirect URI, checked at /authorize, with ``code`` and ``state``)."""
        code = secrets.token_urlsafe(32)
        data = {
            "client_id": flow["client_id"],
            "redirect_uri": flow["redirect_uri"],
            "redirect_uri_provided_explicitly": flow["redirect_uri_provided_explicitly"],
            "code_challenge": flow["code_challenge"],
            "scopes": flow["scopes"],
            "resource": flow["resource"],
            "provider": provider,
            "customer_id": customer_id,
            "credential": flow.get("credential"),
        }
        family = secrets.token_urlsafe(16)
        await self._run(self.store.put, grant_key("code", code), "code", data, CODE_TTL, family)
        return self.authorization_response(flow["redirect_uri"], code=code, state=flow.get("state"))

    def authorization_response(self, redirect_uri: str, **params: str | None) -> str:
        """Where the browser goes back to the client: ``params`` and (RFC 9207) ``iss`` on its redirect URI."""
        return redirect_with(redirect_uri, **params, iss=self.issuer)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        grant = await self._run(self.store.get, grant_key("code", authorization_code))
        if grant is None or grant.kind != "code":
            return None
        if grant.used_at is not None or grant.revoked_at is not None:
            # Presented again: whoever holds it besides the client may hold its tokens too.
            if grant.family is not None:
                await self._run(self.store.revoke_family, grant.family)
            logger.warning("an authorization code was presented twice; its tokens are revoked")
            return None
        data = grant.data
        return AuthorizationCode(
            code=authorization_code,
            scopes=data["scopes"],
            expires_at=grant.expires_at.timestamp(),
            client_id=data["client_id"],
            code_challenge=data["code_challenge"],
            redirect_uri=AnyUrl(data["redirect_uri"]),
            redirect_uri_provided_explicitly=data["redirect_uri_provided_explicitly"],
            resource=data["resource"],
            subject=f"{data['provider']}:{data['customer_id']}",
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        key = grant_key("code", authorization_code.code)
        grant = await self._run(self.store.get, key)
        if grant is None or not await self._run(self.store.use, key):
            raise TokenError("invalid_grant", "The authorization code was already used or has expired.")
        assert grant.family is not None
        return await self._issue(client.client_id, grant.family, grant.data)

    async def _issue(self, client_id: str, family: str, data: Mapping[str, Any]) -> OAuthToken:
        client = await self.get_client(client_id)
        label = f"oauth: {(client.client_name if client else None) or client_id}"[:200]
        credential = data.get("credential")  # sealed: see OAuthStore.seal
        issued = await self._run(
            lambda: self.store.tokens.issue(
                data["provider"],
                data["customer_id"],
                ttl=ACCESS_TOKEN_TTL,
                label=label,
                provider_credential=self.store.unseal(credential) if credential else None,
            )
        )
        refresh = REFRESH_PREFIX + secrets.token_urlsafe(32)
        common = {
            "client_id": client_id,
            "provider": data["provider"],
            "customer_id": data["customer_id"],
            "scopes": data["scopes"],
            "resource": data["resource"],
            "credential": credential,
        }
        await self._run(
            self.store.put,
            f"access:{issued.record.id}",
            "access",
            {"token_id": issued.record.id, "client_id": client_id},
            REFRESH_TOKEN_TTL,
            family,
        )
        await self._run(
            self.store.put, grant_key("refresh", refresh), "refresh", common, REFRESH_TOKEN_TTL, family
        )
        return OAuthToken(
            access_token=issued.token.get_secret_value(),
            token_type="Bearer",
            expires_in=int(ACCESS_TOKEN_TTL.total_seconds()),
            scope=" ".join(data["scopes"]),
            refresh_token=refresh,
        )

    # -- refresh -----------------------------------------------------------------------------------

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        grant = await self._run(self.store.get, grant_key("refresh", refresh_token))
        if grant is None or grant.kind != "refresh":
            return None
        if grant.revoked_at is not None:
            return None
        if grant.used_at is not None:
            # A rotated-away refresh token came back: it was copied. End the whole family.
            if grant.family is not None:
                await self._run(self.store.revoke_family, grant.family)
            logger.warning("a refresh token was reused; its family of tokens is revoked")
            return None
        data = grant.data
        return RefreshToken(
            token=refresh_token,
            client_id=data["client_id"],
            scopes=data["scopes"],
            expires_at=int(grant.expires_at.timestamp()),
            resource=data["resource"],
            subject=f"{data['provider']}:{data['customer_id']}",
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        key = grant_key("refresh", refresh_token.token)
        grant = await self._run(self.store.get, key)
        if grant is None or grant.family is None:
            raise TokenError("invalid_grant", "The refresh token is not recognised.")
        if not await self._run(self.store.use, key):
            await self._run(self.store.revoke_family, grant.family)
            raise TokenError("invalid_grant", "The refresh token was already used; sign in again.")
        data = dict(grant.data)
        if scopes:
            unknown = set(scopes) - set(data["scopes"])
            if unknown:
                raise TokenError("invalid_scope", f"Not granted: {', '.join(sorted(unknown))}.")
            data["scopes"] = scopes
        return await self._issue(client.client_id, grant.family, data)

    async def exchange_identity_assertion(
        self, client: OAuthClientInformationFull, params: IdentityAssertionParams
    ) -> OAuthToken:
        raise TokenError("unsupported_grant_type", "This server signs customers in itself; no assertions.")

    # -- access tokens and revocation --------------------------------------------------------------

    async def load_access_token(self, token: str) -> AccessToken | None:
        verified = await self._run(self.store.tokens.verify, token)
        if verified is None:
            return None
        grant = await self._run(self.store.get, f"access:{verified.record.id}")
        if grant is None:
            return None  # a printed token: not this authorization server's to revoke
        return AccessToken(
            token=token,
            client_id=grant.data["client_id"],
            scopes=self.scopes,
            expires_at=int(verified.record.expires_at.timestamp()) if verified.record.expires_at else None,
            resource=self.resource_url,
        )

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        if isinstance(token, RefreshToken):
            grant = await self._run(self.store.get, grant_key("refresh", token.token))
        else:
            verified = await self._run(self.store.tokens.verify, token.token)
            grant = (
                None if verified is None else await self._run(self.store.get, f"access:{verified.record.id}")
            )
        if grant is not None and grant.family is not None:
            count = await self._run(self.store.revoke_family, grant.family)
            logger.info("revoked an OAuth grant", extra={"access_tokens": count})


def revocation_endpoint(server: AuthorizationServer) -> Any:
    """RFC 7009 revocation, for public clients too.

    The SDK's handler requires a ``client_secret`` field even from a client registered with
    ``token_endpoint_auth_method: none`` (its request model declares the field without a default), so
    the public clients MCP hosts are (the TypeScript SDK, mcp-remote) could not revoke. This one
    authenticates the client with the SDK's own ``ClientAuthenticator`` and answers as the RFC says:
    200 whether or not the token was known, and only a token of that client is revoked.
    """
    from mcp.server.auth.middleware.client_auth import AuthenticationError, ClientAuthenticator
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response

    authenticator = ClientAuthenticator(server)
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}

    async def revoke(request: Request) -> Response:
        try:
            client = await authenticator.authenticate_request(request)
        except AuthenticationError as error:
            return JSONResponse(
                {"error": "invalid_client", "error_description": error.message},
                status_code=401,
                headers=headers,
            )
        form = await request.form()
        token = form.get("token")
        if not isinstance(token, str) or not token:
            return JSONResponse(
                {"error": "invalid_request", "error_description": "The token to revoke is missing."},
                status_code=400,
                headers=headers,
            )
        found: AccessToken | RefreshToken | None = await server.load_access_token(token)
        if found is None:
            found = await server.load_refresh_token(client, token)
        if found is not None and found.client_id == client.client_id:
            await server.revoke_token(found)
        return Response(status_code=200, headers=headers)

    return revoke


def same_resource(asked: str, resource_url: str) -> bool:
    """Whether ``asked`` names ``resource_url`` (RFC 8707 resource indicators; a trailing slash aside)."""
    return asked.rstrip("/") == resource_url.rstrip("/")


def add_issuer(location: str, issuer: str) -> str:
    """``location`` (an authorization response) with RFC 9207's ``iss``, unless it already has one."""
    from urllib.parse import parse_qsl, urlsplit

    if any(key == "iss" for key, _ in parse_qsl(urlsplit(location).query)):
        return location
    return redirect_with(location, iss=issuer)


def redirect_with(redirect_uri: str, **params: str | None) -> str:
    """``redirect_uri`` with ``params`` added to its query (the SDK's own construction)."""
    from mcp.server.auth.provider import construct_redirect_uri

    return construct_redirect_uri(redirect_uri, **params)
