"""Configuration from the environment (the variables the README's configuration reference lists), validated once at start-up.

A remote provider is enabled when its credentials are present. The local ledger is served when no
remote provider is configured, or when ``MCP_INVOICES_DB`` / ``MCP_INVOICES_CUSTOMER`` ask for it.
Durable state (the ledger, the tokens) lives where ``MCP_INVOICES_DATABASE_URL`` says: a
``postgresql://`` URL for deployments, or by default the SQLite file ``MCP_INVOICES_DB`` names.
Values of secret variables are kept in ``SecretStr`` so they never print.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import platformdirs
from pydantic import SecretStr

from mcp_invoices.errors import ConfigError
from mcp_invoices.providers.catalog import REMOTE_SPECS
from mcp_invoices.providers.spec import ProviderSpec, Transport

__all__ = [
    "Config",
    "ConfigError",
    "HttpAuthConfig",
    "HttpLimits",
    "RemoteProviderConfig",
    "default_db_path",
    "load_config",
    "load_http_auth",
    "load_http_limits",
    "StreamLimits",
    "load_stream_limits",
    "database_timeout",
    "redis_timeout",
    "elicitation_timeout",
    "sqlite_database_url",
]


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir("mcp-invoices", appauthor=False)) / "ledger.sqlite3"


def sqlite_database_url(path: Path) -> str:
    return f"sqlite:///{path.expanduser().resolve()}"


def _database_url(env: Mapping[str, str], db_path: Path) -> str:
    url = _get(env, "MCP_INVOICES_DATABASE_URL")
    if url is None:
        return sqlite_database_url(db_path)
    scheme = url.split(":", 1)[0].lower()
    if scheme not in ("sqlite", "postgresql", "postgres", "postgresql+psycopg"):
        raise ConfigError(
            "MCP_INVOICES_DATABASE_URL must be a postgresql://user:password@host:port/database URL "
            f"(or a sqlite:///path URL), not a {scheme!r} URL."
        )
    return url


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = (_get(env, name) or "0").lower()
    if value not in ("0", "1", "true", "false", "yes", "no"):
        raise ConfigError(f"{name} must be 1 or 0, not {value!r}.")
    return value in ("1", "true", "yes")


@dataclass(frozen=True)
class RemoteProviderConfig:
    """One remote provider's settings: base URL, credentials and the customer scope, if any."""

    provider: str
    base_url: str
    credentials: Mapping[str, SecretStr]
    customer_id: str | None
    """Server-enforced scope (Afternoon, Payabli); None where the provider's token carries it."""
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    local_enabled: bool
    db_path: Path
    local_customer: str | None
    remote: tuple[RemoteProviderConfig, ...]
    log_level: str
    database_url: str = ""
    """Where the ledger and the tokens live (never logged: it may carry a password)."""
    auto_migrate: bool = False
    """Migrate a PostgreSQL database that is behind on start (SQLite always migrates itself)."""
    seed_sample_data: bool = True
    """Fill an empty ledger with the sample customers and orders (MCP_INVOICES_SEED=0 for a real ledger)."""
    document_links: str = "text"
    """How tool results point at an invoice's documents (MCP_INVOICES_DOCUMENT_LINKS): ``text`` names the
    URIs in the text and structured content only; ``resource_link`` adds ``resource_link`` blocks."""

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", sqlite_database_url(self.db_path))

    @property
    def provider_ids(self) -> tuple[str, ...]:
        return (("local",) if self.local_enabled else ()) + tuple(remote.provider for remote in self.remote)


DOCUMENT_LINKS: Final = {
    "text": "the document URIs in the text and structured content (every framework hands that to a model)",
    "resource_link": "also resource_link content blocks, for hosts that offer linked resources to their user",
}


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value.strip() or None if value is not None else None


def _choice(env: Mapping[str, str], name: str, choices: Mapping[str, str], default: str) -> str:
    value = (_get(env, name) or default).lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
    return value


