"""The server's own bearer tokens: issued by ``mcp-invoices token issue``, verified on every HTTP request.

A token is ``mcpi_<id>_<secret>``. Only the SHA-256 of the secret is stored, so a copy of the
database cannot be replayed as tokens; the id lets us find the row without scanning, and the
comparison is constant-time. Revocation deletes nothing: it stamps ``revoked_at``, and every
verification reads the row again, so a revoked token stops working on the next request.

A provider credential that belongs to one customer (a Bagisto customer token) can be stored with
the token, encrypted with a key from ``MCP_INVOICES_SECRET_KEY`` (Fernet: AES-128-CBC + HMAC).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr

__all__ = ["TokenStore", "IssuedToken", "TokenRecord", "TokenError", "parse_ttl", "TOKEN_PREFIX"]

TOKEN_PREFIX = "mcpi_"
_TOKEN_RE = re.compile(r"^mcpi_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$")
KNOWN_PROVIDERS = ("local", "polar", "afternoon", "bagisto", "payabli")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS access_tokens (
    id                  TEXT PRIMARY KEY,
    secret_sha256       TEXT NOT NULL,
    provider            TEXT NOT NULL,
    customer_id         TEXT NOT NULL,
    label               TEXT,
    created_at          TEXT NOT NULL,
    expires_at          TEXT,
    revoked_at          TEXT,
    provider_credential BLOB
);
"""


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


def _datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class TokenStore:
    """Tokens in the server's SQLite file (the same file as the local ledger, its own table)."""

    def __init__(self, path: Path, *, secret_key: SecretStr | None = None) -> None:
        self.path = path
        self._secret_key = secret_key
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db().executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode = WAL")
            self._local.db = db
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @staticmethod
    def _record(row: sqlite3.Row) -> TokenRecord:
        return TokenRecord(
            id=row["id"],
            provider=row["provider"],
            customer_id=row["customer_id"],
            label=row["label"],
            created_at=datetime.fromisoformat(row["created_at"]),
            expires_at=_datetime(row["expires_at"]),
            revoked_at=_datetime(row["revoked_at"]),
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
        if provider not in KNOWN_PROVIDERS:
            raise TokenError(f"--provider must be one of {', '.join(KNOWN_PROVIDERS)}, not {provider!r}.")
        if not customer_id.strip():
            raise TokenError("--customer must name the one customer the token is bound to.")
        now = now or datetime.now(UTC)
        token_id = "".join(secrets.choice("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(12))
        secret = secrets.token_urlsafe(32)
        sealed = (
            _fernet(self._secret_key).encrypt(provider_credential.get_secret_value().encode())
            if provider_credential is not None
            else None
        )
        with self._write() as db:
            db.execute(
                """INSERT INTO access_tokens (id, secret_sha256, provider, customer_id, label, created_at,
                       expires_at, provider_credential) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    token_id,
                    _hash(secret),
                    provider,
                    customer_id.strip(),
                    label,
                    now.isoformat(),
                    (now + ttl).isoformat() if ttl else None,
                    sealed,
                ),
            )
            row = db.execute("SELECT * FROM access_tokens WHERE id = ?", (token_id,)).fetchone()
        return IssuedToken(token=SecretStr(f"{TOKEN_PREFIX}{token_id}_{secret}"), record=self._record(row))

    def verify(self, token: str, *, now: datetime | None = None) -> VerifiedToken | None:
        """The token's record if it is ours, intact, unexpired and unrevoked; otherwise None."""
        match = _TOKEN_RE.match(token)
        if match is None:
            return None
        token_id, secret = match.groups()
        row = self._db().execute("SELECT * FROM access_tokens WHERE id = ?", (token_id,)).fetchone()
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

    def list(self) -> list[TokenRecord]:
        rows = self._db().execute("SELECT * FROM access_tokens ORDER BY created_at DESC, id")
        return [self._record(row) for row in rows]

    def revoke(self, token_or_id: str, *, now: datetime | None = None) -> TokenRecord:
        match = _TOKEN_RE.match(token_or_id)
        token_id = match.group(1) if match else token_or_id.strip()
        with self._write() as db:
            row = db.execute("SELECT * FROM access_tokens WHERE id = ?", (token_id,)).fetchone()
            if row is None:
                raise TokenError(f"No token with id {token_id!r}; see `mcp-invoices token list`.")
            if row["revoked_at"] is None:
                db.execute(
                    "UPDATE access_tokens SET revoked_at = ? WHERE id = ?",
                    ((now or datetime.now(UTC)).isoformat(), token_id),
                )
            row = db.execute("SELECT * FROM access_tokens WHERE id = ?", (token_id,)).fetchone()
        return self._record(row)
