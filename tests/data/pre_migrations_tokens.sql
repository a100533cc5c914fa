-- The token table as mcp-invoices created it before versioned migrations (verbatim).
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
