"""Configuration from the environment (the variables of PRODUCT.md), validated once at start-up.

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

import platformdirs
from pydantic import SecretStr

__all__ = [
    "Config",
    "ConfigError",
    "HttpAuthConfig",
    "RemoteProviderConfig",
    "default_db_path",
    "load_config",
    "load_http_auth",
    "sqlite_database_url",
]


class ConfigError(Exception):
    """The environment cannot serve a session; the message names the variable to fix."""


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

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", sqlite_database_url(self.db_path))

    @property
    def provider_ids(self) -> tuple[str, ...]:
        return (("local",) if self.local_enabled else ()) + tuple(remote.provider for remote in self.remote)


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value.strip() or None if value is not None else None


_POLAR_SERVERS = {"production": "https://api.polar.sh", "sandbox": "https://sandbox-api.polar.sh"}
_PAYABLI_ENVIRONMENTS = {
    "production": "https://api.payabli.com/api",
    "sandbox": "https://api-sandbox.payabli.com/api",
}


def _choice(env: Mapping[str, str], name: str, choices: Mapping[str, str], default: str) -> str:
    value = (_get(env, name) or default).lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
    return choices[value]


def _remote_providers(env: Mapping[str, str], *, require_scope: bool) -> list[RemoteProviderConfig]:
    providers: list[RemoteProviderConfig] = []

    def secret(name: str) -> SecretStr | None:
        value = _get(env, name)
        return SecretStr(value) if value else None

    def scoped(provider: str, key_var: str, customer_var: str) -> str | None:
        customer = _get(env, customer_var)
        if customer is None and require_scope:
            raise ConfigError(
                f"{provider} is configured with an organisation-wide key ({key_var}) but no customer scope: "
                f"set {customer_var} to the one customer this session serves. "
                "An unscoped organisation key never serves a session."
            )
        return customer

    polar_session, polar_org = secret("POLAR_CUSTOMER_SESSION"), secret("POLAR_ACCESS_TOKEN")
    if polar_session or polar_org:
        if require_scope and polar_session is None:
            raise ConfigError(
                "Polar is configured with POLAR_ACCESS_TOKEN (organisation-wide) but no POLAR_CUSTOMER_SESSION: "
                "over stdio set POLAR_CUSTOMER_SESSION to the customer's session token."
            )
        if not require_scope and polar_org is None:
            raise ConfigError(
                "Over HTTP, Polar needs POLAR_ACCESS_TOKEN (an organisation token) to open a customer session for "
                "each bearer token's customer; POLAR_CUSTOMER_SESSION is one customer's and cannot serve others."
            )
        # Over HTTP a customer's session is minted per token: one customer's session must never serve all.
        credentials = (
            {"customer_session": polar_session}
            if require_scope and polar_session
            else {"access_token": polar_org}
        )
        base = _get(env, "POLAR_BASE_URL") or _choice(env, "POLAR_SERVER", _POLAR_SERVERS, "production")
        providers.append(RemoteProviderConfig("polar", base, credentials, None))  # type: ignore[arg-type]

    afternoon_key = secret("AFTERNOON_API_KEY")
    if afternoon_key:
        customer = scoped("Afternoon", "AFTERNOON_API_KEY", "AFTERNOON_CUSTOMER_ID")
        base = _get(env, "AFTERNOON_BASE_URL") or "https://api.afternoon.co"
        providers.append(RemoteProviderConfig("afternoon", base, {"api_key": afternoon_key}, customer))

    storefront, customer_token = secret("BAGISTO_STOREFRONT_KEY"), secret("BAGISTO_CUSTOMER_TOKEN")
    if storefront or customer_token:
        base = _get(env, "BAGISTO_BASE_URL")
        missing = [
            name
            for name, value in (
                ("BAGISTO_STOREFRONT_KEY", storefront),
                ("BAGISTO_CUSTOMER_TOKEN", customer_token if require_scope else True),
                ("BAGISTO_BASE_URL", base),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                f"Bagisto is partly configured: set {' and '.join(missing)} (Bagisto is self-hosted)."
            )
        credentials = {"storefront_key": storefront}
        if customer_token and require_scope:
            # Over HTTP each bearer token carries its own customer's Bagisto token (stored encrypted).
            credentials["customer_token"] = customer_token
        providers.append(RemoteProviderConfig("bagisto", str(base), credentials, None))  # type: ignore[arg-type]

    payabli_token = secret("PAYABLI_API_TOKEN")
    if payabli_token:
        customer = scoped("Payabli", "PAYABLI_API_TOKEN", "PAYABLI_CUSTOMER_ID")
        base = _get(env, "PAYABLI_BASE_URL") or _choice(
            env, "PAYABLI_ENVIRONMENT", _PAYABLI_ENVIRONMENTS, "production"
        )
        options = {"entry": entry} if (entry := _get(env, "PAYABLI_ENTRY")) else {}
        providers.append(
            RemoteProviderConfig("payabli", base, {"api_token": payabli_token}, customer, options)
        )
    return providers


def _rate_limit(env: Mapping[str, str], remote: RemoteProviderConfig) -> int:
    from mcp_invoices.providers.paging import DEFAULT_BUDGETS

    name = f"{remote.provider.upper()}_RATE_LIMIT_PER_MINUTE"
    value = _get(env, name)
    if value is None:
        sandbox = remote.provider == "polar" and remote.base_url.startswith(_POLAR_SERVERS["sandbox"])
        return 100 if sandbox else DEFAULT_BUDGETS[remote.provider]
    if not value.isdigit() or int(value) <= 0:
        raise ConfigError(f"{name} must be a positive number of requests per minute, not {value!r}.")
    return int(value)


def load_config(env: Mapping[str, str] | None = None, *, require_scope: bool = True) -> Config:
    """Read and check the environment. ``require_scope`` is True for stdio, where the process is one session."""
    env = os.environ if env is None else env
    remote = [
        RemoteProviderConfig(
            r.provider,
            r.base_url,
            r.credentials,
            r.customer_id,
            {**r.options, "rate_limit_per_minute": str(_rate_limit(env, r))},
        )
        for r in _remote_providers(env, require_scope=require_scope)
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
    )


@dataclass(frozen=True)
class HttpAuthConfig:
    """How ``serve --transport http`` authenticates each request (it always does)."""

    resource_url: str
    """This server's public /mcp URL: the audience every token must be for (RFC 8707)."""
    issuer_url: str
    """The authorization server advertised in the protected-resource metadata."""
    secret_key: SecretStr | None
    jwt_issuer: str | None
    jwt_audience: str | None
    jwks_url: str | None


