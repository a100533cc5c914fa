"""The Redis connection every replica's shared state goes through, and what its failures mean.

- ``RedisConnection``: the client plus one translation of every Redis failure into a clear,
  secret-free ``SharedStateUnavailable`` (it names the store's location, never its password).
- Every command (scripts included) runs through a ``Breaker``: one deadline each, and skipped for a
  few seconds after Redis failed to answer, so a frozen Redis costs one timeout, not one per command.
- ``WarnOnce``: a degradation logged at most once a minute.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import anyio

from mcp_invoices.logs import Throttled
from mcp_invoices.replicas.base import SharedStateUnavailable

__all__ = ["Breaker", "GuardedClient", "RedisConnection", "WarnOnce", "redis_location"]

logger = logging.getLogger("mcp_invoices.replicas")


def redis_location(url: str) -> str:
    """``host:port`` (or the socket path) of a Redis URL: what an error may name (never a password)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path or "(unix socket)"
    host = parts.hostname or "localhost"
    shown = f"[{host}]" if ":" in host else host
    try:
        port = parts.port or 6379
    except ValueError:
        port = 6379
    return f"{shown}:{port}"


class Breaker:
    """Every Redis command with one deadline, and skipped for a few seconds after Redis failed to answer.

    A frozen Redis (stopped, partitioned) accepts connections and answers nothing: each command would
    wait its socket timeout, and a call that makes several (a PDF read: cache get, then put) waited
    them all. After one failure, commands fail at once for ``cooldown`` seconds (callers fall back
    as they do for any Redis failure: a cache miss, this process's budget, a refused generation);
    the first command after it tries Redis again. Each outage is logged once a second with a count.
    """

    def __init__(self, location: str, *, timeout: float, cooldown: float = 5.0) -> None:
        self.location, self.timeout, self.cooldown = location, timeout, cooldown
        self._open_until = -math.inf

    async def run(self, command: Callable[[], Awaitable[Any]]) -> Any:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import RedisError

        if time.monotonic() < self._open_until:
            raise RedisConnectionError("the shared store did not answer a moment ago")
        try:
            with anyio.fail_after(self.timeout):
                result = await command()
        except (RedisError, OSError) as error:  # TimeoutError is an OSError
            self._open_until = time.monotonic() + self.cooldown
            _outages.warning(
                "the shared store (Redis) did not answer; skipping it for a few seconds",
                key=self.location,
                extra={"store": self.location, "error": type(error).__name__, "cooldown_s": self.cooldown},
            )
            raise RedisConnectionError("the shared store did not answer") from None
        self._open_until = -math.inf
        return result


class GuardedClient:
    """The Redis client with every command (scripts included) run through a ``Breaker``."""

    def __init__(self, client: Any, breaker: Breaker) -> None:
        self._client, self._breaker = client, breaker

    def register_script(self, script: str) -> Callable[..., Awaitable[Any]]:
        registered = self._client.register_script(script)

        async def call(*, keys: Sequence[str], args: Sequence[Any]) -> Any:
            return await self._breaker.run(lambda: registered(keys=keys, args=args))

        return call

    async def aclose(self) -> None:
        await self._client.aclose()

    def __getattr__(self, name: str) -> Any:
        command = getattr(self._client, name)
        if name.endswith("_iter") or name in ("pipeline", "pubsub", "connection_pool"):
            return command  # not one awaited command: as the client gives it (maintenance and tests)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self._breaker.run(lambda: command(*args, **kwargs))

        return call


_outages = Throttled(logger, interval=1.0)


class RedisConnection:
    """The client plus one translation of every Redis failure into a clear, secret-free error."""

    def __init__(self, url: str) -> None:
        import redis.asyncio
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        from mcp_invoices.config import redis_timeout

        self.location = redis_location(url)
        timeout = redis_timeout()
        # No retry inside a command: the breaker bounds the whole command by one timeout instead.
        self.client: Any = GuardedClient(
            redis.asyncio.Redis.from_url(
                url,
                socket_connect_timeout=timeout,
                socket_timeout=timeout,
                retry=Retry(NoBackoff(), retries=0),
                health_check_interval=15,
            ),
            Breaker(self.location, timeout=timeout),
        )

    def unavailable(self, what: str, consequence: str) -> SharedStateUnavailable:
        return SharedStateUnavailable(
            f"The shared cache and lock store (Redis at {self.location}) is unreachable, so {consequence}.",
            hint=f"Try again in a moment; the operator should check Redis ({what}) and MCP_INVOICES_REDIS_URL.",
        )

    @staticmethod
    def is_failure(error: BaseException) -> bool:
        from redis.exceptions import RedisError

        return isinstance(error, RedisError | OSError)


class WarnOnce:
    """Log a degradation at most once a minute (an outage must not flood the log)."""

    def __init__(self) -> None:
        self._last = -math.inf  # monotonic seconds of the last warning

    def __call__(self, message: str, **extra: Any) -> None:
        now = time.monotonic()
        if now - self._last >= 60:
            self._last = now
            logger.warning(message, extra=extra)
