"""Where the server's time goes: a benchmark workload against a server running under cProfile.

    python tests/bench/profile_server.py get_invoice-stdio   # row 1a's call, 200 times
    python tests/bench/profile_server.py get_invoice-http    # row 1b's call, 200 times
    python tests/bench/profile_server.py local-stdio         # row 7's call (local ord_1001, stdio), 1000 times
    python tests/bench/profile_server.py local-stdio-echo    # row 7's baseline: the same with echo
    python tests/bench/profile_server.py summarize           # row 2's summary, 3 times
    python tests/bench/profile_server.py concurrent          # row 3: 50 HTTP clients, get_invoice
    python tests/bench/profile_server.py concurrent-echo     # row 3's baseline: the same with echo
    python tests/bench/profile_server.py startup             # row 4: -X importtime of `serve`

Options: ``--top N`` rows per listing, ``--save FILE`` keeps the raw profile (for snakeviz & co).
The emulators add no latency here: the profile is of CPU work, not of waiting. cProfile sees only
the server's main thread (the event loop); work sent to worker threads shows up as waiting there.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

sys.path.insert(0, str(Path(__file__).resolve().parent))

import support
from support import BENCH, REPO, clean_environment

PROFILED = [sys.executable, "-m", "cProfile", "-o"]


def report(profile: Path, top: int, save: Path | None) -> None:
    if save is not None:
        save.write_bytes(profile.read_bytes())
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(str(profile), stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(top)
        print(f"\n### sorted by {order}\n")
        print(out.getvalue())


async def drive_stdio(params: StdioServerParameters, work: Callable[[Client], Awaitable[None]]) -> None:
    async with Client(params) as client:
        await work(client)


def afternoon_env(emulator_url: str) -> dict[str, str]:
    from mcp_invoices.sandbox import sandbox_environment

    return {
        key: value
        for key, value in sandbox_environment(emulator_url, "alice").items()
        if key.startswith("AFTERNOON_")
    }


def get_invoice_stdio(out: Path) -> None:
    from mcp_invoices.providers.afternoon.emulator import AFTERNOON_INVOICE_IDS

    invoice_id = AFTERNOON_INVOICE_IDS["alice_paid"]
    with support.emulator_process(latency_ms=0) as (emulator_url, _):
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "cProfile", "-o", str(out), "-m", "mcp_invoices", "serve"],
            env=clean_environment(afternoon_env(emulator_url)),
            cwd=str(REPO),
        )

        async def work(client: Client) -> None:
            for _ in range(200):
                await client.call_tool("get_invoice", {"invoice_id": invoice_id})

        anyio.run(drive_stdio, params, work)
    _wait_for(out)


def get_invoice_http(out: Path) -> None:
    from mcp_invoices.auth.tokens import TokenStore
    from mcp_invoices.providers.afternoon.emulator import AFTERNOON_INVOICE_IDS

    invoice_id = AFTERNOON_INVOICE_IDS["alice_paid"]
    with (
        tempfile.TemporaryDirectory() as temporary,
        support.emulator_process(latency_ms=0) as (emulator_url, _),
    ):
        db = Path(temporary) / "ledger.sqlite3"
        env = afternoon_env(emulator_url)
        token = TokenStore(db).issue("afternoon", env.pop("AFTERNOON_CUSTOMER_ID"), ttl=timedelta(hours=1))
        env["MCP_INVOICES_DB"] = str(db)
        argv = [*PROFILED, str(out), "-m", "mcp_invoices", "serve", "--transport", "http"]
        with support.http_server_process(argv, env, interrupt=True) as (url, _):

            async def work() -> None:
                async with support.bearer_client(url, token.token.get_secret_value()) as client:
                    for _ in range(200):
                        await client.call_tool("get_invoice", {"invoice_id": invoice_id})

            anyio.run(work)
    _wait_for(out)


def local_stdio(out: Path, tool: str = "get_invoice") -> None:
    """Row 7's call over stdio (``echo_server.py --stdio``: ``serve`` plus echo), one client, 1,000 times."""
    arguments = {"get_invoice": {"invoice_id": "ord_1001"}, "echo": {"text": "ping"}}[tool]
    with tempfile.TemporaryDirectory() as temporary:
        env = {
            "MCP_INVOICES_DB": str(Path(temporary) / "ledger.sqlite3"),
            "MCP_INVOICES_CUSTOMER": "cus_alice",
        }
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "cProfile", "-o", str(out), str(BENCH / "echo_server.py"), "--stdio"],
            env=clean_environment(env),
            cwd=str(REPO),
        )

        async def work(client: Client) -> None:
            for _ in range(1000):
                await client.call_tool(tool, arguments)

        anyio.run(drive_stdio, params, work)
        _wait_for(out)


def summarize(out: Path) -> None:
    from mcp_invoices.sandbox import sandbox_environment

    with support.emulator_process(latency_ms=0, payabli_extra=5000) as (emulator_url, _):
        env = {
            key: value
            for key, value in sandbox_environment(emulator_url, "alice").items()
            if key.startswith("PAYABLI_")
        }
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "cProfile", "-o", str(out), "-m", "mcp_invoices", "serve"],
            env=clean_environment(env),
            cwd=str(REPO),
        )

        async def work(client: Client) -> None:
            for _ in range(3):
                await client.call_tool("summarize_invoices", {})

        anyio.run(drive_stdio, params, work)
    _wait_for(out)