def load_http_auth(host: str, port: int, env: Mapping[str, str] | None = None) -> HttpAuthConfig:
    env = os.environ if env is None else env
    shown_host = f"[{host}]" if ":" in host else host
    resource = _get(env, "MCP_INVOICES_RESOURCE_URL") or f"http://{shown_host}:{port}/mcp"
    issuer = (
        _get(env, "MCP_INVOICES_ISSUER_URL")
        or _get(env, "MCP_INVOICES_JWT_ISSUER")
        or resource.rsplit("/mcp", 1)[0]
    )
    jwt_issuer, jwks = _get(env, "MCP_INVOICES_JWT_ISSUER"), _get(env, "MCP_INVOICES_JWKS_URL")
    if bool(jwt_issuer) != bool(jwks):
        raise ConfigError(
            "Trusting an external issuer needs both MCP_INVOICES_JWT_ISSUER and MCP_INVOICES_JWKS_URL."
        )
    secret = _get(env, "MCP_INVOICES_SECRET_KEY")
    if secret is not None and len(secret) < 32:
        raise ConfigError("MCP_INVOICES_SECRET_KEY must be at least 32 characters of random data.")
    return HttpAuthConfig(
        resource_url=resource,
        issuer_url=issuer,
        secret_key=SecretStr(secret) if secret else None,
        jwt_issuer=jwt_issuer,
        jwt_audience=_get(env, "MCP_INVOICES_JWT_AUDIENCE") or resource,
        jwks_url=jwks,
    )
