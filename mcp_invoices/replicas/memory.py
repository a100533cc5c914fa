"""The in-process backend: one server process is the whole deployment (stdio, or one HTTP replica).

An LRU document cache, minted sessions in a dict, a per-order ``anyio.Lock`` and a dict of
requested generations: nothing leaves the process, which is all one process needs.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence

import anyio
from pydantic import SecretStr

from mcp_invoices.domain.models import Invoice
from mcp_invoices.principal import Scope
from mcp_invoices.replicas.base import Budget, DocumentStore, GenerationGuard, SessionStore, SharedState
from mcp_invoices.replicas.budget import RequestBudget
from mcp_invoices.replicas.documents import DocumentCache

__all__ = ["InProcessSharedState", "MemoryDocuments", "MemoryGenerations", "MemorySessions"]

Clock = Callable[[], float]


class MemoryDocuments(DocumentStore):
    def __init__(self, cache: DocumentCache | None = None) -> None:
        self.cache = cache if cache is not None else DocumentCache()

    async def get(self, scope: Scope, kind: str, invoice: Invoice) -> bytes | None:
        return self.cache.get(self.cache.key(scope, kind, invoice))

    async def put(self, scope: Scope, kind: str, invoice: Invoice, document: bytes) -> None:
        self.cache.put(self.cache.key(scope, kind, invoice), document)


class MemorySessions(SessionStore):
    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._sessions: dict[str, tuple[SecretStr, float]] = {}

    async def get(self, scope: Scope) -> SecretStr | None:
        entry = self._sessions.get(scope.cache_key())
        if entry is None or self._clock() >= entry[1]:
            return None
        return entry[0]

    async def put(self, scope: Scope, token: SecretStr, ttl_seconds: float) -> None:
        self._sessions[scope.cache_key()] = (token, self._clock() + ttl_seconds)


class MemoryGenerations(GenerationGuard):
    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._locks: dict[tuple[str, str], anyio.Lock] = {}
        self._requested: dict[tuple[str, str], float] = {}
        """When each (scope, order) generation expires as "in flight", on ``clock``."""

    @contextlib.asynccontextmanager
    async def lock(self, scope: Scope, order_id: str) -> AsyncIterator[None]:
        async with self._locks.setdefault((scope.cache_key(), order_id), anyio.Lock()):
            yield

    async def mark_requested(self, scope: Scope, order_id: str, ttl_seconds: float) -> None:
        self._requested[(scope.cache_key(), order_id)] = self._clock() + ttl_seconds

    async def requested(self, scope: Scope, order_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        now = self._clock()
        for order_id in order_ids:
            key = (scope.cache_key(), order_id)
            until = self._requested.get(key)
            if until is None:
                continue
            if now > until:
                del self._requested[key]  # the provider never finished it: a later call may ask again
                continue
            found.add(order_id)
        return found

    async def clear_requested(self, scope: Scope, order_id: str) -> None:
        self._requested.pop((scope.cache_key(), order_id), None)


class InProcessSharedState(SharedState):
    """All state in this process's memory (the default when ``MCP_INVOICES_REDIS_URL`` is unset)."""

    def __init__(self, *, clock: Clock = time.monotonic, documents: DocumentCache | None = None) -> None:
        self.documents = MemoryDocuments(documents)
        self.sessions = MemorySessions(clock)
        self.generations = MemoryGenerations(clock)

    @property
    def description(self) -> str:
        return "in-process"

    def budget(self, provider: str, per_minute: int, *, burst: int | None = None) -> Budget:
        return RequestBudget(per_minute, burst=burst)

    async def ping(self) -> None:
        return None
