"""What lets several HTTP replicas behind a load balancer behave as one server.

- ``requestState`` (2026-07-28) is sealed with the keys of ``MCP_INVOICES_STATE_KEYS``, the same on
  every replica, so a state minted by one replica opens on another (first key seals, all open).
- With shared state (Redis) the handshake era is served without ``Mcp-Session-Id`` (the SDK's
  stateless mode): a session id lives in one process's memory and would tie a client to a replica.
- ``/healthz`` answers 200 only when the database and the shared store both answer.
Cursors need nothing here: they are plain encodings of a provider position (``server/results.py``),
re-scoped on every page, and read the same on any replica.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from mcp.server.request_state import RequestStateSecurity

from mcp_invoices.logs import Throttled
from mcp_invoices.replicas import SharedSettings, SharedState

if TYPE_CHECKING:
    from mcp_invoices.auth.tokens import TokenStore

__all__ = ["health", "request_state_security", "stateless_handshake"]

logger = logging.getLogger("mcp_invoices.server")
_log = Throttled(logger, interval=60.0)

_PROBE_TOKEN = "mcpi_000000000000_" + "A" * 43
"""Well formed, and no token can have this id ("0" is not in the id alphabet): verifying it is one
indexed read of the token table, the same path every request takes."""


def request_state_security(settings: SharedSettings) -> RequestStateSecurity | None:
    """The SDK policy for ``requestState`` from ``MCP_INVOICES_STATE_KEYS``; None = one process's own key."""
    if not settings.state_keys:
        logger.warning(
            "MCP_INVOICES_STATE_KEYS is not set: requestState is sealed with a key only this process knows, so with "
            "more than one replica a state sealed by one is refused by the others; give every replica the same keys"
        )
        return None
    return RequestStateSecurity(keys=[key.get_secret_value() for key in settings.state_keys])


def stateless_handshake(settings: SharedSettings) -> bool:
    """Serve the handshake era without session ids when replicas share state (Redis configured)."""
    return settings.redis_url is not None


async def health(store: TokenStore, shared: SharedState, providers: list[str]) -> tuple[int, dict[str, Any]]:
    """``(status, body)``: 200 when the database reads and writes and the shared store answers; 503 naming
    what does not. Each check has its own deadline, so a frozen dependency cannot hang the probe."""
    from mcp_invoices.config import database_timeout
    from mcp_invoices.storage.bounded import run_bounded

    timeout = min(5.0, database_timeout())
    checks: dict[str, str] = {}
    try:
        await run_bounded(functools.partial(store.verify, _PROBE_TOKEN), timeout=timeout)
        checks["database"] = "ok"
    except Exception as error:
        _log.warning(
            "health: the database does not answer", key="database", extra={"error": type(error).__name__}
        )
        checks["database"] = "unreachable"
    if checks["database"] == "ok":
        try:
            await run_bounded(functools.partial(_write_probe, store), timeout=timeout)
            checks["database_writable"] = "ok"
        except Exception as error:
            _log.warning(
                "health: the database cannot be written",
                key="writable",
                extra={"error": type(error).__name__},
            )
            checks["database_writable"] = "not writable"
    else:
        checks["database_writable"] = "unknown"
    try:
        with anyio.fail_after(timeout):
            await shared.ping()
        checks["shared_state"] = "ok"
    except Exception as error:
        _log.warning(
            "health: the shared store does not answer", key="shared", extra={"error": type(error).__name__}
        )
        checks["shared_state"] = "unreachable"
    ok = all(value == "ok" for value in checks.values())
    body: dict[str, Any] = {
        "status": "ok" if ok else "unavailable",
        **checks,
        "shared_store": shared.description,
        "providers": providers,
    }
    return (200 if ok else 503), body


def _write_probe(store: TokenStore) -> None:
    """One small write that really reaches the database (a key of the ``meta`` table): a read-only file, a
    full disk, a lock held too long or a read-only PostgreSQL session fail it."""
    from sqlalchemy import text

    with store.database.write() as db:
        db.execute(text("DELETE FROM meta WHERE key = 'health_probe'"))
        db.execute(text("INSERT INTO meta (key, value) VALUES ('health_probe', 'ok')"))
