"""``ProviderHTTP``: one provider's pooled client, with the deadline, the request budget, bounded retries
and bounded body reads; what a failure means comes from ``errors``."""

from __future__ import annotations

import http.cookiejar
import logging
import random
import time
from collections.abc import Awaitable, Callable, Container, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any, TypedDict, Unpack

import anyio
import httpx2

from mcp_invoices.domain.errors import InvalidArgument, InvoiceError
from mcp_invoices.providers.http.bodies import (
    JSON_MAX_BYTES,
    BodyTooLarge,
    loaded,
)
from mcp_invoices.providers.http.errors import Deadline, failure_error
from mcp_invoices.providers.http.logs import redact_httpx_urls
from mcp_invoices.providers.http.retry import (
    DEFAULT_RETRY,
    IDEMPOTENT_METHODS,
    MAX_REPORTED_RETRY_AFTER,
    MIN_ATTEMPT_WINDOW,
    RETRY_AFTER_STATUSES,
    RetryPolicy,
    retry_after_seconds,
)
from mcp_invoices.providers.spec import ProviderSpec
from mcp_invoices.replicas.base import Budget

__all__ = ["ProviderHTTP", "Tuning"]

logger = logging.getLogger("mcp_invoices.http")

Outcome = httpx2.Response | Exception
"""What one try ended with: an answer (whatever its status), or what stopped it."""


