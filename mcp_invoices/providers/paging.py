"""Fetching many pages fast without breaking a provider's rate limit.

``summarize_invoices`` must cover every matching invoice. Paging one request after another costs
one round trip per page (5,000 invoices at 100 a page and 50 ms each: 2.5 s). Where a provider
says how many pages there are, the rest are fetched in parallel — bounded by a concurrency limit
and by the provider's request budget, which its HTTP client draws from before every request.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from mcp_invoices.domain.errors import ProviderUnavailable

__all__ = [
    "MAX_PAGES_PER_SUMMARY",
    "check_page_count",
    "check_pages_read",
    "fetch_pages",
    "page_count",
    "pages_per_summary",
]

T = TypeVar("T")

MAX_PAGES_PER_SUMMARY = 200
"""Most provider pages one summary may read (20,000 invoices at 100 a page), whatever a provider claims."""
SUMMARY_SHARE_OF_BUDGET = 0.5
"""A summary may spend at most this many minutes' worth of its provider's request budget: the budget is
one for every session of the deployment, and one summary must not hold it for long."""


def pages_per_summary(requests_per_minute: int | None) -> int:
    """How many pages one summary may read: its share of the provider's rate, never over the cap."""
    if requests_per_minute is None:
        return MAX_PAGES_PER_SUMMARY
    return max(1, min(MAX_PAGES_PER_SUMMARY, int(requests_per_minute * SUMMARY_SHARE_OF_BUDGET)))


def check_page_count(display_name: str, claimed: int, limit: int) -> None:
    """Refuse, before any request, a listing that would take more than ``limit`` pages to read."""
    if claimed > limit:
        raise ProviderUnavailable(
            f"{display_name} says this listing has {_shown(claimed)} pages, more than the {limit} one summary "
            "may read.",
            hint="Narrow it with status or issued_after / issued_before; if the count is wrong, check the "
            "provider's status page.",
        )


def check_pages_read(display_name: str, read: int, limit: int) -> None:
    """Refuse to read page ``read`` of a listing that did not say how long it is, past ``limit``."""
    if read > limit:
        raise ProviderUnavailable(
            f"{display_name}'s listing did not end within the {limit} pages one summary may read.",
            hint="Narrow it with status or issued_after / issued_before; if it should be shorter, check the "
            "provider's status page.",
        )


def _shown(count: int) -> str:
    return f"{count:,}" if count < 10**12 else "over a trillion"


async def fetch_pages(
    fetch_page: Callable[[int], Awaitable[T]],
    pages: range,
    *,
    concurrency: int = 8,
) -> list[T]:
    """Fetch ``pages`` (page numbers) with at most ``concurrency`` in flight; results in page order.

    Only ``concurrency`` workers exist, each taking the next page when its last one is done (and each
    request waits for the provider's budget): a page starts no faster than the budget allows, and a
    huge range costs nothing until pages are read. Callers bound the range first
    (``check_page_count``). The first failure cancels the pages still in flight and is raised.
    """
    results: dict[int, T] = {}
    queue = iter(pages)

    async def worker() -> None:
        for page in queue:  # one shared iterator: each page is taken by exactly one worker
            results[page] = await fetch_page(page)

    try:
        async with anyio.create_task_group() as group:
            for _ in range(max(1, min(concurrency, len(pages)))):
                group.start_soon(worker)
    except BaseExceptionGroup as group_error:
        # Callers expect the provider's own error (an InvoiceError), not a group of them.
        first = group_error.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
    return [results[page] for page in pages]


def page_count(total_items: int, page_size: int) -> int:
    return max(1, math.ceil(total_items / page_size))
