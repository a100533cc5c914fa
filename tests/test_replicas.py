"""Several replicas behave as one server: two `serve --transport http` processes on two ports, one
database and one Redis, the provider emulators served by this test process over real HTTP.

The five points of the scale-out issue, each shown against the running processes:
1. a token issued once works on both replicas, and once revoked fails on both;
2. 50 concurrent ``generate_invoice`` calls spread over both give 50 consecutive numbers, and
   concurrent generation of the same Polar orders through both asks Polar once per order;
3. a provider's rate-limit budget is one for both replicas, not one each;
4. a replica killed (SIGKILL) mid-run loses nothing it acknowledged, and numbers stay gapless;
plus: one client spread over both replicas with no affinity (both protocol eras, cursors across
replicas), /healthz, and what a Redis outage does (clear errors, no generation risked).

The database is a SQLite file, or a fresh PostgreSQL database when ``MCP_INVOICES_TEST_DATABASE_URL``
is set and the storage layer supports it. Redis is ``MCP_INVOICES_TEST_REDIS_URL`` (skipped without).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from mcp_invoices.auth.tokens import TokenStore
from mcp_invoices.domain.models import Address, Billing
from mcp_invoices.providers.emulation import serving_in_thread
from mcp_invoices.providers.local.ledger import Ledger, NewOrder, NewOrderLine
from mcp_invoices.providers.payabli.emulator import PAYABLI_CUSTOMER_IDS, PAYABLI_INVOICE_IDS
from mcp_invoices.providers.polar.emulator import PolarItem, PolarOrder
from mcp_invoices.sandbox import SandboxStates, create_sandbox_app, sandbox_environment
from tests.conftest import REPO
from tests.redis_support import closed_port_url, require_redis, unique_prefix
from tests.results import error_of
from tests.test_transports import _free_port, bearer_client, issue_token

# Run again on PostgreSQL by CI's database pass (`pytest -m database`, MCP_INVOICES_TEST_DATABASE_URL set).
pytestmark = pytest.mark.database

SECRET_KEY = "replica-test-secret-key-0123456789abcdef"
STATE_KEY = "replica-test-request-state-key-0123456789abcdef"
LOCAL_CUSTOMER = "cus_replica"
ORDERS = 50
POLAR_ORDERS = [f"a11ce0ff-0002-4000-8000-{n:012d}" for n in range(5)]
PAYABLI_LIMIT_PER_MINUTE = 12
"""Burst 2 (ten seconds' worth), then one request every 5 s: a window of 3 s admits 2 requests per budget."""


# -- the deployment ----------------------------------------------------------------------------------


@dataclass
class Replica:
    port: int
    process: subprocess.Popen[bytes]
    stderr_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/healthz"


@dataclass
class Deployment:
    replicas: list[Replica]
    env: dict[str, str]
    """The environment every replica has (and the CLI needs: same database)."""
    location: str | Path
    states: SandboxStates
    tokens: dict[str, str] = field(default_factory=dict)


def _database(workdir: Path) -> tuple[str | Path, dict[str, str], contextlib.AbstractContextManager[None]]:
    """``(location, env, cleanup)``: a SQLite file, or a fresh PostgreSQL database when one is configured."""
    url = os.environ.get("MCP_INVOICES_TEST_DATABASE_URL", "").strip()
    if url:
        try:
            from tests.databases import PostgresDatabases  # the storage layer's test helper
        except ImportError:
            url = ""
    if not url:
        path = workdir / "ledger.sqlite3"
        return path, {"MCP_INVOICES_DB": str(path)}, contextlib.nullcontext()
    databases = PostgresDatabases(url)
    database_url = databases.create()

    @contextlib.contextmanager
    def cleanup() -> Iterator[None]:
        try:
            yield
        finally:
            databases.drop(database_url)
            databases.close()

    return database_url, {"MCP_INVOICES_DATABASE_URL": database_url}, cleanup()


def _add_local_orders(location: str | Path, customer: str, count: int, prefix: str) -> list[str]:
    """Paid orders with complete billing details, through the Ledger API, before any replica starts."""
    ledger = Ledger(location)  # type: ignore[arg-type]
    try:
        ledger.add_customer(customer, "Replica Test Ltd", "billing@replica.example", date(2026, 1, 1))
        ids = []
        for n in range(count):
            order_id = f"{prefix}{n:03d}"
            ledger.add_order(
                NewOrder(
                    id=order_id,
                    customer_id=customer,
                    created_at=date(2026, 1, 1) + timedelta(days=n % 28),
                    currency="EUR",
                    status="paid",
                    lines=[NewOrderLine(f"Replica item {n}", Decimal(1), Decimal("10.00") + n)],
                    paid_at=datetime(2026, 1, 2, tzinfo=UTC),
                    billing=Billing(
                        name="Replica Test Ltd", address=Address(line1="1 Main St", country="DE")
                    ),
                )
            )
            ids.append(order_id)
        return ids
    finally:
        ledger.close()


def _add_polar_orders(states: SandboxStates) -> None:
    address = {
        "line1": "1 Sandbox Street",
        "line2": None,
        "postal_code": "10115",
        "city": "Berlin",
        "state": None,
        "country": "DE",
    }
    for n, order_id in enumerate(POLAR_ORDERS):
        states.polar.orders[order_id] = PolarOrder(
            order_id,
            "alice",
            datetime(2026, 6, 1 + n, tzinfo=UTC),
            "paid",
            "usd",
            [PolarItem(f"Replica seat {n}", 1000 + n, 0)],
            "Alice Anders",
            address,
            f"SBX-REPL-{n:04d}",
        )


def _wait_healthy(replica: Replica, deadline: float) -> None:
    while True:  # bounded by the deadline
        if replica.process.poll() is not None:
            raise AssertionError(f"replica exited: {replica.stderr_path.read_text()[-2000:]}")
        with contextlib.suppress(httpx2.TransportError):
            if httpx2.get(replica.health_url, timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"replica on {replica.port} not healthy: {replica.stderr_path.read_text()[-2000:]}"
            )
        time.sleep(0.05)


@contextlib.contextmanager
def running_replicas(env: dict[str, str], workdir: Path, count: int = 2) -> Iterator[list[Replica]]:
    replicas: list[Replica] = []
    try:
        for n in range(count):
            port = _free_port()
            stderr_path = workdir / f"replica-{n}.stderr"
            with stderr_path.open("wb") as stderr:
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "mcp_invoices",
                        "serve",
                        "--transport",
                        "http",
                        "--port",
                        str(port),
                    ],
                    env=os.environ | env,
                    cwd=REPO,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                )
            replicas.append(Replica(port, process, stderr_path))
        deadline = time.monotonic() + 60
        for replica in replicas:
            _wait_healthy(replica, deadline)
        yield replicas
    finally:
        for replica in replicas:
            if replica.process.poll() is None:
                replica.process.terminate()
        for replica in replicas:
            try:
                replica.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait()


