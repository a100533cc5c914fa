"""A provider's request budget: a token bucket that paces requests to its rate limit, shared fairly.

One per provider per process (or one for all replicas, in Redis: ``redis_backend.RedisBudget``);
the provider's HTTP client draws from it before every request.

**Fair share.** Drawn first-come, one customer keeping 30 calls in flight queued ahead of everyone
else: with 120 requests a minute, another customer's single call waited 15 s. So each request
draws twice: first from its principal's own bucket, whose rate is the provider's divided by the
principals that drew in the last ``ACTIVE_SECONDS`` (each its fair share, re-divided as customers
come and go), then from the provider's bucket. A customer's own queue forms at its own bucket; the
provider's bucket sees at most its share of requests from it, and always has room for the others.
Alone, a customer has the whole budget. The principal is the one the request acts for
(``budget_share``, set when the server resolves it); requests without one share a bucket.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable

import anyio

__all__ = ["RequestBudget", "budget_share", "ACTIVE_SECONDS", "NO_SHARE"]

ACTIVE_SECONDS = 10.0
"""A principal that drew from a provider's budget within this many seconds counts toward its shares."""

NO_SHARE = "-"
budget_share: contextvars.ContextVar[str] = contextvars.ContextVar("budget_share", default=NO_SHARE)
"""Whose share a request draws from: the principal the current call acts for (an opaque key)."""

_MOST_PRINCIPALS = 10_000
"""Principals remembered per provider at most (those idle longest are forgotten first)."""


class _Bucket:
    """A token bucket drawn by one waiter at a time (FIFO), whose rate may change between draws."""

    def __init__(self, capacity: float, clock: Callable[[], float]) -> None:
        self.tokens = capacity
        self.updated = clock()
        self.lock = anyio.Lock()

    async def draw(self, rate: float, capacity: float, clock: Callable[[], float]) -> None:
        async with self.lock:
            self._refill(rate, capacity, clock)
            if self.tokens < 1:
                await anyio.sleep((1 - self.tokens) / rate)
                self._refill(rate, capacity, clock)
            self.tokens -= 1

    def _refill(self, rate: float, capacity: float, clock: Callable[[], float]) -> None:
        now = clock()
        self.tokens = min(capacity, self.tokens + (now - self.updated) * rate)
        self.updated = now


class RequestBudget:
    """At most ``per_minute`` requests a minute, with bursts up to ``burst``, each principal a fair share.

    One instance per provider per process; callers ``await budget.acquire()`` before each request.
    """

    def __init__(
        self, per_minute: int, *, burst: int | None = None, clock: Callable[[], float] = time.monotonic
    ):
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.per_minute = per_minute
        self.rate = per_minute / 60.0
        self.capacity = float(burst if burst is not None else max(1, min(per_minute // 6, 50)))
        self._clock = clock
        self._provider = _Bucket(self.capacity, clock)
        self._shares: dict[str, _Bucket] = {}
        self._last_drawn: dict[str, float] = {}
        """Each principal's last draw, oldest first (re-inserted on every draw)."""

    def active_principals(self) -> int:
        """Principals that drew within ``ACTIVE_SECONDS`` (forgetting those that did not)."""
        horizon = self._clock() - ACTIVE_SECONDS
        while self._last_drawn:
            oldest, drawn = next(iter(self._last_drawn.items()))
            if drawn >= horizon and len(self._last_drawn) <= _MOST_PRINCIPALS:
                break
            del self._last_drawn[oldest]
            share = self._shares.get(oldest)
            if share is not None and not share.lock.locked():
                del self._shares[oldest]
        return max(1, len(self._last_drawn))

    async def acquire(self) -> None:
        principal = budget_share.get()
        self._last_drawn.pop(principal, None)
        self._last_drawn[principal] = self._clock()
        share = self._shares.get(principal)
        if share is None:
            share = self._shares[principal] = _Bucket(self.capacity, self._clock)
        active = self.active_principals()
        await share.draw(self.rate / active, max(1.0, self.capacity / active), self._clock)
        await self._provider.draw(self.rate, self.capacity, self._clock)
