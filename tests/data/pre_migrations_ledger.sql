-- A ledger as mcp-invoices wrote it before versioned migrations (schema_version 1, no alembic_version):
-- the DDL of that version, verbatim, and rows in its formats (ISO text dates and timestamps).
-- Loaded by tests/test_storage.py to check that such a file is adopted, not recreated.
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS customers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id                 TEXT PRIMARY KEY,
    customer_id        TEXT NOT NULL REFERENCES customers(id),
    created_at         TEXT NOT NULL,
    currency           TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('draft', 'pending', 'paid', 'refunded', 'void')),
    paid_at            TEXT,
    payment_terms_days INTEGER CHECK (payment_terms_days IS NULL OR payment_terms_days >= 0),
    shipping_minor     INTEGER NOT NULL DEFAULT 0,
    billing_name       TEXT,
    billing_line1      TEXT,
    billing_line2      TEXT,
    billing_postal_code TEXT,
    billing_city       TEXT,
    billing_state      TEXT,
    billing_country    TEXT
);
CREATE INDEX IF NOT EXISTS orders_by_customer ON orders (customer_id, created_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS order_lines (
    order_id       TEXT NOT NULL REFERENCES orders(id),
    position       INTEGER NOT NULL,
    description    TEXT NOT NULL,
    quantity       TEXT NOT NULL,
    unit_minor     INTEGER NOT NULL,
    discount_minor INTEGER NOT NULL DEFAULT 0,
    tax_rate       TEXT NOT NULL DEFAULT '0',
    period_start   TEXT,
    period_end     TEXT,
    PRIMARY KEY (order_id, position)
);
CREATE TABLE IF NOT EXISTS invoice_sequences (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS invoices (
    order_id       TEXT PRIMARY KEY REFERENCES orders(id),
    customer_id    TEXT NOT NULL REFERENCES customers(id),
    number         TEXT NOT NULL UNIQUE,
    year           INTEGER NOT NULL,
    sequence       INTEGER NOT NULL,
    issued_at      TEXT NOT NULL,
    due_at         TEXT NOT NULL,
    currency       TEXT NOT NULL,
    subtotal_minor INTEGER NOT NULL,
    discount_minor INTEGER NOT NULL,
    tax_minor      INTEGER NOT NULL,
    shipping_minor INTEGER NOT NULL,
    total_minor    INTEGER NOT NULL,
    customer_json  TEXT NOT NULL,
    billing_json   TEXT NOT NULL,
    lines_json     TEXT NOT NULL,
    -- Payment state may move after issue; everything above may not.
    status         TEXT NOT NULL,
    paid_minor     INTEGER NOT NULL,
    paid_at        TEXT,
    UNIQUE (year, sequence)
);
CREATE INDEX IF NOT EXISTS invoices_by_customer_date ON invoices (customer_id, issued_at DESC, sequence DESC);
CREATE INDEX IF NOT EXISTS invoices_by_issue_date ON invoices (issued_at DESC, sequence DESC);
CREATE TRIGGER IF NOT EXISTS invoices_are_immutable
BEFORE UPDATE OF order_id, customer_id, number, year, sequence, issued_at, due_at, currency,
    subtotal_minor, discount_minor, tax_minor, shipping_minor, total_minor,
    customer_json, billing_json, lines_json ON invoices
BEGIN
    SELECT RAISE(ABORT, 'an issued invoice is immutable');
END;
CREATE TRIGGER IF NOT EXISTS invoices_are_never_deleted
BEFORE DELETE ON invoices
BEGIN
    SELECT RAISE(ABORT, 'an issued invoice cannot be deleted');
END;
-- INSERT OR REPLACE deletes the old row without firing delete triggers: refuse it up front.
CREATE TRIGGER IF NOT EXISTS invoices_are_never_replaced
BEFORE INSERT ON invoices
WHEN EXISTS (SELECT 1 FROM invoices WHERE order_id = NEW.order_id OR number = NEW.number
             OR (year = NEW.year AND sequence = NEW.sequence))
BEGIN
    SELECT RAISE(ABORT, 'an issued invoice is immutable');
END;
INSERT INTO meta (key, value) VALUES ('schema_version', '1');
INSERT INTO meta (key, value) VALUES ('seeded', 'sample');
INSERT INTO meta (key, value) VALUES ('seller', '{"name": "Legacy Seller Ltd", "address_lines": ["1 Old Road"], "email": null, "tax_id": null}');
INSERT INTO customers (id, name, email, created_at) VALUES ('cus_old', 'Old Customer', 'old@example.com', '2025-01-05');
INSERT INTO orders (id, customer_id, created_at, currency, status, paid_at, payment_terms_days, shipping_minor,
    billing_name, billing_line1, billing_line2, billing_postal_code, billing_city, billing_state, billing_country)
VALUES ('ord_old1', 'cus_old', '2026-03-01', 'EUR', 'paid', '2026-03-02T10:30:00+00:00', NULL, 500,
    'Old Customer', '1 Old Road', NULL, '10115', 'Berlin', NULL, 'DE');
INSERT INTO orders (id, customer_id, created_at, currency, status, paid_at, payment_terms_days, shipping_minor,
    billing_name, billing_line1, billing_line2, billing_postal_code, billing_city, billing_state, billing_country)
VALUES ('ord_old2', 'cus_old', '2026-03-10', 'EUR', 'paid', '2026-03-11T09:00:00+00:00', NULL, 0,
    'Old Customer', '1 Old Road', NULL, '10115', 'Berlin', NULL, 'DE');
INSERT INTO order_lines (order_id, position, description, quantity, unit_minor, discount_minor, tax_rate, period_start, period_end)
VALUES ('ord_old1', 1, 'Consulting', '2.5', 10000, 0, '19', '2026-02-01', '2026-02-28');
INSERT INTO order_lines (order_id, position, description, quantity, unit_minor, discount_minor, tax_rate, period_start, period_end)
VALUES ('ord_old2', 1, 'Support', '1', 4200, 0, '0', NULL, NULL);
INSERT INTO invoice_sequences (year, last) VALUES (2026, 1);
INSERT INTO invoices (order_id, customer_id, number, year, sequence, issued_at, due_at, currency, subtotal_minor,
    discount_minor, tax_minor, shipping_minor, total_minor, customer_json, billing_json, lines_json, status,
    paid_minor, paid_at)
VALUES ('ord_old1', 'cus_old', 'INV-2026-0001', 2026, 1, '2026-03-02', '2026-03-02', 'EUR', 25000, 0, 4750, 500,
    30250, '{"id":"cus_old","name":"Old Customer","email":"old@example.com"}',
    '{"name":"Old Customer","address":{"line1":"1 Old Road","line2":null,"postal_code":"10115","city":"Berlin","state":null,"country":"DE"}}',
    '[{"description": "Consulting", "quantity": "2.5", "unit_minor": 10000, "discount_minor": 0, "tax_minor": 4750, "total_minor": 29750, "period_start": "2026-02-01", "period_end": "2026-02-28"}]',
    'paid', 30250, '2026-03-02T10:30:00+00:00');
