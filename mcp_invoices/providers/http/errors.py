"""What a failed request means to the user: one table per kind of failure, in the spirit of httpx's
exception map. Not-found is not here: a provider lists 404 in ``expected`` and answers with
``errors.not_found`` itself, so that "missing" and "not yours" share one wording."""

from __future__ import annotations

import httpx2

from mcp_invoices.domain.errors import (
    InvoiceError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Unauthorized,
)
from mcp_invoices.providers.http.retry import MAX_REPORTED_RETRY_AFTER, retry_after_seconds

__all__ = ["status_error", "transport_error"]

TRANSPORT_ERRORS: tuple[tuple[type[Exception], type[InvoiceError], str, str], ...] = (
    # (failure, error, message, hint), first match wins: {name} is the provider, {host} its host.
    (
        httpx2.PoolTimeout,
        ProviderTimeout,
        "Too many requests to {name} are in flight from this server.",
        "Try again in a moment.",
    ),
    (
        httpx2.ConnectTimeout,
        ProviderTimeout,
        "{name} at {host} could not be reached in time.",
        "Try again later, or check {name}'s status page and the network.",
    ),
    (
        httpx2.TimeoutException,
        ProviderTimeout,
        "{name} did not answer in time.",
        "Try again later, or check {name}'s status page.",
    ),
    (
        httpx2.ConnectError,
        ProviderUnavailable,
        "Could not connect to {name} at {host}.",
        "Check the network and the configured {name} base URL, or try again later.",
    ),
    (
        Exception,
        ProviderUnavailable,
        "The connection to {name} failed before it answered.",
        "Try again later, or check {name}'s status page.",
    ),
)


def transport_error(name: str, host: str, failure: httpx2.TransportError | None) -> InvoiceError:
    """The error for a request that got no answer (``failure`` None: no try was made at all)."""
    for kind, error, message, hint in TRANSPORT_ERRORS:
        if isinstance(failure, kind) or kind is Exception:
            return error(message.format(name=name, host=host), hint=hint.format(name=name, host=host))
    raise AssertionError("unreachable: the table ends with a catch-all")  # pragma: no cover


def status_error(name: str, response: httpx2.Response, auth_hint: str) -> InvoiceError:
    """The error for an answer with a status the caller did not expect."""
    status = response.status_code
    if status in (401, 403):
        return Unauthorized(f"{name} refused the credentials.", hint=auth_hint)
    if status == 429:
        asked = retry_after_seconds(response)
        retry_after = None if asked is None else min(asked, MAX_REPORTED_RETRY_AFTER)
        wait = f"Wait {retry_after:g} seconds" if retry_after is not None else "Wait a minute"
        return RateLimited(
            f"{name} is limiting how often this server may call it.",
            retry_after=retry_after,
            hint=f"{wait} and try again.",
        )
    if status >= 500:
        return ProviderUnavailable(
            f"{name} answered HTTP {status}.", hint=f"Try again later, or check {name}'s status page."
        )
    return ProviderUnavailable(
        f"{name} answered HTTP {status}, which this server did not expect.",
        hint=f"Try again later; if it persists, check the configured {name} base URL.",
    )
