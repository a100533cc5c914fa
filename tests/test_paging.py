"""Bounded-parallel page fetching and the per-provider request budget."""

from __future__ import annotations

import anyio
import pytest

from mcp_invoices.domain.errors import ProviderUnavailable
from mcp_invoices.providers.paging import (
    MAX_PAGES_PER_SUMMARY,
    check_page_count,
    fetch_pages,
    page_count,
    pages_per_summary,
)
from mcp_invoices.replicas.budget import RequestBudget


async def test_pages_come_back_in_page_order_whatever_order_they_finish_in() -> None:
    async def fetch(page: int) -> int:
        await anyio.sleep(0.001 * (10 - page))  # later pages finish first
        return page

    assert await fetch_pages(fetch, range(1, 10), concurrency=9) == list(range(1, 10))


async def test_no_more_than_the_concurrency_limit_are_in_flight() -> None:
    in_flight = peak = 0

    async def fetch(page: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0)
        await anyio.sleep(0)
        in_flight -= 1
        return page

    await fetch_pages(fetch, range(50), concurrency=4)
    assert peak == 4


async def test_a_failing_page_fails_the_whole_fetch() -> None:
    async def fetch(page: int) -> int:
        if page == 3:
            raise RuntimeError("page 3 broke")
        return page

    with pytest.raises(Exception, match="page 3 broke"):
        await fetch_pages(fetch, range(6))


async def test_an_empty_range_fetches_nothing() -> None:
    async def fetch(page: int) -> int:
        raise AssertionError("not called")

    assert await fetch_pages(fetch, range(0)) == []


async def test_the_budget_lets_a_burst_through_then_paces_to_the_rate() -> None:
    now = [0.0]
    slept: list[float] = []
    budget = RequestBudget(60, burst=3, clock=lambda: now[0])  # one a second after a burst of 3

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    import mcp_invoices.providers.paging as paging

    original = paging.anyio.sleep
    paging.anyio.sleep = fake_sleep  # type: ignore[assignment]
    try:
        for _ in range(5):
            await budget.acquire()
    finally:
        paging.anyio.sleep = original  # type: ignore[assignment]
    assert slept == pytest.approx([1.0, 1.0])


def test_page_count_rounds_up_and_is_at_least_one() -> None:
    assert [page_count(n, 100) for n in (0, 1, 100, 101, 5000)] == [1, 1, 1, 2, 50]


async def test_every_request_to_a_provider_draws_from_its_budget() -> None:
    import httpx2

    from mcp_invoices.providers.http import ProviderHTTP

    drawn: list[int] = []

    class CountingBudget(RequestBudget):
        async def acquire(self) -> None:
            drawn.append(1)

    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, json={}))
    http = ProviderHTTP(
        provider_name="Afternoon",
        base_url="http://127.0.0.1:9/x",
        auth_hint="-",
        budget=CountingBudget(60),
        transport=transport,
    )
    try:
        for _ in range(3):
            await http.request("GET", "/v1/invoices")
    finally:
        await http.aclose()
    assert len(drawn) == 3


def test_a_rate_limit_can_be_set_per_provider_from_the_environment() -> None:
    from mcp_invoices.config import ConfigError, load_config

    config = load_config(
        {
            "AFTERNOON_API_KEY": "ak_test_x",
            "AFTERNOON_CUSTOMER_ID": "c",
            "AFTERNOON_RATE_LIMIT_PER_MINUTE": "42",
        }
    )
    assert config.remote[0].options["rate_limit_per_minute"] == "42"
    defaults = load_config({"AFTERNOON_API_KEY": "ak_test_x", "AFTERNOON_CUSTOMER_ID": "c"})
    assert defaults.remote[0].options["rate_limit_per_minute"] == "1000"
    with pytest.raises(ConfigError, match="AFTERNOON_RATE_LIMIT_PER_MINUTE"):
        load_config(
            {"AFTERNOON_API_KEY": "k", "AFTERNOON_CUSTOMER_ID": "c", "AFTERNOON_RATE_LIMIT_PER_MINUTE": "-1"}
        )


async def test_a_range_of_a_trillion_pages_starts_only_the_workers() -> None:
    started: list[int] = []

    async def fetch(page: int) -> int:
        started.append(page)
        raise RuntimeError("the provider failed")

    with pytest.raises(RuntimeError):
        await fetch_pages(fetch, range(10**12), concurrency=4)
    assert len(started) <= 4  # one task per worker, not one per page


def test_a_page_count_over_the_summary_limit_is_refused_naming_the_provider() -> None:
    with pytest.raises(ProviderUnavailable, match="Bagisto says this listing has 99,999 pages"):
        check_page_count("Bagisto", 99_999, 50)
    check_page_count("Bagisto", 50, 50)


def test_a_summary_may_use_half_a_minute_of_its_provider_budget_and_never_more_than_the_cap() -> None:
    assert pages_per_summary(100) == 50  # 100 requests a minute
    assert pages_per_summary(1000) == MAX_PAGES_PER_SUMMARY  # Afternoon
    assert pages_per_summary(None) == MAX_PAGES_PER_SUMMARY  # no budget drawn from
