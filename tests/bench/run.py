"""The performance benchmarks of mcp-invoices (issue 5): measurement only, never an assertion.

    python tests/bench/run.py [--quick] [--only 1,3] [--json results.json]

Prints the machine, then a markdown table (# | what | baseline | measured | ratio | target | met?),
then notes per row. Every figure is a median over repeated runs; every ratio is against a baseline
measured in the same run, interleaved with the subject where that is practical (the machine is
shared and noisy). Exits 0 whether or not the targets are met (a missed one prints MISSED).
Everything listens on 127.0.0.1 only. See README.md beside this file for what each row means.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client, StdioServerParameters

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers beside this script

import support
from support import BENCH, REPO, clean_environment, median, spread

LATENCY_MS = 50
"""What the emulators add to every request (rows 1 and 2)."""
BULK_INVOICES = 5000
"""Extra invoices for alice in row 2."""
CONCURRENT_CLIENTS = 50
PRINCIPALS = 1000
TOKEN_TTL = timedelta(hours=6)
SUMMARY_PAUSE = 1.0
"""Seconds between two summaries in row 2, so that the server's request budget per provider (a token
bucket, providers/paging.py) has refilled. The sandbox environment raises the budget to 60,000 a
minute (refilled in 50 ms); with Payabli's default (600 a minute, bursts of 50) it would take 5 s."""
RAW_LIMITS = httpx2.Limits(max_connections=100, keepalive_expiry=2)
"""Baseline clients keep connections alive (as the server's provider clients do), but drop them before
uvicorn's 5 s keep-alive timeout could close one just as it is reused."""


@dataclass(frozen=True)
class Settings:
    """Repetitions: ``--quick`` for a smoke run (< ~2 min), the default for figures to quote (< ~10 min)."""

    name: str
    row1_calls: int
    """Interleaved (raw, stdio, http) triples."""
    row2_runs: int
    row7_rounds: int
    """Each round runs the Inspector's load test once on echo and once on get_invoice, order alternating."""
    row7_seconds: float
    row3_rounds: int
    """Each round runs the echo phase and the get_invoice phase once, in alternating order."""
    row3_calls_per_client: int
    row4_launches: int
    row5_renders: int
    row6_principals: int
    row6_legacy: bool
    """Also run row 6 with handshake-era (legacy) clients, whose sessions the server holds."""


QUICK = Settings(
    "quick",
    row1_calls=8,
    row2_runs=3,
    row7_rounds=1,
    row7_seconds=3,
    row3_rounds=2,
    row3_calls_per_client=4,
    row4_launches=3,
    row5_renders=8,
    row6_principals=PRINCIPALS,
    row6_legacy=False,
)
FULL = Settings(
    "full",
    row1_calls=60,
    row2_runs=9,
    row7_rounds=4,
    row7_seconds=8,
    row3_rounds=6,
    row3_calls_per_client=12,
    row4_launches=11,
    row5_renders=30,
    row6_principals=PRINCIPALS,
    row6_legacy=True,
)


@dataclass
class Row:
    number: str
    what: str
    baseline: str
    measured: str
    ratio: str
    target: str
    met: bool | None
    """None: not measured (not applicable, provider not ready, or failed)."""
    notes: list[str] = field(default_factory=list)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def ms_list(values: list[float]) -> str:
    return spread([value * 1000 for value in values]) + " ms"


def error_text(result: Any) -> str:
    """What an ``isError`` result says: its text (errors carry no structured content)."""
    return " ".join(getattr(block, "text", "") for block in result.content)


def not_measured(number: str, what: str, target: str, reason: str, notes: list[str] | None = None) -> Row:
    return Row(number, what, "-", reason, "-", target, None, notes or [])


def rotated(items: list[Any], index: int) -> list[Any]:
    """Round-robin order: no subject always runs first (or right after the baseline)."""
    shift = index % len(items)
    return items[shift:] + items[:shift]


# =====================================================================================================
# Row 1: get_invoice through a real MCP client (stdio and HTTP) vs one raw request to the provider
# =====================================================================================================


def _afternoon_provider_problem() -> str | None:
    """Why the Afternoon provider cannot be benchmarked yet, or None when it imports."""
    try:
        from mcp_invoices.providers.afternoon.client import AfternoonProvider  # noqa: F401
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None


