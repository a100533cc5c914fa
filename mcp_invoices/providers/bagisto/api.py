"""How this server speaks to a Bagisto shop: REST reads and GraphQL queries as the customer, the
customer login, and what Bagisto's refusals mean (which credential it refused, and what to do).

Every call carries the storefront key (``X-STOREFRONT-KEY``, on the client) and the customer token
(``Authorization: Bearer``, per call: one pooled client serves every customer's token, and keeps no
cookie of theirs). Evidence: bagisto-api 5ab9ff2, listed in ``docs/providers.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, NoReturn, TypeVar, Unpack

import httpx2
from pydantic import SecretStr

from mcp_invoices.domain.errors import ProviderUnavailable, RateLimited, Unauthorized
from mcp_invoices.logs import add_secrets
from mcp_invoices.principal import Scope
from mcp_invoices.providers.bagisto.wire import (
    NAME,
    PROVIDER_ID,
    UNREADABLE_HINT,
    WIRE,
    GraphQLData,
    GraphQLError,
    GraphQLResponse,
    WireConnection,
    WireLinesConnection,
    retry_after,
)
from mcp_invoices.providers.catalog import spec
from mcp_invoices.providers.http import ProviderHTTP, Tuning
from mcp_invoices.providers.wire import Decoder, error_body, text_at

__all__ = ["BagistoAPI"]

logger = logging.getLogger("mcp_invoices.bagisto")

C = TypeVar("C", WireConnection, WireLinesConnection)
_ANSWER = WIRE.decoder(GraphQLResponse)
INVOICES_DATA = WIRE.decoder(GraphQLData[WireConnection])
"""A page of the customer's invoices, as ``query`` reads it."""
LINES_DATA = WIRE.decoder(GraphQLData[WireLinesConnection])
"""A page of one order's invoices with their lines, as ``query`` reads it."""

# bagisto-api 5ab9ff2 tests/GraphQLTestCase.php: POST /api/graphql {query, variables}, key + bearer headers.
_GRAPHQL = "/api/graphql"
_LOGIN = "/api/shop/customer/login"
_MAX_ERROR_TEXT = 200

_STOREFRONT_HINT = "Check BAGISTO_STOREFRONT_KEY: it must be this Bagisto shop's storefront API key."
_TOKEN_HINT = (
    "Check BAGISTO_CUSTOMER_TOKEN: it must be a current customer token "
    "(log in again with POST /api/shop/customer/login to get a new one)."
)
_SESSION_TOKEN_HINT = (
    "The Bagisto customer token stored for this session was refused; "
    "issue the session again with a fresh customer token."
)
_BOTH_HINT = "Check BAGISTO_STOREFRONT_KEY and BAGISTO_CUSTOMER_TOKEN."
_STOREFRONT_ERRORS = ("missing_key", "invalid_key")
"""bagisto-api 5ab9ff2 src/Http/Middleware/VerifyStorefrontKey.php: the ``error`` of a refused key."""


def _error_text(response: httpx2.Response) -> tuple[str, str]:
    """(``error`` code, ``message``/problem+json ``title``/``detail``) lower-cased, to tell credentials apart."""
    body = error_body(response)
    text = " ".join(text_at(body, key) or "" for key in ("message", "title", "detail")).lower()
    return (text_at(body, "error") or "").lower(), text


def _graphql_status(error: GraphQLError) -> int | None:
    extensions = error.extensions or {}
    status = extensions.get("status")
    return status if isinstance(status, int) and not isinstance(status, bool) else None


def _token_hint(scope: Scope) -> str:
    return _SESSION_TOKEN_HINT if scope.credential is not None else _TOKEN_HINT