class Tuning(TypedDict, total=False):
    """What the runtime and the tests may set on a provider's client; the provider supplies the rest.

    Every remote provider's constructor takes these as ``**tuning`` and hands them on unchanged to
    ``ProviderHTTP.for_provider``.
    """

    retry: RetryPolicy | None
    budget: Budget | None
    """The provider's rate limit, shared by every call in the process (or by every replica)."""
    transport: httpx2.AsyncBaseTransport | None
    """In place of the network (tests: an emulator in process, or a scripted ``MockTransport``)."""
    sleep: Callable[[float], Awaitable[None]]
    """How waits between tries are made (tests: a recording sleep that returns at once)."""


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """One pooled client serves many customers' credentials: a cookie set for one (a Laravel session,
    a load balancer's affinity) must never ride along with another's request, so none is kept."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


@dataclass(slots=True)
class _Call:
    """One ``request`` call's progress across its tries."""

    method: str
    log_path: str
    may_repeat: bool
    started: float
    attempt: int = 0
    slept: float = 0.0


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
        retry: RetryPolicy | None = None,
        budget: Budget | None = None,
        max_body_bytes: int = JSON_MAX_BYTES,
        transport: httpx2.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        retry_after: Callable[[httpx2.Response], float | None] = retry_after_seconds,
    ) -> None:
        url = httpx2.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"{provider_name} base URL must be an http(s) URL with a host.")
        self.provider_name = provider_name
        self.auth_hint = auth_hint
        self.retry = retry or DEFAULT_RETRY
        self._budget = budget
        """The provider's rate limit, shared by every call in the process (or by every replica)."""
        self.max_body_bytes = max_body_bytes
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock = clock
        self._retry_after = retry_after
        """Seconds a 429 or 503 asks us to wait: the ``Retry-After`` header, unless the provider says it elsewhere."""
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
            cookies=http.cookiejar.CookieJar(policy=_NoCookies()),
            timeout=self._timeout,
            limits=httpx2.Limits(max_connections=50, max_keepalive_connections=20, keepalive_expiry=4.0),
            # Never follow redirects: custom credential headers would be replayed to the new host.
            follow_redirects=False,
            transport=transport,
        )

    @classmethod
    def for_provider(
        cls,
        spec: ProviderSpec,
        *,
        base_url: str,
        headers: Mapping[str, str],
        auth_hint: str,
        retry_after: Callable[[httpx2.Response], float | None] = retry_after_seconds,
        **tuning: Unpack[Tuning],
    ) -> ProviderHTTP:
        """The client of the provider ``spec`` describes, as its constructor's ``tuning`` asks."""
        return cls(
            provider_name=spec.display_name,
            base_url=base_url,
            headers=headers,
            auth_hint=auth_hint,
            retry_after=retry_after,
            **tuning,
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
        matching ``InvoiceError`` (``errors.FAILURES``); 404 is only ever returned (when expected),
        never mapped.
        """
        method = method.upper()
        if httpx2.URL(path).is_absolute_url:
            # An absolute URL would bypass base_url and carry the credential headers elsewhere.
            raise ValueError("ProviderHTTP.request takes a path under the base URL, not a URL.")
        log_path = path.split("?", 1)[0].split("#", 1)[0]
        may_repeat = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        call = _Call(method, log_path, may_repeat, started=self._clock())
        limit = self.max_body_bytes if max_body is None else max_body
        while True:  # bounded: at most retry.attempts tries, within retry.total_budget seconds
            call.attempt += 1
            remaining = max(self.retry.total_budget - self._spent(call), MIN_ATTEMPT_WINDOW)
            outcome: Outcome = Deadline()
            with anyio.move_on_after(remaining):
                outcome = await self._send_once(method, path, params, json, headers, remaining, limit)
            if isinstance(outcome, httpx2.Response) and outcome.status_code in expected:
                return outcome
            delay = self._delay(call, outcome)
            if delay is None:
                raise self._fail(call, outcome) from None
            self._log_retry(call, outcome, delay)
            if isinstance(outcome, httpx2.Response):
                await outcome.aclose()
            await self._sleep(delay)
            call.slept += delay

    # -- one try ---------------------------------------------------------------------------------

    async def _send_once(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
        remaining: float,
        max_body: int,
    ) -> Outcome:
        """One try, after drawing from the budget: the response, or the exception that stopped it."""
        if self._budget is not None:
            await self._budget.acquire()
        try:
            request = self._client.build_request(
                method,
                path,
                params=params,
                json=json,
                headers=headers,
                timeout=self._attempt_timeout(remaining),
            )
            response = await self._read(request, max_body)
        except (httpx2.RequestError, httpx2.InvalidURL, BodyTooLarge) as exc:
            return exc
        return response

    async def _read(self, request: httpx2.Request, max_body: int) -> httpx2.Response:
        """The response with its body read, refused as soon as the body passes ``max_body``.

        The body is counted as it is decoded (a compressed answer cannot expand past the limit) and
        never held beyond it; a declared ``Content-Length`` over the limit is refused before reading.
        """
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

    # -- whether to try again, and when ----------------------------------------------------------

    def _spent(self, call: _Call) -> float:
        """Seconds of the budget used: with a real sleep the clock covers the waits; with an injected one, ``slept``."""
        return max(self._clock() - call.started, call.slept)

    def _attempt_timeout(self, remaining: float) -> httpx2.Timeout:
        """The configured timeouts, shortened so that one attempt cannot outlive the budget."""
        remaining = max(remaining, MIN_ATTEMPT_WINDOW)
        base = self._timeout

        def clamp(value: float | None) -> float:
            return remaining if value is None else min(value, remaining)

        return httpx2.Timeout(
            connect=clamp(base.connect), read=clamp(base.read), write=clamp(base.write), pool=clamp(base.pool)
        )

    def _retryable(self, call: _Call, outcome: Outcome) -> bool:
        """Whether ``outcome`` may be tried again: a retry status or a transport failure of a repeatable
        request, or a request that was never sent (whatever its method)."""
        if isinstance(outcome, httpx2.Response):
            return call.may_repeat and outcome.status_code in self.retry.retry_statuses
        if not isinstance(outcome, httpx2.TransportError):
            return False  # the deadline, a body too large, an undecodable body, a malformed URL
        never_sent = isinstance(outcome, (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout))
        return call.may_repeat or never_sent

    def _delay(self, call: _Call, outcome: Outcome) -> float | None:
        """Seconds to wait before the next try, or None when there is none to make.

        The provider's ``Retry-After`` (capped) where it gives one, else full-jitter backoff; no retry
        that would leave less than ``MIN_ATTEMPT_WINDOW`` of the budget to answer.
        """
        policy = self.retry
        if call.attempt >= policy.attempts or not self._retryable(call, outcome):
            return None
        asked = None
        if isinstance(outcome, httpx2.Response) and outcome.status_code in RETRY_AFTER_STATUSES:
            asked = self._retry_after(outcome)
        if asked is not None:
            delay = min(asked, policy.max_retry_after)
        else:  # full jitter: spreads retries of many clients apart
            delay = self._rng.uniform(0.0, min(policy.max_delay, policy.base_delay * 2 ** (call.attempt - 1)))
        if self._spent(call) + delay + MIN_ATTEMPT_WINDOW > policy.total_budget:
            return None
        return delay

    # -- what the caller and the logs are told ---------------------------------------------------

    def _error(self, outcome: Outcome) -> InvoiceError:
        """The domain error ``outcome`` means (``errors.FAILURES``)."""
        retry_after = None
        if isinstance(outcome, httpx2.Response) and outcome.status_code == 429:
            asked = self._retry_after(outcome)
            retry_after = None if asked is None else min(asked, MAX_REPORTED_RETRY_AFTER)
        return failure_error(
            outcome.status_code if isinstance(outcome, httpx2.Response) else outcome,
            name=self.provider_name,
            host=self._host,
            auth_hint=self.auth_hint,
            seconds=self.retry.total_budget,
            retry_after=retry_after,
        )

    @staticmethod
    def _outcome_name(outcome: Outcome) -> str:
        """A status, or what stopped the request, as the logs name it."""
        if isinstance(outcome, httpx2.Response):
            return str(outcome.status_code)
        if isinstance(outcome, Deadline):
            return "deadline"
        return "body too large" if isinstance(outcome, BodyTooLarge) else type(outcome).__name__

    def _log_fields(self, call: _Call, outcome: str, **more: object) -> dict[str, object]:
        """A request's structured log fields: never a header, a query string or a body."""
        fields: dict[str, object] = {
            "provider": self.provider_name,
            "method": call.method,
            "path": call.log_path,
            "status": outcome,
            "attempt": call.attempt,
        }
        return fields | more

    def _log_retry(self, call: _Call, outcome: Outcome, delay: float) -> None:
        name = self._outcome_name(outcome)
        logger.info(
            "Retrying %s %s %s after %s (attempt %d of %d) in %.2fs",
            self.provider_name,
            call.method,
            call.log_path,
            name,
            call.attempt,
            self.retry.attempts,
            delay,
            extra=self._log_fields(call, name, delay=delay),
        )

    def _fail(self, call: _Call, outcome: Outcome) -> InvoiceError:
        error = self._error(outcome)
        if isinstance(error, InvalidArgument):
            return error  # the caller's mistake (an id too long to send), not the provider's: nothing to log
        name = self._outcome_name(outcome)
        logger.warning(
            "%s %s %s failed with %s after %d attempt(s): %s",
            self.provider_name,
            call.method,
            call.log_path,
            name,
            call.attempt,
            error.code,
            extra=self._log_fields(call, name, code=error.code),
        )
        return error
