"""A provider that misbehaves on purpose: raw HTTP/1.1 on loopback, in a thread and event loop of its own.

Each request is answered by the first route whose path prefix matches, with one of the behaviours
below (a whole reply, a body dripped a byte at a time, a flood of hundreds of megabytes, a reset,
a truncated body). Running apart from the server under test, it keeps misbehaving at its own pace
even if the server's event loop were frozen; every loop in it is bounded, and stopping it ends them.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

Behaviour = Callable[[asyncio.StreamWriter, "Hostile"], Awaitable[None]]

_REASONS = {200: "OK", 302: "Found", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}


def _head(status: int, headers: Mapping[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def reply(
    status: int = 200, body: bytes | str | Any = b"", headers: Mapping[str, str] | None = None
) -> Behaviour:
    """A whole answer at once; a body that is neither bytes nor str is sent as JSON."""
    if isinstance(body, str):
        payload = body.encode()
    elif isinstance(body, bytes):
        payload = body
    else:
        payload = json.dumps(body).encode()
    content_type = "application/json" if not isinstance(body, bytes | str) else "application/octet-stream"
    all_headers = {"Content-Type": content_type, **(headers or {}), "Content-Length": str(len(payload))}

    async def behave(writer: asyncio.StreamWriter, hostile: Hostile) -> None:
        writer.write(_head(status, all_headers) + payload)
        await writer.drain()

    return behave


def json_text(status: int, text: str, headers: Mapping[str, str] | None = None) -> Behaviour:
    """JSON written by hand (for numbers ``json.dumps`` would never write, like ``1e100000``)."""
    return reply(status, text, {"Content-Type": "application/json", **(headers or {})})


def drip(*, interval: float = 0.2, declared: int = 10_000, first: bytes = b'{"invoice": ') -> Behaviour:
    """Headers at once, then the body one byte per ``interval``: every read sees progress, none finishes."""

    async def behave(writer: asyncio.StreamWriter, hostile: Hostile) -> None:
        writer.write(
            _head(200, {"Content-Type": "application/json", "Content-Length": str(declared)}) + first
        )
        await writer.drain()
        for _ in range(declared):  # bounded; ends earlier when the client hangs up or the test ends
            if hostile.stopping.is_set():
                return
            await asyncio.sleep(interval)
            writer.write(b" ")
            await writer.drain()

    return behave


def flood(total: int, *, content_type: str = "application/json", declare_length: bool = True) -> Behaviour:
    """A body of ``total`` bytes, sent as fast as the client reads it (or until it hangs up)."""
    chunk = b"[" + b"0," * 32_767 + b"0"

    async def behave(writer: asyncio.StreamWriter, hostile: Hostile) -> None:
        headers = {"Content-Type": content_type}
        if declare_length:
            headers["Content-Length"] = str(total)
        else:
            headers["Transfer-Encoding"] = "chunked"
        writer.write(_head(200, headers))
        sent = 0
        while sent < total and not hostile.stopping.is_set():
            piece = chunk[: total - sent]
            writer.write(piece if declare_length else f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            await writer.drain()
            sent += len(piece)
            hostile.flooded = sent

    return behave


def truncated(prefix: bytes, declared: int) -> Behaviour:
    """Promises ``declared`` bytes, sends ``prefix``, hangs up."""

    async def behave(writer: asyncio.StreamWriter, hostile: Hostile) -> None:
        headers = {"Content-Type": "application/json", "Content-Length": str(declared)}
        writer.write(_head(200, headers) + prefix)
        await writer.drain()

    return behave


def reset() -> Behaviour:
    """Reads the request, then resets the connection (RST) without a byte of answer."""

    async def behave(writer: asyncio.StreamWriter, hostile: Hostile) -> None:
        raw = writer.get_extra_info("socket")
        if raw is not None:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    return behave


class Hostile:
    """The misbehaving provider. ``on(prefix, behaviour)`` routes requests; ``url`` is its base URL."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, Behaviour]] = []
        self.requests: list[str] = []
        self.received = threading.Event()
        self.stopping = threading.Event()
        self.flooded = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="hostile-provider", daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def on(self, prefix: str, behaviour: Behaviour) -> None:
        self.routes.append((prefix, behaviour))

    def start(self) -> None:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop
        ).result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        self.stopping.set()

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            current = asyncio.current_task()
            for task in asyncio.all_tasks():
                if task is not current:
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            path = request_line.split(" ")[1] if " " in request_line else "/"
            self.requests.append(f"{request_line.split(' ')[0]} {path}")
            self.received.set()
            for prefix, behaviour in self.routes:
                if path.startswith(prefix):
                    await behaviour(writer, self)
                    break
            else:
                await reply(404, {"error": "NotFound"})(writer, self)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client hung up: what a refusing client does
        finally:
            writer.close()
