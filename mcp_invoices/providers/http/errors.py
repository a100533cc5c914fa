"""What a failed request means to the user: one table, in the spirit of httpx's exception map.

Each row pairs an outcome with the domain error, message and hint it becomes. An outcome is either
a status the caller did not expect (an ``int``) or the exception that stopped the request; the
first row that matches wins, so narrower rows come first. Not-found is not here: a provider lists
404 in ``expected`` and answers with ``errors.not_found`` itself, so that "missing" and "not yours"
share one wording.

Messages and hints name only the provider, its host, a status and this server's own bounds: never
a URL's query or credentials, a header, or a word of the answer's body.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

import httpx2

from mcp_invoices.domain.errors import (
    InvalidArgument,
    InvoiceError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Unauthorized,
)
from mcp_invoices.providers.http.bodies import BodyTooLarge

__all__ = ["FAILURES", "Deadline", "Failure", "failure_error"]


class Deadline(Exception):
    """The whole call outlived ``RetryPolicy.total_budget`` (raised nowhere: an outcome of the table)."""


@dataclass(frozen=True, slots=True)
class Failure:
    """What an outcome becomes. ``{name}``, ``{host}``, ``{status}``, ``{auth_hint}``, ``{wait}``,
    ``{seconds}`` and ``{mib}`` in the texts are filled in by ``failure_error``."""

    error: type[InvoiceError]
    message: str
    hint: str


_LATER = "Try again later, or check {name}'s status page."
_BASE_URL = "Try again later; if it persists, check the configured {name} base URL."
_NO_ANSWER = Failure(ProviderUnavailable, "The connection to {name} failed before it answered.", _LATER)

FAILURES: tuple[tuple[Container[int] | type[BaseException] | type[int], Failure], ...] = (
    # -- an answer with a status the caller did not expect ----------------------------------------
    ({401, 403}, Failure(Unauthorized, "{name} refused the credentials.", "{auth_hint}")),
    (
        {429},
        Failure(
            RateLimited, "{name} is limiting how often this server may call it.", "{wait} and try again."
        ),
    ),
    (range(500, 1000), Failure(ProviderUnavailable, "{name} answered HTTP {status}.", _LATER)),
    (
        int,
        Failure(
            ProviderUnavailable, "{name} answered HTTP {status}, which this server did not expect.", _BASE_URL
        ),
    ),
    # -- this server's own bounds -----------------------------------------------------------------
    (
        Deadline,
        Failure(
            ProviderTimeout,
            "{name} had not finished answering after {seconds:g} seconds "
            "(waiting, connecting or sending its answer too slowly), so the call was stopped.",
            _LATER,
        ),
    ),
    (
        BodyTooLarge,
        Failure(
            ProviderUnavailable,
            "{name} sent an answer larger than {mib} MiB, so it was refused unread.",
            _BASE_URL,
        ),
    ),
    (
        # e.g. an id of many kilobytes: the caller's mistake, not the provider's
        httpx2.InvalidURL,
        Failure(
            InvalidArgument,
            "The id or cursor is too long or malformed to send to {name}.",
            "Pass the id or cursor exactly as listed.",
        ),
    ),
    # -- no answer --------------------------------------------------------------------------------
    (
        httpx2.PoolTimeout,
        Failure(
            ProviderTimeout,
            "Too many requests to {name} are in flight from this server.",
            "Try again in a moment.",
        ),
    ),
    (
        httpx2.ConnectTimeout,
        Failure(
            ProviderTimeout,
            "{name} at {host} could not be reached in time.",
            "Try again later, or check {name}'s status page and the network.",
        ),
    ),
    (httpx2.TimeoutException, Failure(ProviderTimeout, "{name} did not answer in time.", _LATER)),
    (
        httpx2.ConnectError,
        Failure(
            ProviderUnavailable,
            "Could not connect to {name} at {host}.",
            "Check the network and the configured {name} base URL, or try again later.",
        ),
    ),
    (httpx2.TransportError, _NO_ANSWER),
    # -- an answer that could not be read (e.g. a body that cannot be decoded): not transient -----
    (
        httpx2.RequestError,
        Failure(
            ProviderUnavailable,
            "{name} sent a response that could not be decoded.",
            "Try again in a moment; if it persists, check the provider's status page.",
        ),
    ),
)


def _matches(key: Container[int] | type[BaseException] | type[int], outcome: int | BaseException) -> bool:
    if isinstance(key, type):
        return isinstance(outcome, key) and not isinstance(outcome, bool)
    return isinstance(outcome, int) and outcome in key


def failure_error(
    outcome: int | BaseException,
    *,
    name: str,
    host: str,
    auth_hint: str = "",
    seconds: float = 0.0,
    retry_after: float | None = None,
) -> InvoiceError:
    """The error for ``outcome``: an unexpected status, or what stopped the request.

    ``retry_after`` is the wait a 429 asked for (already capped), ``seconds`` the call's whole budget.
    """
    # An exception no row names: the request failed before it was answered.
    failure = next((failure for key, failure in FAILURES if _matches(key, outcome)), _NO_ANSWER)
    fields = {
        "name": name,
        "host": host,
        "status": outcome if isinstance(outcome, int) else "",
        "auth_hint": auth_hint,
        "wait": "Wait a minute" if retry_after is None else f"Wait {retry_after:g} seconds",
        "seconds": seconds,
        "mib": outcome.limit // (1024 * 1024) if isinstance(outcome, BodyTooLarge) else 0,
    }
    message, hint = failure.message.format(**fields), failure.hint.format(**fields)
    if failure.error is RateLimited:
        return RateLimited(message, retry_after=retry_after, hint=hint)
    return failure.error(message, hint=hint)
