"""How hard to try: the retry policy, which methods may be repeated, and a provider's ``Retry-After``."""

from __future__ import annotations

import email.utils
import math
import time
from dataclasses import dataclass

import httpx2

__all__ = [
    "IDEMPOTENT_METHODS",
    "MAX_REPORTED_RETRY_AFTER",
    "MIN_ATTEMPT_WINDOW",
    "RETRY_AFTER_STATUSES",
    "RetryPolicy",
    "retry_after_seconds",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
"""Methods retried by default: repeating them cannot create a second side effect."""

RETRY_AFTER_STATUSES = frozenset({429, 503})
"""Statuses whose ``Retry-After`` header is honoured (RFC 9110 defines it for these)."""

MIN_ATTEMPT_WINDOW = 1.0
"""A retry that would have less than this many seconds of budget left to answer is not made."""

MAX_REPORTED_RETRY_AFTER = 3600.0
"""A provider's ``Retry-After`` is passed on to the caller at most this long (an hour): a longer
wait is a provider's mistake, and an assistant must not be told to wait for years."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up; the defaults suit an interactive chat turn."""

    attempts: int = 4
    """Total tries (first one included) for a request that may be repeated."""
    base_delay: float = 0.2
    """Seconds; the backoff ceiling doubles from here on every retry (full jitter below it)."""
    max_delay: float = 5.0
    max_retry_after: float = 10.0
    """Cap on how long a provider's ``Retry-After`` may make us wait between two tries."""
    total_budget: float = 20.0
    """Seconds for the whole call, from waiting for the request budget to the last byte of the last
    try, waits included: a provider that sends its answer one byte at a time is cut off here."""
    retry_statuses: frozenset[int] = frozenset({429, 502, 503, 504})

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1.")
        if min(self.base_delay, self.max_delay, self.max_retry_after, self.total_budget) < 0:
            raise ValueError("RetryPolicy delays and budget must not be negative.")


def retry_after_seconds(response: httpx2.Response, *, now: float | None = None) -> float | None:
    """The response's ``Retry-After`` in seconds (delta-seconds or HTTP-date), or ``None``.

    A date in the past gives ``0.0``; an unreadable value gives ``None`` rather than an error,
    because a malformed hint must not turn a retryable answer into a crash.
    """
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive one is read the same way
        return None
    current = time.time() if now is None else now
    return float(max(0, math.ceil(when.timestamp() - current)))


DEFAULT_RETRY = RetryPolicy()
"""The policy of an interactive chat turn (``RetryPolicy``'s defaults)."""