def _server_env(sandbox_url: str, database_env: dict[str, str], redis_url: str) -> dict[str, str]:
    provider_env = {
        name: value
        for name, value in sandbox_environment(sandbox_url, "alice").items()
        if name.startswith(("POLAR_", "PAYABLI_"))
        and name not in ("POLAR_CUSTOMER_SESSION", "PAYABLI_CUSTOMER_ID")
    }
    return (
        provider_env
        | database_env
        | {
            "MCP_INVOICES_LOCAL": "1",
            "MCP_INVOICES_REDIS_URL": redis_url,
            "MCP_INVOICES_REDIS_PREFIX": unique_prefix(),
            "MCP_INVOICES_SECRET_KEY": SECRET_KEY,
            "MCP_INVOICES_STATE_KEYS": STATE_KEY,
            # The load balancer's public URL, the same on every replica: the audience of every token.
            "MCP_INVOICES_RESOURCE_URL": "http://127.0.0.1:8000/mcp",
            "MCP_INVOICES_LOG_LEVEL": "WARNING",
            "PAYABLI_RATE_LIMIT_PER_MINUTE": str(PAYABLI_LIMIT_PER_MINUTE),
        }
    )


def _issue(location: str | Path, provider: str, customer: str) -> str:
    store = TokenStore(location, secret_key=SecretStr(SECRET_KEY))  # type: ignore[arg-type]
    try:
        return store.issue(provider, customer, ttl=timedelta(hours=1)).token.get_secret_value()
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            close()


@contextlib.contextmanager
def forgetting_keys(redis_url: str, prefix: str) -> Iterator[None]:
    """Delete a test deployment's keys afterwards (they would expire anyway)."""
    try:
        yield
    finally:
        import redis

        client = redis.Redis.from_url(redis_url)
        try:
            keys = list(client.scan_iter(match=f"{prefix}:*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    redis_url = require_redis()
    workdir = tmp_path_factory.mktemp("replicas")
    states = SandboxStates()
    states.polar.generation_delay = 0.3  # long enough for calls through both replicas to overlap
    _add_polar_orders(states)
    location, database_env, cleanup = _database(workdir)
    with cleanup, serving_in_thread(create_sandbox_app(states)) as sandbox_url:
        _add_local_orders(location, LOCAL_CUSTOMER, ORDERS, "ord_r")
        _add_local_orders(location, "cus_balanced", 2, "ord_b")
        _add_local_orders(location, "cus_outage", 1, "ord_o")
        env = _server_env(sandbox_url, database_env, redis_url)
        with (
            forgetting_keys(redis_url, env["MCP_INVOICES_REDIS_PREFIX"]),
            running_replicas(env, workdir) as replicas,
        ):
            deployment = Deployment(replicas, env, location, states)
            deployment.tokens = {
                "local": _issue(location, "local", LOCAL_CUSTOMER),
                "balanced": _issue(location, "local", "cus_balanced"),
                "outage": _issue(location, "local", "cus_outage"),
                "polar": _issue(location, "polar", "alice"),
                "payabli": _issue(location, "payabli", str(PAYABLI_CUSTOMER_IDS["alice"])),
            }
            yield deployment


class RoundRobin(httpx2.AsyncBaseTransport):
    """A load balancer without affinity: each HTTP request goes to the next replica in turn."""

    def __init__(self, ports: list[int]) -> None:
        self._ports = itertools.cycle(ports)
        self._inner = httpx2.AsyncHTTPTransport()
        self.sent: dict[int, int] = dict.fromkeys(ports, 0)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = next(self._ports)
        self.sent[port] += 1
        request.url = request.url.copy_with(port=port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@contextlib.asynccontextmanager
async def balanced_client(
    deployment: Deployment, token: str, mode: str
) -> AsyncIterator[tuple[Client, RoundRobin]]:
    transport = RoundRobin([replica.port for replica in deployment.replicas])
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, transport=transport, timeout=30) as http,
        Client(streamable_http_client(deployment.replicas[0].url, http_client=http), mode=mode) as client,
    ):
        yield client, transport


def _sequence(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


# -- 1. tokens ---------------------------------------------------------------------------------------


async def test_a_token_issued_once_works_on_both_replicas_and_revoked_fails_on_both(
    deployment: Deployment,
) -> None:
    token = issue_token(deployment.env, "local", LOCAL_CUSTOMER, "--label", "replicas")  # the CLI, once

    def raw_request(replica: Replica) -> httpx2.Response:
        return httpx2.post(
            replica.url,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json, text/event-stream",
                "MCP-Protocol-Version": "2025-11-25",
            },
            timeout=10,
        )

    for replica in deployment.replicas:
        async with bearer_client(replica.url, token) as client:
            result = await client.call_tool("list_orders", {"limit": 3})
        assert not result.is_error and len(result.structured_content["orders"]) == 3
        assert raw_request(replica).status_code != 401
    with anyio.fail_after(60):  # the CLI, as an operator runs it
        await anyio.run_process(
            [sys.executable, "-m", "mcp_invoices", "token", "revoke", token],
            env=os.environ | deployment.env,
            cwd=REPO,
            check=True,
        )
    for replica in deployment.replicas:
        response = raw_request(replica)
        assert response.status_code == 401, replica.port
        assert 'resource_metadata="' in response.headers["www-authenticate"]


# -- no affinity ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_one_client_spread_over_both_replicas_is_served_as_by_one_server(
    deployment: Deployment, mode: str
) -> None:
    progress: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    order_id = "ord_b000" if mode == "auto" else "ord_b001"
    async with balanced_client(deployment, deployment.tokens["local"], mode) as (client, transport):
        first = await client.call_tool("list_orders", {"limit": 7})
        second = await client.call_tool(  # its cursor was minted by one replica, read by another
            "list_orders", {"limit": 7, "cursor": first.structured_content["next_cursor"]}
        )
        tools = await client.list_tools()
    async with balanced_client(deployment, deployment.tokens["balanced"], mode) as (client, _):
        generated = await client.call_tool(
            "generate_invoice", {"order_id": order_id}, progress_callback=on_progress
        )
        pdf = await client.read_resource(f"invoice://local/{order_id}/pdf")
    assert not first.is_error and not second.is_error, (first.content, second.content)
    ids = [row["id"] for row in first.structured_content["orders"] + second.structured_content["orders"]]
    assert len(set(ids)) == 14
    assert len(tools.tools) == 7
    assert all(count >= 2 for count in transport.sent.values()), transport.sent
    assert generated.structured_content["outcome"] == "generated" and progress  # progress reached the client
    assert pdf.contents[0].mime_type == "application/pdf"


