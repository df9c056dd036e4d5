-- Idempotency-Key for REST POSTs (docs/errors.md, docs/decisions.md). Portable SQL (SQLite >= 3.35 and PostgreSQL >= 13).
-- One row per (merchant, mode, key): the request's fingerprint and, once finished, the response to replay.
-- status IS NULL while the first request runs; its owner (claim_token) holds it until lease_until.
-- Time: BIGINT microseconds. Rows are kept for 24 hours (expires_at) and then swept.
CREATE TABLE idempotency_keys (
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    mode          TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    idem_key      TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    claim_token   TEXT NOT NULL,
    lease_until   BIGINT NOT NULL,
    status        INTEGER,
    headers       TEXT,
    body          TEXT,
    created_at    BIGINT NOT NULL,
    completed_at  BIGINT,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, mode, idem_key)
);
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