def concurrent(out: Path, tool: str = "get_invoice") -> None:
    from mcp_invoices.auth.tokens import TokenStore

    arguments = {"get_invoice": {"invoice_id": "ord_1001"}, "echo": {"text": "ping"}}[tool]
    with tempfile.TemporaryDirectory() as temporary:
        db = Path(temporary) / "ledger.sqlite3"
        store = TokenStore(db)
        tokens = [
            store.issue("local", "cus_alice", ttl=timedelta(hours=1)).token.get_secret_value()
            for _ in range(50)
        ]
        argv = [*PROFILED, str(out), str(BENCH / "echo_server.py")]
        with support.http_server_process(argv, {"MCP_INVOICES_DB": str(db)}, interrupt=True) as (url, _):

            async def work() -> None:
                async with contextlib.AsyncExitStack() as stack:
                    clients = [await stack.enter_async_context(support.bearer_client(url, t)) for t in tokens]

                    async def worker(client: Client) -> None:
                        for _ in range(10):
                            await client.call_tool(tool, arguments)

                    async with anyio.create_task_group() as group:
                        for client in clients:
                            group.start_soon(worker, client)

            anyio.run(work)
    _wait_for(out)


def _import_times(argv: list[str], env: dict[str, str]) -> list[tuple[int, int, int, str]]:
    """``(cumulative us, self us, depth, module)`` of every import ``argv`` makes up to its tools/list answer."""
    with tempfile.TemporaryDirectory() as temporary:
        log_path = Path(temporary) / "importtime.log"
        with log_path.open("wb") as log:  # a file, not a pipe: the import log would fill a pipe and block
            process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env | {"PYTHONPROFILEIMPORTTIME": "1"},
                cwd=REPO,
            )
            try:
                assert process.stdin and process.stdout
                reader = support.LineReader(process.stdout)
                deadline = time.monotonic() + 60
                process.stdin.write(
                    b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":'
                    b'"2025-11-25","capabilities":{},"clientInfo":{"name":"p","version":"0"}}}\n'
                )
                process.stdin.flush()
                reader.line(deadline)
                process.stdin.write(
                    b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
                    b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'
                )
                process.stdin.flush()
                reader.line(deadline)
                process.stdin.close()
                process.wait(timeout=30)
            finally:
                support.stop(process)
        rows = []
        for line in log_path.read_text(errors="replace").splitlines():
            if line.startswith("import time:") and "|" in line and "self [us]" not in line:
                own, cumulative, name = line[len("import time:") :].split("|")
                depth = (len(name) - len(name.lstrip()) - 1) // 2  # importtime indents nested imports by two
                rows.append((int(cumulative), int(own), depth, name.strip()))
        return rows


def startup(top: int) -> None:
    """``-X importtime`` of ``serve`` and of the bare server: what mcp-invoices imports beyond the SDK."""
    with tempfile.TemporaryDirectory() as temporary:
        env = clean_environment(
            {"MCP_INVOICES_DB": str(Path(temporary) / "ledger.sqlite3"), "MCP_INVOICES_CUSTOMER": "cus_alice"}
        )
        argv = [sys.executable, "-m", "mcp_invoices", "serve"]
        # Seed the ledger first, so that the profiled start is a normal one (not the first run's).
        subprocess.run(argv, input=b"", env=env, cwd=REPO, timeout=60, capture_output=True, check=True)
        ours = _import_times(argv, env)
        bare = _import_times([sys.executable, str(BENCH / "bare_server.py")], clean_environment({}))
    bare_modules = {name for _, _, _, name in bare}
    extra = [row for row in ours if row[3] not in bare_modules]
    total_ours, total_bare = (sum(own for _, own, _, _ in rows) / 1000 for rows in (ours, bare))
    print(
        f"imports up to the first tools/list answer: mcp-invoices {len(ours)} modules, {total_ours:.0f} ms; "
        f"bare MCPServer {len(bare)} modules, {total_bare:.0f} ms (importtime inflates both)\n"
    )
    by_package: dict[str, int] = {}
    for _, own, _, name in extra:
        by_package[name.split(".")[0]] = by_package.get(name.split(".")[0], 0) + own
    print(
        f"modules only mcp-invoices imports: {len(extra)}, {sum(by_package.values()) / 1000:.0f} ms of own "
        "import time, by top-level package:\n"
    )
    print("| package | self ms |\n|---|---:|")
    for package, own in sorted(by_package.items(), key=lambda item: -item[1])[:top]:
        print(f"| `{package}` | {own / 1000:.1f} |")
    print("\nslowest of those modules (cumulative includes the modules each one imports):\n")
    print("| cumulative ms | self ms | module |\n|---:|---:|---|")
    for cumulative, own, _, name in sorted(extra, reverse=True)[:top]:
        print(f"| {cumulative / 1000:.1f} | {own / 1000:.1f} | `{name}` |")


def _wait_for(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.stat().st_size > 0):  # bounded: the server writes it as it exits
        if time.monotonic() > deadline:
            raise TimeoutError(f"the profiled server wrote no profile to {path}")
        time.sleep(0.1)


SCENARIOS: dict[str, Callable[[Path], None]] = {
    "get_invoice-stdio": get_invoice_stdio,
    "get_invoice-http": get_invoice_http,
    "local-stdio": local_stdio,
    "local-stdio-echo": lambda out: local_stdio(out, "echo"),
    "summarize": summarize,
    "concurrent": concurrent,
    "concurrent-echo": lambda out: concurrent(out, "echo"),
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenario", choices=[*SCENARIOS, "startup"])
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--save", type=Path, default=None, help="keep the raw cProfile output here")
    args = parser.parse_args()
    if args.scenario == "startup":
        startup(args.top)
        return 0
    with tempfile.TemporaryDirectory() as temporary:
        out = Path(temporary) / "server.prof"
        SCENARIOS[args.scenario](out)
        report(out, args.top, args.save)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
