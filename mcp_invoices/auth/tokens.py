"""The server's own bearer tokens: issued by ``mcp-invoices token issue``, verified on every HTTP request.

A token is ``mcpi_<id>_<secret>``. Only the SHA-256 of the secret is stored, so a copy of the
database cannot be replayed as tokens; the id lets us find the row without scanning, and the
comparison is constant-time. Revocation deletes nothing: it stamps ``revoked_at``, and every
verification reads the row again, so a revoked token stops working on the next request.

A provider credential that belongs to one customer (a Bagisto customer token) can be stored with
the token, encrypted with a key from ``MCP_INVOICES_SECRET_KEY`` (Fernet: AES-128-CBC + HMAC).

Tokens live in the server's database (``mcp_invoices.storage``, table ``access_tokens``): the SQLite
file beside the ledger, or the PostgreSQL database every replica shares, so a token issued or
revoked anywhere holds everywhere on the next request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr
from sqlalchemy import Connection, bindparam, select

from mcp_invoices.providers.catalog import PROVIDER_IDS
from mcp_invoices.storage import Database, open_database
from mcp_invoices.storage.schema import access_tokens

__all__ = ["TokenStore", "IssuedToken", "TokenRecord", "TokenError", "parse_ttl", "TOKEN_PREFIX"]

TOKEN_PREFIX = "mcpi_"
_TOKEN_RE = re.compile(r"^mcpi_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$")


class TokenError(ValueError):
    """A token cannot be issued or revoked as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: str
    provider: str
    customer_id: str
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    has_provider_credential: bool

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: SecretStr
    record: TokenRecord


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    record: TokenRecord
    provider_credential: SecretStr | None