def _credentials(
    env: Mapping[str, str], spec: ProviderSpec, transport: Transport
) -> dict[str, SecretStr] | None:
    """The credentials ``transport`` uses, or None when none of the provider's variables is set."""
    if not any(_get(env, credential.variable) for credential in spec.credentials):
        return None
    found: dict[str, SecretStr] = {}
    missing: list[str] = []
    for credential in spec.credentials:
        if transport not in credential.transports:
            continue  # e.g. over HTTP each bearer token carries its own customer's credential
        value = _get(env, credential.variable)
        if value is None:
            missing.append(f"{credential.variable} ({credential.meaning})")
        else:
            found[credential.key] = SecretStr(value)
    if spec.base_url is None and spec.environments is None and _get(env, spec.base_url_variable) is None:
        missing.append(f"{spec.base_url_variable} (the provider is self-hosted)")
    if missing:
        over = "stdio" if transport == "stdio" else "HTTP"
        raise ConfigError(
            f"{spec.display_name} is partly configured: over {over}, set {' and '.join(missing)}."
        )
    return found


def _customer(env: Mapping[str, str], spec: ProviderSpec, *, require_scope: bool) -> str | None:
    if spec.customer_variable is None:
        return None
    customer = _get(env, spec.customer_variable)
    if customer is None and require_scope:
        key = spec.credentials[0].variable
        raise ConfigError(
            f"{spec.display_name} is configured with an organisation-wide key ({key}) but no customer scope: "
            f"set {spec.customer_variable} to the one customer this session serves. "
            "An unscoped organisation key never serves a session."
        )
    return customer


def _requests_per_minute(env: Mapping[str, str], spec: ProviderSpec, base_url: str) -> int:
    name = spec.rate_limit_variable
    value = _get(env, name)
    if value is not None:
        if not value.isdigit() or int(value) <= 0:
            raise ConfigError(f"{name} must be a positive number of requests per minute, not {value!r}.")
        return int(value)
    environments = spec.environments
    if environments is not None:
        for environment, per_minute in environments.requests_per_minute.items():
            if base_url.startswith(environments.urls[environment]):
                return per_minute
    return spec.requests_per_minute


def _remote_provider(
    env: Mapping[str, str], spec: ProviderSpec, *, require_scope: bool
) -> RemoteProviderConfig | None:
    credentials = _credentials(env, spec, "stdio" if require_scope else "http")
    if credentials is None:
        return None
    customer = _customer(env, spec, require_scope=require_scope)
    base_url = _get(env, spec.base_url_variable)
    if base_url is None and spec.environments is not None:
        environments = spec.environments
        base_url = environments.urls[
            _choice(env, environments.variable, environments.urls, environments.default)
        ]
    base_url = base_url or spec.base_url
    assert base_url is not None  # _credentials required the variable of a self-hosted provider
    options = {key: value for key, variable in spec.options.items() if (value := _get(env, variable))}
    options["rate_limit_per_minute"] = str(_requests_per_minute(env, spec, base_url))
    return RemoteProviderConfig(spec.id, base_url, credentials, customer, options)


