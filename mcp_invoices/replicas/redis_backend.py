"""The Redis backend: every replica of a deployment sees the same cache, sessions, budgets and locks.

- Documents: ``SET key value PX ttl`` plus a sorted-set index of document keys by time, trimmed to
  ``max_documents`` entries in the same Lua script (oldest deleted first), and a size cap per entry:
  the cache's memory is bounded by ``max_documents * max_document_bytes`` whatever Redis's own
  ``maxmemory-policy`` is. Entries also expire after ``document_ttl_seconds``.
- Sessions: encrypted (Fernet, key derived from ``MCP_INVOICES_SECRET_KEY``) and bound to their key
  name, so a value copied under another customer's key does not open; stored until shortly before
  the provider expires them. Without a secret key they are not stored here at all: each process
  keeps its own (a warning says so at start).
- Budgets: one token bucket per provider, refilled and drawn atomically by a Lua script on Redis's
  clock; a caller that finds it empty reserves the next token and sleeps until it is due.
- Generation lock: ``SET key token NX PX ttl`` with a random token, released by a compare-and-delete
  script (never someone else's lock). It fails closed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Sequence

import anyio
from cryptography.fernet import InvalidToken
from pydantic import SecretStr

from mcp_invoices.domain.models import Invoice
from mcp_invoices.principal import Scope
from mcp_invoices.replicas.base import (
    Budget,
    DocumentStore,
    GenerationGuard,
    SessionStore,
    SharedState,
    SharedStateUnavailable,
)
from mcp_invoices.replicas.budget import ACTIVE_SECONDS, RequestBudget, budget_share
from mcp_invoices.replicas.keys import KeySpace
from mcp_invoices.replicas.memory import MemorySessions
from mcp_invoices.replicas.redis_client import RedisConnection, WarnOnce

__all__ = ["RedisSharedState"]

logger = logging.getLogger("mcp_invoices.replicas")

_STORE_DOCUMENT = """
local key, index = KEYS[1], KEYS[2]
local ttl_ms, max_entries = tonumber(ARGV[2]), tonumber(ARGV[3])
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('SET', key, ARGV[1], 'PX', ttl_ms)
redis.call('ZADD', index, now_ms, key)
redis.call('ZREMRANGEBYSCORE', index, '-inf', now_ms - ttl_ms)
local excess = redis.call('ZCARD', index) - max_entries
if excess > 0 then
  local oldest = redis.call('ZPOPMIN', index, excess)
  for i = 1, #oldest, 2 do redis.call('DEL', oldest[i]) end
end
redis.call('PEXPIRE', index, ttl_ms)
return 1
"""

# The token bucket in KEYS[1], refilled at ``rate_per_ms`` up to ``capacity``; answers the wait in ms.
_BUCKET = """
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens, updated = tonumber(state[1]), tonumber(state[2])
if tokens == nil or updated == nil then tokens, updated = capacity, now_ms end
tokens = math.min(capacity, tokens + math.max(0, now_ms - updated) * rate_per_ms) - 1
local wait_ms = 0
if tokens < 0 then wait_ms = math.ceil(-tokens / rate_per_ms) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now_ms))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate_per_ms) + wait_ms + 1000)
return wait_ms
"""

_TAKE_TOKEN = (
    """
local rate_per_ms, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
"""
    + _BUCKET
)

_TAKE_SHARE = (
    """
local rate_per_ms, capacity, active_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4])
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[2], now_ms, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now_ms - active_ms)
redis.call('PEXPIRE', KEYS[2], active_ms)
local active = math.max(1, redis.call('ZCARD', KEYS[2]))
rate_per_ms = rate_per_ms / active
capacity = math.max(1, capacity / active)
"""
    + _BUCKET
)
"""A principal's share of a provider's bucket (see ``replicas/budget.py``): the principals that drew in the
last ``active_ms`` (a sorted set, KEYS[2]) divide the provider's rate and burst; KEYS[1] is this
principal's own bucket. The wait is reserved: concurrent callers queue behind each other in time."""

_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _fernet(secret_key: SecretStr):  # type: ignore[no-untyped-def]
    from cryptography.fernet import Fernet

    digest = hashlib.sha256(
        b"mcp-invoices shared provider sessions\x00" + secret_key.get_secret_value().encode()
    )
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


