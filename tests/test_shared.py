"""Shared state (``mcp_invoices.replicas``): the in-process and Redis backends behave alike, keys carry the
scope and reveal nothing, and an unreachable Redis degrades the cache but never the generation lock.

"Two replicas" here are two ``RedisSharedState`` objects on one Redis with one key prefix, as two
server processes have; ``tests/test_replicas.py`` does the same with real server processes.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import SecretStr

from mcp_invoices.config import ConfigError
from mcp_invoices.domain.models import InvoiceStatus
from mcp_invoices.principal import Scope
from mcp_invoices.replicas import (
    InProcessSharedState,
    SharedSettings,
    SharedState,
    SharedStateUnavailable,
    load_shared_settings,
    open_shared_state,
)
from mcp_invoices.replicas.keys import KeySpace
from mcp_invoices.replicas.redis_backend import RedisSharedState
from tests.factories import cached_invoice
from tests.redis_support import closed_port_url, require_redis, unique_prefix

SECRET = SecretStr("shared-state-test-secret-key-0123456789abcdef")
ALICE = Scope("local", "cus_alice")
BOB = Scope("local", "cus_bob")
POLAR_ALICE = Scope("polar", "alice")


Replicas = Callable[..., RedisSharedState]


@contextlib.asynccontextmanager
async def redis_replicas() -> AsyncIterator[Replicas]:
    """Builds ``RedisSharedState`` objects on the test Redis, all with one fresh prefix, and closes them."""
    url = require_redis()
    prefix = unique_prefix()
    made: list[RedisSharedState] = []

    def build(*, secret_key: SecretStr | None = SECRET, **options: Any) -> RedisSharedState:
        state = RedisSharedState(url, keys=KeySpace(prefix, secret_key), secret_key=secret_key, **options)
        made.append(state)
        return state

    try:
        yield build
    finally:
        cleanup = made[0] if made else build()
        keys = [key async for key in cleanup._redis.client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await cleanup._redis.client.delete(*keys)
        for state in made:
            await state.aclose()


@pytest.fixture
async def replicas() -> AsyncIterator[Replicas]:
    async with redis_replicas() as build:
        yield build


@pytest.fixture
async def redis_client() -> AsyncIterator[Any]:
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(require_redis())
    yield client
    await client.aclose()


@pytest.fixture(params=["in-process", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[SharedState]:
    if request.param == "in-process":
        yield InProcessSharedState()
        return
    async with redis_replicas() as build:
        yield build()


# -- documents ---------------------------------------------------------------------------------------


async def test_another_customers_scope_never_reads_an_entry(backend: SharedState) -> None:
    await backend.documents.put(ALICE, "pdf", cached_invoice(), b"alice's")
    assert await backend.documents.get(BOB, "pdf", cached_invoice()) is None
    assert await backend.documents.get(Scope("polar", "cus_alice"), "pdf", cached_invoice()) is None
    assert await backend.documents.get(ALICE, "pdf", cached_invoice()) == b"alice's"


async def test_a_changed_invoice_misses_the_document_cache(backend: SharedState) -> None:
    await backend.documents.put(ALICE, "pdf", cached_invoice(), b"open")
    assert (
        await backend.documents.get(ALICE, "pdf", cached_invoice(status=InvoiceStatus.PAID, paid="10.00"))
        is None
    )
    assert await backend.documents.get(ALICE, "pdf", cached_invoice()) == b"open"


async def test_a_document_put_by_one_replica_is_read_by_another(replicas: Replicas) -> None:
    first, second = replicas(), replicas()
    await first.documents.put(ALICE, "pdf", cached_invoice(), b"%PDF-shared")
    assert await second.documents.get(ALICE, "pdf", cached_invoice()) == b"%PDF-shared"


async def test_the_redis_document_cache_is_bounded_by_entries_size_and_time(
    replicas: Replicas, redis_client: Any
) -> None:
    state = replicas(max_documents=3, max_document_bytes=100, document_ttl_seconds=60)
    for n in range(5):
        await state.documents.put(ALICE, "pdf", cached_invoice(f"ord_{n}"), b"x" * 50)
    await state.documents.put(ALICE, "pdf", cached_invoice("ord_big"), b"x" * 101)  # over the per-entry cap
    present = [
        n for n in range(5) if await state.documents.get(ALICE, "pdf", cached_invoice(f"ord_{n}")) is not None
    ]
    index = state.keys.document_index
    assert present == [2, 3, 4]  # the oldest went first
    assert await state.documents.get(ALICE, "pdf", cached_invoice("ord_big")) is None
    assert await redis_client.zcard(index) == 3
    ttl = await redis_client.pttl(state.keys.document(ALICE, "pdf", cached_invoice("ord_4")))
    assert 0 < ttl <= 60_000


async def test_redis_keys_carry_the_scope_and_reveal_no_customer_or_object(
    replicas: Replicas, redis_client: Any
) -> None:
    state = replicas()
    await state.documents.put(ALICE, "pdf", cached_invoice("ord_secret_1001"), b"%PDF-")
    await state.sessions.put(POLAR_ALICE, SecretStr("polar_cst_alicesession"), 60)
    await state.generations.mark_requested(POLAR_ALICE, "order-alice-42", 60)
    async with state.generations.lock(POLAR_ALICE, "order-alice-42"):
        keys = [key.decode() async for key in redis_client.scan_iter(match=f"{state.keys.prefix}:*")]
    assert len(keys) >= 4
    # "-42" is the order id's tail; a bare "42" also turns up in hex digests by chance (about one in nine).
    assert not [key for key in keys if "alice" in key or "ord_secret" in key or "-42" in key.split(":")[-1]]
    scoped = [key for key in keys if key != state.keys.document_index]
    assert all(key.startswith((state.keys.scope(ALICE), state.keys.scope(POLAR_ALICE))) for key in scoped)
    assert state.keys.scope(ALICE) != state.keys.scope(BOB)


# -- minted provider sessions ------------------------------------------------------------------------


async def test_a_session_minted_by_one_replica_serves_another_and_is_stored_encrypted(
    replicas: Replicas, redis_client: Any
) -> None:
    first, second = replicas(), replicas()
    await first.sessions.put(POLAR_ALICE, SecretStr("polar_cst_alicesession"), 30)
    shared = await second.sessions.get(POLAR_ALICE)
    raw = await redis_client.get(first.keys.session(POLAR_ALICE))
    assert shared is not None and shared.get_secret_value() == "polar_cst_alicesession"
    assert b"polar_cst" not in raw and b"alicesession" not in raw
    assert 0 < await redis_client.pttl(first.keys.session(POLAR_ALICE)) <= 30_000
    assert await second.sessions.get(Scope("polar", "bob")) is None


async def test_a_session_copied_under_another_customers_key_does_not_open(
    replicas: Replicas, redis_client: Any
) -> None:
    state = replicas()
    bob = Scope("polar", "bob")
    await state.sessions.put(POLAR_ALICE, SecretStr("polar_cst_alicesession"), 30)
    await redis_client.set(state.keys.session(bob), await redis_client.get(state.keys.session(POLAR_ALICE)))
    assert await state.sessions.get(bob) is None


async def test_without_a_secret_key_sessions_never_reach_redis(replicas: Replicas, redis_client: Any) -> None:
    first, second = replicas(secret_key=None), replicas(secret_key=None)
    await first.sessions.put(POLAR_ALICE, SecretStr("polar_cst_alicesession"), 30)
    assert await redis_client.exists(first.keys.session(POLAR_ALICE)) == 0
    kept = await first.sessions.get(POLAR_ALICE)
    assert kept is not None and kept.get_secret_value() == "polar_cst_alicesession"
    assert await second.sessions.get(POLAR_ALICE) is None  # each process mints its own


# -- generation guard --------------------------------------------------------------------------------


async def test_the_generation_lock_admits_one_replica_at_a_time(replicas: Replicas) -> None:
    first, second = replicas(), replicas()
    inside, most, entered = 0, 0, 0

    async def hold(state: RedisSharedState) -> None:
        nonlocal inside, most, entered
        async with state.generations.lock(POLAR_ALICE, "order-1"):
            inside += 1
            entered += 1
            most = max(most, inside)
            await anyio.sleep(0.01)  # holds the lock while another replica tries
            inside -= 1

    async with anyio.create_task_group() as group:
        for n in range(12):
            group.start_soon(hold, first if n % 2 else second)
    assert (entered, most) == (12, 1)


async def test_a_lock_is_released_only_by_its_holder(replicas: Replicas, redis_client: Any) -> None:
    state = replicas()
    key = state.keys.generation_lock(POLAR_ALICE, "order-1")
    async with state.generations.lock(POLAR_ALICE, "order-1"):
        # Our lock expired meanwhile and another replica holds the order now.
        await redis_client.set(key, "another-replicas-token", px=5000)
    assert await redis_client.get(key) == b"another-replicas-token"


async def test_a_requested_generation_is_seen_by_every_replica(replicas: Replicas) -> None:
    first, second = replicas(), replicas()
    await first.generations.mark_requested(POLAR_ALICE, "order-1", 60)
    assert await second.generations.requested(POLAR_ALICE, ["order-1", "order-2"]) == {"order-1"}
    assert await second.generations.requested(Scope("polar", "bob"), ["order-1"]) == set()
    await second.generations.clear_requested(POLAR_ALICE, "order-1")
    assert await first.generations.requested(POLAR_ALICE, ["order-1"]) == set()


# -- request budgets ---------------------------------------------------------------------------------


async def test_the_request_budget_is_one_for_all_replicas(replicas: Replicas) -> None:
    """10 requests/s with a burst of 2, drawn 3 times by each of two replicas: 4 wait 0.1 s each in turn."""
    budgets = [replicas().budget("payabli", 600, burst=2), replicas().budget("payabli", 600, burst=2)]
    started = time.monotonic()
    async with anyio.create_task_group() as group:
        for n in range(6):
            group.start_soon(budgets[n % 2].acquire)
    elapsed = time.monotonic() - started
    # Two separate buckets would let each replica through in ~0.1 s; one shared bucket needs ~0.4 s.
    assert 0.35 <= elapsed < 5, elapsed


# -- Redis unreachable -------------------------------------------------------------------------------


@pytest.fixture
async def unreachable() -> AsyncIterator[RedisSharedState]:
    url = closed_port_url().replace("redis://", "redis://:hunter2-redis-password@")
    state = RedisSharedState(url, keys=KeySpace(unique_prefix(), SECRET), secret_key=SECRET)
    yield state
    await state.aclose()


async def test_an_unreachable_store_is_a_document_cache_miss_with_a_warning(
    unreachable: RedisSharedState, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="mcp_invoices.replicas"):
        await unreachable.documents.put(ALICE, "pdf", cached_invoice(), b"%PDF-")
        assert await unreachable.documents.get(ALICE, "pdf", cached_invoice()) is None
    assert any("document cache unreachable" in record.getMessage() for record in caplog.records)


async def test_an_unreachable_store_refuses_to_start_a_generation(unreachable: RedisSharedState) -> None:
    with pytest.raises(SharedStateUnavailable) as refused:
        async with unreachable.generations.lock(POLAR_ALICE, "order-1"):
            pytest.fail("the lock must fail closed")
    error = refused.value.to_dict()
    assert error["code"] == "service_unavailable"
    location = unreachable.description.removeprefix("redis at ")  # host:port, never the password
    assert location in error["message"] and "no invoice generation is started" in error["message"]
    assert "hunter2" not in str(error)
    with pytest.raises(SharedStateUnavailable):
        await unreachable.generations.requested(POLAR_ALICE, ["order-1"])


async def test_an_unreachable_store_keeps_sessions_and_budgets_in_the_process(
    unreachable: RedisSharedState,
) -> None:
    await unreachable.sessions.put(POLAR_ALICE, SecretStr("polar_cst_alicesession"), 30)
    kept = await unreachable.sessions.get(POLAR_ALICE)
    assert kept is not None and kept.get_secret_value() == "polar_cst_alicesession"
    with anyio.fail_after(5):
        await unreachable.budget("payabli", 600).acquire()
    with pytest.raises(SharedStateUnavailable):
        await unreachable.ping()


async def test_start_up_names_the_variable_when_redis_does_not_answer() -> None:
    url = closed_port_url().replace("redis://", "redis://:hunter2-redis-password@")
    settings = SharedSettings(redis_url=SecretStr(url), prefix="mcpi", secret_key=SECRET, state_keys=())
    with pytest.raises(ConfigError) as refused:
        async with open_shared_state(settings):
            pytest.fail("must not start")
    message = str(refused.value)
    assert "MCP_INVOICES_REDIS_URL" in message and url.rsplit("@", 1)[1].split("/")[0] in message
    assert "hunter2" not in message


# -- settings ----------------------------------------------------------------------------------------


def test_settings_read_the_state_key_ring_in_order() -> None:
    first, second = "a" * 32, "b" * 40
    settings = load_shared_settings({"MCP_INVOICES_STATE_KEYS": f" {first} , {second} "})
    assert [key.get_secret_value() for key in settings.state_keys] == [first, second]
    assert settings.redis_url is None and settings.prefix == "mcpi"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"MCP_INVOICES_STATE_KEYS": "short"}, "MCP_INVOICES_STATE_KEYS"),
        ({"MCP_INVOICES_STATE_KEYS": f"{'a' * 32},{'a' * 32}"}, "MCP_INVOICES_STATE_KEYS"),
        ({"MCP_INVOICES_REDIS_URL": "http://127.0.0.1:6379"}, "MCP_INVOICES_REDIS_URL"),
        ({"MCP_INVOICES_REDIS_PREFIX": "a b"}, "MCP_INVOICES_REDIS_PREFIX"),
    ],
)
def test_settings_refuse_what_cannot_work(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_shared_settings(env)


# -- Polar on shared state: two providers are two replicas -------------------------------------------


async def test_two_polar_replicas_post_each_generation_once_and_mint_one_session(replicas: Replicas) -> None:
    from mcp_invoices.providers.emulation import running_app
    from mcp_invoices.providers.http import RetryPolicy
    from mcp_invoices.providers.polar.client import PolarProvider
    from mcp_invoices.providers.polar.emulator import (
        POLAR_ORDER_IDS,
        POLAR_ORGANIZATION_TOKEN,
        PolarState,
        create_app,
    )

    emulator = PolarState(generation_delay=0.2)
    order_id = POLAR_ORDER_IDS["alice_paid_not_generated"]
    async with running_app(create_app(emulator)) as base_url:
        providers = [
            PolarProvider(
                base_url=base_url,
                access_token=SecretStr(POLAR_ORGANIZATION_TOKEN),
                shared=replicas(),
                retry=RetryPolicy(base_delay=0.001, max_delay=0.01),
                poll_interval=0.02,
                max_poll_interval=0.05,
            )
            for _ in range(2)
        ]
        numbers: list[str | None] = []
        outcomes: list[str] = []

        async def generate(provider: PolarProvider) -> None:
            generation = await provider.generate_invoice(POLAR_ALICE, order_id, billing=None, wait=True)
            numbers.append(generation.invoice.number)
            outcomes.append(generation.outcome)

        try:
            await providers[0].get_invoice(POLAR_ALICE, POLAR_ORDER_IDS["alice_paid_generated"])  # mints
            async with anyio.create_task_group() as group:
                for n in range(6):
                    group.start_soon(generate, providers[n % 2])
        finally:
            for provider in providers:
                await provider.aclose()
    assert numbers == ["SBX-ALICE-0002"] * 6
    assert sorted(outcomes) == ["already_generated"] * 5 + ["generated"]  # one "generated", across replicas
    assert emulator.generation_requests[order_id] == 1
    assert emulator.controls.counters["customer_sessions_minted"] == 1  # the second replica reused it


async def test_a_polar_generation_is_refused_not_risked_when_the_lock_store_is_down(
    unreachable: RedisSharedState,
) -> None:
    from mcp_invoices.providers.emulation import running_app
    from mcp_invoices.providers.polar.client import PolarProvider
    from mcp_invoices.providers.polar.emulator import (
        POLAR_CUSTOMER_SESSIONS,
        POLAR_ORDER_IDS,
        PolarState,
        create_app,
    )
    from mcp_invoices.server.runtime import TOKEN_SCOPED

    emulator = PolarState(generation_delay=0.2)
    order_id = POLAR_ORDER_IDS["alice_paid_not_generated"]
    async with running_app(create_app(emulator)) as base_url:
        provider = PolarProvider(
            base_url=base_url,
            customer_session=SecretStr(POLAR_CUSTOMER_SESSIONS["alice"]),
            shared=unreachable,
        )
        try:
            with pytest.raises(SharedStateUnavailable):
                await provider.generate_invoice(
                    Scope("polar", TOKEN_SCOPED), order_id, billing=None, wait=True
                )
        finally:
            await provider.aclose()
    assert sum(emulator.generation_requests.values()) == 0


# -- /healthz ----------------------------------------------------------------------------------------


class _Store:
    """A token store whose reads fail with ``error`` (or answer), over a real database for the write probe."""

    def __init__(self, database: Any, error: Exception | None = None) -> None:
        self.database, self.error = database, error

    def verify(self, token: str) -> None:
        if self.error is not None:
            raise self.error


async def test_health_is_ok_only_when_the_database_and_the_shared_store_answer(
    unreachable: RedisSharedState, tmp_path: Path
) -> None:
    from mcp_invoices.auth.tokens import TokenStore
    from mcp_invoices.replicas.http import health

    database = TokenStore(tmp_path / "ledger.sqlite3").database
    try:
        assert (await health(_Store(database), InProcessSharedState(), ["local"]))[0] == 200  # type: ignore[arg-type]
        status, body = await health(_Store(database, OSError("disk gone")), InProcessSharedState(), [])  # type: ignore[arg-type]
        assert (status, body["database"], body["shared_state"]) == (503, "unreachable", "ok")
        status, body = await health(_Store(database), unreachable, [])  # type: ignore[arg-type]
        assert (status, body["database"], body["shared_state"]) == (503, "ok", "unreachable")
    finally:
        database.close()
    assert "hunter2" not in str(body)


# -- requestState sealed alike on every replica ------------------------------------------------------


def test_request_state_sealed_by_one_replica_opens_on_another_and_survives_rotation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from mcp.server.request_state import InvalidRequestState

    from mcp_invoices.replicas.http import request_state_security

    old, new = "o" * 40, "n" * 40
    replica_a = request_state_security(load_shared_settings({"MCP_INVOICES_STATE_KEYS": old}))
    replica_b = request_state_security(load_shared_settings({"MCP_INVOICES_STATE_KEYS": old}))
    rotating = request_state_security(load_shared_settings({"MCP_INVOICES_STATE_KEYS": f"{new},{old}"}))
    stranger = request_state_security(load_shared_settings({"MCP_INVOICES_STATE_KEYS": new}))
    assert replica_a and replica_b and rotating and stranger
    sealed = replica_a.codec.seal(b"round 1")
    assert replica_b.codec.unseal(sealed) == b"round 1"
    assert rotating.codec.unseal(sealed) == b"round 1"  # mid-rotation, old states still open
    with pytest.raises(InvalidRequestState):
        stranger.codec.unseal(sealed)
    with caplog.at_level(logging.WARNING, logger="mcp_invoices.server"):
        assert request_state_security(load_shared_settings({})) is None  # the SDK's per-process key
    assert any("MCP_INVOICES_STATE_KEYS is not set" in record.getMessage() for record in caplog.records)