def load_config(env: Mapping[str, str] | None = None, *, require_scope: bool = True) -> Config:
    """Read and check the environment. ``require_scope`` is True for stdio, where the process is one session."""
    env = os.environ if env is None else env
    remote = [
        config
        for spec in REMOTE_SPECS
        if (config := _remote_provider(env, spec, require_scope=require_scope)) is not None
    ]
    db = _get(env, "MCP_INVOICES_DB")
    customer = _get(env, "MCP_INVOICES_CUSTOMER")
    level = (_get(env, "MCP_INVOICES_LOG_LEVEL") or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(
            f"MCP_INVOICES_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {level!r}."
        )
    db_path = Path(db).expanduser() if db else default_db_path()
    return Config(
        # The sample ledger must not appear beside a real provider by accident: with a remote provider
        # configured, local is served only when asked for (MCP_INVOICES_LOCAL=1 or a local customer).
        local_enabled=not remote or customer is not None or _flag(env, "MCP_INVOICES_LOCAL"),
        db_path=db_path,
        # Over HTTP the bearer token names the customer; the environment's customer is for stdio only.
        local_customer=customer if require_scope else None,
        remote=tuple(remote),
        log_level=level,
        database_url=_database_url(env, db_path),
        auto_migrate=_flag(env, "MCP_INVOICES_AUTO_MIGRATE"),
        seed_sample_data=_flag(env, "MCP_INVOICES_SEED") if _get(env, "MCP_INVOICES_SEED") else True,
        document_links=_choice(env, "MCP_INVOICES_DOCUMENT_LINKS", DOCUMENT_LINKS, "text"),
    )


@dataclass(frozen=True)
class HttpAuthConfig:
    """How ``serve --transport http`` authenticates each request (it always does)."""

    resource_url: str
    """This server's public /mcp URL: the audience every token must be for (RFC 8707)."""
    issuer_url: str | None
    """The external authorization server advertised in the protected-resource metadata; None when the
    server's own tokens (``mcp-invoices token issue``) are the only ones: then no server is advertised."""
    secret_key: SecretStr | None
    jwt_issuer: str | None
    jwt_audience: str | None
    jwks_url: str | None
    own_authorization_server: bool = False
    """The server is its own OAuth authorization server (sign-in pages). ``load_http_auth`` turns it on
    unless ``MCP_INVOICES_OAUTH=off`` leaves printed tokens (and an external issuer's JWTs) the only way in."""


def load_http_auth(host: str, port: int, env: Mapping[str, str] | None = None) -> HttpAuthConfig:
    env = os.environ if env is None else env
    shown_host = f"[{host}]" if ":" in host else host
    resource = _get(env, "MCP_INVOICES_RESOURCE_URL") or f"http://{shown_host}:{port}/mcp"
    issuer = _get(env, "MCP_INVOICES_ISSUER_URL") or _get(env, "MCP_INVOICES_JWT_ISSUER")
    jwt_issuer, jwks = _get(env, "MCP_INVOICES_JWT_ISSUER"), _get(env, "MCP_INVOICES_JWKS_URL")
    if bool(jwt_issuer) != bool(jwks):
        raise ConfigError(
            "Trusting an external issuer needs both MCP_INVOICES_JWT_ISSUER and MCP_INVOICES_JWKS_URL."
        )
    secret = _get(env, "MCP_INVOICES_SECRET_KEY")
    if secret is not None and len(secret) < 32:
        raise ConfigError("MCP_INVOICES_SECRET_KEY must be at least 32 characters of random data.")
    oauth = (_get(env, "MCP_INVOICES_OAUTH") or "on").lower()
    if oauth not in ("on", "off"):
        raise ConfigError(f"MCP_INVOICES_OAUTH must be on or off, not {oauth!r}.")
    return HttpAuthConfig(
        resource_url=resource,
        issuer_url=issuer,
        secret_key=SecretStr(secret) if secret else None,
        jwt_issuer=jwt_issuer,
        jwt_audience=_get(env, "MCP_INVOICES_JWT_AUDIENCE") or resource,
        jwks_url=jwks,
        own_authorization_server=oauth == "on",
    )


@dataclass(frozen=True)
class HttpLimits:
    """What one client may hold of the HTTP server (``MCP_INVOICES_HTTP_*``; see the README's table)."""

    request_timeout: float = 10.0
    """Seconds a client has to send a whole request (headers and body) once its connection is open or
    the request's first byte has arrived."""
    max_connections: int | None = None
    """Open connections at most; None: as many as the open-files limit leaves room for (at most 10,000)."""
    max_sessions_per_principal: int = 16
    """Open handshake sessions (``Mcp-Session-Id``) one token's principal may hold."""
    max_sessions: int = 2000
    """Open handshake sessions on this server, all principals together."""
    session_idle_timeout: float = 1800.0
    """Seconds after its last request an idle session is closed."""


def _number(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}.") from None
    if not value >= minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, not {raw!r}.")
    return value


def load_http_limits(env: Mapping[str, str] | None = None) -> HttpLimits:
    env = os.environ if env is None else env
    defaults = HttpLimits()
    connections = _get(env, "MCP_INVOICES_HTTP_MAX_CONNECTIONS")
    return HttpLimits(
        request_timeout=_number(
            env, "MCP_INVOICES_HTTP_REQUEST_TIMEOUT", defaults.request_timeout, minimum=0.1
        ),
        max_connections=(
            int(_number(env, "MCP_INVOICES_HTTP_MAX_CONNECTIONS", 0, minimum=1)) if connections else None
        ),
        max_sessions_per_principal=int(
            _number(
                env, "MCP_INVOICES_MAX_SESSIONS_PER_PRINCIPAL", defaults.max_sessions_per_principal, minimum=1
            )
        ),
        max_sessions=int(_number(env, "MCP_INVOICES_MAX_SESSIONS", defaults.max_sessions, minimum=1)),
        session_idle_timeout=_number(
            env, "MCP_INVOICES_SESSION_IDLE_TIMEOUT", defaults.session_idle_timeout, minimum=1
        ),
    )


@dataclass(frozen=True)
class StreamLimits:
    """What is kept of each POST's event stream so a client that lost it may resume (SEP-1699;
    ``MCP_INVOICES_STREAM_*``, see the README's table)."""

    max_events: int = 200
    """Events kept per stream; the oldest go first (the answer, the newest, goes last)."""
    max_bytes: int = 1024 * 1024
    """Bytes kept per stream (the newest event is kept whatever its size)."""
    ttl: float = 300.0
    """Seconds a stream is kept after its last event; a reconnect later gets 404."""
    retry_ms: int = 1000
    """The ``retry`` the priming event suggests: milliseconds a client waits before reconnecting."""
    max_streams: int = 10_000
    """Streams kept in this process (without Redis) all together; the least recently written go first."""


def load_stream_limits(env: Mapping[str, str] | None = None) -> StreamLimits:
    env = os.environ if env is None else env
    defaults = StreamLimits()
    return StreamLimits(
        max_events=int(_number(env, "MCP_INVOICES_STREAM_MAX_EVENTS", defaults.max_events, minimum=1)),
        max_bytes=int(_number(env, "MCP_INVOICES_STREAM_MAX_BYTES", defaults.max_bytes, minimum=1024)),
        ttl=_number(env, "MCP_INVOICES_STREAM_TTL", defaults.ttl, minimum=1),
        retry_ms=int(_number(env, "MCP_INVOICES_STREAM_RETRY_MS", defaults.retry_ms, minimum=0)),
        max_streams=int(_number(env, "MCP_INVOICES_STREAM_MAX_STREAMS", defaults.max_streams, minimum=1)),
    )


def database_timeout(env: Mapping[str, str] | None = None) -> float:
    """``MCP_INVOICES_DATABASE_TIMEOUT``: seconds for a database connect, a pooled connection, SQLite's busy
    wait and PostgreSQL's statement timeout, and the longest a call waits for the database at all."""
    return _number(os.environ if env is None else env, "MCP_INVOICES_DATABASE_TIMEOUT", 10.0, minimum=0.5)


def redis_timeout(env: Mapping[str, str] | None = None) -> float:
    """``MCP_INVOICES_REDIS_TIMEOUT``: seconds for a Redis connect or reply, and the longest one operation
    (its retry included) may take."""
    return _number(os.environ if env is None else env, "MCP_INVOICES_REDIS_TIMEOUT", 2.0, minimum=0.1)


def elicitation_timeout(env: Mapping[str, str] | None = None) -> float:
    """``MCP_INVOICES_ELICITATION_TIMEOUT``: seconds a question to the client (a form, a confirmation) may go
    unanswered before the call abandons it (a person filling in a form needs minutes, not hours)."""
    return _number(os.environ if env is None else env, "MCP_INVOICES_ELICITATION_TIMEOUT", 600.0, minimum=1)
