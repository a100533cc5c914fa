"""Database calls from the event loop, each with a deadline: a database that does not answer gives a
coded ``service_unavailable`` within the call's deadline, never a hang.

The drivers block, so every call runs in a worker thread. PostgreSQL's ``statement_timeout`` and the
connect and pool timeouts (``storage/engine.py``) end most waits; but a server that is stopped (or
cut off) answers nothing at all, not even to end a statement, and the driver waits for ever. So the
event loop waits at most ``MCP_INVOICES_DATABASE_TIMEOUT`` seconds and then abandons the thread: it
keeps its pooled connection until the database answers or the connection breaks, and the pool's own
timeout turns later calls away quickly. Repeated failures are logged once a second with a count.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

from mcp_invoices.config import database_timeout
from mcp_invoices.domain.errors import ServiceUnavailable
from mcp_invoices.logs import Throttled

__all__ = ["run_bounded", "database_unavailable", "is_database_failure", "report"]

T = TypeVar("T")

logger = logging.getLogger("mcp_invoices.storage")
_log = Throttled(logger, interval=1.0)


def database_unavailable(timeout: float | None) -> ServiceUnavailable:
    """``timeout`` None: the database refused or broke the connection rather than keeping us waiting."""
    what = "is unavailable right now" if timeout is None else f"did not answer within {timeout:g} seconds"
    return ServiceUnavailable(
        f"The server's database {what}, so nothing was read or changed.",
        hint="Try again in a minute; if it keeps failing, the operator should check the database "
        "(MCP_INVOICES_DATABASE_URL or MCP_INVOICES_DB) and the server's /healthz.",
    )


def is_database_failure(error: BaseException) -> bool:
    """A failure of the database itself (unreachable, stopped, locked, out of connections), not of a query."""
    from sqlalchemy import exc

    return isinstance(error, exc.OperationalError | exc.InterfaceError | exc.TimeoutError | TimeoutError)


def report(error: BaseException, timeout: float | None = None) -> ServiceUnavailable:
    """Log a database failure (throttled, its type and first line only) and return the user's error."""
    from mcp_invoices.storage.errors import describe_error

    timeout = database_timeout() if timeout is None else timeout
    kind = type(error).__name__
    _log.warning(
        "the database did not answer" if isinstance(error, TimeoutError) else "the database is unavailable",
        key=kind,
        extra={"error": kind, "reason": describe_error(error)[:200], "timeout_s": timeout},
    )
    return database_unavailable(timeout if isinstance(error, TimeoutError) else None)


async def run_bounded(
    fn: Callable[[], T], *, limiter: anyio.CapacityLimiter | None = None, timeout: float | None = None
) -> T:
    """``fn()`` in a worker thread; ``service_unavailable`` when the database fails or takes longer than ``timeout``."""
    timeout = database_timeout() if timeout is None else timeout
    try:
        with anyio.fail_after(timeout):
            return await anyio.to_thread.run_sync(fn, limiter=limiter, abandon_on_cancel=True)
    except Exception as error:
        if not is_database_failure(error):
            raise
        raise report(error, timeout) from None