async def row_1(settings: Settings, emulator_url: str, emulator_pid: int, workdir: Path) -> list[Row]:
    from mcp_invoices.auth.tokens import TokenStore
    from mcp_invoices.providers.afternoon.emulator import AFTERNOON_INVOICE_IDS
    from mcp_invoices.sandbox import sandbox_environment

    what_stdio = f"get_invoice over stdio, Afternoon emulator +{LATENCY_MS} ms/request"
    what_http = f"get_invoice over streamable HTTP, Afternoon emulator +{LATENCY_MS} ms/request"
    target = "≤ 1.05 / ≤ 1.08"
    problem = _afternoon_provider_problem()
    if problem is not None:
        return [
            not_measured("1a", what_stdio, target, "n/a (provider not ready)", [problem]),
            not_measured("1b", what_http, target, "n/a (provider not ready)", [problem]),
        ]

    env = {
        key: value
        for key, value in sandbox_environment(emulator_url, "alice").items()
        if key.startswith("AFTERNOON_")
    }
    invoice_id = AFTERNOON_INVOICE_IDS["alice_paid"]
    raw_url = f"{env['AFTERNOON_BASE_URL']}/v1/invoices/{invoice_id}"
    raw_headers = {"Authorization": f"Bearer {env['AFTERNOON_API_KEY']}"}

    # HTTP: the token names the customer, so the server gets the key but not AFTERNOON_CUSTOMER_ID.
    db = workdir / "row1.sqlite3"
    token = (
        TokenStore(db)
        .issue("afternoon", env["AFTERNOON_CUSTOMER_ID"], ttl=TOKEN_TTL)
        .token.get_secret_value()
    )
    http_env = {key: value for key, value in env.items() if key != "AFTERNOON_CUSTOMER_ID"}
    http_env["MCP_INVOICES_DB"] = str(db)
    command = support.serve_command()
    stdio = StdioServerParameters(
        command=command[0], args=command[1:], env=clean_environment(env), cwd=str(REPO)
    )

    times: dict[str, list[float]] = {"raw": [], "stdio": [], "http": []}
    client_cpu: dict[str, float] = {"raw": 0.0, "stdio": 0.0, "http": 0.0}
    server_cpu: dict[str, float] = {}
    failures: list[str] = []
    with contextlib.ExitStack() as processes:
        async with contextlib.AsyncExitStack() as stack:
            try:  # a server that cannot start with the Afternoon provider: not ready yet
                url, http_pid = processes.enter_context(
                    support.http_server_process([*command, "--transport", "http"], http_env)
                )
                raw = await stack.enter_async_context(httpx2.AsyncClient(timeout=30, limits=RAW_LIMITS))
                stdio_client = await stack.enter_async_context(Client(stdio))
                http_client = await stack.enter_async_context(support.bearer_client(url, token))
            except Exception as error:
                reason, why = (
                    "n/a (provider not ready)",
                    [f"the server did not start: {type(error).__name__}"],
                )
                return [
                    not_measured("1a", what_stdio, target, reason, why),
                    not_measured("1b", what_http, target, reason, why),
                ]
            stdio_pid = support.stdio_server_pid()

            async def call_raw() -> None:
                response = await raw.get(raw_url, headers=raw_headers)
                response.raise_for_status()

            def via(client: Client, label: str) -> Callable[[], Awaitable[None]]:
                async def call() -> None:
                    result = await client.call_tool("get_invoice", {"invoice_id": invoice_id})
                    if result.is_error:
                        failures.append(f"{label}: {error_text(result)[:300]}")

                return call

            subjects = [
                ("raw", call_raw),
                ("stdio", via(stdio_client, "stdio")),
                ("http", via(http_client, "http")),
            ]
            for _, call in subjects * 3:  # warm-up: connections, caches, first-call imports
                await call()
            if failures:
                reason = "n/a (provider not ready)"
                return [
                    not_measured("1a", what_stdio, target, reason, failures[:1]),
                    not_measured("1b", what_http, target, reason, failures[:1]),
                ]
            pids = {"stdio": stdio_pid, "http": http_pid}
            servers_before = {name: support.cpu_seconds(pid) for name, pid in pids.items() if pid}
            for index in range(settings.row1_calls):
                for name, call in rotated(subjects, index):
                    own_before = time.process_time()
                    started = time.perf_counter()
                    await call()
                    times[name].append(time.perf_counter() - started)
                    client_cpu[name] += time.process_time() - own_before
            # Each server is idle while the others are measured, so its total CPU is its calls' CPU.
            server_cpu = {
                name: support.cpu_seconds(pid) - servers_before[name] for name, pid in pids.items() if pid
            }

    base = median(times["raw"])
    calls = settings.row1_calls
    rows = []
    limits = {"stdio": 1.05, "http": 1.08}
    for number, name, what in (("1a", "stdio", what_stdio), ("1b", "http", what_http)):
        limit = limits[name]
        subject = median(times[name])
        ratio = subject / base
        server = "n/a"
        if name in server_cpu:
            per_call = server_cpu[name] / calls
            server = (
                f"{per_call * 1000:.1f} ms (of which ~{(per_call - client_cpu['raw'] / calls) * 1000:.1f} ms "
                "beyond the provider request it makes, costed as the raw client's)"
            )
        rows.append(
            Row(
                number,
                what,
                f"raw httpx2 GET {ms(base)}",
                ms(subject),
                f"{ratio:.3f}",
                f"≤ {limit:.2f}",
                ratio <= limit,
                [
                    (
                        f"median over {calls} calls interleaved with the raw request; overhead "
                        f"{(subject - base) * 1000:+.1f} ms per call; range {ms_list(times[name])} "
                        f"(raw {ms_list(times['raw'])})"
                    ),
                    (
                        f"CPU per call: server {server}, MCP client {client_cpu[name] / calls * 1000:.1f} ms "
                        f"(raw httpx2 client {client_cpu['raw'] / calls * 1000:.1f} ms); server CPU from /proc (10 ms ticks, "
                        "averaged over all calls)"
                    ),
                ]
                + ([f"errors: {failures[:2]}"] if failures else []),
            )
        )
    return rows


# =====================================================================================================
# Row 2: summarize_invoices over 5,000 invoices, 100 a page at 50 ms a page
# =====================================================================================================


