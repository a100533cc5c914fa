"""State that several replicas of the server share: documents, provider sessions, budgets, locks.

``MCP_INVOICES_REDIS_URL`` set: everything lives in Redis and every replica sees the same; unset:
in this process (one server is the whole deployment). ``open_shared_state`` picks the backend and,
for Redis, checks at start that it answers, naming the variable when it does not.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from mcp_invoices.errors import ConfigError
from mcp_invoices.replicas.base import (
    Budget,
    DocumentStore,
    GenerationGuard,
    SessionStore,
    SharedState,
    SharedStateUnavailable,
)
from mcp_invoices.replicas.memory import InProcessSharedState

__all__ = [
    "Budget",
    "DocumentStore",
    "GenerationGuard",
    "InProcessSharedState",
    "SessionStore",
    "SharedSettings",
    "SharedState",
    "SharedStateUnavailable",
    "load_shared_settings",
    "in_process_state",
    "open_shared_state",
]

logger = logging.getLogger("mcp_invoices.replicas")


def in_process_state(*, clock: Callable[[], float] = time.monotonic) -> SharedState:
    """State kept in this process only: what one server alone (or a test) shares with itself."""
    return InProcessSharedState(clock=clock)


@dataclass(frozen=True)
class SharedSettings:
    redis_url: SecretStr | None
    """May carry a password: kept secret, shown only as host:port."""
    prefix: str
    secret_key: SecretStr | None
    state_keys: tuple[SecretStr, ...]
    """``MCP_INVOICES_STATE_KEYS``: the ring that seals ``requestState`` (first seals, all open)."""


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return (value.strip() or None) if value is not None else None


def load_shared_settings(env: Mapping[str, str] | None = None) -> SharedSettings:
    env = os.environ if env is None else env
    url = _get(env, "MCP_INVOICES_REDIS_URL")
    if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            "MCP_INVOICES_REDIS_URL must be a redis://host:port/db (or rediss://, unix://) URL."
        )
    prefix = _get(env, "MCP_INVOICES_REDIS_PREFIX") or "mcpi"
    if any(character in prefix for character in " {}:") or len(prefix) > 64:
        raise ConfigError(
            "MCP_INVOICES_REDIS_PREFIX must be one short word without spaces, braces or colons."
        )
    secret = _get(env, "MCP_INVOICES_SECRET_KEY")
    if secret is not None and len(secret) < 32:
        raise ConfigError("MCP_INVOICES_SECRET_KEY must be at least 32 characters of random data.")
    keys = tuple(
        key.strip() for key in (_get(env, "MCP_INVOICES_STATE_KEYS") or "").split(",") if key.strip()
    )
    short = [index for index, key in enumerate(keys, start=1) if len(key.encode()) < 32]
    if short:
        raise ConfigError(
            f"MCP_INVOICES_STATE_KEYS: key {short[0]} is shorter than 32 characters; each key must be at least 32 "
            'characters of random data (python -c "import secrets; print(secrets.token_hex(32))").'
        )
    if len(set(keys)) != len(keys):
        raise ConfigError("MCP_INVOICES_STATE_KEYS lists the same key twice.")
    return SharedSettings(
        redis_url=SecretStr(url) if url else None,
        prefix=prefix,
        secret_key=SecretStr(secret) if secret else None,
        state_keys=tuple(SecretStr(key) for key in keys),
    )


@contextlib.asynccontextmanager
async def open_shared_state(settings: SharedSettings) -> AsyncIterator[SharedState]:
    """The configured backend, checked: a Redis that does not answer at start stops the start."""
    if settings.redis_url is None:
        yield InProcessSharedState()
        return
    from mcp_invoices.logs import add_secrets
    from mcp_invoices.replicas.keys import KeySpace
    from mcp_invoices.replicas.redis_backend import RedisSharedState
    from mcp_invoices.replicas.redis_client import redis_location

    url = settings.redis_url.get_secret_value()
    add_secrets([url])
    state = RedisSharedState(
        url, keys=KeySpace(settings.prefix, settings.secret_key), secret_key=settings.secret_key
    )
    try:
        try:
            await state.ping()
        except SharedStateUnavailable:
            raise ConfigError(
                f"MCP_INVOICES_REDIS_URL: cannot connect to Redis at {redis_location(url)}. Start Redis, or fix the "
                "URL; unset it to keep all state in this one process (a single replica)."
            ) from None
        if settings.secret_key is None:
            logger.warning(
                "MCP_INVOICES_SECRET_KEY is not set: minted provider sessions are secrets and are not stored in "
                "Redis unencrypted, so each replica keeps (and mints) its own",
                extra={"store": state.description},
            )
        logger.info("shared state in Redis", extra={"store": state.description, "prefix": settings.prefix})
        yield state
    finally:
        await state.aclose()
