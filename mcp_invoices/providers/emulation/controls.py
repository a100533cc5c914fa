"""Fault injection and observation shared by every emulator: :class:`Controls` on each state, applied to
each request by :class:`ControlsMiddleware` before the provider's routes see it (latency, forced
failures, malformed bodies, rate limiting) and recorded in ``controls.request_log``. Each provider
supplies the shape of its own error bodies through a :class:`FaultResponses`."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import anyio
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "Clock",
    "Controls",
    "ControlsMiddleware",
    "FaultResponses",
    "LoggedRequest",
    "MalformedKind",
    "route_path",
]

Clock = Callable[[], float]
"""A monotonic clock in seconds (``time.monotonic`` unless a test substitutes its own)."""

MalformedKind = Literal["truncated_json", "html", "wrong_shape"]


# --------------------------------------------------------------------------------------------
# Controls
# --------------------------------------------------------------------------------------------


@dataclass
class LoggedRequest:
    """One request as the emulator received it (headers lower-cased, as ASGI gives them)."""

    method: str
    path: str
    """Path inside the emulator (without the ``/polar``-style mount prefix)."""
    query: str
    headers: dict[str, str]
    status: int | None = None
    """Status the emulator answered with (``None`` while the response is being produced)."""


@dataclass
class Controls:
    """Fault injection and observation, shared by every emulator (one instance per state).

    Tests mutate the fields directly; the middleware reads them on each request.
    """

    latency_ms: float = 0
    """Added to every request (simulated network latency)."""
    fail_next: list[int] = field(default_factory=list)
    """Answer the next requests with these statuses, in order, in the provider's error shape."""
    malformed_next: int = 0
    """Answer the next N requests with a body the client cannot use (see ``malformed_kind``)."""
    malformed_kind: MalformedKind = "truncated_json"
    """``truncated_json``: 200 application/json cut mid-document; ``html``: 200 text/html page;
    ``wrong_shape``: 200 valid JSON of the wrong shape."""
    rate_limit_per_minute: int | None = None
    """Enforce a token bucket of this many requests per minute (429 + Retry-After when empty)."""
    force_429_next: int = 0
    """Answer the next N requests with 429 regardless of the bucket."""
    retry_after: int = 1
    """Retry-After (seconds) sent with forced 429s."""
    clock: Clock = time.monotonic
    """The emulator's monotonic clock: rate limiting, Polar's invoice generation, session expiry."""
    request_log: list[LoggedRequest] = field(default_factory=list)
    counters: Counter[str] = field(default_factory=Counter)
    """``requests``, ``status:<code>``, ``injected:<kind>`` and provider-specific counts."""
    nominal_rate_limit_per_minute: int | None = None
    """The provider's published limit, reported in rate-limit headers when no limit is enforced."""

    _bucket_tokens: float | None = field(default=None, init=False, repr=False)
    _bucket_updated: float = field(default=0.0, init=False, repr=False)

    # -- rate limiting -----------------------------------------------------------------------

    def _effective_limit(self) -> int | None:
        return self.rate_limit_per_minute or self.nominal_rate_limit_per_minute

    def take_token(self) -> tuple[bool, int]:
        """Take one request from the bucket; ``(allowed, retry_after_seconds)``.

        Only refuses when ``rate_limit_per_minute`` is set; the nominal limit is only counted.
        """
        limit = self._effective_limit()
        if limit is None:
            return True, 0
        now = self.clock()
        rate = limit / 60.0
        if self._bucket_tokens is None:
            self._bucket_tokens = float(limit)
        else:
            elapsed = max(0.0, now - self._bucket_updated)
            self._bucket_tokens = min(float(limit), self._bucket_tokens + elapsed * rate)
        self._bucket_updated = now
        if self._bucket_tokens >= 1.0:
            self._bucket_tokens -= 1.0
            return True, 0
        if self.rate_limit_per_minute is None:
            return True, 0  # nominal only: never refuse
        return False, max(1, math.ceil((1.0 - self._bucket_tokens) / rate))

    def rate_limit_snapshot(self) -> tuple[int, int, int] | None:
        """``(limit, remaining, seconds_until_full)`` for ``X-RateLimit-*`` headers."""
        limit = self._effective_limit()
        if limit is None:
            return None
        tokens = float(limit) if self._bucket_tokens is None else self._bucket_tokens
        rate = limit / 60.0
        return limit, max(0, math.floor(tokens)), math.ceil((limit - tokens) / rate)

    def statuses(self) -> list[int | None]:
        return [entry.status for entry in self.request_log]


class FaultResponses(Protocol):
    """How one provider words the failures the controls inject."""

    def error(self, status: int) -> Response: ...

    def rate_limited(self, retry_after: int) -> Response: ...


def _malformed_response(kind: MalformedKind) -> Response:
    if kind == "html":
        return Response(
            b"<html><body><h1>502 Bad Gateway</h1></body></html>", status_code=200, media_type="text/html"
        )
    if kind == "wrong_shape":
        return Response(b'{"unexpected": ["shape"]}', status_code=200, media_type="application/json")
    return Response(b'{"success": true, "data": [{"id": ', status_code=200, media_type="application/json")


def route_path(scope: Scope) -> str:
    """The request path inside the (possibly mounted) emulator."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


class ControlsMiddleware:
    """Applies :class:`Controls` to every HTTP request and logs it.

    Paths starting with one of ``exempt_prefixes`` (e.g. Polar's presigned file downloads, which
    are served by storage, not by the API) are logged but never delayed or failed.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        controls: Controls,
        faults: FaultResponses,
        exempt_prefixes: tuple[str, ...] = (),
        extra_headers: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        self.app = app
        self.controls = controls
        self.faults = faults
        self.exempt_prefixes = exempt_prefixes
        self.extra_headers = extra_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        controls = self.controls
        path = route_path(scope)
        entry = LoggedRequest(
            method=scope["method"],
            path=path,
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=_headers_dict(scope),
        )
        controls.request_log.append(entry)
        controls.counters["requests"] += 1

        extra = self.extra_headers

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
                controls.counters[f"status:{message['status']}"] += 1
                if extra is not None:
                    headers = list(message.get("headers", []))
                    headers.extend((k.lower().encode(), v.encode()) for k, v in extra().items())
                    message = {**message, "headers": headers}
            await send(message)

        if self.exempt_prefixes and path.startswith(self.exempt_prefixes):
            await self.app(scope, receive, send_logged)
            return

        if controls.latency_ms:
            await anyio.sleep(controls.latency_ms / 1000)

        injected = self._injected_response()
        if injected is not None:
            await injected(scope, receive, send_logged)
            return
        await self.app(scope, receive, send_logged)

    def _injected_response(self) -> Response | None:
        controls = self.controls
        if controls.force_429_next > 0:
            controls.force_429_next -= 1
            controls.counters["injected:429"] += 1
            return self.faults.rate_limited(controls.retry_after)
        allowed, retry_after = controls.take_token()
        if not allowed:
            controls.counters["rate_limited"] += 1
            return self.faults.rate_limited(retry_after)
        if controls.fail_next:
            status = controls.fail_next.pop(0)
            controls.counters[f"injected:{status}"] += 1
            return self.faults.error(status)
        if controls.malformed_next > 0:
            controls.malformed_next -= 1
            controls.counters["injected:malformed"] += 1
            return _malformed_response(controls.malformed_kind)
        return None


def _headers_dict(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers
