"""Fixtures of the fault suite: a hostile provider on loopback, and two sessions of one server.

``Sessions`` is one runtime (one process's providers) serving two principals, as streamable HTTP
serves many: ``victim`` talks to the hostile provider, ``bystander`` is another customer on the
local ledger. Every fault case checks that the bystander's calls stay prompt while the victim's
provider misbehaves.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_invoices.config import load_config
from mcp_invoices.principal import Principal, Scope
from mcp_invoices.providers.base import InvoiceProvider
from mcp_invoices.providers.http import RetryPolicy
from mcp_invoices.providers.local.provider import open_local_provider
from mcp_invoices.server.app import build_server
from mcp_invoices.server.runtime import Runtime
from tests.faults.hostile import Hostile

DEADLINE = 1.5
"""Seconds the providers under test get per call (``RetryPolicy.total_budget``); production uses 20."""
ANSWER_BOUND = DEADLINE + 5.0
"""A faulty call must end (with its error) within its deadline plus this slack for a loaded CI machine."""
BYSTANDER_BOUND = 2.0
"""Another session's local call must answer within this while a provider misbehaves (it takes ~10 ms
unloaded; a frozen event loop made it 8-35 s)."""
FAST_RETRY = RetryPolicy(
    attempts=2, base_delay=0.01, max_delay=0.05, max_retry_after=0.1, total_budget=DEADLINE
)


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    server = Hostile()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def seeded_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded ledger file for the suite; each test works on a copy (seeding costs a second)."""
    path = tmp_path_factory.mktemp("ledger") / "seeded.sqlite3"

    async def seed() -> None:
        provider = await open_local_provider(path, seed=True)
        await provider.aclose()

    anyio.run(seed)
    return path


@pytest.fixture
def ledger_copy(seeded_ledger: Path, tmp_path: Path) -> Path:
    target = tmp_path / "ledger.sqlite3"
    for sibling in seeded_ledger.parent.glob(seeded_ledger.name + "*"):
        shutil.copy(sibling, tmp_path / sibling.name.replace(seeded_ledger.name, target.name))
    return target


@dataclass
class Sessions:
    victim: Client
    """The session whose provider misbehaves."""
    bystander: Client
    """Another customer's session on the local ledger, served by the same process."""
    provider: str

    async def bystander_latencies(self, until: anyio.Event, *, at_most: int = 400) -> list[float]:
        """Time the bystander's calls, one after another, until ``until`` is set (bounded count)."""
        latencies: list[float] = []
        for _ in range(at_most):
            started = time.monotonic()
            result = await self.bystander.call_tool("list_invoices", {"limit": 5})
            latencies.append(time.monotonic() - started)
            assert not result.is_error, result.content
            if until.is_set():
                break
            await anyio.sleep(0.02)
        return latencies


@contextlib.asynccontextmanager
async def sessions(
    ledger: Path, provider: str, remote: InvoiceProvider | None, victim_scope: Scope
) -> AsyncIterator[Sessions]:
    """``victim`` in ``victim_scope`` (on ``remote``, or on the local ledger when it is None)."""
    local = await open_local_provider(ledger, seed=False)
    providers: dict[str, InvoiceProvider] = {"local": local}
    if remote is not None:
        providers[provider] = remote
    runtime = Runtime(config=load_config({"MCP_INVOICES_DB": str(ledger)}), providers=providers)
    victim = Principal(subject="victim", authenticated_by="token", scopes=(victim_scope,))
    bystander = Principal(subject="bystander", authenticated_by="token", scopes=(Scope("local", "cus_bob"),))
    try:
        async with (
            Client(build_server(runtime, lambda ctx: victim)) as victim_client,
            Client(build_server(runtime, lambda ctx: bystander)) as bystander_client,
        ):
            yield Sessions(victim=victim_client, bystander=bystander_client, provider=provider)
    finally:
        if remote is not None:
            await remote.aclose()
        await local.aclose()


@dataclass
class Outcome:
    result: Any
    elapsed: float
    bystander: list[float]


async def while_bystanding(session: Sessions, call: Callable[[], Any]) -> Outcome:
    """Run the victim's ``call`` while the bystander keeps calling; its result, duration and their latencies."""
    done = anyio.Event()
    outcome: dict[str, Any] = {}

    async def victim() -> None:
        started = time.monotonic()
        try:
            outcome["result"] = await call()
        finally:
            outcome["elapsed"] = time.monotonic() - started
            done.set()

    async with anyio.create_task_group() as group:
        group.start_soon(victim)
        latencies = await session.bystander_latencies(done)
    return Outcome(result=outcome["result"], elapsed=outcome["elapsed"], bystander=latencies)
