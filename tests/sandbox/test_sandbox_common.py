"""The combined sandbox app, its environment, the serving helpers and the shared controls."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import httpx2
import pytest

from mcp_invoices.providers.catalog import REMOTE_SPECS
from mcp_invoices.providers.emulation import dumps_json, running_app, serving_in_thread
from mcp_invoices.sandbox import (
    SANDBOX_CUSTOMERS,
    SandboxStates,
    create_sandbox_app,
    sandbox_environment,
    serve_sandbox,
)

EMULATED = tuple(entry for entry in REMOTE_SPECS if entry.emulator)
ENVIRONMENT_NAMES = {name for entry in EMULATED for name in (*entry.variables, entry.rate_limit_variable)} - {
    entry.environments.variable for entry in EMULATED if entry.environments
}
"""Every variable of every emulated provider's spec (the base URL pins the environment instead)."""
BY_CUSTOMER = {
    name
    for entry in EMULATED
    for name in (
        entry.customer_variable,
        *(c.variable for c in entry.credentials if c.transports == frozenset({"stdio"})),
    )
    if name
}
"""What names the customer: the spec's customer variable, or the credential only one customer holds."""
KNOWN = ("polar", "afternoon", "bagisto", "payabli")
"""The providers the two pins below were written for; a provider added later is checked by the rest."""


def test_decimals_are_written_digit_for_digit() -> None:
    body = dumps_json({"a": Decimal("110.00"), "b": Decimal("0.3"), "c": [1, None, True, 'é"'], "d": 0.1})
    assert body == '{"a": 110.00, "b": 0.3, "c": [1, null, true, "é\\""], "d": 0.1}'.encode()


@pytest.mark.parametrize("customer", SANDBOX_CUSTOMERS)
def test_sandbox_environment_names_every_variable(customer: str) -> None:
    env = sandbox_environment("http://127.0.0.1:9000/", customer)
    assert set(env) == ENVIRONMENT_NAMES
    assert env["POLAR_BASE_URL"] == "http://127.0.0.1:9000/polar"
    assert env["PAYABLI_BASE_URL"] == "http://127.0.0.1:9000/payabli/api"


def test_sandbox_environment_refuses_unknown_customers() -> None:
    with pytest.raises(ValueError, match="mallory"):
        sandbox_environment("http://127.0.0.1:9000", "mallory")


async def test_sandbox_environments_differ_only_in_the_customer() -> None:
    alice, bob = sandbox_environment("http://x", "alice"), sandbox_environment("http://x", "bob")
    differing = {name for name in ENVIRONMENT_NAMES if alice[name] != bob[name]}
    assert differing == BY_CUSTOMER
    assert {
        "POLAR_CUSTOMER_SESSION",
        "AFTERNOON_CUSTOMER_ID",
        "BAGISTO_CUSTOMER_TOKEN",
        "PAYABLI_CUSTOMER_ID",
    } <= (BY_CUSTOMER)


async def test_index_lists_the_providers() -> None:
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=create_sandbox_app()), base_url="http://127.0.0.1"
    ) as client:
        body = (await client.get("/")).json()
    assert body["providers"]["payabli"] == "http://127.0.0.1/payabli/api"


async def test_running_app_serves_and_then_frees_the_port() -> None:
    async with running_app(create_sandbox_app()) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        async with httpx2.AsyncClient() as client:
            assert (await client.get(f"{base_url}/")).status_code == 200
    with pytest.raises(httpx2.ConnectError):
        async with httpx2.AsyncClient() as client:
            await client.get(f"{base_url}/")


def test_serving_in_thread_for_synchronous_callers() -> None:
    with serving_in_thread(create_sandbox_app()) as base_url:
        response = httpx2.get(f"{base_url}/")
    assert response.status_code == 200


async def test_serve_sandbox_reports_its_url_and_applies_latency() -> None:
    ready: asyncio.Queue[str] = asyncio.Queue()
    states = SandboxStates()
    task = asyncio.create_task(serve_sandbox(latency_ms=30, ready=ready.put_nowait, states=states))
    try:
        base_url = await asyncio.wait_for(ready.get(), timeout=10)
        env = sandbox_environment(base_url)
        async with httpx2.AsyncClient() as client:
            started = time.monotonic()
            response = await client.get(
                f"{env['PAYABLI_BASE_URL']}/Invoice/23548801",
                headers={"requestToken": env["PAYABLI_API_TOKEN"]},
            )
            elapsed = time.monotonic() - started
        assert response.status_code == 200
        assert elapsed >= 0.03
        assert all(c.latency_ms == 30 for c in states.all_controls())
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_request_log_proves_which_headers_reached_each_provider() -> None:
    states = SandboxStates()
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=create_sandbox_app(states)), base_url="http://127.0.0.1"
    ) as client:
        await client.get("/afternoon/v1/invoices", headers={"Authorization": "Bearer ak_test_sandbox"})
    [entry] = states.afternoon.controls.request_log
    assert entry.path == "/v1/invoices" and entry.status == 200
    assert entry.headers["authorization"] == "Bearer ak_test_sandbox"
    assert states.polar.controls.request_log == []