async def row_2(settings: Settings, emulator_url: str, emulator_pid: int, workdir: Path) -> list[Row]:
    from mcp_invoices.sandbox import sandbox_environment

    what = (
        f"summarize_invoices over {BULK_INVOICES:,} Payabli invoices (100/page, +{LATENCY_MS} ms/page), stdio"
    )
    target = "≤ 4.0 pages"
    try:
        from mcp_invoices.providers.payabli.client import PayabliProvider  # noqa: F401
    except Exception as error:
        return [
            not_measured("2", what, target, "n/a (provider not ready)", [f"{type(error).__name__}: {error}"])
        ]

    env = {
        key: value
        for key, value in sandbox_environment(emulator_url, "alice").items()
        if key.startswith("PAYABLI_")
    }
    query_url = f"{env['PAYABLI_BASE_URL']}/Query/invoices/{env['PAYABLI_ENTRY']}"
    headers = {"requestToken": env["PAYABLI_API_TOKEN"]}
    customer_filter = {"customerId(eq)": env["PAYABLI_CUSTOMER_ID"]}
    command = support.serve_command()
    stdio = StdioServerParameters(
        command=command[0], args=command[1:], env=clean_environment(env), cwd=str(REPO)
    )

    times: dict[str, list[float]] = {"page": [], "floor": [], "summary": []}
    emulator_cpu = {"page": 0.0, "floor": 0.0, "summary": 0.0}
    server_cpu = {"page": 0.0, "floor": 0.0, "summary": 0.0}
    counts: list[int] = []
    failures: list[str] = []
    async with httpx2.AsyncClient(timeout=60, limits=RAW_LIMITS) as raw:

        async def one_page(offset: int = 0) -> httpx2.Response:
            response = await raw.get(
                query_url,
                headers=headers,
                params={"fromRecord": offset, "limitRecord": 100, **customer_filter},
            )
            response.raise_for_status()
            return response

        async def all_pages_in_parallel() -> None:
            # The floor: what fetching every page at once costs on this emulator and machine, no server.
            first = await one_page(0)
            total = int(first.json()["Summary"]["totalRecords"])
            async with anyio.create_task_group() as group:
                for offset in range(100, total, 100):
                    group.start_soon(one_page, offset)

        async with Client(stdio) as client:

            async def summary() -> None:
                result = await client.call_tool("summarize_invoices", {})
                if result.is_error:
                    failures.append(error_text(result)[:300])
                else:
                    counts.append(int(result.structured_content["count"]))

            subjects: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
                ("page", one_page),
                ("floor", all_pages_in_parallel),
                ("summary", summary),
            ]
            for _, call in subjects:  # warm-up
                await call()
            if failures:
                return [not_measured("2", what, target, "n/a (provider not ready)", failures[:1])]
            server_pid = support.stdio_server_pid()
            await anyio.sleep(SUMMARY_PAUSE)
            for index in range(settings.row2_runs):
                for name, call in rotated(subjects, index):
                    if name == "summary" and index:
                        await anyio.sleep(SUMMARY_PAUSE)
                    emulator_before = support.cpu_seconds(emulator_pid)
                    server_before = support.cpu_seconds(server_pid) if server_pid else 0.0
                    started = time.perf_counter()
                    await call()
                    times[name].append(time.perf_counter() - started)
                    emulator_cpu[name] += support.cpu_seconds(emulator_pid) - emulator_before
                    if server_pid:
                        server_cpu[name] += support.cpu_seconds(server_pid) - server_before
            # What a caller sees who asks again at once, after the server's request budget was drained.
            await anyio.sleep(SUMMARY_PAUSE)
            await summary()
            started = time.perf_counter()
            await summary()
            back_to_back = time.perf_counter() - started

    page, floor, subject = median(times["page"]), median(times["floor"]), median(times["summary"])
    runs = settings.row2_runs
    ratio = subject / page
    notes = [
        (
            f"median of {len(times['summary'])} summaries (range {ms_list(times['summary'])}), interleaved with the "
            f"one-page baseline (range {ms_list(times['page'])}); counts seen: {sorted(set(counts))}"
        ),
        (
            f"sequential paging would be ~{BULK_INVOICES // 100} pages ({BULK_INVOICES // 100 * page:.1f} s); "
            f"summaries were {SUMMARY_PAUSE:.1f} s apart so that the server's per-provider request budget "
            f"(providers/paging.py; PAYABLI_RATE_LIMIT_PER_MINUTE={env.get('PAYABLI_RATE_LIMIT_PER_MINUTE', 'default')}) "
            f"had refilled; a summary right after another took {ms(back_to_back)} ({back_to_back / page:.1f} pages)"
        ),
        (
            f"CPU per summary: MCP server {server_cpu['summary'] / runs * 1000:.0f} ms "
            f"({server_cpu['summary'] / runs / max(max(counts, default=1), 1) * 1e6:.0f} µs per invoice; "
            f"target ≤ 50), emulator {emulator_cpu['summary'] / runs * 1000:.0f} ms (per single page "
            f"{emulator_cpu['page'] / runs * 1000:.0f} ms; it replays encoded answers)"
        ),
    ]
    if failures:
        notes.append(f"errors: {failures[:2]}")
    return [
        Row(
            "2",
            what,
            f"one page (raw httpx2) {ms(page)}",
            ms(subject),
            f"{ratio:.1f} pages",
            target,
            ratio <= 4.0,
            notes,
        ),
        Row(
            "2f",
            "floor for row 2: every page straight from the emulator, all in parallel, no MCP server",
            f"one page {ms(page)}",
            ms(floor),
            f"{floor / page:.1f} pages",
            "(reference)",
            None,
            [
                (
                    f"the lowest any server could reach against this emulator on this machine; range "
                    f"{ms_list(times['floor'])}; emulator CPU per full parallel fetch "
                    f"{emulator_cpu['floor'] / runs * 1000:.0f} ms"
                )
            ],
        ),
    ]


# =====================================================================================================
# Row 2b: summarize_invoices over 5,000 Afternoon invoices (cursor-only paging)
# =====================================================================================================

# what the client asks for: Afternoon's documented default (providers/afternoon/client.py)
AFTERNOON_PAGE = 50


