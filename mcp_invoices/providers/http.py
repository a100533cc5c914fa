"""The one HTTP layer every remote provider client uses.

Each remote provider holds one ``ProviderHTTP`` per process: one pooled connection set, explicit
timeouts, bounded retries with full-jitter backoff, and a single mapping from transport failures
and unexpected statuses to ``mcp_invoices.domain.errors``. Not-found is deliberately *not* mapped
here: a provider lists 404 in ``expected`` and answers with ``errors.not_found`` itself, so that
"missing" and "not yours" share one wording.

Secrets travel only in headers. Nothing here puts a header value, a query string or URL
credentials into an exception message, a ``repr`` or a log line.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Container, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any
from urllib.parse import quote

import anyio
import httpx2

from mcp_invoices.domain.errors import (
    InvalidArgument,
    InvoiceError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Unauthorized,
)
from mcp_invoices.providers import json_guard
from mcp_invoices.shared.base import Budget

__all__ = [
    "DOCUMENT_MAX_BYTES",
    "IDEMPOTENT_METHODS",
    "JSON_MAX_BYTES",
    "MAX_REPORTED_RETRY_AFTER",
    "ProviderHTTP",
    "RetryPolicy",
    "not_json",
    "number_out_of_range",
    "parse_json",
    "path_segment",
    "read_limited",
    "retry_after_seconds",
]

logger = logging.getLogger("mcp_invoices.http")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
"""Methods retried by default: repeating them cannot create a second side effect."""

_RETRY_AFTER_STATUSES = frozenset({429, 503})
"""Statuses whose ``Retry-After`` header is honoured (RFC 9110 defines it for these)."""

_MIN_ATTEMPT_WINDOW = 1.0
"""A retry that would have less than this many seconds of budget left to answer is not made."""

JSON_MAX_BYTES = 4 * 1024 * 1024
"""Largest API answer read: a 100-invoice page is well under 1 MiB; a bigger one is refused mid-stream."""
DOCUMENT_MAX_BYTES = 25 * 1024 * 1024
"""Largest document (PDF) read: an invoice's own PDF is rarely over 1 MiB."""
MAX_REPORTED_RETRY_AFTER = 3600.0
"""A provider's ``Retry-After`` is passed on to the caller at most this long (an hour): a longer
wait is a provider's mistake, and an assistant must not be told to wait for years."""

_PROVIDER_EXTENSION = "mcp_invoices.provider"
"""Where ``ProviderHTTP`` tags its responses, so that ``parse_json`` can name the provider."""


def _user_agent() -> str:
    try:
        return f"mcp-invoices/{metadata.version('mcp-invoices')}"
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "mcp-invoices"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up; the defaults suit an interactive chat turn."""

    attempts: int = 4
    """Total tries (first one included) for a request that may be repeated."""
    base_delay: float = 0.2
    """Seconds; the backoff ceiling doubles from here on every retry (full jitter below it)."""
    max_delay: float = 5.0
    max_retry_after: float = 10.0
    """Cap on how long a provider's ``Retry-After`` may make us wait between two tries."""
    total_budget: float = 20.0
    """Seconds for the whole call, from waiting for the request budget to the last byte of the last
    try, waits included: a provider that sends its answer one byte at a time is cut off here."""
    retry_statuses: frozenset[int] = frozenset({429, 502, 503, 504})

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1.")
        if min(self.base_delay, self.max_delay, self.max_retry_after, self.total_budget) < 0:
            raise ValueError("RetryPolicy delays and budget must not be negative.")


def retry_after_seconds(response: httpx2.Response, *, now: float | None = None) -> float | None:
    """The response's ``Retry-After`` in seconds (delta-seconds or HTTP-date), or ``None``.

    A date in the past gives ``0.0``; an unreadable value gives ``None`` rather than an error,
    because a malformed hint must not turn a retryable answer into a crash.
    """
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive one is read the same way
        return None
    current = time.time() if now is None else now
    return float(max(0, math.ceil(when.timestamp() - current)))


def parse_json(response: httpx2.Response, *, provider: str | None = None) -> Any:
    """The body as JSON with every JSON number that has a fraction as a ``Decimal``.

    Money must never pass through a binary float, so floats are never created; a number too large
    to be money, a count or an id is refused before it is converted (``json_guard``). A body that is
    not JSON means the provider (or something in front of it) misbehaved: ``ProviderUnavailable``.
    """
    name = provider or response.extensions.get(_PROVIDER_EXTENSION) or "The provider"
    try:
        return json_guard.loads(response.content)
    except json_guard.NumberOutOfRange:
        raise number_out_of_range(name) from None
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise not_json(name) from None


def number_out_of_range(provider: str) -> ProviderUnavailable:
    """``provider`` sent a number no amount, count or id can be (``json_guard``'s bounds)."""
    return ProviderUnavailable(
        f"{provider} sent a number far too large (or long) to be an amount, a count or an id.",
        hint="Try again later; if it persists, the provider's data or the configured base URL is wrong.",
    )


def not_json(provider: str) -> ProviderUnavailable:
    """``provider`` (or something in front of it) answered with a body that is not JSON."""
    return ProviderUnavailable(
        f"{provider} sent a response that is not valid JSON.",
        hint="Try again in a moment; if it persists, check the provider's status page.",
    )


