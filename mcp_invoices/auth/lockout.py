"""How often a sign-in may be tried: wrong codes and passwords, and codes sent.

Counters live in the database (``oauth_attempts``, one row per key, so any replica counts), keyed only
by digests: an account is ``sha256(provider, email)``, a client address and a flow id are hashed too,
so no counter names a person, an address or a live flow.

- A wrong code or password counts against the account, the client's address and this sign-in: at
  ``CODE_ATTEMPTS`` for the account or the sign-in, or ``ADDRESS_ATTEMPTS`` for the address, within
  ``LOCK_WINDOW``, it is locked.
- Codes are sent at most ``SENDS_PER_ACCOUNT`` times an hour per account and ``SENDS_PER_ADDRESS``
  per client address; past that none is sent and the page says the same as always.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio.to_thread

__all__ = [
    "ADDRESS_ATTEMPTS",
    "CODE_ATTEMPTS",
    "LOCK_WINDOW",
    "SENDS_PER_ACCOUNT",
    "SENDS_PER_ADDRESS",
    "Attempts",
    "Lockout",
    "digest",
]

LOCK_WINDOW = timedelta(minutes=15)
CODE_ATTEMPTS = 5
"""Wrong codes per account (and per flow) within ``LOCK_WINDOW`` before it is locked."""
ADDRESS_ATTEMPTS = 20
"""Wrong codes from one client address within ``LOCK_WINDOW``."""
SENDS_PER_ACCOUNT = 5
SENDS_PER_ADDRESS = 20
_SEND_WINDOW = timedelta(hours=1)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Attempts:
    """The failure counters one wrong code or password counts against: the account, the client's
    address and this sign-in (each a key of the shared store, never the address or flow id itself)."""

    account: str
    address: str
    flow: str

    @classmethod
    def of(cls, data: Mapping[str, Any], client_address: str, flow_id: str) -> Attempts:
        return cls(
            account=f"code:account:{data['account']}",
            address=f"code:address:{digest(client_address)}",
            flow=f"code:flow:{digest(flow_id)}",
        )


@dataclass(frozen=True)
class Lockout:
    """The counters of ``mcp_invoices/auth/grants.py::OAuthStore`` (``fail``, ``failures``)."""

    store: Any

    async def _count(self, function: Any, *args: Any) -> int:
        count: int = await anyio.to_thread.run_sync(function, *args)
        return count

    async def is_locked(self, attempts: Attempts) -> bool:
        """Whether the account, the client address or this sign-in has used up its tries."""
        account = await self._count(self.store.failures, attempts.account)
        here = await self._count(self.store.failures, attempts.address)
        tries = await self._count(self.store.failures, attempts.flow)
        return account >= CODE_ATTEMPTS or here >= ADDRESS_ATTEMPTS or tries >= CODE_ATTEMPTS

    async def count_failure(self, attempts: Attempts) -> int:
        """Count one wrong try against all three; the tries left (0 or less: now locked)."""
        account = await self._count(self.store.fail, attempts.account, LOCK_WINDOW)
        here = await self._count(self.store.fail, attempts.address, LOCK_WINDOW)
        tries = await self._count(self.store.fail, attempts.flow, LOCK_WINDOW)
        if here >= ADDRESS_ATTEMPTS:
            return 0
        return CODE_ATTEMPTS - max(account, tries)

    async def may_send(self, account: str, client_address: str) -> bool:
        """Count one code sent to ``account`` from ``client_address``; whether it is within the limits."""
        sends = await self._count(self.store.fail, f"send:account:{account}", _SEND_WINDOW)
        here = await self._count(self.store.fail, f"send:address:{digest(client_address)}", _SEND_WINDOW)
        return sends <= SENDS_PER_ACCOUNT and here <= SENDS_PER_ADDRESS
