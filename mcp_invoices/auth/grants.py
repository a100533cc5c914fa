"""The authorization server's state: registered clients, grants (flows, codes, refresh tokens) and attempts,
in the shared database, so any replica can finish what another began."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select, text

from mcp_invoices.auth.tokens import TokenStore
from mcp_invoices.storage.schema import meta, oauth_attempts, oauth_clients, oauth_grants

__all__ = ["Grant", "OAuthStore", "grant_key"]

logger = logging.getLogger("mcp_invoices.auth")


def grant_key(kind: str, value: str) -> str:
    """The stored key of a secret value: its SHA-256, so the value itself is never at rest."""
    return f"{kind}:" + hashlib.sha256(value.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Grant:
    key: str
    kind: str
    family: str | None
    data: dict[str, Any]
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


class OAuthStore:
    """The authorization server's rows in the server's database (synchronous; call it from a thread)."""

    def __init__(self, tokens: TokenStore, *, secret_key: SecretStr | None = None) -> None:
        self.tokens = tokens
        self.database = tokens.database
        self._explicit_key = secret_key
        self._key: bytes | None = None

    # -- the key client secrets are derived from ---------------------------------------------------

    def client_key(self) -> bytes:
        """``MCP_INVOICES_SECRET_KEY`` when set; otherwise a random key made once and kept in ``meta``."""
        if self._key is not None:
            return self._key
        if self._explicit_key is not None:
            self._key = hashlib.sha256(
                b"mcp-invoices oauth clients\x00" + self._explicit_key.get_secret_value().encode()
            ).digest()
            return self._key
        with self.database.write() as db:
            row = db.execute(select(meta.c.value).where(meta.c.key == "oauth_client_key")).first()
            if row is None:
                value = secrets.token_hex(32)
                db.execute(meta.insert().values(key="oauth_client_key", value=value))
            else:
                value = row[0]
        self._key = bytes.fromhex(value)
        return self._key

    @property
    def can_seal(self) -> bool:
        return self._explicit_key is not None

    def seal(self, credential: SecretStr) -> str:
        """A customer's provider credential, encrypted (as ``TokenStore`` keeps one) for the grant rows."""
        from mcp_invoices.auth.tokens import _fernet

        return str(_fernet(self._explicit_key).encrypt(credential.get_secret_value().encode()).decode())

    def unseal(self, sealed: str) -> SecretStr:
        from mcp_invoices.auth.tokens import _fernet

        return SecretStr(_fernet(self._explicit_key).decrypt(sealed.encode()).decode())

    def client_secret(self, client_id: str) -> str:
        return hmac.new(self.client_key(), client_id.encode(), hashlib.sha256).hexdigest()

    # -- clients -----------------------------------------------------------------------------------

    def save_client(self, info: Mapping[str, Any]) -> None:
        stored = {key: value for key, value in info.items() if key != "client_secret"}
        with self.database.write() as db:
            db.execute(
                oauth_clients.insert().values(
                    client_id=info["client_id"], info_json=json.dumps(stored), created_at=_now()
                )
            )

    def load_client(self, client_id: str) -> dict[str, Any] | None:
        with self.database.read() as db:
            row = db.execute(
                select(oauth_clients.c.info_json).where(oauth_clients.c.client_id == client_id)
            ).first()
        return json.loads(row[0]) if row is not None else None

    # -- grants ------------------------------------------------------------------------------------

    def put(
        self, key: str, kind: str, data: Mapping[str, Any], ttl: timedelta, family: str | None = None
    ) -> None:
        now = _now()
        with self.database.write() as db:
            db.execute(
                oauth_grants.insert().values(
                    key=key,
                    kind=kind,
                    family=family,
                    data_json=json.dumps(dict(data)),
                    created_at=now,
                    expires_at=now + ttl,
                )
            )

    def get(self, key: str) -> Grant | None:
        with self.database.read() as db:
            row = db.execute(select(oauth_grants).where(oauth_grants.c.key == key)).mappings().first()
        if row is None:
            return None
        return Grant(
            key=row["key"],
            kind=row["kind"],
            family=row["family"],
            data=json.loads(row["data_json"]),
            expires_at=row["expires_at"],
            used_at=row["used_at"],
            revoked_at=row["revoked_at"],
        )

    def update_data(self, key: str, data: Mapping[str, Any]) -> None:
        with self.database.write() as db:
            db.execute(
                oauth_grants.update()
                .where(oauth_grants.c.key == key)
                .values(data_json=json.dumps(dict(data)))
            )

    def use(self, key: str) -> bool:
        """Mark a grant used; True only for the one caller that used it first (and while it is valid)."""
        now = _now()
        with self.database.write() as db:
            result = db.execute(
                oauth_grants.update()
                .where(
                    oauth_grants.c.key == key,
                    oauth_grants.c.used_at.is_(None),
                    oauth_grants.c.revoked_at.is_(None),
                    oauth_grants.c.expires_at > now,
                )
                .values(used_at=now)
            )
            return result.rowcount == 1

    def delete(self, key: str) -> None:
        with self.database.write() as db:
            db.execute(oauth_grants.delete().where(oauth_grants.c.key == key))

    def revoke_family(self, family: str) -> int:
        """Revoke every refresh token and access token of a family; the number of access tokens revoked."""
        now = _now()
        with self.database.write() as db:
            db.execute(
                oauth_grants.update()
                .where(oauth_grants.c.family == family, oauth_grants.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            rows = db.execute(
                select(oauth_grants.c.data_json).where(
                    oauth_grants.c.family == family, oauth_grants.c.kind == "access"
                )
            ).all()
        token_ids = [json.loads(row[0])["token_id"] for row in rows]
        for token_id in token_ids:
            self.tokens.revoke(token_id, now=now)
        return len(token_ids)

    def purge_expired(self) -> None:
        """Drop grants and counters long past their time (called now and then; cheap, indexed by key)."""
        cutoff = _now() - timedelta(days=1)
        with self.database.write() as db:
            db.execute(oauth_grants.delete().where(oauth_grants.c.expires_at < cutoff))
            db.execute(oauth_attempts.delete().where(oauth_attempts.c.window_ends < cutoff))

    # -- attempt counters ----------------------------------------------------------------------------

    def failures(self, key: str) -> int:
        with self.database.read() as db:
            row = db.execute(
                select(oauth_attempts.c.failures, oauth_attempts.c.window_ends).where(
                    oauth_attempts.c.key == key
                )
            ).first()
        if row is None or row[1] <= _now():
            return 0
        return int(row[0])

    def fail(self, key: str, window: timedelta) -> int:
        """Count one failure in ``key``'s window (a new window once the last one ended); the count."""
        now = _now()
        with self.database.write() as db:
            if db.dialect.name == "postgresql":
                db.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
            row = db.execute(
                select(oauth_attempts.c.failures, oauth_attempts.c.window_ends).where(
                    oauth_attempts.c.key == key
                )
            ).first()
            if row is None:
                db.execute(oauth_attempts.insert().values(key=key, failures=1, window_ends=now + window))
                return 1
            count = 1 if row[1] <= now else int(row[0]) + 1
            ends = now + window if row[1] <= now else row[1]
            db.execute(
                oauth_attempts.update()
                .where(oauth_attempts.c.key == key)
                .values(failures=count, window_ends=ends)
            )
            return count

    def clear_failures(self, key: str) -> None:
        with self.database.write() as db:
            db.execute(oauth_attempts.delete().where(oauth_attempts.c.key == key))