async def row_2b(settings: Settings, emulator_url: str, emulator_pid: int, workdir: Path) -> list[Row]:
    from mcp_invoices.sandbox import sandbox_environment

    what = (
        f"summarize_invoices over {BULK_INVOICES:,} Afternoon invoices (one cursor chain, 50/page, "
        f"+{LATENCY_MS} ms/page), stdio"
    )
    # One unfiltered cursor chain at Afternoon's documented page size (docs/providers.md, Afternoon):
    # the pages cannot be read side by side, so the target is the chain itself plus 5 %.
    chain = BULK_INVOICES // AFTERNOON_PAGE + 2
    target = f"≤ {chain * 1.05:.0f} pages (one chain: ~{chain})"
    problem = _afternoon_provider_problem()
    if problem is not None:
        return [not_measured("2b", what, target, "n/a (provider not ready)", [problem])]
    env = {
        key: value
        for key, value in sandbox_environment(emulator_url, "alice").items()
        if key.startswith("AFTERNOON_")
    }
    list_url = f"{env['AFTERNOON_BASE_URL']}/v1/invoices"
    headers = {"Authorization": f"Bearer {env['AFTERNOON_API_KEY']}"}
    command = support.serve_command()
    stdio = StdioServerParameters(
        command=command[0], args=command[1:], env=clean_environment(env), cwd=str(REPO)
    )
    times: dict[str, list[float]] = {"page": [], "summary": []}
    server_cpu = 0.0
    emulator_cpu = 0.0
    counts: list[int] = []
    failures: list[str] = []
    async with httpx2.AsyncClient(timeout=60, limits=RAW_LIMITS) as raw:

        async def one_page() -> None:
            response = await raw.get(
                list_url,
                headers=headers,
                params={"customer_id": env["AFTERNOON_CUSTOMER_ID"], "limit": AFTERNOON_PAGE},
            )
            response.raise_for_status()

        async with Client(stdio) as client:

            async def summary() -> None:
                result = await client.call_tool("summarize_invoices", {"provider": "afternoon"})
                if result.is_error:
                    failures.append(error_text(result)[:300])
                else:
                    counts.append(int(result.structured_content["count"]))

            subjects: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
                ("page", one_page),
                ("summary", summary),
            ]
            for _, call in subjects:  # warm-up (and the emulator encodes every page once)
                await call()
            if failures:
                return [not_measured("2b", what, target, "n/a (provider not ready)", failures[:1])]
            server_pid = support.stdio_server_pid()
            for index in range(settings.row2_runs):
                for name, call in rotated(subjects, index):
                    if name == "summary":
                        await anyio.sleep(SUMMARY_PAUSE)
                        server_before = support.cpu_seconds(server_pid) if server_pid else 0.0
                        emulator_before = support.cpu_seconds(emulator_pid)
                    started = time.perf_counter()
                    await call()
                    times[name].append(time.perf_counter() - started)
                    if name == "summary":
                        emulator_cpu += support.cpu_seconds(emulator_pid) - emulator_before
                        if server_pid:
                            server_cpu += support.cpu_seconds(server_pid) - server_before
    page, subject = median(times["page"]), median(times["summary"])
    runs = settings.row2_runs
    invoices = max(counts) if counts else BULK_INVOICES
    ratio = subject / page
    notes = [
        (
            f"median of {len(times['summary'])} summaries (range {ms_list(times['summary'])}), interleaved with "
            f"one raw page of {AFTERNOON_PAGE} (range {ms_list(times['page'])}); counts seen: {sorted(set(counts))}; "
            f"one cursor chain read page after page is ~{invoices // AFTERNOON_PAGE + 1} pages"
        ),
        (
            f"CPU per summary: MCP server {server_cpu / runs * 1000:.0f} ms "
            f"({server_cpu / runs / invoices * 1e6:.0f} µs per invoice), emulator {emulator_cpu / runs * 1000:.0f} ms"
        ),
    ]
    if failures:
        notes.append(f"errors: {failures[:2]}")
    return [
        Row(
            "2b",
            what,
            f"one page (raw httpx2) {ms(page)}",
            ms(subject),
            f"{ratio:.1f} pages",
            target,
            ratio <= chain * 1.05 and not failures,
            notes,
        )
    ]


# =====================================================================================================
# Row 3: calls/s of get_invoice vs echo, 50 concurrent HTTP clients
# =====================================================================================================


async def row_3(
    settings: Settings,
    workdir: Path,
    *,
    server_argv: list[str] | None = None,
    server_env: dict[str, str] | None = None,
) -> list[Row]:
    """``server_argv``/``server_env`` swap in another server build (experiments); default: echo_server.py."""
    from mcp_invoices.auth.tokens import TokenStore

    what = f"get_invoice calls/s, {CONCURRENT_CLIENTS} concurrent HTTP clients (local ord_1001)"
    target = "≥ 0.85 of echo"
    db = workdir / "row3.sqlite3"
    store = TokenStore(db)
    # One token per client session, all bound to local/cus_alice (who owns ord_1001).
    tokens = [
        store.issue("local", "cus_alice", ttl=TOKEN_TTL, label=f"bench-{n}").token.get_secret_value()
        for n in range(CONCURRENT_CLIENTS)
    ]
    rates: dict[str, list[float]] = {"echo": [], "get_invoice": []}
    server_cpu: dict[str, list[float]] = {"echo": [], "get_invoice": []}
    driver_cpu: dict[str, list[float]] = {"echo": [], "get_invoice": []}
    errors: list[str] = []
    calls = {"echo": {"text": "ping"}, "get_invoice": {"invoice_id": "ord_1001"}}
    with support.http_server_process(
        server_argv or [sys.executable, str(BENCH / "echo_server.py")],
        {"MCP_INVOICES_DB": str(db), **(server_env or {})},
    ) as (url, pid):
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(support.bearer_client(url, token)) for token in tokens]
            names = {tool.name for tool in (await clients[0].list_tools()).tools}
            if "echo" not in names:
                return [
                    not_measured(
                        "3",
                        what,
                        target,
                        "failed: the echo hook did not take effect",
                        ["tests/bench/echo_server.py wraps mcp_invoices.server.main.build_server"],
                    )
                ]

            async def phase(tool: str, per_client: int) -> tuple[float, float, float]:
                async def worker(client: Client) -> None:
                    for _ in range(per_client):
                        result = await client.call_tool(tool, calls[tool])
                        if result.is_error:
                            errors.append(f"{tool}: {error_text(result)[:200]}")

                cpu_before, own_before = support.cpu_seconds(pid), time.process_time()
                started = time.perf_counter()
                async with anyio.create_task_group() as group:
                    for client in clients:
                        group.start_soon(worker, client)
                elapsed = time.perf_counter() - started
                total = per_client * len(clients)
                return (
                    total / elapsed,
                    (support.cpu_seconds(pid) - cpu_before) / total,
                    (time.process_time() - own_before) / elapsed,
                )

            for tool in calls:  # warm-up: every session calls both tools
                await phase(tool, 1)
            for index in range(settings.row3_rounds):
                for tool in rotated(list(calls), index):
                    rate, cpu_per_call, driver_share = await phase(tool, settings.row3_calls_per_client)
                    rates[tool].append(rate)
                    server_cpu[tool].append(cpu_per_call)
                    driver_cpu[tool].append(driver_share)

    echo, subject = median(rates["echo"]), median(rates["get_invoice"])
    ratio = subject / echo
    per_phase = settings.row3_calls_per_client * CONCURRENT_CLIENTS
    echo_cpu, subject_cpu = median(server_cpu["echo"]), median(server_cpu["get_invoice"])
    client_cpu = {
        tool: median([share / rate for share, rate in zip(driver_cpu[tool], rates[tool], strict=False)])
        for tool in calls
    }
    notes = [
        (
            f"{CONCURRENT_CLIENTS} SDK client sessions (2026-07-28 protocol), each with its own bearer token, all for "
            f"local/cus_alice; {settings.row3_rounds} rounds x {per_phase} calls per tool, order alternating; "
            f"calls/s ranges: get_invoice {spread(rates['get_invoice'])}, echo {spread(rates['echo'])}"
        ),
        (
            f"CPU per call: server get_invoice {subject_cpu * 1000:.2f} ms vs echo {echo_cpu * 1000:.2f} ms; clients "
            f"(all {CONCURRENT_CLIENTS} in the driver process) get_invoice {client_cpu['get_invoice'] * 1000:.2f} ms vs "
            f"echo {client_cpu['echo'] * 1000:.2f} ms. Clients and server share the machine's cores, so calls/s follow "
            "their summed CPU; row 3s isolates the server"
        ),
    ]
    if errors:
        notes.append(f"{len(errors)} errors, e.g. {errors[:2]}")
    return [
        Row(
            "3",
            what,
            f"echo {echo:.0f} calls/s",
            f"{subject:.0f} calls/s",
            f"{ratio:.2f}",
            target,
            ratio >= 0.85 and not errors,
            notes,
        ),
        Row(
            "3s",
            "server CPU per call in row 3 (from /proc): get_invoice vs echo; ratio = echo / get_invoice",
            f"echo {echo_cpu * 1000:.2f} ms",
            f"{subject_cpu * 1000:.2f} ms",
            f"{echo_cpu / subject_cpu:.2f}",
            "(reference)",
            None,
            ["the calls/s ratio the server alone would allow if it were the only thing using the CPU"],
        ),
    ]


