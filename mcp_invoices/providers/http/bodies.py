"""Bodies: bounded reads, and the messages for a body that cannot be read (decoding is ``providers/wire.py``'s)."""

from __future__ import annotations

import httpx2

from mcp_invoices.domain.errors import ProviderUnavailable

__all__ = [
    "DOCUMENT_MAX_BYTES",
    "JSON_MAX_BYTES",
    "BodyTooLarge",
    "loaded",
    "not_json",
    "number_out_of_range",
]

JSON_MAX_BYTES = 4 * 1024 * 1024
"""Largest API answer read: a 100-invoice page is well under 1 MiB; a bigger one is refused mid-stream."""
DOCUMENT_MAX_BYTES = 25 * 1024 * 1024


def number_out_of_range(provider: str) -> ProviderUnavailable:
    """``provider`` sent a number no amount, count or id can be (``json_guard``'s bounds)."""
    return ProviderUnavailable(
        f"{provider} sent a number far too large (or long) to be an amount, a count or an id.",
        hint="Try again later; if it persists, the provider's data or the configured base URL is wrong.",
    )


def not_json(provider: str) -> ProviderUnavailable:
    """``provider`` (or something in front of it) answered with a body that is not JSON."""
    return ProviderUnavailable(
        f"{provider} sent a response that is not valid JSON.",
        hint="Try again in a moment; if it persists, check the provider's status page.",
    )


def loaded(response: httpx2.Response, body: bytes, request: httpx2.Request | None = None) -> httpx2.Response:
    """``response`` with ``body`` as its content; headers that described the wire form are dropped."""
    kept = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx2.Response(
        response.status_code, headers=kept, content=body, request=request, extensions=response.extensions
    )


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit
