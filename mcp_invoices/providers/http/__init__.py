"""The one HTTP layer every remote provider client uses, in small parts:

- ``client``: ``ProviderHTTP``, the pooled client with the deadline, budget and retry loop;
- ``retry``: the retry policy and ``Retry-After``;
- ``bodies``: bounded reads and JSON with exact decimals;
- ``errors``: what a failed request means to the user (one table, not if-chains);
- ``paths``: ids made safe as one path segment;
- ``logs``: httpx2's request log without query strings or URL credentials.


Each remote provider holds one ``ProviderHTTP`` per process, built by ``ProviderHTTP.for_provider``
from its spec and the ``Tuning`` its constructor takes: one pooled connection set that keeps no
cookies, explicit timeouts, bounded retries with full-jitter backoff, and a single mapping from
transport failures and unexpected statuses to ``mcp_invoices.domain.errors`` (``errors.FAILURES``). Not-found is deliberately *not* mapped
here: a provider lists 404 in ``expected`` and answers with ``errors.not_found`` itself, so that
"missing" and "not yours" share one wording.

Secrets travel only in headers. Nothing here puts a header value, a query string or URL
credentials into an exception message, a ``repr`` or a log line.
"""

from __future__ import annotations

from mcp_invoices.providers.http.bodies import (
    DOCUMENT_MAX_BYTES,
    JSON_MAX_BYTES,
    not_json,
    number_out_of_range,
)
from mcp_invoices.providers.http.client import ProviderHTTP, Tuning
from mcp_invoices.providers.http.paths import path_segment
from mcp_invoices.providers.http.retry import (
    IDEMPOTENT_METHODS,
    MAX_REPORTED_RETRY_AFTER,
    RetryPolicy,
    retry_after_seconds,
)

__all__ = [
    "DOCUMENT_MAX_BYTES",
    "IDEMPOTENT_METHODS",
    "JSON_MAX_BYTES",
    "MAX_REPORTED_RETRY_AFTER",
    "ProviderHTTP",
    "RetryPolicy",
    "Tuning",
    "not_json",
    "number_out_of_range",
    "path_segment",
    "retry_after_seconds",
]