# =====================================================================================================
# Row 4: cold start until the first tools/list answer
# =====================================================================================================

_INITIALIZE = (
    b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
    b'"capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}\n'
)
_LIST_TOOLS = b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'


def launch_until_tools_listed(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Seconds from spawning ``argv`` to the parsed ``tools/list`` answer (raw JSON-RPC over the pipes)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=REPO
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        reader = support.LineReader(process.stdout)
        deadline = time.monotonic() + 60
        process.stdin.write(_INITIALIZE)
        process.stdin.flush()
        while json.loads(reader.line(deadline)).get("id") != 1:
            pass
        process.stdin.write(_LIST_TOOLS)
        process.stdin.flush()
        while (answer := json.loads(reader.line(deadline))).get("id") != 2:
            pass
        elapsed = time.perf_counter() - started
        tools = len(answer["result"]["tools"])
        process.stdin.close()
        process.wait(timeout=30)
        return elapsed, tools
    finally:
        support.stop(process)
        if process.stdout:
            process.stdout.close()


async def row_4(settings: Settings, workdir: Path) -> list[Row]:
    what = "cold start of `mcp-invoices serve` (stdio) to the first tools/list answer"
    db = workdir / "row4.sqlite3"
    subject_argv = support.serve_command()
    subject_env = clean_environment({"MCP_INVOICES_DB": str(db), "MCP_INVOICES_CUSTOMER": "cus_alice"})
    bare_argv = [sys.executable, str(BENCH / "bare_server.py")]
    bare_env = clean_environment({})
    interpreter_argv = [sys.executable, "-c", "pass"]
    times: dict[str, list[float]] = {"subject": [], "bare": [], "interpreter": []}
    tool_counts: dict[str, int] = {}

    def interpreter_only() -> tuple[float, int]:
        started = time.perf_counter()
        subprocess.run(interpreter_argv, env=bare_env, check=True, timeout=60)
        return time.perf_counter() - started, 0

    subjects = [
        ("subject", lambda: launch_until_tools_listed(subject_argv, subject_env)),
        ("bare", lambda: launch_until_tools_listed(bare_argv, bare_env)),
        ("interpreter", interpreter_only),
    ]
    for name, launch in subjects:  # warm-up: .pyc files, the ledger's first-run seeding
        _, tool_counts[name] = await anyio.to_thread.run_sync(launch)
    for index in range(settings.row4_launches):
        for name, launch in rotated(subjects, index):
            elapsed, _ = await anyio.to_thread.run_sync(launch)
            times[name].append(elapsed)
    subject, bare = median(times["subject"]), median(times["bare"])
    ratio = subject / bare
    return [
        Row(
            "4",
            what,
            f"bare MCPServer, 1 tool {ms(bare)}",
            ms(subject),
            f"{ratio:.2f}",
            "≤ 1.3",
            ratio <= 1.3,
            [
                (
                    f"median of {len(times['subject'])} launches each, interleaved; ranges: mcp-invoices "
                    f"{ms_list(times['subject'])}, bare {ms_list(times['bare'])}; tools listed: {tool_counts['subject']} vs "
                    f"{tool_counts['bare']}"
                ),
                (
                    f"the interpreter alone (`python -c pass`) takes {ms(median(times['interpreter']))}; "
                    f"mcp-invoices' own start-up cost above the bare server: {(subject - bare) * 1000:+.0f} ms"
                ),
            ],
        )
    ]


# =====================================================================================================
# Row 5: rendering the PDF of a 200-line invoice
# =====================================================================================================


def two_hundred_line_invoice():  # type: ignore[no-untyped-def]
    from mcp_invoices.domain.models import (
        Address,
        Billing,
        Customer,
        Documents,
        Invoice,
        InvoiceStatus,
        LineItem,
    )

    items = []
    for n in range(200):
        quantity, unit = Decimal(1 + n % 4), Decimal(f"{12 + n % 50}.{n % 100:02d}")
        tax = (quantity * unit * Decimal("0.2")).quantize(Decimal("0.01"))
        items.append(
            LineItem(
                description=f"SKU-{n:03d} Consulting and support hours, billing platform migration, phase {n % 7 + 1}",
                quantity=quantity,
                unit_amount=unit,
                discount=Decimal("0.00"),
                tax=tax,
                total=quantity * unit + tax,
                period_start=date(2026, 3, 1),
                period_end=date(2026, 3, 31),
            )
        )
    subtotal = sum((item.quantity * item.unit_amount for item in items), Decimal(0))
    tax = sum((item.tax for item in items), Decimal(0))
    return Invoice(
        provider="local",
        id="ord_bench",
        number="INV-2026-0200",
        status=InvoiceStatus.OPEN,
        currency="EUR",
        issued_at=date(2026, 4, 1),
        due_at=date(2026, 4, 30),
        customer=Customer(id="cus_bench", name="Bench Customer GmbH", email="billing@bench.example"),
        billing=Billing(
            name="Bench Customer GmbH",
            address=Address(line1="Hauptstraße 1", postal_code="10115", city="Berlin", country="DE"),
        ),
        line_items=items,
        subtotal=subtotal,
        discount=Decimal("0.00"),
        tax=tax,
        shipping=Decimal("0.00"),
        total=subtotal + tax,
        amount_paid=Decimal("0.00"),
        amount_due=subtotal + tax,
        documents=Documents(json_uri="invoice://local/ord_bench", pdf_uri="invoice://local/ord_bench/pdf"),
    )


async def row_5(settings: Settings, workdir: Path) -> list[Row]:
    from mcp_invoices.documents.pdf import Seller, render_invoice_pdf_sync

    invoice = two_hundred_line_invoice()
    seller = Seller(
        name="Acme Widgets Ltd",
        address_lines=("1 Market Street", "London EC1A 1AA"),
        email="billing@acme.example",
        tax_id="GB123456789",
    )
    started = time.perf_counter()
    document = render_invoice_pdf_sync(invoice, seller)
    first = time.perf_counter() - started
    times = []
    for _ in range(settings.row5_renders):
        started = time.perf_counter()
        render_invoice_pdf_sync(invoice, seller)
        times.append(time.perf_counter() - started)
    rendered = median(times)
    return [
        Row(
            "5",
            "render the PDF of a 200-line invoice (render_invoice_pdf_sync, in-process)",
            "-",
            ms(rendered),
            "-",
            "≤ 100 ms",
            rendered <= 0.1,
            [
                (
                    f"median of {len(times)} renders (range {ms_list(times)}); the first render in this process took "
                    f"{ms(first)}; {len(document):,} bytes, {document.count(b'/Type /Page') - document.count(b'/Type /Pages')}"
                    " pages; Latin-1 text, so the core Helvetica font (nothing embedded)"
                )
            ],
        )
    ]


# =====================================================================================================
# Row 6: resident memory after 1,000 distinct principals
# =====================================================================================================


async def row_6(settings: Settings, workdir: Path, *, mode: str = "auto") -> list[Row]:
    from mcp_invoices.auth.tokens import TokenStore

    era = "2026-07-28 stateless" if mode == "auto" else "2025-11-25 handshake (legacy)"
    number = "6" if mode == "auto" else "6b"
    count = settings.row6_principals
    what = f"server RSS after {count:,} distinct principals made one call each over HTTP ({era} clients)"
    db = workdir / f"row6-{mode}.sqlite3"
    store = TokenStore(db)
    started = time.perf_counter()
    tokens = [
        store.issue("local", f"cus_bench_{n:04d}", ttl=TOKEN_TTL).token.get_secret_value()
        for n in range(count)
    ]
    issued = time.perf_counter() - started
    errors: list[str] = []
    readings: list[tuple[int, float]] = []
    with support.http_server_process(
        [*support.serve_command(), "--transport", "http"], {"MCP_INVOICES_DB": str(db)}
    ) as (url, pid):
        await anyio.sleep(1.0)  # let start-up settle
        idle_samples = []
        for _ in range(3):
            idle_samples.append(support.rss_mb(pid))
            await anyio.sleep(0.2)
        idle = median(idle_samples)
        limiter = anyio.CapacityLimiter(20)
        done = 0

        async def principal(token: str) -> None:
            nonlocal done
            async with limiter:
                try:
                    async with support.bearer_client(url, token, mode=mode) as client:
                        result = await client.call_tool("list_invoices", {})
                        if result.is_error:
                            errors.append(error_text(result)[:200])
                except Exception as error:
                    errors.append(f"{type(error).__name__}: {error}"[:200])
                done += 1

        calls_started = time.perf_counter()
        for batch in range(0, count, 250):
            async with anyio.create_task_group() as group:
                for token in tokens[batch : batch + 250]:
                    group.start_soon(principal, token)
            readings.append((done, support.rss_mb(pid)))
        calls_took = time.perf_counter() - calls_started
        await anyio.sleep(1.0)
        after = support.rss_mb(pid)
        peak = _vm_hwm_mb(pid)
    delta = after - idle
    per_principal_kb = (readings[-1][1] - readings[0][1]) * 1024 / max(1, readings[-1][0] - readings[0][0])
    notes = [
        "RSS (VmRSS) as principals were served: "
        + ", ".join(f"{n}: {mb:.1f} MB" for n, mb in readings)
        + f"; peak (VmHWM) {peak:.1f} MB; growth after the first 250 ≈ {per_principal_kb:.1f} KB per principal",
        (
            f"{count} tokens for {count} distinct local customers issued with TokenStore in {issued:.1f} s; each "
            f"principal opened its own SDK client session and called list_invoices once, 20 at a time "
            f"({calls_took:.1f} s in all); one server, one reading (memory is not timing noise)"
        ),
    ]
    if errors:
        notes.append(f"{len(errors)} errors, e.g. {errors[:2]}")
    return [
        Row(
            number,
            what,
            f"idle after start-up {idle:.1f} MB",
            f"{after:.1f} MB",
            f"{delta:+.1f} MB",
            "≤ +150 MB",
            delta <= 150 and not errors,
            notes,
        )
    ]


def _vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# =====================================================================================================
# Row 7: the MCP Inspector CLI's load test over stdio, get_invoice vs echo
# =====================================================================================================

INSPECTOR = BENCH / "inspector"
"""The MCP Inspector, pinned in package.json / package-lock.json (``npm install --no-save`` there installs it from the lock)."""
INSPECTOR_CONCURRENCY = 10


def _inspector_load(
    tool: str, arguments: dict[str, str], seconds: float, env: dict[str, str]
) -> dict[str, Any]:
    """One ``--load`` run of the Inspector CLI against a fresh stdio server; its JSON result."""
    launcher = INSPECTOR / "node_modules" / ".bin" / "mcp-inspector"
    argv = [
        str(launcher),
        "--cli",
        "--format",
        "json",
        "--method",
        "tools/call",
        "--tool-name",
        tool,
        "--tool-args-json",
        json.dumps(arguments),
        "--load",
        "--load-concurrency",
        str(INSPECTOR_CONCURRENCY),
        "--load-duration",
        f"{seconds:g}",
        sys.executable,
        str(BENCH / "echo_server.py"),
        "--stdio",
    ]
    started = time.perf_counter()
    completed = subprocess.run(
        argv,
        env=env,
        cwd=INSPECTOR,
        capture_output=True,
        timeout=seconds + 120,
        check=False,
    )
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    for line in reversed(completed.stdout.decode(errors="replace").splitlines()):
        if line.startswith('{"result"'):
            result = dict(json.loads(line)["result"])
            result["childrenCpuSeconds"] = usage.ru_utime + usage.ru_stime
            result["wallSeconds"] = wall
            return result
    raise RuntimeError(
        f"the Inspector printed no result (exit {completed.returncode}): "
        f"{completed.stderr.decode(errors='replace')[-400:]}"
    )


async def row_7(settings: Settings, workdir: Path) -> list[Row]:
    what = (
        f"MCP Inspector CLI --load, {INSPECTOR_CONCURRENCY} concurrent, stdio: get_invoice (local ord_1001) "
        "calls/s vs echo"
    )
    target = "≥ 0.80 of echo"
    if not (INSPECTOR / "node_modules" / ".bin" / "mcp-inspector").exists():
        return [
            not_measured(
                "7",
                what,
                target,
                "n/a (Inspector not installed)",
                [f"run `npm install --no-save` in {INSPECTOR}"],
            )
        ]
    env = clean_environment(
        {"MCP_INVOICES_DB": str(workdir / "row7.sqlite3"), "MCP_INVOICES_CUSTOMER": "cus_alice"}
    )
    calls = {"echo": {"text": "ping"}, "get_invoice": {"invoice_id": "ord_1001"}}
    results: dict[str, list[dict[str, Any]]] = {"echo": [], "get_invoice": []}
    seeding = await anyio.to_thread.run_sync(
        lambda: _inspector_load("get_invoice", calls["get_invoice"], 1, env)
    )
    children_before = float(seeding["childrenCpuSeconds"])
    for index in range(settings.row7_rounds):
        for tool in rotated(list(calls), index):
            result = await anyio.to_thread.run_sync(
                lambda tool=tool: _inspector_load(tool, calls[tool], settings.row7_seconds, env)
            )
            # Children's CPU is cumulative over every child this process waited for.
            result["cpuSeconds"] = result["childrenCpuSeconds"] - children_before
            children_before = result["childrenCpuSeconds"]
            results[tool].append(result)
    rates = {tool: [float(run["throughput"]) for run in runs] for tool, runs in results.items()}
    errors = sum(int(run["errors"]) + int(run["toolErrors"]) for runs in results.values() for run in runs)
    echo, subject = median(rates["echo"]), median(rates["get_invoice"])
    ratio = subject / echo
    p50 = {tool: median([float(run["latencyMs"]["p50"]) for run in runs]) for tool, runs in results.items()}
    version = json.loads((INSPECTOR / "package.json").read_text())["dependencies"][
        "@modelcontextprotocol/inspector"
    ]
    notes = [
        (
            f"@modelcontextprotocol/inspector {version}; {settings.row7_rounds} rounds of {settings.row7_seconds:g} s "
            f"per tool, order alternating, each against a fresh `serve` (stdio) with an echo tool added; calls/s "
            f"ranges: get_invoice {spread(rates['get_invoice'])}, echo {spread(rates['echo'])}; p50 latency "
            f"get_invoice {p50['get_invoice']:.1f} ms, echo {p50['echo']:.1f} ms"
        ),
        "the Inspector is a TypeScript SDK 1.x client, as Claude Desktop, VS Code and Cursor are",
        "CPU of the Inspector and the server together per call (each whole run, both start-ups included): "
        + ", ".join(
            f"{tool} {median([r['cpuSeconds'] / r['requests'] for r in runs]) * 1000:.2f} ms"
            for tool, runs in results.items()
        ),
    ]
    if errors:
        notes.append(f"{errors} errors reported by the Inspector")
    return [
        Row(
            "7",
            what,
            f"echo {echo:.0f} calls/s",
            f"{subject:.0f} calls/s",
            f"{ratio:.2f}",
            target,
            ratio >= 0.8 and not errors,
            notes,
        )
    ]


# =====================================================================================================
# Row 8: what the JSON text (issue 9: text that carries the data) adds to each result
# =====================================================================================================


def _wire_cost(build: Callable[[], Any], repeats: int) -> tuple[float, int]:
    """Seconds to build a result and encode it as the SDK does for the wire (best of ``repeats``
    batches: the least disturbed by neighbours), and its size in bytes."""
    import timeit

    def once() -> bytes:
        return build().model_dump_json(by_alias=True, exclude_none=True).encode()

    size = len(once())
    batch = 20
    best = min(timeit.repeat(once, number=batch, repeat=repeats)) / batch
    return best, size


async def row_8(settings: Settings, workdir: Path) -> list[Row]:
    from mcp_types import CallToolResult, TextContent

    from mcp_invoices.domain.models import InvoiceStatus
    from mcp_invoices.domain.summary import summarize_invoices
    from mcp_invoices.server.results import invoice_links, structured_result
    from mcp_invoices.server.tools.get_invoice import invoice_text

    big = two_hundred_line_invoice()
    small = big.model_copy(update={"line_items": big.line_items[:3], "number": "INV-2026-0003"})
    bulk = [
        small.model_copy(update={"id": f"ord_{n}", "status": InvoiceStatus(status)})
        for n, status in enumerate(["open", "paid", "void", "partially_paid"] * 250)
    ]
    summary = summarize_invoices(bulk, date(2026, 5, 1))
    subjects = [
        ("get_invoice, 3 lines", small, invoice_text(small), invoice_links(small)),
        ("get_invoice, 200 lines", big, invoice_text(big), invoice_links(big)),
        ("summarize_invoices", summary, summary.summary, []),
    ]
    repeats = 5 if settings.name == "quick" else 15
    notes = []
    rows = []
    for label, model, line, links in subjects:

        def with_json(model: Any = model, line: str = line, links: list[Any] = links) -> CallToolResult:
            return structured_result(model, line, links)

        def line_only(model: Any = model, line: str = line, links: list[Any] = links) -> CallToolResult:
            return CallToolResult(
                structured_content=model.model_dump(mode="json"),
                content=[TextContent(type="text", text=line), *links],
            )

        full_s, full_bytes = _wire_cost(with_json, repeats)
        bare_s, bare_bytes = _wire_cost(line_only, repeats)
        rows.append((label, full_s, full_bytes, bare_s, bare_bytes))
        notes.append(
            f"{label}: {full_bytes:,} bytes on the wire with the JSON text, {bare_bytes:,} with the summary line "
            f"only (+{full_bytes - bare_bytes:,} bytes, x{full_bytes / bare_bytes:.2f}); building and encoding "
            f"the result {full_s * 1e6:.0f} µs vs {bare_s * 1e6:.0f} µs ({(full_s - bare_s) * 1e6:+.0f} µs)"
        )
    label, full_s, full_bytes, bare_s, bare_bytes = rows[0]
    notes.append(
        "in-process, best of several batches; the wire size is the CallToolResult as the SDK encodes it "
        "(structuredContent plus content); the JSON text is the structured result again, escaped inside a string"
    )
    return [
        Row(
            "8",
            "what the JSON text adds to a result (issue 9): get_invoice of a 3-line invoice, per call",
            f"summary line only: {bare_bytes:,} B, {bare_s * 1e6:.0f} µs",
            f"{full_bytes:,} B, {full_s * 1e6:.0f} µs",
            f"+{full_bytes - bare_bytes:,} B, {(full_s - bare_s) * 1e6:+.0f} µs",
            "(reference)",
            None,
            notes,
        )
    ]


# =====================================================================================================
# The run
# =====================================================================================================


def table(rows: list[Row]) -> str:
    lines = ["| # | what | baseline | measured | ratio | target | met? |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        met = "n/a" if row.met is None else ("met" if row.met else "**MISSED**")
        lines.append(
            f"| {row.number} | {row.what} | {row.baseline} | {row.measured} | {row.ratio} | "
            f"{row.target} | {met} |"
        )
    return "\n".join(lines)


async def run(settings: Settings, only: set[int]) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="mcp-invoices-bench-") as temporary:
        workdir = Path(temporary)

        async def attempt(number: int, what: str, measure: Callable[[], Awaitable[list[Row]]]) -> None:
            if number not in only:
                return
            log(f"row {number}: {what} ...")
            started = time.perf_counter()
            try:
                rows.extend(await measure())
            except Exception as error:
                traceback.print_exc(file=sys.stderr)
                rows.append(
                    not_measured(
                        str(number), what, "-", f"failed: {type(error).__name__}", [str(error)[:300]]
                    )
                )
            log(f"row {number} took {time.perf_counter() - started:.1f} s")

        if only & {1, 2}:
            with support.emulator_process(
                latency_ms=LATENCY_MS, payabli_extra=BULK_INVOICES, afternoon_extra=BULK_INVOICES
            ) as emulator:
                await attempt(
                    1, "get_invoice vs a raw provider request", lambda: row_1(settings, *emulator, workdir)
                )

                async def summaries() -> list[Row]:
                    return await row_2(settings, *emulator, workdir) + await row_2b(
                        settings, *emulator, workdir
                    )

                await attempt(2, "summarize_invoices over 5,000 invoices (Payabli, Afternoon)", summaries)
        await attempt(3, "calls/s with 50 concurrent clients", lambda: row_3(settings, workdir))
        await attempt(4, "cold start", lambda: row_4(settings, workdir))
        await attempt(5, "PDF of 200 lines", lambda: row_5(settings, workdir))

        async def both_eras() -> list[Row]:
            measured = await row_6(settings, workdir, mode="auto")
            if settings.row6_legacy:
                measured += await row_6(settings, workdir, mode="legacy")
            return measured

        await attempt(6, "memory after 1,000 principals", both_eras)
        await attempt(7, "the MCP Inspector's load test", lambda: row_7(settings, workdir))
        await attempt(8, "what the JSON text adds per result", lambda: row_8(settings, workdir))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions: a smoke run under ~2 minutes"
    )
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8", help="comma-separated row numbers, e.g. 1,3")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    try:
        only = {int(part) for part in args.only.split(",") if part.strip()}
    except ValueError:
        parser.error("--only takes row numbers such as 1,3")
    if not only <= {1, 2, 3, 4, 5, 6, 7, 8}:
        parser.error("rows are numbered 1 to 8")
    settings = QUICK if args.quick else FULL

    started = time.perf_counter()
    machine = support.machine_description()
    rows = anyio.run(run, settings, only)
    took = time.perf_counter() - started

    print(
        f"## mcp-invoices benchmarks ({settings.name} run, {time.strftime('%Y-%m-%d %H:%M')}, {took:.0f} s)\n"
    )
    print("\n".join(machine))
    print()
    print(table(rows))
    print("\nNotes:")
    for row in rows:
        for note in row.notes:
            print(f"- {row.number}: {note}")
    missed = [row.number for row in rows if row.met is False]
    unmeasured = [row.number for row in rows if row.met is None and row.target != "(reference)"]
    print()
    print(f"MISSED: {', '.join(missed)}" if missed else "All measured targets met.")
    if unmeasured:
        print(f"Not measured: {', '.join(unmeasured)}")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "settings": asdict(settings),
                    "machine": machine,
                    "seconds": took,
                    "rows": [asdict(row) for row in rows],
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
