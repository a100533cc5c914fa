"""Serving an emulator (or the whole sandbox) on loopback: in this event loop or in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator

import anyio
import uvicorn
from starlette.types import ASGIApp

__all__ = ["running_app", "serve_app", "serving_in_thread"]


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
