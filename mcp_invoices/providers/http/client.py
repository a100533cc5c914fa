"""``ProviderHTTP``: one provider's pooled client, with the deadline, the request budget, bounded retries
and bounded body reads; what a failure means comes from ``errors``."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable, Container, Mapping
from importlib import metadata
from typing import Any

import anyio
import httpx2

from mcp_invoices.domain.errors import InvalidArgument, InvoiceError, ProviderTimeout, ProviderUnavailable
from mcp_invoices.providers.http.bodies import (
    JSON_MAX_BYTES,
    PROVIDER_EXTENSION,
    BodyTooLarge,
    loaded,
    parse_json,
)
from mcp_invoices.providers.http.errors import status_error, transport_error
from mcp_invoices.providers.http.logs import redact_httpx_urls
from mcp_invoices.providers.http.retry import (
    DEFAULT_RETRY,
    IDEMPOTENT_METHODS,
    MIN_ATTEMPT_WINDOW,
    RETRY_AFTER_STATUSES,
    RetryPolicy,
    retry_after_seconds,
)
from mcp_invoices.shared.base import Budget

__all__ = ["ProviderHTTP"]

logger = logging.getLogger("mcp_invoices.http")


def _user_agent() -> str:
    try:
        return f"mcp-invoices/{metadata.version('mcp-invoices')}"
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "mcp-invoices"


class ProviderHTTP:
    """One provider's pooled HTTP client with retries and error mapping (one per process)."""

    def __init__(
        self,
        *,
        provider_name: str,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        auth_hint: str,
        connect_timeout: float = 5.0,
        read_timeout: float = 20.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        budget: Budget | None = None,
        max_body_bytes: int = JSON_MAX_BYTES,
        transport: httpx2.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        url = httpx2.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"{provider_name} base URL must be an http(s) URL with a host.")
        self.provider_name = provider_name
        self.auth_hint = auth_hint
        self.retry = retry
        self._budget = budget
        """The provider's rate limit, shared by every call in the process (or by every replica)."""
        self.max_body_bytes = max_body_bytes
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock = clock
        # Shown in messages and repr: never the credentials, query or fragment of the base URL.
        self._safe_base_url = str(url.copy_with(username=None, password=None, query=None, fragment=None))
        self._host = url.host if url.port is None else f"{url.host}:{url.port}"
        self._timeout = httpx2.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        )
        redact_httpx_urls()
        self._client = httpx2.AsyncClient(
            base_url=url,
            headers={"User-Agent": _user_agent(), "Accept": "application/json", **(headers or {})},
            timeout=self._timeout,
            limits=httpx2.Limits(max_connections=50, max_keepalive_connections=20, keepalive_expiry=4.0),
            # Never follow redirects: custom credential headers would be replayed to the new host.
            follow_redirects=False,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"ProviderHTTP(provider={self.provider_name!r}, base_url={self._safe_base_url!r})"

    @property
    def requests_per_minute(self) -> int | None:
        """The provider's request budget per minute, when one is drawn from (what a summary may spend)."""
        per_minute = getattr(self._budget, "per_minute", None)
        return per_minute if isinstance(per_minute, int) else None

    async def aclose(self) -> None:
        """Close pooled connections (at process shutdown)."""
        await self._client.aclose()

    async def get_json(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """``GET path`` expecting 200, parsed with ``parse_json`` (so fractions are ``Decimal``)."""
        response = await self.request("GET", path, params=params, headers=headers)
        return parse_json(response, provider=self.provider_name)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        expected: Container[int] = (200,),
        max_body: int | None = None,
    ) -> httpx2.Response:
        """Send ``method path`` under the base URL; return the response if its status is expected.

        The whole call - waiting for the request budget, every try and the waits between them - ends
        within ``retry.total_budget`` seconds, and each body is read (whatever its status) only up
        to ``max_body`` bytes (default ``max_body_bytes``): past either bound the call fails with
        ``timeout`` or ``provider_unavailable`` naming what the provider did.

        Retries per ``self.retry`` when the request may be repeated (``idempotent``, by default
        true for GET/HEAD/PUT/DELETE/OPTIONS). A request that was never sent (connection refused,
        no free pooled connection) is retried whatever its method. Any other outcome raises the
        matching ``InvoiceError``; 404 is only ever returned (when expected), never mapped.
        """
        method = method.upper()
        if httpx2.URL(path).is_absolute_url:
            # An absolute URL would bypass base_url and carry the credential headers elsewhere.
            raise ValueError("ProviderHTTP.request takes a path under the base URL, not a URL.")
        may_repeat = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        log_path = path.split("?", 1)[0].split("#", 1)[0]
        policy = self.retry
        started = self._clock()
        slept = 0.0

        attempt = 0
        while True:
            attempt += 1
            # With a real sleep the clock covers the waits; with an injected one, ``slept`` does.
            spent = max(self._clock() - started, slept)
            remaining = max(policy.total_budget - spent, MIN_ATTEMPT_WINDOW)
            with anyio.move_on_after(remaining) as deadline:
                response, failure = await self._send_once(
                    method,
                    path,
                    log_path,
                    attempt,
                    timeout=self._attempt_timeout(remaining),
                    params=params,
                    json=json,
                    headers=headers,
                    max_body=self.max_body_bytes if max_body is None else max_body,
                )
            if deadline.cancelled_caught:
                raise self._fail(self._too_slow(), method, log_path, "deadline", attempt) from None
            if response is not None and response.status_code in expected:
                return response
            retryable, outcome = self._retryable(response, failure, may_repeat)
            delay = self._delay(attempt, response) if retryable and attempt < policy.attempts else None
            spent = max(self._clock() - started, slept)
            if delay is None or spent + delay + MIN_ATTEMPT_WINDOW > policy.total_budget:
                error = self._map_status(response) if response is not None else self._map_transport(failure)
                raise self._fail(error, method, log_path, outcome, attempt) from None
            self._log_retry(method, log_path, outcome, attempt, delay)
            if response is not None:
                await response.aclose()
            await self._sleep(delay)
            slept += delay

    # -- sending, one attempt at a time ----------------------------------------------------------

    async def _send_once(
        self,
        method: str,
        path: str,
        log_path: str,
        attempt: int,
        *,
        timeout: httpx2.Timeout,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
        max_body: int,
    ) -> tuple[httpx2.Response | None, httpx2.TransportError | None]:
        """One try, after drawing from the budget: the response, or the transport failure that stopped it."""
        if self._budget is not None:
            await self._budget.acquire()
        try:
            response = await self._read(method, path, params, json, headers, timeout, max_body)
        except httpx2.TransportError as exc:
            return None, exc
        except httpx2.InvalidURL:  # e.g. an id of many kilobytes: the caller's mistake, not the provider's
            raise InvalidArgument(
                f"The id or cursor is too long or malformed to send to {self.provider_name}.",
                hint="Pass the id or cursor exactly as listed.",
            ) from None
        except BodyTooLarge as exc:
            raise self._fail(
                self._too_large(exc.limit), method, log_path, "body too large", attempt
            ) from None
        except httpx2.RequestError as exc:  # e.g. a body that cannot be decoded: not transient
            raise self._fail(
                ProviderUnavailable(
                    f"{self.provider_name} sent a response that could not be decoded.",
                    hint="Try again in a moment; if it persists, check the provider's status page.",
                ),
                method,
                log_path,
                type(exc).__name__,
                attempt,
            ) from None
        response.extensions[PROVIDER_EXTENSION] = self.provider_name
        return response, None

    async def _read(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
        timeout: httpx2.Timeout,
        max_body: int,
    ) -> httpx2.Response:
        """The response with its body read, refused as soon as the body passes ``max_body``.

        The body is counted as it is decoded (a compressed answer cannot expand past the limit) and
        never held beyond it; a declared ``Content-Length`` over the limit is refused before reading.
        """
        request = self._client.build_request(
            method, path, params=params, json=json, headers=headers, timeout=timeout
        )
        response = await self._client.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isascii() and declared.isdigit() and len(declared) < 20 and int(declared) > max_body:
                raise BodyTooLarge(max_body)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_body:
                    raise BodyTooLarge(max_body)
        finally:
            await response.aclose()
        return loaded(response, bytes(body), request)

    def _too_slow(self) -> ProviderTimeout:
        return ProviderTimeout(
            f"{self.provider_name} had not finished answering after {self.retry.total_budget:g} seconds "
            "(waiting, connecting or sending its answer too slowly), so the call was stopped.",
            hint=f"Try again later, or check {self.provider_name}'s status page.",
        )

    def _too_large(self, limit: int) -> ProviderUnavailable:
        return ProviderUnavailable(
            f"{self.provider_name} sent an answer larger than {limit // (1024 * 1024)} MiB, so it was refused unread.",
            hint=f"Try again later; if it persists, check the configured {self.provider_name} base URL.",
        )

    def _retryable(
        self, response: httpx2.Response | None, failure: httpx2.TransportError | None, may_repeat: bool
    ) -> tuple[bool, str]:
        """Whether the outcome may be tried again, and its name for the logs (a status or an exception)."""
        if response is not None:
            return may_repeat and response.status_code in self.retry.retry_statuses, str(response.status_code)
        assert failure is not None
        never_sent = isinstance(failure, (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout))
        return may_repeat or never_sent, type(failure).__name__

    def _log_retry(self, method: str, path: str, outcome: str, attempt: int, delay: float) -> None:
        logger.info(
            "Retrying %s %s %s after %s (attempt %d of %d) in %.2fs",
            self.provider_name,
            method,
            path,
            outcome,
            attempt,
            self.retry.attempts,
            delay,
            extra=self._log_fields(method, path, outcome, attempt, delay=delay),
        )

    # -- internals -------------------------------------------------------------------------------

    def _attempt_timeout(self, remaining: float) -> httpx2.Timeout:
        """The configured timeouts, shortened so that one attempt cannot outlive the budget."""
        remaining = max(remaining, MIN_ATTEMPT_WINDOW)
        base = self._timeout

        def clamp(value: float | None) -> float:
            return remaining if value is None else min(value, remaining)

        return httpx2.Timeout(
            connect=clamp(base.connect), read=clamp(base.read), write=clamp(base.write), pool=clamp(base.pool)
        )

    def _delay(self, attempt: int, response: httpx2.Response | None) -> float:
        """Seconds to wait before the next try: the provider's ``Retry-After`` (capped) or backoff."""
        policy = self.retry
        if response is not None and response.status_code in RETRY_AFTER_STATUSES:
            asked = retry_after_seconds(response)
            if asked is not None:
                return min(asked, policy.max_retry_after)
        ceiling = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
        return self._rng.uniform(0.0, ceiling)  # full jitter: spreads retries of many clients apart

    def _map_status(self, response: httpx2.Response) -> InvoiceError:
        return status_error(self.provider_name, response, self.auth_hint)

    def _map_transport(self, failure: httpx2.TransportError | None) -> InvoiceError:
        return transport_error(self.provider_name, self._host, failure)

    def _log_fields(
        self, method: str, path: str, outcome: str, attempt: int, **more: object
    ) -> dict[str, object]:
        """A request's structured log fields: never a header, a query string or a body."""
        fields: dict[str, object] = {
            "provider": self.provider_name,
            "method": method,
            "path": path,
            "status": outcome,
            "attempt": attempt,
        }
        return fields | more

    def _fail(self, error: InvoiceError, method: str, path: str, outcome: str, attempt: int) -> InvoiceError:
        logger.warning(
            "%s %s %s failed with %s after %d attempt(s): %s",
            self.provider_name,
            method,
            path,
            outcome,
            attempt,
            error.code,
            extra=self._log_fields(method, path, outcome, attempt, code=error.code),
        )
        return error
