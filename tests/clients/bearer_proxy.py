"""A loopback HTTP proxy that adds ``Authorization: Bearer <token>`` to every request it forwards.

For clients that cannot send a header of their own (the official conformance suite's server mode has
no option for one). Everything else passes through as sent: method, path, query, body and every
header, ``Host`` and ``Origin`` included (the DNS-rebinding scenario depends on them), and responses
stream back chunk by chunk (SSE streams stay open as long as the server keeps them open).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import uvicorn

# Headers that describe one hop, not the message (RFC 9110 7.6.1), and the length the server recomputes.
HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
    b"content-length",
}
STARTUP_TIMEOUT_SECONDS = 10


class BearerProxy:
    """The ASGI application: one upstream origin, one token."""

    def __init__(self, upstream_origin: str, token: str) -> None:
        self.upstream_origin = upstream_origin.rstrip("/")
        self.token = token
        # No read timeout: a GET SSE stream is meant to stay open; the client under test bounds it.
        self.client = httpx2.AsyncClient(timeout=httpx2.Timeout(30, read=None))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:  # bounded by the server's lifetime: startup, then shutdown
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await self.client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        more = True
        while more:  # bounded by the request's body
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope["headers"]
            if name.lower() not in HOP_BY_HOP and name.lower() != b"authorization"
        ]
        headers.append(("Authorization", f"Bearer {self.token}"))
        url = self.upstream_origin + scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            url += "?" + scope["query_string"].decode("latin-1")
        request = self.client.build_request(scope["method"], url, headers=headers, content=body)
        response = await self.client.send(request, stream=True)
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [
                        (name.encode("latin-1"), value.encode("latin-1"))
                        for name, value in response.headers.multi_items()
                        if name.lower().encode("latin-1") not in HOP_BY_HOP
                    ],
                }
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def bearer_proxy(upstream_url: str, token: str) -> Iterator[str]:
    """Serve the proxy on a free loopback port; yields ``upstream_url`` with the proxy's origin."""
    scheme, _, rest = upstream_url.partition("://")
    origin, slash, path = rest.partition("/")
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            BearerProxy(f"{scheme}://{origin}", token),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, name="bearer-proxy", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not server.started:  # bounded: until uvicorn reports it listens, or the deadline
            if not thread.is_alive():
                raise AssertionError("the bearer proxy exited before it started")
            if time.monotonic() > deadline:
                raise AssertionError(f"the bearer proxy did not start within {STARTUP_TIMEOUT_SECONDS} s")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}{slash}{path}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
