"""A bounded, per-principal cache for documents that only change when their invoice does.

Keys always start with the scope's cache key (provider and customer), so one customer's entry can
never answer another's request, and with a fingerprint of the invoice as it is now, so a payment
recorded since (a new status, a new amount paid) misses the cache instead of serving a stale PDF.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from mcp_invoices.domain.models import Invoice
from mcp_invoices.principal import Scope

__all__ = ["DocumentCache", "invoice_fingerprint"]


def invoice_fingerprint(invoice: Invoice) -> str:
    return hashlib.sha256(invoice.model_dump_json().encode()).hexdigest()


class DocumentCache:
    """LRU over entries and bytes; thread-safe (renders finish in worker threads)."""

    def __init__(self, *, max_entries: int = 512, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, ...], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def key(scope: Scope, kind: str, invoice: Invoice) -> tuple[str, ...]:
        return (scope.cache_key(), kind, invoice.id, invoice_fingerprint(invoice))

    def get(self, key: tuple[str, ...]) -> bytes | None:
        with self._lock:
            value = self._entries.get(key)
            if value is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: tuple[str, ...], value: bytes) -> None:
        if len(value) > self.max_bytes // 4:  # one huge document must not flush everything else
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous)
            self._entries[key] = value
            self._bytes += len(value)
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted)

    def __len__(self) -> int:
        return len(self._entries)
