"""The provider emulators (``mcp_invoices.sandbox``) in their own process, for the benchmarks.

``python tests/bench/emulator.py --latency-ms 50 --payabli-extra 5000`` prints the base URL on the
first line of stdout once it listens on 127.0.0.1, then serves until stdin closes or it is
terminated. Running the emulators in their own process keeps their CPU work off the benchmark
driver's event loop and its GIL.

Successful GET answers are encoded once and replayed (``ReplayCache``): the benchmarks read data
that never changes, and an emulator that encodes a 100-invoice page in Python for every request
(~10-20 ms of CPU) would measure itself on 2 cores, not the server (issue 14, row 2f).
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
from dataclasses import dataclass, field

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_invoices.providers.afternoon.emulator import AfternoonState
from mcp_invoices.providers.emulation import serving as common
from mcp_invoices.providers.payabli.emulator import PayabliState
from mcp_invoices.sandbox import SandboxStates, create_sandbox_app


def _bind_without_nagle(host: str, port: int) -> socket.socket:
    """The sandbox's listening socket with TCP_NODELAY, which accepted connections inherit.

    Without it a request sent within ~40 ms of the previous response on a kept-alive connection
    waits for a delayed ACK (~40 ms here). No real provider API behaves like that, so the
    benchmarks turn it off rather than measure it.
    """
    sock = _sandbox_bind(host, port)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


_sandbox_bind = common._bind
common._bind = _bind_without_nagle

_KEYED_HEADERS = frozenset({b"authorization", b"requesttoken", b"x-storefront-key", b"x-customer-token"})
"""Request headers that change an answer (credentials): part of the replay key."""


@dataclass
class ReplayCache:
    """Replays the first successful answer to each identical GET, after the same added latency.

    A miss goes through the sandbox unchanged (its controls add the latency); a hit sleeps the same
    latency and sends the stored bytes, so a page costs this process almost no CPU after the first.
    """

    app: ASGIApp
    latency_s: float
    answers: dict[tuple[bytes, bytes, tuple[tuple[bytes, bytes], ...]], list[Message]] = field(
        default_factory=dict
    )
    hits: int = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        key = (
            scope["path"].encode(),
            scope.get("query_string", b""),
            tuple(sorted((k, v) for k, v in scope.get("headers", []) if k in _KEYED_HEADERS)),
        )
        stored = self.answers.get(key)
        if stored is not None:
            self.hits += 1
            if self.latency_s:
                await anyio.sleep(self.latency_s)
            for message in stored:
                await send(message)
            return
        recorded: list[Message] = []

        async def record(message: Message) -> None:
            recorded.append(message)
            await send(message)

        await self.app(scope, receive, record)
        if recorded and recorded[0].get("status") == 200:
            self.answers[key] = recorded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--afternoon-extra", type=int, default=0, help="extra Afternoon invoices for alice")
    parser.add_argument("--payabli-extra", type=int, default=0, help="extra Payabli invoices for alice")
    parser.add_argument(
        "--no-replay", action="store_true", help="encode every answer afresh (the emulator's own cost)"
    )
    args = parser.parse_args()
    states = SandboxStates(
        # The sandbox caps Afternoon pages at 40 to test the harsh case; the benchmark serves the
        # documented behaviour instead (``limit`` honoured, default 50: docs/providers.md, Afternoon).
        afternoon=AfternoonState(extra_invoices=args.afternoon_extra, page_size_cap=100),
        payabli=PayabliState(extra_invoices=args.payabli_extra),
    )
    # Nothing is left to fail: the benchmark does not want faults, only latency.
    for controls in states.all_controls():
        controls.latency_ms = args.latency_ms
    app: ASGIApp = create_sandbox_app(states)
    if not args.no_replay:
        app = ReplayCache(app, args.latency_ms / 1000)

    def ready(base_url: str) -> None:
        print(base_url, flush=True)

    async def serve() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: common.serve_app(app, "127.0.0.1", 0, ready=ready))
            # The parent closes our stdin when it is done (or dies): stop then.
            await anyio.to_thread.run_sync(sys.stdin.read, abandon_on_cancel=True)
            group.cancel_scope.cancel()

    threading.excepthook = lambda hook_args: None  # the stdin reader thread may be abandoned at exit
    anyio.run(serve)


if __name__ == "__main__":
    main()
