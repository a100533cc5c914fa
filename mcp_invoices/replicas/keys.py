"""Key names in the shared store, built only from a ``Scope`` (or, for provider-wide state, a provider id).

Layout (``mcpi`` is ``MCP_INVOICES_REDIS_PREFIX``)::

    mcpi:{provider}:{scope}:doc:{kind}:{invoice}:{fingerprint}   rendered document (bytes)
    mcpi:{provider}:{scope}:session                              minted provider session (encrypted)
    mcpi:{provider}:{scope}:gen-lock:{order}                     generation lock (random owner token)
    mcpi:{provider}:{scope}:gen-requested:{order}                generation asked for (time asked)
    mcpi:{provider}:_all:budget                                  the provider's request budget (token bucket)
    mcpi:_docs                                                   index of document keys (sorted by time)

``{scope}`` is a keyed hash of the scope's cache key (provider and customer id): HMAC-SHA-256 under
a key derived from ``MCP_INVOICES_SECRET_KEY`` when one is set (then a customer id cannot be
recovered by hashing guesses), plain SHA-256 otherwise. Invoice and order ids are hashed too, so
no key reveals whose or which object it holds.
"""

from __future__ import annotations

import hashlib
import hmac

from pydantic import SecretStr

from mcp_invoices.domain.models import Invoice
from mcp_invoices.principal import Scope
from mcp_invoices.replicas.documents import invoice_fingerprint

__all__ = ["KeySpace"]

_LABEL = b"mcp-invoices shared-state keys\x00"


class KeySpace:
    def __init__(self, prefix: str = "mcpi", secret_key: SecretStr | None = None) -> None:
        if not prefix or any(character in prefix for character in " {}\n"):
            raise ValueError("the key prefix must be a non-empty word")
        self.prefix = prefix
        self._hash_key = (
            hashlib.sha256(_LABEL + secret_key.get_secret_value().encode()).digest() if secret_key else None
        )

    def _digest(self, text: str, size: int = 32) -> str:
        data = text.encode("utf-8", "surrogatepass")
        if self._hash_key is not None:
            return hmac.new(self._hash_key, data, hashlib.sha256).hexdigest()[:size]
        return hashlib.sha256(data).hexdigest()[:size]

    def scope(self, scope: Scope) -> str:
        """The prefix of every key of one scope; no two scopes share one."""
        return f"{self.prefix}:{scope.provider}:{self._digest(scope.cache_key())}"

    def document(self, scope: Scope, kind: str, invoice: Invoice) -> str:
        return f"{self.scope(scope)}:doc:{kind}:{self._digest(invoice.id, 24)}:{invoice_fingerprint(invoice)[:32]}"

    def session(self, scope: Scope) -> str:
        return f"{self.scope(scope)}:session"

    def generation_lock(self, scope: Scope, order_id: str) -> str:
        return f"{self.scope(scope)}:gen-lock:{self._digest(order_id, 24)}"

    def generation_requested(self, scope: Scope, order_id: str) -> str:
        return f"{self.scope(scope)}:gen-requested:{self._digest(order_id, 24)}"

    def budget(self, provider: str) -> str:
        return f"{self.prefix}:{provider}:_all:budget"

    def budget_principal(self, share: str) -> str:
        """A principal's share of a budget, named by a digest: no key names a customer."""
        return self._digest(share, 24)

    @property
    def document_index(self) -> str:
        return f"{self.prefix}:_docs"