class RedisDocuments(DocumentStore):
    def __init__(
        self,
        redis: RedisConnection,
        keys: KeySpace,
        *,
        max_documents: int,
        max_document_bytes: int,
        document_ttl_seconds: float,
    ) -> None:
        self._redis, self._keys = redis, keys
        self.max_documents, self.max_document_bytes = max_documents, max_document_bytes
        self._ttl_ms = int(document_ttl_seconds * 1000)
        self._store = redis.client.register_script(_STORE_DOCUMENT)
        self._warn = WarnOnce()

    async def get(self, scope: Scope, kind: str, invoice: Invoice) -> bytes | None:
        try:
            value: bytes | None = await self._redis.client.get(self._keys.document(scope, kind, invoice))
        except Exception as error:
            if not self._redis.is_failure(error):
                raise
            self._warn("document cache unreachable: serving a miss", store=self._redis.location)
            return None
        return value

    async def put(self, scope: Scope, kind: str, invoice: Invoice, document: bytes) -> None:
        if len(document) > self.max_document_bytes:
            return  # one huge document must not push out everything else
        try:
            await self._store(
                keys=[self._keys.document(scope, kind, invoice), self._keys.document_index],
                args=[document, self._ttl_ms, self.max_documents],
            )
        except Exception as error:
            if not self._redis.is_failure(error):
                raise
            self._warn("document cache unreachable: not stored", store=self._redis.location)


class RedisSessions(SessionStore):
    """Encrypted sessions in Redis; the in-process store stands in while Redis cannot be reached."""

    def __init__(self, redis: RedisConnection, keys: KeySpace, secret_key: SecretStr) -> None:
        self._redis, self._keys = redis, keys
        self._fernet = _fernet(secret_key)
        self._fallback = MemorySessions()
        self._warn = WarnOnce()

    async def get(self, scope: Scope) -> SecretStr | None:
        key = self._keys.session(scope)
        try:
            sealed: bytes | None = await self._redis.client.get(key)
        except Exception as error:
            if not self._redis.is_failure(error):
                raise
            self._warn("session store unreachable: using this process's sessions", store=self._redis.location)
            return await self._fallback.get(scope)
        if sealed is None:
            return None
        try:
            payload = json.loads(self._fernet.decrypt(sealed))
        except (InvalidToken, ValueError):  # another secret key, or a value that was not ours: never use it
            return None
        if (
            not isinstance(payload, dict)
            or payload.get("key") != key
            or not isinstance(payload.get("token"), str)
        ):
            return None  # sealed for another key (another customer): refused by construction
        return SecretStr(payload["token"])

    async def put(self, scope: Scope, token: SecretStr, ttl_seconds: float) -> None:
        key = self._keys.session(scope)
        sealed = self._fernet.encrypt(json.dumps({"key": key, "token": token.get_secret_value()}).encode())
        try:
            await self._redis.client.set(key, sealed, px=max(1, int(ttl_seconds * 1000)))
        except Exception as error:
            if not self._redis.is_failure(error):
                raise
            self._warn(
                "session store unreachable: keeping the session in this process", store=self._redis.location
            )
            await self._fallback.put(scope, token, ttl_seconds)


class RedisGenerations(GenerationGuard):
    def __init__(
        self, redis: RedisConnection, keys: KeySpace, *, lock_ttl_seconds: float, lock_wait_seconds: float
    ) -> None:
        self._redis, self._keys = redis, keys
        self.lock_ttl_seconds, self.lock_wait_seconds = lock_ttl_seconds, lock_wait_seconds
        self._release = redis.client.register_script(_RELEASE_LOCK)
        self._local: dict[str, anyio.Lock] = {}

    def _refuse(self) -> SharedStateUnavailable:
        return self._redis.unavailable(
            "generation lock", "no invoice generation is started (it could otherwise be started twice)"
        )

    @contextlib.asynccontextmanager
    async def lock(self, scope: Scope, order_id: str) -> AsyncIterator[None]:
        key = self._keys.generation_lock(scope, order_id)
        # Waiters of this process queue here, so only one of them polls Redis.
        async with self._local.setdefault(key, anyio.Lock()):
            token = secrets.token_hex(16)
            deadline = time.monotonic() + self.lock_wait_seconds
            delay = 0.01
            for _ in range(100_000):  # bounded by the deadline; the count is a second fence
                try:
                    if await self._redis.client.set(
                        key, token, nx=True, px=int(self.lock_ttl_seconds * 1000)
                    ):
                        break
                except Exception as error:
                    if not self._redis.is_failure(error):
                        raise
                    raise self._refuse() from None
                if time.monotonic() >= deadline:
                    raise SharedStateUnavailable(
                        "Another replica of this server is still starting this order's invoice generation.",
                        hint="Call generate_invoice or get_invoice again in a few seconds.",
                    )
                await anyio.sleep(delay)
                delay = min(delay * 2, 0.2)
            try:
                yield
            finally:
                with anyio.CancelScope(shield=True):
                    try:
                        await self._release(keys=[key], args=[token])
                    except Exception as error:
                        if not self._redis.is_failure(error):
                            raise
                        logger.warning(
                            "could not release a generation lock; it expires by itself",
                            extra={"store": self._redis.location, "ttl": self.lock_ttl_seconds},
                        )

    async def mark_requested(self, scope: Scope, order_id: str, ttl_seconds: float) -> None:
        try:
            await self._redis.client.set(
                self._keys.generation_requested(scope, order_id), str(time.time()), px=int(ttl_seconds * 1000)
            )
        except Exception as error:
            if not self._redis.is_failure(error):
                raise
            # The provider was asked already: say so loudly; the lock (held until its TTL) still
            # keeps other replicas from asking again while Redis is away.
            logger.error(
                "asked the provider to generate but could not record it in the shared store",
                extra={"store": self._redis.location},
            )

    async def requested(self, scope: Scope, order_ids: Sequence[str]) -> set[str]:
        if not order_ids:
            return set()
        keys = [self._keys.generation_requested(scope, order_id) for order_id in order_ids]
        try:
            values = await self._redis.client.mget(keys)
        except Exception as error:
            if not self._redis.is_failure(error):
                raise
            raise self._redis.unavailable(
                "generation records", "whether an invoice is being generated cannot be told"
            ) from None
        return {order_id for order_id, value in zip(order_ids, values, strict=True) if value is not None}

    async def clear_requested(self, scope: Scope, order_id: str) -> None:
        try:
            await self._redis.client.delete(self._keys.generation_requested(scope, order_id))
        except Exception as error:
            if not self._redis.is_failure(error):
                raise
            logger.warning(
                "could not clear a generation record; it expires by itself",
                extra={"store": self._redis.location},
            )