def parse_ttl(text: str) -> timedelta:
    """``90m``, ``12h``, ``30d`` or a number of seconds."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", text)
    if not match or int(match.group(1)) <= 0:
        raise TokenError(f"--ttl must be a positive duration such as 3600, 90m, 12h or 30d, not {text!r}.")
    value, unit = int(match.group(1)), match.group(2) or "s"
    return timedelta(seconds=value * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _fernet(secret_key: SecretStr | None):  # type: ignore[no-untyped-def]
    if secret_key is None:
        raise TokenError(
            "Storing a provider credential needs MCP_INVOICES_SECRET_KEY (any long random string, the same on "
            "every replica), which encrypts it at rest."
        )
    from cryptography.fernet import Fernet

    digest = hashlib.sha256(b"mcp-invoices provider credentials\x00" + secret_key.get_secret_value().encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


_TOKEN_BY_ID = select(access_tokens).where(access_tokens.c.id == bindparam("token_id"))


class TokenStore:
    """Tokens in the server's database (the ledger's database, its own table)."""

    def __init__(
        self,
        location: str | Path | Database,
        *,
        secret_key: SecretStr | None = None,
        auto_migrate: bool = False,
    ) -> None:
        self._owns_database = not isinstance(location, Database)
        self.database = open_database(location, auto_migrate=auto_migrate)
        self.path = self.database.sqlite_path
        """The SQLite file, when the store is one (None on PostgreSQL)."""
        self._secret_key = secret_key
        self._by_id = self.database.prepare(_TOKEN_BY_ID)

    def close(self) -> None:
        if self._owns_database:
            self.database.close()

    def _row(self, token_id: str, *, db: Connection | None = None) -> Mapping[Any, Any] | None:
        if db is not None:
            return db.execute(_TOKEN_BY_ID, {"token_id": token_id}).mappings().first()
        return self._by_id.first({"token_id": token_id})

    @staticmethod
    def _record(row: Mapping[Any, Any]) -> TokenRecord:
        return TokenRecord(
            id=row["id"],
            provider=row["provider"],
            customer_id=row["customer_id"],
            label=row["label"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            revoked_at=row["revoked_at"],
            has_provider_credential=row["provider_credential"] is not None,
        )

    def issue(
        self,
        provider: str,
        customer_id: str,
        *,
        ttl: timedelta | None,
        label: str | None = None,
        provider_credential: SecretStr | None = None,
        now: datetime | None = None,
    ) -> IssuedToken:
        if provider not in PROVIDER_IDS:
            raise TokenError(f"--provider must be one of {', '.join(PROVIDER_IDS)}, not {provider!r}.")
        if not customer_id.strip():
            raise TokenError("--customer must name the one customer the token is bound to.")
        now = now or datetime.now(UTC)
        token_id = "".join(
            secrets.choice("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(12)
        )
        secret = secrets.token_urlsafe(32)
        sealed = (
            _fernet(self._secret_key).encrypt(provider_credential.get_secret_value().encode())
            if provider_credential is not None
            else None
        )
        with self.database.write() as db:
            db.execute(
                access_tokens.insert().values(
                    id=token_id,
                    secret_sha256=_hash(secret),
                    provider=provider,
                    customer_id=customer_id.strip(),
                    label=label,
                    created_at=now,
                    expires_at=now + ttl if ttl else None,
                    provider_credential=sealed,
                )
            )
            row = self._row(token_id, db=db)
        assert row is not None
        return IssuedToken(token=SecretStr(f"{TOKEN_PREFIX}{token_id}_{secret}"), record=self._record(row))

    def verify(self, token: str, *, now: datetime | None = None) -> VerifiedToken | None:
        """The token's record if it is ours, intact, unexpired and unrevoked; otherwise None."""
        match = _TOKEN_RE.match(token)
        if match is None:
            return None
        token_id, secret = match.groups()
        row = self._row(token_id)
        # Compare even when the row is missing, so a wrong id and a wrong secret cost the same.
        expected = row["secret_sha256"] if row is not None else _hash("")
        if not hmac.compare_digest(expected, _hash(secret)) or row is None:
            return None
        record = self._record(row)
        if not record.is_active(now or datetime.now(UTC)):
            return None
        credential = None
        if row["provider_credential"] is not None:
            try:
                credential = SecretStr(_fernet(self._secret_key).decrypt(row["provider_credential"]).decode())
            except Exception:  # a rotated or missing MCP_INVOICES_SECRET_KEY: the token cannot be served
                return None
        return VerifiedToken(record=record, provider_credential=credential)

    def diagnose(self, token: str, *, now: datetime | None = None) -> Literal["expired", "not_recognised"]:
        """Why ``verify`` refused ``token``, for the 401 its sender reads.

        "expired" only for a token whose secret matches (proof that the sender holds it) and that was
        never revoked. A revoked token and an unknown one are the same "not_recognised": the remedy is
        the same (a new token), and saying "revoked" would confirm to whoever holds a leaked token that
        it was once valid and has been noticed.
        """
        match = _TOKEN_RE.match(token)
        if match is None:
            return "not_recognised"
        token_id, secret = match.groups()
        row = self._row(token_id)
        expected = row["secret_sha256"] if row is not None else _hash("")
        if not hmac.compare_digest(expected, _hash(secret)) or row is None:
            return "not_recognised"
        record = self._record(row)
        moment = now or datetime.now(UTC)
        if record.revoked_at is None and record.expires_at is not None and record.expires_at <= moment:
            return "expired"
        return "not_recognised"

    def list(self) -> list[TokenRecord]:
        query = select(access_tokens).order_by(access_tokens.c.created_at.desc(), access_tokens.c.id)
        with self.database.read() as db:
            return [self._record(row) for row in db.execute(query).mappings()]

    def revoke(self, token_or_id: str, *, now: datetime | None = None) -> TokenRecord:
        match = _TOKEN_RE.match(token_or_id)
        token_id = match.group(1) if match else token_or_id.strip()
        with self.database.write() as db:
            row = self._row(token_id, db=db)
            if row is None:
                raise TokenError(f"No token with id {token_id!r}; see `mcp-invoices token list`.")
            if row["revoked_at"] is None:
                db.execute(
                    access_tokens.update()
                    .where(access_tokens.c.id == token_id, access_tokens.c.revoked_at.is_(None))
                    .values(revoked_at=now or datetime.now(UTC))
                )
            row = self._row(token_id, db=db)
        assert row is not None
        return self._record(row)