# -- 2. generation: consecutive numbers, no double generation -----------------------------------------


async def test_fifty_concurrent_generations_over_both_replicas_get_fifty_consecutive_numbers(
    deployment: Deployment,
) -> None:
    token = deployment.tokens["local"]
    orders = [f"ord_r{n:03d}" for n in range(ORDERS)]
    results: dict[str, dict[str, Any]] = {}

    async def generate(client: Client, order_id: str) -> None:
        result = await client.call_tool("generate_invoice", {"order_id": order_id})
        assert not result.is_error, result.content
        results[order_id] = result.structured_content

    async def through(replica: Replica, share: list[str]) -> None:
        async with bearer_client(replica.url, token) as client, anyio.create_task_group() as group:
            for order_id in share:
                group.start_soon(generate, client, order_id)

    with anyio.fail_after(120):
        async with anyio.create_task_group() as group:
            group.start_soon(through, deployment.replicas[0], orders[0::2])
            group.start_soon(through, deployment.replicas[1], orders[1::2])
    numbers = sorted(_sequence(result["number"]) for result in results.values())
    assert len(results) == ORDERS and {result["outcome"] for result in results.values()} == {"generated"}
    assert numbers == list(range(numbers[0], numbers[0] + ORDERS)), numbers

    # Asked again the other way round, every replica answers with the invoice that exists.
    again: dict[str, dict[str, Any]] = {}
    for replica, share in ((deployment.replicas[1], orders[0::2]), (deployment.replicas[0], orders[1::2])):
        async with bearer_client(replica.url, token) as client:
            for order_id in share[:5]:
                again[order_id] = (
                    await client.call_tool("generate_invoice", {"order_id": order_id})
                ).structured_content
    assert all(
        result["outcome"] == "already_generated" and result["number"] == results[order_id]["number"]
        for order_id, result in again.items()
    )


async def test_concurrent_generation_of_polar_orders_through_both_replicas_asks_polar_once_each(
    deployment: Deployment,
) -> None:
    polar = deployment.states.polar
    token = deployment.tokens["polar"]
    async with bearer_client(deployment.replicas[0].url, token) as client:  # mints alice's Polar session
        assert not (await client.call_tool("list_orders", {"limit": 1})).is_error
    minted = polar.controls.counters["customer_sessions_minted"]
    results: list[tuple[str, dict[str, Any]]] = []

    async def generate(client: Client, order_id: str) -> None:
        result = await client.call_tool("generate_invoice", {"order_id": order_id})
        assert not result.is_error, result.content
        results.append((order_id, result.structured_content))

    async def through(replica: Replica) -> None:
        async with bearer_client(replica.url, token) as client, anyio.create_task_group() as group:
            for order_id in POLAR_ORDERS * 2:  # each order twice from each replica
                group.start_soon(generate, client, order_id)

    with anyio.fail_after(120):
        async with anyio.create_task_group() as group:
            for replica in deployment.replicas:
                group.start_soon(through, replica)
    assert len(results) == 4 * len(POLAR_ORDERS)
    assert all(
        result["number"] == f"SBX-REPL-{POLAR_ORDERS.index(order_id):04d}" for order_id, result in results
    )
    assert {order_id: polar.generation_requests[order_id] for order_id in POLAR_ORDERS} == dict.fromkeys(
        POLAR_ORDERS, 1
    )
    # The session minted through the first replica served the second one too (shared, encrypted).
    assert polar.controls.counters["customer_sessions_minted"] == minted