class RedisBudget:
    """A provider's token bucket in Redis: the same ``acquire()`` as ``RequestBudget``, one for all replicas."""

    def __init__(
        self,
        redis: RedisConnection,
        keys: KeySpace,
        provider: str,
        per_minute: int,
        *,
        burst: int | None = None,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self._redis, self._keys, self._key = redis, keys, keys.budget(provider)
        self.per_minute = per_minute
        self.capacity = burst if burst is not None else max(1, min(per_minute // 6, 50))
        self._rate_per_ms = per_minute / 60_000.0
        self._take = redis.client.register_script(_TAKE_TOKEN)
        self._take_share = redis.client.register_script(_TAKE_SHARE)
        self._fallback = RequestBudget(per_minute, burst=self.capacity)
        self._warn = WarnOnce()

    async def acquire(self) -> None:
        """The principal's share first (its own queue), then the provider's bucket; see ``replicas/budget.py``."""
        principal = self._keys.budget_principal(budget_share.get())
        try:
            share_ms = int(
                await self._take_share(
                    keys=[f"{self._key}:share:{principal}", f"{self._key}:active"],
                    args=[repr(self._rate_per_ms), self.capacity, principal, int(ACTIVE_SECONDS * 1000)],
                )
            )
            if share_ms > 0:
                await anyio.sleep(share_ms / 1000)
            wait_ms = int(await self._take(keys=[self._key], args=[repr(self._rate_per_ms), self.capacity]))
        except Exception as error:
            if not self._redis.is_failure(error):
                raise
            self._warn(
                "request budget store unreachable: pacing this process alone", store=self._redis.location
            )
            await self._fallback.acquire()
            return
        if wait_ms > 0:
            await anyio.sleep(wait_ms / 1000)


class RedisSharedState(SharedState):
    def __init__(
        self,
        url: str,
        *,
        keys: KeySpace,
        secret_key: SecretStr | None,
        max_documents: int = 1000,
        max_document_bytes: int = 1024 * 1024,
        document_ttl_seconds: float = 24 * 3600.0,
        lock_ttl_seconds: float = 120.0,
        lock_wait_seconds: float = 60.0,
    ) -> None:
        self._redis = RedisConnection(url)
        self.keys = keys
        self.documents = RedisDocuments(
            self._redis,
            keys,
            max_documents=max_documents,
            max_document_bytes=max_document_bytes,
            document_ttl_seconds=document_ttl_seconds,
        )
        self.sessions = (
            RedisSessions(self._redis, keys, secret_key) if secret_key is not None else MemorySessions()
        )
        self.generations = RedisGenerations(
            self._redis, keys, lock_ttl_seconds=lock_ttl_seconds, lock_wait_seconds=lock_wait_seconds
        )

    @property
    def description(self) -> str:
        return f"redis at {self._redis.location}"

    @property
    def redis(self) -> RedisConnection:
        """The guarded client (for the resumable streams' event log, ``server/streams.py``)."""
        return self._redis

    def budget(self, provider: str, per_minute: int, *, burst: int | None = None) -> Budget:
        return RedisBudget(self._redis, self.keys, provider, per_minute, burst=burst)

    async def ping(self) -> None:
        try:
            with anyio.fail_after(5):
                await self._redis.client.ping()
        except TimeoutError:
            raise self._redis.unavailable("ping", "the server cannot serve requests") from None
        except Exception as error:
            if not self._redis.is_failure(error):
                raise
            raise self._redis.unavailable("ping", "the server cannot serve requests") from None

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self._redis.client.aclose()
