"""Pieces shared by the provider emulators: fault controls, JSON with exact decimals, PDFs, serving.

Every emulator state holds a :class:`Controls`; :class:`ControlsMiddleware` applies it to each
request before the provider's routes see it (latency, forced failures, malformed bodies, rate
limiting) and records the request in ``controls.request_log``. Each provider supplies the shape
of its own error bodies through a :class:`FaultResponses`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

import anyio
import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "Clock",
    "Controls",
    "ControlsMiddleware",
    "FaultResponses",
    "LoggedRequest",
    "MalformedKind",
    "bearer_token",
    "dumps_json",
    "iso_z",
    "json_response",
    "query_int",
    "render_pdf",
    "route_path",
    "running_app",
    "serve_app",
    "serving_in_thread",
]

Clock = Callable[[], float]
"""A monotonic clock in seconds (``time.monotonic`` unless a test substitutes its own)."""

MalformedKind = Literal["truncated_json", "html", "wrong_shape"]


# --------------------------------------------------------------------------------------------
# JSON with exact decimals
# --------------------------------------------------------------------------------------------


_DECIMAL_MARK = "\u0000decimal:"
_DECIMAL_RE = re.compile('"\\\\u0000decimal:(-?[0-9.Ee+-]+)"')


def _mark_decimal(value: Any) -> str:
    if isinstance(value, Decimal):
        return _DECIMAL_MARK + str(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps_json(value: Any) -> bytes:
    """JSON text in which ``Decimal`` values appear as bare numbers with their exact digits.

    Decimals are written digit for digit ("110.00", "0.30"): what the provider's document shows,
    and what a client parsing with parse_float=Decimal must get back unchanged. The C encoder does
    the work; each Decimal travels as a marked string and is unquoted afterwards.
    """
    text = json.dumps(value, ensure_ascii=False, default=_mark_decimal, separators=(", ", ": "))
    return _DECIMAL_RE.sub(r"\1", text).encode()


def json_response(
    value: Any,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    media_type: str = "application/json",
) -> Response:
    return Response(dumps_json(value), status_code=status_code, headers=headers, media_type=media_type)


# --------------------------------------------------------------------------------------------
# PDF documents
# --------------------------------------------------------------------------------------------

_PDF_CREATION_DATE = datetime(2026, 1, 1, tzinfo=UTC)


def render_pdf(title: str, lines: list[str]) -> bytes:
    """A small, valid, deterministic one-page PDF (what the provider's own document stands in for)."""
    from fpdf import FPDF  # imported lazily: only document routes need it

    pdf = FPDF()
    pdf.set_creation_date(_PDF_CREATION_DATE)
    pdf.set_title(title)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.cell(text=_latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    for line in lines:
        pdf.cell(text=_latin1(line), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _latin1(text: str) -> str:
    # The core PDF fonts only cover Latin-1; the sandbox data is chosen to fit, this is a guard.
    return text.encode("latin-1", "replace").decode("latin-1")


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


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or ``None``."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def query_int(request: Request, name: str, default: int) -> int | None:
    """An integer query parameter; ``None`` when present but not an integer."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# Serving on loopback
# --------------------------------------------------------------------------------------------


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it, Nagle's algorithm holds a response ~40 ms when a
    # kept-alive client sends its next request right after the previous answer.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _server(app: ASGIApp) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


async def _wait_started(server: uvicorn.Server, task: asyncio.Task[None], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not server.started:
        if task.done():
            task.result()  # re-raise the startup failure
            raise RuntimeError("uvicorn exited before it started listening")
        if time.monotonic() > deadline:
            raise TimeoutError(f"uvicorn did not start listening within {timeout} s")
        await asyncio.sleep(0.005)


async def _join(task: asyncio.Task[None]) -> None:
    # Shielded: the caller may be in a cancelled scope, and uvicorn must still close its sockets.
    with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
        await task


async def serve_app(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ready: Callable[[str], None] | None = None,
    startup_timeout: float = 10.0,
) -> None:
    """Serve ``app`` under uvicorn until cancelled; ``ready(base_url)`` once it listens."""
    sock = _bind(host, port)
    server = _server(app)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await _wait_started(server, task, startup_timeout)
        if ready is not None:
            ready(_base_url(sock))
        await asyncio.shield(task)
    finally:
        server.should_exit = True
        await _join(task)
        sock.close()


@contextlib.asynccontextmanager
async def running_app(
    app: ASGIApp, *, host: str = "127.0.0.1", startup_timeout: float = 10.0
) -> AsyncIterator[str]:
    """Serve ``app`` on ``host`` with a free port for the duration of the block; yields the base URL.

    Uses plain asyncio tasks (no task group), so it may be entered and exited from different
    tasks, as pytest-asyncio does with async generator fixtures.
    """
    sock = _bind(host, 0)
    server = _server(app)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await _wait_started(server, task, startup_timeout)
        yield _base_url(sock)
    finally:
        server.should_exit = True
        await _join(task)
        sock.close()


@contextlib.contextmanager
def serving_in_thread(
    app: ASGIApp, *, host: str = "127.0.0.1", startup_timeout: float = 10.0
) -> Iterator[str]:
    """Like :func:`running_app`, for synchronous code: uvicorn runs its own loop in a thread."""
    sock = _bind(host, 0)
    server = _server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("uvicorn exited before it started listening")
            if time.monotonic() > deadline:
                raise TimeoutError(f"uvicorn did not start listening within {startup_timeout} s")
            time.sleep(0.005)
        yield _base_url(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=startup_timeout)
        sock.close()


def iso_z(moment: datetime) -> str:
    """``2026-03-01T10:00:00Z`` (UTC, seconds precision, as Polar and Afternoon write it)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
