"""The provider emulators (``mcp_invoices.sandbox``) in their own process, for the benchmarks.

``python tests/bench/emulator.py --latency-ms 50 --payabli-extra 5000`` prints the base URL on the
first line of stdout once it listens on 127.0.0.1, then serves until stdin closes or it is
terminated. Running the emulators in their own process keeps their CPU work (JSON encoding of
pages) off the benchmark driver's event loop and its GIL.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading

import anyio

from mcp_invoices.sandbox import SandboxStates, common, serve_sandbox
from mcp_invoices.sandbox.afternoon import AfternoonState
from mcp_invoices.sandbox.payabli import PayabliState


def _bind_without_nagle(host: str, port: int) -> socket.socket:
    """The sandbox's listening socket with TCP_NODELAY, which accepted connections inherit.

    The sandbox binds a socket made with protocol 0, so asyncio does not turn Nagle's algorithm off
    on the connections it accepts; a request sent within ~40 ms of the previous response on a
    kept-alive connection then waits for a delayed ACK (~40 ms here). No real provider API behaves
    like that, so the benchmarks turn it off rather than measure it.
    """
    sock = _sandbox_bind(host, port)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


_sandbox_bind = common._bind
common._bind = _bind_without_nagle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--afternoon-extra", type=int, default=0, help="extra Afternoon invoices for alice")
    parser.add_argument("--payabli-extra", type=int, default=0, help="extra Payabli invoices for alice")
    args = parser.parse_args()
    states = SandboxStates(
        afternoon=AfternoonState(extra_invoices=args.afternoon_extra),
        payabli=PayabliState(extra_invoices=args.payabli_extra),
    )
    # Nothing is left to fail: the benchmark does not want faults, only latency (set by serve_sandbox).

    def ready(base_url: str) -> None:
        print(base_url, flush=True)

    async def serve() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(
                lambda: serve_sandbox("127.0.0.1", 0, latency_ms=args.latency_ms, ready=ready, states=states)
            )
            # The parent closes our stdin when it is done (or dies): stop then.
            await anyio.to_thread.run_sync(sys.stdin.read, abandon_on_cancel=True)
            group.cancel_scope.cancel()

    threading.excepthook = lambda hook_args: None  # the stdin reader thread may be abandoned at exit
    anyio.run(serve)


if __name__ == "__main__":
    main()