# -- 3. the rate-limit budget ------------------------------------------------------------------------


async def test_a_providers_rate_limit_budget_is_shared_by_both_replicas(deployment: Deployment) -> None:
    """Six calls at once, three per replica, for 3 s: one budget admits 2 requests; one per replica would admit 4."""
    payabli = deployment.states.payabli.controls
    token = deployment.tokens["payabli"]
    invoice_id = str(PAYABLI_INVOICE_IDS["alice_paid"])
    seen_before = len(payabli.request_log)

    async def call(replica: Replica) -> None:
        async with bearer_client(replica.url, token) as client:
            await client.call_tool("get_invoice", {"invoice_id": invoice_id})

    with anyio.move_on_after(3.0):  # the measuring window; the calls still waiting are abandoned
        async with anyio.create_task_group() as group:
            for n in range(6):
                group.start_soon(call, deployment.replicas[n % 2])
    seen = len(payabli.request_log) - seen_before
    burst = max(1, PAYABLI_LIMIT_PER_MINUTE // 6)
    assert 1 <= seen <= burst + 1, f"{seen} requests reached Payabli in 3 s; one shared budget allows {burst}"


# -- 4. a replica killed mid-run -----------------------------------------------------------------------


async def test_a_replica_killed_mid_run_loses_nothing_it_acknowledged(
    tmp_path: Path, deployment: Deployment
) -> None:
    count, workers = 60, 6
    location, database_env, cleanup = _database(tmp_path)
    with cleanup:
        orders = _add_local_orders(location, "cus_kill", count, "ord_k")
        env = deployment.env | database_env | {"MCP_INVOICES_REDIS_PREFIX": unique_prefix()}
        env.pop(
            "MCP_INVOICES_DB" if "MCP_INVOICES_DATABASE_URL" in database_env else "MCP_INVOICES_DATABASE_URL",
            None,
        )
        token = _issue(location, "local", "cus_kill")
        with (
            forgetting_keys(env["MCP_INVOICES_REDIS_URL"], env["MCP_INVOICES_REDIS_PREFIX"]),
            running_replicas(env, tmp_path) as (survivor, victim),
        ):
            acknowledged: dict[str, str] = {}
            victim_acks, victim_failures = 0, 0

            async def worker(replica: Replica, share: list[str]) -> None:
                nonlocal victim_acks, victim_failures
                try:
                    async with bearer_client(replica.url, token) as client:
                        for order_id in share:
                            result = await client.call_tool("generate_invoice", {"order_id": order_id})
                            assert not result.is_error, result.content
                            acknowledged[order_id] = result.structured_content["number"]
                            if replica is victim:
                                victim_acks += 1
                                if victim_acks == 5:  # mid-run: the other workers' calls are in flight
                                    victim.process.send_signal(signal.SIGKILL)
                except Exception:  # the killed replica's calls fail; none of them was acknowledged
                    if replica is not victim:
                        raise
                    victim_failures += 1

            with anyio.fail_after(120):
                async with anyio.create_task_group() as group:
                    for n in range(workers):
                        group.start_soon(worker, survivor, orders[: count // 2][n::workers])
                        group.start_soon(worker, victim, orders[count // 2 :][n::workers])
            victim.process.wait(timeout=10)
            assert victim.process.returncode == -signal.SIGKILL
            assert victim_acks >= 5 and victim_failures >= 1, (victim_acks, victim_failures)

            # Everything acknowledged is there on the survivor, with its number; the rest can be finished.
            assert httpx2.get(survivor.health_url, timeout=5).status_code == 200
            final: dict[str, str] = {}
            async with bearer_client(survivor.url, token) as client:
                for order_id, number in acknowledged.items():
                    invoice = await client.call_tool("get_invoice", {"invoice_id": order_id})
                    assert invoice.structured_content["number"] == number, order_id
                for order_id in orders:
                    result = await client.call_tool("generate_invoice", {"order_id": order_id})
                    assert not result.is_error, result.content
                    final[order_id] = result.structured_content["number"]
    assert {order_id: final[order_id] for order_id in acknowledged} == acknowledged
    numbers = sorted(_sequence(number) for number in final.values())
    assert numbers == list(range(numbers[0], numbers[0] + count)), numbers  # gapless: nothing half-written


# -- health and outages --------------------------------------------------------------------------------


def test_health_reports_the_database_and_the_shared_store(deployment: Deployment) -> None:
    for replica in deployment.replicas:
        response = httpx2.get(replica.health_url, timeout=5)
        body = response.json()
        assert response.status_code == 200
        assert (body["status"], body["database"], body["shared_state"]) == ("ok", "ok", "ok")
        assert body["shared_store"].startswith("redis at ")


def test_start_up_fails_naming_the_variable_when_redis_does_not_answer(
    deployment: Deployment, tmp_path: Path
) -> None:
    env = deployment.env | {"MCP_INVOICES_REDIS_URL": closed_port_url().replace("//", "//:hunter2-pass@")}
    completed = subprocess.run(
        [sys.executable, "-m", "mcp_invoices", "serve", "--transport", "http", "--port", str(_free_port())],
        env=os.environ | env,
        cwd=REPO,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert (
        b"MCP_INVOICES_REDIS_URL" in completed.stderr
        and b"cannot connect to Redis at 127.0.0.1:" in completed.stderr
    )
    assert b"hunter2" not in completed.stderr


@contextlib.contextmanager
def private_redis(port: int, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A Redis of this test's own (it gets stopped), in the foreground, without persistence."""
    log = (workdir / "redis.log").open("wb")  # its output, shown if it does not start (never DEVNULL)
    process = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()  # the child has its own copy
    try:
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, check=False
            ).stdout.strip()
            != b"PONG"
        ):
            assert process.poll() is None and time.monotonic() < deadline, (
                "private Redis did not start; it said:\n"
                + (workdir / "redis.log").read_text(errors="replace")
            )
            time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def test_a_redis_outage_fails_generation_closed_and_health_says_so(
    deployment: Deployment, tmp_path: Path
) -> None:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("needs redis-server and redis-cli on PATH (scripts/start-test-services.sh installs them)")
    port = _free_port()
    polar = deployment.states.polar
    order_id = next(
        order
        for order in polar.orders.values()
        if order.customer == "bob"
        and order.status == "paid"
        and order.invoice_ready_at is None
        and order.billing_address
    ).id
    env = deployment.env | {"MCP_INVOICES_REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    bob = _issue(deployment.location, "polar", "bob")
    with (
        private_redis(port, tmp_path) as redis_process,
        running_replicas(env, tmp_path, count=1) as (replica,),
    ):
        redis_process.kill()
        redis_process.wait()
        health = httpx2.get(replica.health_url, timeout=10)
        async with bearer_client(replica.url, bob) as client:
            refused = await client.call_tool("generate_invoice", {"order_id": order_id})
        async with bearer_client(replica.url, deployment.tokens["outage"]) as client:
            local = await client.call_tool(
                "generate_invoice", {"order_id": "ord_o000"}
            )  # the database serializes
            pdf = await client.read_resource(
                "invoice://local/ord_o000/pdf"
            )  # the cache misses; it is rendered
    assert health.status_code == 503 and health.json()["shared_state"] == "unreachable"
    assert health.json()["database"] == "ok"
    assert refused.is_error and error_of(refused)["code"] == "service_unavailable"
    assert f"(Redis at 127.0.0.1:{port}) is unreachable" in error_of(refused)["message"]
    assert polar.generation_requests[order_id] == 0  # nothing was risked
    assert not local.is_error and local.structured_content["outcome"] == "generated"
    assert pdf.contents[0].mime_type == "application/pdf"
