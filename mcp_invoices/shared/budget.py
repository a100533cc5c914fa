"""A provider's request budget: a token bucket that paces requests to its rate limit.

One per provider per process (or one for all replicas, in Redis: ``redis_backend.RedisBudget``);
the provider's HTTP client draws from it before every request.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio

__all__ = ["RequestBudget"]


class RequestBudget:
    """A token bucket: at most ``per_minute`` requests a minute, with bursts up to ``burst``.

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
        self._tokens = self.capacity
        self._clock = clock
        self._updated = clock()
        self._lock = anyio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self) -> None:
        async with self._lock:  # one waiter at a time keeps the order fair
            self._refill()
            if self._tokens < 1:
                await anyio.sleep((1 - self._tokens) / self.rate)
                self._refill()
            self._tokens -= 1