def test_sandbox_environment_is_exactly_what_it_was_when_each_provider_was_spelled_by_hand() -> None:
    """Pinned before the sandbox was derived from the specs (issue 24): the same names, values, order."""
    base = "http://127.0.0.1:9000"
    known = {
        name
        for entry in EMULATED
        if entry.id in KNOWN
        for name in (*entry.variables, entry.rate_limit_variable)
    }
    assert [(k, v) for k, v in sandbox_environment(f"{base}/", "bob").items() if k in known] == [
        ("POLAR_BASE_URL", f"{base}/polar"),
        ("POLAR_CUSTOMER_SESSION", "polar_cst_sandbox_bob"),
        ("POLAR_ACCESS_TOKEN", "polar_oat_sandbox"),
        ("AFTERNOON_BASE_URL", f"{base}/afternoon"),
        ("AFTERNOON_API_KEY", "ak_test_sandbox"),
        ("AFTERNOON_CUSTOMER_ID", "cus_bob"),
        ("BAGISTO_BASE_URL", f"{base}/bagisto"),
        ("BAGISTO_STOREFRONT_KEY", "pk_storefront_sandbox"),
        ("BAGISTO_CUSTOMER_TOKEN", "bagisto_token_bob"),
        ("PAYABLI_BASE_URL", f"{base}/payabli/api"),
        ("PAYABLI_API_TOKEN", "payabli_sandbox_token"),
        ("PAYABLI_CUSTOMER_ID", "1002"),
        ("PAYABLI_ENTRY", "sandbox-entry"),
        ("POLAR_RATE_LIMIT_PER_MINUTE", "60000"),
        ("AFTERNOON_RATE_LIMIT_PER_MINUTE", "60000"),
        ("BAGISTO_RATE_LIMIT_PER_MINUTE", "60000"),
        ("PAYABLI_RATE_LIMIT_PER_MINUTE", "60000"),
    ]
    alice, carol = sandbox_environment(base, "alice"), sandbox_environment(base, "carol")
    assert (alice["POLAR_CUSTOMER_SESSION"], alice["AFTERNOON_CUSTOMER_ID"]) == (
        "polar_cst_sandbox_alice",
        "cus_alice",
    )
    assert (alice["BAGISTO_CUSTOMER_TOKEN"], alice["PAYABLI_CUSTOMER_ID"]) == ("bagisto_token_alice", "1001")
    assert (carol["POLAR_CUSTOMER_SESSION"], carol["AFTERNOON_CUSTOMER_ID"]) == (
        "polar_cst_sandbox_carol",
        "cus_carol",
    )
    assert (carol["BAGISTO_CUSTOMER_TOKEN"], carol["PAYABLI_CUSTOMER_ID"]) == ("bagisto_token_carol", "1003")


async def test_index_is_exactly_what_it_was_when_each_provider_was_spelled_by_hand() -> None:
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=create_sandbox_app()), base_url="http://127.0.0.1"
    ) as client:
        response = await client.get("/")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["sandbox", "providers", "customers"]
    assert body["sandbox"] == "mcp-invoices provider emulators (fake data, fake credentials)"
    assert {k: v for k, v in body["providers"].items() if k in KNOWN} == {
        "polar": "http://127.0.0.1/polar",
        "afternoon": "http://127.0.0.1/afternoon",
        "bagisto": "http://127.0.0.1/bagisto",
        "payabli": "http://127.0.0.1/payabli/api",
    }
    assert list(body["providers"]) == [entry.id for entry in EMULATED]
    assert body["customers"] == ["alice", "bob", "carol"]


def test_states_are_keyed_by_provider_id_and_refuse_a_provider_without_an_emulator() -> None:
    from mcp_invoices.providers.catalog import REMOTE_SPECS
    from mcp_invoices.sandbox import EMULATED

    states = SandboxStates()
    assert list(states) == [entry.id for entry in REMOTE_SPECS] == [entry.id for entry, _ in EMULATED]
    assert all(states[name] is getattr(states, name) for name in states)
    assert len(states.all_controls()) == len(states)
    given = type(states["payabli"])()
    assert SandboxStates(payabli=given)["payabli"] is given
    with pytest.raises(TypeError, match="no emulator for nowhere"):
        SandboxStates(nowhere=given)
    with pytest.raises(AttributeError):
        _ = states.nowhere