def path_segment(value: str) -> str:
    """``value`` percent-encoded as exactly one path segment, for ids that came from a user.

    ``/``, ``?`` and ``#`` are encoded so an id cannot reach another endpoint; ``.`` and ``..``
    are refused because servers resolve them as directory steps even when encoded.
    """
    if value in ("", ".", ".."):
        raise InvalidArgument(f"{value!r} is not a valid id.", hint="Pass the id exactly as listed.")
    try:
        return quote(value, safe="")
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8 form, so no URL can carry it
        raise InvalidArgument(
            "The id contains characters no URL can carry.", hint="Pass the id exactly as listed."
        ) from None


async def read_limited(response: httpx2.Response, limit: int) -> httpx2.Response:
    """A copy of a streamed response holding at most the first ``limit`` bytes of its (decoded) body.

    For transports that peek at a body: what is past the limit is never read, and the original
    response is closed. A small JSON answer arrives whole; anything larger is cut and is not JSON.
    """
    body = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > limit:
                break
    finally:
        await response.aclose()
    return _loaded(response, bytes(body[:limit]))


def _loaded(response: httpx2.Response, body: bytes, request: httpx2.Request | None = None) -> httpx2.Response:
    """``response`` with ``body`` as its content; headers that described the wire form are dropped."""
    kept = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx2.Response(
        response.status_code, headers=kept, content=body, request=request, extensions=response.extensions
    )


class _BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


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
        retry: RetryPolicy = RetryPolicy(),
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
            remaining = max(policy.total_budget - spent, _MIN_ATTEMPT_WINDOW)
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
            if delay is None or spent + delay + _MIN_ATTEMPT_WINDOW > policy.total_budget:
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
        except _BodyTooLarge as exc:
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
        response.extensions[_PROVIDER_EXTENSION] = self.provider_name
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
                raise _BodyTooLarge(max_body)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_body:
                    raise _BodyTooLarge(max_body)
        finally:
            await response.aclose()
        return _loaded(response, bytes(body), request)

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
        remaining = max(remaining, _MIN_ATTEMPT_WINDOW)
        base = self._timeout

        def clamp(value: float | None) -> float:
            return remaining if value is None else min(value, remaining)

        return httpx2.Timeout(
            connect=clamp(base.connect), read=clamp(base.read), write=clamp(base.write), pool=clamp(base.pool)
        )

    def _delay(self, attempt: int, response: httpx2.Response | None) -> float:
        """Seconds to wait before the next try: the provider's ``Retry-After`` (capped) or backoff."""
        policy = self.retry
        if response is not None and response.status_code in _RETRY_AFTER_STATUSES:
            asked = retry_after_seconds(response)
            if asked is not None:
                return min(asked, policy.max_retry_after)
        ceiling = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
        return self._rng.uniform(0.0, ceiling)  # full jitter: spreads retries of many clients apart

    def _map_status(self, response: httpx2.Response) -> InvoiceError:
        name = self.provider_name
        status = response.status_code
        if status in (401, 403):
            return Unauthorized(f"{name} refused the credentials.", hint=self.auth_hint)
        if status == 429:
            asked = retry_after_seconds(response)
            retry_after = None if asked is None else min(asked, MAX_REPORTED_RETRY_AFTER)
            wait = f"Wait {retry_after:g} seconds" if retry_after is not None else "Wait a minute"
            return RateLimited(
                f"{name} is limiting how often this server may call it.",
                retry_after=retry_after,
                hint=f"{wait} and try again.",
            )
        if status >= 500:
            return ProviderUnavailable(
                f"{name} answered HTTP {status}.",
                hint=f"Try again later, or check {name}'s status page.",
            )
        return ProviderUnavailable(
            f"{name} answered HTTP {status}, which this server did not expect.",
            hint=f"Try again later; if it persists, check the configured {name} base URL.",
        )

    def _map_transport(self, failure: httpx2.TransportError | None) -> InvoiceError:
        name = self.provider_name
        if isinstance(failure, httpx2.PoolTimeout):
            return ProviderTimeout(
                f"Too many requests to {name} are in flight from this server.",
                hint="Try again in a moment.",
            )
        if isinstance(failure, httpx2.ConnectTimeout):
            return ProviderTimeout(
                f"{name} at {self._host} could not be reached in time.",
                hint=f"Try again later, or check {name}'s status page and the network.",
            )
        if isinstance(failure, httpx2.TimeoutException):
            return ProviderTimeout(
                f"{name} did not answer in time.",
                hint=f"Try again later, or check {name}'s status page.",
            )
        if isinstance(failure, httpx2.ConnectError):
            return ProviderUnavailable(
                f"Could not connect to {name} at {self._host}.",
                hint=f"Check the network and the configured {name} base URL, or try again later.",
            )
        return ProviderUnavailable(
            f"The connection to {name} failed before it answered.",
            hint=f"Try again later, or check {name}'s status page.",
        )

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


class _RedactHttpxQuery(logging.Filter):
    """httpx2 logs every request's full URL at INFO; drop the query and userinfo, where credentials hide."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(arg, httpx2.URL) for arg in record.args):
            record.args = tuple(
                arg.copy_with(username=None, password=None, query=None)
                if isinstance(arg, httpx2.URL)
                else arg
                for arg in record.args
            )
        return True


_httpx_logger = logging.getLogger("httpx2")
if not any(isinstance(existing, _RedactHttpxQuery) for existing in _httpx_logger.filters):
    _httpx_logger.addFilter(_RedactHttpxQuery())
