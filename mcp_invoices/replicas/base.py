"""What replicas share: one interface, two backends (in-process, Redis).

Every accessor takes the ``Scope`` whose data it reads or writes and builds the key itself, so no
caller can name another customer's entry: cross-customer reads are impossible by construction,
not by care. Provider-wide state (a provider's request budget) takes the provider id only.

Failure policy (README, *Deployment*):
- the document cache degrades to a miss (a warning is logged; the document is rendered again);
- minted provider sessions degrade to this process's memory (a warning; at worst a second mint);
- a request budget degrades to this process's own bucket (a warning);
- the generation guard fails closed: if the shared lock store cannot be reached, no generation is
  started (``service_unavailable``), because one started twice at a provider cannot be undone.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from pydantic import SecretStr

from mcp_invoices.domain.errors import ServiceUnavailable
from mcp_invoices.domain.models import Invoice
from mcp_invoices.principal import Scope

__all__ = [
    "Budget",
    "DocumentStore",
    "GenerationGuard",
    "SessionStore",
    "SharedState",
    "SharedStateUnavailable",
]


class SharedStateUnavailable(ServiceUnavailable):
    """The shared cache and lock store cannot be reached (a ``service_unavailable`` tool error)."""


class Budget(Protocol):
    """What a provider's HTTP client draws from before every request (``RequestBudget`` is one)."""

    async def acquire(self) -> None: ...


class DocumentStore(abc.ABC):
    """Rendered documents, per scope and per the invoice as it is now (a changed invoice misses)."""

    @abc.abstractmethod
    async def get(self, scope: Scope, kind: str, invoice: Invoice) -> bytes | None: ...

    @abc.abstractmethod
    async def put(self, scope: Scope, kind: str, invoice: Invoice, document: bytes) -> None: ...


class SessionStore(abc.ABC):
    """Provider sessions minted for one scope's customer (secrets: encrypted where they leave the process)."""

    @abc.abstractmethod
    async def get(self, scope: Scope) -> SecretStr | None:
        """The scope's session if one is stored and not past its time to live."""

    @abc.abstractmethod
    async def put(self, scope: Scope, token: SecretStr, ttl_seconds: float) -> None:
        """Keep ``token`` for ``ttl_seconds`` (until shortly before the provider expires it)."""


class GenerationGuard(abc.ABC):
    """Makes sure one order's generation is started once, by one replica.

    ``lock`` is held while deciding and asking the provider; ``mark_requested`` records that the
    provider was asked, so that every replica answers "pending" and none asks again until the
    provider has finished (or ``ttl_seconds`` pass without it finishing).
    """

    @abc.abstractmethod
    def lock(self, scope: Scope, order_id: str) -> AbstractAsyncContextManager[None]: ...

    @abc.abstractmethod
    async def mark_requested(self, scope: Scope, order_id: str, ttl_seconds: float) -> None: ...

    @abc.abstractmethod
    async def requested(self, scope: Scope, order_ids: Sequence[str]) -> set[str]:
        """Which of ``order_ids`` have a generation asked for and not yet seen finished."""

    @abc.abstractmethod
    async def clear_requested(self, scope: Scope, order_id: str) -> None:
        """Forget the request (the invoice exists now). Best effort: the record expires anyway."""


class SharedState(abc.ABC):
    """Everything a request needs beyond the request itself and the database."""

    documents: DocumentStore
    sessions: SessionStore
    generations: GenerationGuard

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """Where the state lives, for logs and health answers (never a password)."""

    @abc.abstractmethod
    def budget(self, provider: str, per_minute: int, *, burst: int | None = None) -> Budget:
        """The request budget of ``provider``: one for all replicas when the state is shared.

        ``burst`` defaults to ``RequestBudget``'s (ten seconds' worth of requests, at most 50).
        """

    @abc.abstractmethod
    async def ping(self) -> None:
        """Return when the store answers; raise ``SharedStateUnavailable`` when it does not."""

    async def aclose(self) -> None:  # noqa: B027 - optional: backends that hold nothing keep this one
        """Release connections."""