class BagistoAPI:
    """A shop's REST and GraphQL APIs over one ``ProviderHTTP``, as one customer per call."""

    def __init__(
        self, *, base_url: str, storefront_key: SecretStr, secrets: tuple[str, ...], **tuning: Unpack[Tuning]
    ) -> None:
        self._secrets = secrets
        """Masked in any text of Bagisto's that a message repeats."""
        self.http = ProviderHTTP.for_provider(
            spec(PROVIDER_ID),
            base_url=base_url,
            headers={
                "X-STOREFRONT-KEY": storefront_key.get_secret_value(),
                "Content-Type": "application/json",
            },
            auth_hint=_BOTH_HINT,
            retry_after=retry_after,
            **tuning,
        )

    async def get(
        self,
        scope: Scope,
        token: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        accept: str = "application/json",
        max_body: int | None = None,
    ) -> httpx2.Response:
        """``GET path`` as the customer; a 200 or a 404 comes back, a refusal raises ``Unauthorized``."""
        response = await self.http.request(
            "GET",
            path,
            params=params,
            headers={"Authorization": f"Bearer {token}", "Accept": accept},
            expected=(200, 401, 403, 404),
            max_body=max_body,
        )
        if response.status_code in (401, 403):
            self._refused(scope, response)
        return response

    async def query(
        self,
        scope: Scope,
        token: str,
        query: str,
        variables: Mapping[str, Any],
        data: Decoder[GraphQLData[C]],
    ) -> C:
        """POST one GraphQL query as the customer: its ``customerInvoices`` as ``data`` reads them.

        GraphQL ``errors`` (sent with 200) become our errors.
        """
        response = await self.http.request(
            "POST",
            _GRAPHQL,
            json={"query": query, "variables": dict(variables)},
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            idempotent=True,  # a query reads only
            expected=(200, 401, 403),
        )
        if response.status_code in (401, 403):
            self._refused(scope, response)
        body = _ANSWER.read(response, what="a GraphQL answer")
        if body.errors:
            self._graphql_failed(scope, body.errors)
        connection = (
            data.decode(body.data, what="an invoice page").customer_invoices if body.has_data else None
        )
        if connection is None:
            raise WIRE.unexpected("a GraphQL answer without customerInvoices")
        return connection

    async def login(self, email: str, password: str) -> tuple[str, SecretStr] | None:
        """The customer's own shop login: ``(customer id, bearer token)``, or None when Bagisto refuses it.

        ``POST /api/shop/customer/login`` (bagisto-api ``src/Models/CustomerLogin.php``,
        ``src/State/LoginProcessor.php``) answers 201 with ``{id, token, success, message}`` -- also
        for a wrong password or a suspended account, then with ``success: false`` and an empty token.
        The password goes in this one request body and nowhere else (never logged, never kept); the
        token is the one the customer's own API calls need.
        """
        response = await self.http.request(
            "POST",
            _LOGIN,
            json={"email": email, "password": password},
            idempotent=False,
            expected=(200, 201, 401, 422),
        )
        if response.status_code in (401, 422):
            return None
        try:
            body = response.json()
        except ValueError:
            raise WIRE.unexpected("a login answer that is not JSON") from None
        if not isinstance(body, dict) or body.get("success") is False:
            return None
        token, customer = body.get("token"), body.get("id")
        if not isinstance(token, str) or not token or not isinstance(customer, int) or customer <= 0:
            return None
        add_secrets([token])
        return str(customer), SecretStr(token)

    # -- what a refusal means ------------------------------------------------------------------------

    def _refused(self, scope: Scope, response: httpx2.Response) -> NoReturn:
        """Say which credential Bagisto refused, read from its error body (never echoing the body)."""
        code, text = _error_text(response)
        if code in _STOREFRONT_ERRORS or "storefront" in text or "api key" in text:
            which, message, hint = "storefront_key", f"{NAME} refused the storefront key.", _STOREFRONT_HINT
        elif any(word in text for word in ("customer", "logged in", "token", "unauthenticated", "bearer")):
            which, message, hint = "customer_token", f"{NAME} refused the customer token.", _token_hint(scope)
        else:
            which, message, hint = "unknown", f"{NAME} refused the credentials.", _BOTH_HINT
        logger.warning(
            "%s refused the %s",
            NAME,
            which.replace("_", " "),
            extra={"provider": PROVIDER_ID, "status": response.status_code, "credential": which},
        )
        raise Unauthorized(message, hint=hint)

    def _graphql_failed(self, scope: Scope, failures: list[GraphQLError]) -> NoReturn:
        """Map GraphQL ``errors`` to our codes; the message is Bagisto's, trimmed and without secrets."""
        first = failures[0]
        text = first.message.lower()
        status = _graphql_status(first)
        # bagisto-api 5ab9ff2 src/State/CustomerInvoiceProvider.php: no customer for the token →
        # AuthorizationException (403) "Unauthenticated. Please login to perform this action".
        if status in (401, 403) or "unauthenticated" in text or "login" in text:
            logger.warning(
                "%s refused the customer token",
                NAME,
                extra={"provider": PROVIDER_ID, "credential": "customer_token"},
            )
            raise Unauthorized(f"{NAME} refused the customer token.", hint=_token_hint(scope))
        if status == 429 or "rate limit" in text:
            raise RateLimited(
                f"{NAME} rate-limited the invoice query (its storefront key allows 1,000 requests an hour).",
                hint="Try again later.",
            )
        said = self._scrubbed(first.message)
        logger.warning("%s's GraphQL API refused a query", NAME, extra={"provider": PROVIDER_ID})
        raise ProviderUnavailable(
            f"{NAME}'s GraphQL API refused the invoice query: {said}",
            hint="Check that the shop runs the Bagisto headless API (bagisto-api) with customerInvoices; "
            + UNREADABLE_HINT,
        )

    def _scrubbed(self, message: str) -> str:
        text = " ".join(message.split())[:_MAX_ERROR_TEXT]
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text or "(no message)"
